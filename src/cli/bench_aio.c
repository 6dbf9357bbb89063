/* src/cli/bench_aio.c — `weft bench aio`: A1 TCP echo and A2 HTTP, weft's
 * coroutine servers side by side with a plain libuv server, asyncio and
 * uvloop; A3 (tasks, queues, switch) runs weft in this process and the
 * asyncio peer as a child.
 *
 * Every server is a process of its own on 127.0.0.1, port 0 (each prints
 * the port it got): weft's are this executable re-run as
 * `weft bench aio --serve KIND 0` (bench_aio_serve.c), the libuv one is
 * bench/peer_uv_server, the Python ones bench/peer_asyncio.py. The load is
 * another process: bench/aio_load (A1, a libuv client doing 64-byte
 * ping-pong on C connections) or wrk -t1 -c100 (A2). So on this 2-core
 * machine the server and its load each get a core.
 *
 * All servers of a benchmark are started first and stay up (idle) while
 * the others are measured; the runs go round-robin over the servers, run
 * after run, so that a slow minute of a noisy machine hits every server
 * alike. Each figure is the median of the runs (bench_sizes.aio_runs). */
#include <unistd.h>

#include "cli/bench_aio.h"

const int aio_a1_conns[3] = {1, 100, 1000};

enum { MAX_SERVERS = 6, MAX_RUNS = 16 };

typedef struct server {
  const char *impl;     /* the JSON impl */
  int threads;          /* loops: weft's multi-core server has 2 */
  char prog[4300];      /* the program or script */
  char kind[24];        /* what peer_asyncio.py serves */
  const char *argv[8];
  aio_child child;
  int port;             /* 0: not running */
  double rate[MAX_RUNS], p99[MAX_RUNS];
  double cpu[MAX_RUNS];  /* A1: the server's CPU us per round trip */
  int runs;             /* successful runs */
} server;

/* Notes a server or tool that could not run, for the table's footer. */
static void aio_skip(bench_ctx *c, const char *what, const char *why) {
  bench_progress(c, "%s: skipped (%s)", what, why);
  size_t len = strlen(c->skipped);
  snprintf(c->skipped + len, sizeof c->skipped - len, "%s%s (%s)", len ? ", " : "", what, why);
}

/* Copies a NULL-terminated argument list into s->argv. */
static void set_argv(server *s, const char *const *args) {
  size_t i = 0;
  for (; args[i] && i + 1 < sizeof s->argv / sizeof s->argv[0]; i++) s->argv[i] = args[i];
  s->argv[i] = NULL;
}

/* The servers of A1 (kind "echo") or A2 ("http"); returns how many. */
static int define_servers(bench_ctx *c, server *sv, bool http) {
  static const struct {
    const char *impl, *py_kind;
  } py[] = {{"asyncio-streams", "streams"}, {"asyncio-protocol", "protocol"},
            {"uvloop", "uvloop"}};
  const char *kind = http ? "http" : "echo";
  int n = 0;
  sv[n] = (server){.impl = "weft", .threads = 1};
  snprintf(sv[n].prog, sizeof sv[n].prog, "%s", aio_self_exe());
  set_argv(&sv[n], (const char *const[]){sv[n].prog, "bench", "aio", "--serve", kind, "0", NULL});
  n++;
  if (http) {  /* the same handler on 2 loops: weft_aio_serve_start */
    sv[n] = (server){.impl = "weft", .threads = 2};
    snprintf(sv[n].prog, sizeof sv[n].prog, "%s", aio_self_exe());
    set_argv(&sv[n], (const char *const[]){sv[n].prog, "bench", "aio", "--serve", "http-cores",
                                           "0", NULL});
    n++;
  }
  sv[n] = (server){.impl = "libuv", .threads = 1};
  snprintf(sv[n].prog, sizeof sv[n].prog, "%s/peer_uv_server", c->peer_dir);
  set_argv(&sv[n], (const char *const[]){sv[n].prog, kind, "0", NULL});
  n++;
  for (size_t i = 0; i < sizeof py / sizeof py[0]; i++, n++) {
    sv[n] = (server){.impl = py[i].impl, .threads = 1};
    snprintf(sv[n].prog, sizeof sv[n].prog, "%s/peer_asyncio.py", c->peer_dir);
    snprintf(sv[n].kind, sizeof sv[n].kind, "%s-%s", kind, py[i].py_kind);
    set_argv(&sv[n], (const char *const[]){aio_python(), sv[n].prog, "serve", sv[n].kind, "0",
                                           NULL});
  }
  return n;
}

