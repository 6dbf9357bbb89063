/* tests/test_aio_serve.c — the server on every core (weft_aio_serve_*):
 * many echo clients from a loop in another thread (every reply checked, no
 * connection lost or handled twice), stop with connections still open
 * (handlers cancelled, clients see the end), stop from a handler, stop on
 * SIGTERM, port 0 shared by every loop, start errors, and no fd left open.
 * How the kernel spreads connections over the loops is printed, not
 * asserted: SO_REUSEPORT hashes by address and port, so it may not. */
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testutil.h"
#include "weft/aio.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define SEC (1000 * WEFT_MS)
enum { MAX_LOOPS = 8, LINES = 5 };

/* ---- the server side: an echo handler that counts where it ran ---- */

typedef struct serve_ctx {
  weft_mutex lock;
  uint64_t tids[MAX_LOOPS];       /* the loop threads seen, with counts */
  unsigned long per_loop[MAX_LOOPS];
  atomic_ulong handled, ended;    /* handler entries and returns */
  atomic_int cancelled;           /* handlers whose read was cancelled */
  _Atomic(weft_aio_serve *) srv;  /* for stop from a handler */
} serve_ctx;

static void count_loop(serve_ctx *c) {
  uint64_t me = weft_thread_self_id();
  weft_mutex_lock(&c->lock);
  for (int i = 0; i < MAX_LOOPS; i++) {
    if (c->tids[i] == 0) c->tids[i] = me;
    if (c->tids[i] == me) {
      c->per_loop[i]++;
      break;
    }
  }
  weft_mutex_unlock(&c->lock);
  atomic_fetch_add(&c->handled, 1);
}

/* Echoes until the client half-closes; "stop\n" stops the whole server. */
static int echo_handler(weft_aio_stream *s, void *arg) {
  serve_ctx *c = arg;
  count_loop(c);
  char buf[4096];
  size_t n;
  int rc;
  while ((rc = weft_aio_read(s, buf, sizeof buf, &n)) == 0) {
    if (n == 5 && memcmp(buf, "stop\n", 5) == 0) {
      /* Answer first: the stop cancels this handler too. */
      rc = weft_aio_write(s, "ok\n", 3);
      if (!rc) rc = weft_aio_drain(s);
      if (!rc) rc = weft_aio_serve_stop(atomic_load(&c->srv)); /* only starts the stop */
      break;
    }
    if ((rc = weft_aio_write(s, buf, n))) break;
  }
  if (rc == WEFT_EEOF) rc = weft_aio_drain(s);
  if (rc == WEFT_ECANCELED) atomic_fetch_add(&c->cancelled, 1);
  atomic_fetch_add(&c->ended, 1);
  return rc;
}

static unsigned loops_used(serve_ctx *c) {
  unsigned n = 0;
  for (int i = 0; i < MAX_LOOPS; i++) n += c->tids[i] != 0;
  return n;
}

/* ---- the client side: a loop of its own in another thread ---- */

typedef struct client_run {
  int port;
  unsigned conns;
  bool hold;               /* keep the connections open until the server ends */
  weft_event *connected;   /* hold: set once every connection got its echo */
  unsigned lines_ok, ended_ok, failed;
  int first_error;
} client_run;

typedef struct client_job {
  client_run *run;
  unsigned id;
} client_job;

/* Sends LINES numbered lines and checks each echo; with hold, then waits
 * for the server to end the connection. */
static int client_one(void *arg) {
  client_job *j = arg;
  weft_aio_stream *s;
  int rc = weft_aio_tcp_connect("127.0.0.1", j->run->port, &s);
  if (rc) return rc;
  char line[64], back[64];
  for (int k = 0; k < LINES && !rc; k++) {
    int len = snprintf(line, sizeof line, "client %u line %d\n", j->id, k);
    size_t n = 0;
    rc = weft_aio_write(s, line, (size_t)len);
    if (!rc) rc = weft_aio_read_line(s, back, sizeof back, &n);
    if (!rc && (n != (size_t)len || memcmp(back, line, n) != 0)) rc = WEFT_EIO;
    if (!rc) j->run->lines_ok++;
  }
  if (!rc && j->run->hold) {
    if (++j->run->ended_ok == j->run->conns) weft_event_set(j->run->connected);
    size_t n;
    rc = weft_aio_read(s, back, sizeof back, &n); /* the server's stop ends it */
    rc = rc == WEFT_EEOF || rc == WEFT_ECONNRESET ? 0 : rc ? rc : WEFT_EIO;
  } else if (!rc) {
    rc = weft_aio_shutdown(s);
    size_t n;
    if (!rc) rc = weft_aio_read(s, back, sizeof back, &n); /* the server's EOF */
    rc = rc == WEFT_EEOF ? 0 : rc ? rc : WEFT_EIO;
    if (!rc) j->run->ended_ok++;
  }
  weft_aio_close(s);
  return rc;
}

