/* weft/aio.h — async: coroutines on libuv (what asyncio gives Python).
 *
 * Write straight-line code that waits for sockets, timers, processes and
 * other tasks, and run thousands of such tasks on one thread. A *task* is a
 * coroutine: a function `int fn(void *arg)` running on its own small stack
 * (mmap'ed, with a guard page; an overflow is reported, not silent). Every
 * weft_aio_* call that waits ("awaits") suspends only the calling task; the
 * loop runs the others meanwhile. libuv is the reactor underneath.
 *
 *   static int hello(void *arg) {
 *     weft_aio_sleep(10 * WEFT_MS);          // other tasks run meanwhile
 *     printf("hello, %s\n", (char *)arg);
 *     return 0;
 *   }
 *   int main(void) { return weft_aio_run(hello, "world") ? 1 : 0; }
 *
 * Threads: a loop and everything created in it (tasks, streams, queues,
 * locks...) belong to the thread running the loop. The only calls allowed
 * from other threads are weft_loop_call_soon_threadsafe and
 * weft_loop_spawn_threadsafe. Awaiting calls made outside a task return
 * WEFT_EPERM.
 *
 * Results and errors: a task returns 0 or a WEFT_E* code, like every weft
 * function; a value travels with weft_aio_set_result. Codes of awaits:
 *   WEFT_ECANCELED  the waiting task was cancelled (clean up and return);
 *   WEFT_ETIMEDOUT  a deadline (timeout argument or cancel scope) passed;
 *   WEFT_EEOF       a stream ended before what was asked for arrived.
 *
 * Cancellation is a request: weft_aio_cancel(t) makes t's pending await (or
 * its next one) return WEFT_ECANCELED; t then runs its cleanup and returns.
 * A cancellation is never lost: when the awaited thing completes at the
 * same moment, the await returns its result and the *next* await returns
 * WEFT_ECANCELED. A task stays cancelled: every later await returns
 * WEFT_ECANCELED at once, except inside weft_aio_shield_scope.
 */
#ifndef WEFT_AIO_H
#define WEFT_AIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "weft/core.h"
#include "weft/future.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef WEFT_MS
#define WEFT_MS (1000000ull) /* nanoseconds per millisecond */
#endif

/* ==== loops and tasks ==== */

typedef struct weft_loop weft_loop;
typedef struct weft_aio_task weft_aio_task;
typedef int (*weft_aio_fn)(void *arg);

typedef struct weft_loop_options {
  size_t stack_size;         /* per task; 0 = 64 KB. Rounded up to pages. */
  uint64_t lag_threshold_ns; /* 0 = off (or WEFT_AIO_LAG_MS in the environment):
                                a task that keeps the loop busy longer than this
                                is named on stderr, once per slice, while it runs */
  bool ucontext_switch;      /* use the portable switch (tests, benchmarks) */
} weft_loop_options;

/* asyncio.run: creates a loop in this thread, runs main(arg) as its first
 * task to completion, then cancels and awaits every task still running,
 * closes the loop and returns main's code. Errors of its own: WEFT_EINVAL
 * (main NULL), WEFT_ENOMEM, WEFT_EBUSY (this thread already runs a loop),
 * WEFT_EDEADLK: every task waits for something only another task could do,
 * and nothing outside (I/O, timers, threads) can wake any of them; all are
 * cancelled so that their cleanup runs. (Only a loop nobody else can reach
 * is checked: once weft_loop_current() was called or the loop was made with
 * weft_loop_create, another thread might still post to it, so it waits.) */
int weft_aio_run(weft_aio_fn main, void *arg);
int weft_aio_run_ex(weft_aio_fn main, void *arg, const weft_loop_options *opt);

/* A loop that lives longer than one run (to hand to other threads before it
 * runs). create: WEFT_EINVAL, WEFT_ENOMEM, WEFT_ESYSTEM (libuv failed).
 * run: as weft_aio_run, in the calling thread; a loop may be run again
 * afterwards. destroy: the loop must not be running. */
