/* tests/test_aio_trace.c — the aio engine in a trace (WEFT_TRACE): the loop
 * thread gets a "loop" track, every slice a task runs is a "coro" span
 * named after the task (or its function), and every wait an "io" pair
 * named after what it waited on (sleep, queue get, read...). Checked on
 * the written JSON; off, an aio run records nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"
#include "weft/aio.h"
#include "weft/trace.h"

#define ITEMS 50

struct pc {
  weft_aio_queue *q;
  int got;
};

static int consumer(void *arg) {
  struct pc *p = arg;
  for (int i = 0; i < ITEMS; i++) {
    void *v;
    if (weft_aio_queue_get(p->q, &v)) return WEFT_EINVAL;
    p->got++;
  }
  return 0;
}

static int napper(void *arg) {
  (void)arg;
  return weft_aio_sleep(WEFT_MS);
}

static int traced_main(void *arg) {
  struct pc *p = arg;
  weft_aio_task *c, *n;
  int rc = weft_aio_queue_create(&p->q, 4);
  if (!rc) rc = weft_aio_spawn_named("trace-consumer", consumer, p, &c);
  if (!rc) rc = weft_aio_spawn(napper, NULL, &n);
  if (rc) return rc;
  for (int i = 0; i < ITEMS && !rc; i++) {
    rc = weft_aio_queue_put(p->q, (void *)(intptr_t)(i + 1));
    if (i % 10 == 0 && !rc) rc = weft_aio_sleep(WEFT_MS);
  }
  if (!rc) rc = weft_aio_await(c);
  if (!rc) rc = weft_aio_await(n);
  weft_aio_task_release(c);
  weft_aio_task_release(n);
  weft_aio_queue_destroy(p->q);
  return rc;
}

/* The file's text, NUL-terminated (the caller frees it). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static void test_loop_traced(void **state) {
  (void)state;
  char path[64];
  snprintf(path, sizeof path, "/tmp/weft-aio-trace-%d.json", (int)getpid());
  assert_ok(weft_trace_start());
  struct pc p = {0};
  assert_ok(weft_aio_run(traced_main, &p));
  weft_trace_stop();
  assert_int_equal(p.got, ITEMS);
  assert_ok(weft_trace_write(path));
  char *json = slurp(path);
  unlink(path);
  assert_non_null(strstr(json, "aio-loop"));               /* the loop's track */
  /* the consumer waits at least once per item batch: many slices */
  assert_true(count(json, "\"name\":\"trace-consumer\"") >= 2);
  assert_non_null(strstr(json, "\"name\":\"main\""));   /* the run's main task */
  assert_non_null(strstr(json, "\"name\":\"napper\""));  /* unnamed: its function */
  assert_true(count(json, "\"cat\":\"coro\"") >= 4);
  /* waits: sleeps of main, queue gets of the consumer or puts of main, each
   * as a begin/end pair */
  assert_true(count(json, "\"name\":\"sleep\"") >= 2 * 5);
  assert_true(count(json, "\"name\":\"queue get\"") + count(json, "\"name\":\"queue put\"") >= 2);
  assert_int_equal(count(json, "\"cat\":\"io\"") % 2, 0);
  free(json);
}

static void test_off_records_nothing(void **state) {
  (void)state;
  if (getenv("WEFT_TRACE")) skip();
  char path[64];
  snprintf(path, sizeof path, "/tmp/weft-aio-trace-off-%d.json", (int)getpid());
  struct pc p = {0};
  assert_ok(weft_aio_run(traced_main, &p)); /* not recording now */
  assert_ok(weft_trace_write(path));
  char *json = slurp(path);
  unlink(path);
  assert_int_equal(count(json, "\"cat\":\"coro\""), 0);
  assert_int_equal(count(json, "\"cat\":\"io\""), 0);
  free(json);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_off_records_nothing),
      cmocka_unit_test(test_loop_traced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
