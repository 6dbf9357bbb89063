/* tests/test_aio_stream.c — aio streams: echo round trips with checked
 * content, read / read_exactly / read_line (ERANGE, EEOF, partial), one
 * reader and one writer at once (a second reader is EBUSY), pipes through
 * weft_aio_stream_open_fd, half-close, peer reset, cancellation in the
 * middle of a read and of a write, timeouts from cancel scopes, close from
 * another task, and a fast writer against a slow reader (the queue stays
 * under the high mark plus one write).
 *
 * Task bodies record the first failed check in g_fail and return; the test
 * function reports it after weft_aio_run (a cmocka failure must not longjmp
 * off a coroutine stack). Every test also compares open fds before/after. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "aio/stream_internal.h"
#include "testutil.h"
#include "aio_testutil.h"
#include "weft/aio.h"

#define MS WEFT_MS

/* ---- helpers (in tasks) ---- */

/* A connected TCP pair on loopback: *c the client end, *s the server end. */
static int tcp_pair(weft_aio_stream **c, weft_aio_stream **s) {
  weft_aio_server *srv;
  int rc = weft_aio_tcp_listen("127.0.0.1", 0, 16, 0, &srv);
  if (rc) return rc;
  rc = weft_aio_tcp_connect("127.0.0.1", weft_aio_server_port(srv), c);
  if (!rc) rc = weft_aio_accept(srv, s);
  weft_aio_server_close(srv);
  return rc;
}

/* A Unix socketpair with small kernel buffers (16 KB), so that a writer
 * reaches the stream's own queue quickly. */
static int small_pair(weft_aio_stream **a, weft_aio_stream **b) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) return WEFT_EIO;
  int sz = 16384;
  for (int i = 0; i < 2; i++) {
    setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  }
  int rc = weft_aio_stream_open_fd(sv[0], a);
  if (rc) {
    close(sv[0]);
    close(sv[1]);
    return rc;
  }
  rc = weft_aio_stream_open_fd(sv[1], b);
  if (rc) close(sv[1]);
  return rc;
}

static unsigned char pattern(size_t seed, size_t i) {
  return (unsigned char)((i * 131 + seed * 7 + (i >> 8)) & 0xff);
}

/* ---- echo round trips ---- */

struct echo_job {
  weft_aio_stream *s;
  size_t size, seed;
};

static int echo_writer(void *arg) {
  struct echo_job *j = arg;
  unsigned char chunk[7000];
  size_t step = 1;
  for (size_t off = 0; off < j->size;) {
    size_t k = step < j->size - off ? step : j->size - off;
    if (k > sizeof chunk) k = sizeof chunk;
    for (size_t i = 0; i < k; i++) chunk[i] = pattern(j->seed, off + i);
    int rc = weft_aio_write(j->s, chunk, k);
    if (rc) return rc;
    off += k;
    step = step * 3 + 1; /* 1, 4, 13, 40 ... capped: varied write sizes */
  }
  return 0;
}

static int echo_main(void *arg) {
  (void)arg;
  weft_aio_stream *c, *s;
  T_OK(tcp_pair(&c, &s));
  weft_aio_task *srv;
  T_OK(weft_aio_spawn(echo_conn, s, &srv));
  static const size_t sizes[] = {1, 7, 64, 1000, 65536, 1 << 20};
  static unsigned char got[1 << 20];
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    struct echo_job j = {c, sizes[k], k};
    weft_aio_task *w;
    T_OK(weft_aio_spawn(echo_writer, &j, &w)); /* a writer and a reader at once */
    size_t n = 0;
    T_OK(weft_aio_read_exactly(c, got, j.size, &n));
    T_EQ(n, j.size);
    for (size_t i = 0; i < j.size; i++)
      if (got[i] != pattern(k, i)) T_EQ(i, (size_t)-1); /* report the offset */
    T_OK(weft_aio_await(w));
    weft_aio_task_release(w);
  }
  /* 64-byte ping-pong, the benchmark's pattern */
  char ping[64], pong[64];
  for (int i = 0; i < 200; i++) {
    memset(ping, 'a' + i % 26, sizeof ping);
    T_OK(weft_aio_write(c, ping, sizeof ping));
    T_OK(weft_aio_read_exactly(c, pong, sizeof pong, NULL));
    T_TRUE(memcmp(ping, pong, sizeof ping) == 0);
  }
  T_OK(weft_aio_drain(c));
  T_EQ(weft__aio_stream_queued(c), 0);
  T_OK(weft_aio_shutdown(c));
  char b;
  size_t n;
  T_RC(weft_aio_read(c, &b, 1, &n), WEFT_EEOF); /* the server closed after our EOF */
  T_OK(weft_aio_await(srv));
  weft_aio_task_release(srv);
  weft_aio_close(c);
  return 0;
}

