/* src/pool/park.c — parking idle workers and waking them, without lost
 * wake-ups and without a syscall when nobody sleeps.
 *
 * The protocol (Dekker style, all accesses below are seq_cst, so they sit in
 * one total order S):
 *
 *   publisher: store work (deque bottom / injection tail)   -- W
 *              load sleepers; if 0, done                     -- Rs
 *              load searching; if > 0, done                  -- Rq
 *              else wake one parked worker
 *   sleeper:   searching -= 1 (if it was searching)          -- Dq
 *              sleepers += 1, under idle_lock                -- Is
 *              look at every queue (work_visible)            -- Rw
 *              futex-wait on its own `parked` word
 *
 * If Rs reads 0, Rs precedes Is in S, so W precedes Rw: the sleeper sees the
 * work and does not sleep. If Rq reads > 0 some searcher's Dq comes after Rq,
 * hence after W, and its Rw sees the work; a searcher that instead finds
 * (other) work and was the last one wakes another parked worker
 * (weft__worker_leave_searching), as in Tokio's scheduler. A waker counts the
 * worker it wakes as searching, so a burst of publications wakes one worker,
 * not one per task; that worker's own success wakes the next.
 *
 * The futex word is per worker, so a waker can wake exactly the one it took
 * off the idle stack, and a group or future can wake the very worker that
 * waits on it. */
#include <limits.h>
#include "pool/pool_internal.h"
#include "trace/trace_internal.h"

bool weft__pool_work_visible(weft_pool *p) {
  if (weft__inject_nonempty_sc(&p->inj)) return true;
  for (unsigned i = 0; i < p->n; i++)
    if (weft__deque_nonempty_sc(&p->workers[i].dq)) return true;
  return false;
}

/* Under idle_lock: takes w off the idle stack. */
static void idle_remove(weft_pool *p, weft__worker *w) {
  for (uint32_t i = 0; i < p->nidle; i++) {
    if (p->idle[i] == w->index) {
      p->idle[i] = p->idle[--p->nidle];
      break;
    }
  }
  __atomic_fetch_sub(&p->sleepers, 1, __ATOMIC_SEQ_CST);
  /* release: a worker that acquire-reads 0 sees `searching` set by a waker. */
  weft_store_release(&w->parked, 0);
}

static void unpark_self(weft__worker *w) {
  weft_pool *p = w->pool;
  if (!weft_load_acquire(&w->parked)) return; /* a waker took us off already */
  pthread_mutex_lock(&p->idle_lock);
  if (weft_load_relaxed(&w->parked)) idle_remove(p, w);
  pthread_mutex_unlock(&p->idle_lock);
}

void weft__pool_park(weft__worker *w, bool (*ready)(void *ctx), void *ctx, uint64_t deadline) {
  weft_pool *p = w->pool;
  pthread_mutex_lock(&p->idle_lock);
  p->idle[p->nidle++] = w->index;
  weft_store_relaxed(&w->parked, 1);
  __atomic_fetch_add(&p->sleepers, 1, __ATOMIC_SEQ_CST); /* Is */
  pthread_mutex_unlock(&p->idle_lock);
  if (!weft__pool_work_visible(p) && !(ready && ready(ctx))) { /* Rw */
    weft__stat_add(&w->parks, 1);
    uint64_t tt0 = weft__trace_active() ? weft__trace_now() : 0;
    while (weft_load_acquire(&w->parked)) {
      if (weft__futex_wait(&w->parked, 1, deadline) == WEFT_ETIMEDOUT) break;
    }
    if (tt0 && weft__trace_active())
      weft__trace_span(WEFT__TK_PARK, NULL, 0, tt0, weft__trace_now(), 0, 0, 0);
  }
  unpark_self(w);
}

void weft__pool_wake_one(weft_pool *p) {
  weft__worker *w = NULL;
  pthread_mutex_lock(&p->idle_lock);
  if (p->nidle > 0 && __atomic_load_n(&p->searching, __ATOMIC_SEQ_CST) == 0) {
    w = &p->workers[p->idle[p->nidle - 1]];
    /* It wakes up counted as searching (see the protocol above). */
    w->searching = true;
    __atomic_fetch_add(&p->searching, 1, __ATOMIC_SEQ_CST);
    idle_remove(p, w);
  }
  pthread_mutex_unlock(&p->idle_lock);
  if (w) {
    weft__futex_wake(&w->parked, 1);
    if (weft__trace_active()) weft__trace_instant(WEFT__TK_WAKE, NULL, 0, 0, w->index, 0, 0);
  }
}

void weft__pool_wake_all(weft_pool *p) {
  pthread_mutex_lock(&p->idle_lock);
  while (p->nidle > 0) {
    weft__worker *w = &p->workers[p->idle[p->nidle - 1]];
    idle_remove(p, w);
    /* Woken under the lock: w cannot park again before we release it, so
     * this wake is never spent on a later, unrelated park. */
    weft__futex_wake(&w->parked, 1);
    if (weft__trace_active()) weft__trace_instant(WEFT__TK_WAKE, NULL, 0, 0, w->index, 0, 0);
  }
  pthread_mutex_unlock(&p->idle_lock);
}

void weft__pool_wake_worker(weft_pool *p, weft__worker *w) {
  if (!weft_load_acquire(&w->parked)) return;
  bool woke = false;
  pthread_mutex_lock(&p->idle_lock);
  if (weft_load_relaxed(&w->parked)) {
    idle_remove(p, w);
    woke = true;
  }
  pthread_mutex_unlock(&p->idle_lock);
  if (woke) {
    weft__futex_wake(&w->parked, 1);
    if (weft__trace_active()) weft__trace_instant(WEFT__TK_WAKE, NULL, 0, 0, w->index, 0, 0);
  }
}
