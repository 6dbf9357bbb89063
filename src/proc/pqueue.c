/* src/proc/pqueue.c — a process-shared bounded MPMC queue.
 *
 * Layout of the memfd segment: a header (geometry, the two ring positions
 * and two event counts, each on its own cache line) and then `capacity`
 * slots of [uint64 sequence][item]. The ring is Vyukov's, as
 * src/chan/chan_ring.c: a slot whose sequence equals the position is free
 * for the sender at that position, pos + 1 means full for the receiver at
 * that position; the sequence store (release) publishes the copied bytes
 * and the load (acquire) receives them. All of it is offsets and integers,
 * so the segment works at any address in any process.
 *
 * Blocking: a full sender (empty receiver) counts itself in send_waiters
 * (recv_waiters), reads the space (items) event count, tries once more and
 * sleeps on that count with a shared futex. The other side bumps the count
 * after each success and wakes only if it sees a waiter; all four accesses
 * are seq_cst (a Dekker pair, as src/sync/sem.c): either the waker sees the
 * waiter, or the waiter's retry sees the change, and the kernel's compare
 * of the count closes the gap before the sleep. Wake-ups wake all sleepers:
 * with a handful of processes that is cheap, and it makes a wake consumed by
 * a waiter that then times out impossible to lose. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "core/internal.h"
#include "weft/proc.h"

#define PQ_MAGIC 0x7765667470717565ull /* "weftpque" */

typedef struct pq_hdr {
  uint64_t magic, item_size, stride, capacity, mask;
  uint32_t closed;
  WEFT_ALIGNED_CL uint64_t head; /* next send position */
  WEFT_ALIGNED_CL uint64_t tail; /* next receive position */
  WEFT_ALIGNED_CL uint32_t items_ec, recv_waiters;
  WEFT_ALIGNED_CL uint32_t space_ec, send_waiters;
} pq_hdr;

struct weft_pqueue {
  weft_shm *shm;
  pq_hdr *h;
  char *slots;
};

static uint64_t *slot_seq(const weft_pqueue *q, uint64_t pos) {
  return (uint64_t *)(void *)(q->slots + (pos & q->h->mask) * q->h->stride);
}

static int wrap(weft_pqueue **out, weft_shm *shm) {
  weft_pqueue *q = malloc(sizeof *q);
  if (!q) {
    weft_shm_destroy(shm);
    return WEFT_ENOMEM;
  }
  q->shm = shm;
  q->h = weft_shm_ptr(shm);
  q->slots = (char *)q->h + sizeof(pq_hdr);
  *out = q;
  return 0;
}

int weft_pqueue_create(weft_pqueue **out, size_t item_size, size_t capacity) {
  if (out) *out = NULL;
  if (!out || item_size == 0 || item_size > (1u << 30) || capacity == 0 || capacity > (1u << 30))
    return WEFT_EINVAL;
  uint64_t cap = 1;
  while (cap < capacity) cap <<= 1;
  uint64_t stride = (sizeof(uint64_t) + item_size + 7) & ~(uint64_t)7;
  weft_shm *shm;
  int rc = weft_shm_create(&shm, NULL, sizeof(pq_hdr) + cap * stride);
  if (rc) return rc;
  if ((rc = wrap(out, shm))) return rc;
  pq_hdr *h = (*out)->h; /* memfd pages start zeroed */
  h->item_size = item_size;
  h->stride = stride;
  h->capacity = cap;
  h->mask = cap - 1;
  for (uint64_t i = 0; i < cap; i++) *slot_seq(*out, i) = i;
  weft_store_release(&h->magic, PQ_MAGIC);
  return 0;
}

int weft_pqueue_attach(weft_pqueue **out, int fd) {
  if (out) *out = NULL;
  if (!out) return WEFT_EINVAL;
  weft_shm *shm;
  int rc = weft_shm_from_fd(&shm, fd);
  if (rc) return rc;
  const pq_hdr *h = weft_shm_ptr(shm);
  size_t size = weft_shm_size(shm);
  if (size < sizeof *h || weft_load_acquire(&h->magic) != PQ_MAGIC ||
      h->capacity * h->stride != size - sizeof *h) {
    weft_shm_destroy(shm);
    return WEFT_EINVAL;
  }
  return wrap(out, shm);
}

int weft_pqueue_fd(const weft_pqueue *q) {
  return q ? weft_shm_fd(q->shm) : -1;
}

void weft_pqueue_destroy(weft_pqueue *q) {
  if (!q) return;
  weft_shm_destroy(q->shm);
  free(q);
}

/* Bumps an event count and wakes its sleepers if there may be any. */
static void notify(uint32_t *ec, uint32_t *waiters) {
  __atomic_fetch_add(ec, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(waiters, __ATOMIC_SEQ_CST) != 0) weft__futex_wake_shared(ec, INT_MAX);
}