static void start_server(bench_ctx *c, const char *bench, server *s) {
  char what[64];
  snprintf(what, sizeof what, "%s %s%s", bench, s->impl, s->threads > 1 ? " (2 loops)" : "");
  if (access(s->prog, R_OK) != 0) {
    aio_skip(c, what, "not built");
    return;
  }
  int e = aio_child_start(&s->child, (char *const *)s->argv);
  if (e) {
    aio_skip(c, what, strerror(-e));
    return;
  }
  s->port = aio_child_port(&s->child, 15000);
  if (s->port < 0) {
    s->port = 0;
    aio_skip(c, what, "did not start");
  }
}

static void stop_servers(server *sv, int n) {
  for (int i = 0; i < n; i++)
    if (sv[i].port) aio_child_stop(&sv[i].child);
}

static double median_of(double *v, int n) { return n ? wb_median(v, (size_t)n) : 0; }

/* ---- A1: echo under bench/aio_load ---- */

/* One load run against server s; true with *rate, *p99 (us) and *cpu (the
 * server's CPU us per round trip, warm-up and connection set-up included)
 * on success. */
static bool run_load(bench_ctx *c, const char *load, server *s, int conns, double *rate,
                     double *p99, double *cpu) {
  unsigned ms = c->size.aio_ms, warm = ms / 4 < 200 ? ms / 4 : 200;
  char p[16], cs[16], mss[16], ws[16], out[512];
  snprintf(p, sizeof p, "%d", s->port);
  snprintf(cs, sizeof cs, "%d", conns);
  snprintf(mss, sizeof mss, "%u", ms);
  snprintf(ws, sizeof ws, "%u", warm);
  const char *argv[] = {load, "127.0.0.1", p, cs, mss, ws, NULL};
  aio_child ch;
  uint64_t cpu0 = aio_cpu_ns(s->child.pid);
  if (aio_child_start(&ch, (char *const *)argv) != 0) return false;
  int st = aio_child_output(&ch, out, sizeof out, ms + warm + 20000);
  uint64_t cpu1 = aio_cpu_ns(s->child.pid);
  double all = aio_json_number(out, "all_trips", 0);
  *rate = aio_json_number(out, "rate", 0);
  *p99 = aio_json_number(out, "p99_us", 0);
  *cpu = all > 0 && cpu0 && cpu1 > cpu0 ? (double)(cpu1 - cpu0) / 1e3 / all : 0;
  return st == 0 && *rate > 0;
}

int bench_a1_echo(bench_ctx *c) {
  char load[4300];
  snprintf(load, sizeof load, "%s/aio_load", c->peer_dir);
  if (access(load, X_OK) != 0) {
    aio_skip(c, "A1", "bench/aio_load not built");
    return 1;
  }
  server sv[MAX_SERVERS];
  int n = define_servers(c, sv, false), runs = c->size.aio_runs;
  if (runs > MAX_RUNS) runs = MAX_RUNS;
  for (int i = 0; i < n; i++) start_server(c, "A1", &sv[i]);
  int failed = sv[0].port == 0;
  for (size_t k = 0; k < sizeof aio_a1_conns / sizeof aio_a1_conns[0]; k++) {
    int conns = aio_a1_conns[k];
    for (int i = 0; i < n; i++) sv[i].runs = 0;
    for (int run = 0; run < runs; run++)
      for (int i = 0; i < n; i++) {
        server *s = &sv[i];
        double rate, p99, cpu;
        if (!s->port) continue;
        if (run_load(c, load, s, conns, &rate, &p99, &cpu)) {
          bench_progress(c, "A1 %-16s %4d conns, run %d: %9.0f trips/s, p99 %7.1f us, "
                         "server CPU %.2f us/trip", s->impl, conns, run + 1, rate, p99, cpu);
          s->rate[s->runs] = rate;
          s->cpu[s->runs] = cpu;
          s->p99[s->runs++] = p99;
        } else {
          bench_progress(c, "A1 %s %d conns, run %d: failed", s->impl, conns, run + 1);
        }
      }
    char kase[32], ckase[32];
    snprintf(kase, sizeof kase, "echo_c%d", conns);
    snprintf(ckase, sizeof ckase, "cpu_c%d", conns);
    for (int i = 0; i < n; i++) {
      if (sv[i].runs) {
        bench_emit(c, "A1", kase, sv[i].impl, sv[i].threads, median_of(sv[i].rate, sv[i].runs),
                   "trips/s", true, NULL);
        double cpu = median_of(sv[i].cpu, sv[i].runs);
        if (cpu > 0) bench_emit(c, "A1", ckase, sv[i].impl, sv[i].threads, cpu, "us/trip",
                                false, NULL);
      } else if (i == 0) {
        failed = 1;
      }
    }
  }
  stop_servers(sv, n);
  return failed;
}

