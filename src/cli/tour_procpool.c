/* src/cli/tour_procpool.c — tour steps for processes: Process objects that
 * share a counter, Pool(2).map over worker processes, and the thing Python
 * cannot do — a process pool that survives a worker crashing. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/tour.h"

/* ---- multiprocessing.Process + Value + Lock ---- */

enum { PROC_CHILDREN = 4, PROC_INCREMENTS = 2000 };

/* Like a Process subclass: the struct is the object's state, proc_sum its
 * run(). Each child sums its share and reports it (mod 251) as its exit
 * code; the parent checks the total. */
typedef struct proc_job {
  unsigned first, count;   /* sums first .. first+count-1, mod 251 */
} proc_job;

static int proc_sum(const void *arg, size_t size) {
  if (size != sizeof(proc_job)) return 255;
  const proc_job *j = arg;
  unsigned long s = 0;
  for (unsigned i = 0; i < j->count; i++) s += j->first + i;
  return (int)(s % 251);
}

int tour_process_objects(tour_out *out) {
  weft_process *p[PROC_CHILDREN] = {0};
  proc_job jobs[PROC_CHILDREN];
  int rc = 0, want = 0, got = 0;
  uint64_t t0 = weft_now_ns();
  for (int i = 0; i < PROC_CHILDREN && !rc; i++) {
    jobs[i] = (proc_job){(unsigned)i * PROC_INCREMENTS, PROC_INCREMENTS};
    want += proc_sum(&jobs[i], sizeof jobs[i]);
    rc = weft_process_start(&p[i], proc_sum, &jobs[i], sizeof jobs[i], NULL);
  }
  for (int i = 0; i < PROC_CHILDREN; i++) {
    if (!p[i]) continue;
    int jrc = weft_process_join(p[i], WEFT_FOREVER), code = -1;
    if (!rc) rc = jrc;
    if (!rc) rc = weft_process_exitcode(p[i], &code, NULL);
    got += code;
    weft_process_destroy(p[i]);
  }
  out->ns = weft_now_ns() - t0;
  if (rc) return tour_result(out, "weft_process: %s", weft_strerror(rc)), rc;
  tour_result(out, "%d spawned children, exit codes %s", PROC_CHILDREN,
              got == want ? "checked" : "WRONG");
  tour_note(out, "spawn = a fresh copy of this program, entered before main");
  return got != want;
}

/* ---- Pool(processes=2).map(f, range(N)) over worker processes ---- */

enum { PMAP_ITEMS = 200000, PMAP_ROUNDS = 400 };

/* Enough work per item (a few hundred ns of mixing) that processes pay off:
 * a bare x*x is cheaper than moving its bytes to another process. */
static int mix_u64(const void *in, void *out, void *ctx) {
  (void)ctx;
  uint64_t x = *(const uint32_t *)in;
  for (int r = 0; r < PMAP_ROUNDS; r++) x = x * 6364136223846793005ull + 1442695040888963407ull;
  *(uint64_t *)out = x;
  return 0;
}

static uint64_t mix_expected(uint32_t i) {
  uint64_t v;
  mix_u64(&i, &v, NULL);
  return v;
}

typedef struct pmap_run {
  weft_ppool *pool;        /* NULL: the serial baseline */
  uint32_t *in;
  uint64_t *out;
} pmap_run;

static int pmap_once(void *ctx) {
  pmap_run *r = ctx;
  if (!r->pool) {
    for (size_t i = 0; i < PMAP_ITEMS; i++) mix_u64(&r->in[i], &r->out[i], NULL);
    return 0;
  }
  weft_map m = {.fn = mix_u64, .in = r->in, .in_size = sizeof(uint32_t), .out = r->out,
                .out_size = sizeof(uint64_t), .n = PMAP_ITEMS, .chunksize = 5000};
  return weft_ppool_map(r->pool, &m);
}

