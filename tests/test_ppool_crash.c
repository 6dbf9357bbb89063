/* tests/test_ppool_crash.c — the process pool under a storm of crashes:
 * a large map_all whose tasks segfault, abort() or _exit(3) at random
 * moments while a thread SIGKILLs random workers from outside. Every task
 * must end exactly once — a result, or WEFT_ECRASHED naming what happened —
 * and the pool must carry on, with nothing left behind after destroy.
 *
 * Each item counts its runs (and its completions) in shared memory, so the
 * test can tell "ran twice" or "reported done but never ran" apart from
 * legitimate outcomes. Which items crash, and how, is a hash of the index:
 * the test knows which ones must fail. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
/* Forks from a threaded program; deliberate crashes stay plain signals. */
#define PT_TSAN_OPTIONS "die_after_fork=0:handle_segv=0:handle_abort=0"
#include "ppool_testutil.h"

#ifdef WEFT_ASAN
/* Let a deliberate segfault be a segfault, not an ASan report and exit 1. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "handle_segv=0:handle_abort=0";
}
#endif

enum action { RUN_OK, DO_SEGV, DO_ABORT, DO_EXIT3 };

static uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

/* About 1 in 110 items dies, a third each way. */
static enum action action_of(uint32_t i) {
  uint32_t h = mix(i * 2654435761u + 17) % 1000;
  return h < 3 ? DO_SEGV : h < 6 ? DO_ABORT : h < 9 ? DO_EXIT3 : RUN_OK;
}

/* Spins for up to ~100 µs so that deaths land at random moments. */
static void wander(uint32_t i) {
  uint32_t spins = mix(i + 99) % 20000;
  for (volatile uint32_t k = 0; k < spins; k++) {
  }
}

static void die(enum action a) {
  if (a == DO_SEGV) raise(SIGSEGV);
  if (a == DO_ABORT) abort();
  _exit(3);
}

/* counters: runs[0..n), then done[n..2n) */
typedef struct crash_ctx {
  char shm[48];
  uint32_t n;
} crash_ctx;

static int m_crashy(const void *in, void *out, void *ctx) {
  const crash_ctx *c = ctx;
  uint32_t i = *(const uint32_t *)in;
  _Atomic uint32_t *cnt = pt_worker_counters(c->shm);
  if (!cnt) return weft_task_fail(WEFT_ENOENT, "cannot open %s", c->shm);
  atomic_fetch_add(&cnt[i], 1);
  enum action a = action_of(i);
  if (a != RUN_OK || i % 16 == 0) wander(i);
  if (a != RUN_OK) die(a);
  *(uint64_t *)out = (uint64_t)i * 3 + 1;
  atomic_fetch_add(&cnt[c->n + i], 1);
  return 0;
}

static int t_crashy(const void *arg, size_t size) {
  (void)size;
  uint32_t i = *(const uint32_t *)arg;
  wander(i);
  enum action a = action_of(i);
  if (a != RUN_OK) die(a);
  return 0;
}

static int m_clean(const void *in, void *out, void *ctx) {
  (void)ctx;
  *(uint64_t *)out = *(const uint32_t *)in + 5u;
  return 0;
}

/* ---- the outside killer ---- */

typedef struct killer {
  weft_ppool *pool;
  atomic_bool stop;
  atomic_uint kills;
  uint32_t seed;
} killer;

/* True if pid is alive and its parent is this process or a child of it
 * (the fork server): never signal a pid that was recycled elsewhere. */
static bool ours(pid_t pid) {
  char name[24], st;
  long ppid, pppid;
  snprintf(name, sizeof name, "%d", (int)pid);
  if (!pt_proc_stat(name, &st, &ppid) || st == 'Z') return false;
  if (ppid == (long)getpid()) return true;
  snprintf(name, sizeof name, "%ld", ppid);
  return pt_proc_stat(name, &st, &pppid) && pppid == (long)getpid();
}

