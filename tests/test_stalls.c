/* tests/test_stalls.c — the stall watchdog (WEFT_DEBUG=stalls, weft/debug.h):
 * long tasks are reported once with their name and what they wait on, and
 * again when they end; quick tasks never are; the watchdog thread goes away
 * with the last pool.
 *
 * The watchdog writes to stderr: each case points fd 2 at a temporary file
 * and reads it back. Long tasks do not sleep for a fixed time: they wait
 * until the test has seen their report (weft_stall_report_count), so the
 * cases do not depend on the machine's speed beyond a threshold of 50 ms. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "debug/debug_internal.h"
#include "testutil.h"
#include "weft/debug.h"
#include "weft/weft.h"

#define THRESHOLD_NS 50000000ull /* 50 ms */
#define REPORT_WAIT_NS 20000000000ull /* generous: TSan, loaded machines */

/* ---- stderr capture ---- */

static int saved_fd = -1;
static FILE *capture;

static void capture_start(void) {
  fflush(stderr);
  capture = tmpfile();
  assert_non_null(capture);
  saved_fd = dup(2);
  assert_true(saved_fd >= 0);
  assert_true(dup2(fileno(capture), 2) >= 0);
}

/* What was written since capture_start (caller frees); restores fd 2. */
static char *capture_end(void) {
  fflush(stderr);
  dup2(saved_fd, 2);
  close(saved_fd);
  long n = ftell(capture);
  char *s = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
  assert_non_null(s);
  rewind(capture);
  size_t k = fread(s, 1, (size_t)(n > 0 ? n : 0), capture);
  s[k] = 0;
  fclose(capture);
  fprintf(stderr, "%s", s); /* keep it in the test log */
  return s;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Waits until the watchdog reported more than `before` stalls. */
static void wait_reports(size_t before) {
  uint64_t end = weft_now_ns() + REPORT_WAIT_NS;
  while (weft_stall_report_count() <= before && weft_now_ns() < end) sleep_ms(5);
  assert_true(weft_stall_report_count() > before);
}

static weft_pool *new_pool(unsigned threads) {
  weft_pool *p;
  weft_pool_options o = {.threads = threads, .name = "stl"};
  assert_ok(weft_pool_create(&p, &o));
  return p;
}

/* Whether a thread of this process is named `name` right now. */
static bool thread_named(const char *name) {
  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  bool found = false;
  for (struct dirent *e; (e = readdir(d)) && !found;) {
    if (e->d_name[0] == '.') continue;
    char path[300], comm[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0;
    fclose(f);
    found = strcmp(comm, name) == 0;
  }
  closedir(d);
  return found;
}

/* Whether no thread is named `name`, allowing the kernel a moment to drop
 * a thread that was just joined from /proc (it may outlive the join by a
 * few instructions of its exit). */
static bool thread_gone(const char *name) {
  for (int i = 0; i < 1000 && thread_named(name); i++) sleep_ms(2);
  return !thread_named(name);
}

/* ---- tasks ---- */

static int release_flag; /* atomic: long tasks return once it is set */

static int sleepy_task(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&release_flag, __ATOMIC_ACQUIRE)) sleep_ms(2);
  return 0;
}

/* Blocks in read() until the test writes a byte into the pipe. */
static int reading_task(void *arg) {
  char c;
  return read(*(int *)arg, &c, 1) == 1 ? 0 : WEFT_EIO;
}

static int locking_task(void *arg) {
  weft_mutex *m = arg;
  weft_mutex_lock(m);
  weft_mutex_unlock(m);
  return 0;
}

typedef struct gate {
  weft_mutex m;
  weft_cond c;
  bool open; /* under m */
} gate;

static int cond_waiting_task(void *arg) {
  gate *g = arg;
  weft_mutex_lock(&g->m);
  while (!g->open) weft_cond_wait(&g->c, &g->m);
  weft_mutex_unlock(&g->m);
  return 0;
}

static int loop_body(size_t b, size_t e, void *ctx) {
  __atomic_fetch_add((int *)ctx, (int)(e - b), __ATOMIC_RELAXED);
  return 0;
}

static int future_waiting_task(void *arg) {
  return weft_future_wait(arg);
}

static int quick_task(void *arg) {
  __atomic_fetch_add((int *)arg, 1, __ATOMIC_RELAXED);
  return 0;
}

/* ---- cases ---- */

static void test_env_parsing(void **state) {
  (void)state;
  assert_true(weft__debug_list_has("stalls", "stalls"));
  assert_true(weft__debug_list_has("locks,stalls", "stalls"));
  assert_true(weft__debug_list_has("locks stalls", "locks"));
  assert_true(weft__debug_list_has("all", "stalls"));
  assert_false(weft__debug_list_has("nostalls", "stalls"));
  assert_false(weft__debug_list_has("stall", "stalls"));
  assert_false(weft__debug_list_has("", "stalls"));
  assert_false(weft__debug_list_has(NULL, "stalls"));
}

