/* tests/test_aio_net.c — aio connect / listen / accept: TCP over IPv4 and
 * IPv6 (skipped when ::1 is missing), host names (every address tried),
 * names that do not resolve (ENOENT), refused connections, EADDRINUSE and
 * SO_REUSEPORT, Unix domain sockets, accept cancelled and closed, and
 * 10,000 concurrent connections on loopback (clients in a second process
 * of this program, so each side needs one fd per connection; scaled by
 * WEFT_TEST_SCALE; skipped when RLIMIT_NOFILE's hard limit is too low).
 *
 * Task bodies record the first failed check in g_fail (see run_main); no
 * cmocka assert runs on a coroutine stack. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"
#include "aio_testutil.h"
#include "weft/aio.h"

#define MS WEFT_MS

extern char **environ;

static bool g_skip;
static char g_skip_why[256];

static void run_main_or_skip(weft_aio_fn fn, void *arg) {
  g_fail[0] = '\0';
  g_skip = false;
  int fds = open_fd_count();
  int rc = weft_aio_run(fn, arg);
  if (g_fail[0]) fail_msg("%s", g_fail);
  assert_weft(rc, 0);
  assert_int_equal(open_fd_count(), fds);
  if (g_skip) {
    print_message("%s\n", g_skip_why);
    skip();
  }
}

/* ---- helpers ---- */

/* Accepts one connection on srv, echoes it on a task; *t its handle. */
static int serve_one(weft_aio_server *srv, weft_aio_task **t) {
  weft_aio_stream *s;
  int rc = weft_aio_accept(srv, &s);
  if (rc) return rc;
  return weft_aio_spawn(echo_conn, s, t);
}

/* A round trip of `msg` through an echoing peer, then close. */
static int round_trip(weft_aio_stream *c, const char *msg) {
  char buf[128];
  size_t len = strlen(msg);
  int rc = weft_aio_write(c, msg, len);
  if (!rc) rc = weft_aio_read_exactly(c, buf, len, NULL);
  if (!rc && memcmp(buf, msg, len) != 0) rc = WEFT_EIO;
  weft_aio_close(c);
  return rc;
}

struct conn_job {
  const char *host;
  int port;
  const char *msg;
};

static int connect_and_trip(void *arg) {
  struct conn_job *j = arg;
  weft_aio_stream *c;
  int rc = weft_aio_tcp_connect(j->host, j->port, &c);
  return rc ? rc : round_trip(c, j->msg);
}

/* ---- names, refused, v4/v6 ---- */

static int names_main(void *arg) {
  (void)arg;
  weft_aio_server *srv;
  T_OK(weft_aio_tcp_listen("127.0.0.1", 0, 16, 0, &srv));
  int port = weft_aio_server_port(srv);
  T_TRUE(port > 0);
  /* "localhost": looked up on the thread pool; whichever address comes
   * first, one of them reaches the IPv4 listener */
  struct conn_job j = {"localhost", port, "by name"};
  weft_aio_task *c, *e;
  T_OK(weft_aio_spawn(connect_and_trip, &j, &c));
  T_OK(serve_one(srv, &e));
  T_OK(weft_aio_await(c));
  T_OK(weft_aio_await(e));
  weft_aio_task_release(c);
  weft_aio_task_release(e);

  /* a deadline interrupts the lookup and the connect (both left behind
   * cleanly: the lookup finishes on its thread, the socket is closed) */
  weft_aio_stream *s = NULL;
  weft_aio_scope sc;
  weft_aio_scope_enter(&sc, 0);
  T_RC(weft_aio_tcp_connect("localhost", port, &s), WEFT_ETIMEDOUT);
  T_RC(weft_aio_scope_exit(&sc), WEFT_ETIMEDOUT);
  weft_aio_scope_enter(&sc, 0);
  T_RC(weft_aio_tcp_connect("127.0.0.1", port, &s), WEFT_ETIMEDOUT);
  T_RC(weft_aio_scope_exit(&sc), WEFT_ETIMEDOUT);
  T_TRUE(s == NULL);
  weft_aio_server_close(srv);
  T_OK(weft_aio_sleep(1 * MS));

  T_RC(weft_aio_tcp_connect("127.0.0.1", port, &s), WEFT_ECONNREFUSED); /* closed now */
  T_TRUE(s == NULL);
  T_TRUE(strstr(weft_aio_last_error(), "connect") != NULL);
  T_RC(weft_aio_tcp_connect("no-such-host.invalid", 80, &s), WEFT_ENOENT);
  T_TRUE(strstr(weft_aio_last_error(), "no-such-host.invalid") != NULL);
  T_RC(weft_aio_tcp_connect("127.0.0.1", 0, &s), WEFT_EINVAL);
  T_RC(weft_aio_tcp_connect("127.0.0.1", 70000, &s), WEFT_EINVAL);
  T_RC(weft_aio_tcp_connect(NULL, 80, &s), WEFT_EINVAL);
  T_RC(weft_aio_tcp_listen("127.0.0.1", -1, 16, 0, &srv), WEFT_EINVAL);
  T_RC(weft_aio_tcp_listen("127.0.0.1", 0, 16, 0x100, &srv), WEFT_EINVAL);
  return 0;
}

