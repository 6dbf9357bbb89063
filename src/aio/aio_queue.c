/* src/aio/aio_queue.c — asyncio.Queue for weft tasks: a FIFO of pointers,
 * bounded or unbounded, with join/task_done and close.
 *
 * Layout: the items sit in a ring buffer (a power of two that doubles when
 * full; a bounded queue's ring stops growing at the first size >= its
 * capacity), so put and get are O(1) and allocate nothing in steady state. Waiting tasks sit on three intrusive FIFO
 * lists of weft__aio_wait (aio_wlist.h: w.next/w.prev, w.data = the list, so
 * one abort function unlinks from any of them).
 *
 * Hand-off, not wake-and-retry: a put that finds a getter waiting gives the
 * item straight to the first getter (the ring is empty then), and a get that
 * frees a slot moves the first waiting putter's item into the ring. Once a
 * waiter has been woken with 0 its item is delivered: the core returns that
 * 0 even if the task is cancelled before it runs again (the cancellation
 * shows at its next await), so cancellation never loses or duplicates an
 * item, and a newcomer cannot overtake a waiter.
 *
 * Awaiting calls (put, get, join) honour a pending cancellation even when
 * they could finish at once (aio.h: a cancelled task's awaits fail at once),
 * and return WEFT_EPERM outside a task; try_put/try_get never wait and work
 * from callbacks too.
 *
 * destroy with waiters present wakes each of them with WEFT_ECLOSED before
 * freeing (the woken tasks no longer touch the queue). Items still queued
 * are not freed: they are the caller's pointers.
 *
 * Loop thread only, like everything in aio.
 */
#include <stdlib.h>
#include <string.h>
#include "aio/aio_wlist.h"

struct weft_aio_queue {
  void **ring;
  size_t mask;       /* ring size - 1 (size is a power of two) */
  size_t head;       /* index of the oldest item */
  size_t count;      /* items in the ring */
  size_t capacity;   /* 0 = unbounded */
  size_t unfinished; /* puts not yet matched by task_done */
  bool closed;
  weft__wlist getters, putters, joiners;
};

/* A waiter and the item it brings (put) or receives (get). */
typedef struct qwait {
  weft__aio_wait w;
  void *item;
} qwait;

/* ---- the ring ---- */

static size_t ring_size(const weft_aio_queue *q) { return q->ring ? q->mask + 1 : 0; }

static bool full(const weft_aio_queue *q) {
  return q->capacity && q->count >= q->capacity;
}

/* Doubles the ring, unrolling the wrapped part. */
static int ring_grow(weft_aio_queue *q) {
  size_t old = ring_size(q), nsize = old ? old * 2 : 16;
  if (nsize < old) return WEFT_ENOMEM;
  void **r = malloc(nsize * sizeof *r);
  if (!r) return WEFT_ENOMEM;
  for (size_t i = 0; i < q->count; i++) r[i] = q->ring[(q->head + i) & q->mask];
  free(q->ring);
  q->ring = r;
  q->mask = nsize - 1;
  q->head = 0;
  return 0;
}

static int ring_push(weft_aio_queue *q, void *item) {
  if (q->count == ring_size(q)) {
    int rc = ring_grow(q);
    if (rc) return rc;
  }
  q->ring[(q->head + q->count) & q->mask] = item;
  q->count++;
  return 0;
}

/* Takes the oldest item; a waiting putter's item fills the freed slot
 * (putters wait only while count == capacity <= ring size, so the slot
 * exists: no allocation). */
static void *ring_pop(weft_aio_queue *q) {
  void *item = q->ring[q->head];
  q->head = (q->head + 1) & q->mask;
  q->count--;
  weft__aio_wait *w = weft__wl_pop(&q->putters);
  if (w) {
    qwait *p = (qwait *)w;
    q->ring[(q->head + q->count) & q->mask] = p->item;
    q->count++;
    q->unfinished++;
    weft__aio_wake(w, 0);
  }
  return item;
}

/* ---- API ---- */

int weft_aio_queue_create(weft_aio_queue **out, size_t capacity) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  weft_aio_queue *q = calloc(1, sizeof *q);
  if (!q) return WEFT_ENOMEM;
  q->capacity = capacity;
  *out = q;
  return 0;
}

