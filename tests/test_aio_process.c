/* tests/test_aio_process.c — subprocesses (aio.h, create_subprocess_exec):
 * a round trip through /bin/cat's stdin and stdout, exit codes, a signal
 * (kill with SIGTERM), stderr, cwd and env, several waiters, a program that
 * cannot be run (WEFT_ENOENT), a two-process pipeline (printf | sort) fed
 * through the streams, destroy of a running child (reaped, no leak), and
 * cancellation of a wait, and process groups: kill_group reaches the
 * grandchildren a child started, also after the child itself has exited;
 * PATH lookups (remembered per name) that follow a program that moved.
 * Every test counts open descriptors around its
 * run: nothing may leak.
 *
 * Task bodies check with CHECK/CHECK_RC, which count failures and return
 * from the task (a cmocka failure must not longjmp off a coroutine stack). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>
#include <cmocka.h>
#include "testutil.h"
#include "aio_testutil.h"
#include "weft/aio.h"

#define MS WEFT_MS

/* Reads s to its end into buf (NUL-terminated); the length, or a code. */
static int read_all(weft_aio_stream *s, char *buf, size_t cap) {
  size_t len = 0;
  for (;;) {
    size_t n = 0;
    if (len + 1 >= cap) return WEFT_ERANGE;
    int rc = weft_aio_read(s, buf + len, cap - 1 - len, &n);
    if (rc == WEFT_EEOF) break;
    if (rc) return rc;
    len += n;
  }
  buf[len] = '\0';
  return (int)len;
}

/* ---- cat: stdin to stdout ---- */

static int cat_round_trip(void *arg) {
  (void)arg;
  const char *argv[] = {"cat", NULL};
  weft_aio_process_options o = {.pipes = WEFT_AIO_PIPE_STDIN | WEFT_AIO_PIPE_STDOUT};
  weft_aio_process *p;
  CHECK_RC(weft_aio_process_spawn(argv, &o, &p), 0);
  CHECK(weft_aio_process_pid(p) > 0);
  CHECK(weft_aio_process_stdin(p) && weft_aio_process_stdout(p));
  CHECK(weft_aio_process_stderr(p) == NULL);
  /* Line by line: each line comes back before the next is sent. */
  for (int i = 0; i < 20; i++) {
    char line[64], back[64];
    int len = snprintf(line, sizeof line, "line %d of the round trip\n", i);
    CHECK_RC(weft_aio_write(weft_aio_process_stdin(p), line, (size_t)len), 0);
    size_t n = 0;
    CHECK_RC(weft_aio_read_line(weft_aio_process_stdout(p), back, sizeof back, &n), 0);
    CHECK(n == (size_t)len && strcmp(back, line) == 0);
  }
  /* A bigger block, then EOF. */
  size_t big = 200000;
  char *data = malloc(big), *out = malloc(big + 16);
  CHECK(data && out);
  for (size_t i = 0; i < big; i++) data[i] = (char)('a' + i % 26);
  CHECK_RC(weft_aio_write(weft_aio_process_stdin(p), data, big), 0);
  CHECK_RC(weft_aio_shutdown(weft_aio_process_stdin(p)), 0);
  int got = read_all(weft_aio_process_stdout(p), out, big + 16);
  CHECK(got == (int)big);
  CHECK(memcmp(out, data, big) == 0);
  free(data);
  free(out);
  int status = -1, sig = -1;
  CHECK_RC(weft_aio_process_wait(p, &status, &sig), 0);
  CHECK(status == 0 && sig == 0);
  CHECK_RC(weft_aio_process_wait(p, &status, &sig), 0); /* again: at once */
  CHECK(status == 0 && sig == 0);
  CHECK_RC(weft_aio_process_kill(p, SIGTERM), WEFT_EALREADY);
  weft_aio_process_destroy(p);
  return 0;
}

static void test_cat_round_trip(void **state) {
  (void)state;
  run_main(cat_round_trip, NULL);
}

/* ---- exit codes, signals, stderr, cwd, env ---- */