static void test_names_and_refused(void **state) {
  (void)state;
  run_main_or_skip(names_main, NULL);
}

static int ipv6_main(void *arg) {
  (void)arg;
  weft_aio_server *srv;
  int rc = weft_aio_tcp_listen("::1", 0, 16, 0, &srv);
  if (rc) {
    g_skip = true;
    snprintf(g_skip_why, sizeof g_skip_why, "IPv6 loopback unavailable (%s): skipped",
             weft_aio_last_error());
    return 0;
  }
  struct conn_job j = {"::1", weft_aio_server_port(srv), "over IPv6"};
  weft_aio_task *c, *e;
  T_OK(weft_aio_spawn(connect_and_trip, &j, &c));
  T_OK(serve_one(srv, &e));
  T_OK(weft_aio_await(c));
  T_OK(weft_aio_await(e));
  weft_aio_task_release(c);
  weft_aio_task_release(e);
  weft_aio_server_close(srv);
  return 0;
}

static void test_ipv6(void **state) {
  (void)state;
  run_main_or_skip(ipv6_main, NULL);
}

/* ---- EADDRINUSE and SO_REUSEPORT ---- */

static int reuse_main(void *arg) {
  (void)arg;
  weft_aio_server *a, *b = NULL;
  T_OK(weft_aio_tcp_listen("127.0.0.1", 0, 16, 0, &a));
  int port = weft_aio_server_port(a);
  T_RC(weft_aio_tcp_listen("127.0.0.1", port, 16, 0, &b), WEFT_EADDRINUSE);
  T_TRUE(b == NULL);
  weft_aio_server_close(a);
  /* an address of no interface here (TEST-NET-1): the caller's mistake */
  T_RC(weft_aio_tcp_listen("192.0.2.1", 0, 16, 0, &b), WEFT_EINVAL);
  T_TRUE(b == NULL);

  T_OK(weft_aio_tcp_listen("127.0.0.1", 0, 16, WEFT_AIO_REUSEPORT, &a));
  port = weft_aio_server_port(a);
  T_OK(weft_aio_tcp_listen("127.0.0.1", port, 16, WEFT_AIO_REUSEPORT, &b));
  T_EQ(weft_aio_server_port(b), port);
  /* connections go to either listener: close one, the other serves */
  weft_aio_server_close(a);
  struct conn_job j = {"127.0.0.1", port, "reuseport"};
  weft_aio_task *c, *e;
  T_OK(weft_aio_spawn(connect_and_trip, &j, &c));
  T_OK(serve_one(b, &e));
  T_OK(weft_aio_await(c));
  T_OK(weft_aio_await(e));
  weft_aio_task_release(c);
  weft_aio_task_release(e);
  weft_aio_server_close(b);
  return 0;
}

