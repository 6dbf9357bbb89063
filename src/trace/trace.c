/* src/trace/trace.c — trace sessions and the per-thread buffers: start,
 * stop, the slow path of claiming a record (new chunk, new session, memory
 * limit), WEFT_TRACE at load and exit, fork.
 *
 * Buffers are never freed while their owner may still append to them: a
 * thread that sees a new session retires its old buffer (it never touches
 * it again) and a thread that exits retires its buffer through a pthread key
 * destructor. weft_trace_start frees retired buffers of earlier sessions;
 * buffers of earlier sessions whose owner is alive but has not recorded
 * since stay (empty of interest: the writer skips them) until it does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "trace/trace_priv.h"
#include "weft/thread.h"

__thread struct weft__ttls weft__ttls __attribute__((tls_model("initial-exec")));

uint32_t weft__trace_on;
uint64_t weft__trace_merge_ticks;
uint64_t weft__trace_long_ticks;
bool weft__trace_cpu_all;
bool weft__trace_submits;

pthread_mutex_t weft__trace_lock = PTHREAD_MUTEX_INITIALIZER;
weft__tbuf *weft__trace_bufs;
uint32_t weft__trace_gen;
int weft__trace_pid;
weft__tclock weft__trace_clock;

static pthread_key_t buf_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static uint64_t chunks_now, chunks_max;  /* atomic; memory limit in chunks */
static double calib_ns_per_tick;         /* once per process */
static char *env_path;                   /* WEFT_TRACE */

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Ticks per nanosecond: measured over 2 ms once per process (on x86-64 the
 * TSC runs at a constant rate the kernel trusts as its clock source). */
static void calibrate(void) {
#if defined(__x86_64__)
  if (calib_ns_per_tick > 0) return;
  uint64_t n0 = weft_now_ns(), k0 = weft__trace_now(), n1, k1;
  do {
    n1 = weft_now_ns();
    k1 = weft__trace_now();
  } while (n1 - n0 < 2000000);
  calib_ns_per_tick = k1 > k0 ? (double)(n1 - n0) / (double)(k1 - k0) : 1.0;
#else
  calib_ns_per_tick = 1.0;
#endif
}

void weft__trace_clock_refine(void) {
#if defined(__x86_64__)
  uint64_t n1 = weft_now_ns(), k1 = weft__trace_now();
  weft__tclock *c = &weft__trace_clock;
  /* Over 100 ms the session's own span is the better measure. */
  if (n1 - c->ns0 > 100000000 && k1 > c->tick0)
    c->ns_per_tick = (double)(n1 - c->ns0) / (double)(k1 - c->tick0);
#endif
}

uint64_t weft__trace_ticks_of_ns(uint64_t ns) {
  /* Fields fixed while a session records (the writer refines its own
   * ns_per_tick; this one reads the process-wide calibration). */
  const weft__tclock *c = &weft__trace_clock;
  double d = ((double)(int64_t)(ns - weft_load_relaxed(&c->ns0))) / calib_ns_per_tick;
  return weft_load_relaxed(&c->tick0) + (uint64_t)(int64_t)d;
}

static void chunk_free_list(weft__tchunk *c) {
  while (c) {
    weft__tchunk *n = c->next;
    free(c);
    __atomic_fetch_sub(&chunks_now, 1, __ATOMIC_RELAXED);
    c = n;
  }
}

static void retire(void *p) {
  weft__tbuf *b = p;
  if (b) weft_store_release(&b->retired, 1);
}

static void make_key(void) {
  pthread_key_create(&buf_key, retire);
}

static weft__tchunk *chunk_new(void) {
  if (__atomic_fetch_add(&chunks_now, 1, __ATOMIC_RELAXED) >= chunks_max) {
    __atomic_fetch_sub(&chunks_now, 1, __ATOMIC_RELAXED);
    return NULL;
  }
  weft__tchunk *c = malloc(sizeof *c);
  if (!c) {
    __atomic_fetch_sub(&chunks_now, 1, __ATOMIC_RELAXED);
    return NULL;
  }
  c->next = NULL;
  c->n = 0;
  return c;
}

/* The calling thread's buffer for session g, created on first use. */
static weft__tbuf *attach(uint32_t g) {
  pthread_once(&key_once, make_key);
  weft__tbuf *old = pthread_getspecific(buf_key);
  if (old && old->gen == g) return old;
  weft__tbuf *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->gen = g;
  b->tid = (int)syscall(SYS_gettid);
  weft__trace_self_name(b->name, sizeof b->name, &b->role);
  pthread_mutex_lock(&weft__trace_lock);
  if (weft__trace_gen != g) { /* a newer session began meanwhile */
    pthread_mutex_unlock(&weft__trace_lock);
    free(b);
    return NULL;
  }
  b->next = weft__trace_bufs;
  weft__trace_bufs = b;
  pthread_mutex_unlock(&weft__trace_lock);
  if (old) retire(old);
  pthread_setspecific(buf_key, b);
  return b;
}

void weft__trace_attach_self(void) {
  uint32_t g = weft_load_acquire(&weft__trace_on);
  if (g) attach(g);
}

