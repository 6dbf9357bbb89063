/* tests/test_aio_misc.c — signals and files (aio.h): awaiting SIGUSR1
 * raised by another task (every waiter woken by one delivery, waits again
 * after, a cancelled waiter leaves), whole-file write and read back with
 * the content checked, empty and missing files, /proc files (size 0 in
 * fstat), cancellation of file operations without leaks.
 *
 * Signals: while nobody waits the watcher is stopped and SIGUSR1 has its
 * default action (it would kill the test), so every raise here happens
 * while a waiter is known to wait.
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
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"
#include "aio_testutil.h"
#include "weft/aio.h"

#define MS WEFT_MS

/* ==== signals ==== */

struct sigw {
  int signum, code, times;
  int armed; /* signal_wait calls made: it waits once this counts up */
};

static int sig_waiter(void *arg) {
  struct sigw *w = arg;
  for (int i = 0; i < w->times; i++) {
    w->armed++; /* signal_wait registers before it suspends: no gap */
    w->code = weft_aio_signal_wait(w->signum);
    if (w->code) return 0;
  }
  return 0;
}

/* Raises a signal once a waiter waits for the n-th time (raising while
 * nobody waits would hit the default action and kill the test). */
struct raise_job {
  struct sigw *w;
  int n;
};

static int raiser(void *arg) {
  struct raise_job *j = arg;
  while (j->w->armed < j->n) CHECK_RC(weft_aio_yield(), 0);
  CHECK_RC(weft_aio_sleep(1 * MS), 0); /* a raise from a later slice */
  CHECK(raise(j->w->signum) == 0);
  return 0;
}

static int signals(void *arg) {
  (void)arg;
  CHECK_RC(weft_aio_signal_wait(0), WEFT_EINVAL);
  CHECK_RC(weft_aio_signal_wait(100000), WEFT_EINVAL);

  /* Two waiters, one delivery; a third, cancelled, leaves quietly. */
  struct sigw w[3] = {{SIGUSR1, 99, 1, 0}, {SIGUSR1, 99, 1, 0}, {SIGUSR1, 99, 1, 0}};
  weft_aio_task *ts[3], *r;
  for (int i = 0; i < 3; i++) CHECK_RC(weft_aio_spawn(sig_waiter, &w[i], &ts[i]), 0);
  CHECK_RC(weft_aio_yield(), 0);
  CHECK(w[0].armed == 1 && w[1].armed == 1 && w[2].armed == 1);
  CHECK_RC(weft_aio_cancel(ts[2]), 0);
  CHECK_RC(weft_aio_await(ts[2]), 0);
  CHECK_RC(w[2].code, WEFT_ECANCELED);
  struct raise_job j = {&w[0], 1};
  CHECK_RC(weft_aio_spawn(raiser, &j, &r), 0);
  CHECK_RC(weft_aio_await(r), 0);
  weft_aio_task_release(r);
  CHECK_RC(weft_aio_await(ts[0]), 0);
  CHECK_RC(weft_aio_await(ts[1]), 0);
  CHECK_RC(w[0].code, 0);
  CHECK_RC(w[1].code, 0);
  for (int i = 0; i < 3; i++) weft_aio_task_release(ts[i]);

  /* The same waiter again and again: the watcher restarts each time. */
  w[0] = (struct sigw){SIGUSR2, 99, 3, 0};
  CHECK_RC(weft_aio_spawn(sig_waiter, &w[0], &ts[0]), 0);
  for (int i = 1; i <= 3; i++) {
    j = (struct raise_job){&w[0], i};
    CHECK_RC(weft_aio_spawn(raiser, &j, &r), 0);
    CHECK_RC(weft_aio_await(r), 0);
    weft_aio_task_release(r);
  }
  CHECK_RC(weft_aio_await(ts[0]), 0);
  weft_aio_task_release(ts[0]);
  CHECK_RC(w[0].code, 0);
  CHECK(w[0].armed == 3);

  /* A deadline interrupts the wait. */
  weft_aio_scope s;
  weft_aio_scope_enter(&s, 3 * MS);
  int rc = weft_aio_signal_wait(SIGUSR1);
  weft_aio_scope_exit(&s);
  CHECK_RC(rc, WEFT_ETIMEDOUT);
  return 0;
}

static void test_signals(void **state) {
  (void)state;
  run_main(signals, NULL);
  run_main(signals, NULL); /* a second loop makes its own watchers */
  assert_weft(weft_aio_signal_wait(SIGUSR1), WEFT_EPERM); /* no loop */
}

/* ==== files ==== */

static char tmpdir[64];