void weft_aio_queue_destroy(weft_aio_queue *q) {
  if (!q) return;
  weft__wl_wake_all(&q->getters, WEFT_ECLOSED);
  weft__wl_wake_all(&q->putters, WEFT_ECLOSED);
  weft__wl_wake_all(&q->joiners, WEFT_ECLOSED);
  free(q->ring);
  free(q);
}

/* Delivers item without waiting: to the first waiting getter, else into
 * the ring. WEFT_EAGAIN when the queue is full. */
static int put_now(weft_aio_queue *q, void *item) {
  if (q->closed) return WEFT_ECLOSED;
  weft__aio_wait *w = weft__wl_pop(&q->getters);
  if (w) {
    ((qwait *)w)->item = item;
    q->unfinished++;
    weft__aio_wake(w, 0);
    return 0;
  }
  if (full(q)) return WEFT_EAGAIN;
  int rc = ring_push(q, item);
  if (rc == 0) q->unfinished++;
  return rc;
}

int weft_aio_queue_try_put(weft_aio_queue *q, void *item) {
  if (!q) return WEFT_EINVAL;
  return put_now(q, item);
}

/* Registers w on l and sleeps. The core checks for a pending interruption
 * inside suspend, so the waiting paths need no check of their own; outside
 * a task suspend does nothing and says WEFT_EPERM: leave the list then. */
static int wait_on(weft__wlist *l, weft__aio_wait *w) {
  weft__wl_push(l, w);
  int rc = weft__aio_suspend(w);
  if (rc == WEFT_EPERM && !w->woken) weft__wl_unlink(l, w);
  return rc;
}

int weft_aio_queue_put(weft_aio_queue *q, void *item) {
  if (!q) return WEFT_EINVAL;
  if (q->closed || !full(q) || !weft__wl_empty(&q->getters)) {
    int rc = weft__aio_check(); /* finishing at once: honour a cancel */
    return rc ? rc : put_now(q, item);
  }
  qwait p;
  weft__aio_wait_init(&p.w, weft__wl_abort);
  p.w.op = "queue put";
  p.item = item;
  return wait_on(&q->putters, &p.w); /* 0: a getter moved our item in */
}

int weft_aio_queue_try_get(weft_aio_queue *q, void **item) {
  if (!q || !item) return WEFT_EINVAL;
  if (q->count) {
    *item = ring_pop(q);
    return 0;
  }
  return q->closed ? WEFT_ECLOSED : WEFT_EAGAIN;
}

int weft_aio_queue_get(weft_aio_queue *q, void **item) {
  if (!q || !item) return WEFT_EINVAL;
  if (q->count || q->closed) {
    int rc = weft__aio_check(); /* finishing at once: honour a cancel */
    return rc ? rc : weft_aio_queue_try_get(q, item);
  }
  qwait g;
  weft__aio_wait_init(&g.w, weft__wl_abort);
  g.w.op = "queue get";
  g.item = NULL;
  int rc = wait_on(&q->getters, &g.w);
  if (rc == 0) *item = g.item; /* handed over by a put */
  return rc;
}

size_t weft_aio_queue_size(const weft_aio_queue *q) { return q ? q->count : 0; }

int weft_aio_queue_task_done(weft_aio_queue *q) {
  if (!q) return WEFT_EINVAL;
  if (q->unfinished == 0) return WEFT_ERANGE;
  if (--q->unfinished == 0) weft__wl_wake_all(&q->joiners, 0);
  return 0;
}

int weft_aio_queue_join(weft_aio_queue *q) {
  if (!q) return WEFT_EINVAL;
  int rc = weft__aio_check();
  if (rc) return rc;
  if (q->unfinished == 0) return 0;
  weft__aio_wait w;
  weft__aio_wait_init(&w, weft__wl_abort);
  w.op = "queue join";
  return wait_on(&q->joiners, &w);
}

/* Waiting putters get WEFT_ECLOSED (their items were never queued). Getters
 * wait only while the ring is empty, so every waiting getter is told too.
 * join is unaffected: items already queued still count until task_done. */
void weft_aio_queue_close(weft_aio_queue *q) {
  if (!q || q->closed) return;
  q->closed = true;
  weft__wl_wake_all(&q->putters, WEFT_ECLOSED);
  weft__wl_wake_all(&q->getters, WEFT_ECLOSED);
}
