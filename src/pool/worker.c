/* src/pool/worker.c — a worker's life: its main loop, finding work (own
 * deque, injection queue, stealing), spinning then parking when idle, and
 * helping while it waits inside a task. */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "pool/pool_internal.h"
#include "trace/trace_internal.h"
#include "weft/thread.h"

#define SPIN_PAUSES 32   /* pause instructions between two looks for work */
#define CLOCK_EVERY 8    /* looks between two clock reads while spinning */
#define HELP_PARK_NS 1000000u /* re-check period when no targeted wake is set up */

static void enter_searching(weft__worker *w) {
  if (w->searching) return;
  w->searching = true;
  __atomic_fetch_add(&w->pool->searching, 1, __ATOMIC_SEQ_CST);
}

void weft__worker_leave_searching(weft__worker *w, bool found) {
  if (!w->searching) return;
  w->searching = false;
  weft_pool *p = w->pool;
  /* seq_cst RMW then seq_cst load: the "Dq" of park.c's protocol. */
  if (__atomic_fetch_sub(&p->searching, 1, __ATOMIC_SEQ_CST) == 1 && found &&
      __atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) != 0)
    weft__pool_wake_one(p);
}

static inline uint64_t next_rand(weft__worker *w) {
  uint64_t x = w->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return w->rng = x;
}

/* Takes a batch from the injection queue: runs the first, pushes the rest on
 * the own deque (oldest at the bottom end, so they run roughly in order)
 * where idle workers can steal them. */
static weft__task *take_inject(weft__worker *w) {
  weft_pool *p = w->pool;
  weft__task *batch[WEFT__BATCH_MAX];
  uint64_t want = weft__inject_size(&p->inj) / p->n + 1;
  size_t k = weft__inject_pop(&p->inj, batch, want < WEFT__BATCH_MAX ? want : WEFT__BATCH_MAX);
  if (k == 0) return NULL;
  for (size_t i = k - 1; i >= 1; i--) {
    /* Only the last push is seq_cst: it orders all of them before notify. */
    if (weft__deque_push(&w->dq, batch[i], i == 1) != 0) weft__task_run(w, batch[i]);
  }
  if (k > 1) weft__pool_notify(p);
  return batch[0];
}

static weft__task *steal(weft__worker *w) {
  weft_pool *p = w->pool;
  unsigned n = p->n;
  if (n == 1) return NULL;
  unsigned start = (unsigned)(next_rand(w) % n);
  for (unsigned i = 0; i < n; i++) {
    unsigned v = start + i < n ? start + i : start + i - n;
    if (v == w->index) continue;
    weft__task *t = weft__deque_steal(&p->workers[v].dq);
    if (t) {
      weft__stat_add(&w->tasks_stolen, 1);
      if (weft__trace_active()) weft__trace_instant(WEFT__TK_STEAL, NULL, 0, 0, v, 0, 0);
      return t;
    }
  }
  return NULL;
}

weft__task *weft__worker_take(weft__worker *w) {
  if (weft__inject_size(&w->pool->inj) != 0) {
    weft__task *t = take_inject(w);
    if (t) return t;
  }
  return steal(w);
}

static bool pool_closed(void *ctx) {
  weft_pool *p = ctx;
  return __atomic_load_n(&p->state, __ATOMIC_SEQ_CST) & POOL_CLOSED;
}

/* Spins for spin_ns looking for work; then parks. NULL when the pool is
 * closed and no work is left anywhere (the worker exits). */
static weft__task *find_work(weft__worker *w) {
  weft_pool *p = w->pool;
  weft__task *t = NULL;
  enter_searching(w);
  for (;;) {
    uint64_t end = weft_now_ns() + p->spin_ns;
    for (unsigned i = 1;; i++) {
      if ((t = weft__worker_take(w))) goto found;
      if (weft_unlikely(pool_closed(p)) && !weft__pool_work_visible(p)) goto out;
      for (int k = 0; k < SPIN_PAUSES; k++) weft_cpu_relax();
      if (i % CLOCK_EVERY != 0) continue;
      if (weft_now_ns() >= end) break;
      /* With more runnable threads than CPUs (an outside producer feeding
       * all the workers), a spinning worker would take the CPU from the very
       * thread that makes its work: let it run. Costs one syscall per
       * CLOCK_EVERY looks when nothing else is runnable. */
      weft_thread_yield();
    }
    weft__worker_leave_searching(w, false);
    weft__pool_park(w, pool_closed, p, WEFT_FOREVER);
    enter_searching(w); /* no-op when the waker counted us already */
  }
found:
  weft__worker_leave_searching(w, true);
  return t;
out:
  weft__worker_leave_searching(w, false);
  return NULL;
}

