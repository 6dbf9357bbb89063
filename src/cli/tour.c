/* src/cli/tour.c — `weft tour`: the showcase `make run` runs.
 *
 * Runs every module on built-in data, one row per concept of the seeds:
 * what ran, its (checked) result, its time, and where a serial version of
 * the same work makes sense, the serial time and the speedup. Exits 1 if
 * any step's result is wrong. Everything together stays well under 5 s. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/tour.h"
#include "cli/tour_trace.h"

static const tour_step steps[] = {
  {"threading.Thread + Lock",      "weft_thread_create, weft_mutex", tour_threads_lock},
  {"Thread subclass, divide work", "struct + run fn per thread",     tour_thread_objects},
  {"Semaphore limits concurrency", "weft_sem",                       tour_semaphore},
  {"Barrier (relay)",              "weft_barrier",                   tour_barrier},
  {"Event",                        "weft_event",                     tour_event},
  {"Condition",                    "weft_cond + weft_mutex",         tour_condition},
  {"queue.Queue, message passing", "weft_chan",                      tour_channel},
  {"Pool(5).map(square, ds, 3)",   "weft_pool_create, weft_map_run", tour_pool_map},
  {"Pool(initializer=...)",        "weft_pool_options.init",         tour_pool_initializer},
  {"Pool.starmap + Pool.apply",    "weft_map_run, weft_apply",       tour_starmap_apply},
  {"map_async, imap_unordered",    "weft_map_async, weft_map_stream", tour_async_family},
  {"futures submit + as_completed", "weft_submit, weft_as_completed", tour_futures},
  {"Executor.map inline vs threads", "weft_executor_map",            tour_executor},
  {"fork-join fib(35)",            "weft_group_spawn/wait",          tour_fork_join},
  {"parallel for, 2M sin()",       "weft_parallel_for",              tour_parallel_for},
  {"parallel reduce, 4M hashes",   "weft_parallel_reduce",           tour_parallel_reduce},
  {"subprocess.run, 40 programs",  "weft_subprocess_run_many",       tour_subprocess},
  {"Process(target=...).start/join", "weft_process_start/join",      tour_process_objects},
  {"Pool(2).map over processes",   "weft_ppool_map",                 tour_process_pool_map},
  {"pool survives a worker crash", "weft_ppool_submit, ECRASHED",    tour_crash_proof_pool},
  {"asyncio.run + gather",         "weft_aio_run, _spawn, _gather",  tour_aio_gather},
  {"wait_for, asyncio.timeout",    "weft_aio_await_timed, scopes",   tour_aio_timeouts},
  {"asyncio.TaskGroup",            "weft_aio_group_*",               tour_aio_group},
  {"asyncio.Queue + join",         "weft_aio_queue_*",               tour_aio_queue},
  {"open_connection/start_server", "weft_aio_tcp_connect/_listen",   tour_aio_streams},
  {"create_subprocess_exec",       "weft_aio_process_spawn",         tour_aio_subprocess},
  {"asyncio.to_thread",            "weft_aio_to_thread",             tour_aio_to_thread},
  {"a server on every core",       "weft_aio_serve_start",           tour_aio_serve},
  {"dask.delayed, lazy graph",     "weft_graph_add/_compute",        tour_graph},
};
#define NSTEPS (sizeof steps / sizeof steps[0])

/* ---- helpers shared with the steps ---- */

void tour_result(tour_out *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->result, sizeof out->result, fmt, ap);
  va_end(ap);
}

void tour_note(tour_out *out, const char *fmt, ...) {
  if (out->nnotes >= TOUR_MAX_NOTES) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->notes[out->nnotes++], sizeof out->notes[0], fmt, ap);
  va_end(ap);
}

int tour_run_threads(unsigned n, weft_thread_fn fn, void *args, size_t arg_size) {
  weft_thread *t[64];
  unsigned started = 0;
  int rc = 0;
  if (n > 64) n = 64;
  for (; started < n; started++) {
    char name[16];
    snprintf(name, sizeof name, "tour-%u", started);
    rc = weft_thread_create(&t[started], name, fn, (char *)args + started * arg_size);
    if (rc) break;
  }
  for (unsigned i = 0; i < started; i++) {
    int res = 0, jr = weft_thread_join(t[i], &res);
    if (!rc) rc = jr ? jr : res;
  }
  return rc;
}

int tour_time_best(int (*fn)(void *ctx), void *ctx, int reps, uint64_t *best_ns) {
  *best_ns = UINT64_MAX;
  for (int i = 0; i < reps; i++) {
    uint64_t t0 = weft_now_ns();
    int rc = fn(ctx);
    uint64_t dt = weft_now_ns() - t0;
    if (rc) return rc;
    if (dt < *best_ns) *best_ns = dt;
  }
  return 0;
}