static int setup_dir(void **state) {
  (void)state;
  strcpy(tmpdir, "/tmp/weft-aio-misc-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static void path_in_dir(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static int files(void *arg) {
  (void)arg;
  char path[128];
  path_in_dir(path, sizeof path, "data.bin");
  size_t n = 3 * 1000 * 1000 + 17; /* several reads */
  unsigned char *data = malloc(n);
  CHECK(data);
  for (size_t i = 0; i < n; i++) data[i] = (unsigned char)(i * 2654435761u >> 13);
  CHECK_RC(weft_aio_write_file(path, data, n), 0);
  void *back = NULL;
  size_t size = 0;
  CHECK_RC(weft_aio_read_file(path, &back, &size), 0);
  CHECK(size == n);
  CHECK(memcmp(back, data, n) == 0);
  CHECK(((char *)back)[n] == '\0');
  free(back);

  /* Overwrite with less: truncated. */
  CHECK_RC(weft_aio_write_file(path, "short\n", 6), 0);
  CHECK_RC(weft_aio_read_file(path, &back, &size), 0);
  CHECK(size == 6 && strcmp(back, "short\n") == 0);
  free(back);

  /* Empty. */
  CHECK_RC(weft_aio_write_file(path, NULL, 0), 0);
  CHECK_RC(weft_aio_read_file(path, &back, &size), 0);
  CHECK(size == 0 && back && ((char *)back)[0] == '\0');
  free(back);
  CHECK(unlink(path) == 0);

  /* Missing. */
  back = (void *)&back;
  CHECK_RC(weft_aio_read_file(path, &back, &size), WEFT_ENOENT);
  CHECK(back == NULL && size == 0);
  CHECK(strstr(weft_aio_last_error(), "data.bin") != NULL);
  path_in_dir(path, sizeof path, "no/such/dir/file");
  CHECK_RC(weft_aio_write_file(path, "x", 1), WEFT_ENOENT);
  CHECK_RC(weft_aio_read_file(NULL, &back, &size), WEFT_EINVAL);

  /* fstat says 0 for /proc files: read to the end anyway. */
  CHECK_RC(weft_aio_read_file("/proc/self/status", &back, &size), 0);
  CHECK(size > 0 && strstr(back, "Name:") != NULL);
  free(back);
  free(data);
  return 0;
}

static void test_files(void **state) {
  (void)state;
  run_main(files, NULL);
  void *d;
  size_t n;
  assert_weft(weft_aio_read_file("/proc/self/status", &d, &n), WEFT_EPERM); /* no loop */
}

/* ---- cancellation: whatever step it hits, nothing leaks ---- */

struct fjob {
  const char *path;
  const void *data;
  size_t n;
  int code;
  void *got;
};

static int reader(void *arg) {
  struct fjob *j = arg;
  size_t size = 0;
  j->code = weft_aio_read_file(j->path, &j->got, &size);
  if (j->code == 0) CHECK(size == j->n);
  else CHECK(j->got == NULL);
  return 0;
}

static int writer(void *arg) {
  struct fjob *j = arg;
  j->code = weft_aio_write_file(j->path, j->data, j->n);
  return 0;
}

static int file_cancel(void *arg) {
  (void)arg;
  char path[128], wpath[128]; /* read one file, write another */
  path_in_dir(path, sizeof path, "cancel.bin");
  path_in_dir(wpath, sizeof wpath, "cancel-w.bin");
  size_t n = 1 << 20;
  char *data = calloc(n, 1);
  CHECK(data);
  CHECK_RC(weft_aio_write_file(path, data, n), 0);
  int cancelled = 0, rounds = (int)scaled(200, 40);
  for (int r = 0; r < rounds; r++) {
    struct fjob jr = {path, data, n, 99, NULL}, jw = {wpath, data, n, 99, NULL};
    weft_aio_task *tr, *tw;
    CHECK_RC(weft_aio_spawn(reader, &jr, &tr), 0);
    CHECK_RC(weft_aio_spawn(writer, &jw, &tw), 0);
    /* Let them start, then cancel at varying points. */
    for (int k = 0; k < r % 7; k++) CHECK_RC(weft_aio_yield(), 0);
    if (r % 3) CHECK_RC(weft_aio_sleep((uint64_t)(r % 4) * 100000), 0);
    weft_aio_cancel(tr);
    weft_aio_cancel(tw);
    int rr = weft_aio_await(tr), rw = weft_aio_await(tw);
    CHECK(rr == 0 || (rr == WEFT_ECANCELED && jr.code == 99)); /* 99: never started */
    CHECK(rw == 0 || (rw == WEFT_ECANCELED && jw.code == 99));
    weft_aio_task_release(tr);
    weft_aio_task_release(tw);
    CHECK(jr.code == 0 || jr.code == WEFT_ECANCELED || jr.code == 99);
    CHECK(jw.code == 0 || jw.code == WEFT_ECANCELED || jw.code == 99);
    cancelled += (jr.code == WEFT_ECANCELED) + (jw.code == WEFT_ECANCELED);
    free(jr.got);
  }
  print_message("file cancellation: %d of %d operations cancelled midway\n", cancelled,
                2 * rounds);
  CHECK(unlink(path) == 0);
  unlink(wpath); /* may not exist: every writer may have been cancelled early */
  free(data);
  return 0;
}

static void test_file_cancel(void **state) {
  (void)state;
  run_main(file_cancel, NULL);
}

static int teardown_dir(void **state) {
  (void)state;
  return rmdir(tmpdir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signals),
      cmocka_unit_test_setup_teardown(test_files, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_file_cancel, setup_dir, teardown_dir),
  };
  return cmocka_run_group_tests(tests, warm_up, NULL);
}
