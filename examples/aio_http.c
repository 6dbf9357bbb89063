/* examples/aio_http.c — a minimal keep-alive HTTP/1.1 hello-world server,
 * and a client that sends three requests over one connection.
 *
 * The server task accepts connections and gives each a task that reads a
 * request (request line and headers, up to the blank line), answers
 * "Hello, world!" with a Content-Length, and keeps the connection open for
 * the next request unless the client said "Connection: close". The client
 * task sends GET /, GET /async and GET /bye (the last with
 * "Connection: close") on one connection, and prints each status line and
 * body.
 *
 * `aio_http serve [port] [loops]` runs the same handler on every core
 * (weft_aio_serve_start: a loop per core, SO_REUSEPORT listeners) until
 * Ctrl-C, e.g. for `wrk -c100 http://127.0.0.1:8080/`.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <weft/aio.h>
#include <weft/weft.h>

enum { LINE_MAX_ = 1024, MAX_CONNS = 8 };

static const char body_text[] = "Hello, world!";

/* Reads one request's head; *path gets the target, *close whether the
 * client asked to close. WEFT_EEOF when the client is done. */
static int read_request(weft_aio_stream *s, char *path, size_t cap, bool *close) {
  char line[LINE_MAX_];
  size_t n;
  int rc = weft_aio_read_line(s, line, sizeof line, &n);
  if (rc) return rc;
  char method[16];
  if (sscanf(line, "%15s %255s", method, path) != 2 || cap < 256) return WEFT_EINVAL;
  *close = false;
  while ((rc = weft_aio_read_line(s, line, sizeof line, &n)) == 0) {
    if (strcmp(line, "\r\n") == 0 || strcmp(line, "\n") == 0) return 0; /* end of the head */
    if (strncasecmp(line, "Connection:", 11) == 0) {
      for (char *c = line; *c; c++) *c = (char)tolower((unsigned char)*c);
      if (strstr(line + 11, "close")) *close = true;
    }
  }
  return rc;
}

/* One connection: answer requests until the client closes or asks to. */
static int http_handler(weft_aio_stream *s, void *arg) {
  int *requests = arg;
  char path[256], head[256];
  bool close = false;
  int rc;
  while (!close && (rc = read_request(s, path, sizeof path, &close)) == 0) {
    int len = snprintf(head, sizeof head,
                       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                       "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                       strlen(body_text), close ? "close" : "keep-alive");
    rc = weft_aio_write(s, head, (size_t)len);
    if (!rc) rc = weft_aio_write(s, body_text, strlen(body_text));
    if (rc) return rc;
    if (requests) (*requests)++;
  }
  if (close || rc == WEFT_EEOF) rc = 0;
  return rc ? rc : weft_aio_drain(s); /* the caller closes the stream */
}

/* ---- the server task: accept, a task per connection ---- */

typedef struct server {
  weft_aio_server *listener;
  int nconns, requests;
} server;

typedef struct conn {
  server *srv;
  weft_aio_stream *stream;
} conn;

static int conn_task(void *arg) {
  conn *c = arg;
  int rc = http_handler(c->stream, &c->srv->requests);
  weft_aio_close(c->stream);
  return rc;
}

/* Accepts until the listener is closed (at most MAX_CONNS connections
 * here; weft_aio_serve_start is the real server). */
static int serve(void *arg) {
  server *srv = arg;
  conn conns[MAX_CONNS];
  weft_aio_task *tasks[MAX_CONNS];
  int n = 0, rc;
  weft_aio_stream *s;
  while (n < MAX_CONNS && (rc = weft_aio_accept(srv->listener, &s)) == 0) {
    conns[n] = (conn){srv, s};
    if ((rc = weft_aio_spawn(conn_task, &conns[n], &tasks[n]))) {
      weft_aio_close(s);
      break;
    }
    n++;
  }
  srv->nconns = n;
  weft_aio_gather(tasks, (size_t)n, WEFT_AIO_COLLECT); /* they use conns[] on this stack */
  for (int i = 0; i < n; i++) weft_aio_task_release(tasks[i]);
  return rc == WEFT_ECLOSED ? 0 : rc;
}

/* ---- the client: three requests on one connection ---- */

static int get(weft_aio_stream *s, const char *path, bool last) {
  char req[256], line[LINE_MAX_], status[LINE_MAX_] = "", body[256];
  size_t n, length = 0;
  int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path,
                     last ? "Connection: close\r\n" : "");
  int rc = weft_aio_write(s, req, (size_t)len);
  if (!rc) rc = weft_aio_read_line(s, status, sizeof status, &n);
  while (!rc && (rc = weft_aio_read_line(s, line, sizeof line, &n)) == 0 && strcmp(line, "\r\n"))
    if (strncasecmp(line, "Content-Length:", 15) == 0) length = strtoul(line + 15, NULL, 10);
  if (rc) return rc;
  if (length >= sizeof body) return WEFT_ERANGE;
  rc = weft_aio_read_exactly(s, body, length, NULL);
  if (rc) return rc;
  body[length] = '\0';
  status[strcspn(status, "\r\n")] = '\0';
  printf("GET %-6s -> %s, body \"%s\"\n", path, status, body);
  return 0;
}

