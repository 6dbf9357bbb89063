/* src/chan/chan.c — the public channel API: creation, the blocking loop
 * shared by send and recv, close and introspection. */
#include <sched.h>
#include <stdlib.h>
#include "chan/chan_internal.h"

/* Quick retries before a blocking call parks: a hand-off between two busy
 * threads usually completes within this, and costs no syscall. Small,
 * because these machines are often oversubscribed. */
#define CHAN_SPIN 32
#define CHAN_YIELDS 4
/* "Absurd sizes" (chan.h): bigger items or capacities are rejected. */
#define CHAN_MAX_ITEM_SIZE ((size_t)1 << 30)
#define CHAN_MAX_CAPACITY ((size_t)1 << 40)

static weft_chan *chan_alloc(int kind, size_t item_size, size_t capacity) {
  weft_chan *c = weft__alloc_aligned(sizeof *c); /* the ring's cache lines */
  if (!c) return NULL;
  c->kind = kind;
  c->item_size = item_size;
  c->capacity = capacity;
  weft__waitq_init(&c->not_empty);
  weft__waitq_init(&c->not_full);
  return c;
}

static void chan_free(weft_chan *c) {
  weft__waitq_destroy(&c->not_empty);
  weft__waitq_destroy(&c->not_full);
  free(c);
}

int weft_chan_create(weft_chan **out, size_t item_size, size_t capacity) {
  if (!out || item_size == 0 || capacity == 0) return WEFT_EINVAL;
  if (item_size > CHAN_MAX_ITEM_SIZE || capacity > CHAN_MAX_CAPACITY) return WEFT_EINVAL;
  if (capacity > SIZE_MAX / (item_size + 2 * sizeof(size_t))) return WEFT_EINVAL;
  weft_chan *c = chan_alloc(CHAN_BOUNDED, item_size, capacity);
  if (!c) return WEFT_ENOMEM;
  if (weft__ring_init(&c->ring, item_size, capacity) != 0) {
    chan_free(c);
    return WEFT_ENOMEM;
  }
  *out = c;
  return 0;
}

int weft_chan_create_unbounded(weft_chan **out, size_t item_size) {
  if (!out || item_size == 0 || item_size > CHAN_MAX_ITEM_SIZE) return WEFT_EINVAL;
  weft_chan *c = chan_alloc(CHAN_UNBOUNDED, item_size, SIZE_MAX);
  if (!c) return WEFT_ENOMEM;
  if (weft__list_init(&c->list, item_size) != 0) {
    chan_free(c);
    return WEFT_ENOMEM;
  }
  *out = c;
  return 0;
}

void weft_chan_destroy(weft_chan *c) {
  if (!c) return;
  if (c->kind == CHAN_BOUNDED) weft__ring_destroy(&c->ring);
  else weft__list_destroy(&c->list);
  chan_free(c);
}

/* ---- one attempt, and the notification of the other side ---- */

int weft__chan_try_send(weft_chan *c, const void *item) {
  int rc = c->kind == CHAN_BOUNDED ? weft__ring_try_send(&c->ring, item, c->item_size)
                                   : weft__list_try_send(&c->list, item, c->item_size);
  if (rc == 0) weft__waitq_notify(&c->not_empty, false);
  return rc;
}

int weft__chan_try_recv(weft_chan *c, void *item) {
  if (c->kind == CHAN_UNBOUNDED) return weft__list_try_recv(&c->list, item, c->item_size);
  int rc = weft__ring_try_recv(&c->ring, item, c->item_size);
  if (rc == 0) weft__waitq_notify(&c->not_full, false);
  return rc;
}

static int attempt(weft_chan *c, void *item, bool send) {
  return send ? weft__chan_try_send(c, item) : weft__chan_try_recv(c, item);
}

/* ---- blocking ---- */

/* Tries, spins a little, then parks on the wait queue until the state
 * changes. Every return path re-tries first, so a wake-up meant for this
 * thread is never lost even when the deadline passes at the same moment. */
static int block_until(weft_chan *c, void *item, bool send, uint64_t deadline) {
  chan_waitq *q = send ? &c->not_full : &c->not_empty;
  int rc = attempt(c, item, send);
  for (int i = 0; rc == WEFT_EAGAIN && i < CHAN_SPIN; i++) {
    weft_cpu_relax();
    rc = attempt(c, item, send);
  }
  /* Then give the CPU away a few times before sleeping: when there are more
   * runnable threads than CPUs, the thread that will make room (or an item)
   * is often waiting for this very CPU, and a yield costs far less than a
   * futex sleep and wake (~5 µs each way here). */
  for (int i = 0; rc == WEFT_EAGAIN && i < CHAN_YIELDS; i++) {
    sched_yield();
    rc = attempt(c, item, send);
  }
  while (rc == WEFT_EAGAIN) {
    uint32_t key = weft__waitq_prepare(q);
    rc = attempt(c, item, send);
    bool timed_out = false;
    if (rc == WEFT_EAGAIN)
      timed_out = weft__waitq_wait(q, key, deadline) == WEFT_ETIMEDOUT;
    weft__waitq_finish(q);
    if (rc == WEFT_EAGAIN) rc = attempt(c, item, send);
    if (rc == WEFT_EAGAIN && timed_out) return WEFT_ETIMEDOUT;
  }
  return rc;
}

int weft_chan_send(weft_chan *c, const void *item) {
  return weft_chan_send_timed(c, item, WEFT_FOREVER);
}

int weft_chan_try_send(weft_chan *c, const void *item) {
  if (!c || !item) return WEFT_EINVAL;
  return weft__chan_try_send(c, item);
}

int weft_chan_send_timed(weft_chan *c, const void *item, uint64_t timeout_ns) {
  if (!c || !item) return WEFT_EINVAL;
  return block_until(c, (void *)item, true, weft_deadline_after(timeout_ns));
}

int weft_chan_recv(weft_chan *c, void *item) {
  return weft_chan_recv_timed(c, item, WEFT_FOREVER);
}

int weft_chan_try_recv(weft_chan *c, void *item) {
  if (!c || !item) return WEFT_EINVAL;
  return weft__chan_try_recv(c, item);
}

int weft_chan_recv_timed(weft_chan *c, void *item, uint64_t timeout_ns) {
  if (!c || !item) return WEFT_EINVAL;
  return block_until(c, item, false, weft_deadline_after(timeout_ns));
}

/* ---- close and introspection ---- */

int weft_chan_close(weft_chan *c) {
  if (!c) return WEFT_EINVAL;
  int rc = c->kind == CHAN_BOUNDED ? weft__ring_close(&c->ring) : weft__list_close(&c->list);
  if (rc) return rc;
  /* Everyone re-checks: receivers drain then see WEFT_ECLOSED, senders
   * see it at once. */
  weft__waitq_notify(&c->not_empty, true);
  weft__waitq_notify(&c->not_full, true);
  return 0;
}

bool weft_chan_is_closed(const weft_chan *c) {
  if (!c) return false;
  return c->kind == CHAN_BOUNDED ? weft__ring_is_closed(&c->ring)
                                 : weft__list_is_closed(&c->list);
}

size_t weft_chan_len(const weft_chan *c) {
  if (!c) return 0;
  return c->kind == CHAN_BOUNDED ? weft__ring_len(&c->ring, c->capacity)
                                 : weft__list_len(&c->list);
}

size_t weft_chan_capacity(const weft_chan *c) {
  return c ? c->capacity : 0;
}

size_t weft_chan_item_size(const weft_chan *c) {
  return c ? c->item_size : 0;
}
