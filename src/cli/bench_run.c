/* src/cli/bench_run.c — `weft bench run`: the weft command's `run` against
 * GNU parallel, `xargs -P` and (R1) Python's thread pool (issue 5 §4).
 *
 *   R1  N x /bin/true at -j THREADS                 jobs/s   (N = 2,000)
 *   R2  N x `echo {}` with -k (xargs: no -k exists)  jobs/s, output checked
 *   R3  200 jobs sleeping 50 ms at -j 50            ms; the ideal is 200 ms
 *
 * Every tool gets the same input lines on its stdin and is timed from start
 * to exit, its own start-up included, as a user at a shell sees it. weft is
 * this very binary (/proc/self/exe run ...). The python peer
 * (bench/peer_python_run.py) times ThreadPoolExecutor + subprocess.run
 * itself, like the other Python peers. weft, GNU parallel and xargs are
 * measured round-robin (measure_all). Commands run without a shell around
 * them, so no extra process is counted for anyone. */
#include <unistd.h>

#include "weft/proc.h"
#include "cli/bench.h"

typedef struct run_cmd {
  const char *const *argv;
  const char *input;     /* the lines on its stdin */
  size_t input_size;
  bool capture;          /* keep stdout (R2) */
  int err;               /* the first failure: start error or non-zero exit */
  uint64_t out_hash;     /* FNV-1a of the last run's stdout (R2) */
  size_t out_size;
  double last_secs;
} run_cmd;

static uint64_t fnv1a(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
  return h;
}

/* One timed run; returns the seconds it took. */
static double run_once(run_cmd *r) {
  weft_subprocess_opts o = {
    .argv = r->argv, .stdin_data = r->input, .stdin_size = r->input_size,
    .stdout_mode = r->capture ? WEFT_SUBPROCESS_CAPTURE : WEFT_SUBPROCESS_DISCARD,
    .stderr_mode = WEFT_SUBPROCESS_DISCARD};
  weft_subprocess_result res;
  uint64_t t0 = wb_now_ns();
  int e = weft_subprocess_run(&o, &res);
  double secs = (double)(wb_now_ns() - t0) / 1e9;
  if (!e && res.exit_code != 0) e = WEFT_ESYSTEM;
  if (!e && r->capture) {
    r->out_hash = fnv1a(res.out, res.out_size);
    r->out_size = res.out_size;
  }
  weft_subprocess_result_free(&res);
  if (!r->err) r->err = e;
  r->last_secs = secs;
  return secs;
}

/* "1\n2\n...n\n" (what `seq n` prints), or n copies of `line`. */
static char *make_input(size_t n, const char *line, size_t *size) {
  size_t cap = n * (line ? strlen(line) + 1 : 21) + 1, used = 0;
  char *buf = malloc(cap);
  for (size_t i = 1; buf && i <= n; i++) {
    int k = line ? snprintf(buf + used, cap - used, "%s\n", line)
                 : snprintf(buf + used, cap - used, "%zu\n", i);
    used += (size_t)k;
  }
  *size = used;
  return buf;
}

static bool tool_exists(const char *tool) {
  char line[300];
  snprintf(line, sizeof line, "command -v %s >/dev/null 2>&1", tool);
  return system(line) == 0;
}

static void skip(bench_ctx *c, const char *bench, const char *impl, const char *why) {
  bench_progress(c, "%s %s: skipped (%s)", bench, impl, why);
  size_t len = strlen(c->skipped);
  snprintf(c->skipped + len, sizeof c->skipped - len, "%s%s %s (%s)", len ? ", " : "", bench,
           impl, why);
}

/* The tools of one benchmark, measured round-robin: each run of weft is
 * followed by one of each peer, so that the load of a shared machine,
 * which drifts over minutes, falls on all of them alike (measuring each in
 * a block of its own runs let a busy minute decide the ratios). An
 * untimed first run of each checks that it works and warms the page
 * cache; then the median of c->reps runs each. */
typedef struct entrant {
  const char *impl;
  run_cmd *cmd;
  bool checked;  /* report the output's size:hash */
  bool live;     /* in PATH and its first run worked */
  double v[WB_MAX_REPS];
} entrant;