static void test_addrinuse_reuseport(void **state) {
  (void)state;
  run_main_or_skip(reuse_main, NULL);
}

/* ---- Unix domain sockets ---- */

static int unix_client(void *arg) {
  weft_aio_stream *c;
  int rc = weft_aio_unix_connect(arg, &c);
  return rc ? rc : round_trip(c, "over a unix socket");
}

static int unix_main(void *arg) {
  (void)arg;
  char path[64];
  snprintf(path, sizeof path, "/tmp/weft-test-%d.sock", (int)getpid());
  unlink(path);
  weft_aio_server *srv, *other = NULL;
  T_OK(weft_aio_unix_listen(path, 16, &srv));
  T_EQ(access(path, F_OK), 0);
  T_RC(weft_aio_unix_listen(path, 16, &other), WEFT_EADDRINUSE);
  T_RC(weft_aio_server_port(srv), WEFT_EINVAL);
  weft_aio_task *c, *e;
  T_OK(weft_aio_spawn(unix_client, path, &c));
  T_OK(serve_one(srv, &e));
  T_OK(weft_aio_await(c));
  T_OK(weft_aio_await(e));
  weft_aio_task_release(c);
  weft_aio_task_release(e);
  weft_aio_server_close(srv);
  T_TRUE(access(path, F_OK) != 0); /* the socket file is removed */
  weft_aio_stream *s = NULL;
  T_RC(weft_aio_unix_connect(path, &s), WEFT_ENOENT);
  char long_path[200];
  memset(long_path, 'x', sizeof long_path - 1);
  long_path[sizeof long_path - 1] = '\0';
  T_RC(weft_aio_unix_connect(long_path, &s), WEFT_EINVAL);
  T_RC(weft_aio_unix_listen(long_path, 16, &srv), WEFT_EINVAL);
  return 0;
}

static void test_unix(void **state) {
  (void)state;
  run_main_or_skip(unix_main, NULL);
}

/* ---- accept: cancelled, then closed by another task ---- */

struct acc {
  weft_aio_server *srv;
  int rc;
};

static int accept_one(void *arg) {
  struct acc *a = arg;
  weft_aio_stream *s = NULL;
  a->rc = weft_aio_accept(a->srv, &s);
  weft_aio_close(s);
  return 0;
}

static int accept_main(void *arg) {
  (void)arg;
  weft_aio_server *srv;
  T_OK(weft_aio_tcp_listen("127.0.0.1", 0, 16, 0, &srv));
  struct acc a = {srv, 1};
  weft_aio_task *t;
  T_OK(weft_aio_spawn(accept_one, &a, &t));
  T_OK(weft_aio_sleep(2 * MS));
  T_OK(weft_aio_cancel(t));
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  T_RC(a.rc, WEFT_ECANCELED);
  /* the listener still works after a cancelled accept */
  struct conn_job j = {"127.0.0.1", weft_aio_server_port(srv), "after cancel"};
  weft_aio_task *c, *e;
  T_OK(weft_aio_spawn(connect_and_trip, &j, &c));
  T_OK(serve_one(srv, &e));
  T_OK(weft_aio_await(c));
  T_OK(weft_aio_await(e));
  weft_aio_task_release(c);
  weft_aio_task_release(e);
  /* two pending accepts, woken by a close from this task */
  struct acc a1 = {srv, 1}, a2 = {srv, 1};
  weft_aio_task *t1, *t2;
  T_OK(weft_aio_spawn(accept_one, &a1, &t1));
  T_OK(weft_aio_spawn(accept_one, &a2, &t2));
  T_OK(weft_aio_sleep(2 * MS));
  weft_aio_server_close(srv);
  T_OK(weft_aio_await(t1));
  T_OK(weft_aio_await(t2));
  weft_aio_task_release(t1);
  weft_aio_task_release(t2);
  T_RC(a1.rc, WEFT_ECLOSED);
  T_RC(a2.rc, WEFT_ECLOSED);
  return 0;
}

