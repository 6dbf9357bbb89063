/* src/pool/deque.h — the Chase–Lev work-stealing deque (growable), after
 * Lê, Pop, Cohen, Zappa Nardelli, "Correct and Efficient Work-Stealing for
 * Weak Memory Models" (PPoPP 2013).
 *
 * The owner pushes and pops at the bottom; thieves take from the top. The
 * paper's seq_cst *fences* are written here as seq_cst *accesses* to top and
 * bottom (store-then-load pairs around which the fences sat): same
 * guarantees, the same cost on x86 (an xchg instead of mov+mfence), and
 * ThreadSanitizer understands them (it does not model fences; gcc refuses
 * them under -fsanitize=thread -Werror). The seq_cst store of bottom in push
 * also serves the pool's Dekker-style wake-up protocol (see worker.c).
 *
 * Indices are signed 64-bit so that bottom - 1 never wraps. Buffers only
 * grow; retired buffers stay allocated until the deque is destroyed, since a
 * thief may still be reading one. */
#ifndef WEFT_POOL_DEQUE_H
#define WEFT_POOL_DEQUE_H

#include "pool/task.h"

typedef struct weft__deque_buf {
  int64_t mask;                    /* capacity - 1; capacity a power of two */
  struct weft__deque_buf *prev;    /* retired smaller buffer, or NULL */
  weft__task *slot[];              /* accessed atomically */
} weft__deque_buf;

typedef struct weft__deque {
  int64_t top WEFT_ALIGNED_CL;     /* thieves CAS it forward */
  int64_t bottom WEFT_ALIGNED_CL;  /* written by the owner only */
  weft__deque_buf *buf;            /* written by the owner (grow), read by thieves */
} weft__deque;

int weft__deque_init(weft__deque *q);
void weft__deque_destroy(weft__deque *q);
/* Owner only: doubles the buffer; NULL when out of memory. */
weft__deque_buf *weft__deque_grow(weft__deque *q, int64_t bottom, int64_t top);

/* Owner only. `publish_sc`: store bottom seq_cst (needed before a wake-up
 * check); otherwise a release store (batch pushes end with one SC push). */
static inline int weft__deque_push(weft__deque *q, weft__task *t, bool publish_sc) {
  int64_t b = weft_load_relaxed(&q->bottom);
  /* acquire: pairs with a thief's CAS so that a slot it took is not reused
   * before the thief read it. */
  int64_t top = weft_load_acquire(&q->top);
  weft__deque_buf *a = weft_load_relaxed(&q->buf);
  if (weft_unlikely(b - top > a->mask)) {
    a = weft__deque_grow(q, b, top);
    if (!a) return WEFT_ENOMEM;
  }
  weft_store_relaxed(&a->slot[b & a->mask], t);
  /* release (part of seq_cst): the slot and the task's fields become visible
   * to a thief that acquire-reads this bottom. */
  if (publish_sc)
    __atomic_store_n(&q->bottom, b + 1, __ATOMIC_SEQ_CST);
  else
    weft_store_release(&q->bottom, b + 1);
  return 0;
}

/* Owner only: the newest task, or NULL. */
static inline weft__task *weft__deque_pop(weft__deque *q) {
  int64_t b = weft_load_relaxed(&q->bottom);
  /* Cheap emptiness test first: top only grows, so a stale top can only make
   * the deque look fuller, never emptier. Saves the xchg when idle. */
  if (b <= weft_load_relaxed(&q->top)) return NULL;
  b -= 1;
  weft__deque_buf *a = weft_load_relaxed(&q->buf);
  /* seq_cst store then seq_cst load (the paper's store; fence; load): either
   * a thief sees the smaller bottom, or we see its incremented top. */
  __atomic_store_n(&q->bottom, b, __ATOMIC_SEQ_CST);
  int64_t t = __atomic_load_n(&q->top, __ATOMIC_SEQ_CST);
  if (t > b) {
    /* release, not relaxed: a thief acquiring this bottom value must still
     * see the contents of the tasks pushed before (the paper's release fence
     * in push covered later relaxed stores; our release store does not). */
    weft_store_release(&q->bottom, b + 1);
    return NULL;
  }
  weft__task *x = weft_load_relaxed(&a->slot[b & a->mask]);
  if (t == b) {
    /* The last task: race the thieves for it through top. */
    if (!__atomic_compare_exchange_n(&q->top, &t, t + 1, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED))
      x = NULL;
    weft_store_release(&q->bottom, b + 1);
  }
  return x;
}

/* Any thread: the oldest task, or NULL (empty, or lost a race). */
static inline weft__task *weft__deque_steal(weft__deque *q) {
  /* seq_cst load of top, then seq_cst load of bottom (the paper's acquire
   * load; fence; acquire load). The bottom load is an acquire too: it
   * synchronises with the push that published the slot. */
  int64_t t = __atomic_load_n(&q->top, __ATOMIC_SEQ_CST);
  int64_t b = __atomic_load_n(&q->bottom, __ATOMIC_SEQ_CST);
  if (t >= b) return NULL;
  weft__deque_buf *a = weft_load_acquire(&q->buf);
  weft__task *x = weft_load_relaxed(&a->slot[t & a->mask]);
  /* seq_cst CAS: orders against the owner's pop of the last task. Failure
   * means another thief or the owner took slot t; x is then not ours. */
  if (!__atomic_compare_exchange_n(&q->top, &t, t + 1, false, __ATOMIC_SEQ_CST,
                                   __ATOMIC_RELAXED))
    return NULL;
  return x;
}

/* Any thread, seq_cst: true when the deque holds at least one task. Used by
 * a worker about to park (the other half of the wake-up protocol). */
static inline bool weft__deque_nonempty_sc(weft__deque *q) {
  int64_t t = __atomic_load_n(&q->top, __ATOMIC_SEQ_CST);
  int64_t b = __atomic_load_n(&q->bottom, __ATOMIC_SEQ_CST);
  return b > t;
}

/* Owner only, approximate: true when nothing is left to steal. */
static inline bool weft__deque_empty_relaxed(weft__deque *q) {
  return weft_load_relaxed(&q->bottom) <= weft_load_relaxed(&q->top);
}

#endif /* WEFT_POOL_DEQUE_H */