/* Returns 1 when weft itself failed. */
static int measure_all(bench_ctx *c, const char *bench, const char *kase, entrant *e, size_t n,
                       size_t jobs, bool rate, int threads) {
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    e[i].live = false;
    if (!tool_exists(e[i].cmd->argv[0])) {
      skip(c, bench, e[i].impl, "not in PATH");
      continue;
    }
    bench_progress(c, "%s %s (check run)", bench, e[i].impl);
    run_once(e[i].cmd);
    if (e[i].cmd->err) {
      skip(c, bench, e[i].impl, "the command failed");
      failed |= strcmp(e[i].impl, "weft") == 0;
      continue;
    }
    e[i].live = true;
  }
  int reps = c->reps < 1 ? 1 : c->reps > WB_MAX_REPS ? WB_MAX_REPS : c->reps;
  for (int r = 0; r < reps; r++) {
    bench_progress(c, "%s round %d of %d", bench, r + 1, reps);
    for (size_t i = 0; i < n; i++)
      if (e[i].live) {
        double secs = run_once(e[i].cmd);
        e[i].v[r] = rate ? (double)jobs / secs : secs * 1e3;
      }
  }
  for (size_t i = 0; i < n; i++) {
    if (!e[i].live) continue;
    char check[40] = "";
    if (e[i].checked)
      snprintf(check, sizeof check, "%zu:%016llx", e[i].cmd->out_size,
               (unsigned long long)e[i].cmd->out_hash);
    bench_emit(c, bench, kase, e[i].impl, threads, wb_median(e[i].v, (size_t)reps),
               rate ? "jobs/s" : "ms", rate, check);
    failed |= e[i].cmd->err && strcmp(e[i].impl, "weft") == 0;
  }
  return failed;
}

/* The path of this weft binary, for running `weft run` as a user would. */
static const char *self_path(void) {
  static char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "weft";
  exe[n] = '\0';
  return exe;
}

int bench_r1_true(bench_ctx *c) {
  size_t n = c->size.procs, size;
  char j[32], P[32];
  snprintf(j, sizeof j, "-j%u", c->threads);
  snprintf(P, sizeof P, "-P%u", c->threads);
  char *input = make_input(n, NULL, &size);
  if (!input) return 1;
  const char *w[] = {self_path(), "run", j, "/bin/true", NULL};
  const char *p[] = {"parallel", "--will-cite", j, "/bin/true", NULL};
  const char *x[] = {"xargs", P, "-n1", "/bin/true", NULL};
  run_cmd rw = {w, input, size, false, 0, 0, 0, 0}, rp = rw, rx = rw;
  rp.argv = p, rx.argv = x;
  entrant e[] = {{.impl = "weft", .cmd = &rw}, {.impl = "gnu-parallel", .cmd = &rp},
                 {.impl = "xargs", .cmd = &rx}};
  int failed = measure_all(c, "R1", "true", e, 3, n, true, (int)c->threads);
  bench_peer(c, "peer_python_run.py", "R1", n, c->threads); /* times itself */
  free(input);
  return failed;
}

int bench_r2_echo(bench_ctx *c) {
  size_t n = c->size.procs, size;
  char j[32], P[32];
  snprintf(j, sizeof j, "-j%u", c->threads);
  snprintf(P, sizeof P, "-P%u", c->threads);
  char *input = make_input(n, NULL, &size);
  if (!input) return 1;
  const char *w[] = {self_path(), "run", "-k", j, "echo", "{}", NULL};
  const char *p[] = {"parallel", "--will-cite", "-k", j, "echo", "{}", NULL};
  const char *x[] = {"xargs", P, "-n1", "echo", NULL};
  run_cmd rw = {w, input, size, true, 0, 0, 0, 0}, rp = rw, rx = rw;
  rp.argv = p, rx.argv = x;
  /* xargs has no -k: its order varies, so its output is not cross-checked */
  entrant e[] = {{.impl = "weft", .cmd = &rw, .checked = true},
                 {.impl = "gnu-parallel", .cmd = &rp, .checked = true},
                 {.impl = "xargs", .cmd = &rx}};
  int failed = measure_all(c, "R2", "echo_k", e, 3, n, true, (int)c->threads);
  /* -k output must be the input itself, byte for byte */
  if (!rw.err && (rw.out_size != size || rw.out_hash != fnv1a(input, size))) {
    fprintf(stderr, "weft bench: R2 weft run -k printed %zu bytes, not the %zu of its input\n",
            rw.out_size, size);
    failed = 1;
  }
  free(input);
  return failed;
}