static void *kill_loop(void *arg) {
  killer *k = arg;
  while (!atomic_load(&k->stop)) {
    k->seed = mix(k->seed + 1);
    usleep(3000 + k->seed % 12000);
    pid_t pids[16];
    size_t n = 0;
    if (weft_ppool_pids(k->pool, pids, 16, &n) != 0 || n == 0) continue;
    pid_t victim = pids[k->seed % n];
    if (ours(victim) && kill(victim, SIGKILL) == 0) atomic_fetch_add(&k->kills, 1);
  }
  return NULL;
}

/* ---- checks ---- */

typedef struct tally {
  size_t ok, crashed, planned, unplanned_failures;
} tally;

/* Every item ended exactly once with a consistent outcome. */
static tally check_items(uint32_t n, const int *codes, const uint64_t *out,
                         _Atomic uint32_t *cnt, size_t chunksize) {
  tally t = {0};
  for (uint32_t i = 0; i < n; i++) {
    uint32_t runs = atomic_load(&cnt[i]), done = atomic_load(&cnt[n + i]);
    bool planned = action_of(i) != RUN_OK;
    t.planned += planned;
    if (runs > 1) fail_msg("item %u ran %u times", i, runs);
    if (codes[i] == 0) {
      t.ok++;
      if (planned || runs != 1 || done != 1 || out[i] != (uint64_t)i * 3 + 1)
        fail_msg("item %u: ok but runs %u done %u out %lu", i, runs, done, (unsigned long)out[i]);
    } else if (codes[i] == WEFT_ECRASHED) {
      t.crashed++;
      if (!planned) t.unplanned_failures++;
    } else {
      fail_msg("item %u ended with %s", i, weft_err_name(codes[i]));
    }
    /* with one item per task, only the item itself can sink its task */
    if (chunksize == 1 && planned && codes[i] != WEFT_ECRASHED) fail_msg("item %u survived", i);
  }
  return t;
}

static void storm(weft_ppool *p, uint32_t n, size_t chunksize) {
  pt_shared sh;
  _Atomic uint32_t *cnt = pt_shared_open(&sh, 2 * (size_t)n);
  crash_ctx ctx = {.n = n};
  snprintf(ctx.shm, sizeof ctx.shm, "%s", sh.name);
  uint32_t *in = malloc(n * sizeof *in);
  uint64_t *out = calloc(n, sizeof *out);
  int *codes = malloc(n * sizeof *codes);
  for (uint32_t i = 0; i < n; i++) in[i] = i, codes[i] = 12345;

  killer k = {.pool = p, .seed = n};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, kill_loop, &k), 0);
  weft_map m = {.fn = m_crashy, .ctx = &ctx, .ctx_size = sizeof ctx, .in = in,
                .in_size = sizeof *in, .out = out, .out_size = sizeof *out, .n = n,
                .chunksize = chunksize};
  assert_weft(weft_ppool_map_all(p, &m, codes), WEFT_ECRASHED);
  atomic_store(&k.stop, true);
  pthread_join(th, NULL);
  /* the map reports one failed item and why */
  assert_true(m.failed_index < n);
  assert_int_not_equal(codes[m.failed_index], 0);
  if (!strstr(m.message, "signal") && !strstr(m.message, "exit status"))
    fail_msg("map message: \"%s\"", m.message);

  tally t = check_items(n, codes, out, cnt, chunksize);
  unsigned kills = atomic_load(&k.kills);
  print_message("chunksize %zu: %u items, %zu ok, %zu crashed (%zu planned to), %u outside kills\n",
                chunksize, n, t.ok, t.crashed, t.planned, kills);
  assert_int_equal(t.ok + t.crashed, n);
  assert_true(t.crashed >= (chunksize == 1 ? t.planned : 1));
  if (chunksize == 1) assert_true(t.unplanned_failures <= kills);
  free(in), free(out), free(codes);
  pt_shared_close(&sh);
}

