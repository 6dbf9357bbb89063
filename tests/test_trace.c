/* tests/test_trace.c — tracing and logging: nothing recorded while off,
 * every task recorded while on (merged or not), the file read back by the
 * command's own strict JSON reader (the Chrome-format checks proper are in
 * tests/trace_render/validate_trace.py), names and escaping, CPU times, the
 * memory limit, writing while recording, fork, and log levels. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "testutil.h"
#include "weft/pool.h"
#include "weft/future.h"
#include "weft/proc.h"
#include "weft/trace.h"
#include "trace/trace_internal.h"
#include "cli/trace_json.h"
#include "cli/trace_model.h"

static unsigned counter;

static int tiny_task(void *arg) {
  (void)arg;
  __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
  return 0;
}

static int slow_task(void *arg) {
  (void)arg;
  uint64_t end = weft_now_ns() + 30000;
  while (weft_now_ns() < end) {}
  __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
  return 0;
}

/* Runs `tiny` tiny and `slow` slow group tasks and `sub` submitted ones. */
static void run_tasks(weft_pool *p, unsigned tiny, unsigned slow, unsigned sub) {
  weft_group g;
  weft_group_init(&g, p);
  for (unsigned i = 0; i < tiny + slow; i++)
    assert_ok(weft_group_spawn(&g, i < slow ? slow_task : tiny_task, NULL));
  assert_ok(weft_group_wait(&g));
  weft_group_destroy(&g);
  for (unsigned i = 0; i < sub; i++) {
    weft_future *f;
    assert_ok(weft_submit(p, i % 2 ? slow_task : tiny_task, NULL, &f));
    assert_ok(weft_future_wait(f));
    weft_future_release(f);
  }
}

static char tmp_path[64];

static void write_and_load(tr_model *m) {
  snprintf(tmp_path, sizeof tmp_path, "/tmp/weft-test-trace-%d.json", (int)getpid());
  assert_ok(weft_trace_write(tmp_path));
  char err[256] = "";
  memset(m, 0, sizeof *m);
  int rc = tr_load(m, tmp_path, err, sizeof err);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
}

static void done_with(tr_model *m) {
  tr_free(m);
  unlink(tmp_path);
}

static weft_pool *make_pool(unsigned n) {
  weft_pool *p;
  assert_ok(weft_pool_create(&p, &(weft_pool_options){.threads = n, .name = "tw"}));
  return p;
}

/* Must run first: this process has never recorded. */
static void test_off_records_nothing(void **state) {
  (void)state;
  if (getenv("WEFT_TRACE")) skip(); /* the whole run is traced: not "never on" */
  assert_false(weft_trace_enabled());
  assert_false(weft__trace_active());
  weft_pool *p = make_pool(2);
  run_tasks(p, 1000, 5, 10);
  assert_int_equal(weft_trace_event_count(), 0);
  /* Started and stopped: what runs afterwards is not recorded either. */
  assert_ok(weft_trace_start());
  assert_true(weft_trace_enabled());
  weft_trace_stop();
  assert_false(weft_trace_enabled());
  run_tasks(p, 1000, 5, 10);
  weft_trace_mark("after stop");
  assert_int_equal(weft_trace_event_count(), 0);
  assert_ok(weft_pool_destroy(p));
}

static void test_counts_match(void **state) {
  (void)state;
  unsigned tiny = (unsigned)scaled(20000, 2000), slow = 40, sub = 20;
  weft_pool *p = make_pool(2);
  counter = 0;
  assert_ok(weft_trace_start());
  run_tasks(p, tiny, slow, sub);
  weft_trace_stop();
  assert_int_equal(counter, tiny + slow + sub);
  tr_model m;
  write_and_load(&m);
  assert_int_equal(tr_task_count(&m), tiny + slow + sub);
  assert_int_equal(tr_worker_count(&m), 2);
  assert_int_equal(m.dropped, 0);
  /* Tiny tasks were merged into far fewer records than tasks. */
  size_t task_spans = 0;
  for (size_t i = 0; i < m.nspans; i++) task_spans += m.spans[i].kind == TR_TASK;
  assert_true(task_spans < tiny / 2 + slow + sub);
  done_with(&m);
  assert_ok(weft_pool_destroy(p));
}

