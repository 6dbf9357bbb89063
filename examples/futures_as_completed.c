/* examples/futures_as_completed.c — concurrent.futures in C.
 *
 *   with concurrent.futures.ThreadPoolExecutor() as executor:
 *       futures = {executor.submit(square, n): n for n in [1, 2, 3, 4, 5]}
 *       for f in concurrent.futures.as_completed(futures):
 *           print(futures[f], f.result())
 *       squared_numbers = list(executor.map(square, numbers))
 *
 * submit() hands back a weft_future; as_completed yields futures in the order
 * they finish. A task's result travels in the future (weft_task_set_result),
 * and a failing task carries a code and a message, like a Python exception. */
#include <stdio.h>
#include <stdlib.h>
#include <weft/weft.h>

enum { N = 5 };

/* A submitted task: squares *arg and returns it as the future's value. */
static int square_task(void *arg) {
  long x = *(const long *)arg;
  if (x < 0) return weft_task_fail(WEFT_EINVAL, "square of a negative number: %ld", x);
  long *r = malloc(sizeof *r);
  if (!r) return WEFT_ENOMEM;
  *r = x * x;
  weft_task_set_result(r, sizeof *r, free);   /* the future owns r now */
  return 0;
}

/* The same function in the shape executor.map wants. */
static int square_item(const void *in, void *out, void *ctx) {
  (void)ctx;
  *(long *)out = *(const long *)in * *(const long *)in;
  return 0;
}

static long submit_and_collect(weft_executor *ex, long *numbers) {
  weft_future *fs[N];
  for (int i = 0; i < N; i++)
    if (weft_executor_submit(ex, square_task, &numbers[i], &fs[i])) return -1;
  weft_as_completed *it;
  if (weft_as_completed_create(&it, fs, N)) return -1;
  long sum = 0;
  weft_future *f;
  size_t i;
  while (weft_as_completed_next(it, WEFT_FOREVER, &f, &i) == 0) {
    void *value;
    int rc = weft_future_result(f, &value, NULL);
    if (rc == 0) {
      printf("  square(%ld) = %ld\n", numbers[i], *(long *)value);
      sum += *(long *)value;
    } else {
      printf("  square(%ld) failed: %s (%s)\n", numbers[i], weft_strerror(rc),
             weft_future_message(f));
    }
  }
  weft_as_completed_destroy(it);
  for (int k = 0; k < N; k++) weft_future_release(fs[k]);
  return sum;
}

/* A task that fails: its future holds the error instead of a value. */
static void show_failure(weft_executor *ex) {
  long bad = -1;
  weft_future *f;
  if (weft_executor_submit(ex, square_task, &bad, &f)) return;
  int rc = weft_future_wait(f);
  printf("square(-1) raised %s: %s\n", weft_err_name(rc), weft_future_message(f));
  weft_future_release(f);
}

int main(void) {
  long numbers[N] = {1, 2, 3, 4, 5}, squared[N];
  weft_executor *ex;
  if (weft_executor_threads_new(&ex, 0)) return 1;   /* 0: one thread per usable CPU */

  printf("as_completed (finishing order):\n");
  long sum = submit_and_collect(ex, numbers);
  printf("sum of squares = %ld\n", sum);
  show_failure(ex);

  weft_map m = {.fn = square_item, .in = numbers, .in_size = sizeof(long),
                .out = squared, .out_size = sizeof(long), .n = N};
  int rc = weft_executor_map(ex, &m);
  weft_executor_destroy(ex);
  if (rc) return 1;
  printf("executor.map: [");
  for (int i = 0; i < N; i++) printf("%s%ld", i ? ", " : "", squared[i]);
  printf("]\n");
  return sum == 55 ? 0 : 1;
}