int weft_loop_create(weft_loop **out, const weft_loop_options *opt);
int weft_loop_run(weft_loop *loop, weft_aio_fn main, void *arg);
void weft_loop_destroy(weft_loop *loop);

/* The loop running in this thread, or NULL. */
weft_loop *weft_loop_current(void);

/* From any thread: runs fn(arg) on the loop's thread (not as a task: it must
 * not await), soon. 0, WEFT_EINVAL, WEFT_ENOMEM, WEFT_ESHUTDOWN (the loop is
 * not running and will not run it). */
int weft_loop_call_soon_threadsafe(weft_loop *loop, void (*fn)(void *), void *arg);

/* From any thread (run_coroutine_threadsafe): starts fn(arg) as a task in
 * the loop; *out (may be NULL) gets a future finished with the task's code
 * and its result value (borrowed pointer, see weft_aio_set_result).
 * Cancelling the future cancels the task. Errors as call_soon_threadsafe. */
int weft_loop_spawn_threadsafe(weft_loop *loop, weft_aio_fn fn, void *arg, weft_future **out);

/* ---- tasks ---- */

/* create_task: starts fn(arg) as a new task of the current loop; it first
 * runs when the caller next awaits. *out (may be NULL: the task is
 * detached) gets a handle holding one reference. Callable from a task or
 * from a callback on the loop thread. WEFT_EPERM outside a loop, WEFT_ENOMEM. */
int weft_aio_spawn(weft_aio_fn fn, void *arg, weft_aio_task **out);
/* As spawn with a name for logs, traces and the lag watchdog (copied). */
int weft_aio_spawn_named(const char *name, weft_aio_fn fn, void *arg, weft_aio_task **out);

/* Drops a handle (the task keeps running if unfinished). NULL is a no-op. */
void weft_aio_task_release(weft_aio_task *t);
void weft_aio_task_retain(weft_aio_task *t);

/* await: waits until t finishes and returns its code. If the awaiting task
 * is cancelled meanwhile, t is cancelled too and awaited to its end (so its
 * cleanup has run), then WEFT_ECANCELED is returned. */
int weft_aio_await(weft_aio_task *t);
/* wait_for: await with a timeout; on expiry t is cancelled and awaited, and
 * WEFT_ETIMEDOUT is returned. */
int weft_aio_await_timed(weft_aio_task *t, uint64_t timeout_ns);

/* Without waiting. */
bool weft_aio_task_done(const weft_aio_task *t);
int weft_aio_task_code(const weft_aio_task *t);   /* 0 while unfinished */
void *weft_aio_task_result(const weft_aio_task *t);
const char *weft_aio_task_name(const weft_aio_task *t);

/* From inside a task: its result value, read by weft_aio_task_result (the
 * task keeps ownership of what it points to). */
void weft_aio_set_result(void *value);
/* The running task, or NULL on the loop's own stack. */
weft_aio_task *weft_aio_current(void);

/* Requests cancellation of t (see the top of this file). 0, or
 * WEFT_EALREADY when t already finished. */
int weft_aio_cancel(weft_aio_task *t);
/* Whether the current task has been asked to stop. */
bool weft_aio_cancelled(void);

/* sleep: suspends the current task for ns nanoseconds (0 = yield).
 * 0, WEFT_ECANCELED, WEFT_ETIMEDOUT (a scope's deadline came first). */
int weft_aio_sleep(uint64_t ns);
/* Lets every other ready task run once, then continues. */
int weft_aio_yield(void);

/* ---- gather and wait ---- */

enum { WEFT_AIO_COLLECT = 1 }; /* gather: run all to the end, errors stay per task */

/* gather: waits for all n tasks. By default the first failure is returned
 * at once (the others keep running, as in asyncio); with WEFT_AIO_COLLECT
 * every task is waited for and 0 is returned (read each task's code). If
 * the caller is cancelled, all n are cancelled and awaited: WEFT_ECANCELED. */
