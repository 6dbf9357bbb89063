/* weft/trace.h — tracing, profiling and logging.
 *
 * Tracing. weft's engines (the thread pool, the process pool, and — through
 * the internal API in src/trace/trace_internal.h — the coroutine loop and
 * task graphs) record events into per-thread buffers: each task with its
 * function, wall time and (see below) CPU time, steals, idle spans, parks
 * and wake-ups, process workers starting, crashing and being replaced.
 * Nothing is recorded unless tracing is on; off, each hook costs one load of
 * a global flag and a branch predicted not taken.
 *
 * Turning it on needs no code change: with WEFT_TRACE=out.json in the
 * environment, tracing starts when the library is loaded and out.json is
 * written when the process exits (an atexit handler). Programs may instead
 * call weft_trace_start / weft_trace_stop / weft_trace_write.
 *
 * The file is Chrome Trace Event JSON (opens in https://ui.perfetto.dev or
 * chrome://tracing): one track per thread (pool workers are named
 * <pool>-<index>), one per process-pool worker process, with thread_name
 * metadata. `weft trace report out.json -o report.html` renders it as one
 * self-contained HTML page; `weft trace top out.json` lists the top tasks.
 *
 * CPU time per task: reading a thread's CPU clock costs ~0.4 µs (a system
 * call), more than a tiny task itself, so a task's CPU time is measured when
 * the task before it on that thread ran for 20 µs or more (or it is the
 * first after an idle span) — long tasks, where CPU time and wall time part
 * — unless WEFT_TRACE_CPU=all asks for every task. Back-to-back tasks of the
 * same function shorter than 2 µs are merged into one event with a count
 * (WEFT_TRACE_MERGE=0 keeps every task), and within such a run the clock is
 * read once per 16 tasks: that is what keeps the cost of tracing a million
 * tiny tasks low. Tasks run inside other tasks (fork-join) are recorded one
 * by one: their spans must nest in their parent's. See docs/trace.md.
 *
 * Memory: events take 48 bytes; recording stops (and counts what it drops)
 * beyond WEFT_TRACE_LIMIT_MB (default 512) megabytes of buffers.
 *
 * Fork: a child of a traced process does not trace (its copy of the buffers
 * is dropped) and never writes the parent's file.
 *
 * Logging: weft_log writes one line per call to stderr when its level is at
 * or below the threshold WEFT_LOG=error|warn|info|debug (default: warn),
 * with a timestamp, the thread id and name, and the pool worker and task
 * running on that thread if any. */
#ifndef WEFT_TRACE_H
#define WEFT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tracing ---- */

/* Starts recording, discarding what an earlier session recorded. Any thread.
 * Should not race with another thread's weft_trace_start/stop.
 * Errors: WEFT_ENOMEM. */
int weft_trace_start(void);

/* Stops recording; what was recorded stays until the next start. Any
 * thread. Events being recorded at that instant may still land. */
void weft_trace_stop(void);

/* True while recording. Any thread. */
bool weft_trace_enabled(void);

/* Writes what the current (or last) session recorded to path as Chrome
 * Trace Event JSON. May be called while recording (it writes what is
 * recorded so far) and from any thread. Errors: WEFT_EINVAL (path NULL),
 * WEFT_EIO or a negated errno value when the file cannot be written. */
int weft_trace_write(const char *path);

/* Events the current (or last) session recorded and dropped (over the
 * memory limit). A merged run of tiny tasks counts as one event. */
uint64_t weft_trace_event_count(void);
uint64_t weft_trace_dropped(void);

/* A name for a task function in traces (otherwise the symbol name, when
 * the dynamic linker knows it, else the address). name is copied. Any
 * thread. Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_trace_name_fn(const void *fn, const char *name);

/* User events, shown on the calling thread's track. name is copied (and
 * kept until the process exits: use a small set of names). Cheap no-ops
 * when tracing is off. */
void weft_trace_mark(const char *name);                /* an instant */
void weft_trace_begin(const char *name);               /* opens a span */
void weft_trace_end(void);                             /* closes the innermost span */
void weft_trace_counter(const char *name, int64_t value); /* a counter track */

/* Names the calling thread's track (pool workers and weft threads are named
 * already). name is copied (up to 31 bytes). */
void weft_trace_thread_name(const char *name);

/* ---- logging ---- */

enum {
  WEFT_LOG_OFF = 0,
  WEFT_LOG_ERROR = 1,
  WEFT_LOG_WARN = 2,
  WEFT_LOG_INFO = 3,
  WEFT_LOG_DEBUG = 4
};

/* The threshold (WEFT_LOG_*): from WEFT_LOG at start-up, or as set. */
int weft_log_level(void);
void weft_log_set_level(int level);
static inline bool weft_log_enabled(int level);

/* Writes "weft <time> <L> [tid <n> <thread name>] [worker <i>] [task <id>]
 * <message>" to stderr as one write, if level is at or below the threshold.
 * Any thread; the line is cut at 1 KiB. */
void weft_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The threshold's storage, read inline by weft_log_enabled (do not write:
 * use weft_log_set_level). */
extern int weft__log_threshold;
static inline bool weft_log_enabled(int level) {
  return __builtin_expect(level <= __atomic_load_n(&weft__log_threshold, __ATOMIC_RELAXED), 0);
}

/* The macros skip formatting (and evaluating the arguments) when the level
 * is off. */
#define weft_log_error(...) \
  do { if (weft_log_enabled(WEFT_LOG_ERROR)) weft_log(WEFT_LOG_ERROR, __VA_ARGS__); } while (0)
#define weft_log_warn(...) \
  do { if (weft_log_enabled(WEFT_LOG_WARN)) weft_log(WEFT_LOG_WARN, __VA_ARGS__); } while (0)
#define weft_log_info(...) \
  do { if (weft_log_enabled(WEFT_LOG_INFO)) weft_log(WEFT_LOG_INFO, __VA_ARGS__); } while (0)
#define weft_log_debug(...) \
  do { if (weft_log_enabled(WEFT_LOG_DEBUG)) weft_log(WEFT_LOG_DEBUG, __VA_ARGS__); } while (0)

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TRACE_H */
