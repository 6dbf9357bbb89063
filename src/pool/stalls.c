/* src/pool/stalls.c — the stall watchdog (WEFT_DEBUG=stalls, weft/debug.h).
 *
 * Workers stamp their record (stalls.h) at each top-level task's start and
 * end. A watchdog thread wakes every quarter threshold, walks the pools
 * under the registry's lock, decides which records show a new stall or the
 * end of a reported one (copying what it needs), and prints outside the
 * lock: naming a task's function and asking the kernel what a thread sleeps
 * in may take a while, and pools must stay creatable meanwhile.
 *
 * The thread is started by the first pool created while watching is on and
 * stopped (joined) when the last pool is destroyed, or by
 * weft_stall_watch_disable; `life` serialises those. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pool/pool_internal.h"
#include "pool/stalls_kernel.h"
#include "trace/trace_internal.h"
#include "weft/debug.h"

#define DEFAULT_MS 2000u
#define PERIOD_MIN_NS 1000000ull
#define PERIOD_MAX_NS 250000000ull

bool weft__stall_on;
static uint64_t threshold_ns; /* atomic */
static uint64_t enabled_at;   /* atomic: tasks that started before are not watched */
static size_t nreports;       /* atomic */

static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER; /* start/stop */
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cv;
static pthread_once_t wd_once = PTHREAD_ONCE_INIT;
static bool wd_running, wd_stop; /* wd_running: under life; wd_stop: wd_mu */
static pthread_t wd_thread;

/* What one scan found, copied out of a pool so it can be printed later. */
typedef struct stall_event {
  bool ended;
  char pool[16];
  unsigned index;
  int tid;
  const void *fn;
  uint64_t run_ns;       /* how long the task has run / ran */
  const char *wait_what; /* a wait marker, or NULL */
  const void *wait_obj;
  uint64_t wait_ns;
} stall_event;

typedef struct scan {
  uint64_t now, threshold, since_on;
  stall_event *ev;
  size_t n, cap;
} scan;

/* ---- settings ---- */

static uint64_t env_threshold(void) {
  const char *s = getenv("WEFT_STALL_MS");
  char *end;
  unsigned long long ms = s ? strtoull(s, &end, 10) : 0;
  if (!s || end == s || ms == 0) ms = DEFAULT_MS;
  return (uint64_t)ms * 1000000ull;
}

static void init_cond(void) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&wd_cv, &a);
  pthread_condattr_destroy(&a);
}

static void reset_after_fork(void) {
  /* The watchdog thread does not exist in a child (its locks and condition
   * may look held or waited on); a pool the child creates starts one of
   * its own. */
  pthread_mutex_init(&life, NULL);
  pthread_mutex_init(&wd_mu, NULL);
  init_cond();
  wd_running = false;
  wd_stop = false;
}

static void init_once(void) {
  init_cond();
  pthread_atfork(NULL, NULL, reset_after_fork);
}

__attribute__((constructor)) static void read_env(void) {
  if (!weft__debug_has("stalls")) return;
  weft_store_relaxed(&threshold_ns, env_threshold());
  weft_store_relaxed(&enabled_at, weft__stall_clock()); /* the tasks' clock */
  weft_store_relaxed(&weft__stall_on, true);
}

/* ---- scanning (registry lock held) ---- */

static void add_event(scan *sc, const stall_event *e) {
  if (sc->n == sc->cap) {
    size_t cap = sc->cap ? 2 * sc->cap : 16;
    stall_event *grown = realloc(sc->ev, cap * sizeof *grown);
    if (!grown) return; /* reported at the next scan instead */
    sc->ev = grown;
    sc->cap = cap;
  }
  sc->ev[sc->n++] = *e;
}

static stall_event event_of(weft_pool *p, weft__worker *w, bool ended) {
  stall_event e = {.ended = ended, .index = w->index, .tid = weft_load_relaxed(&w->stall.tid)};
  memcpy(e.pool, p->name, sizeof e.pool);
  return e;
}

/* The end of a reported stall: exact when the task that ended is the one
 * reported, else (another one ran since) as seen now. */
