/* tests/test_subprocess.c — running external programs: exit statuses and
 * signals, capture without deadlock, stdin, env and cwd, timeouts with
 * TERM-then-KILL, start errors, the Popen-like object, run_many, and no fd
 * leaked or zombie left behind. Timing only ever as lower bounds. */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "weft/proc.h"

#define MS 1000000ull

static int fds_at_start;


/* The child was reaped: its pid is no longer our child. */
static void assert_reaped(pid_t pid) {
  assert_true(pid > 0);
  int st;
  assert_int_equal(waitpid(pid, &st, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

static weft_subprocess_opts cmd(const char *const *argv) {
  return (weft_subprocess_opts){.argv = argv};
}

static weft_subprocess_opts shell(const char *const *argv) {
  return (weft_subprocess_opts){.argv = argv, .shell = true};
}

/* ---- exit statuses and signals ---- */

static void test_exit_status(void **state) {
  (void)state;
  weft_subprocess_result r;
  const char *t[] = {"/bin/true", NULL}, *f[] = {"false", NULL}, *s7[] = {"exit 7", NULL};
  weft_subprocess_opts o = cmd(t);
  assert_ok(weft_subprocess_run(&o, &r));
  assert_int_equal(r.exit_code, 0);
  assert_int_equal(r.term_signal, 0);
  assert_null(r.out);
  assert_reaped(r.pid);
  weft_subprocess_result_free(&r);
  o = cmd(f);
  assert_ok(weft_subprocess_run(&o, &r));
  assert_int_equal(r.exit_code, 1);
  weft_subprocess_result_free(&r);
  o = shell(s7);
  assert_ok(weft_subprocess_run(&o, &r));
  assert_int_equal(r.exit_code, 7);
  weft_subprocess_result_free(&r);
}

static void test_killed_by_signal(void **state) {
  (void)state;
  const char *k[] = {"kill -9 $$", NULL};
  weft_subprocess_opts o = shell(k);
  weft_subprocess_result r;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_int_equal(r.term_signal, SIGKILL);
  assert_int_equal(r.exit_code, -1);
  assert_reaped(r.pid);
  weft_subprocess_result_free(&r);
}

static void test_shell_positional_args(void **state) {
  (void)state;
  const char *a[] = {"echo \"$0-$1\"", "zero", "one", NULL};
  weft_subprocess_opts o = shell(a);
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  weft_subprocess_result r;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_string_equal(r.out, "zero-one\n");
  weft_subprocess_result_free(&r);
}

/* ---- capture ---- */

static void test_capture_separately(void **state) {
  (void)state;
  const char *a[] = {"echo out; echo err >&2; echo more", NULL};
  weft_subprocess_opts o = shell(a);
  o.stdout_mode = o.stderr_mode = WEFT_SUBPROCESS_CAPTURE;
  weft_subprocess_result r;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_string_equal(r.out, "out\nmore\n");
  assert_int_equal(r.out_size, 9);
  assert_string_equal(r.err, "err\n");
  weft_subprocess_result_free(&r);
  assert_null(r.out);
  weft_subprocess_result_free(&r); /* twice: harmless */
}

static void test_capture_modes(void **state) {
  (void)state;
  const char *a[] = {"echo out; echo err >&2", NULL};
  weft_subprocess_opts o = shell(a);
  weft_subprocess_result r;
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  o.stderr_mode = WEFT_SUBPROCESS_STDOUT;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_string_equal(r.out, "out\nerr\n");
  assert_null(r.err);
  weft_subprocess_result_free(&r);
  o.stdout_mode = WEFT_SUBPROCESS_DISCARD;
  o.stderr_mode = WEFT_SUBPROCESS_CAPTURE;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_null(r.out);
  assert_string_equal(r.err, "err\n");
  weft_subprocess_result_free(&r);
  const char *none[] = {"true", NULL};
  o = shell(none);
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_non_null(r.out); /* captured nothing: "" */
  assert_int_equal(r.out_size, 0);
  weft_subprocess_result_free(&r);
}

static void test_large_both_streams(void **state) {
  (void)state;
  size_t size = scaled(52428800, 1 << 20);
  char script[160];
  snprintf(script, sizeof script, "head -c %zu /dev/zero; head -c %zu /dev/zero >&2", size,
           size);
  const char *a[] = {script, NULL};
  weft_subprocess_opts o = shell(a);
  o.stdout_mode = o.stderr_mode = WEFT_SUBPROCESS_CAPTURE;
  weft_subprocess_result r;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_int_equal(r.exit_code, 0);
  assert_int_equal(r.out_size, size);
  assert_int_equal(r.err_size, size);
  assert_int_equal(r.out[size - 1], 0);
  weft_subprocess_result_free(&r);
}

/* ---- stdin ---- */

static void test_stdin_to_cat(void **state) {
  (void)state;
  const char *a[] = {"cat", NULL};
  weft_subprocess_opts o = cmd(a);
  o.stdin_data = "hello\nworld\n";
  o.stdin_size = 12;
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  weft_subprocess_result r;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_string_equal(r.out, "hello\nworld\n");
  weft_subprocess_result_free(&r);
  o.stdin_size = 0; /* empty stdin: immediate end-of-file */
  assert_ok(weft_subprocess_run(&o, &r));
  assert_int_equal(r.out_size, 0);
  weft_subprocess_result_free(&r);
}

static void test_large_stdin(void **state) {
  (void)state;
  size_t size = scaled(8 << 20, 1 << 20);
  unsigned char *data = malloc(size);
  assert_non_null(data);
  for (size_t i = 0; i < size; i++) data[i] = (unsigned char)(i * 131 + (i >> 13));
  const char *a[] = {"cat", NULL};
  weft_subprocess_opts o = cmd(a);
  o.stdin_data = data;
  o.stdin_size = size;
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  weft_subprocess_result r;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_int_equal(r.out_size, size);
  assert_memory_equal(r.out, data, size);
  weft_subprocess_result_free(&r);
  free(data);
}

static void test_stdin_not_read(void **state) {
  (void)state; /* the child exits without reading: EPIPE, not a dead parent */
  size_t size = 4 << 20;
  char *data = calloc(1, size);
  assert_non_null(data);
  const char *a[] = {"/bin/true", NULL};
  weft_subprocess_opts o = cmd(a);
  o.stdin_data = data;
  o.stdin_size = size;
  weft_subprocess_result r;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_int_equal(r.exit_code, 0);
  weft_subprocess_result_free(&r);
  free(data);
  sigset_t pending;
  sigpending(&pending);
  assert_false(sigismember(&pending, SIGPIPE));
}

/* ---- env and cwd ---- */

static void test_env_and_cwd(void **state) {
  (void)state;
  const char *a[] = {"echo $FOO; pwd", NULL};
  const char *env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
  weft_subprocess_opts o = shell(a);
  o.env = env;
  o.cwd = "/tmp";
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  weft_subprocess_result r;
  assert_ok(weft_subprocess_run(&o, &r));
  assert_string_equal(r.out, "bar baz\n/tmp\n");
  weft_subprocess_result_free(&r);
  o.cwd = "/nonexistent/dir";
  assert_weft(weft_subprocess_run(&o, &r), WEFT_ENOENT);
  weft_subprocess_result_free(&r);
}

/* ---- timeouts ---- */

static void test_timeout_terminates(void **state) {
  (void)state;
  const char *a[] = {"echo started; exec sleep 10", NULL};
  weft_subprocess_opts o = shell(a);
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  o.timeout_ns = 100 * MS;
  weft_subprocess_result r;
  uint64_t t0 = weft_now_ns();
  assert_weft(weft_subprocess_run(&o, &r), WEFT_ETIMEDOUT);
  assert_true(weft_now_ns() - t0 >= 100 * MS);
  assert_int_equal(r.error, WEFT_ETIMEDOUT);
  assert_int_equal(r.term_signal, SIGTERM);
  assert_string_equal(r.out, "started\n"); /* what was captured is kept */
  assert_reaped(r.pid);
  weft_subprocess_result_free(&r);
}

static void test_timeout_escalates_to_kill(void **state) {
  (void)state;
  const char *a[] = {"trap '' TERM; sleep 3", NULL};
  weft_subprocess_opts o = shell(a);
  /* sh ignores TERM and runs sleep as its child: once sh is KILLed, the
   * orphaned sleep still holds the stdout pipe, which the loop must not
   * wait on. The other streams are not inherited, so the orphan holds
   * nothing of the test runner's (ctest waits for its pipes' end). */
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  o.stderr_mode = o.stdin_mode = WEFT_SUBPROCESS_DISCARD;
  o.timeout_ns = 100 * MS;
  o.kill_grace_ns = 200 * MS;
  weft_subprocess_result r;
  uint64_t t0 = weft_now_ns();
  assert_weft(weft_subprocess_run(&o, &r), WEFT_ETIMEDOUT);
  assert_true(weft_now_ns() - t0 >= 300 * MS);
  assert_int_equal(r.term_signal, SIGKILL);
  assert_reaped(r.pid);
  weft_subprocess_result_free(&r);
}

/* ---- errors ---- */

static void test_errors(void **state) {
  (void)state;
  weft_subprocess_result r;
  const char *missing[] = {"weft-no-such-program-xyz", NULL}, *empty[] = {NULL};
  weft_subprocess_opts o = cmd(missing);
  assert_weft(weft_subprocess_run(&o, &r), WEFT_ENOENT);
  assert_int_equal(r.pid, 0);
  weft_subprocess_result_free(&r);
  const char *abs_missing[] = {"/nonexistent/prog", NULL};
  o = cmd(abs_missing);
  assert_weft(weft_subprocess_run(&o, &r), WEFT_ENOENT);
  o = cmd(NULL);
  assert_weft(weft_subprocess_run(&o, &r), WEFT_EINVAL);
  o = cmd(empty);
  assert_weft(weft_subprocess_run(&o, &r), WEFT_EINVAL);
  assert_weft(weft_subprocess_run(NULL, &r), WEFT_EINVAL);
  const char *t[] = {"true", NULL};
  o = cmd(t);
  assert_weft(weft_subprocess_run(&o, NULL), WEFT_EINVAL);
  o.stdin_mode = WEFT_SUBPROCESS_CAPTURE;
  assert_weft(weft_subprocess_run(&o, &r), WEFT_EINVAL);
  o = cmd(t);
  o.stderr_mode = 42;
  assert_weft(weft_subprocess_run(&o, &r), WEFT_EINVAL);
  o = cmd(t);
  o.stdin_size = 3; /* bytes without data */
  assert_weft(weft_subprocess_run(&o, &r), WEFT_EINVAL);
  weft_subprocess *p = NULL;
  o = cmd(missing);
  assert_weft(weft_subprocess_start(&p, &o), WEFT_ENOENT);
  assert_null(p);
  o = cmd(empty);
  assert_weft(weft_subprocess_start(&p, &o), WEFT_EINVAL);
  assert_weft(weft_subprocess_start(NULL, &o), WEFT_EINVAL);
  assert_weft(weft_subprocess_wait(NULL, 0, NULL), WEFT_EINVAL);
  assert_weft(weft_subprocess_poll(NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_subprocess_terminate(NULL), WEFT_EINVAL);
  weft_subprocess_destroy(NULL);
}

/* ---- the Popen-like object ---- */

static void test_popen_wait_and_poll(void **state) {
  (void)state;
  const char *a[] = {"cat", NULL};
  weft_subprocess_opts o = cmd(a);
  o.stdin_data = "abc";
  o.stdin_size = 3;
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  weft_subprocess *p;
  assert_ok(weft_subprocess_start(&p, &o));
  assert_true(weft_subprocess_pid(p) > 0);
  weft_subprocess_result r;
  int rc;
  while ((rc = weft_subprocess_poll(p, &r)) == WEFT_EAGAIN) usleep(1000);
  assert_ok(rc);
  assert_int_equal(r.exit_code, 0);
  assert_string_equal(r.out, "abc");
  weft_subprocess_result_free(&r);
  assert_ok(weft_subprocess_wait(p, WEFT_FOREVER, &r)); /* again: status, no buffers */
  assert_int_equal(r.exit_code, 0);
  assert_null(r.out);
  assert_weft(weft_subprocess_terminate(p), WEFT_EALREADY);
  pid_t pid = weft_subprocess_pid(p);
  weft_subprocess_destroy(p);
  assert_reaped(pid);
}

static void test_popen_terminate_kill(void **state) {
  (void)state;
  const char *a[] = {"sleep", "10", NULL};
  weft_subprocess_opts o = cmd(a);
  weft_subprocess *p;
  assert_ok(weft_subprocess_start(&p, &o));
  weft_subprocess_result r;
  assert_weft(weft_subprocess_poll(p, &r), WEFT_EAGAIN);
  uint64_t t0 = weft_now_ns();
  assert_weft(weft_subprocess_wait(p, 50 * MS, &r), WEFT_ETIMEDOUT);
  assert_true(weft_now_ns() - t0 >= 50 * MS);
  assert_ok(weft_subprocess_terminate(p));
  assert_ok(weft_subprocess_wait(p, WEFT_FOREVER, &r));
  assert_int_equal(r.term_signal, SIGTERM);
  weft_subprocess_destroy(p);
  const char *trap[] = {"trap '' TERM; while :; do sleep 1; done", NULL};
  o = shell(trap);
  o.stdin_mode = o.stdout_mode = o.stderr_mode = WEFT_SUBPROCESS_DISCARD; /* orphaned sleep */
  assert_ok(weft_subprocess_start(&p, &o));
  assert_ok(weft_subprocess_kill(p));
  assert_ok(weft_subprocess_wait(p, WEFT_FOREVER, &r));
  assert_int_equal(r.term_signal, SIGKILL);
  weft_subprocess_destroy(p);
}

static void test_popen_destroy_running(void **state) {
  (void)state;
  const char *a[] = {"sleep", "10", NULL};
  weft_subprocess_opts o = cmd(a);
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  weft_subprocess *p;
  assert_ok(weft_subprocess_start(&p, &o));
  pid_t pid = weft_subprocess_pid(p);
  weft_subprocess_destroy(p); /* kills and reaps */
  assert_reaped(pid);
}

/* Reaping is by pid: a child started outside weft keeps its status. */
static void test_other_children_untouched(void **state) {
  (void)state;
  const char *sh[] = {"/bin/sh", "-c", "exit 3", NULL};
  weft_subprocess_opts mine = cmd(sh);
  weft_subprocess *other;
  assert_ok(weft_subprocess_start(&other, &mine));
  const char *t[] = {"true", NULL};
  weft_subprocess_opts o = cmd(t);
  weft_subprocess_result r;
  for (int i = 0; i < 5; i++) {
    assert_ok(weft_subprocess_run(&o, &r));
    weft_subprocess_result_free(&r);
  }
  assert_ok(weft_subprocess_wait(other, WEFT_FOREVER, &r));
  assert_int_equal(r.exit_code, 3);
  weft_subprocess_destroy(other);
}

/* Threads running programs at once: each gets its own output only (the
 * pipes are close-on-exec, so no child inherits another's pipe — which
 * would also hold that pipe open and delay its end-of-file). */
static void *run_echoes(void *arg) {
  size_t id = (size_t)arg;
  char script[64], expect[32];
  snprintf(script, sizeof script, "echo thread-%zu", id);
  snprintf(expect, sizeof expect, "thread-%zu\n", id);
  const char *a[] = {script, NULL};
  weft_subprocess_opts o = shell(a);
  o.stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  for (size_t i = 0; i < scaled(20, 5); i++) {
    weft_subprocess_result r;
    if (weft_subprocess_run(&o, &r) != 0 || strcmp(r.out, expect) != 0) return (void *)1;
    weft_subprocess_result_free(&r);
  }
  return NULL;
}

static void test_threads_run_at_once(void **state) {
  (void)state;
  enum { T = 4 };
  pthread_t th[T];
  for (size_t i = 0; i < T; i++)
    assert_int_equal(pthread_create(&th[i], NULL, run_echoes, (void *)i), 0);
  for (size_t i = 0; i < T; i++) {
    void *bad;
    assert_int_equal(pthread_join(th[i], &bad), 0);
    assert_null(bad);
  }
}

/* ---- run_many ---- */

typedef struct done_log {
  size_t calls;
  size_t seen[256];
} done_log;

static void on_done(size_t index, const weft_subprocess_result *r, void *arg) {
  done_log *log = arg;
  assert_true(index < 256);
  assert_int_equal(r->error, 0);
  log->seen[index]++;
  log->calls++;
}

static void test_run_many_true(void **state) {
  (void)state;
  enum { N = 200 };
  const char *t[] = {"/bin/true", NULL};
  weft_subprocess_opts cmds[N];
  weft_subprocess_result res[N];
  for (size_t i = 0; i < N; i++) cmds[i] = cmd(t);
  done_log log = {0};
  assert_ok(weft_subprocess_run_many(cmds, N, 2, res, on_done, &log));
  assert_int_equal(log.calls, N);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(log.seen[i], 1);
    assert_int_equal(res[i].exit_code, 0);
    assert_reaped(res[i].pid);
    weft_subprocess_result_free(&res[i]);
  }
}

static void test_run_many_order_and_errors(void **state) {
  (void)state;
  enum { N = 12 };
  char scripts[N][64];
  const char *argv[N][2];
  weft_subprocess_opts cmds[N];
  weft_subprocess_result res[N];
  for (size_t i = 0; i < N; i++) {
    /* later commands finish first: order must still be submission order */
    snprintf(scripts[i], sizeof scripts[i], "sleep 0.0%zu; echo %zu; exit %zu", (N - i) % 10,
             i, i);
    argv[i][0] = scripts[i];
    argv[i][1] = NULL;
    cmds[i] = shell(argv[i]);
    cmds[i].stdout_mode = WEFT_SUBPROCESS_CAPTURE;
  }
  const char *missing[] = {"weft-no-such-program-xyz", NULL};
  cmds[5] = cmd(missing);
  assert_weft(weft_subprocess_run_many(cmds, N, 4, res, NULL, NULL), WEFT_ENOENT);
  for (size_t i = 0; i < N; i++) {
    if (i == 5) {
      assert_int_equal(res[i].error, WEFT_ENOENT);
      continue;
    }
    char expect[16];
    snprintf(expect, sizeof expect, "%zu\n", i);
    assert_int_equal(res[i].exit_code, (int)i);
    assert_string_equal(res[i].out, expect);
    weft_subprocess_result_free(&res[i]);
  }
  assert_ok(weft_subprocess_run_many(NULL, 0, 2, NULL, NULL, NULL));
  assert_weft(weft_subprocess_run_many(NULL, 1, 2, res, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_subprocess_run_many(cmds, 1, 2, NULL, NULL, NULL), WEFT_EINVAL);
  cmds[0].argv = NULL;
  assert_weft(weft_subprocess_run_many(cmds, N, 2, res, NULL, NULL), WEFT_EINVAL);
}

static void test_run_many_timeout(void **state) {
  (void)state;
  const char *slow[] = {"sleep", "10", NULL}, *fast[] = {"true", NULL};
  weft_subprocess_opts cmds[3] = {cmd(fast), cmd(slow), cmd(fast)};
  cmds[1].timeout_ns = 100 * MS;
  weft_subprocess_result res[3];
  assert_weft(weft_subprocess_run_many(cmds, 3, 0, res, NULL, NULL), WEFT_ETIMEDOUT);
  assert_int_equal(res[0].exit_code, 0);
  assert_int_equal(res[1].term_signal, SIGTERM);
  assert_int_equal(res[2].exit_code, 0);
  for (int i = 0; i < 3; i++) {
    assert_reaped(res[i].pid);
    weft_subprocess_result_free(&res[i]);
  }
}

/* ---- last: nothing leaked by all of the above ---- */

static void test_no_fd_leak(void **state) {
  (void)state;
  assert_int_equal(open_fd_count(), fds_at_start);
  int st;
  assert_int_equal(waitpid(-1, &st, WNOHANG), -1); /* no child left at all */
  assert_int_equal(errno, ECHILD);
}

int main(void) {
  fds_at_start = open_fd_count();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_status),
      cmocka_unit_test(test_killed_by_signal),
      cmocka_unit_test(test_shell_positional_args),
      cmocka_unit_test(test_capture_separately),
      cmocka_unit_test(test_capture_modes),
      cmocka_unit_test(test_large_both_streams),
      cmocka_unit_test(test_stdin_to_cat),
      cmocka_unit_test(test_large_stdin),
      cmocka_unit_test(test_stdin_not_read),
      cmocka_unit_test(test_env_and_cwd),
      cmocka_unit_test(test_timeout_terminates),
      cmocka_unit_test(test_timeout_escalates_to_kill),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_popen_wait_and_poll),
      cmocka_unit_test(test_popen_terminate_kill),
      cmocka_unit_test(test_popen_destroy_running),
      cmocka_unit_test(test_other_children_untouched),
      cmocka_unit_test(test_threads_run_at_once),
      cmocka_unit_test(test_run_many_true),
      cmocka_unit_test(test_run_many_order_and_errors),
      cmocka_unit_test(test_run_many_timeout),
      cmocka_unit_test(test_no_fd_leak),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