/* R3's sizes: 200 jobs at -j50 (4 waves of 50 ms: 200 ms ideal); the smoke
 * run keeps 2 waves of 10. */
static void r3_size(const bench_ctx *c, size_t *jobs, unsigned *par) {
  *jobs = c->size.procs >= 200 ? 200 : 20;
  *par = c->size.procs >= 200 ? 50 : 10;
}

int bench_r3_sleep(bench_ctx *c) {
  size_t jobs, size;
  unsigned par;
  r3_size(c, &jobs, &par);
  char j[32], P[32];
  snprintf(j, sizeof j, "-j%u", par);
  snprintf(P, sizeof P, "-P%u", par);
  char *input = make_input(jobs, "0.05", &size);  /* each job: sleep 0.05 */
  if (!input) return 1;
  const char *w[] = {self_path(), "run", j, "sleep", NULL};
  const char *p[] = {"parallel", "--will-cite", j, "sleep", NULL};
  const char *x[] = {"xargs", P, "-n1", "sleep", NULL};
  run_cmd rw = {w, input, size, false, 0, 0, 0, 0}, rp = rw, rx = rw;
  rp.argv = p, rx.argv = x;
  entrant e[] = {{.impl = "weft", .cmd = &rw}, {.impl = "gnu-parallel", .cmd = &rp},
                 {.impl = "xargs", .cmd = &rx}};
  int failed = measure_all(c, "R3", "sleep50ms", e, 3, jobs, false, (int)par);
  double ideal = (double)((jobs + par - 1) / par) * 50.0;
  bench_emit(c, "R3", "sleep50ms", "ideal", (int)par, ideal, "ms", false, NULL);
  free(input);
  return failed;
}

/* ---- the suite's targets, checked against this run ---- */

static void rate_target(const bench_ctx *c, const char *bench, const char *kase) {
  const wb_result *w = bench_find_row(c, bench, kase, "weft", -1);
  const wb_result *gp = bench_find_row(c, bench, kase, "gnu-parallel", -1);
  const wb_result *x = bench_find_row(c, bench, kase, "xargs", -1);
  const wb_result *py = bench_find_row(c, bench, kase, "python", -1);
  const wb_result *best = x;
  if (py && (!best || py->value > best->value)) best = py;
  char what[96];
  snprintf(what, sizeof what, "%s jobs/s: weft / gnu-parallel >= 5", bench);
  if (w && gp && gp->value > 0)
    printf("  %-58s  %8.3g  %s\n", what, w->value / gp->value,
           w->value >= 5 * gp->value ? "met" : "MISSED");
  else printf("  %-58s  n/a (no rows)\n", what);
  snprintf(what, sizeof what, "%s jobs/s: weft / the faster of xargs%s >= 1.1", bench,
           py ? " and python" : "");
  if (w && best && best->value > 0)
    printf("  %-58s  %8.3g  %s (%s)\n", what, w->value / best->value,
           w->value >= 1.1 * best->value ? "met" : "MISSED", best->impl);
  else printf("  %-58s  n/a (no rows)\n", what);
}

void bench_print_run_targets(const bench_ctx *c) {
  printf("\nIssue targets (this run; ratios > 1: weft is faster):\n");
  rate_target(c, "R1", "true");
  rate_target(c, "R2", "echo_k");
  const wb_result *w = bench_find_row(c, "R3", "sleep50ms", "weft", -1);
  const wb_result *ideal = bench_find_row(c, "R3", "sleep50ms", "ideal", -1);
  const char *what = "R3 weft's time within 5% of the ideal";
  if (w && ideal && ideal->value > 0) {
    double over = (w->value / ideal->value - 1) * 100;
    printf("  %-58s  %+7.1f%%  %s (%.0f ms vs %.0f ms)\n", what, over,
           over <= 5 ? "met" : "MISSED", w->value, ideal->value);
  } else {
    printf("  %-58s  n/a (no rows)\n", what);
  }
}