static void test_no_merge_one_record_per_task(void **state) {
  (void)state;
  setenv("WEFT_TRACE_MERGE", "0", 1);
  weft_pool *p = make_pool(2);
  assert_ok(weft_trace_start());
  run_tasks(p, 3000, 10, 10);
  weft_trace_stop();
  unsetenv("WEFT_TRACE_MERGE");
  tr_model m;
  write_and_load(&m);
  size_t task_spans = 0;
  for (size_t i = 0; i < m.nspans; i++) {
    if (m.spans[i].kind != TR_TASK) continue;
    task_spans++;
    assert_int_equal(m.spans[i].count, 1);
  }
  assert_int_equal(task_spans, 3020);
  assert_int_equal(tr_task_count(&m), 3020);
  done_with(&m);
  assert_ok(weft_pool_destroy(p));
}

/* Fork-join recursion: workers help while they wait, so tasks run inside
 * tasks. The records of one thread must nest (a span that starts inside
 * another ends inside it), as trace viewers require. */
static int fib_task(void *arg) {
  int n = *(int *)arg;
  if (n < 2) return 0;
  int a = n - 1, b = n - 2;
  weft_group g;
  weft_group_init(&g, NULL);
  weft_group_spawn(&g, fib_task, &a);
  fib_task(&b);
  return weft_group_wait(&g);
}

static int by_start(const void *x, const void *y) {
  const tr_span *a = x, *b = y;
  if (a->track != b->track) return a->track < b->track ? -1 : 1;
  if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
  return a->dur > b->dur ? -1 : a->dur < b->dur; /* the enclosing one first */
}

static void test_nested_spans(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  assert_ok(weft_trace_start());
  for (int r = 0; r < 5; r++) {
    int n = 18;
    weft_future *f;
    assert_ok(weft_submit(p, fib_task, &n, &f));
    assert_ok(weft_future_wait(f));
    weft_future_release(f);
  }
  weft_trace_stop();
  tr_model m;
  write_and_load(&m);
  qsort(m.spans, m.nspans, sizeof *m.spans, by_start);
  double stack[256];
  int depth = 0, checked = 0;
  for (size_t i = 0; i < m.nspans; i++) {
    const tr_span *s = &m.spans[i];
    if (i > 0 && s->track != m.spans[i - 1].track) depth = 0;
    while (depth > 0 && stack[depth - 1] <= s->ts) depth--;
    if (depth > 0 && s->ts + s->dur > stack[depth - 1] + 0.0005) {
      print_error("span at %.3f (+%.3f) crosses the end of its parent (%.3f)\n", s->ts, s->dur,
                  stack[depth - 1]);
      fail();
    }
    if (depth > 0) checked++;
    if (depth < 256) stack[depth++] = s->ts + s->dur;
  }
  assert_true(checked > 0); /* there was nesting to check */
  done_with(&m);
  assert_ok(weft_pool_destroy(p));
}

static const tr_fn *find_fn(const tr_model *m, const char *name) {
  for (size_t i = 0; i < m->nfns; i++)
    if (strcmp(m->fns[i].name, name) == 0) return &m->fns[i];
  return NULL;
}

static void test_names_and_user_events(void **state) {
  (void)state;
  weft_pool *p = make_pool(1);
  static const char odd[] = "quote\" backslash\\ tab\t newline\n é";
  assert_ok(weft_trace_name_fn((const void *)slow_task, odd));
  assert_weft(weft_trace_name_fn(NULL, "x"), WEFT_EINVAL);
  assert_ok(weft_trace_start());
  weft_trace_thread_name("main \"thread\"");
  weft_trace_begin("phase one");
  run_tasks(p, 10, 3, 0);
  weft_trace_counter("items", 42);
  weft_trace_end();
  weft_trace_mark("done");
  weft_trace_stop();
  tr_model m;
  write_and_load(&m);
  const tr_fn *f = find_fn(&m, odd);
  assert_non_null(f);
  assert_int_equal(f->count, 3);
  /* A static function, named from the program's symbol table. */
  assert_non_null(find_fn(&m, "tiny_task"));
  assert_int_equal(m.marks, 1);
  bool named = false;
  for (size_t i = 0; i < m.ntracks; i++) named |= strcmp(m.tracks[i].name, "main \"thread\"") == 0;
  assert_true(named);
  done_with(&m);
  weft_trace_thread_name("");
  assert_ok(weft_pool_destroy(p));
}