int tour_process_pool_map(tour_out *out) {
  pmap_run r = {0};
  r.in = malloc(PMAP_ITEMS * sizeof *r.in);
  r.out = malloc(PMAP_ITEMS * sizeof *r.out);
  int rc = r.in && r.out ? 0 : WEFT_ENOMEM;
  for (size_t i = 0; !rc && i < PMAP_ITEMS; i++) r.in[i] = (uint32_t)i;
  if (!rc) rc = tour_time_best(pmap_once, &r, 3, &out->serial_ns);
  if (!rc) rc = weft_ppool_create(&r.pool, &(weft_ppool_options){.processes = tour_threads()});
  if (!rc) {
    memset(r.out, 0, PMAP_ITEMS * sizeof *r.out);
    rc = tour_time_best(pmap_once, &r, 3, &out->ns);
    weft_ppool_destroy(r.pool);
  }
  bool ok = !rc;
  for (size_t i = 0; ok && i < PMAP_ITEMS; i++) ok = r.out[i] == mix_expected((uint32_t)i);
  free(r.in);
  free(r.out);
  if (rc) return tour_result(out, "weft_ppool_map: %s", weft_strerror(rc)), rc;
  tour_result(out, "%dk items in %u processes, %s", PMAP_ITEMS / 1000, tour_threads(),
              ok ? "checked" : "WRONG");
  tour_note(out, "items and results cross in shared memory, 5,000 per chunk");
  return !ok;
}

/* ---- a pool that survives a crashing worker ---- */

enum { CRASH_TASKS = 24, CRASH_AT = 7 };

/* Task 7 dereferences NULL; every other task returns its number squared. */
static int maybe_crash(const void *arg, size_t size) {
  if (size != sizeof(int)) return WEFT_EINVAL;
  int i = *(const int *)arg;
  if (i == CRASH_AT) raise(SIGSEGV);
  int *v = malloc(sizeof *v);
  if (!v) return WEFT_ENOMEM;
  *v = i * i;
  weft_task_set_result(v, sizeof *v, free);
  return 0;
}

static int crash_collect(weft_future **f, int *ok, int *crashed, char *msg, size_t msglen) {
  for (int i = 0; i < CRASH_TASKS; i++) {
    int code = weft_future_wait(f[i]);
    void *v = NULL;
    size_t size = 0;
    if (code == 0 && weft_future_result(f[i], &v, &size) == 0 && size == sizeof(int) &&
        *(int *)v == i * i)
      (*ok)++;
    else if (code == WEFT_ECRASHED && i == CRASH_AT) {
      (*crashed)++;
      snprintf(msg, msglen, "%s", weft_future_message(f[i]));
    }
    weft_future_release(f[i]);
  }
  return 0;
}

int tour_crash_proof_pool(tour_out *out) {
  weft_ppool *pool;
  int rc = weft_ppool_create(&pool, &(weft_ppool_options){.processes = 2});
  if (rc) return tour_result(out, "weft_ppool_create: %s", weft_strerror(rc)), rc;
  weft_future *f[CRASH_TASKS];
  int ok = 0, crashed = 0, n = 0;
  char msg[160] = "";
  uint64_t t0 = weft_now_ns();
  for (; n < CRASH_TASKS && !rc; n++) rc = weft_ppool_submit(pool, maybe_crash, &n, sizeof n, NULL, &f[n]);
  if (rc) n--;
  if (n == CRASH_TASKS) crash_collect(f, &ok, &crashed, msg, sizeof msg);
  else for (int i = 0; i < n; i++) weft_future_release(f[i]);
  int after = 0, again = 5;
  if (!rc) rc = weft_ppool_apply(pool, maybe_crash, &again, sizeof again, &after, sizeof after, NULL);
  out->ns = weft_now_ns() - t0;
  weft_ppool_stats st = {0};
  weft_ppool_stats_get(pool, &st);
  weft_ppool_destroy(pool);
  if (rc) return tour_result(out, "process pool: %s", weft_strerror(rc)), rc;
  bool right = ok == CRASH_TASKS - 1 && crashed == 1 && after == 25;
  tour_result(out, "%d ok, %d crashed, pool alive: %s", ok, crashed, right ? "checked" : "WRONG");
  tour_note(out, "task %d: %s", CRASH_AT, msg);
  tour_note(out, "%llu workers started (one replacement); Python: BrokenProcessPool for all",
            (unsigned long long)st.workers_started);
  return !right;
}