unsigned tour_threads(void) {
  unsigned n = weft_cpu_count();
  return n < 2 ? 2 : n;
}

/* ---- the table ---- */

/* Display columns of a UTF-8 string: "µs" and "×" are two bytes, one column. */
static int columns(const char *s) {
  int n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* Prints s padded (or cut, at a character boundary) to exactly width columns. */
static void cell(const char *s, int width, bool right) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  while (columns(buf) > width) {
    size_t len = strlen(buf);
    while (len > 0 && ((unsigned char)buf[len - 1] & 0xC0) == 0x80) len--;
    buf[len ? len - 1 : 0] = '\0';
  }
  int pad = width - columns(buf);
  printf("%*s%s%*s ", right ? pad : 0, "", buf, right ? 0 : pad, "");
}

static void format_duration(uint64_t ns, char *buf, size_t len) {
  if (ns < 10000) snprintf(buf, len, "%.2f µs", (double)ns / 1e3);
  else if (ns < 1000000) snprintf(buf, len, "%.0f µs", (double)ns / 1e3);
  else if (ns < 1000000000) snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
  else snprintf(buf, len, "%.2f s", (double)ns / 1e9);
}

enum { W_NUM = 2, W_CONCEPT = 30, W_API = 31, W_RESULT = 38, W_TIME = 9, W_SPEEDUP = 7 };

static void print_header(void) {
  cell("#", W_NUM, true);
  cell("seed concept", W_CONCEPT, false);
  cell("weft", W_API, false);
  cell("result", W_RESULT, false);
  cell("time", W_TIME, true);
  cell("serial", W_TIME, true);
  cell("speedup", W_SPEEDUP, true);
  printf("\n");
  int width = W_NUM + W_CONCEPT + W_API + W_RESULT + 2 * W_TIME + W_SPEEDUP + 6;
  printf("%.*s\n", width, "------------------------------------------------------------"
         "------------------------------------------------------------------------------");
}

static void print_row(size_t i, const tour_step *s, const tour_out *o, int rc) {
  char num[8], t[32], st[32] = "—", sp[32] = "—";
  snprintf(num, sizeof num, "%zu", i + 1);
  format_duration(o->ns, t, sizeof t);
  if (o->serial_ns && o->ns) {
    format_duration(o->serial_ns, st, sizeof st);
    snprintf(sp, sizeof sp, "%.2f×", (double)o->serial_ns / (double)o->ns);
  }
  cell(num, W_NUM, true);
  cell(s->concept, W_CONCEPT, false);
  cell(s->api, W_API, false);
  cell(o->result, W_RESULT, false);
  cell(t, W_TIME, true);
  cell(st, W_TIME, true);
  cell(sp, W_SPEEDUP, true);
  printf("%s\n", rc ? " FAILED" : "");
  for (int n = 0; n < o->nnotes; n++) printf("     %s\n", o->notes[n]);
}

static void print_later(void) {
  printf("\nspeedup = serial time / weft time, each the best of 3 runs; with %u usable\n"
         "CPUs it is at most %u, and less on a machine that other work keeps busy.\n",
         weft_cpu_count(), weft_cpu_count());
  printf("\ncoming with later issues: Dask arrays/dataframes (array.h, frame.h),\n"
         "load balancing (balance.h).\n");
}

int weft_cli_tour(int argc, char **argv) {
  if (argc > 1) {
    fprintf(stderr, "weft tour: unexpected argument '%s'\nusage: weft tour\n", argv[1]);
    return 2;
  }
  uint64_t t0 = weft_now_ns();
  bool traced = tour_trace_begin(); /* before the pool: its workers are traced from the start */
  /* Start the default pool first so no step pays for creating its threads. */
  weft_pool *def = weft_pool_default();
  printf("weft %s tour: %u CPUs usable, default pool of %u workers (started in %.2f ms)\n\n",
         weft_version_string(), weft_cpu_count(), def ? weft_pool_size(def) : 0,
         (double)(weft_now_ns() - t0) / 1e6);
  print_header();
  int failed = 0;
  for (size_t i = 0; i < NSTEPS; i++) {
    tour_out out;
    memset(&out, 0, sizeof out);
    int rc = steps[i].run(&out);
    print_row(i, &steps[i], &out, rc);
    fflush(stdout);
    failed += rc != 0;
  }
  print_later();
  uint64_t total = weft_now_ns() - t0; /* the steps, not the report written next */
  tour_trace_finish(traced);
  printf("\n%zu of %zu steps correct, total %.2f ms\n", NSTEPS - (size_t)failed, NSTEPS,
         (double)total / 1e6);
  return failed ? 1 : 0;
}