static int exit_and_signal(void *arg) {
  (void)arg;
  weft_aio_process *p;
  int status = -1, sig = -1;
  const char *exit7[] = {"sh", "-c", "exit 7", NULL};
  CHECK_RC(weft_aio_process_spawn(exit7, NULL, &p), 0);
  CHECK_RC(weft_aio_process_wait(p, &status, &sig), 0);
  CHECK(status == 7 && sig == 0);
  weft_aio_process_destroy(p);

  const char *sleeper[] = {"sleep", "30", NULL};
  CHECK_RC(weft_aio_process_spawn(sleeper, NULL, &p), 0);
  CHECK_RC(weft_aio_process_kill(p, SIGTERM), 0);
  CHECK_RC(weft_aio_process_wait(p, &status, &sig), 0);
  CHECK(sig == SIGTERM);
  CHECK_RC(weft_aio_process_kill(p, SIGTERM), WEFT_EALREADY);
  weft_aio_process_destroy(p);

  const char *err[] = {"sh", "-c", "echo oops >&2; echo out", NULL};
  weft_aio_process_options o = {.pipes = WEFT_AIO_PIPE_STDOUT | WEFT_AIO_PIPE_STDERR};
  CHECK_RC(weft_aio_process_spawn(err, &o, &p), 0);
  char buf[64];
  CHECK(read_all(weft_aio_process_stderr(p), buf, sizeof buf) == 5);
  CHECK(strcmp(buf, "oops\n") == 0);
  CHECK(read_all(weft_aio_process_stdout(p), buf, sizeof buf) == 4);
  CHECK(strcmp(buf, "out\n") == 0);
  CHECK_RC(weft_aio_process_wait(p, NULL, NULL), 0);
  weft_aio_process_destroy(p);

  const char *env[] = {"WEFT_TEST_VAR=hello there", "PATH=/usr/bin:/bin", NULL};
  const char *show[] = {"sh", "-c", "echo \"$WEFT_TEST_VAR\"; pwd", NULL};
  weft_aio_process_options oe = {.pipes = WEFT_AIO_PIPE_STDOUT, .cwd = "/", .env = env};
  CHECK_RC(weft_aio_process_spawn(show, &oe, &p), 0);
  CHECK(read_all(weft_aio_process_stdout(p), buf, sizeof buf) > 0);
  CHECK(strcmp(buf, "hello there\n/\n") == 0);
  CHECK_RC(weft_aio_process_wait(p, &status, NULL), 0);
  CHECK(status == 0);
  weft_aio_process_destroy(p);
  return 0;
}

static void test_exit_and_signal(void **state) {
  (void)state;
  run_main(exit_and_signal, NULL);
}

/* ---- programs that cannot be run ---- */

static int missing(void *arg) {
  (void)arg;
  int rc;
  weft_aio_process *p = (weft_aio_process *)&p;
  const char *none[] = {"weft-no-such-program-here", NULL};
  weft_aio_process_options o = {.pipes = WEFT_AIO_PIPE_STDIN | WEFT_AIO_PIPE_STDOUT};
  CHECK_RC(weft_aio_process_spawn(none, &o, &p), WEFT_ENOENT);
  CHECK(p == NULL);
  CHECK(strstr(weft_aio_last_error(), "weft-no-such-program-here") != NULL);
  const char *abs[] = {"/nonexistent/dir/prog", NULL};
  CHECK_RC(weft_aio_process_spawn(abs, NULL, &p), WEFT_ENOENT);
  const char *dir[] = {"/", NULL}; /* not executable */
  CHECK_RC(weft_aio_process_spawn(dir, NULL, &p), WEFT_ENOENT);
  const char *ok[] = {"true", NULL};
  weft_aio_process_options bad_cwd = {.cwd = "/nonexistent/dir"};
  CHECK_RC(weft_aio_process_spawn(ok, &bad_cwd, &p), WEFT_ENOENT);
  const char *empty[] = {NULL};
  CHECK_RC(weft_aio_process_spawn(empty, NULL, &p), WEFT_EINVAL);
  /* An executable file without "#!" is run by /bin/sh, as execvp does. */
  char script[] = "/tmp/weft-test-script-XXXXXX";
  int fd = mkstemp(script);
  CHECK(fd >= 0);
  CHECK(write(fd, "exit $(($1 + 4))\n", 17) == 17);
  close(fd);
  CHECK(chmod(script, 0700) == 0);
  const char *run_script[] = {script, "1", NULL};
  int status = -1;
  rc = weft_aio_process_spawn(run_script, NULL, &p);
  if (rc == 0) {
    rc = weft_aio_process_wait(p, &status, NULL);
    weft_aio_process_destroy(p);
  }
  unlink(script);
  CHECK_RC(rc, 0);
  CHECK(status == 5);
  CHECK_RC(weft_aio_process_spawn(NULL, NULL, &p), WEFT_EINVAL);
  return 0;
}