static void test_long_task_reported_once_with_name(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  weft_pool *p = new_pool(2);
  assert_ok(weft_stall_watch_enable(THRESHOLD_NS));
  capture_start();
  size_t before = weft_stall_report_count();
  weft_future *f;
  assert_ok(weft_submit(p, reading_task, &fds[0], &f));
  wait_reports(before);
  sleep_ms(200); /* several more scans: still one report */
  size_t after = weft_stall_report_count();
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p)); /* reports the end if no scan did */
  char *out = capture_end();
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(after, before + 1);
  assert_non_null(strstr(out, "weft: stall (WEFT_DEBUG=stalls): pool \"stl\" worker "));
  assert_non_null(strstr(out, "task reading_task has run for "));
  assert_non_null(strstr(out, "; thread sleeping in read"));
  assert_non_null(strstr(out, "task reading_task finished after "));
  free(out);
  weft_stall_watch_disable();
}

static void test_label_names_task(void **state) {
  (void)state;
  assert_ok(weft_trace_name_fn((const void *)sleepy_task, "resize-images"));
  weft_pool *p = new_pool(1);
  assert_ok(weft_stall_watch_enable(THRESHOLD_NS));
  capture_start();
  size_t before = weft_stall_report_count();
  __atomic_store_n(&release_flag, 0, __ATOMIC_RELEASE);
  weft_future *f;
  assert_ok(weft_submit(p, sleepy_task, NULL, &f));
  wait_reports(before);
  __atomic_store_n(&release_flag, 1, __ATOMIC_RELEASE);
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
  char *out = capture_end();
  assert_non_null(strstr(out, "task resize-images has run for "));
  free(out);
  weft_stall_watch_disable();
}

static void test_blocked_on_mutex(void **state) {
  (void)state;
  weft_mutex m = WEFT_MUTEX_INIT;
  weft_pool *p = new_pool(2);
  assert_ok(weft_stall_watch_enable(THRESHOLD_NS));
  capture_start();
  size_t before = weft_stall_report_count();
  weft_mutex_lock(&m); /* held here: the task blocks on it */
  weft_future *f;
  assert_ok(weft_submit(p, locking_task, &m, &f));
  wait_reports(before);
  weft_mutex_unlock(&m);
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
  char *out = capture_end();
  char addr[64];
  snprintf(addr, sizeof addr, " on %p", (void *)&m);
  assert_non_null(strstr(out, "task locking_task has run for "));
  const char *blocked = strstr(out, "blocked in ");
  assert_non_null(blocked);
  assert_non_null(strstr(blocked, addr));
  free(out);
  weft_mutex_destroy(&m);
  weft_stall_watch_disable();
}

static void test_blocked_on_cond(void **state) {
  (void)state;
  gate g = {WEFT_MUTEX_INIT, WEFT_COND_INIT, false};
  weft_pool *p = new_pool(2);
  assert_ok(weft_stall_watch_enable(THRESHOLD_NS));
  capture_start();
  size_t before = weft_stall_report_count();
  weft_future *f;
  assert_ok(weft_submit(p, cond_waiting_task, &g, &f));
  wait_reports(before);
  weft_mutex_lock(&g.m);
  g.open = true;
  weft_cond_broadcast(&g.c);
  weft_mutex_unlock(&g.m);
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
  char *out = capture_end();
  /* The condition's address: its futex word is its first field. */
  char addr[64];
  snprintf(addr, sizeof addr, " on %p", (void *)&g.c);
  const char *blocked = strstr(out, "blocked in ");
  assert_non_null(blocked);
  assert_non_null(strstr(blocked, addr));
  free(out);
  weft_stall_watch_disable();
}

static void test_blocked_on_future(void **state) {
  (void)state;
  weft_future *never;
  assert_ok(weft_future_create(&never));
  weft_pool *p = new_pool(2);
  assert_ok(weft_stall_watch_enable(THRESHOLD_NS));
  capture_start();
  size_t before = weft_stall_report_count();
  weft_future *f;
  assert_ok(weft_submit(p, future_waiting_task, never, &f));
  wait_reports(before);
  assert_ok(weft_future_finish(never, 0, NULL, 0, NULL, NULL));
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
  char *out = capture_end();
  char want[96];
  snprintf(want, sizeof want, "blocked in weft_future_wait on %p", (void *)never);
  assert_non_null(strstr(out, "task future_waiting_task has run for "));
  assert_non_null(strstr(out, want));
  free(out);
  weft_future_release(never);
  weft_stall_watch_disable();
}

