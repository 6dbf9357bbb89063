/* src/pool/pool_internal.h — the scheduler core's private layout, shared by
 * pool.c, worker.c, park.c, group.c, task.c, fork.c. */
#ifndef WEFT_POOL_INTERNAL_H
#define WEFT_POOL_INTERNAL_H

#include <pthread.h>
#include "pool/deque.h"
#include "pool/inject.h"
#include "pool/sched.h"
#include "pool/stalls.h"
#include "pool/task.h"

#define WEFT__MAX_THREADS 1024
#define WEFT__DEFAULT_SPIN_NS 50000u
#define WEFT__INJECT_CAPACITY 4096u
#define WEFT__BATCH_MAX 32u

/* pool->state bits */
#define POOL_CLOSED 1u   /* no new outside work; workers exit once idle */
#define POOL_CANCEL 2u   /* queued tasks are skipped; running ones see cancelled */

struct weft__worker {
  weft__deque dq;
  weft_pool *pool WEFT_ALIGNED_CL;
  unsigned index;
  uint32_t tick;          /* tasks taken from the own deque; fairness counter */
  uint64_t rng;           /* victim selection (xorshift) */
  /* Statistics: written by this worker only (relaxed atomics so that
   * weft_pool_stats may read them at any time). */
  uint64_t tasks_run, tasks_stolen, parks, idle_ns, start_ns, end_ns, idle_since;
  pthread_t thread;
  int init_rc;
  /* Counted in pool->searching. Written by the worker, or by a waker while
   * the worker is parked (ordered by the parked word's release/acquire). */
  bool searching;
  /* Completions of one group's tasks not yet counted down (see
   * weft__task_run_top): the worker's own, so plain fields. */
  weft_group *defer_group;
  uint32_t defer_n;
  /* The stall watchdog's view of this worker (stalls.h). */
  weft__stallslot stall;
  /* Parking: 1 while in the pool's idle stack; the futex word. */
  uint32_t parked WEFT_ALIGNED_CL;
};

struct weft_pool {
  unsigned n;
  uint32_t gen;                     /* fork generation at creation */
  uint64_t spin_ns;
  weft__worker *workers;            /* n of them, cache-line aligned */
  weft_pool_options opts;
  char name[16];
  uint32_t state;                   /* POOL_* (atomic) */
  uint32_t gate;                    /* start-up: 0 wait, 1 run, 2 abort (futex) */
  uint32_t ready;                   /* workers past init (futex) */
  bool joined;
  pthread_mutex_t life_lock;        /* serialises shutdown */
  weft_pool *reg_next, *reg_prev;   /* all pools, for fork handling */
  weft__inject inj;
  /* Idle bookkeeping (written only at idle transitions). */
  uint32_t sleepers WEFT_ALIGNED_CL; /* workers in the idle stack */
  uint32_t searching;                /* workers spinning for work */
  pthread_mutex_t idle_lock;
  uint32_t nidle;
  uint32_t *idle;                    /* stack of parked worker indexes */
};

/* ---- fork.c ---- */
extern uint32_t weft__fork_gen;
void weft__registry_add(weft_pool *p);
/* Takes p out of the registry of live pools; false when it was not there
 * (destroyed already, or never a pool). */
bool weft__registry_remove(weft_pool *p);
bool weft__is_default_pool(const weft_pool *p);
/* Calls fn on every live pool, under the registry's lock (fn must not
 * create or destroy pools). */
void weft__registry_foreach(void (*fn)(weft_pool *p, void *ctx), void *ctx);
bool weft__registry_empty(void);
static inline bool weft__pool_forked(const weft_pool *p) {
  return p->gen != weft_load_relaxed(&weft__fork_gen);
}

/* ---- park.c: parking, waking ---- */
void weft__pool_wake_one(weft_pool *p);
void weft__pool_wake_all(weft_pool *p);
/* Wakes w if it is parked (for whatever reason); harmless otherwise. */
void weft__pool_wake_worker(weft_pool *p, weft__worker *w);
/* Parks w until woken, ready(ctx) turns true, or the deadline passes.
 * ready is evaluated after w announced itself, so nothing is missed. */
void weft__pool_park(weft__worker *w, bool (*ready)(void *ctx), void *ctx, uint64_t deadline);
/* seq_cst: work queued anywhere in the pool. */
bool weft__pool_work_visible(weft_pool *p);

/* Called right after a seq_cst publication of work (a deque push with
 * publish_sc, an injection). Two loads when nobody sleeps. */
static inline void weft__pool_notify(weft_pool *p) {
  if (weft_likely(__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) == 0)) return;
  if (__atomic_load_n(&p->searching, __ATOMIC_SEQ_CST) != 0) return;
  weft__pool_wake_one(p);
}

/* ---- worker.c ---- */
void *weft__worker_main(void *arg);
/* One task from the injection queue or another worker's deque, or NULL.
 * Batches from the injection queue land in w's deque. */
weft__task *weft__worker_take(weft__worker *w);
/* Runs other tasks until done(ctx) (a worker waiting on a group or future).
 * Returns 0, or WEFT_ETIMEDOUT at the deadline. */
int weft__worker_help(weft__worker *w, bool (*done)(void *ctx), void *ctx,
                      uint64_t deadline, bool (*reg)(void *ctx, bool on));
/* Drops w out of the searching count; `found`: it found work, so if it was
 * the last searcher another parked worker is woken to keep looking. */
void weft__worker_leave_searching(weft__worker *w, bool found);

/* ---- task.c / group.c ---- */
void weft__group_finish(weft_group *g, int rc, char *msg);
/* Counts n successful children of g down at once (no error, no message). */
void weft__group_finish_many(weft_group *g, uint32_t n);
bool weft__group_skip(weft_group *g);
extern uint32_t weft__cancel_epoch;
void weft__cancel_epoch_bump(void);
/* Enqueues t on p: on the calling worker's deque when it is a worker of p,
 * else through the injection queue. Wakes a worker if needed. */
int weft__pool_enqueue(weft_pool *p, weft__task *t);
void weft__future_helper_install(void);

static inline uint64_t weft__stat_add(uint64_t *c, uint64_t v) {
  uint64_t x = weft_load_relaxed(c) + v; /* single writer: no RMW needed */
  weft_store_relaxed(c, x);
  return x;
}

#endif /* WEFT_POOL_INTERNAL_H */