static int try_send(weft_pqueue *q, const void *item) {
  pq_hdr *h = q->h;
  if (__atomic_load_n(&h->closed, __ATOMIC_SEQ_CST)) return WEFT_ECLOSED;
  uint64_t pos = weft_load_relaxed(&h->head);
  for (;;) {
    uint64_t *seq = slot_seq(q, pos);
    int64_t diff = (int64_t)(weft_load_acquire(seq) - pos);
    if (diff < 0) return WEFT_EAGAIN; /* the receiver of the previous lap is behind */
    if (diff > 0) {
      pos = weft_load_relaxed(&h->head);
      continue;
    }
    /* Relaxed CAS: the slot is handed over by its sequence, not by head. */
    if (__atomic_compare_exchange_n(&h->head, &pos, pos + 1, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      memcpy(seq + 1, item, h->item_size);
      weft_store_release(seq, pos + 1);
      notify(&h->items_ec, &h->recv_waiters);
      return 0;
    }
  }
}

static int try_recv(weft_pqueue *q, void *item) {
  pq_hdr *h = q->h;
  uint64_t pos = weft_load_relaxed(&h->tail);
  for (;;) {
    uint64_t *seq = slot_seq(q, pos);
    int64_t diff = (int64_t)(weft_load_acquire(seq) - (pos + 1));
    if (diff < 0) {
      /* Empty at pos. Closed and drained only when no sender has claimed
       * pos either: a claimed slot is an item on its way in. */
      if (__atomic_load_n(&h->closed, __ATOMIC_SEQ_CST) &&
          __atomic_load_n(&h->head, __ATOMIC_SEQ_CST) == pos)
        return WEFT_ECLOSED;
      return WEFT_EAGAIN;
    }
    if (diff > 0) {
      pos = weft_load_relaxed(&h->tail);
      continue;
    }
    if (__atomic_compare_exchange_n(&h->tail, &pos, pos + 1, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      memcpy(item, seq + 1, h->item_size);
      weft_store_release(seq, pos + h->capacity); /* free for the next lap */
      notify(&h->space_ec, &h->send_waiters);
      return 0;
    }
  }
}

typedef int (*pq_op)(weft_pqueue *q, void *item);

/* Runs op until it stops saying EAGAIN or the deadline passes (see top). */
static int wait_op(weft_pqueue *q, pq_op op, void *item, uint32_t *ec, uint32_t *waiters,
                   uint64_t deadline_ns) {
  for (;;) {
    int rc = op(q, item);
    if (rc != WEFT_EAGAIN) return rc;
    __atomic_fetch_add(waiters, 1, __ATOMIC_SEQ_CST);
    uint32_t seen = __atomic_load_n(ec, __ATOMIC_SEQ_CST);
    rc = op(q, item);
    int trc = 0;
    if (rc == WEFT_EAGAIN) trc = weft__futex_wait_shared(ec, seen, deadline_ns);
    __atomic_fetch_sub(waiters, 1, __ATOMIC_RELAXED);
    if (rc != WEFT_EAGAIN) return rc;
    if (trc == WEFT_ETIMEDOUT) {
      rc = op(q, item); /* a last look: the change may have come with the timeout */
      return rc == WEFT_EAGAIN ? WEFT_ETIMEDOUT : rc;
    }
  }
}

/* The send side casts away const: try_send only reads through it. */
static int send_op(weft_pqueue *q, void *item) {
  return try_send(q, item);
}

static int send_until(weft_pqueue *q, const void *item, uint64_t deadline_ns) {
  if (!q || !item) return WEFT_EINVAL;
  return wait_op(q, send_op, (void *)item, &q->h->space_ec, &q->h->send_waiters, deadline_ns);
}

static int recv_until(weft_pqueue *q, void *item, uint64_t deadline_ns) {
  if (!q || !item) return WEFT_EINVAL;
  return wait_op(q, try_recv, item, &q->h->items_ec, &q->h->recv_waiters, deadline_ns);
}

int weft_pqueue_send(weft_pqueue *q, const void *item) {
  return send_until(q, item, WEFT_FOREVER);
}

int weft_pqueue_send_timed(weft_pqueue *q, const void *item, uint64_t timeout_ns) {
  return send_until(q, item, weft_deadline_after(timeout_ns));
}

int weft_pqueue_try_send(weft_pqueue *q, const void *item) {
  if (!q || !item) return WEFT_EINVAL;
  return try_send(q, item);
}

int weft_pqueue_recv(weft_pqueue *q, void *item) {
  return recv_until(q, item, WEFT_FOREVER);
}

int weft_pqueue_recv_timed(weft_pqueue *q, void *item, uint64_t timeout_ns) {
  return recv_until(q, item, weft_deadline_after(timeout_ns));
}

int weft_pqueue_try_recv(weft_pqueue *q, void *item) {
  if (!q || !item) return WEFT_EINVAL;
  return try_recv(q, item);
}

int weft_pqueue_close(weft_pqueue *q) {
  if (!q) return WEFT_EINVAL;
  if (__atomic_exchange_n(&q->h->closed, 1, __ATOMIC_SEQ_CST)) return WEFT_EALREADY;
  /* Bump both counts so sleepers on either side wake and see the flag. */
  __atomic_fetch_add(&q->h->items_ec, 1, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&q->h->space_ec, 1, __ATOMIC_SEQ_CST);
  weft__futex_wake_shared(&q->h->items_ec, INT_MAX);
  weft__futex_wake_shared(&q->h->space_ec, INT_MAX);
  return 0;
}