static void test_echo(void **state) {
  (void)state;
  run_main(echo_main, NULL);
}

/* ---- read_line, read_exactly: ERANGE, EEOF, partial ---- */

static int lines_main(void *arg) {
  (void)arg;
  weft_aio_stream *c, *s;
  T_OK(tcp_pair(&c, &s));
  const char *text = "hello\nworld, this is long\nabc\nabcd\ntail";
  T_OK(weft_aio_write(s, text, strlen(text)));
  T_OK(weft_aio_shutdown(s));
  char line[64];
  size_t n = 99;
  T_OK(weft_aio_read_line(c, line, sizeof line, &n));
  T_EQ(n, 6);
  T_TRUE(strcmp(line, "hello\n") == 0);
  T_RC(weft_aio_read_line(c, line, 8, &n), WEFT_ERANGE); /* 20 bytes > 7 */
  T_EQ(n, 0);
  T_OK(weft_aio_read(c, line, 5, &n)); /* the long line stayed buffered */
  T_EQ(n, 5);
  T_TRUE(memcmp(line, "world", 5) == 0);
  T_OK(weft_aio_read_line(c, line, sizeof line, &n));
  T_TRUE(strcmp(line, ", this is long\n") == 0);
  T_OK(weft_aio_read_line(c, line, 5, &n)); /* exactly cap - 1 bytes: fits */
  T_TRUE(strcmp(line, "abc\n") == 0);
  T_RC(weft_aio_read_line(c, line, 5, &n), WEFT_ERANGE); /* cap bytes: too long */
  T_OK(weft_aio_read_line(c, line, 6, &n));
  T_TRUE(strcmp(line, "abcd\n") == 0);
  T_OK(weft_aio_read_line(c, line, sizeof line, &n)); /* last line, no '\n' */
  T_EQ(n, 4);
  T_TRUE(strcmp(line, "tail") == 0);
  T_RC(weft_aio_read_line(c, line, sizeof line, &n), WEFT_EEOF);
  T_RC(weft_aio_read(c, line, sizeof line, &n), WEFT_EEOF);
  T_RC(weft_aio_read_exactly(c, line, 1, &n), WEFT_EEOF);
  T_EQ(n, 0);
  T_RC(weft_aio_read_line(c, line, 1, &n), WEFT_EINVAL);
  T_RC(weft_aio_read(c, line, 0, &n), WEFT_EINVAL);
  weft_aio_close(c);
  weft_aio_close(s);

  /* read_exactly: the stream ends after 5 of 10 bytes */
  T_OK(tcp_pair(&c, &s));
  T_OK(weft_aio_write(s, "12345", 5));
  weft_aio_close(s); /* close drops nothing here: 5 bytes went out at once */
  char buf[10];
  size_t got = 99;
  T_RC(weft_aio_read_exactly(c, buf, sizeof buf, &got), WEFT_EEOF);
  T_EQ(got, 5);
  T_TRUE(memcmp(buf, "12345", 5) == 0);
  T_OK(weft_aio_read_exactly(c, buf, 0, &got)); /* nothing asked: nothing to wait for */
  weft_aio_close(c);
  return 0;
}

static void test_lines_and_exactly(void **state) {
  (void)state;
  run_main(lines_main, NULL);
}

/* ---- a second reader is EBUSY ---- */

struct rec {
  weft_aio_stream *s;
  int rc;
  size_t n, total;
  char buf[64];
};

