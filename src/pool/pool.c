/* src/pool/pool.c — pool lifetime (create, shutdown, destroy), submit, the
 * small queries, statistics and what sched.h offers the rest of src/pool. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "pool/pool_internal.h"
#include "trace/trace_internal.h"
#include "weft/thread.h"

static void pool_free(weft_pool *p) {
  if (p->workers)
    for (unsigned i = 0; i < p->n; i++) weft__deque_destroy(&p->workers[i].dq);
  free(p->workers);
  free(p->idle);
  weft__inject_destroy(&p->inj);
  pthread_mutex_destroy(&p->idle_lock);
  pthread_mutex_destroy(&p->life_lock);
  free(p);
}

static int pool_alloc(weft_pool **out, const weft_pool_options *o, unsigned n) {
  weft_pool *p = weft__alloc_aligned(sizeof *p);
  if (!p) return WEFT_ENOMEM;
  p->n = n;
  p->gen = weft_load_relaxed(&weft__fork_gen);
  p->opts = *o;
  p->spin_ns = o->spin_ns ? o->spin_ns : WEFT__DEFAULT_SPIN_NS;
  snprintf(p->name, sizeof p->name, "%s", o->name && *o->name ? o->name : "weft");
  p->opts.name = p->name;
  pthread_mutex_init(&p->idle_lock, NULL);
  pthread_mutex_init(&p->life_lock, NULL);
  p->workers = weft__alloc_aligned(n * sizeof(weft__worker));
  p->idle = calloc(n, sizeof *p->idle);
  int rc = weft__inject_init(&p->inj, WEFT__INJECT_CAPACITY);
  if (!p->workers || !p->idle || rc != 0) {
    p->n = 0;
    pool_free(p);
    return WEFT_ENOMEM;
  }
  for (unsigned i = 0; i < n; i++) {
    weft__worker *w = &p->workers[i];
    w->pool = p;
    w->index = i;
    w->rng = 0x9E3779B97F4A7C15ull * (i + 1) | 1;
    if (weft__deque_init(&w->dq) != 0) {
      p->n = i + 1;
      pool_free(p);
      return WEFT_ENOMEM;
    }
  }
  *out = p;
  return 0;
}

/* Lets the started workers go (gate 1) or makes them exit (gate 2). */
static void open_gate(weft_pool *p, uint32_t how) {
  weft_store_release(&p->gate, how);
  weft__futex_wake(&p->gate, INT_MAX);
}

static void join_workers(weft_pool *p, unsigned started) {
  for (unsigned i = 0; i < started; i++) pthread_join(p->workers[i].thread, NULL);
}

/* Starts the threads and waits until every init callback ran. */
static int start_workers(weft_pool *p) {
  unsigned started = 0;
  int rc = 0;
  for (; started < p->n; started++) {
    if (pthread_create(&p->workers[started].thread, NULL, weft__worker_main,
                       &p->workers[started]) != 0) {
      rc = WEFT_EAGAIN;
      break;
    }
  }
  uint32_t r;
  while ((r = weft_load_acquire(&p->ready)) < started) weft__futex_wait(&p->ready, r, WEFT_FOREVER);
  for (unsigned i = 0; i < started && rc == 0; i++) rc = p->workers[i].init_rc;
  if (rc != 0) {
    open_gate(p, 2);
    join_workers(p, started);
    return rc;
  }
  open_gate(p, 1);
  return 0;
}

/* For weft_log lines: the task running on this thread (its record's address). */
static uint64_t current_task_id(void) {
  return (uint64_t)(uintptr_t)weft__tls.task;
}

int weft_pool_create(weft_pool **out, const weft_pool_options *opts) {
  if (!out) return WEFT_EINVAL;
  weft_pool_options o = opts ? *opts : (weft_pool_options){0};
  if (o.threads > WEFT__MAX_THREADS) return WEFT_EINVAL;
  unsigned n = o.threads ? o.threads : weft_cpu_count();
  if (n > WEFT__MAX_THREADS) n = WEFT__MAX_THREADS;
  if (n == 0) n = 1;
  weft_pool *p;
  int rc = pool_alloc(&p, &o, n);
  if (rc != 0) return rc;
  weft__future_helper_install();
  weft__log_set_context(weft_pool_worker_index, current_task_id);
  weft__registry_add(p);
  rc = start_workers(p);
  if (rc != 0) {
    weft__registry_remove(p);
    pool_free(p);
    return rc;
  }
  weft__stall_pool_created();
  *out = p;
  return 0;
}

int weft_pool_shutdown(weft_pool *p, int mode) {
  if (!p || (mode != WEFT_SHUTDOWN_DRAIN && mode != WEFT_SHUTDOWN_CANCEL)) return WEFT_EINVAL;
  if (weft__pool_forked(p)) return WEFT_EFORKED;
  weft__worker *w = weft__tls.worker;
  if (w && w->pool == p) return WEFT_EDEADLK;
  if (mode == WEFT_SHUTDOWN_CANCEL && !(weft_load_relaxed(&p->state) & POOL_CANCEL)) {
    /* Before the lock: upgrades a DRAIN shutdown that is in progress. */
    __atomic_fetch_or(&p->state, POOL_CANCEL, __ATOMIC_SEQ_CST);
    weft__cancel_epoch_bump();
  }
  pthread_mutex_lock(&p->life_lock);
  if (!p->joined) {
    weft__inject_close(&p->inj);
    /* seq_cst, then wake_all under idle_lock: a worker parking concurrently
     * either is in the idle stack by then or sees CLOSED (park.c). */
    __atomic_fetch_or(&p->state, POOL_CLOSED, __ATOMIC_SEQ_CST);
    weft__pool_wake_all(p);
    join_workers(p, p->n);
    p->joined = true;
  }
  pthread_mutex_unlock(&p->life_lock);
  return 0;
}

