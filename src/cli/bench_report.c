/* src/cli/bench_report.c — the results as a table (plain or Markdown) with
 * a "weft x" factor per row, the cross-check of results between
 * implementations, and the targets checked against this run. */
#include "cli/bench.h"

/* How many times better weft is than r (>1: weft wins), or 0 when there is
 * no weft row to compare with. Compared with the weft row of the same
 * benchmark, case and thread count, else of the largest thread count. */
static double weft_factor(const bench_ctx *c, const wb_result *r) {
  const wb_result *w = bench_find_row(c, r->bench, r->kase, "weft", r->threads);
  if (!w) w = bench_find_row(c, r->bench, r->kase, "weft", (int)c->threads);
  if (!w || w->value <= 0 || r->value <= 0) return 0;
  return r->higher_better ? w->value / r->value : r->value / w->value;
}

/* Whether r's check agrees with weft's: exact for integers, 1e-9 relative
 * for floating-point sums (summation order differs between schedulers). */
static const char *check_note(const bench_ctx *c, const wb_result *r) {
  if (!r->check[0]) return "";
  const wb_result *w = bench_find_row(c, r->bench, r->kase, "weft", -1);
  if (!w || !w->check[0]) return "";
  if (!strchr(r->check, '.') && !strchr(w->check, '.'))
    return strcmp(r->check, w->check) == 0 ? "agrees" : "DIFFERS";
  double a = strtod(r->check, NULL), b = strtod(w->check, NULL);
  return fabs(a - b) <= 1e-9 * fabs(b) ? "agrees" : "DIFFERS";
}

int bench_count_mismatches(const bench_ctx *c) {
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

/* A value readable at a glance: 24.9M, 13480, 56.4, 0.393. */
static void format_value(char *out, size_t n, double v) {
  if (v >= 1e6) snprintf(out, n, "%.3gM", v / 1e6);
  else if (v >= 1000) snprintf(out, n, "%.0f", v);
  else snprintf(out, n, "%.3g", v);
}

void bench_print_table(const bench_ctx *c) {
  printf("weft bench %s: medians of %d run(s); threads = worker threads.\n"
         "'weft x' = how many times better weft is than that row (>1: weft wins).\n"
         "Lower is better for ns and ms; higher for items/s, %% and x (speedup).\n\n",
         c->suite, c->reps);
  const char *row = c->markdown ? "| %s | %s | %s | %d | %s | %s | %s | %s |\n"
                                : "%-5s %-16s %-16s %3d %10s  %-9s %8s  %s\n";
  if (c->markdown)
    printf("| bench | case | impl | threads | value | unit | weft x | check |\n"
           "|---|---|---|---:|---:|---|---:|---|\n");
  else
    printf("%-5s %-16s %-16s %3s %10s  %-9s %8s  %s\n", "bench", "case", "impl", "thr",
           "value", "unit", "weft x", "check");
  const char *last = "";
  for (size_t i = 0; i < c->nresults; i++) {
    const wb_result *r = &c->results[i];
    if (!c->markdown && strcmp(r->bench, last) != 0 && i > 0) putchar('\n');
    last = r->bench;
    double f = weft_factor(c, r);
    char fs[16] = "";
    if (strcmp(r->impl, "weft") != 0 && f > 0) snprintf(fs, sizeof fs, "%.2f", f);
    char vs[24];
    format_value(vs, sizeof vs, r->value);
    printf(row, r->bench, r->kase, r->impl, r->threads, vs, r->unit, fs,
           check_note(c, r));
  }
  if (c->skipped[0]) printf("\nskipped (not found in %s): %s\n", c->peer_dir, c->skipped);
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

void bench_print_targets(const bench_ctx *c) {
  printf("\nIssue targets (this run):\n");
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    const target *t = &targets[i];
    int threads = t->threads ? t->threads : (int)c->threads;
    const wb_result *w = bench_find_row(c, t->bench, t->kase, "weft", threads), *p = NULL;
    if (t->peer)
      p = strcmp(t->peer, "*") == 0 ? best_peer(c, t->bench, t->kase, threads)
                                     : bench_find_row(c, t->bench, t->kase, t->peer, threads);
    if (!w || (t->peer && !p) || w->value <= 0) {
      printf("  %-62s  n/a (no rows)\n", t->what);
      continue;
    }
    double v = p ? p->value / w->value : w->value;
    printf("  %-62s  %8.3g  %s\n", t->what, v, v >= t->goal ? "met" : "MISSED");
  }
}