static int client_main(void *arg) {
  client_run *r = arg;
  weft_aio_task **ts = calloc(r->conns, sizeof *ts);
  client_job *jobs = calloc(r->conns, sizeof *jobs);
  int rc = ts && jobs ? 0 : WEFT_ENOMEM;
  weft_aio_scope deadline;
  weft_aio_scope_enter(&deadline, 60 * SEC); /* a hang fails, it does not stall ctest */
  unsigned started = 0;
  for (; !rc && started < r->conns; started++) {
    jobs[started] = (client_job){r, started};
    rc = weft_aio_spawn(client_one, &jobs[started], &ts[started]);
  }
  if (started) {
    int grc = weft_aio_gather(ts, started, WEFT_AIO_COLLECT);
    if (!rc) rc = grc;
  }
  for (unsigned i = 0; i < started; i++) {
    int code = weft_aio_task_code(ts[i]);
    if (code) {
      r->failed++;
      if (!r->first_error) r->first_error = code;
    }
    weft_aio_task_release(ts[i]);
  }
  int src = weft_aio_scope_exit(&deadline);
  free(ts);
  free(jobs);
  return rc ? rc : src;
}

static int client_thread(void *arg) { return weft_aio_run(client_main, arg); }

static void run_clients(client_run *r) {
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "client", client_thread, r));
  int rc = -1;
  assert_ok(weft_thread_join(t, &rc));
  if (r->failed) print_error("%u clients failed, first: %s\n", r->failed, weft_err_name(r->first_error));
  assert_ok(rc);
}

/* ---- tests ---- */

static weft_aio_serve *start(serve_ctx *c, unsigned loops, int *port) {
  memset(c, 0, sizeof *c);
  weft_mutex_init(&c->lock);
  weft_aio_serve_options o = {.host = "127.0.0.1", .port = 0, .loops = loops, .bound_port = port};
  weft_aio_serve *srv = NULL;
  assert_ok(weft_aio_serve_start(&o, echo_handler, c, &srv));
  assert_non_null(srv);
  assert_true(*port > 0 && *port < 65536);
  atomic_store(&c->srv, srv);
  return srv;
}

static void test_echo_many_clients(void **state) {
  (void)state;
  int fds = open_fd_count(), port = 0;
  serve_ctx c;
  weft_aio_serve *srv = start(&c, 2, &port);
  client_run r = {.port = port, .conns = (unsigned)scaled(400, 40)};
  run_clients(&r);
  assert_int_equal(r.failed, 0);
  assert_int_equal(r.lines_ok, r.conns * LINES);
  assert_int_equal(r.ended_ok, r.conns);
  assert_ok(weft_aio_serve_stop(srv));
  /* Every connection was handled exactly once, and every handler returned. */
  assert_int_equal(atomic_load(&c.handled), r.conns);
  assert_int_equal(atomic_load(&c.ended), r.conns);
  assert_int_equal(atomic_load(&c.cancelled), 0);
  assert_true(loops_used(&c) >= 1 && loops_used(&c) <= 2);
  print_message("%u connections over %u loop(s): %lu + %lu\n", r.conns, loops_used(&c),
                c.per_loop[0], c.per_loop[1]);
  assert_int_equal(open_fd_count(), fds);
}

/* Stop while every handler is blocked in a read: the handlers are
 * cancelled, the streams closed, the clients see the end, the threads join. */
typedef struct hold_arg { client_run *r; int rc; } hold_arg;

static int hold_thread(void *arg) {
  hold_arg *h = arg;
  h->rc = weft_aio_run(client_main, h->r);
  return 0;
}

static void test_stop_with_open_connections(void **state) {
  (void)state;
  int fds = open_fd_count(), port = 0;
  serve_ctx c;
  weft_aio_serve *srv = start(&c, 2, &port);
  weft_event connected = WEFT_EVENT_INIT;
  client_run r = {.port = port, .conns = (unsigned)scaled(60, 10), .hold = true,
                  .connected = &connected};
  hold_arg h = {&r, -1};
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "holder", hold_thread, &h));
  assert_ok(weft_event_wait_timed(&connected, 60 * SEC));
  assert_int_equal(atomic_load(&c.handled), r.conns);
  assert_int_equal(atomic_load(&c.ended), 0);
  assert_ok(weft_aio_serve_stop(srv));
  assert_int_equal(atomic_load(&c.ended), r.conns);
  assert_int_equal(atomic_load(&c.cancelled), (int)r.conns);
  assert_ok(weft_thread_join(t, NULL));
  assert_ok(h.rc);
  assert_int_equal(r.failed, 0);
  assert_int_equal(r.lines_ok, r.conns * LINES);
  assert_int_equal(open_fd_count(), fds);
}

/* A handler stops the server; the owner waits for the end, then frees. */
static int send_stop(void *arg) {
  int port = *(int *)arg;
  weft_aio_stream *s;
  int rc = weft_aio_tcp_connect("127.0.0.1", port, &s);
  if (rc) return rc;
  char back[16];
  size_t n = 0;
  rc = weft_aio_write(s, "stop\n", 5);
  if (!rc) rc = weft_aio_read_line(s, back, sizeof back, &n);
  if (!rc && strcmp(back, "ok\n") != 0) rc = WEFT_EIO;
  weft_aio_close(s);
  return rc;
}