int weft_pool_destroy(weft_pool *p) {
  if (!p || weft__is_default_pool(p)) return WEFT_EINVAL;
  weft__worker *w = weft__tls.worker;
  if (w && w->pool == p) return WEFT_EDEADLK;
  /* Only live pools are registered: a second destroy of the same pool (or a
   * pointer that never was one) is refused without touching its memory, and
   * of two racing destroys exactly one proceeds. */
  if (!weft__registry_remove(p)) return WEFT_EINVAL;
  /* A parent's pool in a forked child: its threads do not exist here and its
   * locks may be held by them. Only the memory is ours to free. */
  if (!weft__pool_forked(p)) weft_pool_shutdown(p, WEFT_SHUTDOWN_DRAIN);
  weft__stall_pool_destroyed(p); /* may stop the watchdog: p was its last pool */
  pool_free(p);
  return 0;
}

unsigned weft_pool_size(const weft_pool *p) {
  return p ? p->n : 0;
}

int weft_pool_worker_index(void) {
  weft__worker *w = weft__tls.worker;
  return w ? (int)w->index : -1;
}

weft_pool *weft_pool_current(void) {
  weft__worker *w = weft__tls.worker;
  return w ? w->pool : NULL;
}

/* ---- sched.h ---- */

weft_pool *weft__pool_resolve(weft_pool *p) {
  if (p) return p;
  weft__worker *w = weft__tls.worker;
  return w ? w->pool : weft_pool_default();
}

bool weft__pool_wants_work(weft_pool *p) {
  weft__worker *w = weft__tls.worker;
  if (!w || w->pool != p || !weft__deque_empty_relaxed(&w->dq)) return false;
  return weft_load_relaxed(&p->searching) != 0 || weft_load_relaxed(&p->sleepers) != 0;
}

int weft__pool_check(const weft_pool *p) {
  if (!p) return WEFT_EINVAL;
  if (weft__pool_forked(p)) return WEFT_EFORKED;
  if (weft_load_relaxed(&p->state) & POOL_CLOSED) return WEFT_ESHUTDOWN;
  return 0;
}

/* ---- submit ---- */

int weft__pool_enqueue(weft_pool *p, weft__task *t) {
  weft__worker *w = weft__tls.worker;
  if (w && w->pool == p) {
    if (weft_load_relaxed(&p->state) & POOL_CLOSED) return WEFT_ESHUTDOWN;
    if (weft__deque_push(&w->dq, t, true) == 0) {
      weft__pool_notify(p);
      return 0;
    }
  }
  int rc = weft__inject_push(&p->inj, t);
  if (rc == 0) weft__pool_notify(p);
  return rc;
}

int weft_submit(weft_pool *p, weft_task_fn fn, void *arg, weft_future **out) {
  if (!fn || !out) return WEFT_EINVAL;
  p = weft__pool_resolve(p);
  if (!p) return WEFT_ENOMEM;
  int rc = weft__pool_check(p);
  if (rc != 0) return rc;
  weft_future *f;
  if ((rc = weft_future_create(&f)) != 0) return rc;
  weft__task *t = weft__task_alloc();
  if (!t) {
    weft_future_release(f);
    return WEFT_ENOMEM;
  }
  *t = (weft__task){.fn = fn, .arg = arg, .future = f};
  weft_future_retain(f); /* the task's reference */
  if (weft__trace_active() && weft_load_relaxed(&weft__trace_submits))
    weft__trace_instant(WEFT__TK_SUBMIT, (const void *)fn, WEFT__TN_FN, (uintptr_t)t, 0, 0, 0);
  rc = weft__pool_enqueue(p, t);
  if (rc != 0) {
    weft_future_release(f);
    weft_future_release(f);
    weft__task_free(t);
    return rc;
  }
  *out = f;
  return 0;
}

/* ---- statistics ---- */

static void worker_stats(const weft__worker *w, uint64_t now, weft_worker_stats *s) {
  uint64_t start = weft_load_relaxed(&w->start_ns), end = weft_load_relaxed(&w->end_ns);
  uint64_t since = weft_load_relaxed(&w->idle_since);
  uint64_t idle = weft_load_relaxed(&w->idle_ns);
  uint64_t stop = end ? end : now;
  if (!end && since && now > since) idle += now - since; /* idle right now */
  uint64_t total = stop > start ? stop - start : 0;
  s->tasks_run = weft_load_relaxed(&w->tasks_run);
  s->tasks_stolen = weft_load_relaxed(&w->tasks_stolen);
  s->parks = weft_load_relaxed(&w->parks);
  s->idle_ns = idle;
  s->busy_ns = total > idle ? total - idle : 0;
}

int weft_pool_stats(const weft_pool *p, weft_worker_stats *out, size_t n, size_t *written) {
  if (!p || (!out && n)) return WEFT_EINVAL;
  if (weft__pool_forked(p)) return WEFT_EFORKED;
  size_t k = n < p->n ? n : p->n;
  uint64_t now = weft_now_ns();
  for (size_t i = 0; i < k; i++) worker_stats(&p->workers[i], now, &out[i]);
  if (written) *written = k;
  return 0;
}
