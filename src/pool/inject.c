/* src/pool/inject.c — the injection queue (see inject.h).
 *
 * Ring cell protocol (Vyukov): cell i of lap L holds seq == pos when free for
 * the enqueuer at position pos, seq == pos + 1 once filled, and
 * seq == pos + capacity once consumed (free for the next lap). A consumer
 * claims a whole run of filled cells with one CAS on head: cells it saw
 * filled cannot be taken by anyone else while head still equals its pos. */
#include <stdlib.h>
#include "pool/inject.h"

int weft__inject_init(weft__inject *q, size_t capacity) {
  q->ring = malloc(capacity * sizeof *q->ring);
  if (!q->ring) return WEFT_ENOMEM;
  for (size_t i = 0; i < capacity; i++) {
    q->ring[i].seq = i;
    q->ring[i].task = NULL;
  }
  q->mask = capacity - 1;
  q->head = 0;
  q->tail = 0;
  q->ov_head = q->ov_tail = NULL;
  q->ov_count = 0;
  if (pthread_mutex_init(&q->lock, NULL) != 0) {
    free(q->ring);
    return WEFT_ENOMEM;
  }
  return 0;
}

void weft__inject_destroy(weft__inject *q) {
  pthread_mutex_destroy(&q->lock);
  free(q->ring);
  q->ring = NULL;
}

static int overflow_push(weft__inject *q, weft__task *t) {
  pthread_mutex_lock(&q->lock);
  /* Checked under the lock: close() takes the lock after setting the flag,
   * so a push either sees the flag or completes before close returns. */
  if (weft_load_relaxed(&q->tail) & WEFT__INJECT_CLOSED) {
    pthread_mutex_unlock(&q->lock);
    return WEFT_ESHUTDOWN;
  }
  t->next = NULL;
  if (q->ov_tail)
    q->ov_tail->next = t;
  else
    q->ov_head = t;
  q->ov_tail = t;
  /* seq_cst RMW: the publication the wake-up protocol orders against. */
  __atomic_fetch_add(&q->ov_count, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&q->lock);
  return 0;
}

int weft__inject_push(weft__inject *q, weft__task *t) {
  uint64_t pos = weft_load_relaxed(&q->tail);
  for (;;) {
    if (pos & WEFT__INJECT_CLOSED) return WEFT_ESHUTDOWN;
    weft__inject_cell *c = &q->ring[pos & q->mask];
    /* acquire: pairs with the consumer's release of the cell, so our write
     * of task cannot overtake its read of the previous lap's task. */
    int64_t d = (int64_t)(weft_load_acquire(&c->seq) - pos);
    if (d == 0) {
      /* seq_cst: claims the cell and is the wake-up protocol's store. A
       * failed CAS reloads pos (and sees CLOSED if it was set). */
      if (__atomic_compare_exchange_n(&q->tail, &pos, pos + 1, true, __ATOMIC_SEQ_CST,
                                      __ATOMIC_RELAXED)) {
        weft_store_relaxed(&c->task, t);
        weft_store_release(&c->seq, pos + 1); /* publishes task and *t */
        return 0;
      }
    } else if (d < 0) {
      return overflow_push(q, t); /* the ring is full */
    } else {
      pos = weft_load_relaxed(&q->tail);
    }
  }
}

static size_t ring_pop(weft__inject *q, weft__task **out, size_t max) {
  uint64_t pos = weft_load_relaxed(&q->head);
  for (;;) {
    size_t n = 0;
    uint64_t seq = 0;
    while (n < max) {
      /* acquire: pairs with the producer's release; we then see *task. */
      seq = weft_load_acquire(&q->ring[(pos + n) & q->mask].seq);
      if (seq != pos + n + 1) break;
      n++;
    }
    if (n == 0) {
      if ((int64_t)(seq - (pos + 1)) < 0) return 0; /* empty (or being filled) */
      pos = weft_load_relaxed(&q->head);            /* our pos was stale */
      continue;
    }
    if (__atomic_compare_exchange_n(&q->head, &pos, pos + n, true, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
      for (size_t i = 0; i < n; i++) {
        weft__inject_cell *c = &q->ring[(pos + i) & q->mask];
        out[i] = weft_load_relaxed(&c->task);
        /* release: frees the cell for the producer of the next lap. */
        weft_store_release(&c->seq, pos + i + q->mask + 1);
      }
      return n;
    }
  }
}

static size_t overflow_pop(weft__inject *q, weft__task **out, size_t max) {
  size_t n = 0;
  pthread_mutex_lock(&q->lock);
  while (n < max && q->ov_head) {
    out[n++] = q->ov_head;
    q->ov_head = q->ov_head->next;
  }
  if (!q->ov_head) q->ov_tail = NULL;
  __atomic_fetch_sub(&q->ov_count, n, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&q->lock);
  return n;
}

size_t weft__inject_pop(weft__inject *q, weft__task **out, size_t max) {
  size_t n = ring_pop(q, out, max);
  if (n < max && weft_load_relaxed(&q->ov_count)) n += overflow_pop(q, out + n, max - n);
  return n;
}

void weft__inject_close(weft__inject *q) {
  __atomic_fetch_or(&q->tail, WEFT__INJECT_CLOSED, __ATOMIC_SEQ_CST);
  pthread_mutex_lock(&q->lock); /* waits out an overflow push that saw "open" */
  pthread_mutex_unlock(&q->lock);
}

bool weft__inject_nonempty_sc(weft__inject *q) {
  /* A claimed-but-unfilled cell counts: its producer is about to finish. */
  uint64_t t = __atomic_load_n(&q->tail, __ATOMIC_SEQ_CST) & ~WEFT__INJECT_CLOSED;
  uint64_t h = __atomic_load_n(&q->head, __ATOMIC_SEQ_CST);
  return t != h || __atomic_load_n(&q->ov_count, __ATOMIC_SEQ_CST) != 0;
}
