/* src/cli/tour_parallel.c — tour steps for fork-join and data parallelism
 * ("break the problem into chunks, execute them in parallel, reassemble"),
 * each timed against the same work done serially (best of three runs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli/tour.h"

/* ---- fork-join: naive fib with a task group per split ---- */

enum { FIB_N = 35, FIB_CUTOFF = 22 };

static uint64_t fib_serial(int n) {
  return n < 2 ? (uint64_t)n : fib_serial(n - 1) + fib_serial(n - 2);
}

typedef struct fib_job { int n; uint64_t r; } fib_job;

static int fib_task(void *arg) {
  fib_job *j = arg;
  if (j->n <= FIB_CUTOFF) {   /* below the cutoff a task costs more than it saves */
    j->r = fib_serial(j->n);
    return 0;
  }
  fib_job a = {j->n - 1, 0}, b = {j->n - 2, 0};
  weft_group g;
  weft_group_init(&g, NULL);
  int rc = weft_group_spawn(&g, fib_task, &a);
  int brc = fib_task(&b);     /* the parent does the other half itself */
  int wrc = weft_group_wait(&g);
  weft_group_destroy(&g);
  j->r = a.r + b.r;
  return rc ? rc : brc ? brc : wrc;
}

static int fib_parallel_run(void *ctx) {
  return weft_apply(NULL, fib_task, ctx);
}

static int fib_serial_run(void *ctx) {
  fib_job *j = ctx;
  j->r = fib_serial(j->n);
  return 0;
}

int tour_fork_join(tour_out *out) {
  fib_job par = {FIB_N, 0}, ser = {FIB_N, 0};
  int rc = tour_time_best(fib_parallel_run, &par, 3, &out->ns);
  if (!rc) rc = tour_time_best(fib_serial_run, &ser, 3, &out->serial_ns);
  tour_result(out, "fib(%d) = %llu %s", FIB_N, (unsigned long long)par.r,
              par.r == ser.r ? "ok" : "WRONG");
  return rc ? rc : par.r != ser.r;
}

/* ---- parallel_for: out[i] = sin(i / 1000) over 2M elements ---- */

enum { FOR_N = 2 << 20 };

static void fill_sin(double *out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = sin((double)i * 1e-3);
}

static int sin_body(size_t begin, size_t end, void *ctx) {
  fill_sin(ctx, begin, end);
  return 0;
}

static int for_parallel_run(void *ctx) {
  return weft_parallel_for(NULL, 0, FOR_N, 0, sin_body, ctx);
}

static int for_serial_run(void *ctx) {
  fill_sin(ctx, 0, FOR_N);
  return 0;
}

int tour_parallel_for(tour_out *out) {
  double *par = calloc(FOR_N, sizeof *par), *ser = calloc(FOR_N, sizeof *ser);
  int rc = par && ser ? 0 : WEFT_ENOMEM;
  if (!rc) rc = tour_time_best(for_parallel_run, par, 3, &out->ns);
  if (!rc) rc = tour_time_best(for_serial_run, ser, 3, &out->serial_ns);
  /* The same function on the same index: results must be bit-identical. */
  int same = !rc && memcmp(par, ser, FOR_N * sizeof *par) == 0;
  tour_result(out, "%dM values, %s serial", FOR_N >> 20, same ? "identical to" : "DIFFER from");
  free(par);
  free(ser);
  return rc ? rc : !same;
}

/* ---- parallel_reduce: an exact integer sum over 4M hashed values ---- */

enum { RED_N = 4 << 20 };

static uint64_t hash_sum(size_t begin, size_t end) {
  uint64_t s = 0;
  for (size_t i = begin; i < end; i++) s += ((uint64_t)i * 2654435761u) % 1000003u;
  return s;
}

static int red_body(size_t begin, size_t end, void *acc, void *ctx) {
  (void)ctx;
  *(uint64_t *)acc += hash_sum(begin, end);
  return 0;
}

static void red_join(void *left, const void *right, void *ctx) {
  (void)ctx;
  *(uint64_t *)left += *(const uint64_t *)right;
}

static int red_parallel_run(void *ctx) {
  const uint64_t zero = 0;
  return weft_parallel_reduce(NULL, 0, RED_N, 0, &zero, sizeof zero, red_body, red_join,
                              NULL, ctx);
}

static int red_serial_run(void *ctx) {
  *(uint64_t *)ctx = hash_sum(0, RED_N);
  return 0;
}

int tour_parallel_reduce(tour_out *out) {
  uint64_t par = 0, ser = 0;
  int rc = tour_time_best(red_parallel_run, &par, 3, &out->ns);
  if (!rc) rc = tour_time_best(red_serial_run, &ser, 3, &out->serial_ns);
  tour_result(out, "sum = %llu %s", (unsigned long long)par, par == ser ? "ok" : "WRONG");
  return rc ? rc : par != ser;
}