int weft_aio_gather(weft_aio_task *const *ts, size_t n, int flags);

enum weft_aio_wait_mode {
  WEFT_AIO_FIRST_COMPLETED,
  WEFT_AIO_FIRST_EXCEPTION, /* first failed or cancelled one, else all */
  WEFT_AIO_ALL_COMPLETED,
};
/* wait: returns 0 when the condition holds (*index, if not NULL, = the
 * lowest index of a task that satisfied it, n for ALL_COMPLETED), or
 * WEFT_ETIMEDOUT (timeout_ns = WEFT_FOREVER for none), WEFT_ECANCELED. The
 * tasks are not cancelled. WEFT_EINVAL for n == 0. */
int weft_aio_wait(weft_aio_task *const *ts, size_t n, enum weft_aio_wait_mode mode,
                  uint64_t timeout_ns, size_t *index);

/* shield: awaits t, but cancelling the caller does not cancel t: the caller
 * returns WEFT_ECANCELED at once and t runs on. */
int weft_aio_shield(weft_aio_task *t);

/* ---- cancel scopes and deadlines ---- */

/* A scope lives on the task's stack between enter and exit (properly nested).
 * Every await inside it returns WEFT_ETIMEDOUT once the deadline has passed
 * (nested scopes: the earliest deadline applies). exit returns 0, or
 * WEFT_ETIMEDOUT if the deadline passed while the scope was active.
 * A shield scope (weft_aio_shield_scope) hides cancellation and outer
 * deadlines from the awaits inside it: for cleanup that must finish. */
typedef struct weft_aio_scope {
  uint64_t deadline_ns; /* monotonic; WEFT_FOREVER = none */
  bool shield, expired;
  struct weft_aio_scope *outer;
  weft_aio_task *task;
} weft_aio_scope;

void weft_aio_scope_enter(weft_aio_scope *s, uint64_t timeout_ns);
void weft_aio_shield_scope(weft_aio_scope *s);
int weft_aio_scope_exit(weft_aio_scope *s);

/* ---- task groups (asyncio.TaskGroup) ---- */

/* A group lives on the owner task's stack. The first member to fail (with
 * any code but WEFT_ECANCELED) cancels the others; wait returns after every
 * member has ended, with that first failure's code (0 if none), and
 * weft_aio_group_message names the failed task. If the owner is cancelled
 * while in wait, every member is cancelled and awaited: WEFT_ECANCELED.
 * Members' handles stay valid until weft_aio_group_end. */
typedef struct weft_aio_group {
  struct weft_aio_group_impl *impl;
} weft_aio_group;

int weft_aio_group_init(weft_aio_group *g);
/* Starts fn(arg) in the group. WEFT_ESHUTDOWN once the group failed or was
 * waited for; *out (may be NULL) gets a handle of its own. */
int weft_aio_group_spawn(weft_aio_group *g, weft_aio_fn fn, void *arg, weft_aio_task **out);
int weft_aio_group_wait(weft_aio_group *g);
const char *weft_aio_group_message(const weft_aio_group *g);
/* Frees the group (cancelling and awaiting members if wait was skipped). */
void weft_aio_group_end(weft_aio_group *g);

/* ==== bridges to threads and futures ==== */

/* Awaits a weft_future (from any engine) without blocking the loop.
 * Returns its code. If the caller is cancelled, the future is cancelled
 * and WEFT_ECANCELED returned once it finished (a running thread task is
 * waited for, since it may use the caller's memory). */
int weft_aio_await_future(weft_future *f);

/* to_thread: runs fn(arg) on the default thread pool (pool.h) and awaits it.
 * Returns fn's code; cancellation as await_future. */
int weft_aio_to_thread(int (*fn)(void *), void *arg);

/* ==== I/O: streams (TCP, Unix sockets, pipes) ==== */

typedef struct weft_aio_stream weft_aio_stream;
typedef struct weft_aio_server weft_aio_server;

enum {
  WEFT_AIO_REUSEPORT = 1, /* listen: SO_REUSEPORT (one listener per loop) */
};

