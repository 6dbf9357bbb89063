/* src/cli/bench_proc_latency.c — P2 (`weft bench proc`): the round trip of
 * one tiny task to a worker process and back, and the floor under it.
 *
 *   case submit    weft: weft_ppool_submit + weft_future_result + release;
 *                  python-executor: ProcessPoolExecutor.submit().result()
 *   case apply     weft: weft_ppool_apply; python-pool: Pool.apply
 *   case pingpong  the floors: two C processes (this one and a fork of it)
 *                  pass a counter back and forth, c-pipe through two pipes,
 *                  c-futex through a word of shared memory with FUTEX_WAIT /
 *                  FUTEX_WAKE (no spinning: each side sleeps in the kernel).
 *                  Pinned, because the figure depends on placement and the
 *                  scheduler flips between the two: threads = 1 row, both
 *                  on one CPU (two context switches per trip: the floor);
 *                  threads = 2 row, one on each of two CPUs (each trip
 *                  wakes an idle CPU, which in a VM costs tens of us).
 *                  c-spin (two CPUs only): as c-futex, but each side spins
 *                  before it sleeps: the floor for a pool that spins.
 *
 * The task gets an int64 and returns it plus one, checked on every trip.
 * Every trip is timed on its own; a run's figure is the median trip (in
 * us), and the reported figure the median of the runs' medians: the
 * typical trip, not the mean dragged by a few descheduled ones. */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/future.h"
#include "weft/proc.h"
#include "cli/bench.h"

/* ---- a batch of timed trips ---- */

typedef struct p2_run {
  weft_ppool *pool;
  int cpu[2];            /* the floors: this process's CPU, the partner's */
  bool spin;             /* c-spin rather than c-futex */
  size_t trips;
  double *times;         /* trips entries, us */
  int err;
  const char *what;      /* for the error message */
} p2_run;

static void p2_fail(p2_run *r, int e, const char *msg) {
  if (r->err) return;
  r->err = e ? e : WEFT_ESYSTEM;
  fprintf(stderr, "weft bench: P2 %s: %s%s%s\n", r->what, weft_strerror(r->err),
          msg && *msg ? ": " : "", msg ? msg : "");
}

/* ---- weft ---- */

int bench_proc_tiny(const void *arg, size_t size) {
  int64_t v;
  if (size != sizeof v) return weft_task_fail(WEFT_EINVAL, "expected 8 bytes, got %zu", size);
  memcpy(&v, arg, sizeof v);
  int64_t *res = malloc(sizeof *res);
  if (!res) return WEFT_ENOMEM;
  *res = v + 1;
  weft_task_set_result(res, sizeof *res, free);
  return 0;
}

/* One trip through submit + wait; returns its result (or -1). */
static int64_t trip_submit(p2_run *r, int64_t v) {
  weft_future *f = NULL;
  int e = weft_ppool_submit(r->pool, bench_proc_tiny, &v, sizeof v, NULL, &f);
  if (e) {
    p2_fail(r, e, "weft_ppool_submit");
    return -1;
  }
  void *val = NULL;
  size_t size = 0;
  int64_t got = -1;
  e = weft_future_result(f, &val, &size);
  if (e) p2_fail(r, e, weft_future_message(f));
  else if (size == sizeof got) memcpy(&got, val, sizeof got);
  weft_future_release(f);
  return got;
}

static int64_t trip_apply(p2_run *r, int64_t v) {
  int64_t got = -1;
  size_t size = 0;
  int e = weft_ppool_apply(r->pool, bench_proc_tiny, &v, sizeof v, &got, sizeof got, &size);
  if (e) p2_fail(r, e, "weft_ppool_apply");
  return e || size != sizeof got ? -1 : got;
}

typedef int64_t (*trip_fn)(p2_run *r, int64_t v);

static double p2_batch(p2_run *r, trip_fn trip) {
  for (size_t i = 0; i < r->trips && !r->err; i++) {
    uint64_t t0 = wb_now_ns();
    int64_t got = trip(r, (int64_t)i);
    r->times[i] = (double)(wb_now_ns() - t0) / 1e3;
    if (!r->err && got != (int64_t)i + 1) p2_fail(r, WEFT_ESYSTEM, "wrong result");
  }
  return r->err ? 0 : wb_median(r->times, r->trips);
}

static double run_submit(void *arg) { return p2_batch(arg, trip_submit); }
static double run_apply(void *arg) { return p2_batch(arg, trip_apply); }

