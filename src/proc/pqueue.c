/* src/proc/pqueue.c — a process-shared bounded MPMC queue: the segment,
 * blocking and the public calls. The ring itself, and how it survives a
 * process that dies half-way through an operation, is pqueue_ring.c.
 *
 * Layout of the memfd segment: a header (geometry, the two ring positions
 * and two event counts, each on its own cache line) and then `capacity`
 * slots of [uint64 sequence][uint64 owner][item]. All of it is offsets and
 * integers, so the segment works at any address in any process.
 *
 * Blocking: a full sender (empty receiver) counts itself in send_waiters
 * (recv_waiters), reads the space (items) event count, tries once more and
 * sleeps on that count with a shared futex. The other side bumps the count
 * after each success and wakes only if it sees a waiter; all four accesses
 * are seq_cst (a Dekker pair, as src/sync/sem.c): either the waker sees the
 * waiter, or the waiter's retry sees the change, and the kernel's compare
 * of the count closes the gap before the sleep. Wake-ups wake all sleepers:
 * with a handful of processes that is cheap, and it makes a wake consumed by
 * a waiter that then times out impossible to lose. Sleeps last at most
 * CHECK_NS: a waiter still blocked after that checks whether the slot it
 * waits on is held by a dead process (pqueue_ring.c repairs it). */
#include <limits.h>
#include <stdlib.h>
#include "proc/pqueue_internal.h"

#define CHECK_NS (5 * 1000000ull)

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
  uint64_t cap = 2; /* at least 2: the ring tells its two sides apart by seq mod cap */
  while (cap < capacity) cap <<= 1;
  uint64_t stride = (PQ_SLOT_HDR + item_size + 7) & ~(uint64_t)7;
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
  if (size < sizeof *h || weft_load_acquire(&h->magic) != PQ_MAGIC || h->capacity < 2 ||
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

typedef int (*pq_op)(weft_pqueue *q, void *item);

/* Runs op until it stops saying EAGAIN or the deadline passes (see top).
 * `recv` says which side we are, for the stuck-slot check. */
static int wait_op(weft_pqueue *q, pq_op op, void *item, bool recv, uint64_t deadline_ns) {
  uint32_t *ec = recv ? &q->h->items_ec : &q->h->space_ec;
  uint32_t *waiters = recv ? &q->h->recv_waiters : &q->h->send_waiters;
  uint64_t last_check = 0; /* when we last looked for a dead owner (or began to wait) */
  for (;;) {
    int rc = op(q, item);
    if (rc != WEFT_EAGAIN) return rc;
    uint64_t now = weft_now_ns();
    if (last_check == 0) last_check = now;
    if (now - last_check >= CHECK_NS) {
      last_check = now;
      if (weft__pq_check_stuck(q, recv)) continue;
    }
    uint64_t until = deadline_ns > now && deadline_ns - now > CHECK_NS ? now + CHECK_NS : deadline_ns;
    __atomic_fetch_add(waiters, 1, __ATOMIC_SEQ_CST);
    uint32_t seen = __atomic_load_n(ec, __ATOMIC_SEQ_CST);
    rc = op(q, item);
    int trc = 0;
    if (rc == WEFT_EAGAIN) trc = weft__futex_wait_shared(ec, seen, until);
    __atomic_fetch_sub(waiters, 1, __ATOMIC_RELAXED);
    if (rc != WEFT_EAGAIN) return rc;
    if (trc == WEFT_ETIMEDOUT && until == deadline_ns) {
      rc = op(q, item); /* a last look: the change may have come with the timeout */
      return rc == WEFT_EAGAIN ? WEFT_ETIMEDOUT : rc;
    }
  }
}

/* The send side casts away const: try_send only reads through it. */
static int send_op(weft_pqueue *q, void *item) {
  return weft__pq_try_send(q, item);
}

static int send_until(weft_pqueue *q, const void *item, uint64_t deadline_ns) {
  if (!q || !item) return WEFT_EINVAL;
  return wait_op(q, send_op, (void *)item, false, deadline_ns);
}

static int recv_until(weft_pqueue *q, void *item, uint64_t deadline_ns) {
  if (!q || !item) return WEFT_EINVAL;
  return wait_op(q, weft__pq_try_recv, item, true, deadline_ns);
}

int weft_pqueue_send(weft_pqueue *q, const void *item) {
  return send_until(q, item, WEFT_FOREVER);
}

int weft_pqueue_send_timed(weft_pqueue *q, const void *item, uint64_t timeout_ns) {
  return send_until(q, item, weft_deadline_after(timeout_ns));
}

int weft_pqueue_try_send(weft_pqueue *q, const void *item) {
  if (!q || !item) return WEFT_EINVAL;
  return weft__pq_try_send(q, item);
}

int weft_pqueue_recv(weft_pqueue *q, void *item) {
  return recv_until(q, item, WEFT_FOREVER);
}

int weft_pqueue_recv_timed(weft_pqueue *q, void *item, uint64_t timeout_ns) {
  return recv_until(q, item, weft_deadline_after(timeout_ns));
}

int weft_pqueue_try_recv(weft_pqueue *q, void *item) {
  if (!q || !item) return WEFT_EINVAL;
  return weft__pq_try_recv(q, item);
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
