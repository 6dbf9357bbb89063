/* src/cli/bench_aio_report.c — after the table of `weft bench aio`: A1's and
 * A2's figures as one ratio table each (servers side by side, weft's ratio
 * to each peer), then the targets checked against this run:
 *
 *   A1, A2  weft >= 0.95x the plain libuv server, >= 3x asyncio (streams),
 *           ahead of uvloop;
 *   A3      weft >= 50x asyncio for spawn+gather and queue ping-pong; a
 *           coroutine switch under 20 ns. */
#include "cli/bench_aio.h"

static const char *const a1_impls[] = {"weft", "libuv", "asyncio-streams", "asyncio-protocol",
                                       "uvloop"};
/* The same, short enough for the text table's columns. */
static const char *const a1_short[] = {"weft", "libuv", "streams", "protocol", "uvloop"};
#define NIMPLS (sizeof a1_impls / sizeof a1_impls[0])

static double value_of(const bench_ctx *c, const char *bench, const char *kase,
                       const char *impl, int threads) {
  const wb_result *r = bench_find_row(c, bench, kase, impl, threads);
  return r ? r->value : 0;
}

/* One cell: the value, or "-" when the row is missing. */
static void cell(char *out, size_t n, double v, const char *fmt) {
  if (v > 0) snprintf(out, n, fmt, v);
  else snprintf(out, n, "-");
}

/* The header of a ratio table: fixed columns, then weft/<peer> for each peer. */
static void ratio_header(const bench_ctx *c, const char *first) {
  if (c->markdown) {
    printf("| %s |", first);
    for (size_t i = 0; i < NIMPLS; i++) printf(" %s |", a1_impls[i]);
    for (size_t i = 1; i < NIMPLS; i++) printf(" weft vs %s |", a1_impls[i]);
    printf("\n|---|");
    for (size_t i = 0; i < 2 * NIMPLS - 1; i++) printf("---:|");
    printf("\n");
    return;
  }
  printf("%-8s", first);
  for (size_t i = 0; i < NIMPLS; i++) printf(" %9s", a1_short[i]);
  char h[24];
  for (size_t i = 1; i < NIMPLS; i++) {
    snprintf(h, sizeof h, "vs %s", a1_short[i]);
    printf(" %11s", h);
  }
  printf("\n");
}

/* One row: the values of the five servers, then weft's ratio to each peer
 * (higher is better for weft: rate, or the peer's latency over weft's). */
static void ratio_row(const bench_ctx *c, const char *label, const char *bench,
                      const char *kase, bool higher_better, const char *fmt) {
  double v[NIMPLS];
  for (size_t i = 0; i < NIMPLS; i++) v[i] = value_of(c, bench, kase, a1_impls[i], 1);
  printf(c->markdown ? "| %s |" : "%-8s", label);
  char s[32];
  for (size_t i = 0; i < NIMPLS; i++) {
    cell(s, sizeof s, v[i], fmt);
    printf(c->markdown ? " %s |" : " %9s", s);
  }
  for (size_t i = 1; i < NIMPLS; i++) {
    double r = v[0] > 0 && v[i] > 0 ? (higher_better ? v[0] / v[i] : v[i] / v[0]) : 0;
    cell(s, sizeof s, r, "%.2f");
    printf(c->markdown ? " %s |" : " %11s", s);
  }
  printf("\n");
}

static bool has_rows(const bench_ctx *c, const char *bench) {
  for (size_t i = 0; i < c->nresults; i++)
    if (strcmp(c->results[i].bench, bench) == 0) return true;
  return false;
}