static stall_event ended_event(weft_pool *p, weft__worker *w, uint64_t now) {
  weft__stallslot *s = &w->stall;
  stall_event e = event_of(p, w, true);
  e.fn = s->reported_fn;
  uint64_t ls = weft_load_relaxed(&s->last_since), le = weft_load_relaxed(&s->last_end);
  e.run_ns = (ls == s->reported && le > ls ? le : now) - s->reported;
  weft_store_relaxed(&s->reported, 0);
  return e;
}

static void scan_worker(scan *sc, weft_pool *p, weft__worker *w) {
  weft__stallslot *s = &w->stall;
  uint64_t since = weft_load_acquire(&s->since);
  /* acquire, then `since` again: fn belongs to that task (a seqlock read;
   * the worker stores fn with release after clearing since). */
  const void *fn = weft_load_acquire(&s->fn);
  bool torn = weft_load_relaxed(&s->since) != since;
  if (s->reported && since != s->reported) {
    stall_event e = ended_event(p, w, sc->now);
    add_event(sc, &e);
  }
  if (torn || !since || since < sc->since_on || since == s->reported) return;
  if (sc->now < since || sc->now - since < sc->threshold) return;
  stall_event e = event_of(p, w, false);
  e.fn = fn;
  e.run_ns = sc->now - since;
  uint64_t ws = weft_load_acquire(&s->wait.since);
  if (ws) {
    e.wait_what = weft_load_relaxed(&s->wait.what);
    e.wait_obj = weft_load_relaxed(&s->wait.obj);
    e.wait_ns = sc->now > ws ? sc->now - ws : 0;
    if (weft_load_relaxed(&s->wait.since) != ws) e.wait_what = NULL; /* moved on */
  }
  weft_store_relaxed(&s->reported, since);
  s->reported_fn = fn;
  add_event(sc, &e);
}

static void scan_pool(weft_pool *p, void *ctx) {
  /* A parent's pool in a forked child: its workers do not exist here. */
  if (weft__pool_forked(p)) return;
  for (unsigned i = 0; i < p->n; i++) scan_worker(ctx, p, &p->workers[i]);
}

/* ---- reporting (no lock held) ---- */

/* "2.1 s", or "340 ms" under a second (small thresholds, tests). */
static const char *duration(uint64_t ns, char *buf, size_t n) {
  if (ns < 1000000000ull) snprintf(buf, n, "%.0f ms", (double)ns / 1e6);
  else snprintf(buf, n, "%.1f s", (double)ns / 1e9);
  return buf;
}

static void print_event(const stall_event *e) {
  char name[128], what[256] = "", d1[32], d2[32];
  weft__trace_fn_name(e->fn, name, sizeof name);
  if (e->ended) {
    fprintf(stderr, "weft: stall ended: pool \"%s\" worker %u: task %s finished after %s\n",
            e->pool, e->index, name, duration(e->run_ns, d1, sizeof d1));
    return;
  }
  if (e->wait_what)
    snprintf(what, sizeof what, "; blocked in %s on %p for %s", e->wait_what, e->wait_obj,
             duration(e->wait_ns, d2, sizeof d2));
  char kernel[160];
  weft__stall_kernel_state(e->tid, kernel, sizeof kernel);
  /* A marked wait parks on a futex of its own: the marker says more. */
  if (e->wait_what && strncmp(kernel, "blocked in futex", 16) == 0) kernel[0] = 0;
  /* One call per line: stderr is unbuffered, lines from threads stay whole. */
  fprintf(stderr, "weft: stall (WEFT_DEBUG=stalls): pool \"%s\" worker %u: task %s has run for %s%s%s%s\n",
          e->pool, e->index, name, duration(e->run_ns, d1, sizeof d1), what,
          *kernel ? "; thread " : "", kernel);
  __atomic_fetch_add(&nreports, 1, __ATOMIC_RELAXED);
}

static void scan_all(void) {
  scan sc = {.now = weft_now_ns(),
             .threshold = weft_load_relaxed(&threshold_ns),
             .since_on = weft_load_relaxed(&enabled_at)};
  weft__registry_foreach(scan_pool, &sc);
  for (size_t i = 0; i < sc.n; i++) print_event(&sc.ev[i]);
  free(sc.ev);
}