/* Connects to host:port (host may be a name: libuv's getaddrinfo; IPv4 and
 * IPv6; every address is tried in order). Errors: WEFT_EINVAL, WEFT_ENOENT
 * (name not found), WEFT_ECONNREFUSED, WEFT_ETIMEDOUT, WEFT_ECANCELED,
 * WEFT_EIO for others; weft_aio_last_error() has the details.
 * I/O errors in general: WEFT_ECONNRESET (peer reset), WEFT_EPIPE (write
 * after the peer closed), WEFT_EADDRINUSE (listen), WEFT_ECLOSED (the
 * stream was closed by another task), WEFT_EEOF (see read). */
int weft_aio_tcp_connect(const char *host, int port, weft_aio_stream **out);
/* Listens on host:port (NULL host = all IPv4 addresses, "::" = IPv6; port 0
 * = any: read it with weft_aio_server_port). WEFT_EINVAL also for an
 * address that is not this host's or of a family it lacks. */
int weft_aio_tcp_listen(const char *host, int port, int backlog, int flags,
                        weft_aio_server **out);
int weft_aio_unix_connect(const char *path, weft_aio_stream **out);
int weft_aio_unix_listen(const char *path, int backlog, weft_aio_server **out);
/* Awaits the next connection. */
int weft_aio_accept(weft_aio_server *s, weft_aio_stream **out);
int weft_aio_server_port(const weft_aio_server *s);
/* Closes the listener; a pending accept returns WEFT_ECLOSED. */
void weft_aio_server_close(weft_aio_server *s);

/* Wraps an open pipe, socket or tty fd (the stream owns it from then on). */
int weft_aio_stream_open_fd(int fd, weft_aio_stream **out);

/* read: at least 1 and at most cap bytes into buf (*n = count). WEFT_EEOF
 * when the peer closed its side and nothing is buffered. */
int weft_aio_read(weft_aio_stream *s, void *buf, size_t cap, size_t *n);
/* Exactly n bytes; WEFT_EEOF when the stream ends first (*got, if not NULL,
 * says how many arrived: asyncio's IncompleteReadError.partial). */
int weft_aio_read_exactly(weft_aio_stream *s, void *buf, size_t n, size_t *got);
/* One line, '\n' included, NUL-terminated, at most cap - 1 bytes;
 * WEFT_ERANGE when the line is longer (the line stays buffered: read it
 * with weft_aio_read), WEFT_EEOF at the end (a last line without '\n' is
 * returned with 0 first). */
int weft_aio_read_line(weft_aio_stream *s, char *buf, size_t cap, size_t *n);
/* Queues n bytes (copied) for sending. When more than the high-water mark
 * (64 KB) is queued, waits until it drops below the low mark (16 KB): a
 * slow peer slows the writer instead of growing memory. */
int weft_aio_write(weft_aio_stream *s, const void *data, size_t n);
/* Waits until everything queued has been handed to the kernel. */
int weft_aio_drain(weft_aio_stream *s);
/* Half-close: sends EOF after the queued data (TCP/Unix/pipe). */
int weft_aio_shutdown(weft_aio_stream *s);
/* Closes and frees the stream; pending reads and writes of other tasks on
 * it return WEFT_ECLOSED. Queued data not yet sent is dropped; drain first
 * to keep it. NULL is a no-op. Every stream must be closed in a task of its
 * loop before the loop ends: the loop does not close streams left open (its
 * owner may still hold the pointer), and their memory and descriptor leak. */
void weft_aio_close(weft_aio_stream *s);

/* The text of the last I/O error in this thread ("" if none). */
const char *weft_aio_last_error(void);

/* ==== UDP ==== */

