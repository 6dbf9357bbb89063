/* src/aio/aio_internal.h — internal contract of the aio engine.
 *
 * The core (loop.c, task.c, gather.c, bridge.c) runs tasks as coroutines
 * (coro.h) on a libuv loop. Every other piece (streams, UDP, processes,
 * signals, files, async locks and queues) is built on one pair of calls:
 *
 *   weft__aio_wait w;
 *   weft__aio_wait_init(&w, my_abort);   // my_abort may be NULL
 *   ...register &w with the object / start the libuv request...
 *   int rc = weft__aio_suspend(&w);       // the task sleeps here
 *   ...w.code == rc; w is no longer registered anywhere...
 *
 * and, from a libuv callback or another task on the same loop thread,
 *   weft__aio_wake(&w, code);             // at most once has effect
 *
 * Interruptions. When the waiting task is cancelled, or a deadline of one of
 * its cancel scopes passes, while w is pending, the core calls
 * w->abort(w, why) once (why = WEFT_ECANCELED or WEFT_ETIMEDOUT). abort must
 * unregister w and make sure weft__aio_wake(w, ...) is called — at once
 * (usual: unlink from a waiter list, wake with `why`) or later (after a
 * uv_close / uv_cancel callback), with `why` or with the operation's own
 * result if it completed anyway. Nothing may touch w after waking it.
 * abort == NULL means "nothing to undo": the core wakes w with `why`.
 * If an interruption is already pending when weft__aio_suspend is called,
 * abort runs at once, from inside suspend, so callers always register
 * first and suspend second.
 *
 * The task is resumed only after the wake, never before: memory on the
 * task's stack that the operation uses stays valid until then.
 *
 * All of this is loop-thread only (no locks). Cross-thread wake-ups go
 * through weft__aio_post (a mutex-protected list plus a uv_async_t).
 */
#ifndef WEFT_AIO_INTERNAL_H
#define WEFT_AIO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "weft/aio.h"

typedef struct weft__aio_wait weft__aio_wait;
typedef void (*weft__aio_abort_fn)(weft__aio_wait *w, int why);

struct weft__aio_wait {
  weft_aio_task *task;      /* set by suspend */
  weft__aio_abort_fn abort;
  int code;                 /* the wake's code */
  bool woken, pending;      /* pending: between suspend and wake */
  bool aborted;             /* the core already handed it an interruption */
  weft__aio_wait *next, *prev; /* free for the waited-on object's lists */
  void *data;               /* free for the waited-on object */
  const char *op;           /* what is awaited, for traces ("read", a literal);
                               NULL: "wait". Set after weft__aio_wait_init. */
};

void weft__aio_wait_init(weft__aio_wait *w, weft__aio_abort_fn abort);

/* Suspends the current task until w is woken; returns the wake's code.
 * WEFT_EPERM when not called from a task (nothing is done). */
int weft__aio_suspend(weft__aio_wait *w);

/* As suspend, but the core also wakes w with 0 at monotonic time
 * `wake_at_ns` (ms resolution, libuv timers) unless woken before. */
int weft__aio_suspend_until(weft__aio_wait *w, uint64_t wake_at_ns);

/* Makes w's task ready with `code`; later wakes of w are ignored. Loop
 * thread only. */
void weft__aio_wake(weft__aio_wait *w, int code);

/* The interruption a suspend would see right now: 0, WEFT_ECANCELED,
 * WEFT_ETIMEDOUT, or WEFT_EPERM outside a task. For calls that can finish
 * without suspending and want to honour a pending cancel all the same. */
int weft__aio_check(void);

/* The loop of this thread (NULL when none runs) and its libuv loop. */
weft_loop *weft__aio_loop(void);
uv_loop_t *weft__aio_uv(weft_loop *loop);

/* Runs fn(arg) on the loop thread soon; callable from any thread.
 * 0, WEFT_ENOMEM, WEFT_ESHUTDOWN. (= weft_loop_call_soon_threadsafe) */
int weft__aio_post(weft_loop *loop, void (*fn)(void *), void *arg);

/* Keeps the loop from being declared deadlocked while something outside
 * libuv's view (a thread-pool task, a future) will still wake a task.
 * Every hold is matched by one unhold, on the loop thread. */
void weft__aio_hold(weft_loop *loop);
void weft__aio_unhold(weft_loop *loop);

/* Registers a cleanup run when the loop ends (after all tasks ended, before
 * the uv loop is closed): closes handles the pieces keep per loop (e.g. the
 * signal watchers). The callback must uv_close what it owns. */
int weft__aio_on_loop_end(weft_loop *loop, void (*fn)(void *), void *arg);

/* libuv error (negative errno) -> WEFT_E* code, and records
 * "<what>: <uv message>" as this thread's weft_aio_last_error(). */
int weft__aio_uv_error(int uv_err, const char *what);

/* ---- streams (stream.c): for processes, which create their pipes ---- */

/* A new stream around a uv_pipe_t that is initialised (uv_pipe_init, not
 * yet opened) so that uv_spawn can create the pipe into it: *handle is that
 * uv_pipe_t. The stream is usable once uv_spawn succeeded; if it failed,
 * close it with weft_aio_close. */
int weft__aio_stream_new_pipe(weft_loop *loop, weft_aio_stream **out, uv_pipe_t **handle);

#endif /* WEFT_AIO_INTERNAL_H */
