/* src/cli/bench.c — `weft bench pool`: weft and its peers side by side.
 *
 *   weft bench pool [--json|--markdown] [--quick] [--reps N] [--threads N]
 *                   [--only B1,B3]
 *
 * Runs B1..B5 (the table `benches` below). weft's side runs in this process
 * (bench_pool.c, bench_sync.c); each peer — OpenMP, oneTBB, Python — is a
 * separate program (bench/peer_*) run as a child that prints JSON lines.
 * Every figure is the median of --reps runs (5; 3 with --quick). The output
 * is a table with a "weft x" column, or with --json one JSON object per
 * measurement. The hidden --smoke (or WEFT_BENCH_SMOKE=1) shrinks every size
 * so the test suite can check the harness in a few seconds. */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/core.h"
#include "cli/bench.h"
#include "cli/cli.h"

extern char **environ;

typedef struct bench_def {
  const char *id;
  const char *what;
  int (*run)(bench_ctx *c);
} bench_def;

static const bench_def benches[] = {
  {"B1", "fork-join: naive fib, every call spawns", bench_b1_forkjoin},
  {"B2", "many tiny tasks submitted from outside", bench_b2_tasks},
  {"B3", "data parallel: square, sum of sqrt", bench_b3_data},
  {"B4", "64 coarse tasks, 1 vs N workers", bench_b4_scaling},
  {"B5", "channels, mutex, semaphore", bench_b5_sync},
};
#define NBENCHES (sizeof benches / sizeof benches[0])

static const bench_sizes full_sizes = {
  .fib_n = 30, .tasks = 1000000, .py_tasks = 100000, .elems = 100000000,
  .task_us = 10000, .chan_items = 2000000, .lock_ops = 10000000};
static const bench_sizes quick_sizes = {
  .fib_n = 27, .tasks = 200000, .py_tasks = 20000, .elems = 20000000,
  .task_us = 2000, .chan_items = 400000, .lock_ops = 2000000};
static const bench_sizes smoke_sizes = {
  .fib_n = 15, .tasks = 2000, .py_tasks = 200, .elems = 100000,
  .task_us = 100, .chan_items = 10000, .lock_ops = 10000};

/* ---- recording results ---- */

void bench_add(bench_ctx *c, wb_result r) {
  if (c->nresults == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    wb_result *v = realloc(c->results, cap * sizeof *v);
    if (!v) return;  /* out of memory: the row is lost, the run goes on */
    c->results = v;
    c->cap = cap;
  }
  c->results[c->nresults++] = r;
  if (c->json) {
    wb_print_json(stdout, &r);
    fflush(stdout);
  }
}

void bench_emit(bench_ctx *c, const char *bench, const char *kase, const char *impl,
                int threads, double value, const char *unit, bool higher_better,
                const char *check) {
  bench_add(c, wb_make(bench, kase, impl, threads, value, unit, higher_better, check));
}