typedef struct weft_aio_udp weft_aio_udp;
int weft_aio_udp_bind(const char *host, int port, weft_aio_udp **out);
int weft_aio_udp_port(const weft_aio_udp *u);
int weft_aio_udp_send(weft_aio_udp *u, const char *host, int port, const void *data, size_t n);
/* One datagram: *n bytes (truncated to cap), the sender in *from if not NULL. */
int weft_aio_udp_recv(weft_aio_udp *u, void *buf, size_t cap, size_t *n,
                      struct sockaddr_storage *from);
void weft_aio_udp_close(weft_aio_udp *u);

/* ==== subprocesses (create_subprocess_exec) ==== */

typedef struct weft_aio_process weft_aio_process;

enum { WEFT_AIO_PIPE_STDIN = 1, WEFT_AIO_PIPE_STDOUT = 2, WEFT_AIO_PIPE_STDERR = 4 };

typedef struct weft_aio_process_options {
  int pipes;               /* WEFT_AIO_PIPE_* bits; others inherit ours */
  const char *cwd;         /* NULL = ours */
  const char *const *env;  /* NULL = ours; else "K=V" strings, NULL-ended */
  bool new_group;          /* the child leads a new process group (and session),
                              so that kill_group reaches everything it starts */
} weft_aio_process_options;

/* Starts argv[0] (searched in PATH) with argv. WEFT_ENOENT when it cannot
 * be run. The child starts with no signal blocked and every signal at its
 * default action. The stream accessors return NULL for unpiped ends; the
 * streams belong to the process object. Uses posix_spawn and a pidfd
 * (uv_spawn where pidfds are missing, or with WEFT_AIO_SPAWN=uv set). */
int weft_aio_process_spawn(const char *const *argv, const weft_aio_process_options *opt,
                           weft_aio_process **out);
weft_aio_stream *weft_aio_process_stdin(weft_aio_process *p);
weft_aio_stream *weft_aio_process_stdout(weft_aio_process *p);
weft_aio_stream *weft_aio_process_stderr(weft_aio_process *p);
int weft_aio_process_pid(const weft_aio_process *p);
int weft_aio_process_kill(weft_aio_process *p, int signum);
/* Signals the child's whole process group (started with new_group; else
 * WEFT_EINVAL). Also after the child's own exit, until destroy: whatever it
 * left running in its group is reached. WEFT_EALREADY once no process of
 * the group is left; signum 0 only asks whether any is. */
int weft_aio_process_kill_group(weft_aio_process *p, int signum);
/* Waits for exit: *exit_status = exit code, *term_signal = signal or 0. */
int weft_aio_process_wait(weft_aio_process *p, int *exit_status, int *term_signal);
/* Kills (SIGKILL) if still running, reaps, closes its streams and frees. */
void weft_aio_process_destroy(weft_aio_process *p);

/* ==== signals, files ==== */

/* Waits until signum arrives (handled by the loop while anyone waits). */
int weft_aio_signal_wait(int signum);

/* Whole-file helpers through libuv's thread pool: read allocates *data
 * (caller frees with free(); a NUL is appended, not counted in *size). */
int weft_aio_read_file(const char *path, void **data, size_t *size);
int weft_aio_write_file(const char *path, const void *data, size_t size);

/* ==== async synchronization (single loop; every wait is cancellable) ==== */

typedef struct weft_aio_queue weft_aio_queue;
/* A FIFO of pointers; capacity 0 = unbounded. */
int weft_aio_queue_create(weft_aio_queue **out, size_t capacity);
void weft_aio_queue_destroy(weft_aio_queue *q);
int weft_aio_queue_put(weft_aio_queue *q, void *item);     /* waits while full */
int weft_aio_queue_get(weft_aio_queue *q, void **item);    /* waits while empty */
int weft_aio_queue_try_put(weft_aio_queue *q, void *item); /* WEFT_EAGAIN when full */
int weft_aio_queue_try_get(weft_aio_queue *q, void **item);/* WEFT_EAGAIN when empty */
size_t weft_aio_queue_size(const weft_aio_queue *q);
/* task_done after each processed get; join waits until every item put has
 * been marked done. WEFT_ERANGE: more task_done than items. */