/* ---- A2: HTTP under wrk ---- */

/* wrk's latency, e.g. "1.23ms", in us. */
static double wrk_us(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (end == s) return 0;
  if (strncmp(end, "us", 2) == 0) return v;
  if (strncmp(end, "ms", 2) == 0) return v * 1e3;
  if (*end == 's') return v * 1e6;
  return 0;
}

/* Parses wrk --latency output: requests/s, the 99% line of the latency
 * distribution, and the count of requests ("N requests in 1.00s"). A run
 * with non-2xx answers is refused (a broken server must not look fast);
 * socket errors are reported. */
static bool parse_wrk(bench_ctx *c, const char *out, double *rps, double *p99,
                      double *reqs) {
  const char *r = strstr(out, "Requests/sec:"), *l = strstr(out, "Latency Distribution");
  const char *in = strstr(out, " requests in ");
  *reqs = 0;
  if (in) {
    const char *b = in;
    while (b > out && b[-1] >= '0' && b[-1] <= '9') b--;
    *reqs = strtod(b, NULL);
  }
  const char *q = l ? strstr(l, "99%") : NULL;
  if (strstr(out, "Non-2xx")) {
    bench_progress(c, "A2: wrk saw non-2xx answers: run refused");
    return false;
  }
  const char *err = strstr(out, "Socket errors:");
  if (err) bench_progress(c, "A2: wrk %.*s", (int)strcspn(err, "\n"), err);
  if (!r || !q) return false;
  *rps = strtod(r + strlen("Requests/sec:"), NULL);
  *p99 = wrk_us(q + 3 + strspn(q + 3, " "));
  return *rps > 0 && *p99 > 0;
}

/* One wrk run against server s: *rps, *p99 (us) and *cpu (the server's CPU
 * us per request, all its threads). */
static bool run_wrk(bench_ctx *c, server *s, double *rps, double *p99, double *cpu) {
  unsigned secs = (c->size.aio_ms + 999) / 1000;
  char d[16], url[64], cs[16], out[4096];
  snprintf(d, sizeof d, "%us", secs ? secs : 1);
  snprintf(cs, sizeof cs, "%d", AIO_A2_CONNS);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
  const char *argv[] = {"wrk", "-t1", "-c", cs, "-d", d, "--latency", url, NULL};
  aio_child ch;
  uint64_t cpu0 = aio_cpu_ns(s->child.pid);
  if (aio_child_start(&ch, (char *const *)argv) != 0) return false;
  int st = aio_child_output(&ch, out, sizeof out, secs * 1000 + 20000);
  uint64_t cpu1 = aio_cpu_ns(s->child.pid);
  double reqs = 0;
  if (st != 0 || !parse_wrk(c, out, rps, p99, &reqs)) return false;
  *cpu = reqs > 0 && cpu0 && cpu1 > cpu0 ? (double)(cpu1 - cpu0) / 1e3 / reqs : 0;
  return true;
}