static int one_read(void *arg) {
  struct rec *r = arg;
  r->rc = weft_aio_read(r->s, r->buf, sizeof r->buf, &r->n);
  return 0;
}

static int busy_main(void *arg) {
  (void)arg;
  weft_aio_stream *c, *s;
  T_OK(tcp_pair(&c, &s));
  struct rec r = {.s = c, .rc = 1};
  weft_aio_task *t;
  T_OK(weft_aio_spawn(one_read, &r, &t));
  T_OK(weft_aio_sleep(2 * MS)); /* r waits now */
  char b[4];
  size_t n;
  T_RC(weft_aio_read(c, b, sizeof b, &n), WEFT_EBUSY);
  T_RC(weft_aio_read_line(c, b, sizeof b, &n), WEFT_EBUSY);
  T_OK(weft_aio_write(s, "x", 1));
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  T_OK(r.rc);
  T_EQ(r.n, 1);
  T_EQ(r.buf[0], 'x');
  weft_aio_close(c);
  weft_aio_close(s);
  return 0;
}

static void test_second_reader_busy(void **state) {
  (void)state;
  run_main(busy_main, NULL);
}

/* ---- a pipe through weft_aio_stream_open_fd ---- */

static int pipe_writer(void *arg) {
  weft_aio_stream *w = arg;
  unsigned char chunk[1000];
  for (size_t off = 0; off < 300000; off += sizeof chunk) {
    for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = pattern(9, off + i);
    int rc = weft_aio_write(w, chunk, sizeof chunk);
    if (rc) return rc;
  }
  int rc = weft_aio_drain(w);
  weft_aio_close(w); /* the reader sees EOF */
  return rc;
}

static int pipe_main(void *arg) {
  (void)arg;
  int fds[2];
  T_EQ(pipe2(fds, O_CLOEXEC), 0);
  weft_aio_stream *r, *w;
  T_OK(weft_aio_stream_open_fd(fds[0], &r));
  T_OK(weft_aio_stream_open_fd(fds[1], &w));
  weft_aio_task *t;
  T_OK(weft_aio_spawn(pipe_writer, w, &t)); /* 300 KB through a 64 KB pipe */
  static unsigned char buf[300000];
  size_t got = 0;
  T_OK(weft_aio_read_exactly(r, buf, sizeof buf, &got));
  for (size_t i = 0; i < sizeof buf; i++)
    if (buf[i] != pattern(9, i)) T_EQ(i, (size_t)-1);
  size_t n;
  T_RC(weft_aio_read(r, buf, 1, &n), WEFT_EEOF);
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  weft_aio_close(r);
  T_RC(weft_aio_stream_open_fd(-1, &r), WEFT_EINVAL);
  return 0;
}

static void test_pipe_open_fd(void **state) {
  (void)state;
  run_main(pipe_main, NULL);
}

/* ---- half-close: our EOF, then the peer still answers ---- */

static int half_server(void *arg) {
  weft_aio_stream *s = arg;
  char buf[256];
  size_t total = 0, n;
  int rc;
  while (!(rc = weft_aio_read(s, buf, sizeof buf, &n))) total += n;
  if (rc != WEFT_EEOF) return rc;
  int len = snprintf(buf, sizeof buf, "got %zu bytes\n", total);
  rc = weft_aio_write(s, buf, (size_t)len);
  if (!rc) rc = weft_aio_drain(s);
  weft_aio_close(s);
  return rc;
}

static int half_main(void *arg) {
  (void)arg;
  weft_aio_stream *c, *s;
  T_OK(tcp_pair(&c, &s));
  weft_aio_task *t;
  T_OK(weft_aio_spawn(half_server, s, &t));
  for (int i = 0; i < 3; i++) T_OK(weft_aio_write(c, "ping", 4));
  T_OK(weft_aio_shutdown(c));
  T_RC(weft_aio_shutdown(c), WEFT_EALREADY);
  T_RC(weft_aio_write(c, "late", 4), WEFT_EPIPE);
  char line[64];
  size_t n;
  T_OK(weft_aio_read_line(c, line, sizeof line, &n));
  T_TRUE(strcmp(line, "got 12 bytes\n") == 0);
  T_RC(weft_aio_read(c, line, sizeof line, &n), WEFT_EEOF);
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  weft_aio_close(c);
  return 0;
}