int weft_aio_queue_task_done(weft_aio_queue *q);
int weft_aio_queue_join(weft_aio_queue *q);
/* Closes the queue: waiting and later puts get WEFT_ECLOSED; gets drain what
 * is left, then get WEFT_ECLOSED. */
void weft_aio_queue_close(weft_aio_queue *q);

typedef struct weft_aio_lock weft_aio_lock;
int weft_aio_lock_create(weft_aio_lock **out);
void weft_aio_lock_destroy(weft_aio_lock *l);
int weft_aio_lock_acquire(weft_aio_lock *l); /* FIFO; WEFT_EDEADLK if the caller holds it */
int weft_aio_lock_release(weft_aio_lock *l); /* WEFT_EPERM if the caller does not hold it */

typedef struct weft_aio_sem weft_aio_sem;
/* bound = 0: a plain semaphore; else a bounded one: releasing above bound
 * is WEFT_ERANGE (asyncio's BoundedSemaphore ValueError). */
int weft_aio_sem_create(weft_aio_sem **out, unsigned value, unsigned bound);
void weft_aio_sem_destroy(weft_aio_sem *s);
int weft_aio_sem_acquire(weft_aio_sem *s);
int weft_aio_sem_release(weft_aio_sem *s);
unsigned weft_aio_sem_value(const weft_aio_sem *s);

typedef struct weft_aio_event weft_aio_event;
int weft_aio_event_create(weft_aio_event **out);
void weft_aio_event_destroy(weft_aio_event *e);
void weft_aio_event_set(weft_aio_event *e);
void weft_aio_event_clear(weft_aio_event *e);
bool weft_aio_event_is_set(const weft_aio_event *e);
int weft_aio_event_wait(weft_aio_event *e);

typedef struct weft_aio_cond weft_aio_cond;
/* A condition bound to a lock (the caller holds it around wait). */
int weft_aio_cond_create(weft_aio_cond **out, weft_aio_lock *lock);
void weft_aio_cond_destroy(weft_aio_cond *c);
/* Releases the lock, waits for notify, re-acquires the lock (also when
 * cancelled: the caller always holds it again on return). */
int weft_aio_cond_wait(weft_aio_cond *c);
void weft_aio_cond_notify(weft_aio_cond *c, size_t n);
void weft_aio_cond_notify_all(weft_aio_cond *c);

/* ==== a server on every core ==== */

/* Runs `loops` threads (0 = usable CPUs), each with its own loop and a
 * SO_REUSEPORT listener on host:port, and runs handler(stream, arg) as a new
 * task for every accepted connection (the handler's stream is closed after
 * it returns). The server runs until weft_aio_serve_stop (from any thread
 * but its own), until a handler asks for the stop (weft_aio_serve_stop from
 * a handler only starts it), or on SIGINT/SIGTERM if `stop_on_signal`. */
typedef struct weft_aio_serve_options {
  const char *host;
  int port;
  unsigned loops;
  bool stop_on_signal;
  int *bound_port; /* if not NULL: set to the port once listening (port 0) */
} weft_aio_serve_options;
typedef int (*weft_aio_handler)(weft_aio_stream *s, void *arg);
typedef struct weft_aio_serve weft_aio_serve;
/* Starts the loops and returns at once; *out is the running server. */
int weft_aio_serve_start(const weft_aio_serve_options *opt, weft_aio_handler handler, void *arg,
                         weft_aio_serve **out);
/* Stops accepting, cancels and awaits the handlers, joins the loops and
 * frees. From a handler: only starts the stop (the owner still calls stop,
 * or weft_aio_serve_wait then stop, to join and free). */
int weft_aio_serve_stop(weft_aio_serve *s);
/* Waits until every loop has ended (stopped from a handler, or by a signal
 * with stop_on_signal): 0 or WEFT_ETIMEDOUT. From any thread but the
 * server's own; weft_aio_serve_stop still joins and frees. */
int weft_aio_serve_wait(weft_aio_serve *s, uint64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_AIO_H */
