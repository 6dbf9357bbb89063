/* src/pool/inject.h — the injection queue: how tasks from threads that are
 * not workers of the pool (and weft_submit) reach the workers.
 *
 * A Vyukov bounded MPMC ring (one CAS per enqueue, one CAS per *batch* of
 * dequeues) with a mutex-protected overflow list for bursts that outrun the
 * ring. Bit 63 of the enqueue position is the "closed" flag: closing and
 * enqueueing race on that one word, so after weft__inject_close no enqueue
 * can succeed and none is lost. */
#ifndef WEFT_POOL_INJECT_H
#define WEFT_POOL_INJECT_H

#include <pthread.h>
#include "pool/task.h"

#define WEFT__INJECT_CLOSED (1ull << 63)

typedef struct weft__inject_cell {
  uint64_t seq;          /* Vyukov sequence number (atomic) */
  weft__task *task;
} weft__inject_cell;

typedef struct weft__inject {
  uint64_t head WEFT_ALIGNED_CL;   /* dequeue position */
  uint64_t tail WEFT_ALIGNED_CL;   /* enqueue position | CLOSED */
  weft__inject_cell *ring WEFT_ALIGNED_CL;
  uint64_t mask;
  pthread_mutex_t lock;            /* overflow list */
  weft__task *ov_head, *ov_tail;
  uint64_t ov_count;               /* atomic; written under lock */
} weft__inject;

int weft__inject_init(weft__inject *q, size_t capacity);
void weft__inject_destroy(weft__inject *q);
/* Enqueues t. 0, or WEFT_ESHUTDOWN once closed. The enqueue is a seq_cst
 * RMW, as the wake-up protocol needs before checking for sleepers. */
int weft__inject_push(weft__inject *q, weft__task *t);
/* Dequeues up to max tasks into out, oldest first; returns how many. */
size_t weft__inject_pop(weft__inject *q, weft__task **out, size_t max);
/* Stops enqueues; in-flight enqueues complete. Idempotent. */
void weft__inject_close(weft__inject *q);
/* seq_cst: true when a task is queued or being enqueued. */
bool weft__inject_nonempty_sc(weft__inject *q);
/* Approximate number of queued tasks (relaxed). */
static inline uint64_t weft__inject_size(weft__inject *q) {
  uint64_t t = weft_load_relaxed(&q->tail) & ~WEFT__INJECT_CLOSED;
  uint64_t h = weft_load_relaxed(&q->head);
  return (t > h ? t - h : 0) + weft_load_relaxed(&q->ov_count);
}

#endif /* WEFT_POOL_INJECT_H */