void bench_progress(const bench_ctx *c, const char *fmt, ...) {
  (void)c;
  va_list ap;
  va_start(ap, fmt);
  fputs("[bench] ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

double bench_median(const bench_ctx *c, wb_run_fn fn, void *arg, int warmup) {
  return wb_measure(fn, arg, c->reps, warmup);
}

static const wb_result *find_row(const bench_ctx *c, const char *bench, const char *kase,
                                 const char *impl, int threads) {
  for (size_t i = 0; i < c->nresults; i++) {
    const wb_result *r = &c->results[i];
    if (strcmp(r->bench, bench) == 0 && strcmp(r->kase, kase) == 0 &&
        strcmp(r->impl, impl) == 0 && (threads < 0 || r->threads == threads))
      return r;
  }
  return NULL;
}

void bench_add_speedups(bench_ctx *c, const char *bench, const char *kase) {
  static const char *impls[] = {"weft", "openmp", "tbb"};
  for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
    const wb_result *one = find_row(c, bench, kase, impls[i], 1);
    const wb_result *many = find_row(c, bench, kase, impls[i], (int)c->threads);
    if (one && many && many->value > 0)
      bench_emit(c, bench, "speedup", impls[i], (int)c->threads, one->value / many->value,
                 "x", true, NULL);
  }
}

/* ---- peers: child processes printing JSON lines ---- */

/* Finds "key": in a JSON line; returns the start of the value or NULL. */
static const char *json_value(const char *line, const char *key) {
  char pat[40];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  return p ? p + strlen(pat) : NULL;
}

static void json_string(const char *line, const char *key, char *out, size_t n) {
  const char *p = json_value(line, key);
  out[0] = '\0';
  if (!p || *p != '"') return;
  p++;
  size_t i = 0;
  while (*p && *p != '"' && i + 1 < n) out[i++] = *p++;
  out[i] = '\0';
}

/* Parses one line of a peer into r; false when it is not a measurement. */
static bool parse_peer_line(const char *line, wb_result *r) {
  const char *threads = json_value(line, "threads"), *value = json_value(line, "value");
  if (line[0] != '{' || !threads || !value) return false;
  memset(r, 0, sizeof *r);
  json_string(line, "bench", r->bench, sizeof r->bench);
  json_string(line, "case", r->kase, sizeof r->kase);
  json_string(line, "impl", r->impl, sizeof r->impl);
  json_string(line, "unit", r->unit, sizeof r->unit);
  json_string(line, "check", r->check, sizeof r->check);
  char better[8];
  json_string(line, "better", better, sizeof better);
  r->higher_better = strcmp(better, "higher") == 0;
  r->threads = atoi(threads);
  r->value = strtod(value, NULL);
  return r->bench[0] && r->impl[0];
}

/* The Python that has dask: Debian's, unless WEFT_BENCH_PYTHON says. */
static const char *python_path(void) {
  const char *env = getenv("WEFT_BENCH_PYTHON");
  if (env && *env) return env;
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Starts argv[0] with stdout into a pipe; returns the read end or -1. */
static int spawn_reader(char *const argv[], pid_t *pid) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  int e = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (e != 0) {
    close(fds[0]);
    errno = e;
    return -1;
  }
  return fds[0];
}

int bench_peer(bench_ctx *c, const char *peer, const char *bench, uint64_t size,
               unsigned threads) {
  char path[4300], sz[24], th[16], reps[16];
  snprintf(path, sizeof path, "%s/%s", c->peer_dir, peer);
  if (access(path, R_OK) != 0) {
    bench_progress(c, "%s %s: skipped (%s not found; set WEFT_BENCH_DIR)", bench, peer, path);
    return 0;
  }
  snprintf(sz, sizeof sz, "%" PRIu64, size);
  snprintf(th, sizeof th, "%u", threads);
  snprintf(reps, sizeof reps, "%d", c->reps);
  bool py = strstr(peer, ".py") != NULL;
  char *argv[] = {py ? (char *)python_path() : path, path, (char *)bench, sz, th, reps, NULL};
  bench_progress(c, "%s %s, %u thread(s), size %" PRIu64, bench, peer, threads, size);

  pid_t pid;
  int fd = spawn_reader(py ? argv : argv + 1, &pid);
  if (fd < 0) {
    bench_progress(c, "%s %s: skipped (cannot start: %s)", bench, peer, strerror(errno));
    return 0;
  }
  FILE *f = fdopen(fd, "r");
  char *line = NULL;
  size_t cap = 0;
  wb_result r;
  while (f && getline(&line, &cap, f) > 0)
    if (parse_peer_line(line, &r)) bench_add(c, r);
  free(line);
  if (f) fclose(f); else close(fd);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    bench_progress(c, "%s %s: failed (status %d), rows may be missing", bench, peer, status);
  return 0;
}

/* Where the peers are: WEFT_BENCH_DIR, else <dir of the weft binary>/bench
 * (the build tree), else <dir>/../libexec/weft (installed). */
static void find_peer_dir(bench_ctx *c) {
  const char *env = getenv("WEFT_BENCH_DIR");
  if (env && *env) {
    snprintf(c->peer_dir, sizeof c->peer_dir, "%s", env);
    return;
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    snprintf(c->peer_dir, sizeof c->peer_dir, "bench");
    return;
  }
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  struct stat st;
  snprintf(c->peer_dir, sizeof c->peer_dir, "%s/bench", exe);
  if (stat(c->peer_dir, &st) == 0 && S_ISDIR(st.st_mode)) return;
  snprintf(c->peer_dir, sizeof c->peer_dir, "%s/../libexec/weft", exe);
}

/* ---- output ---- */

/* How many times better weft is than r (>1: weft wins), or 0 when there is
 * no weft row to compare with. Compared with the weft row of the same
 * benchmark, case and thread count, else of the largest thread count. */
static double weft_factor(const bench_ctx *c, const wb_result *r) {
  const wb_result *w = find_row(c, r->bench, r->kase, "weft", r->threads);
  if (!w) w = find_row(c, r->bench, r->kase, "weft", (int)c->threads);
  if (!w || w->value <= 0 || r->value <= 0) return 0;
  return r->higher_better ? w->value / r->value : r->value / w->value;
}

/* Whether r's check agrees with weft's: exact for integers, 1e-9 relative
 * for floating-point sums (summation order differs between schedulers). */
static const char *check_note(const bench_ctx *c, const wb_result *r) {
  if (!r->check[0]) return "";
  const wb_result *w = find_row(c, r->bench, r->kase, "weft", -1);
  if (!w || !w->check[0]) return "";
  if (!strchr(r->check, '.') && !strchr(w->check, '.'))
    return strcmp(r->check, w->check) == 0 ? "agrees" : "DIFFERS";
  double a = strtod(r->check, NULL), b = strtod(w->check, NULL);
  return fabs(a - b) <= 1e-9 * fabs(b) ? "agrees" : "DIFFERS";
}

static int count_mismatches(const bench_ctx *c) {
  int bad = 0;
  for (size_t i = 0; i < c->nresults; i++)
    if (strcmp(check_note(c, &c->results[i]), "DIFFERS") == 0) {
      fprintf(stderr, "weft bench: %s %s %s: result %s differs from weft's\n",
              c->results[i].bench, c->results[i].kase, c->results[i].impl,
              c->results[i].check);
      bad++;
    }
  return bad;
}

static void print_table(const bench_ctx *c) {
  printf("weft bench pool: medians of %d run(s); threads = worker threads.\n"
         "'weft x' = how many times better weft is than that row (>1: weft wins).\n"
         "Lower is better for ns and ms; higher for items/s, %% and x (speedup).\n\n",
         c->reps);
  const char *row = c->markdown ? "| %s | %s | %s | %d | %.4g | %s | %s | %s |\n"
                                : "%-5s %-16s %-12s %3d %14.6g  %-9s %8s  %s\n";
  if (c->markdown)
    printf("| bench | case | impl | threads | value | unit | weft x | check |\n"
           "|---|---|---|---:|---:|---|---:|---|\n");
  else
    printf("%-5s %-16s %-12s %3s %14s  %-9s %8s  %s\n", "bench", "case", "impl", "thr",
           "value", "unit", "weft x", "check");
  const char *last = "";
  for (size_t i = 0; i < c->nresults; i++) {
    const wb_result *r = &c->results[i];
    if (!c->markdown && strcmp(r->bench, last) != 0 && i > 0) putchar('\n');
    last = r->bench;
    double f = weft_factor(c, r);
    char fs[16] = "";
    if (strcmp(r->impl, "weft") != 0 && f > 0) snprintf(fs, sizeof fs, "%.2f", f);
    printf(row, r->bench, r->kase, r->impl, r->threads, r->value, r->unit, fs,
           check_note(c, r));
  }
}

/* The targets, checked against this run's medians. */
typedef struct target {
  const char *what;
  const char *bench, *kase, *peer;  /* ratio = peer / weft; peer NULL: weft itself */
  int threads;                       /* 0: the many-threads count */
  double goal;                       /* met when the figure >= goal */
} target;

static const target targets[] = {
  {"B1 2-thread time: tbb/weft >= 2 (weft at most 0.5x oneTBB)", "B1", "fib", "tbb", 0, 2},
  {"B1 2-thread time: openmp/weft (far ahead: >= 2)", "B1", "fib", "openmp", 0, 2},
  {"B1 weft speedup on 2 threads >= 1.8x", "B1", "speedup", NULL, 0, 1.8},
  {"B2 throughput vs oneTBB >= 2x, 1 thread", "B2", "tasks", "tbb", 1, 2},
  {"B2 throughput vs oneTBB >= 2x, N threads", "B2", "tasks", "tbb", 0, 2},
  {"B2 throughput vs Python threads >= 100x", "B2", "tasks", "python", 0, 100},
  {"B3 square: weft within 5% of best peer (best/weft >= 0.952)", "B3", "square", "*", 0,
   1 / 1.05},
  {"B3 sqrt_sum: weft within 5% of best peer (best/weft >= 0.952)", "B3", "sqrt_sum", "*", 0,
   1 / 1.05},
  {"B4 weft parallel efficiency >= 95%", "B4", "efficiency", NULL, 0, 95},
};

/* The best (lowest) value among the peers of bench/kase at `threads`. */
static const wb_result *best_peer(const bench_ctx *c, const char *bench, const char *kase,
                                  int threads) {
  const wb_result *best = NULL;
  for (size_t i = 0; i < c->nresults; i++) {
    const wb_result *r = &c->results[i];
    if (strcmp(r->bench, bench) || strcmp(r->kase, kase) || r->threads != threads ||
        !strcmp(r->impl, "weft") || !strcmp(r->impl, "serial"))
      continue;
    if (!best || r->value < best->value) best = r;
  }
  return best;
}

static void print_targets(const bench_ctx *c) {
  printf("\nIssue targets (this run):\n");
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    const target *t = &targets[i];
    int threads = t->threads ? t->threads : (int)c->threads;
    const wb_result *w = find_row(c, t->bench, t->kase, "weft", threads), *p = NULL;
    if (t->peer)
      p = strcmp(t->peer, "*") == 0 ? best_peer(c, t->bench, t->kase, threads)
                                     : find_row(c, t->bench, t->kase, t->peer, threads);
    if (!w || (t->peer && !p) || w->value <= 0) {
      printf("  %-62s  n/a (no rows)\n", t->what);
      continue;
    }
    double v = p ? p->value / w->value : w->value;
    printf("  %-62s  %8.3g  %s\n", t->what, v, v >= t->goal ? "met" : "MISSED");
  }
}

