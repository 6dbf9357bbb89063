/* examples/unbalanced_profile.c — profiling an unbalanced workload, and
 * fixing it.
 *
 * The seeds' "balancing workload in parallel systems: distribute tasks
 * evenly across resources". A parallel loop over 64 items where four items
 * cost a hundred times more than the rest — and sit together at the start,
 * as in data sorted by size. Cut into one static chunk per worker, the
 * chunk holding the slow items decides the run time while the other workers
 * idle: the profile shows one worker busy and three waiting. Cut into chunks
 * of one item, idle workers take the remaining items as they go (dynamic
 * scheduling by work stealing) and the load evens out.
 *
 * For each run it prints what the chunking allows at best (from the work
 * each chunk carried: exact, machine-independent) and what was measured
 * (each worker's CPU time in the loop body, and the imbalance max/mean).
 * The whole program is traced (weft_trace_start); the trace is written to
 * the file named on the command line (default unbalanced_profile.json):
 *
 *   ./unbalanced_profile
 *   weft trace report unbalanced_profile.json -o unbalanced.html
 *
 * shows the two runs as spans on the main thread, and on each worker's
 * timeline the slow and fast items. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <weft/weft.h>

enum { ITEMS = 64, SLOW_ITEMS = 4, SLOW_UNITS = 100, WORKERS = 4 };
#define UNIT_ITERATIONS 40000u /* one unit of work: ~30-50 us of arithmetic */

typedef struct run {
  uint64_t busy_ns[WORKERS]; /* CPU time in the body, per worker (atomics) */
  uint64_t heaviest;         /* units of the heaviest chunk (atomic max) */
  uint64_t sink;             /* keeps the arithmetic from being optimised out */
} run;

static unsigned units_of(size_t i) {
  return i < SLOW_ITEMS ? SLOW_UNITS : 1;
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The item's work: an LCG, a fixed number of steps per unit. */
static uint64_t work(size_t i) {
  uint64_t x = i + 1;
  for (unsigned k = 0; k < units_of(i) * UNIT_ITERATIONS; k++)
    x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x;
}

static int body(size_t begin, size_t end, void *ctx) {
  run *r = ctx;
  uint64_t t0 = thread_cpu_ns(), units = 0, acc = 0;
  for (size_t i = begin; i < end; i++) {
    weft_trace_begin(units_of(i) > 1 ? "slow item" : "fast item");
    acc += work(i);
    weft_trace_end();
    units += units_of(i);
  }
  uint64_t cur = __atomic_load_n(&r->heaviest, __ATOMIC_RELAXED);
  while (units > cur &&
         !__atomic_compare_exchange_n(&r->heaviest, &cur, units, true, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED)) {
  }
  __atomic_fetch_add(&r->sink, acc, __ATOMIC_RELAXED);
  int w = weft_pool_worker_index();
  if (w >= 0 && w < WORKERS)
    __atomic_fetch_add(&r->busy_ns[w], thread_cpu_ns() - t0, __ATOMIC_RELAXED);
  return 0;
}

static unsigned total_units(void) {
  unsigned t = 0;
  for (size_t i = 0; i < ITEMS; i++) t += units_of(i);
  return t;
}

/* Runs the loop with one grain and prints its figures. */
static int profile(weft_pool *pool, const char *label, size_t grain) {
  run r;
  memset(&r, 0, sizeof r);
  weft_trace_begin(label);
  uint64_t t0 = weft_now_ns();
  int rc = weft_parallel_for(pool, 0, ITEMS, grain, body, &r);
  uint64_t wall = weft_now_ns() - t0;
  weft_trace_end();
  if (rc) return rc;
  /* At best, the run takes as long as its heaviest chunk, and no less than
   * an even share of the total: the bound a profile compares against. */
  double total = total_units(), even = total / WORKERS;
  double longest = (double)r.heaviest > even ? (double)r.heaviest : even;
  printf("%s (grain %zu): heaviest chunk %llu units -> at most %.2fx faster than one worker\n",
         label, grain, (unsigned long long)r.heaviest, total / longest);
  double max = 0, sum = 0;
  printf("  measured: busy ms per worker [");
  for (int w = 0; w < WORKERS; w++) {
    double ms = (double)r.busy_ns[w] / 1e6;
    printf("%s%.1f", w ? " " : "", ms);
    sum += ms;
    if (ms > max) max = ms;
  }
  printf("], imbalance %.2fx (max/mean), wall %.1f ms\n", sum > 0 ? max / (sum / WORKERS) : 0,
         (double)wall / 1e6);
  return 0;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "unbalanced_profile.json";
  int rc = weft_trace_start();
  weft_pool *pool = NULL;
  if (rc == 0) rc = weft_pool_create(&pool, &(weft_pool_options){.threads = WORKERS});
  if (rc) {
    fprintf(stderr, "unbalanced_profile: %s\n", weft_strerror(rc));
    return 1;
  }
  printf("%d items: %d slow (%d units each), %d fast (1 unit each), %u units in all; %d workers\n",
         ITEMS, SLOW_ITEMS, SLOW_UNITS, ITEMS - SLOW_ITEMS, total_units(), WORKERS);
  /* The problem: one static chunk per worker. The fix: chunks of one item,
   * taken by whichever worker is free. */
  rc = profile(pool, "static chunks", ITEMS / WORKERS);
  if (rc == 0) rc = profile(pool, "dynamic chunks", 1);
  weft_pool_destroy(pool);
  weft_trace_stop();
  if (rc == 0) rc = weft_trace_write(path);
  if (rc) {
    fprintf(stderr, "unbalanced_profile: %s\n", weft_strerror(rc));
    return 1;
  }
  printf("trace written to %s (weft trace report %s -o unbalanced.html)\n", path, path);
  return 0;
}
