/* src/pool/stalls.h — the stall watchdog's per-worker record and the hooks
 * the pool calls (src/pool/stalls.c; public side in weft/debug.h).
 *
 * A worker writes its record at each top-level task's start and end, only
 * while watching is on (one global flag, tested once per task). The
 * watchdog thread reads the records of every registered pool under the
 * pool registry's lock (fork.c), so a pool being destroyed is never read:
 * weft_pool_destroy takes the pool out of the registry first. */
#ifndef WEFT_POOL_STALLS_H
#define WEFT_POOL_STALLS_H

#include <time.h>
#include "debug/debug_internal.h"

typedef struct weft_pool weft_pool;

typedef struct weft__stallslot {
  /* Written by the worker (atomics: the watchdog reads them any time). */
  const void *fn;          /* the running top-level task's function */
  uint64_t since;          /* its start (monotonic ns); 0: none running */
  uint64_t last_since;     /* start and end of the last task that ended */
  uint64_t last_end;
  int tid;                 /* the worker's kernel thread id */
  weft__waitmark wait;     /* "blocked in X since" (debug_internal.h) */
  /* The watchdog's own (under the registry lock); `reported` is also read
   * by the worker (atomic) to know whether its task's end matters. */
  uint64_t reported;       /* `since` of the stall reported, 0: none */
  const void *reported_fn;
} weft__stallslot;

/* On while stalls are watched (WEFT_DEBUG=stalls or weft_stall_watch_enable). */
extern bool weft__stall_on;
#define WEFT__STALL_ON (__builtin_expect(__atomic_load_n(&weft__stall_on, __ATOMIC_RELAXED), 0))

/* Task start times come from the coarse monotonic clock (a few ns where
 * the precise one costs 25-35; it lags by at most a tick, a few ms): stalls
 * are counted in hundreds of milliseconds. Same time base as weft_now_ns. */
static inline uint64_t weft__stall_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void weft__stall_begin(weft__stallslot *s, const void *fn) {
  weft__waitmark_self = &s->wait; /* this worker's waits mark themselves */
  weft_store_release(&s->fn, fn); /* not before the last task's since = 0 */
  weft_store_release(&s->since, weft__stall_clock()); /* publishes fn */
}

/* The end needs no clock unless the task was reported: then its exact end
 * goes into the "finished after" line. */
static inline void weft__stall_end(weft__stallslot *s) {
  uint64_t since = weft_load_relaxed(&s->since);
  weft_store_relaxed(&s->last_since, since);
  if (weft_unlikely(weft_load_relaxed(&s->reported) == since))
    weft_store_relaxed(&s->last_end, weft_now_ns());
  weft_store_release(&s->since, (uint64_t)0);
}

/* A pool was created / is being destroyed (out of the registry, its
 * workers joined): starts the watchdog if watching is on / reports the end
 * of the pool's stalls and stops the watchdog when no pool is left. */
void weft__stall_pool_created(void);
void weft__stall_pool_destroyed(weft_pool *p);

#endif /* WEFT_POOL_STALLS_H */