static void test_accept_cancel_close(void **state) {
  (void)state;
  run_main_or_skip(accept_main, NULL);
}

/* ---- 10,000 concurrent connections ---- */

struct many {
  size_t n;
  int port;
  size_t live, peak, handled, accepted;
  int errors, first_error;
  weft_aio_sem *gate;   /* clients: connects in flight */
  weft_aio_event *all;  /* clients: every connection made its round trip */
  size_t done;
  bool failed;
};

static struct many g_many;

static void many_error(int rc) {
  if (!g_many.errors++) g_many.first_error = rc;
}

static int many_handler(void *arg) {
  weft_aio_stream *s = arg;
  char id[8];
  size_t n;
  int rc = weft_aio_read_exactly(s, id, sizeof id, NULL);
  if (!rc) rc = weft_aio_write(s, id, sizeof id);
  if (!rc) rc = weft_aio_read(s, id, sizeof id, &n) == WEFT_EEOF ? 0 : WEFT_EIO;
  if (rc) many_error(rc);
  weft_aio_close(s);
  g_many.live--;
  g_many.handled++;
  return 0;
}

/* The server side (this process): accepts n, one task each. */
static int many_server_main(void *arg) {
  weft_aio_server *srv = arg;
  while (g_many.accepted < g_many.n) {
    weft_aio_stream *s;
    int rc = weft_aio_accept(srv, &s);
    if (rc) {
      many_error(rc);
      break;
    }
    g_many.accepted++;
    if (++g_many.live > g_many.peak) g_many.peak = g_many.live;
    rc = weft_aio_spawn(many_handler, s, NULL);
    if (rc) {
      many_error(rc);
      weft_aio_close(s);
      g_many.live--;
    }
  }
  weft_aio_server_close(srv);
  /* wait for the handlers (they end when the clients close) */
  for (int i = 0; i < 120000 && g_many.handled < g_many.accepted; i++) weft_aio_sleep(1 * MS);
  return 0;
}

static int many_client(void *arg) {
  size_t id = (size_t)(uintptr_t)arg;
  weft_aio_stream *c = NULL;
  int rc = weft_aio_sem_acquire(g_many.gate);
  if (!rc) {
    rc = weft_aio_tcp_connect("127.0.0.1", g_many.port, &c);
    weft_aio_sem_release(g_many.gate);
  }
  char msg[8], back[8];
  memcpy(msg, &id, sizeof msg);
  if (!rc) rc = weft_aio_write(c, msg, sizeof msg);
  if (!rc) rc = weft_aio_read_exactly(c, back, sizeof back, NULL);
  if (!rc && memcmp(msg, back, sizeof msg) != 0) rc = WEFT_EIO;
  if (rc) g_many.failed = true;
  if (++g_many.done == g_many.n || g_many.failed) weft_aio_event_set(g_many.all);
  if (!rc) rc = weft_aio_event_wait(g_many.all); /* all open at once */
  weft_aio_close(c);
  return rc;
}

static int many_clients_main(void *arg) {
  (void)arg;
  int rc = weft_aio_sem_create(&g_many.gate, 256, 0);
  if (!rc) rc = weft_aio_event_create(&g_many.all);
  if (rc) return rc;
  weft_aio_task **ts = calloc(g_many.n, sizeof *ts);
  if (!ts) return WEFT_ENOMEM;
  size_t started = 0;
  for (; started < g_many.n; started++)
    if ((rc = weft_aio_spawn(many_client, (void *)(uintptr_t)started, &ts[started]))) break;
  if (rc) g_many.failed = true, weft_aio_event_set(g_many.all);
  int grc = weft_aio_gather(ts, started, WEFT_AIO_COLLECT);
  for (size_t i = 0; i < started; i++) {
    int c = weft_aio_task_code(ts[i]);
    if (c && !rc) {
      rc = c;
      fprintf(stderr, "client %zu: %s (%s)\n", i, weft_err_name(c), weft_aio_last_error());
    }
    weft_aio_task_release(ts[i]);
  }
  free(ts);
  weft_aio_event_destroy(g_many.all);
  weft_aio_sem_destroy(g_many.gate);
  return rc ? rc : grc;
}