static void test_half_close(void **state) {
  (void)state;
  run_main(half_main, NULL);
}

/* ---- peer reset (SO_LINGER 0 close) ---- */

static int reset_main(void *arg) {
  (void)arg;
  weft_aio_server *srv;
  T_OK(weft_aio_tcp_listen("127.0.0.1", 0, 16, 0, &srv));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  T_TRUE(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)weft_aio_server_port(srv))};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  T_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0); /* the kernel completes it */
  weft_aio_stream *s;
  T_OK(weft_aio_accept(srv, &s));
  weft_aio_server_close(srv);
  T_EQ(write(fd, "hi", 2), 2);
  char buf[8];
  size_t n;
  T_OK(weft_aio_read_exactly(s, buf, 2, &n)); /* data before the reset arrives */
  struct linger lg = {1, 0};
  T_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(fd); /* RST */
  T_RC(weft_aio_read(s, buf, sizeof buf, &n), WEFT_ECONNRESET);
  T_RC(weft_aio_read(s, buf, sizeof buf, &n), WEFT_ECONNRESET); /* sticky */
  int rc = weft_aio_write(s, "x", 1);
  T_TRUE(rc == WEFT_EPIPE || rc == WEFT_ECONNRESET);
  weft_aio_close(s);
  return 0;
}

static void test_peer_reset(void **state) {
  (void)state;
  run_main(reset_main, NULL);
}

/* ---- cancellation in the middle of a read ---- */

static int exact10(void *arg) {
  struct rec *r = arg;
  r->rc = weft_aio_read_exactly(r->s, r->buf, 10, &r->n);
  return 0;
}

static int cancel_read_main(void *arg) {
  (void)arg;
  weft_aio_stream *c, *s;
  T_OK(tcp_pair(&c, &s));
  struct rec r = {.s = c, .rc = 1};
  weft_aio_task *t;
  T_OK(weft_aio_spawn(exact10, &r, &t));
  T_OK(weft_aio_write(s, "abc", 3));
  T_OK(weft_aio_sleep(5 * MS)); /* r holds 3 bytes and waits for 7 */
  T_EQ(r.rc, 1);
  T_OK(weft_aio_cancel(t));
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  T_RC(r.rc, WEFT_ECANCELED);
  T_EQ(r.n, 0); /* put back: nothing consumed */
  T_OK(weft_aio_write(s, "defghij", 7));
  char buf[11] = {0};
  T_OK(weft_aio_read_exactly(c, buf, 10, NULL));
  T_TRUE(strcmp(buf, "abcdefghij") == 0);

  /* a plain read, cancelled; what arrives later stays buffered */
  r = (struct rec){.s = c, .rc = 1};
  T_OK(weft_aio_spawn(one_read, &r, &t));
  T_OK(weft_aio_sleep(2 * MS));
  T_OK(weft_aio_cancel(t));
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  T_RC(r.rc, WEFT_ECANCELED);
  T_OK(weft_aio_write(s, "later", 5));
  T_OK(weft_aio_read_exactly(c, buf, 5, NULL));
  T_TRUE(memcmp(buf, "later", 5) == 0);
  weft_aio_close(c);
  weft_aio_close(s);
  return 0;
}

static void test_cancel_read(void **state) {
  (void)state;
  run_main(cancel_read_main, NULL);
}

/* ---- cancellation in the middle of a write ---- */

enum { CHUNK = 16384 };

struct wjob {
  weft_aio_stream *s;
  int rc;
  size_t queued_bytes; /* bytes write accepted (incl. a cancelled write's) */
  size_t max_queued, limit, blocks;
};

static void fill_chunk(unsigned char *c, size_t off, size_t n) {
  for (size_t i = 0; i < n; i++) c[i] = pattern(3, off + i);
}

