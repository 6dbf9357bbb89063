/* src/future/future_internal.h — the one hook between futures (basics) and
 * the pool (engines): a pool worker that waits on a future must run other
 * tasks instead of sleeping, or a pool whose workers all wait would deadlock.
 * The pool registers a helper; futures call it before sleeping. Keeps the
 * layering: future.c never includes the pool. */
#ifndef WEFT_FUTURE_INTERNAL_H
#define WEFT_FUTURE_INTERNAL_H

#include "weft/future.h"

/* Called by weft_future_wait* in the waiting thread. Returns 0 once f is
 * finished, WEFT_ETIMEDOUT when deadline_ns (absolute, monotonic) passes
 * first, or WEFT_EAGAIN when the calling thread is not a pool worker (the
 * future then waits normally). */
typedef int (*weft__future_wait_helper)(weft_future *f, uint64_t deadline_ns);

/* Installs the helper (process-wide; the pool calls it once). */
void weft__future_set_wait_helper(weft__future_wait_helper h);

/* The same for waits on several futures (wait_any, wait_first_error,
 * as_completed): runs other tasks until done(ctx) holds. Returns 0,
 * WEFT_ETIMEDOUT, or WEFT_EAGAIN outside a pool worker. */
typedef int (*weft__future_wait_until_helper)(bool (*done)(void *ctx), void *ctx,
                                              uint64_t deadline_ns);
void weft__future_set_wait_until_helper(weft__future_wait_until_helper h);
/* The installed one, or NULL. */
weft__future_wait_until_helper weft__future_get_wait_until_helper(void);

#endif /* WEFT_FUTURE_INTERNAL_H */