int bench_a2_http(bench_ctx *c) {
  server sv[MAX_SERVERS];
  int n = define_servers(c, sv, true), runs = c->size.aio_runs;
  if (runs > MAX_RUNS) runs = MAX_RUNS;
  for (int i = 0; i < n; i++) start_server(c, "A2", &sv[i]);
  int failed = sv[0].port == 0;
  bool no_wrk = false;
  for (int run = 0; run < runs && !no_wrk; run++)
    for (int i = 0; i < n && !no_wrk; i++) {
      server *s = &sv[i];
      double rps, p99, cpu;
      if (!s->port) continue;
      if (run_wrk(c, s, &rps, &p99, &cpu)) {
        bench_progress(c, "A2 %-16s %d loop(s), run %d: %9.0f req/s, p99 %7.1f us, "
                       "server CPU %.2f us/req", s->impl, s->threads, run + 1, rps, p99, cpu);
        s->rate[s->runs] = rps;
        s->cpu[s->runs] = cpu;
        s->p99[s->runs++] = p99;
      } else if (run == 0 && i == 0 && access("/usr/bin/wrk", X_OK) != 0) {
        no_wrk = true;  /* checked after a failure only: wrk may be elsewhere in PATH */
      } else {
        bench_progress(c, "A2 %s, run %d: failed", s->impl, run + 1);
      }
    }
  if (no_wrk) aio_skip(c, "A2", "wrk not found (Debian package wrk)");
  char kase[32], pkase[32], ckase[32];
  snprintf(kase, sizeof kase, "http_c%d", AIO_A2_CONNS);
  snprintf(pkase, sizeof pkase, "p99_c%d", AIO_A2_CONNS);
  snprintf(ckase, sizeof ckase, "cpu_c%d", AIO_A2_CONNS);
  for (int i = 0; i < n; i++)
    if (sv[i].runs) {
      bench_emit(c, "A2", kase, sv[i].impl, sv[i].threads, median_of(sv[i].rate, sv[i].runs),
                 "req/s", true, NULL);
      bench_emit(c, "A2", pkase, sv[i].impl, sv[i].threads, median_of(sv[i].p99, sv[i].runs),
                 "us", false, NULL);
      double cpu = median_of(sv[i].cpu, sv[i].runs);
      if (cpu > 0) bench_emit(c, "A2", ckase, sv[i].impl, sv[i].threads, cpu, "us/req", false,
                              NULL);
    } else if (sv[i].threads == 1 && strcmp(sv[i].impl, "weft") == 0 && !no_wrk) {
      failed = 1;
    }
  stop_servers(sv, n);
  return failed;
}

/* ---- A3: weft in this process, asyncio as a child ---- */

static void a3_asyncio(bench_ctx *c) {
  char script[4300], size[24], reps[16], out[4096];
  snprintf(script, sizeof script, "%s/peer_asyncio.py", c->peer_dir);
  if (access(script, R_OK) != 0) {
    aio_skip(c, "A3 asyncio", "not built");
    return;
  }
  snprintf(size, sizeof size, "%zu", c->size.a3_tasks);
  snprintf(reps, sizeof reps, "%d", c->reps);
  const char *argv[] = {aio_python(), script, "A3", size, "1", reps, NULL};
  bench_progress(c, "A3 asyncio and uvloop: peer_asyncio.py A3 %s 1 %s", size, reps);
  aio_child ch;
  if (aio_child_start(&ch, (char *const *)argv) != 0) return;
  /* asyncio: ~15 us per task and ~9 us per trip; 4 runs of each, 2 loops */
  unsigned limit = 30000 + (unsigned)(c->size.a3_tasks / 1000) * 200 * (unsigned)(c->reps + 1);
  if (aio_child_output(&ch, out, sizeof out, limit) != 0) {
    aio_skip(c, "A3 asyncio", "the peer failed");
    return;
  }
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    char kase[32], impl[24], unit[16];
    aio_json_string(line, "case", kase, sizeof kase);
    aio_json_string(line, "impl", impl, sizeof impl);
    aio_json_string(line, "unit", unit, sizeof unit);
    double v = aio_json_number(line, "value", 0);
    if (kase[0] && impl[0] && v > 0) bench_emit(c, "A3", kase, impl, 1, v, unit, false, NULL);
  }
}

int bench_a3_tasks(bench_ctx *c) {
  int failed = bench_a3_weft(c);
  a3_asyncio(c);
  return failed;
}
