/* bench/aio_load.c — the load generator of `weft bench aio` A1: one plain
 * libuv client process that drives every echo server the same way.
 *
 *   aio_load HOST PORT CONNS MS [WARMUP_MS [SIZE]]
 *
 * Opens CONNS TCP connections to HOST:PORT (numeric IPv4), and on each one
 * plays ping-pong: send SIZE bytes (default 64), wait until SIZE bytes came
 * back, send again. Once every connection is up it runs WARMUP_MS (default
 * 200) unmeasured, then counts the round trips completed in the next MS
 * milliseconds and times each one (send to last byte back). Prints one JSON
 * line:
 *
 *   {"conns":100,"trips":312345,"secs":2.0001,"rate":156170,"p50_us":..,"p99_us":..,
 *    "all_trips":343210}
 *
 * (all_trips counts the warm-up's trips too: the harness divides the
 * server's CPU time over the whole run by it.)
 * and exits 0; exits 1 when a connection fails, the server echoes the wrong
 * number of bytes, or the connections are not all up within 10 s. A hard
 * alarm ends the process whatever happens, so a stuck server never hangs a
 * benchmark run. Written against libuv alone (no weft) so that weft's own
 * server and its peers all face the identical client. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SIZE 4096
#define CONNECT_LIMIT_MS 10000

/* Latency histogram: 64 linear sub-buckets per power of two of nanoseconds
 * (under 1.6% error), enough for any percentile without storing samples. */
#define SUB 64
#define POWERS 40
static uint64_t hist[POWERS * SUB];

static unsigned bucket_of(uint64_t ns) {
  if (ns < SUB) return (unsigned)ns;
  unsigned e = 63u - (unsigned)__builtin_clzll(ns);  /* e >= 6 */
  unsigned i = (e - 5) * SUB + (unsigned)((ns >> (e - 6)) & (SUB - 1));
  return i < POWERS * SUB ? i : POWERS * SUB - 1;
}

static double bucket_value(unsigned i) {
  if (i < SUB) return i;
  unsigned e = i / SUB + 5, sub = i % SUB;
  return (double)((1ull << e) + ((uint64_t)sub << (e - 6)));
}

static double percentile_us(uint64_t total, double p) {
  uint64_t want = (uint64_t)(p * (double)total), seen = 0;
  for (unsigned i = 0; i < POWERS * SUB; i++) {
    seen += hist[i];
    if (seen > want) return bucket_value(i) / 1e3;
  }
  return 0;
}

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  size_t got;           /* bytes of the current reply received */
  uint64_t sent_ns;
  char rbuf[MAX_SIZE];
} conn;

static struct {
  uv_loop_t *loop;
  conn *conns;
  size_t nconns, size, connected;
  uint64_t warmup_ms, measure_ms;
  bool measuring;
  uint64_t trips, t0;
  uint64_t all_trips;   /* warm-up included: for the server's CPU per trip */
  uv_timer_t timer;
} L;

static char msg[MAX_SIZE];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what, int err) {
  fprintf(stderr, "aio_load: %s: %s\n", what, err ? uv_strerror(err) : "protocol error");
  exit(1);
}

static void on_written(uv_write_t *req, int status) {
  (void)req;
  if (status < 0) fail("write", status);
}

/* One request: straight into the kernel when it takes it (always, for 64
 * bytes on an idle socket), else through uv_write. */
static void send_msg(conn *c) {
  c->sent_ns = now_ns();
  uv_buf_t b = uv_buf_init(msg, (unsigned)L.size);
  int done = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (done == UV_EAGAIN) done = 0;
  if (done < 0) fail("write", done);
  if ((size_t)done == L.size) return;
  b = uv_buf_init(msg + done, (unsigned)(L.size - (size_t)done));
  int e = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written);
  if (e) fail("write", e);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  conn *c = h->data;
  *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  conn *c = s->data;
  if (nread < 0) fail("read", (int)nread);
  c->got += (size_t)nread;
  if (c->got < L.size) return;
  if (c->got > L.size) fail("the server sent more than was sent to it", 0);
  c->got = 0;
  L.all_trips++;
  if (L.measuring) {
    L.trips++;
    hist[bucket_of(now_ns() - c->sent_ns)]++;
  }
  send_msg(c);
}

static void on_measured(uv_timer_t *t) {
  (void)t;
  double secs = (double)(now_ns() - L.t0) / 1e9;
  printf("{\"conns\":%zu,\"trips\":%llu,\"secs\":%.4f,\"rate\":%.1f,\"p50_us\":%.2f,"
         "\"p99_us\":%.2f,\"all_trips\":%llu}\n",
         L.nconns, (unsigned long long)L.trips, secs, (double)L.trips / secs,
         percentile_us(L.trips, 0.50), percentile_us(L.trips, 0.99),
         (unsigned long long)L.all_trips);
  fflush(stdout);
  exit(0);  /* the kernel closes the sockets: no need to unwind the loop */
}

static void on_warm(uv_timer_t *t) {
  L.measuring = true;
  L.t0 = now_ns();
  uv_timer_start(t, on_measured, L.measure_ms, 0);
}

static void on_connect_limit(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "aio_load: only %zu of %zu connections up after %d ms\n", L.connected,
          L.nconns, CONNECT_LIMIT_MS);
  exit(1);
}

static void on_connect(uv_connect_t *req, int status) {
  conn *c = req->handle->data;
  if (status < 0) fail("connect", status);
  uv_tcp_nodelay(&c->tcp, 1);
  int e = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (e) fail("read_start", e);
  send_msg(c);
  if (++L.connected == L.nconns) uv_timer_start(&L.timer, on_warm, L.warmup_ms, 0);
}

static void raise_fd_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 7) {
    fprintf(stderr, "usage: %s HOST PORT CONNS MS [WARMUP_MS [SIZE]]\n", argv[0]);
    return 2;
  }
  struct sockaddr_in addr;
  L.nconns = strtoul(argv[3], NULL, 10);
  L.measure_ms = strtoull(argv[4], NULL, 10);
  L.warmup_ms = argc > 5 ? strtoull(argv[5], NULL, 10) : 200;
  L.size = argc > 6 ? strtoul(argv[6], NULL, 10) : 64;
  if (uv_ip4_addr(argv[1], atoi(argv[2]), &addr) != 0 || L.nconns < 1 || L.measure_ms < 1 ||
      L.size < 1 || L.size > MAX_SIZE) {
    fprintf(stderr, "aio_load: bad arguments\n");
    return 2;
  }
  /* whatever goes wrong, this process ends: connect limit + both phases + slack */
  alarm((unsigned)((CONNECT_LIMIT_MS + L.warmup_ms + L.measure_ms) / 1000 + 10));
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  memset(msg, 'x', sizeof msg);
  L.loop = uv_default_loop();
  L.conns = calloc(L.nconns, sizeof *L.conns);
  if (!L.conns) fail("out of memory", UV_ENOMEM);
  uv_timer_init(L.loop, &L.timer);
  uv_timer_start(&L.timer, on_connect_limit, CONNECT_LIMIT_MS, 0);
  for (size_t i = 0; i < L.nconns; i++) {
    conn *c = &L.conns[i];
    uv_tcp_init(L.loop, &c->tcp);
    c->tcp.data = c;
    int e = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&addr, on_connect);
    if (e) fail("connect", e);
  }
  uv_run(L.loop, UV_RUN_DEFAULT);
  fprintf(stderr, "aio_load: the loop ended early\n");
  return 1;
}
