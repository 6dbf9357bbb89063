/* bench/peer_uv_server.c — the plain libuv callback server of `weft bench aio`
 * (A1 and A2): the baseline weft's coroutine servers are held against.
 *
 *   peer_uv_server echo PORT     TCP echo: every byte read is written back
 *   peer_uv_server http PORT     minimal keep-alive HTTP/1.1 hello world
 *
 * Listens on 127.0.0.1:PORT (0 = any free port), then prints "PORT <n>" on
 * stdout (the harness reads it) and serves until killed. One thread, one
 * uv_loop, callbacks only: what a careful libuv programmer writes. Reads go
 * into a buffer owned by the connection (no malloc per read); replies go out
 * with uv_try_write, and only what the kernel did not take is copied into a
 * uv_write request (the usual libuv fast path, so the baseline is a strong
 * one). HTTP requests are counted by their blank line ("\r\n\r\n", matched
 * across reads); each gets the same fixed response, all of one read's
 * responses in one write. Bodies are not expected (GET only, as wrk sends). */
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#define READ_BUF 65536

static const char http_reply[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";
#define HTTP_REPLY_LEN (sizeof http_reply - 1)

typedef struct conn {
  uv_tcp_t tcp;
  int matched;          /* http: how much of "\r\n\r\n" the last bytes matched */
  char buf[READ_BUF];
} conn;

typedef struct wreq {
  uv_write_t req;
  char data[];          /* the bytes uv_try_write left over */
} wreq;

static bool http_mode;

static void on_close(uv_handle_t *h) { free(h); }

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  conn *c = (conn *)h;
  *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_written(uv_write_t *req, int status) {
  (void)status;  /* a failed write shows up as a read error next */
  free(req);
}

/* Sends data: as much as the kernel takes now, the rest through uv_write. */
static void send_bytes(conn *c, const char *data, size_t n) {
  int done = uv_try_write((uv_stream_t *)&c->tcp, &(uv_buf_t){.base = (char *)data, .len = n}, 1);
  if (done == UV_EAGAIN) done = 0;
  if (done < 0) {
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_close);
    return;
  }
  if ((size_t)done == n) return;
  size_t rest = n - (size_t)done;
  wreq *w = malloc(sizeof *w + rest);
  if (!w) abort();  /* a benchmark server: out of memory is fatal */
  memcpy(w->data, data + done, rest);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) free(w);
}

/* Counts complete requests (blank lines) in data, carrying the partial
 * match of "\r\n\r\n" from one read to the next. */
static size_t count_requests(conn *c, const char *data, size_t n) {
  static const char end[] = "\r\n\r\n";
  size_t reqs = 0;
  int m = c->matched;
  for (size_t i = 0; i < n; i++) {
    if (data[i] == end[m]) m++;
    else m = data[i] == '\r' ? 1 : 0;
    if (m == 4) {
      reqs++;
      m = 0;
    }
  }
  c->matched = m;
  return reqs;
}

static void reply_http(conn *c, size_t reqs) {
  if (reqs == 1) {
    send_bytes(c, http_reply, HTTP_REPLY_LEN);
    return;
  }
  char *all = malloc(reqs * HTTP_REPLY_LEN);
  if (!all) abort();
  for (size_t i = 0; i < reqs; i++) memcpy(all + i * HTTP_REPLY_LEN, http_reply, HTTP_REPLY_LEN);
  send_bytes(c, all, reqs * HTTP_REPLY_LEN);
  free(all);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = (conn *)s;
  if (nread < 0) {
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_close);
    return;
  }
  if (nread == 0) return;
  if (!http_mode) {
    send_bytes(c, buf->base, (size_t)nread);
    return;
  }
  size_t reqs = count_requests(c, buf->base, (size_t)nread);
  if (reqs) reply_http(c, reqs);
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) return;
  conn *c = malloc(sizeof *c);
  if (!c) abort();
  c->matched = 0;
  uv_tcp_init(server->loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_close);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* 1,000 connections and more: lift the soft descriptor limit to the hard one. */
static void raise_fd_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "http") != 0)) {
    fprintf(stderr, "usage: %s echo|http PORT   (PORT 0 = any; prints \"PORT <n>\")\n",
            argv[0]);
    return 2;
  }
  http_mode = strcmp(argv[1], "http") == 0;
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", atoi(argv[2]), &addr);
  int e = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
  if (!e) e = uv_listen((uv_stream_t *)&server, 4096, on_connection);
  if (e) {
    fprintf(stderr, "peer_uv_server: listen: %s\n", uv_strerror(e));
    return 1;
  }
  struct sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
  printf("PORT %d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT) == 0 ? 0 : 1;
}