/* Writes until a write fails or `limit` bytes went out. */
static int flood(void *arg) {
  struct wjob *j = arg;
  static unsigned char chunk[CHUNK];
  while (j->queued_bytes < j->limit) {
    fill_chunk(chunk, j->queued_bytes, CHUNK);
    if (weft__aio_stream_queued(j->s) + CHUNK > WEFT__WQ_HIGH) j->blocks++;
    j->rc = weft_aio_write(j->s, chunk, CHUNK);
    if (j->rc && j->rc != WEFT_ECANCELED && j->rc != WEFT_ETIMEDOUT) return 0;
    j->queued_bytes += CHUNK; /* a cancelled write's bytes stay queued */
    size_t q = weft__aio_stream_queued(j->s);
    if (q > j->max_queued) j->max_queued = q;
    if (j->rc) return 0;
  }
  return 0;
}

/* Reads everything until EOF, checking the pattern; returns the count. */
static int read_all_checked(weft_aio_stream *s, size_t *total, size_t *max_seen,
                            weft_aio_stream *watched) {
  static unsigned char buf[4096];
  size_t n;
  int rc;
  *total = 0;
  while (!(rc = weft_aio_read(s, buf, sizeof buf, &n))) {
    for (size_t i = 0; i < n; i++)
      if (buf[i] != pattern(3, *total + i)) T_EQ(*total + i, (size_t)-1);
    *total += n;
    if (watched && max_seen) {
      size_t q = weft__aio_stream_queued(watched);
      if (q > *max_seen) *max_seen = q;
      if (*total % (32 * 1024) < n) weft_aio_sleep(1 * MS); /* slow reader */
    }
  }
  return rc == WEFT_EEOF ? 0 : rc;
}

static int drain_and_shut(void *arg) {
  weft_aio_stream *s = arg;
  int rc = weft_aio_drain(s);
  if (!rc) rc = weft_aio_shutdown(s);
  return rc;
}

/* Sleeps until s has more than `mark` bytes queued (5 s at most). */
static int wait_queued_above(weft_aio_stream *s, size_t mark) {
  for (int i = 0; i < 5000; i++) {
    if (weft__aio_stream_queued(s) > mark) return 0;
    int rc = weft_aio_sleep(1 * MS);
    if (rc) return rc;
  }
  return WEFT_ETIMEDOUT;
}

static int cancel_write_main(void *arg) {
  (void)arg;
  weft_aio_stream *a, *b;
  T_OK(small_pair(&a, &b));
  struct wjob j = {.s = a, .limit = 64u << 20};
  weft_aio_task *t;
  T_OK(weft_aio_spawn(flood, &j, &t));
  T_OK(wait_queued_above(a, WEFT__WQ_HIGH)); /* the writer waits for room */
  T_OK(weft_aio_cancel(t));
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  T_RC(j.rc, WEFT_ECANCELED);
  T_TRUE(j.max_queued <= WEFT__WQ_HIGH + CHUNK);
  T_TRUE(weft__aio_stream_queued(a) > 0); /* still queued, will be sent */
  weft_aio_task *d;
  T_OK(weft_aio_spawn(drain_and_shut, a, &d));
  size_t total = 0;
  T_OK(read_all_checked(b, &total, NULL, NULL));
  T_EQ(total, j.queued_bytes); /* nothing lost, nothing doubled */
  T_OK(weft_aio_await(d));
  weft_aio_task_release(d);
  weft_aio_close(a);
  weft_aio_close(b);
  return 0;
}

static void test_cancel_write(void **state) {
  (void)state;
  run_main(cancel_write_main, NULL);
}

/* ---- timeouts from cancel scopes ---- */