static void test_missing(void **state) {
  (void)state;
  run_main(missing, NULL);
  const char *ok[] = {"true", NULL};
  weft_aio_process *p;
  assert_weft(weft_aio_process_spawn(ok, NULL, &p), WEFT_EPERM); /* no loop */
}

/* ---- printf | sort through the streams ---- */

struct pipe_copy {
  weft_aio_stream *from, *to;
  size_t bytes;
};

/* Copies from one process's stdout into another's stdin, then EOF. */
static int copier(void *arg) {
  struct pipe_copy *c = arg;
  char buf[4096];
  for (;;) {
    size_t n = 0;
    int rc = weft_aio_read(c->from, buf, sizeof buf, &n);
    if (rc == WEFT_EEOF) break;
    CHECK_RC(rc, 0);
    CHECK_RC(weft_aio_write(c->to, buf, n), 0);
    c->bytes += n;
  }
  CHECK_RC(weft_aio_shutdown(c->to), 0);
  return 0;
}

static int pipeline(void *arg) {
  (void)arg;
  const char *gen[] = {"printf", "pear\\napple\\nfig\\nbanana\\ncherry\\n", NULL};
  const char *sort[] = {"sort", NULL};
  weft_aio_process_options og = {.pipes = WEFT_AIO_PIPE_STDOUT};
  weft_aio_process_options os = {.pipes = WEFT_AIO_PIPE_STDIN | WEFT_AIO_PIPE_STDOUT};
  weft_aio_process *pg, *ps;
  CHECK_RC(weft_aio_process_spawn(gen, &og, &pg), 0);
  CHECK_RC(weft_aio_process_spawn(sort, &os, &ps), 0);
  struct pipe_copy c = {weft_aio_process_stdout(pg), weft_aio_process_stdin(ps), 0};
  weft_aio_task *t;
  CHECK_RC(weft_aio_spawn(copier, &c, &t), 0);
  char out[256];
  int n = read_all(weft_aio_process_stdout(ps), out, sizeof out);
  CHECK_RC(weft_aio_await(t), 0);
  weft_aio_task_release(t);
  CHECK(c.bytes == 29);
  CHECK(n == 29);
  CHECK(strcmp(out, "apple\nbanana\ncherry\nfig\npear\n") == 0);
  int s1 = -1, s2 = -1;
  CHECK_RC(weft_aio_process_wait(pg, &s1, NULL), 0);
  CHECK_RC(weft_aio_process_wait(ps, &s2, NULL), 0);
  CHECK(s1 == 0 && s2 == 0);
  weft_aio_process_destroy(pg);
  weft_aio_process_destroy(ps);
  return 0;
}

static void test_pipeline(void **state) {
  (void)state;
  run_main(pipeline, NULL);
}

/* ---- several waiters, cancelled waits, destroy while running ---- */

struct waiter {
  weft_aio_process *p;
  int code, status, sig;
};

static int wait_task(void *arg) {
  struct waiter *w = arg;
  w->code = weft_aio_process_wait(w->p, &w->status, &w->sig);
  return 0;
}