/* ---- the command ---- */

static void usage(FILE *to) {
  fprintf(to,
          "usage: weft bench pool [--json|--markdown] [--quick] [--reps N] [--threads N]\n"
          "                       [--only B1,B2,...]\n"
          "  B1 fork-join fib    B2 1e6 tiny tasks    B3 data parallel\n"
          "  B4 coarse scaling   B5 channels and sync\n"
          "  --json     one JSON object per measurement on stdout\n"
          "  --markdown the table as Markdown (for docs/performance.md)\n"
          "  --quick    smaller sizes, 3 runs each (under a minute)\n"
          "peers are looked up in WEFT_BENCH_DIR, <weft dir>/bench or "
          "<prefix>/libexec/weft; WEFT_BENCH_PYTHON picks the Python.\n");
}

static bool selected(const char *only, const char *id) {
  if (!only) return true;
  const char *p = strstr(only, id);
  /* whole ids only: "B1" must not match inside "B10" */
  return p && (p[strlen(id)] == '\0' || p[strlen(id)] == ',');
}

static int parse_options(bench_ctx *c, int argc, char **argv, const char **only) {
  bool quick = false, smoke = getenv("WEFT_BENCH_SMOKE") && atoi(getenv("WEFT_BENCH_SMOKE"));
  int reps = 0;
  bool have_target = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "pool") == 0) have_target = true;
    else if (strcmp(a, "--json") == 0) c->json = true;
    else if (strcmp(a, "--markdown") == 0) c->markdown = true;
    else if (strcmp(a, "--quick") == 0) quick = true;
    else if (strcmp(a, "--smoke") == 0) smoke = true;
    else if (strcmp(a, "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
    else if (strcmp(a, "--threads") == 0 && i + 1 < argc) c->threads = (unsigned)atoi(argv[++i]);
    else if (strcmp(a, "--only") == 0 && i + 1 < argc) *only = argv[++i];
    else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 1;
    } else {
      fprintf(stderr, "weft bench: unknown argument '%s'\n", a);
      return 2;
    }
  }
  if (!have_target || c->threads < 1 || c->threads > 1024 || reps < 0) {
    usage(stderr);
    return 2;
  }
  c->size = smoke ? smoke_sizes : quick ? quick_sizes : full_sizes;
  c->reps = reps ? reps : smoke ? 1 : quick ? 3 : 5;
  if (c->reps > WB_MAX_REPS) c->reps = WB_MAX_REPS;
  return 0;
}

int weft_cli_bench(int argc, char **argv) {
  bench_ctx c = {.threads = 2};
  const char *only = NULL;
  int e = parse_options(&c, argc, argv, &only);
  if (e) return e == 1 ? 0 : e;
  find_peer_dir(&c);

  int failed = 0;
  for (size_t i = 0; i < NBENCHES; i++) {
    if (!selected(only, benches[i].id)) continue;
    bench_progress(&c, "%s: %s", benches[i].id, benches[i].what);
    if (benches[i].run(&c) != 0) failed = 1;
  }
  if (!c.json) {
    print_table(&c);
    print_targets(&c);
  }
  if (count_mismatches(&c)) failed = 1;
  free(c.results);
  return failed;
}