static int timeout_main(void *arg) {
  (void)arg;
  weft_aio_stream *c, *s;
  T_OK(tcp_pair(&c, &s));
  char buf[8];
  size_t n;
  weft_aio_scope sc;
  uint64_t t0 = weft_now_ns();
  weft_aio_scope_enter(&sc, 20 * MS);
  T_RC(weft_aio_read(c, buf, sizeof buf, &n), WEFT_ETIMEDOUT);
  T_RC(weft_aio_scope_exit(&sc), WEFT_ETIMEDOUT);
  T_TRUE(weft_now_ns() - t0 >= 19 * MS);
  T_OK(weft_aio_write(s, "ok", 2)); /* the stream is still fine */
  T_OK(weft_aio_read_exactly(c, buf, 2, &n));
  T_TRUE(memcmp(buf, "ok", 2) == 0);
  weft_aio_close(c);
  weft_aio_close(s);

  /* a write that waits for room, under a deadline */
  weft_aio_stream *a, *b;
  T_OK(small_pair(&a, &b));
  struct wjob j = {.s = a, .limit = 64u << 20};
  weft_aio_scope_enter(&sc, 30 * MS);
  flood(&j);
  T_RC(weft_aio_scope_exit(&sc), WEFT_ETIMEDOUT);
  T_RC(j.rc, WEFT_ETIMEDOUT);
  weft_aio_task *d;
  T_OK(weft_aio_spawn(drain_and_shut, a, &d));
  size_t total = 0;
  T_OK(read_all_checked(b, &total, NULL, NULL));
  T_EQ(total, j.queued_bytes);
  T_OK(weft_aio_await(d));
  weft_aio_task_release(d);
  weft_aio_close(a);
  weft_aio_close(b);
  return 0;
}

static void test_timeouts(void **state) {
  (void)state;
  run_main(timeout_main, NULL);
}

/* ---- close from another task wakes the reader and the writer ---- */

static int close_main(void *arg) {
  (void)arg;
  weft_aio_stream *a, *b;
  T_OK(small_pair(&a, &b));
  struct rec r = {.s = a, .rc = 1};
  struct wjob j = {.s = a, .limit = 64u << 20};
  weft_aio_task *tr, *tw;
  T_OK(weft_aio_spawn(one_read, &r, &tr));
  T_OK(weft_aio_spawn(flood, &j, &tw));
  T_OK(wait_queued_above(a, WEFT__WQ_HIGH));
  T_EQ(r.rc, 1); /* still waiting */
  weft_aio_close(a);
  T_OK(weft_aio_await(tr));
  T_OK(weft_aio_await(tw));
  weft_aio_task_release(tr);
  weft_aio_task_release(tw);
  T_RC(r.rc, WEFT_ECLOSED);
  T_RC(j.rc, WEFT_ECLOSED);
  weft_aio_close(b);
  return 0;
}

static void test_close_wakes_waiters(void **state) {
  (void)state;
  run_main(close_main, NULL);
}

/* A task woken just before another task closed its stream may run only
 * after the close callback: the stream's memory waits for it (ASan checks
 * that nothing is touched after the free). */
static int close_users_main(void *arg) {
  (void)arg;
  weft_aio_stream *c, *s;
  T_OK(tcp_pair(&c, &s));
  weft__stream_enter(c); /* as wait_data does around its suspension */
  weft_aio_close(c);
  T_OK(weft_aio_sleep(2 * MS)); /* the close callback runs meanwhile */
  T_TRUE(c->closed && c->closing);
  T_TRUE(weft__stream_leave(c)); /* the last one out frees */
  weft_aio_close(s);
  return 0;
}

static void test_close_keeps_memory_for_users(void **state) {
  (void)state;
  run_main(close_users_main, NULL);
}

/* ---- a fast writer and a slow reader: the queue stays bounded ---- */

struct slow_ctx {
  weft_aio_stream *a;
  struct wjob *j;
};

static int flood_then_shut(void *arg) {
  struct slow_ctx *c = arg;
  flood(c->j);
  if (c->j->rc) return c->j->rc;
  return drain_and_shut(c->a);
}

static int slow_reader_main(void *arg) {
  (void)arg;
  weft_aio_stream *a, *b;
  T_OK(small_pair(&a, &b));
  struct wjob j = {.s = a, .limit = scaled(4u << 20, 1u << 20) / CHUNK * CHUNK};
  struct slow_ctx c = {a, &j};
  weft_aio_task *t;
  T_OK(weft_aio_spawn(flood_then_shut, &c, &t));
  size_t total = 0, max_seen = 0;
  T_OK(read_all_checked(b, &total, &max_seen, a));
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  T_EQ(total, j.limit);
  T_TRUE(j.blocks > 0); /* the writer did reach the high mark */
  T_TRUE(max_seen <= WEFT__WQ_HIGH + CHUNK);
  T_TRUE(j.max_queued <= WEFT__WQ_HIGH + CHUNK);
  weft_aio_close(a);
  weft_aio_close(b);
  return 0;
}