static int client(void *arg) {
  weft_aio_stream *s;
  int rc = weft_aio_tcp_connect("127.0.0.1", *(int *)arg, &s);
  if (rc) return rc;
  const char *paths[] = {"/", "/async", "/bye"};
  for (int i = 0; i < 3 && !rc; i++) rc = get(s, paths[i], i == 2);
  char rest[16];
  size_t n;
  if (!rc && weft_aio_read(s, rest, sizeof rest, &n) == WEFT_EEOF)
    printf("the server closed the connection after \"Connection: close\"\n");
  else if (!rc)
    rc = WEFT_EIO;
  weft_aio_close(s);
  return rc;
}

static int http_main(void *arg) {
  (void)arg;
  server srv = {0};
  int rc = weft_aio_tcp_listen("127.0.0.1", 0, 16, 0, &srv.listener);
  if (rc) return rc;
  int port = weft_aio_server_port(srv.listener);
  weft_aio_task *st = NULL, *ct = NULL;
  rc = weft_aio_spawn(serve, &srv, &st);
  if (!rc) rc = weft_aio_spawn(client, &port, &ct);
  if (ct) rc = weft_aio_await(ct);
  weft_aio_server_close(srv.listener);
  if (st) {
    int src = weft_aio_await(st);
    if (!rc) rc = src;
  }
  weft_aio_task_release(ct);
  weft_aio_task_release(st);
  printf("server: %d connection, %d requests (keep-alive)\n", srv.nconns, srv.requests);
  return rc;
}

/* ---- serve mode: every core, until SIGINT or SIGTERM ---- */

static int wait_one(void *arg) { return weft_aio_signal_wait(*(int *)arg); }

static int wait_for_signal(void *arg) {
  (void)arg;
  int sigs[2] = {SIGINT, SIGTERM};
  weft_aio_task *t[2] = {NULL, NULL};
  int rc = weft_aio_spawn(wait_one, &sigs[0], &t[0]);
  if (!rc) rc = weft_aio_spawn(wait_one, &sigs[1], &t[1]);
  if (!rc) rc = weft_aio_wait(t, 2, WEFT_AIO_FIRST_COMPLETED, WEFT_FOREVER, NULL);
  for (int i = 0; i < 2; i++) {
    if (!t[i]) continue;
    weft_aio_cancel(t[i]);
    weft_aio_await(t[i]);
    weft_aio_task_release(t[i]);
  }
  return rc;
}

static int serve_every_core(int port, unsigned loops) {
  int bound = 0;
  weft_aio_serve_options o = {.host = "0.0.0.0", .port = port, .loops = loops, .bound_port = &bound};
  weft_aio_serve *srv;
  int rc = weft_aio_serve_start(&o, http_handler, NULL, &srv);
  if (rc) {
    fprintf(stderr, "aio_http: %s (%s)\n", weft_strerror(rc), weft_aio_last_error());
    return 1;
  }
  printf("serving http://127.0.0.1:%d/ on %u loops; Ctrl-C stops\n", bound,
         loops ? loops : weft_cpu_count());
  fflush(stdout);
  rc = weft_aio_run(wait_for_signal, NULL); /* this thread's own loop just waits */
  weft_aio_serve_stop(srv);                 /* closes listeners, cancels handlers, joins */
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "serve") == 0)
    return serve_every_core(argc > 2 ? atoi(argv[2]) : 8080,
                            argc > 3 ? (unsigned)atoi(argv[3]) : 0);
  int rc = weft_aio_run(http_main, NULL);
  if (rc) fprintf(stderr, "aio_http: %s (%s)\n", weft_strerror(rc), weft_aio_last_error());
  return rc ? 1 : 0;
}