static int p2_weft(bench_ctx *c, p2_run *r) {
  weft_ppool_options o = {.processes = c->threads, .name = "weft-bench"};
  int e = weft_ppool_create(&r->pool, &o);
  if (e) {
    fprintf(stderr, "weft bench: P2 weft_ppool_create: %s\n", weft_strerror(e));
    return 1;
  }
  bench_progress(c, "P2 weft: %zu x (weft_ppool_submit + weft_future_result)", r->trips);
  r->what = "submit";
  double v = bench_median(c, run_submit, r, 1);
  if (!r->err) bench_emit(c, "P2", "submit", "weft", (int)c->threads, v, "us", false, NULL);
  bench_progress(c, "P2 weft: %zu x weft_ppool_apply", r->trips);
  r->what = "apply";
  v = r->err ? 0 : bench_median(c, run_apply, r, 1);
  if (!r->err) bench_emit(c, "P2", "apply", "weft", (int)c->threads, v, "us", false, NULL);
  weft_ppool_destroy(r->pool);
  r->pool = NULL;
  return r->err != 0;
}

/* ---- the floors: a forked partner process ---- */

static int pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

/* Forks the partner on CPU `cpu`, which runs fn(arg) and exits. It dies
 * with this process (PDEATHSIG), so an interrupted run leaves nothing. */
static pid_t start_partner(int cpu, void (*fn)(void *), void *arg) {
  pid_t parent = getpid(), pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent || pin(cpu) != 0) _exit(1);
  fn(arg);
  _exit(0);
}

static int reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -errno;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : WEFT_ESYSTEM;
}

/* c-pipe: the partner reads the counter from one pipe and writes it back
 * plus one into the other, until EOF. */
typedef struct pipes { int to[2], back[2]; } pipes;

static void pipe_partner(void *arg) {
  pipes *p = arg;
  close(p->to[1]);
  close(p->back[0]);
  int64_t v;
  while (read(p->to[0], &v, sizeof v) == (ssize_t)sizeof v) {
    v++;
    if (write(p->back[1], &v, sizeof v) != (ssize_t)sizeof v) break;
  }
}

static double run_pipe(void *arg) {
  p2_run *r = arg;
  pipes p;
  if (pipe(p.to) != 0) return p2_fail(r, -errno, "pipe"), 0;
  if (pipe(p.back) != 0) {
    p2_fail(r, -errno, "pipe");
    close(p.to[0]);
    close(p.to[1]);
    return 0;
  }
  pid_t pid = start_partner(r->cpu[1], pipe_partner, &p);
  close(p.to[0]);
  close(p.back[1]);
  if (pid < 0) p2_fail(r, -errno, "fork");
  for (size_t i = 0; i < r->trips && !r->err; i++) {
    int64_t v = (int64_t)i, got = -1;
    uint64_t t0 = wb_now_ns();
    if (write(p.to[1], &v, sizeof v) != (ssize_t)sizeof v ||
        read(p.back[0], &got, sizeof got) != (ssize_t)sizeof got || got != v + 1)
      p2_fail(r, WEFT_ESYSTEM, "pipe ping-pong");
    r->times[i] = (double)(wb_now_ns() - t0) / 1e3;
  }
  close(p.to[1]);  /* EOF: the partner leaves its loop */
  close(p.back[0]);
  if (pid > 0 && reap(pid) != 0) p2_fail(r, WEFT_ESYSTEM, "pipe partner failed");
  return r->err ? 0 : wb_median(r->times, r->trips);
}

/* c-futex: one shared word. The parent makes it odd (2k+1) and wakes the
 * partner; the partner makes it even (2k+2) and wakes the parent; each
 * sleeps in FUTEX_WAIT while the word is not yet what it waits for. Not the
 * _PRIVATE operations: the word is shared between two address spaces.
 * c-spin: the same, but each side spins on the word (up to 200 us) before
 * it sleeps, and FUTEX_WAKE is only called for a sleeper: the floor of a
 * hand-off between two awake CPUs (measured on two CPUs only: spinning for
 * a process on the same CPU only delays it). */
typedef struct pingpong {
  _Atomic uint32_t word;
  _Atomic uint32_t stop;
  _Atomic uint32_t sleepers;  /* c-spin: sides in FUTEX_WAIT */
  bool spin;
} pingpong;

#define SPIN_NS 200000u

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

