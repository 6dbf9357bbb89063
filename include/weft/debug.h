/* weft/debug.h — debugging aids for programs that hang or crawl.
 *
 * The stall watchdog. With WEFT_DEBUG=stalls in the environment (WEFT_DEBUG
 * is a comma-separated list: "locks,stalls"; see also weft_lockdep_enable in
 * weft/sync.h), or after weft_stall_watch_enable, every thread pool records
 * for each worker which task it runs and since when, and a watchdog thread
 * (started with the first watched pool, stopped when the last pool is
 * destroyed) looks at them periodically. A task that has run longer than
 * the threshold — WEFT_STALL_MS milliseconds, default 2000 — is reported on
 * stderr once, as one line:
 *
 *   weft: stall (WEFT_DEBUG=stalls): pool "weft" worker 2: task slow_fn has
 *     run for 2.0 s; blocked in weft_mutex_lock on 0x5581c0 for 2.0 s
 *
 * naming the task (its weft_trace_name_fn label, else its function's
 * symbol), and what the worker waits on when it is blocked: a weft wait
 * that marks itself (a future or group waited on from a task, ...), else
 * what the kernel says the thread sleeps in (a futex — a weft_mutex,
 * condition, semaphore — with its address, or a sleep, read, poll ...).
 * When the task ends, one more line says "finished after X s".
 *
 * Off (the default), each task costs one predictable branch; on, a coarse
 * clock read and a few stores per task. Tasks run inside a waiting task (a
 * worker helping while it waits) count as part of the waiting task. Only
 * pool workers are watched; tasks already running when watching is turned
 * on are not. */
#ifndef WEFT_DEBUG_H
#define WEFT_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Turns the stall watchdog on for every pool, with the given threshold (0:
 * WEFT_STALL_MS, else 2 s); calling it again changes the threshold. Starts
 * the watchdog thread when a pool exists. Any thread.
 * Errors: WEFT_EAGAIN (the thread could not be started). */
int weft_stall_watch_enable(uint64_t threshold_ns);

/* Turns the watchdog off and stops its thread; stalls being reported are
 * forgotten (no "finished" line). Any thread except a pool worker's task
 * (it waits for the watchdog thread to exit). */
void weft_stall_watch_disable(void);

/* Stalls reported so far, in this process (for tests and tools). Any
 * thread. */
size_t weft_stall_report_count(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_DEBUG_H */