static void test_slow_reader(void **state) {
  (void)state;
  run_main(slow_reader_main, NULL);
}

/* ---- receive side: read-ahead stops when nobody reads ---- */

static int rx_backpressure_main(void *arg) {
  (void)arg;
  weft_aio_stream *a, *b;
  T_OK(small_pair(&a, &b));
  struct wjob j = {.s = a, .limit = 2u << 20};
  struct slow_ctx c = {a, &j};
  weft_aio_task *t;
  T_OK(weft_aio_spawn(flood_then_shut, &c, &t));
  unsigned char first;
  size_t n;
  T_OK(weft_aio_read(b, &first, 1, &n)); /* from now on b reads ahead */
  T_EQ(first, pattern(3, 0));
  T_OK(wait_queued_above(a, WEFT__WQ_HIGH)); /* the writer is stuck... */
  T_OK(weft_aio_sleep(5 * MS));
  T_TRUE(!b->reading);                       /* ...because b stopped reading */
  T_TRUE(b->rlen >= WEFT__RBUF_LIMIT);
  T_TRUE(b->rlen <= 2 * WEFT__RBUF_LIMIT + 16384);
  size_t total = 0;
  static unsigned char buf[8192];
  int rc;
  while (!(rc = weft_aio_read(b, buf, sizeof buf, &n))) { /* resumes */
    for (size_t i = 0; i < n; i++)
      if (buf[i] != pattern(3, 1 + total + i)) T_EQ(1 + total + i, (size_t)-1);
    total += n;
  }
  T_RC(rc, WEFT_EEOF);
  T_EQ(total + 1, j.limit);
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  weft_aio_close(a);
  weft_aio_close(b);
  return 0;
}

static void test_receive_backpressure(void **state) {
  (void)state;
  run_main(rx_backpressure_main, NULL);
}

/* ---- bad arguments, calls outside a task ---- */

static void test_bad_args(void **state) {
  (void)state;
  weft_aio_stream *s = NULL;
  size_t n;
  char b[4];
  assert_weft(weft_aio_read(NULL, b, 4, &n), WEFT_EINVAL);
  assert_weft(weft_aio_read_exactly(NULL, b, 4, &n), WEFT_EINVAL);
  assert_weft(weft_aio_read_line(NULL, b, 4, &n), WEFT_EINVAL);
  assert_weft(weft_aio_write(NULL, b, 4), WEFT_EINVAL);
  assert_weft(weft_aio_drain(NULL), WEFT_EINVAL);
  assert_weft(weft_aio_shutdown(NULL), WEFT_EINVAL);
  assert_weft(weft_aio_stream_open_fd(0, NULL), WEFT_EINVAL);
  assert_weft(weft_aio_stream_open_fd(0, &s), WEFT_EPERM); /* no loop */
  assert_weft(weft_aio_tcp_connect("127.0.0.1", 1, &s), WEFT_EPERM);
  weft_aio_close(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo),
      cmocka_unit_test(test_lines_and_exactly),
      cmocka_unit_test(test_second_reader_busy),
      cmocka_unit_test(test_pipe_open_fd),
      cmocka_unit_test(test_half_close),
      cmocka_unit_test(test_peer_reset),
      cmocka_unit_test(test_cancel_read),
      cmocka_unit_test(test_cancel_write),
      cmocka_unit_test(test_timeouts),
      cmocka_unit_test(test_close_wakes_waiters),
      cmocka_unit_test(test_close_keeps_memory_for_users),
      cmocka_unit_test(test_slow_reader),
      cmocka_unit_test(test_receive_backpressure),
      cmocka_unit_test(test_bad_args),
  };
  return cmocka_run_group_tests(tests, warm_up, NULL);
}