static void pp_wait(pingpong *s, uint32_t while_is) {
  if (s->spin) {
    uint64_t t0 = wb_now_ns();
    for (unsigned i = 1; atomic_load(&s->word) == while_is; i++) {
      cpu_relax();
      if (i % 64 == 0 && wb_now_ns() - t0 > SPIN_NS) break;
    }
    /* seq_cst with pp_wake's store + load: either the waker sees us
     * counted, or FUTEX_WAIT sees the new word */
    atomic_fetch_add(&s->sleepers, 1);
  }
  while (atomic_load(&s->word) == while_is)
    syscall(SYS_futex, &s->word, FUTEX_WAIT, while_is, NULL, NULL, 0);
  if (s->spin) atomic_fetch_sub(&s->sleepers, 1);
}

static void pp_wake(pingpong *s, uint32_t value) {
  atomic_store(&s->word, value);
  if (!s->spin || atomic_load(&s->sleepers) > 0)
    syscall(SYS_futex, &s->word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void futex_partner(void *arg) {
  pingpong *s = arg;
  for (uint32_t even = 0;; even += 2) {
    pp_wait(s, even);
    if (atomic_load(&s->stop)) return;
    pp_wake(s, even + 2);
  }
}

static double run_futex(void *arg) {
  p2_run *r = arg;
  pingpong *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
  if (s == MAP_FAILED) return p2_fail(r, -errno, "mmap"), 0;
  atomic_store(&s->word, 0);
  atomic_store(&s->stop, 0);
  atomic_store(&s->sleepers, 0);
  s->spin = r->spin;
  pid_t pid = start_partner(r->cpu[1], futex_partner, s);
  if (pid < 0) p2_fail(r, -errno, "fork");
  uint32_t w = 0;
  for (size_t i = 0; i < r->trips && !r->err; i++) {
    uint64_t t0 = wb_now_ns();
    pp_wake(s, w + 1);
    pp_wait(s, w + 1);
    r->times[i] = (double)(wb_now_ns() - t0) / 1e3;
    w += 2;
    if (atomic_load(&s->word) != w) p2_fail(r, WEFT_ESYSTEM, "futex ping-pong");
  }
  if (pid > 0) {
    atomic_store(&s->stop, 1);
    pp_wake(s, w + 1);
    if (reap(pid) != 0) p2_fail(r, WEFT_ESYSTEM, "futex partner failed");
  }
  munmap(s, sizeof *s);
  return r->err ? 0 : wb_median(r->times, r->trips);
}

/* Measures one floor with this process on CPU cpu0 and the partner on
 * cpu1; this process's own CPU mask is put back afterwards. */
static void p2_floor(bench_ctx *c, p2_run *r, const char *impl, wb_run_fn fn, int cpu0,
                     int cpu1) {
  bench_progress(c, "P2 %s: %zu round trips, processes on CPUs %d and %d", impl, r->trips,
                 cpu0, cpu1);
  cpu_set_t mask;
  int e = sched_getaffinity(0, sizeof mask, &mask) == 0 ? pin(cpu0) : -errno;
  r->cpu[0] = cpu0;
  r->cpu[1] = cpu1;
  r->what = impl;
  r->err = 0;
  if (e) {
    p2_fail(r, e, "sched_setaffinity");
    return;
  }
  double v = bench_median(c, fn, r, 1);
  sched_setaffinity(0, sizeof mask, &mask);
  if (!r->err) bench_emit(c, "P2", "pingpong", impl, cpu0 == cpu1 ? 1 : 2, v, "us", false,
                          NULL);
}

/* The floors on one CPU, then on two (when this process may use two). */
static int p2_floors(bench_ctx *c, p2_run *r) {
  cpu_set_t mask;
  int cpus[2], n = 0, failed = 0;
  if (sched_getaffinity(0, sizeof mask, &mask) != 0) return 1;
  for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
    if (CPU_ISSET(i, &mask)) cpus[n++] = i;
  for (int k = 1; k <= n; k++) {
    p2_floor(c, r, "c-pipe", run_pipe, cpus[0], cpus[k - 1]);
    failed |= r->err != 0;
    p2_floor(c, r, "c-futex", run_futex, cpus[0], cpus[k - 1]);
    failed |= r->err != 0;
  }
  if (n == 2) {
    r->spin = true;
    p2_floor(c, r, "c-spin", run_futex, cpus[0], cpus[1]);
    r->spin = false;
    failed |= r->err != 0;
  }
  return failed;
}

int bench_p2_latency(bench_ctx *c) {
  p2_run r = {.trips = c->size.p2_trips};
  r.times = malloc(r.trips * sizeof *r.times);
  if (!r.times) return 1;
  int failed = p2_weft(c, &r);
  r.err = 0;
  failed |= p2_floors(c, &r);
  free(r.times);
  bench_peer(c, "peer_python.py", "P2", c->size.p2_py_trips, c->threads);
  return failed;
}
