/* weft/thread.h — named threads and facts about the CPUs this process may use.
 *
 * Threads are objects: weft_thread_create starts one, weft_thread_join waits
 * for it and frees the handle (weft_thread_detach frees it without waiting).
 * A "subclass" in the Python sense is a struct that embeds what it needs and
 * passes itself as `arg` (see examples/thread_objects.c). */
#ifndef WEFT_THREAD_H
#define WEFT_THREAD_H

#include "weft/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_thread weft_thread;

/* A thread body: its return value is handed to weft_thread_join. */
typedef int (*weft_thread_fn)(void *arg);

/* Starts a thread running fn(arg). `name` (may be NULL) is copied and set as
 * the OS thread name, truncated to 15 bytes (visible in `top -H` and gdb).
 * On success *out owns the handle until join or detach.
 * Errors: WEFT_EINVAL (NULL out or fn), WEFT_ENOMEM, WEFT_EAGAIN (no threads). */
int weft_thread_create(weft_thread **out, const char *name, weft_thread_fn fn, void *arg);

/* Waits for the thread to end, stores its return value in *result (may be
 * NULL) and frees the handle. Errors: WEFT_EINVAL (NULL), WEFT_EDEADLK (a
 * thread joining itself). */
int weft_thread_join(weft_thread *t, int *result);

/* Like join but waits at most timeout_ns; on WEFT_ETIMEDOUT the handle stays
 * valid and may be joined again. */
int weft_thread_join_timed(weft_thread *t, int *result, uint64_t timeout_ns);

/* Lets the thread run on without being joined; frees the handle.
 * Errors: WEFT_EINVAL. */
int weft_thread_detach(weft_thread *t);

/* The name given at creation ("" if none). Owned by the handle. */
const char *weft_thread_name(const weft_thread *t);

/* The calling thread's OS thread id (gettid). */
uint64_t weft_thread_self_id(void);

/* Sets the calling thread's OS name (truncated to 15 bytes). Errors: WEFT_EINVAL. */
int weft_thread_set_self_name(const char *name);

/* Gives up the CPU to another ready thread. */
void weft_thread_yield(void);

/* Sleeps for ns nanoseconds on the monotonic clock, resuming after signals. */
void weft_sleep_ns(uint64_t ns);

/* Pins a thread (NULL: the calling thread) to the given CPUs.
 * Errors: WEFT_EINVAL (no CPUs, or a CPU this process may not use). */
int weft_thread_set_affinity(weft_thread *t, const int *cpus, size_t ncpus);

/* The number of CPUs this process may actually use: the affinity mask,
 * capped by the cgroup v2 (cpu.max) or v1 (cfs quota) CPU quota, rounded up,
 * at least 1. The environment variable WEFT_THREADS, when set to a positive
 * number, overrides it. This is the default worker count everywhere. */
unsigned weft_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_THREAD_H */