static void test_stop_from_handler(void **state) {
  (void)state;
  int fds = open_fd_count(), port = 0;
  serve_ctx c;
  weft_aio_serve *srv = start(&c, 2, &port);
  assert_weft(weft_aio_serve_wait(srv, 50 * WEFT_MS), WEFT_ETIMEDOUT); /* still serving */
  assert_ok(weft_aio_run(send_stop, &port));
  assert_ok(weft_aio_serve_wait(srv, 30 * SEC));
  assert_ok(weft_aio_serve_stop(srv));
  assert_int_equal(atomic_load(&c.handled), 1);
  assert_int_equal(atomic_load(&c.ended), 1);
  assert_int_equal(open_fd_count(), fds);
}

static void test_stop_on_signal(void **state) {
  (void)state;
  int fds = open_fd_count(), port = 0;
  serve_ctx c;
  memset(&c, 0, sizeof c);
  weft_mutex_init(&c.lock);
  weft_aio_serve_options o = {.host = "127.0.0.1", .loops = 2, .stop_on_signal = true,
                              .bound_port = &port};
  weft_aio_serve *srv;
  assert_ok(weft_aio_serve_start(&o, echo_handler, &c, &srv));
  client_run r = {.port = port, .conns = 5};
  run_clients(&r);                        /* it serves... */
  assert_int_equal(r.failed, 0);
  assert_int_equal(kill(getpid(), SIGTERM), 0); /* ...until SIGTERM */
  assert_ok(weft_aio_serve_wait(srv, 30 * SEC));
  assert_ok(weft_aio_serve_stop(srv));
  assert_int_equal(atomic_load(&c.handled), 5);
  assert_int_equal(open_fd_count(), fds);
}

static void test_port_shared_and_errors(void **state) {
  (void)state;
  int fds = open_fd_count(), port = 0;
  serve_ctx c;
  weft_aio_serve *srv = start(&c, 3, &port);
  /* Every loop listens on the one port: connections keep working after
   * many connects, whichever listener the kernel picks. */
  client_run r = {.port = port, .conns = (unsigned)scaled(90, 30)};
  run_clients(&r);
  assert_int_equal(r.failed, 0);
  assert_ok(weft_aio_serve_stop(srv));
  assert_int_equal(atomic_load(&c.handled), r.conns);
  print_message("3 loops: %lu + %lu + %lu\n", c.per_loop[0], c.per_loop[1], c.per_loop[2]);

  weft_aio_serve_options o = {.host = "127.0.0.1"};
  assert_weft(weft_aio_serve_start(&o, NULL, NULL, &srv), WEFT_EINVAL);
  assert_weft(weft_aio_serve_start(NULL, echo_handler, NULL, &srv), WEFT_EINVAL);
  o.port = 70000;
  assert_weft(weft_aio_serve_start(&o, echo_handler, &c, &srv), WEFT_EINVAL);
  assert_weft(weft_aio_serve_stop(NULL), WEFT_EINVAL);

  /* A port held by a socket without SO_REUSEPORT: WEFT_EADDRINUSE, and
   * the loops already started are stopped and joined. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 4), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  o = (weft_aio_serve_options){.host = "127.0.0.1", .port = ntohs(a.sin_port), .loops = 2};
  srv = NULL;
  assert_weft(weft_aio_serve_start(&o, echo_handler, &c, &srv), WEFT_EADDRINUSE);
  assert_null(srv);
  close(fd);
  assert_int_equal(open_fd_count(), fds);
}

/* loops = 0: one loop per usable CPU. */
static void test_default_loops(void **state) {
  (void)state;
  int fds = open_fd_count(), port = 0;
  serve_ctx c;
  weft_aio_serve *srv = start(&c, 0, &port);
  client_run r = {.port = port, .conns = 20};
  run_clients(&r);
  assert_int_equal(r.failed, 0);
  assert_int_equal(r.lines_ok, 20 * LINES);
  assert_ok(weft_aio_serve_stop(srv));
  assert_int_equal(atomic_load(&c.handled), 20);
  assert_true(loops_used(&c) <= weft_cpu_count());
  assert_int_equal(open_fd_count(), fds);
}

/* The first loop a process creates makes libuv open its process-wide
 * signal pipe, which stays: do it before any test counts descriptors. */
static int nothing(void *arg) {
  (void)arg;
  return 0;
}

static int setup(void **state) {
  (void)state;
  return weft_aio_run(nothing, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_many_clients),
      cmocka_unit_test(test_stop_with_open_connections),
      cmocka_unit_test(test_stop_from_handler),
      cmocka_unit_test(test_stop_on_signal),
      cmocka_unit_test(test_port_shared_and_errors),
      cmocka_unit_test(test_default_loops),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