static void worker_loop(weft__worker *w) {
  weft_pool *p = w->pool;
  for (;;) {
    weft__task *t = NULL;
    /* Fairness: now and then look at the injection queue first, or a worker
     * busy with a long fork-join would starve outside submissions. */
    if (weft_unlikely((++w->tick & 63) == 0) && weft__inject_size(&p->inj) != 0)
      t = take_inject(w);
    if (!t) t = weft__deque_pop(&w->dq);
    if (!t) {
      weft__task_flush_deferred(w); /* before going idle: waiters may be done */
      /* Idle time is measured here, at the transition, not per task. */
      uint64_t t0 = weft_now_ns();
      uint64_t tt0 = 0;
      if (weft__trace_active()) {
        weft__trace_unchain(); /* closes a sampled run first: spans must not overlap */
        tt0 = weft__trace_now();
      }
      weft_store_relaxed(&w->idle_since, t0);
      t = find_work(w);
      weft__stat_add(&w->idle_ns, weft_now_ns() - t0);
      if (tt0 && weft__trace_active()) weft__trace_idle(tt0);
      weft_store_relaxed(&w->idle_since, 0);
      if (!t) return;
    }
    weft__task_run_top(w, t);
  }
}

void *weft__worker_main(void *arg) {
  weft__worker *w = arg;
  weft_pool *p = w->pool;
  weft__tls.worker = w;
  weft_store_relaxed(&w->stall.tid, (int)syscall(SYS_gettid)); /* for stall reports */
  char name[32];
  snprintf(name, sizeof name, "%s-%u", p->name, w->index);
  weft_thread_set_self_name(name);
  weft__trace_thread_role(name, "worker");
  if (weft__trace_active()) weft__trace_attach_self();
  int rc = p->opts.init ? p->opts.init(p->opts.ctx, w->index) : 0;
  w->init_rc = rc;
  weft_store_relaxed(&w->start_ns, weft_now_ns());
  /* release: the creator reads init_rc after seeing the count. */
  weft_fetch_add(&p->ready, 1);
  weft__futex_wake(&p->ready, INT_MAX);
  uint32_t gate;
  while ((gate = weft_load_acquire(&p->gate)) == 0) weft__futex_wait(&p->gate, 0, WEFT_FOREVER);
  if (gate == 1) worker_loop(w);
  if (rc == 0 && p->opts.fini) p->opts.fini(p->opts.ctx, w->index);
  weft_store_relaxed(&w->end_ns, weft_now_ns());
  weft__task_cache_flush();
  weft__tls.worker = NULL;
  return NULL;
}

int weft__worker_help(weft__worker *w, bool (*done)(void *ctx), void *ctx,
                      uint64_t deadline, bool (*reg)(void *ctx, bool on)) {
  weft_pool *p = w->pool;
  uint64_t spin_end = 0;
  /* What this worker holds back may be what the awaited thing waits for. */
  weft__task_flush_deferred(w);
  for (unsigned i = 1;; i++) {
    if (done(ctx)) return 0;
    weft__task *t = weft__deque_pop(&w->dq);
    if (!t) t = weft__worker_take(w);
    if (t) {
      weft__task_run(w, t);
      spin_end = 0;
      continue;
    }
    for (int k = 0; k < SPIN_PAUSES; k++) weft_cpu_relax();
    if (i % CLOCK_EVERY != 0) continue;
    uint64_t now = weft_now_ns();
    if (now >= deadline) return WEFT_ETIMEDOUT;
    if (!spin_end) spin_end = now + p->spin_ns;
    if (now < spin_end) continue;
    /* Park; new work anywhere in the pool or the awaited event wakes us. */
    bool targeted = reg && reg(ctx, true);
    uint64_t until = targeted || deadline - now < HELP_PARK_NS ? deadline : now + HELP_PARK_NS;
    weft__pool_park(w, done, ctx, until);
    if (targeted) reg(ctx, false);
    /* A waker may have counted us as searching; we look right away anyway. */
    weft__worker_leave_searching(w, false);
    spin_end = 0;
  }
}
