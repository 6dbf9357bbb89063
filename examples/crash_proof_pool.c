/* examples/crash_proof_pool.c — a process pool that survives its tasks.
 *
 * Python's ProcessPoolExecutor breaks for good when one worker dies: every
 * pending future fails with BrokenProcessPool and the executor is unusable.
 * weft's process pool fails only the task whose worker died (WEFT_ECRASHED,
 * with a message naming the signal or exit status), starts a replacement
 * worker, and carries on with the rest.
 *
 * Here jobs 3 and 7 segfault and job 5 calls _exit(3) in the middle of its
 * work; the other jobs return their square. Then the same pool runs a map. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <weft/weft.h>

static int job(const void *arg, size_t size) {
  (void)size;
  int x = *(const int *)arg;
  if (x == 3 || x == 7) raise(SIGSEGV);  /* a bug in native code */
  if (x == 5) _exit(3);                  /* a library that exits on error */
  int *r = malloc(sizeof *r);
  if (!r) return WEFT_ENOMEM;
  *r = x * x;
  weft_task_set_result(r, sizeof *r, free);
  return 0;
}

static int plus_one(const void *in, void *out, void *ctx) {
  (void)ctx;
  *(int *)out = *(const int *)in + 1;
  return 0;
}

int main(void) {
  weft_ppool *pool;
  int rc = weft_ppool_create(&pool, &(weft_ppool_options){.processes = 3});
  if (rc) {
    fprintf(stderr, "weft_ppool_create: %s\n", weft_strerror(rc));
    return 1;
  }
  enum { N = 10 };
  weft_future *fs[N];
  for (int i = 0; i < N; i++) {
    if ((rc = weft_ppool_submit(pool, job, &i, sizeof i, NULL, &fs[i])) != 0) {
      fprintf(stderr, "submit: %s\n", weft_strerror(rc));
      return 1;
    }
  }
  int ok = 0, crashed = 0;
  for (int i = 0; i < N; i++) { /* in submission order: deterministic output */
    void *v;
    rc = weft_future_result(fs[i], &v, NULL);
    if (rc == 0) {
      printf("job %d: %d\n", i, *(int *)v);
      ok++;
    } else {
      printf("job %d: %s: %s\n", i, weft_err_name(rc), weft_future_message(fs[i]));
      crashed += rc == WEFT_ECRASHED;
    }
    weft_future_release(fs[i]);
  }
  printf("%d jobs succeeded, %d crashed\n", ok, crashed);

  int in[5] = {10, 20, 30, 40, 50}, out[5];
  weft_map m = {.fn = plus_one, .in = in, .in_size = sizeof(int), .out = out,
                .out_size = sizeof(int), .n = 5};
  rc = weft_ppool_map(pool, &m);
  printf("the pool carries on: map -> %s [%d, %d, %d, %d, %d]\n", weft_err_name(rc), out[0],
         out[1], out[2], out[3], out[4]);
  weft_ppool_stats st;
  weft_ppool_stats_get(pool, &st);
  printf("crashes survived: %llu\n", (unsigned long long)st.crashes);
  weft_ppool_destroy(pool);
  return rc ? 1 : 0;
}