static void test_cpu_times(void **state) {
  (void)state;
  setenv("WEFT_TRACE_CPU", "all", 1);
  weft_pool *p = make_pool(2);
  assert_ok(weft_trace_start());
  run_tasks(p, 50, 20, 4);
  weft_trace_stop();
  unsetenv("WEFT_TRACE_CPU");
  tr_model m;
  write_and_load(&m);
  size_t n = 0;
  for (size_t i = 0; i < m.nspans; i++) {
    const tr_span *s = &m.spans[i];
    if (s->kind != TR_TASK) continue;
    n += s->count;
    assert_true(s->cpu >= 0);              /* measured for every task */
    assert_true(s->cpu <= s->dur + 50.0);  /* CPU time fits in the wall time */
  }
  assert_int_equal(n, 74);
  done_with(&m);
  assert_ok(weft_pool_destroy(p));
}

static void test_memory_limit_drops(void **state) {
  (void)state;
  setenv("WEFT_TRACE_MERGE", "0", 1);
  setenv("WEFT_TRACE_LIMIT_MB", "1", 1);   /* 4 chunks: ~16,000 records */
  weft_pool *p = make_pool(2);
  assert_ok(weft_trace_start());
  run_tasks(p, 40000, 0, 0);
  weft_trace_stop();
  unsetenv("WEFT_TRACE_MERGE");
  unsetenv("WEFT_TRACE_LIMIT_MB");
  assert_true(weft_trace_dropped() > 0);
  assert_true(weft_trace_event_count() <= 4 * WEFT__TCHUNK);
  tr_model m;
  write_and_load(&m);
  assert_true(m.dropped > 0);
  assert_true(tr_task_count(&m) < 40000);
  done_with(&m);
  /* The next session records again. */
  assert_ok(weft_trace_start());
  run_tasks(p, 100, 0, 0);
  weft_trace_stop();
  assert_int_equal(weft_trace_dropped(), 0);
  assert_true(weft_trace_event_count() > 0);
  assert_ok(weft_pool_destroy(p));
}

typedef struct writer_arg {
  int rounds;
  int rc;
} writer_arg;

static int writer_task(void *arg) {
  writer_arg *w = arg;
  char path[64];
  snprintf(path, sizeof path, "/tmp/weft-test-trace-live-%d.json", (int)getpid());
  for (int i = 0; i < w->rounds && !w->rc; i++) {
    w->rc = weft_trace_write(path);
    tr_model m = {0};
    char err[256];
    if (!w->rc && tr_load(&m, path, err, sizeof err) != 0) w->rc = -1;
    tr_free(&m);
  }
  unlink(path);
  return 0;
}

/* weft_trace_write while workers record: every file parses. */
static void test_write_while_recording(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  weft_pool *q = make_pool(1);
  assert_ok(weft_trace_start());
  writer_arg w = {.rounds = 5};
  weft_future *f;
  assert_ok(weft_submit(q, writer_task, &w, &f));
  while (weft_future_status(f) != WEFT_FUTURE_DONE) run_tasks(p, 2000, 4, 0);
  weft_future_release(f);
  weft_trace_stop();
  assert_int_equal(w.rc, 0);
  assert_ok(weft_pool_destroy(q));
  assert_ok(weft_pool_destroy(p));
}

static void test_fork_child_does_not_trace(void **state) {
  (void)state;
  assert_ok(weft_trace_start());
  weft_trace_mark("parent");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    weft_trace_mark("child");
    int bad = weft_trace_enabled() || weft__trace_active() || weft_trace_event_count() != 0;
    _exit(bad);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  weft_trace_stop();
  assert_int_equal(weft_trace_event_count(), 1);
}

/* ---- weft_process: a span on its own track, start and exit events ---- */

static int child_ok(const void *arg, size_t size) {
  (void)arg, (void)size;
  return 0;
}

static int child_crash(const void *arg, size_t size) {
  (void)arg, (void)size;
  raise(SIGKILL);
  return 0;
}