static int waiters(void *arg) {
  (void)arg;
  const char *sleeper[] = {"sleep", "30", NULL};
  weft_aio_process *p;
  CHECK_RC(weft_aio_process_spawn(sleeper, NULL, &p), 0);
  struct waiter w[3];
  weft_aio_task *ts[3];
  for (int i = 0; i < 3; i++) {
    w[i] = (struct waiter){p, 99, 99, 99};
    CHECK_RC(weft_aio_spawn(wait_task, &w[i], &ts[i]), 0);
  }
  CHECK_RC(weft_aio_yield(), 0);
  CHECK_RC(weft_aio_cancel(ts[1]), 0);
  CHECK_RC(weft_aio_await(ts[1]), 0);
  CHECK_RC(w[1].code, WEFT_ECANCELED);
  /* A wait with a deadline. */
  weft_aio_scope s;
  weft_aio_scope_enter(&s, 5 * MS);
  int rc = weft_aio_process_wait(p, NULL, NULL);
  weft_aio_scope_exit(&s);
  CHECK_RC(rc, WEFT_ETIMEDOUT);
  CHECK_RC(weft_aio_process_kill(p, SIGKILL), 0);
  CHECK_RC(weft_aio_await(ts[0]), 0);
  CHECK_RC(weft_aio_await(ts[2]), 0);
  for (int i = 0; i < 3; i += 2) {
    CHECK_RC(w[i].code, 0);
    CHECK(w[i].sig == SIGKILL && w[i].status == 0);
  }
  for (int i = 0; i < 3; i++) weft_aio_task_release(ts[i]);
  weft_aio_process_destroy(p);

  /* destroy with a waiter and a running child: the waiter gets ECLOSED,
   * the child is killed and reaped behind the scenes. */
  weft_aio_process_options o = {.pipes = WEFT_AIO_PIPE_STDIN | WEFT_AIO_PIPE_STDOUT};
  CHECK_RC(weft_aio_process_spawn(sleeper, &o, &p), 0);
  w[0] = (struct waiter){p, 99, 99, 99};
  CHECK_RC(weft_aio_spawn(wait_task, &w[0], &ts[0]), 0);
  CHECK_RC(weft_aio_yield(), 0);
  weft_aio_process_destroy(p);
  CHECK_RC(weft_aio_await(ts[0]), 0);
  weft_aio_task_release(ts[0]);
  CHECK_RC(w[0].code, WEFT_ECLOSED);

  /* Destroyed while running, right before the loop ends: the end of the
   * run still reaps it (ASan and the fd count see any leak). */
  CHECK_RC(weft_aio_process_spawn(sleeper, &o, &p), 0);
  weft_aio_process_destroy(p);
  return 0;
}

static void test_waiters(void **state) {
  (void)state;
  run_main(waiters, NULL);
}

/* ---- process groups ---- */

/* The pid a child printed on its first line. */
static int read_pid(weft_aio_process *p) {
  char line[64];
  size_t n = 0;
  if (weft_aio_read_line(weft_aio_process_stdout(p), line, sizeof line, &n) != 0) return -1;
  return atoi(line);
}

/* Reaps grandchild gpid (ours as the subreaper) and checks that sig ended
 * it and that nothing with its pid is left. */
static int reap_grandchild(int gpid, int sig) {
  int ws = 0;
  pid_t r;
  while ((r = waitpid(gpid, &ws, 0)) < 0 && errno == EINTR) {
  }
  CHECK(r == gpid);
  CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == sig);
  CHECK(kill(gpid, 0) != 0 && errno == ESRCH);
  return 0;
}

static int groups(void *arg) {
  (void)arg;
  weft_aio_process *p;
  int status = -1, sig = -1;
  /* Not started with new_group: no group of its own to signal. */
  const char *t[] = {"true", NULL};
  CHECK_RC(weft_aio_process_spawn(t, NULL, &p), 0);
  CHECK_RC(weft_aio_process_kill_group(p, SIGTERM), WEFT_EINVAL);
  CHECK_RC(weft_aio_process_wait(p, NULL, NULL), 0);
  weft_aio_process_destroy(p);

  /* A shell waiting for a background sleep: one signal to the group ends
   * both, though the shell never passes it on. */
  const char *tree[] = {"sh", "-c", "sleep 30 & echo $!; wait", NULL};
  weft_aio_process_options o = {.pipes = WEFT_AIO_PIPE_STDOUT, .new_group = true};
  CHECK_RC(weft_aio_process_spawn(tree, &o, &p), 0);
  int pid = weft_aio_process_pid(p), gpid = read_pid(p);
  CHECK(gpid > 0 && gpid != pid);
  CHECK(getpgid(pid) == pid && getsid(pid) == pid);
  CHECK(getpgid(gpid) == pid);
  CHECK_RC(weft_aio_process_kill_group(p, SIGTERM), 0);
  CHECK_RC(weft_aio_process_wait(p, &status, &sig), 0);
  CHECK(sig == SIGTERM);
  CHECK(reap_grandchild(gpid, SIGTERM) == 0);
  CHECK_RC(weft_aio_process_kill_group(p, SIGTERM), WEFT_EALREADY); /* group empty */
  weft_aio_process_destroy(p);

  /* The leader exits at once and leaves a sleep behind: the group lives on
   * and kill_group still reaches it. */
  const char *orphan[] = {"sh", "-c", "sleep 30 & echo $!", NULL};
  CHECK_RC(weft_aio_process_spawn(orphan, &o, &p), 0);
  gpid = read_pid(p);
  CHECK(gpid > 0);
  CHECK_RC(weft_aio_process_wait(p, &status, &sig), 0);
  CHECK(status == 0 && sig == 0);
  CHECK_RC(weft_aio_process_kill(p, SIGTERM), WEFT_EALREADY);
  CHECK_RC(weft_aio_process_kill_group(p, SIGKILL), 0);
  CHECK(reap_grandchild(gpid, SIGKILL) == 0);
  CHECK_RC(weft_aio_process_kill_group(p, SIGKILL), WEFT_EALREADY);
  weft_aio_process_destroy(p);
  return 0;
}

