/* src/pool/algo.c — weft_parallel_for, weft_parallel_reduce, weft_apply:
 * thin front ends over the range engine (algo_range.c). */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pool/algo_range.h"

/* Hands a failure's message on to the task that called us (if any), so a
 * task that returns our code fails with the body's message, as an exception
 * would propagate. Outside a task weft_task_fail only returns the code. */
static int propagate(int rc, const weft__range_job *job) {
  if (rc && rc != WEFT_ECANCELED && job->message[0])
    return weft_task_fail(rc, "%s", job->message);
  return rc;
}

int weft_parallel_for(weft_pool *p, size_t begin, size_t end, size_t grain,
                      weft_range_fn body, void *ctx) {
  if (!body || begin > end) return WEFT_EINVAL;
  if (begin == end) return 0;
  weft__range_job job = {.kind = WEFT__RANGE_FOR, .begin = begin, .end = end,
                         .fbody = body, .ctx = ctx};
  int rc = weft__range_pool(p, &job.pool);
  if (rc) return rc;
  weft__range_plan(&job, grain);
  return propagate(weft__range_exec(&job), &job);
}

/* The root accumulator is private (not *result): identity may alias result,
 * and children copy identity while the root folds. */
int weft_parallel_reduce(weft_pool *p, size_t begin, size_t end, size_t grain,
                         const void *identity, size_t acc_size,
                         weft_reduce_fn body, weft_join_fn join, void *ctx,
                         void *result) {
  if (!body || !join || !identity || !result || acc_size == 0 || begin > end)
    return WEFT_EINVAL;
  if (begin == end) {
    memmove(result, identity, acc_size);
    return 0;
  }
  weft__range_job job = {.kind = WEFT__RANGE_REDUCE, .begin = begin, .end = end,
                         .rbody = body, .join = join, .ctx = ctx,
                         .identity = identity, .acc_size = acc_size};
  int rc = weft__range_pool(p, &job.pool);
  if (rc) return rc;
  _Alignas(16) unsigned char small[64];
  void *acc = acc_size <= sizeof small ? small : malloc(acc_size);
  if (!acc) return WEFT_ENOMEM;
  memcpy(acc, identity, acc_size);
  job.root_acc = acc;
  weft__range_plan(&job, grain);
  rc = weft__range_exec(&job);
  if (rc == 0) memcpy(result, acc, acc_size);
  if (acc != small) free(acc);
  return propagate(rc, &job);
}

int weft_apply(weft_pool *p, weft_task_fn fn, void *arg) {
  weft_future *f;
  int rc = weft_submit(p, fn, arg, &f);
  if (rc) return rc;
  rc = weft_future_wait(f);
  /* Carry the task's message into the caller's task, as Pool.apply re-raises. */
  if (rc && rc != WEFT_ECANCELED && weft_future_message(f)[0])
    rc = weft_task_fail(rc, "%s", weft_future_message(f));
  weft_future_release(f);
  return rc;
}