static void test_crash_storm(void **state) {
  (void)state;
  pt_leaks leaks;
  weft_ppool *warm; /* start the fork server before the baseline */
  assert_ok(weft_ppool_create(&warm, &(weft_ppool_options){.processes = 1}));
  weft_ppool_destroy(warm);
  pt_leaks_begin(&leaks);

  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2, .name = "storm"}));
  uint32_t n = (uint32_t)scaled(100000, 3000);
  storm(p, n, 1);
  storm(p, n / 4, 16);

  /* the pool carries on: a clean map */
  uint32_t *in = malloc(n * sizeof *in);
  uint64_t *out = calloc(n, sizeof *out);
  for (uint32_t i = 0; i < n; i++) in[i] = i;
  weft_map m = {.fn = m_clean, .in = in, .in_size = sizeof *in, .out = out,
                .out_size = sizeof *out, .n = n};
  assert_ok(weft_ppool_map(p, &m));
  for (uint32_t i = 0; i < n; i++) assert_int_equal(out[i], i + 5u);
  free(in), free(out);

  weft_ppool_stats st;
  assert_ok(weft_ppool_stats_get(p, &st));
  print_message("stats: %lu tasks, %lu crashes, %lu workers started\n",
                (unsigned long)st.tasks_done, (unsigned long)st.crashes,
                (unsigned long)st.workers_started);
  assert_true(st.crashes > 0);
  assert_true(st.workers_started > st.crashes);
  weft_ppool_destroy(p);
  pt_leaks_end(&leaks);
}

static void count_done(weft_future *f, void *arg) {
  (void)f;
  atomic_fetch_add((_Atomic uint32_t *)arg, 1);
}

/* Submitted tasks: each crash's message names the signal or exit status. */
static void test_crash_messages(void **state) {
  (void)state;
  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2}));
  uint32_t n = 3000; /* enough for every kind of death (about 9 each) */
  weft_future **fs = malloc(n * sizeof *fs);
  _Atomic uint32_t *finished = calloc(n, sizeof *finished);
  for (uint32_t i = 0; i < n; i++) {
    assert_ok(weft_ppool_submit(p, t_crashy, &i, sizeof i, NULL, &fs[i]));
    assert_ok(weft_future_on_done(fs[i], count_done, (void *)&finished[i]));
  }
  size_t seen[4] = {0};
  for (uint32_t i = 0; i < n; i++) {
    int rc = weft_future_wait(fs[i]);
    enum action a = action_of(i);
    const char *msg = weft_future_message(fs[i]);
    seen[a]++;
    if (a == RUN_OK) {
      assert_weft(rc, 0);
    } else {
      assert_weft(rc, WEFT_ECRASHED);
      bool named = a == DO_SEGV    ? strstr(msg, "signal 11") || strstr(msg, "SIGSEGV")
                   : a == DO_ABORT ? strstr(msg, "signal 6") || strstr(msg, "SIGABRT")
                                   : strstr(msg, "exit status 3") != NULL;
      if (!named) fail_msg("item %u (action %d): message \"%s\"", i, (int)a, msg);
    }
    weft_future_release(fs[i]);
  }
  assert_true(seen[DO_SEGV] && seen[DO_ABORT] && seen[DO_EXIT3]);
  /* every future finished exactly once (callbacks may run just after the
   * waiters are woken, so give the last ones a moment) */
  for (int tries = 0; tries < 1000; tries++) {
    uint32_t i = 0;
    while (i < n && atomic_load(&finished[i]) == 1) i++;
    if (i == n) break;
    usleep(10 * 1000);
  }
  for (uint32_t i = 0; i < n; i++)
    if (atomic_load(&finished[i]) != 1) fail_msg("future %u finished %u times", i, finished[i]);
  free(fs);
  free((void *)finished);
  weft_ppool_stats st;
  assert_ok(weft_ppool_stats_get(p, &st));
  assert_int_equal(st.crashes, seen[DO_SEGV] + seen[DO_ABORT] + seen[DO_EXIT3]);
  assert_int_equal(st.tasks_done, n);
  weft_ppool_destroy(p);
  assert_int_equal(pt_zombie_count(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crash_storm),
    cmocka_unit_test(test_crash_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