static void test_process_traced(void **state) {
  (void)state;
  assert_ok(weft_trace_start());
  /* SPAWN: a fresh program, no fork of this threaded one (ThreadSanitizer). */
  weft_process_opts o = {.start_method = WEFT_START_SPAWN};
  weft_process *a, *b;
  assert_ok(weft_process_start(&a, child_ok, NULL, 0, &o));
  assert_ok(weft_process_start(&b, child_crash, NULL, 0, &o));
  assert_ok(weft_process_join(a, WEFT_FOREVER));
  assert_ok(weft_process_join(b, WEFT_FOREVER));
  weft_trace_stop();
  pid_t pa = weft_process_pid(a), pb = weft_process_pid(b);
  weft_process_destroy(a);
  weft_process_destroy(b);
  tr_model m;
  write_and_load(&m);
  int seen = 0;
  for (size_t i = 0; i < m.nspans; i++) {
    const tr_span *s = &m.spans[i];
    if (s->kind != TR_PTASK) continue;
    const tr_track *t = &m.tracks[s->track];
    assert_int_equal(t->role, ROLE_PROCESS);
    if (t->pid == pa) seen |= 1, assert_string_equal(m.fns[s->fn].name, "child_ok");
    if (t->pid == pb) seen |= 2, assert_string_equal(m.fns[s->fn].name, "child_crash");
  }
  assert_int_equal(seen, 3);
  done_with(&m);
  /* The crash is an event of its own. */
  snprintf(tmp_path, sizeof tmp_path, "/tmp/weft-test-trace-%d.json", (int)getpid());
  assert_ok(weft_trace_write(tmp_path));
  size_t len;
  char *text = tj_read_file(tmp_path, &len);
  assert_non_null(text);
  assert_non_null(strstr(text, "\"name\":\"process crash\""));
  assert_non_null(strstr(text, "\"name\":\"process exit\""));
  free(text);
  unlink(tmp_path);
}

/* ---- logging ---- */

static int side_effects;
static int touch(void) {
  return ++side_effects;
}

/* Runs fn with stderr redirected to a file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void *), void *arg) {
  static char buf[8192];
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fileno(tmp), STDERR_FILENO);
  fn(arg);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  rewind(tmp);
  size_t n = fread(buf, 1, sizeof buf - 1, tmp);
  buf[n] = 0;
  fclose(tmp);
  return buf;
}

static void log_all_levels(void *arg) {
  (void)arg;
  weft_log_error("an error %d", 1);
  weft_log_warn("a warning %d", 2);
  weft_log_info("some info %d", touch());
  weft_log_debug("debugging %d", touch());
}

static int log_task(void *arg) {
  (void)arg;
  weft_log_warn("from a task");
  return 0;
}

static void log_in_task(void *arg) {
  weft_pool *p = arg;
  weft_future *f;
  assert_ok(weft_submit(p, log_task, NULL, &f));
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
}

static void test_log_levels(void **state) {
  (void)state;
  int old = weft_log_level();
  weft_log_set_level(WEFT_LOG_WARN);
  side_effects = 0;
  char *out = capture_stderr(log_all_levels, NULL);
  assert_non_null(strstr(out, " E [tid "));
  assert_non_null(strstr(out, "an error 1\n"));
  assert_non_null(strstr(out, " W [tid "));
  assert_non_null(strstr(out, "a warning 2\n"));
  assert_null(strstr(out, "some info"));
  assert_null(strstr(out, "debugging"));
  assert_int_equal(side_effects, 0); /* arguments not evaluated when off */

  weft_log_set_level(WEFT_LOG_DEBUG);
  out = capture_stderr(log_all_levels, NULL);
  assert_non_null(strstr(out, " I [tid "));
  assert_non_null(strstr(out, "debugging 2\n"));
  assert_int_equal(side_effects, 2);

  weft_log_set_level(WEFT_LOG_OFF);
  out = capture_stderr(log_all_levels, NULL);
  assert_string_equal(out, "");
  weft_log(WEFT_LOG_ERROR, "%s", "direct");
  assert_false(weft_log_enabled(WEFT_LOG_ERROR));

  /* Inside a pool task: the worker and the task are named. */
  weft_log_set_level(WEFT_LOG_INFO);
  weft_pool *p = make_pool(1);
  out = capture_stderr(log_in_task, p);
  assert_non_null(strstr(out, "[worker 0] [task 0x"));
  assert_non_null(strstr(out, "tw-0]"));
  assert_non_null(strstr(out, "from a task\n"));
  assert_ok(weft_pool_destroy(p));
  weft_log_set_level(old);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_off_records_nothing),
    cmocka_unit_test(test_counts_match),
    cmocka_unit_test(test_no_merge_one_record_per_task),
    cmocka_unit_test(test_nested_spans),
    cmocka_unit_test(test_names_and_user_events),
    cmocka_unit_test(test_cpu_times),
    cmocka_unit_test(test_memory_limit_drops),
    cmocka_unit_test(test_write_while_recording),
    cmocka_unit_test(test_fork_child_does_not_trace),
    cmocka_unit_test(test_process_traced),
    cmocka_unit_test(test_log_levels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
