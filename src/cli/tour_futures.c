/* src/cli/tour_futures.c — tour steps for concurrent.futures: submit +
 * as_completed, and Executor.map through the inline (serial) and threads
 * executors — one argument changes where the work runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/tour.h"

/* ---- submit + as_completed: count primes in ranges of uneven cost ---- */

enum { FUT_TASKS = 16, FUT_RANGE = 10000 };

static int is_prime(uint32_t n) {
  if (n < 2) return 0;
  if (n % 2 == 0) return n == 2;
  for (uint32_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return 0;
  return 1;
}

static uint32_t count_primes(uint32_t lo, uint32_t hi) {
  uint32_t c = 0;
  for (uint32_t n = lo; n < hi; n++) c += (uint32_t)is_prime(n);
  return c;
}

typedef struct prime_job { uint32_t lo, hi, count; } prime_job;

static int prime_task(void *arg) {
  prime_job *j = arg;
  j->count = count_primes(j->lo, j->hi);
  return 0;
}

/* Submits every job, then consumes them in completion order. */
static int submit_all(prime_job *jobs, weft_future **fs, uint32_t *total, char *order,
                      size_t order_len) {
  for (int i = 0; i < FUT_TASKS; i++) {
    int rc = weft_submit(NULL, prime_task, &jobs[i], &fs[i]);
    if (rc) {
      for (int k = 0; k < i; k++) weft_future_wait(fs[k]), weft_future_release(fs[k]);
      return rc;
    }
  }
  weft_as_completed *it = NULL;
  int rc = weft_as_completed_create(&it, fs, FUT_TASKS);
  weft_future *f;
  size_t idx, used = 0;
  while (!rc && (rc = weft_as_completed_next(it, WEFT_FOREVER, &f, &idx)) == 0) {
    if ((rc = weft_future_error(f))) break;
    *total += jobs[idx].count;
    used += (size_t)snprintf(order + used, used < order_len ? order_len - used : 0, " %zu", idx);
  }
  if (rc == WEFT_EEXHAUSTED) rc = 0;
  if (it) weft_as_completed_destroy(it);
  weft_future_wait_all(fs, FUT_TASKS, WEFT_FOREVER);
  for (int i = 0; i < FUT_TASKS; i++) weft_future_release(fs[i]);
  return rc;
}

typedef struct futures_run {
  prime_job jobs[FUT_TASKS];
  weft_future *fs[FUT_TASKS];
  uint32_t total, serial;
  char order[128];
} futures_run;

static int futures_once(void *ctx) {
  futures_run *r = ctx;
  for (int i = 0; i < FUT_TASKS; i++)
    r->jobs[i] = (prime_job){(uint32_t)i * FUT_RANGE, (uint32_t)(i + 1) * FUT_RANGE, 0};
  r->total = 0;
  r->order[0] = '\0';
  return submit_all(r->jobs, r->fs, &r->total, r->order, sizeof r->order);
}

static int futures_serial(void *ctx) {
  futures_run *r = ctx;
  r->serial = count_primes(0, FUT_TASKS * FUT_RANGE);
  return 0;
}

int tour_futures(tour_out *out) {
  futures_run r;
  int rc = tour_time_best(futures_once, &r, 3, &out->ns);
  if (!rc) rc = tour_time_best(futures_serial, &r, 3, &out->serial_ns);
  tour_result(out, "%d futures: %u primes < %d %s", FUT_TASKS, r.total, FUT_TASKS * FUT_RANGE,
              !rc && r.total == r.serial ? "ok" : "WRONG");
  tour_note(out, "as_completed order (last run):%s", r.order);
  return rc ? rc : r.total != r.serial;
}

/* ---- Executor.map: the same map through the inline and threads executors ---- */

enum { EX_N = 100000 };

/* Steps of the Collatz sequence: cheap, uneven work per item. */
static int collatz(const void *in, void *out, void *ctx) {
  (void)ctx;
  uint64_t n = *(const uint32_t *)in + 1;
  uint32_t steps = 0;
  for (; n != 1; steps++) n = n % 2 ? 3 * n + 1 : n / 2;
  *(uint32_t *)out = steps;
  return 0;
}

/* Runs the map through ex, best of three; the time in *ns. */
static int map_through(weft_executor *ex, const uint32_t *in, uint32_t *res, uint64_t *ns) {
  *ns = UINT64_MAX;
  for (int rep = 0; rep < 3; rep++) {
    weft_map m = {.fn = collatz, .in = in, .in_size = sizeof *in, .out = res,
                  .out_size = sizeof *res, .n = EX_N};
    uint64_t t0 = weft_now_ns();
    int rc = weft_executor_map(ex, &m);
    uint64_t dt = weft_now_ns() - t0;
    if (rc) return rc;
    if (dt < *ns) *ns = dt;
  }
  return 0;
}

static int run_both(uint32_t *in, uint32_t *serial, uint32_t *par, tour_out *out) {
  weft_executor *inl = NULL, *thr = NULL;
  int rc = weft_executor_inline(&inl);
  if (!rc) rc = weft_executor_threads(&thr, NULL);
  if (!rc) rc = map_through(inl, in, serial, &out->serial_ns);
  if (!rc) rc = map_through(thr, in, par, &out->ns);
  if (!rc)
    tour_result(out, "%d items, %s == %s: %s", EX_N, weft_executor_kind(inl),
                weft_executor_kind(thr), memcmp(serial, par, EX_N * sizeof *par) ? "NO" : "yes");
  else
    tour_result(out, "executor: %s", weft_strerror(rc));
  if (thr) weft_executor_destroy(thr);
  if (inl) weft_executor_destroy(inl);
  return rc ? rc : memcmp(serial, par, EX_N * sizeof *par) != 0;
}

int tour_executor(tour_out *out) {
  uint32_t *in = malloc(3 * EX_N * sizeof *in);
  if (!in) return WEFT_ENOMEM;
  for (uint32_t i = 0; i < EX_N; i++) in[i] = i;
  memset(in + EX_N, 0, 2 * EX_N * sizeof *in);
  int rc = run_both(in, in + EX_N, in + 2 * EX_N, out);
  free(in);
  return rc;
}