static void *watchdog_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&wd_mu);
  while (!wd_stop) {
    uint64_t period = weft_load_relaxed(&threshold_ns) / 4;
    if (period < PERIOD_MIN_NS) period = PERIOD_MIN_NS;
    if (period > PERIOD_MAX_NS) period = PERIOD_MAX_NS;
    struct timespec ts;
    uint64_t at = weft_now_ns() + period;
    ts.tv_sec = (time_t)(at / 1000000000ull);
    ts.tv_nsec = (long)(at % 1000000000ull);
    pthread_cond_timedwait(&wd_cv, &wd_mu, &ts);
    if (wd_stop) break;
    pthread_mutex_unlock(&wd_mu);
    scan_all();
    pthread_mutex_lock(&wd_mu);
  }
  pthread_mutex_unlock(&wd_mu);
  return NULL;
}

/* ---- start / stop (life held) ---- */

static int start_locked(void) {
  if (wd_running) return 0;
  pthread_once(&wd_once, init_once);
  wd_stop = false; /* the previous thread was joined: nobody reads it */
  if (pthread_create(&wd_thread, NULL, watchdog_main, NULL) != 0) return WEFT_EAGAIN;
  /* Named here, not by the thread itself: visible as soon as we return. */
  pthread_setname_np(wd_thread, "weft-stalls");
  wd_running = true;
  return 0;
}

static void stop_locked(void) {
  if (!wd_running) return;
  pthread_mutex_lock(&wd_mu);
  wd_stop = true;
  pthread_cond_signal(&wd_cv);
  pthread_mutex_unlock(&wd_mu);
  pthread_join(wd_thread, NULL);
  wd_running = false;
}

void weft__stall_pool_created(void) {
  if (!WEFT__STALL_ON) return;
  pthread_mutex_lock(&life);
  if (WEFT__STALL_ON) start_locked(); /* no watchdog: no reports, the pool still works */
  pthread_mutex_unlock(&life);
}

void weft__stall_pool_destroyed(weft_pool *p) {
  /* Out of the registry: the watchdog no longer reads p's records. */
  uint64_t now = weft_now_ns();
  for (unsigned i = 0; i < p->n; i++) {
    if (!p->workers[i].stall.reported) continue;
    stall_event e = ended_event(p, &p->workers[i], now);
    print_event(&e);
  }
  pthread_mutex_lock(&life);
  if (wd_running && weft__registry_empty()) stop_locked();
  pthread_mutex_unlock(&life);
}

/* ---- public ---- */

static void forget_pool(weft_pool *p, void *ctx) {
  (void)ctx;
  for (unsigned i = 0; i < p->n; i++) weft_store_relaxed(&p->workers[i].stall.reported, 0);
}

int weft_stall_watch_enable(uint64_t threshold) {
  pthread_mutex_lock(&life);
  weft_store_relaxed(&threshold_ns, threshold ? threshold : env_threshold());
  if (!weft_load_relaxed(&weft__stall_on)) {
    /* Stalls reported while watching was on before are forgotten (the
     * watchdog is stopped, nobody else writes `reported`). */
    weft__registry_foreach(forget_pool, NULL);
    weft_store_relaxed(&enabled_at, weft__stall_clock()); /* the tasks' clock */
    weft_store_relaxed(&weft__stall_on, true);
  }
  int rc = weft__registry_empty() ? 0 : start_locked();
  if (wd_running) {
    /* A new threshold applies from the next period on: wake it now. */
    pthread_mutex_lock(&wd_mu);
    pthread_cond_signal(&wd_cv);
    pthread_mutex_unlock(&wd_mu);
  }
  pthread_mutex_unlock(&life);
  return rc;
}

void weft_stall_watch_disable(void) {
  pthread_mutex_lock(&life);
  weft_store_relaxed(&weft__stall_on, false);
  stop_locked();
  pthread_mutex_unlock(&life);
}

size_t weft_stall_report_count(void) {
  return __atomic_load_n(&nreports, __ATOMIC_RELAXED);
}