static void test_quick_tasks_not_reported(void **state) {
  (void)state;
  weft_pool *p = new_pool(4);
  /* A threshold far above any of these tasks, however loaded the machine:
   * a report here is a false one (a stale or misread record). */
  assert_ok(weft_stall_watch_enable(200000000ull));
  size_t before = weft_stall_report_count();
  int count = 0;
  size_t n = scaled(200000, 20000);
  weft_group g;
  weft_group_init(&g, p);
  for (size_t i = 0; i < n; i++) assert_ok(weft_group_spawn(&g, quick_task, &count));
  assert_ok(weft_group_wait(&g));
  weft_group_destroy(&g);
  for (size_t i = 0; i < 2000; i++) {
    weft_future *f;
    assert_ok(weft_submit(p, quick_task, &count, &f));
    assert_ok(weft_future_wait(f));
    weft_future_release(f);
  }
  /* Fork-join: workers wait inside tasks and run others meanwhile. */
  for (int r = 0; r < 20; r++) assert_ok(weft_parallel_for(p, 0, n, 64, loop_body, &count));
  sleep_ms(300); /* idle workers: several scans, nothing to report */
  assert_int_equal(__atomic_load_n(&count, __ATOMIC_RELAXED), (int)n * 21 + 2000);
  assert_int_equal(weft_stall_report_count(), before);
  assert_ok(weft_pool_destroy(p));
  weft_stall_watch_disable();
}

/* Turning watching on and off while tasks run: no report (the threshold is
 * far away), no stale record read as a stall, nothing for the sanitizers. */
static void test_toggle_while_running(void **state) {
  (void)state;
  weft_pool *p = new_pool(3);
  size_t before = weft_stall_report_count();
  int count = 0;
  size_t n = scaled(20000, 2000);
  for (int r = 0; r < 20; r++) {
    if (r % 2 == 0) assert_ok(weft_stall_watch_enable(500000000ull));
    else weft_stall_watch_disable();
    weft_group g;
    weft_group_init(&g, p);
    for (size_t i = 0; i < n; i++) assert_ok(weft_group_spawn(&g, quick_task, &count));
    assert_ok(weft_group_wait(&g));
    weft_group_destroy(&g);
  }
  weft_stall_watch_disable();
  assert_int_equal(__atomic_load_n(&count, __ATOMIC_RELAXED), (int)n * 20);
  assert_int_equal(weft_stall_report_count(), before);
  assert_ok(weft_pool_destroy(p));
}

static void test_watchdog_stops_with_last_pool(void **state) {
  (void)state;
  assert_ok(weft_stall_watch_enable(THRESHOLD_NS));
  assert_true(thread_gone("weft-stalls")); /* no pool, no watchdog */
  weft_pool *a = new_pool(1), *b = new_pool(1);
  assert_true(thread_named("weft-stalls"));
  assert_ok(weft_pool_destroy(a));
  assert_true(thread_named("weft-stalls")); /* b is still watched */
  assert_ok(weft_pool_destroy(b));
  assert_true(thread_gone("weft-stalls")); /* joined: gone, not just asleep */
  /* Watching stays on: the next pool starts a watchdog again. */
  weft_pool *c = new_pool(1);
  assert_true(thread_named("weft-stalls"));
  weft_stall_watch_disable();
  assert_true(thread_gone("weft-stalls"));
  assert_ok(weft_pool_destroy(c));
}

static void test_off_reports_nothing(void **state) {
  (void)state;
  weft_stall_watch_disable();
  weft_pool *p = new_pool(1);
  assert_true(thread_gone("weft-stalls"));
  size_t before = weft_stall_report_count();
  __atomic_store_n(&release_flag, 0, __ATOMIC_RELEASE);
  weft_future *f;
  assert_ok(weft_submit(p, sleepy_task, NULL, &f));
  sleep_ms(150);
  __atomic_store_n(&release_flag, 1, __ATOMIC_RELEASE);
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_int_equal(weft_stall_report_count(), before);
  assert_ok(weft_pool_destroy(p));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_env_parsing),
      cmocka_unit_test(test_long_task_reported_once_with_name),
      cmocka_unit_test(test_label_names_task),
      cmocka_unit_test(test_blocked_on_mutex),
      cmocka_unit_test(test_blocked_on_cond),
      cmocka_unit_test(test_blocked_on_future),
      cmocka_unit_test(test_quick_tasks_not_reported),
      cmocka_unit_test(test_toggle_while_running),
      cmocka_unit_test(test_watchdog_stops_with_last_pool),
      cmocka_unit_test(test_off_reports_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