/* Raises the soft fd limit to the hard one; false if that is below need. */
static bool raise_nofile(size_t need, rlim_t *hard) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl)) return false;
  *hard = rl.rlim_max;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need;
}

/* Child mode: `test_aio_net --clients PORT N`. */
static int clients_process(int port, size_t n) {
  rlim_t hard;
  raise_nofile(n + 64, &hard);
  memset(&g_many, 0, sizeof g_many);
  g_many.port = port;
  g_many.n = n;
  int rc = weft_aio_run(many_clients_main, NULL);
  if (rc) fprintf(stderr, "clients: %s (%s)\n", weft_err_name(rc), weft_aio_last_error());
  return rc ? 1 : 0;
}

static pid_t g_child;

static int many_main(void *arg) {
  (void)arg;
  weft_aio_server *srv;
  T_OK(weft_aio_tcp_listen("127.0.0.1", 0, 4096, 0, &srv));
  char port[16], count[32];
  snprintf(port, sizeof port, "%d", weft_aio_server_port(srv));
  snprintf(count, sizeof count, "%zu", g_many.n);
  char *argv[] = {"/proc/self/exe", "--clients", port, count, NULL};
  if (posix_spawn(&g_child, "/proc/self/exe", NULL, NULL, argv, environ) != 0) {
    weft_aio_server_close(srv);
    T_TRUE(!"posix_spawn failed");
  }
  weft_aio_scope sc; /* a client process that dies must not hang the test */
  weft_aio_scope_enter(&sc, 100000 * MS);
  int rc = many_server_main(srv);
  weft_aio_scope_exit(&sc);
  int status = 0;
  pid_t p = 0;
  for (int i = 0; i < 60000 && p != g_child; i++) { /* the child ends once all closed */
    p = waitpid(g_child, &status, WNOHANG);
    if (p != g_child) weft_aio_sleep(1 * MS);
  }
  if (p != g_child) {
    kill(g_child, SIGKILL);
    waitpid(g_child, &status, 0);
  }
  T_OK(rc);
  T_TRUE(WIFEXITED(status));
  T_EQ(WEXITSTATUS(status), 0);
  T_RC(g_many.first_error, 0);
  T_EQ(g_many.accepted, g_many.n);
  T_EQ(g_many.handled, g_many.n);
  T_EQ(g_many.peak, g_many.n); /* all were open at the same time */
  return 0;
}

static void test_many_connections(void **state) {
  (void)state;
  size_t n = scaled(10000, 200);
  rlim_t hard = 0;
  if (!raise_nofile(n + 64, &hard)) {
    print_message("RLIMIT_NOFILE hard limit %llu < %zu needed for %zu connections: skipped\n",
                  (unsigned long long)hard, n + 64, n);
    skip();
  }
  memset(&g_many, 0, sizeof g_many);
  g_many.n = n;
  run_main_or_skip(many_main, NULL);
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--clients") == 0)
    return clients_process(atoi(argv[2]), (size_t)atol(argv[3]));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_and_refused),
      cmocka_unit_test(test_ipv6),
      cmocka_unit_test(test_addrinuse_reuseport),
      cmocka_unit_test(test_unix),
      cmocka_unit_test(test_accept_cancel_close),
      cmocka_unit_test(test_many_connections),
  };
  return cmocka_run_group_tests(tests, warm_up, NULL);
}