static void print_ratio_tables(const bench_ctx *c) {
  bool a1 = has_rows(c, "A1"), a2 = has_rows(c, "A2");
  char kase[32], label[32];
  if (a1) {
    printf("\nA1 TCP echo, 64-byte ping-pong: round trips/s; streams and protocol are asyncio's;\n"
           "\"vs X\": weft's figure over X's (> 1: weft is faster)\n");
    ratio_header(c, "conns");
    for (size_t k = 0; k < sizeof aio_a1_conns / sizeof aio_a1_conns[0]; k++) {
      snprintf(kase, sizeof kase, "echo_c%d", aio_a1_conns[k]);
      snprintf(label, sizeof label, "%d", aio_a1_conns[k]);
      ratio_row(c, label, "A1", kase, true, "%.0f");
    }
    printf("\nA1 the server's CPU time per round trip, us (all its threads; warm-up and "
           "connection set-up included);\n\"vs X\": X's figure over weft's (> 1: weft uses less)\n");
    ratio_header(c, "conns");
    for (size_t k = 0; k < sizeof aio_a1_conns / sizeof aio_a1_conns[0]; k++) {
      snprintf(kase, sizeof kase, "cpu_c%d", aio_a1_conns[k]);
      snprintf(label, sizeof label, "%d", aio_a1_conns[k]);
      ratio_row(c, label, "A1", kase, false, "%.2f");
    }
  }
  if (a2) {
    printf("\nA2 HTTP hello world, wrk -t1 -c%d: req/s, p99 latency (us) and the server's CPU\n"
           "time per request (us); \"vs X\" > 1: weft is faster / uses less\n", AIO_A2_CONNS);
    ratio_header(c, "figure");
    snprintf(kase, sizeof kase, "http_c%d", AIO_A2_CONNS);
    ratio_row(c, "req/s", "A2", kase, true, "%.0f");
    snprintf(kase, sizeof kase, "p99_c%d", AIO_A2_CONNS);
    ratio_row(c, "p99 us", "A2", kase, false, "%.0f");
    snprintf(kase, sizeof kase, "cpu_c%d", AIO_A2_CONNS);
    ratio_row(c, "cpu us", "A2", kase, false, "%.2f");
    double cores = value_of(c, "A2", "http_c100", "weft", 2),
           one = value_of(c, "A2", "http_c100", "weft", 1);
    if (cores > 0)
      printf("weft_aio_serve_start on 2 loops: %.0f req/s (%.2fx weft on 1 loop; wrk "
             "shares the 2 cores)\n", cores, one > 0 ? cores / one : 0);
    else
      printf("weft_aio_serve_start on 2 loops: missing (no row)\n");
  }
}

/* ---- targets ---- */

static void target_line(const char *what, double v, double goal, bool below) {
  if (v <= 0) {
    printf("  %-58s  n/a (no rows)\n", what);
    return;
  }
  bool met = below ? v < goal : v >= goal;
  printf("  %-58s  %8.3g  %s\n", what, v, met ? "met" : "MISSED");
}

/* weft / peer for a higher-is-better row (0 when a row is missing). */
static double ratio(const bench_ctx *c, const char *bench, const char *kase,
                    const char *peer) {
  double w = value_of(c, bench, kase, "weft", 1), p = value_of(c, bench, kase, peer, 1);
  return w > 0 && p > 0 ? w / p : 0;
}

static void server_targets(const bench_ctx *c, const char *bench, const char *kase,
                           const char *label) {
  static const struct {
    const char *peer, *text;
    double goal;
  } t[] = {{"libuv", "weft/libuv >= 0.95", 0.95},
           {"asyncio-streams", "weft/asyncio-streams >= 3", 3},
           {"asyncio-protocol", "weft/asyncio-protocol >= 3", 3},
           {"uvloop", "weft/uvloop > 1 (ahead)", 1.0000001}};
  char what[96];
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    snprintf(what, sizeof what, "%s %s: %s", bench, label, t[i].text);
    target_line(what, ratio(c, bench, kase, t[i].peer), t[i].goal, false);
  }
}

void bench_print_aio_targets(const bench_ctx *c) {
  print_ratio_tables(c);
  printf("\nIssue targets (this run; ratios > 1: weft is faster):\n");
  char kase[32], label[32];
  for (size_t k = 0; has_rows(c, "A1") && k < sizeof aio_a1_conns / sizeof aio_a1_conns[0];
       k++) {
    snprintf(kase, sizeof kase, "echo_c%d", aio_a1_conns[k]);
    snprintf(label, sizeof label, "%d conns", aio_a1_conns[k]);
    server_targets(c, "A1", kase, label);
  }
  snprintf(kase, sizeof kase, "http_c%d", AIO_A2_CONNS);
  if (has_rows(c, "A2")) server_targets(c, "A2", kase, "req/s");
  if (!has_rows(c, "A3")) return;
  static const struct {
    const char *kase, *text;
  } a3[] = {{"spawn", "A3 spawn+gather: asyncio/weft >= 50"},
            {"queue", "A3 queue ping-pong: asyncio/weft >= 50"}};
  for (size_t i = 0; i < sizeof a3 / sizeof a3[0]; i++) {
    double w = value_of(c, "A3", a3[i].kase, "weft", 1),
           p = value_of(c, "A3", a3[i].kase, "asyncio", 1);
    target_line(a3[i].text, w > 0 && p > 0 ? p / w : 0, 50, false);
  }
  target_line("A3 coroutine switch < 20 ns (ns)", value_of(c, "A3", "switch", "weft", 1), 20,
              true);
}
