/* weft/future.h — futures: the result of an asynchronous operation.
 *
 * Every engine (thread pool, process pool, event loop, cluster) hands out a
 * weft_future. A future ends in exactly one of three states: done (the task
 * returned 0), failed (it returned an error code, with an optional message,
 * like a Python exception) or cancelled. Futures are reference counted: the
 * function that gives you one gives you one reference; drop it with
 * weft_future_release. All functions may be called from any thread. */
#ifndef WEFT_FUTURE_H
#define WEFT_FUTURE_H

#include "weft/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_future weft_future;

enum weft_future_status {
  WEFT_FUTURE_PENDING = 0,   /* queued, not started */
  WEFT_FUTURE_RUNNING = 1,
  WEFT_FUTURE_DONE = 2,      /* finished with code 0 */
  WEFT_FUTURE_FAILED = 3,    /* finished with a negative code */
  WEFT_FUTURE_CANCELLED = 4
};

/* ---- consumer side ---- */

/* Waits until the future is finished and returns its code: 0 when done, the
 * task's error when failed, WEFT_ECANCELED when cancelled. */
int weft_future_wait(weft_future *f);
/* As wait, but WEFT_ETIMEDOUT if still unfinished after timeout_ns. */
int weft_future_wait_timed(weft_future *f, uint64_t timeout_ns);
/* Waits, then stores the result value (NULL unless the task set one with
 * weft_task_set_result, or the engine produced bytes) in *value; returns the
 * code as weft_future_wait. The value stays owned by the future. */
int weft_future_result(weft_future *f, void **value, size_t *size);

/* Current status, without waiting. */
int weft_future_status(const weft_future *f);
bool weft_future_is_finished(const weft_future *f);
/* The final code (0 while unfinished). */
int weft_future_error(const weft_future *f);
/* The failure message ("" if none or unfinished). Owned by the future. */
const char *weft_future_message(const weft_future *f);

/* Requests cancellation. A pending task never runs: returns 0 and the future
 * is cancelled at once. A running task keeps running but sees
 * weft_task_cancelled() turn true: returns WEFT_EBUSY. An already-finished
 * future is left as is: WEFT_EALREADY. */
int weft_future_cancel(weft_future *f);
bool weft_future_cancel_requested(const weft_future *f);

/* Runs cb(f, arg) once the future is finished: at once in the calling thread
 * if it already is, otherwise in the thread that finishes it. Callbacks run
 * in registration order. Errors: WEFT_EINVAL, WEFT_ENOMEM. */
typedef void (*weft_future_cb)(weft_future *f, void *arg);
int weft_future_on_done(weft_future *f, weft_future_cb cb, void *arg);

void weft_future_retain(weft_future *f);
/* Drops one reference; frees the future at zero. NULL is ignored. */
void weft_future_release(weft_future *f);

/* Waits until all are finished. 0, or WEFT_ETIMEDOUT. */
int weft_future_wait_all(weft_future *const *fs, size_t n, uint64_t timeout_ns);
/* Waits until at least one is finished; its index in *index (the lowest
 * index if several already are). 0, WEFT_ETIMEDOUT, WEFT_EINVAL (n == 0,
 * NULL entries) or WEFT_ENOMEM (large n: the waiter needs n list nodes). */
int weft_future_wait_any(weft_future *const *fs, size_t n, uint64_t timeout_ns, size_t *index);
/* Waits until one fails or is cancelled (its index in *index, its code
 * returned) or all are done (returns 0, *index = n). WEFT_ETIMEDOUT,
 * WEFT_EINVAL, WEFT_ENOMEM as wait_any. */
int weft_future_wait_first_error(weft_future *const *fs, size_t n, uint64_t timeout_ns,
                                 size_t *index);

/* as_completed: yields the futures in the order they finish. */
typedef struct weft_as_completed weft_as_completed;
/* The iterator holds its own references. Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_as_completed_create(weft_as_completed **out, weft_future *const *fs, size_t n);
/* Stores the next finished future (borrowed: valid while the iterator lives)
 * and its index. 0, WEFT_ETIMEDOUT, or WEFT_EEXHAUSTED when all were yielded. */
int weft_as_completed_next(weft_as_completed *it, uint64_t timeout_ns,
                           weft_future **f, size_t *index);
void weft_as_completed_destroy(weft_as_completed *it);

/* ---- producer side (engines) ---- */

/* A new pending future with one reference for the caller.
 * Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_future_create(weft_future **out);
/* Moves pending -> running. WEFT_ECANCELED if it was cancelled (then the
 * engine must not run the task), WEFT_EALREADY if not pending. */
int weft_future_start(weft_future *f);
/* Finishes the future with code (0 = done, < 0 = failed; WEFT_ECANCELED =
 * cancelled), an optional value of `size` bytes that the future now owns
 * (freed with value_free when the future is freed; NULL value_free = not
 * freed) and an optional message (copied). Wakes waiters, runs callbacks.
 * Errors: WEFT_EALREADY when already finished, WEFT_EINVAL (NULL f, code
 * > 0); on error the future does not take ownership of value. */
int weft_future_finish(weft_future *f, int code, void *value, size_t size,
                       void (*value_free)(void *), const char *message);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_FUTURE_H */