weft__tev *weft__trace_claim_slow(void) {
  struct weft__ttls *t = &weft__ttls;
  uint32_t g = weft_load_acquire(&weft__trace_on);
  if (g == 0) return NULL;
  weft__tbuf *b = attach(g);
  if (!b) return NULL;
  if (t->gen != g || t->n == WEFT__TCHUNK) {
    weft__tchunk *c = chunk_new();
    if (!c) {
      __atomic_fetch_add(&b->dropped, 1, __ATOMIC_RELAXED);
      /* A full chunk of this session stays the current one (claims keep
       * failing over to here; a run of tiny tasks may still grow its last
       * record); without one, the thread records nothing this session. */
      if (t->gen != g) t->gen = 0;
      return NULL;
    }
    /* release: the writer, walking the chain, sees the chunk initialised. */
    if (b->tail) weft_store_release(&b->tail->next, c);
    else weft_store_release(&b->head, c);
    b->tail = c;
    t->ev = c->ev;
    t->n = 0;
    t->pub = &c->n;
    if (t->gen != g) { /* a new session: nothing of the last one carries over */
      t->unsampled = 0;
      t->sampling = false;
      t->chain = false;
    }
    t->gen = g;
    t->cpu_next = true;
  }
  return &t->ev[t->n];
}

/* Frees the retired buffers of sessions before g. Under the lock. */
static void sweep(uint32_t g) {
  weft__tbuf **pp = &weft__trace_bufs;
  while (*pp) {
    weft__tbuf *b = *pp;
    if (b->gen != g && weft_load_acquire(&b->retired)) {
      *pp = b->next;
      chunk_free_list(b->head);
      free(b);
    } else {
      pp = &b->next;
    }
  }
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *s = getenv(name);
  if (!s || !*s) return dflt;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  return *end ? dflt : (uint64_t)v;
}

static void read_options(void) {
  uint64_t mb = env_u64("WEFT_TRACE_LIMIT_MB", 512);
  chunks_max = mb * 1024 * 1024 / sizeof(weft__tchunk);
  if (chunks_max < 4) chunks_max = 4;
  const char *cpu = getenv("WEFT_TRACE_CPU");
  weft_store_relaxed(&weft__trace_cpu_all, cpu && strcmp(cpu, "all") == 0);
  double per_us = 1000.0 / calib_ns_per_tick;
  weft_store_relaxed(&weft__trace_merge_ticks,
                     env_u64("WEFT_TRACE_MERGE", 1) ? (uint64_t)(2 * per_us) : 0);
  weft_store_relaxed(&weft__trace_long_ticks, (uint64_t)(20 * per_us));
  weft_store_relaxed(&weft__trace_submits, env_u64("WEFT_TRACE_SUBMIT", 0) != 0);
}

int weft_trace_start(void) {
  calibrate();
  pthread_mutex_lock(&weft__trace_lock);
  read_options();
  uint32_t g = weft__trace_gen + 1;
  if (g == 0) g = 1;
  weft__trace_gen = g;
  sweep(g);
  weft__tclock *c = &weft__trace_clock;
  /* relaxed atomics: weft__trace_ticks_of_ns reads them without the lock */
  weft_store_relaxed(&c->ns0, weft_now_ns());
  weft_store_relaxed(&c->tick0, weft__trace_now());
  c->ns_per_tick = calib_ns_per_tick;
  c->wall0_ns = realtime_ns();
  weft__trace_pid = (int)getpid();
  /* release: a thread that sees g sees the parameters above. */
  weft_store_release(&weft__trace_on, g);
  pthread_mutex_unlock(&weft__trace_lock);
  return 0;
}

void weft_trace_stop(void) {
  weft_store_release(&weft__trace_on, 0);
}

bool weft_trace_enabled(void) {
  return weft_load_relaxed(&weft__trace_on) != 0;
}

static void sum_counts(uint64_t *events, uint64_t *dropped) {
  *events = *dropped = 0;
  pthread_mutex_lock(&weft__trace_lock);
  for (weft__tbuf *b = weft__trace_bufs; b; b = b->next) {
    if (b->gen != weft__trace_gen) continue;
    *dropped += __atomic_load_n(&b->dropped, __ATOMIC_RELAXED);
    for (weft__tchunk *c = weft_load_acquire(&b->head); c; c = weft_load_acquire(&c->next))
      *events += weft_load_acquire(&c->n);
  }
  pthread_mutex_unlock(&weft__trace_lock);
}

uint64_t weft_trace_event_count(void) {
  uint64_t e, d;
  sum_counts(&e, &d);
  return e;
}

uint64_t weft_trace_dropped(void) {
  uint64_t e, d;
  sum_counts(&e, &d);
  return d;
}

/* ---- WEFT_TRACE, fork ---- */

static void at_exit_write(void) {
  if (!env_path || (int)getpid() != weft__trace_pid) return;
  weft_trace_stop();
  int rc = weft_trace_write(env_path);
  if (rc != 0)
    fprintf(stderr, "weft: WEFT_TRACE: cannot write %s: %s\n", env_path, weft_strerror(rc));
}

/* A forked child records nothing and owns none of the parent's buffers. */
static void in_child(void) {
  weft_store_relaxed(&weft__trace_on, 0);
  weft__ttls.gen = 0;
  pthread_mutex_init(&weft__trace_lock, NULL);
  weft__trace_bufs = NULL; /* the parent's copies leak in the child, by design:
                              other threads' buffers may be mid-update */
  chunks_now = 0;
}

__attribute__((constructor)) static void trace_from_env(void) {
  pthread_atfork(NULL, NULL, in_child);
  const char *p = getenv("WEFT_TRACE");
  if (!p || !*p) return;
  /* Processes this one starts inherit the environment, and weft's spawned
   * workers re-execute this very program: only the process that found
   * WEFT_TRACE first traces, so nobody overwrites its file. */
  char me[24];
  snprintf(me, sizeof me, "%d", (int)getpid());
  const char *owner = getenv("WEFT_TRACE_OWNER");
  if (owner && *owner && strcmp(owner, me) != 0) return;
  setenv("WEFT_TRACE_OWNER", me, 1);
  env_path = strdup(p);
  if (!env_path) return;
  if (weft_trace_start() == 0) atexit(at_exit_write);
}