/* We become the subreaper of our descendants for the test, so that the
 * orphaned sleeps are ours to reap and check. */
static void test_groups(void **state) {
  (void)state;
  assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  run_main(groups, NULL);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* ---- PATH lookups ---- */

static char path_dir[2][64];

/* Copies /bin/sh to dir/weft-test-prog (a script runner is enough: we only
 * look at the exit status of `weft-test-prog -c 'exit N'`). */
static int install_prog(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "cp /bin/sh %s/weft-test-prog", dir);
  return system(cmd);
}

static int run_prog(int *status) {
  const char *argv[] = {"weft-test-prog", "-c", "exit 3", NULL};
  weft_aio_process *p;
  int rc = weft_aio_process_spawn(argv, NULL, &p);
  if (rc) return rc;
  rc = weft_aio_process_wait(p, status, NULL);
  weft_aio_process_destroy(p);
  return rc;
}

static int path_lookup(void *arg) {
  (void)arg;
  int status = -1;
  CHECK_RC(run_prog(&status), 0); /* found in the first directory */
  CHECK(status == 3);
  CHECK_RC(run_prog(&status), 0); /* again: the remembered path */
  CHECK(status == 3);
  /* It moves to the second directory: the remembered path fails, and the
   * spawn walks PATH again. */
  char old[128];
  snprintf(old, sizeof old, "%s/weft-test-prog", path_dir[0]);
  CHECK(unlink(old) == 0);
  CHECK(install_prog(path_dir[1]) == 0);
  CHECK_RC(run_prog(&status), 0);
  CHECK(status == 3);
  snprintf(old, sizeof old, "%s/weft-test-prog", path_dir[1]);
  CHECK(unlink(old) == 0);
  CHECK_RC(run_prog(&status), WEFT_ENOENT); /* gone altogether */
  return 0;
}

static void test_path_lookup(void **state) {
  (void)state;
  const char *orig = getenv("PATH");
  char *saved = strdup(orig ? orig : "/usr/bin:/bin");
  for (int i = 0; i < 2; i++) {
    snprintf(path_dir[i], sizeof path_dir[i], "/tmp/weft-test-path-XXXXXX");
    assert_non_null(mkdtemp(path_dir[i]));
  }
  assert_int_equal(install_prog(path_dir[0]), 0);
  char path[1024];
  snprintf(path, sizeof path, "%s:%s:%s", path_dir[0], path_dir[1], saved);
  setenv("PATH", path, 1);
  run_main(path_lookup, NULL);
  setenv("PATH", saved, 1);
  free(saved);
  for (int i = 0; i < 2; i++) rmdir(path_dir[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cat_round_trip), cmocka_unit_test(test_exit_and_signal),
      cmocka_unit_test(test_missing),        cmocka_unit_test(test_pipeline),
      cmocka_unit_test(test_waiters),        cmocka_unit_test(test_groups),
      cmocka_unit_test(test_path_lookup),
  };
  return cmocka_run_group_tests(tests, warm_up, NULL);
}
