/* src/cli/bench_aio_serve.c — weft's own servers for `weft bench aio` A1/A2,
 * written as a user would write them with weft/aio.h: straight-line code,
 * one task per connection.
 *
 *   weft bench aio --serve echo PORT        A1: read, write back, until EOF
 *   weft bench aio --serve http PORT        A2: keep-alive HTTP/1.1 hello world
 *   weft bench aio --serve http-cores PORT  A2: the same handler on 2 loops
 *                                           (weft_aio_serve_start, SO_REUSEPORT)
 *
 * Each listens on 127.0.0.1:PORT (0 = any), prints "PORT <n>" on stdout,
 * and serves until SIGTERM, then exits cleanly (the single-loop servers
 * close the listener and let weft_aio_run cancel the connections; the
 * multi-core one calls weft_aio_serve_stop). A process of its own, so
 * that the load generator and the server each get a core, as the peers do. */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include "weft/aio.h"
#include "cli/bench_aio.h"

static const char http_reply[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";

/* ---- the connection handlers ---- */

/* Echo: every read is written back at once (64-byte ping-pong: one read,
 * one write per round trip). Returns at EOF or on any error. */
static int echo_session(weft_aio_stream *s) {
  char buf[16384];
  size_t n;
  int e;
  while ((e = weft_aio_read(s, buf, sizeof buf, &n)) == 0)
    if ((e = weft_aio_write(s, buf, n)) != 0) break;
  return e == WEFT_EEOF ? 0 : e;
}

/* HTTP/1.1 keep-alive: the request line and headers are read line by line up
 * to the blank line, then the fixed reply is written. GET only (no bodies),
 * as wrk sends; a line over 1 KB ends the connection. */
static int http_session(weft_aio_stream *s) {
  char line[1024];
  size_t n;
  for (;;) {
    int e;
    do {
      if ((e = weft_aio_read_line(s, line, sizeof line, &n)) != 0)
        return e == WEFT_EEOF ? 0 : e;
    } while (!(n == 1 || (n == 2 && line[0] == '\r')));
    if ((e = weft_aio_write(s, http_reply, sizeof http_reply - 1)) != 0) return e;
  }
}

static int echo_task(void *arg) {
  echo_session(arg);
  weft_aio_close(arg);
  return 0;
}

static int http_task(void *arg) {
  http_session(arg);
  weft_aio_close(arg);
  return 0;
}

/* weft_aio_serve's handler: the helper closes the stream afterwards. */
static int http_handler(weft_aio_stream *s, void *arg) {
  (void)arg;
  http_session(s);
  return 0;
}

/* ---- one loop: accept, one task per connection ---- */

typedef struct serve_args {
  int port;
  weft_aio_fn conn_task;
} serve_args;

/* SIGTERM closes the listener: the accept loop ends, and weft_aio_run
 * cancels the connection tasks and frees everything (a clean exit, which
 * the sanitizer builds check for leaks). */
static int stopper(void *arg) {
  if (weft_aio_signal_wait(SIGTERM) == 0) weft_aio_server_close(arg);
  return 0;
}

static int serve_main(void *arg) {
  serve_args *a = arg;
  weft_aio_server *srv;
  int e = weft_aio_tcp_listen("127.0.0.1", a->port, 4096, 0, &srv);
  if (e) {
    fprintf(stderr, "weft bench: listen: %s (%s)\n", weft_strerror(e), weft_aio_last_error());
    return e;
  }
  weft_aio_task *stop = NULL;
  if ((e = weft_aio_spawn(stopper, srv, &stop)) != 0) {
    weft_aio_server_close(srv);
    return e;
  }
  weft_aio_yield();  /* the stopper waits for the signal before the port is out */
  printf("PORT %d\n", weft_aio_server_port(srv));
  fflush(stdout);
  for (;;) {
    weft_aio_stream *s;
    if ((e = weft_aio_accept(srv, &s)) != 0) break;
    if (weft_aio_spawn(a->conn_task, s, NULL) != 0) weft_aio_close(s);
  }
  if (e != WEFT_ECLOSED) weft_aio_server_close(srv);  /* else the stopper closed it */
  weft_aio_cancel(stop);
  weft_aio_await(stop);
  weft_aio_task_release(stop);
  return e == WEFT_ECLOSED ? 0 : e;
}

/* ---- the multi-core helper: 2 loops until SIGTERM ---- */

static int serve_cores(int port) {
  /* blocked before the loops' threads start, so that they inherit the mask
   * and only sigwait below receives the signal */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  int bound = 0;
  weft_aio_serve_options o = {.host = "127.0.0.1", .port = port, .loops = 2,
                              .bound_port = &bound};
  weft_aio_serve *srv;
  int e = weft_aio_serve_start(&o, http_handler, NULL, &srv);
  if (e) {
    fprintf(stderr, "weft bench: weft_aio_serve_start: %s (%s)\n", weft_strerror(e),
            weft_aio_last_error());
    return 1;
  }
  printf("PORT %d\n", bound);
  fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  return weft_aio_serve_stop(srv) == 0 ? 0 : 1;
}

int bench_aio_serve_main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: weft bench aio --serve echo|http|http-cores PORT\n");
    return 2;
  }
  int port = atoi(argv[1]);
  signal(SIGPIPE, SIG_IGN);
  struct rlimit r;  /* 1,000 connections and more */
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
  serve_args a = {.port = port};
  if (strcmp(argv[0], "echo") == 0) a.conn_task = echo_task;
  else if (strcmp(argv[0], "http") == 0) a.conn_task = http_task;
  else if (strcmp(argv[0], "http-cores") == 0) return serve_cores(port);
  else {
    fprintf(stderr, "weft bench aio --serve: unknown server '%s'\n", argv[0]);
    return 2;
  }
  int e = weft_aio_run(serve_main, &a);
  if (e) fprintf(stderr, "weft bench aio --serve %s: %s\n", argv[0], weft_strerror(e));
  return e ? 1 : 0;
}
