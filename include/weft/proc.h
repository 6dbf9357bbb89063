/* weft/proc.h — processes: running external programs (Python's os.system,
 * subprocess.run and subprocess.Popen), and running many of them at once
 * with a bound on parallelism (GNU parallel, xargs -P).
 *
 * This file is the home of everything about processes in weft: the
 * subprocess section, then IPC (shared memory, framed pipes, a
 * process-shared queue, robust process-shared lock/semaphore/event/barrier),
 * then functions run in other processes: process objects
 * (multiprocessing.Process) and the crash-proof process pool.
 *
 * External programs are started with posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK)
 * then exec), which is safe in multithreaded programs and reports an exec
 * failure to the parent. Output is captured by one poll() loop in the calling
 * thread that writes stdin while it reads stdout and stderr, so no full pipe
 * can deadlock parent and child. A child is reaped by its own pid (through a
 * pidfd where the kernel has them), never with waitpid(-1): statuses of
 * children started elsewhere in the program are left alone. */
#ifndef WEFT_PROC_H
#define WEFT_PROC_H

#include <sys/types.h>
#include "weft/core.h"
#include "weft/sync.h"
#include "weft/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================== subprocess ======================== */

/* What happens to one standard stream of the child. */
enum weft_subprocess_stream {
  WEFT_SUBPROCESS_INHERIT = 0, /* the child shares the parent's stream */
  WEFT_SUBPROCESS_CAPTURE = 1, /* stdout/stderr only: collected into the result */
  WEFT_SUBPROCESS_DISCARD = 2, /* connected to /dev/null */
  WEFT_SUBPROCESS_STDOUT = 3   /* stderr only: goes wherever stdout goes
                                  (Python's stderr=STDOUT) */
};

/* Default grace between SIGTERM and SIGKILL when a timeout expires: 1 s. */
#define WEFT_SUBPROCESS_GRACE_NS 1000000000ull

/* How to run one program. Zero-initialise and fill in what you need:
 * a zeroed struct (plus argv) inherits the environment, directory and all
 * three streams, with no timeout. Nothing here is kept after the call that
 * takes it returns, except stdin_data during weft_subprocess_run. */
typedef struct weft_subprocess_opts {
  /* NULL-terminated argument vector, argv[0] non-NULL. Without `shell`,
   * argv[0] is the program, looked up in PATH when it has no '/' (execvp).
   * With `shell`, argv[0] is a command line for `/bin/sh -c`, and any
   * further items become the shell's $0, $1, ... (as Python's shell=True). */
  const char *const *argv;
  bool shell;
  /* NULL-terminated "NAME=value" list replacing the environment; NULL =
   * inherit the caller's. The PATH lookup uses the caller's PATH. */
  const char *const *env;
  /* Working directory of the child; NULL = the caller's. */
  const char *cwd;
  /* stdin: when stdin_data is non-NULL, the child reads these stdin_size
   * bytes from a pipe and then end-of-file (stdin_size may be 0 or large;
   * weft_subprocess_run borrows the bytes, weft_subprocess_start copies
   * them). Otherwise stdin_mode applies: INHERIT or DISCARD. */
  const void *stdin_data;
  size_t stdin_size;
  int stdin_mode;
  int stdout_mode;           /* INHERIT, CAPTURE or DISCARD */
  int stderr_mode;           /* INHERIT, CAPTURE, DISCARD or STDOUT */
  /* weft_subprocess_run / run_many only: once timeout_ns has passed since
   * the start, the child gets SIGTERM, and SIGKILL kill_grace_ns later if it
   * is still alive. 0 or WEFT_FOREVER = no timeout; kill_grace_ns 0 =
   * WEFT_SUBPROCESS_GRACE_NS. */
  uint64_t timeout_ns;
  uint64_t kill_grace_ns;
} weft_subprocess_opts;

/* What became of one child. Captured buffers belong to the result: free them
 * with weft_subprocess_result_free. */
typedef struct weft_subprocess_result {
  int error;        /* 0; WEFT_ETIMEDOUT (killed at the timeout, still reaped,
                       output so far kept); or why it could not start
                       (WEFT_ENOENT, WEFT_EPERM, WEFT_ENOMEM, -errno...) */
  pid_t pid;        /* 0 if it never started */
  int exit_code;    /* exit status 0..255, or -1 when killed by a signal
                       or never started */
  int term_signal;  /* the signal that ended it, or 0 */
  char *out;        /* captured stdout, NUL-terminated (may hold NULs
                       itself: use out_size); NULL unless CAPTURE */
  size_t out_size;
  char *err;        /* captured stderr, likewise */
  size_t err_size;
} weft_subprocess_result;

/* Frees the captured buffers of *r and zeroes it. NULL is ignored; freeing
 * twice is harmless. */
void weft_subprocess_result_free(weft_subprocess_result *r);

/* Runs a program to completion (subprocess.run): starts it, feeds stdin,
 * captures what was asked for, enforces the timeout, reaps it. *out is
 * always filled (zeroed on bad arguments); free it with
 * weft_subprocess_result_free. A non-zero exit status is not an error:
 * look at out->exit_code / out->term_signal.
 * Returns out->error: 0, WEFT_ETIMEDOUT (child killed and reaped), or a
 * start failure (WEFT_ENOENT for an unknown program, WEFT_EPERM,
 * WEFT_ENOMEM, other -errno). WEFT_EINVAL: NULL opts/out/argv, empty argv,
 * an unknown stream mode. Thread-safe: any number of threads may run
 * programs at once. Blocks the calling thread. */
int weft_subprocess_run(const weft_subprocess_opts *opts, weft_subprocess_result *out);

/* Called by weft_subprocess_run_many in the calling thread as each command
 * finishes: its index in the submitted array and its result (borrowed;
 * the same storage as results[index], which keeps the buffers). */
typedef void (*weft_subprocess_done_fn)(size_t index, const weft_subprocess_result *r,
                                        void *arg);

/* Runs n programs with at most `parallel` alive at once (0 = weft_cpu_count()),
 * starting the next as soon as one finishes, as GNU parallel or xargs -P.
 * results[i] receives the outcome of cmds[i] (submission order, whatever the
 * finishing order); each must be freed with weft_subprocess_result_free.
 * on_done (may be NULL) runs in the calling thread after each finishes.
 * One poll loop in the calling thread drives every child: no thread per child.
 * Returns 0 when every command ran with error 0 (any exit status), otherwise
 * the error of the first command, in submission order, whose result has one;
 * every results[i] is filled either way. WEFT_EINVAL (nothing runs): NULL
 * cmds or results with n > 0, or any command invalid as for run.
 * WEFT_ENOMEM: no memory for the loop's tables (nothing runs). */
int weft_subprocess_run_many(const weft_subprocess_opts *cmds, size_t n, size_t parallel,
                             weft_subprocess_result *results, weft_subprocess_done_fn on_done,
                             void *arg);

/* ---- a running child (subprocess.Popen) ---- */

/* A started child and its pipes. One owner: the functions below must not
 * be called on the same object from two threads at once (different objects
 * are independent). Captured output is collected while wait or poll run. */
typedef struct weft_subprocess weft_subprocess;

/* Starts a program as described by opts (timeout_ns is ignored here: use
 * the timeout of weft_subprocess_wait, then terminate or kill). stdin_data
 * is copied. *out is owned by the caller until weft_subprocess_destroy.
 * Errors: WEFT_EINVAL as for run, WEFT_ENOENT, WEFT_EPERM, WEFT_ENOMEM,
 * other -errno from the start; *out is then NULL. */
int weft_subprocess_start(weft_subprocess **out, const weft_subprocess_opts *opts);

/* The child's process id. */
pid_t weft_subprocess_pid(const weft_subprocess *p);

/* Feeds stdin and collects output until the child has exited and its output
 * pipes are at end-of-file, or timeout_ns passes (WEFT_FOREVER = no limit).
 * Returns 0 when finished: `out` (may be NULL) then receives the status and
 * the captured buffers, which move to it (a later wait returns the status
 * again with no buffers). WEFT_ETIMEDOUT: still running (not signalled;
 * output so far is kept inside). WEFT_EINVAL: NULL p. */
int weft_subprocess_wait(weft_subprocess *p, uint64_t timeout_ns, weft_subprocess_result *out);

/* wait without blocking: 0 and *out filled when finished, WEFT_EAGAIN while
 * running (pipes are served meanwhile, so a chatty child does not stall). */
int weft_subprocess_poll(weft_subprocess *p, weft_subprocess_result *out);

/* Sends SIGTERM / SIGKILL / any signal to the child. WEFT_EALREADY when it
 * has already been reaped (its pid may belong to someone else by then, so
 * nothing is sent); WEFT_EINVAL for NULL p or a bad signal number. */
int weft_subprocess_terminate(weft_subprocess *p);
int weft_subprocess_kill(weft_subprocess *p);
int weft_subprocess_signal(weft_subprocess *p, int sig);

/* Kills the child (SIGKILL) if it is still running, reaps it, closes the
 * pipes and frees everything not yet moved into a result. NULL is ignored. */
void weft_subprocess_destroy(weft_subprocess *p);

/* ======================== IPC ========================
 *
 * Memory and channels shared between processes (multiprocessing's
 * shared_memory, Value/Array, Pipe, Queue, Lock, Semaphore, Event, Barrier).
 * Semantics and the reasons behind them: docs/ipc.md.
 *
 * Handles (weft_shm, weft_pipe, weft_pqueue, weft_shm_array) are small
 * process-local objects around a file descriptor and a mapping. After fork()
 * the child holds a copy of the handle and uses it as is; each process
 * destroys its own copy (which unmaps/closes only its own view). Every fd
 * weft opens here is close-on-exec. The process-shared sync objects
 * (weft_plock, weft_psem, weft_pevent, weft_pbarrier) are plain structs
 * that the caller places inside shared memory and initialises once. */

/* ---- shared memory segments ---- */

typedef struct weft_shm weft_shm;

/* Creates a zero-filled shared segment of `size` bytes (> 0), mapped
 * read/write. name == NULL: anonymous (memfd_create), reachable by children
 * after fork or by anyone handed weft_shm_fd. Otherwise a named POSIX
 * segment ("/name": one leading '/', no other, at most 255 bytes), created
 * exclusively with mode 0600 (owner only); it outlives the process until
 * weft_shm_unlink. *out is owned by the caller until weft_shm_destroy.
 * Errors: WEFT_EINVAL (NULL out, size 0, bad name), -EEXIST (name taken),
 * WEFT_ENOMEM, other -errno. Thread-safe. */
int weft_shm_create(weft_shm **out, const char *name, size_t size);

/* Opens and maps an existing named segment at its current size.
 * Errors: WEFT_EINVAL, WEFT_ENOENT, WEFT_EPERM/-EACCES, WEFT_ENOMEM. */
int weft_shm_open(weft_shm **out, const char *name);

/* Opens a segment from a file descriptor (e.g. a memfd received from a
 * parent): dups fd (the caller keeps its own) and maps it whole. */
int weft_shm_from_fd(weft_shm **out, int fd);

/* The mapping (page-aligned), its size and the segment's fd (owned by the
 * handle; dup it to keep it). NULL / 0 / -1 for a NULL handle. */
void *weft_shm_ptr(const weft_shm *s);
size_t weft_shm_size(const weft_shm *s);
int weft_shm_fd(const weft_shm *s);

/* Unmaps, closes and frees this process's handle. The segment itself lives
 * on while other processes map it (and, when named, until unlinked).
 * NULL is ignored. */
void weft_shm_destroy(weft_shm *s);

/* Removes a named segment's name (shm_unlink); mappings stay valid.
 * Errors: WEFT_EINVAL (bad name), WEFT_ENOENT. */
int weft_shm_unlink(const char *name);

/* ---- process-shared robust lock ----
 * A pthread mutex with PTHREAD_PROCESS_SHARED and PTHREAD_MUTEX_ROBUST:
 * the kernel's robust list notices a holder that dies, so the next locker
 * gets WEFT_EOWNERDEAD instead of hanging (docs/ipc.md says why not a
 * hand-made futex). Place it in shared memory; init once, in one process.
 * Not recursive. */
typedef struct weft_plock {
  union { unsigned char bytes[64]; long long align_; } opaque_;
} weft_plock;

/* Errors: WEFT_EINVAL (NULL), WEFT_ENOMEM, -errno from pthreads. */
int weft_plock_init(weft_plock *l);
/* Only once no process uses it. NULL is ignored. */
void weft_plock_destroy(weft_plock *l);
/* Takes the lock. 0; or WEFT_EOWNERDEAD: the lock IS held by the caller,
 * but the previous holder died inside its critical section — repair the
 * protected state, then call weft_plock_consistent before unlocking
 * (unlocking without it makes the lock unusable: every later lock returns
 * WEFT_EBROKEN). WEFT_EDEADLK: the calling thread already holds it. */
int weft_plock_lock(weft_plock *l);
/* As lock, giving up after timeout_ns (relative; WEFT_FOREVER = never):
 * WEFT_ETIMEDOUT. */
int weft_plock_lock_timed(weft_plock *l, uint64_t timeout_ns);
/* 0, WEFT_EOWNERDEAD (held, as above), WEFT_EBUSY, WEFT_EBROKEN. */
int weft_plock_trylock(weft_plock *l);
/* Declares the state repaired after WEFT_EOWNERDEAD. WEFT_EINVAL when the
 * lock is not in that state or not held by the caller. */
int weft_plock_consistent(weft_plock *l);
/* WEFT_EPERM when the caller does not hold it. */
int weft_plock_unlock(weft_plock *l);

/* ---- process-shared counting semaphore (multiprocessing.Semaphore) ----
 * Robust: the semaphore records which processes hold its units (a table of
 * WEFT_PSEM_HOLDERS entries of pid, process start time and unit count,
 * inside the struct), so the units of a process that dies while holding
 * them are given back (see weft_psem_wait). Every change to the count and
 * the table happens under a robust lock (a weft_plock inside the struct),
 * so a process killed at any instruction leaves nothing half-done.
 * Limits: units held by a process that found the table full (more than
 * WEFT_PSEM_HOLDERS processes holding units at once) are not recorded and
 * are lost if it dies; a post is credited to the posting process: it
 * gives back one of that process's units or, when it holds none, adds a
 * unit (the "signal" pattern). So a unit taken in process A and posted by
 * process B stays A's, and is given back again if A dies: post from the
 * process that waited. Threads of one process share its entry.
 * The struct is 616 bytes; place it in shared memory and init once.
 * Fields private (tests poke the table to fake pid reuse). */
#define WEFT_PSEM_HOLDERS 32
typedef struct weft_psem_holder_ { int32_t pid; uint32_t units; uint64_t start; } weft_psem_holder_;
typedef struct weft_psem {
  weft_sem sem;                  /* count (the futex word) and sleepers */
  uint32_t op_, undo_value_;     /* undo record of the change in progress */
  weft_psem_holder_ undo_;
  uint64_t scan_after_;          /* next time a waiter may look for the dead */
  weft_plock guard_;
  weft_psem_holder_ holders_[WEFT_PSEM_HOLDERS];
} weft_psem;
/* Errors: WEFT_EINVAL (NULL, value > INT32_MAX), -errno from pthreads. */
int weft_psem_init(weft_psem *s, unsigned value);
/* Only once no process uses it. NULL is ignored. */
void weft_psem_destroy(weft_psem *s);
/* Blocks until a unit is taken (and recorded against the calling
 * process). 0; or WEFT_EOWNERDEAD: a unit IS taken, but a process that
 * held units died without posting them, and they were given back (the
 * caller may have shared state to repair, as after weft_plock's
 * WEFT_EOWNERDEAD; nothing needs to be called: the semaphore is whole).
 * While it cannot take a unit, a waiter looks for dead holders every few
 * milliseconds. WEFT_EINVAL for NULL. */
int weft_psem_wait(weft_psem *s);
/* As wait; WEFT_ETIMEDOUT after timeout_ns (relative). A timeout of 0
 * still looks for dead holders once (unless another waiter just did). */
int weft_psem_wait_timed(weft_psem *s, uint64_t timeout_ns);
/* 0 or WEFT_EAGAIN; never looks for dead holders. */
int weft_psem_trywait(weft_psem *s);
/* Gives one of the caller's units back (or, when it holds none, adds one),
 * waking one waiter in any process. WEFT_ERANGE past INT32_MAX. */
int weft_psem_post(weft_psem *s);
/* Units available now (not counting those held by dead processes that no
 * waiter has reclaimed yet). */
unsigned weft_psem_value(const weft_psem *s);

/* ---- process-shared event (multiprocessing.Event) ---- */
typedef struct weft_pevent { weft_event ev; } weft_pevent; /* fields private */
void weft_pevent_init(weft_pevent *e);
/* Sets the flag and wakes every waiter in every process. */
void weft_pevent_set(weft_pevent *e);
void weft_pevent_clear(weft_pevent *e);
bool weft_pevent_is_set(const weft_pevent *e);
/* Returns once the flag is (or was, since the call began) set: 0; or
 * WEFT_ETIMEDOUT; WEFT_EINVAL for NULL. */
int weft_pevent_wait(weft_pevent *e);
int weft_pevent_wait_timed(weft_pevent *e, uint64_t timeout_ns);

/* ---- process-shared barrier (multiprocessing.Barrier) ----
 * One 32-bit futex word: generation in the high 16 bits, arrivals in the
 * low 16, so at most 65535 parties. */
typedef struct weft_pbarrier { uint32_t state; uint32_t parties; } weft_pbarrier;
/* Errors: WEFT_EINVAL (NULL, parties 0 or > 65535). */
int weft_pbarrier_init(weft_pbarrier *b, unsigned parties);
/* WEFT_BARRIER_SERIAL-like: 1 for exactly one process per generation (the
 * last to arrive), 0 for the others; WEFT_EINVAL for NULL. */
int weft_pbarrier_wait(weft_pbarrier *b);
/* As wait; WEFT_ETIMEDOUT withdraws the caller's arrival, so the barrier
 * stays usable (it then needs one more arrival), unlike the in-process
 * barrier, which breaks: a process-shared "broken" state would outlive the
 * processes that could reset it. */
int weft_pbarrier_wait_timed(weft_pbarrier *b, uint64_t timeout_ns);

/* ---- framed duplex pipes (multiprocessing.Pipe / Connection) ---- */

typedef struct weft_pipe weft_pipe;

/* Largest message: 1 GiB. */
#define WEFT_PIPE_MAX_MSG (1ull << 30)

/* Creates a connected pair (a SOCK_STREAM socketpair with a length prefix
 * per message); each end can send and receive. *a and *b are owned by the
 * caller: weft_pipe_close each. After fork, each process usually closes
 * the end it does not use. Errors: WEFT_EINVAL, WEFT_ENOMEM, -errno. */
int weft_pipe_create(weft_pipe **a, weft_pipe **b);

/* Sends one message of `size` bytes (0 allowed, at most WEFT_PIPE_MAX_MSG),
 * blocking until the kernel has taken all of it (as Connection.send_bytes;
 * a large message needs the peer to read). Handles partial writes and
 * EINTR; never raises SIGPIPE. Errors: WEFT_EINVAL, WEFT_ERANGE (too big),
 * WEFT_ECLOSED (peer closed), -errno. One sender per end at a time. */
int weft_pipe_send(weft_pipe *p, const void *data, size_t size);

/* Receives the next message: *data (malloc'd, owned by the caller: free();
 * NULL when *size is 0) and *size. Waits at most timeout_ns (WEFT_FOREVER,
 * or 0 to poll): WEFT_ETIMEDOUT keeps any partly read message inside the
 * handle, and the next recv continues it. WEFT_ECLOSED: the peer closed
 * and every message was read. WEFT_EIO: the peer closed in mid-message or
 * sent a bad length. WEFT_ENOMEM. One receiver per end at a time. */
int weft_pipe_recv(weft_pipe *p, void **data, size_t *size, uint64_t timeout_ns);

/* The socket's fd (owned by the handle), for poll() or SCM_RIGHTS. */
int weft_pipe_fd(const weft_pipe *p);

/* Closes this process's end and frees the handle; the peer's recv then
 * gets WEFT_ECLOSED (once every process holding the end closed it).
 * NULL is ignored. */
void weft_pipe_close(weft_pipe *p);

/* ---- process-shared MPMC queue (multiprocessing.Queue, no feeder) ----
 * A bounded ring of fixed-size items in a shared memfd mapping (Vyukov's
 * sequence-numbered slots, as chan.h's ring, with futex sleeps that work
 * across processes). Items are copied in and out. Any number of processes
 * and threads may send and receive at once.
 * Robust: every slot records the process working on it, and a peer that
 * finds a slot held for a few milliseconds by a process that died repairs
 * it, so a process killed in the middle of a send or receive does not
 * stall the queue. What is lost (docs/ipc.md): a send that dies never
 * returned, so its item was never in the queue (the slot it claimed is
 * skipped by receivers); a receive that dies after claiming its item takes
 * that one item with it (the item had been sent: at most one item lost per
 * receiver killed inside weft_pqueue_recv/try_recv). Nothing else is lost
 * or duplicated. */

typedef struct weft_pqueue weft_pqueue;

/* Creates a queue for `capacity` items (rounded up to a power of two, at
 * least 2) of item_size bytes (> 0). Children forked afterwards share it;
 * other processes can attach through weft_pqueue_fd. *out is owned by the
 * caller (each process destroys its own copy). Errors: WEFT_EINVAL, WEFT_ENOMEM,
 * -errno. */
int weft_pqueue_create(weft_pqueue **out, size_t item_size, size_t capacity);

/* Attaches to a queue from its fd (dup'ed; the caller keeps its own).
 * Errors: WEFT_EINVAL (not a weft queue), WEFT_ENOMEM, -errno. */
int weft_pqueue_attach(weft_pqueue **out, int fd);

/* The memfd behind the queue (owned by the handle). */
int weft_pqueue_fd(const weft_pqueue *q);

/* Copies item_size bytes in, waiting for room. 0, WEFT_ECLOSED (closed
 * before the item went in), WEFT_ETIMEDOUT (timed), WEFT_EAGAIN (try:
 * full), WEFT_EINVAL (NULL). */
int weft_pqueue_send(weft_pqueue *q, const void *item);
int weft_pqueue_send_timed(weft_pqueue *q, const void *item, uint64_t timeout_ns);
int weft_pqueue_try_send(weft_pqueue *q, const void *item);

/* Copies the oldest item out, waiting for one. WEFT_ECLOSED once the queue
 * is closed and drained (Go semantics); WEFT_ETIMEDOUT; WEFT_EAGAIN (try:
 * empty for now). */
int weft_pqueue_recv(weft_pqueue *q, void *item);
int weft_pqueue_recv_timed(weft_pqueue *q, void *item, uint64_t timeout_ns);
int weft_pqueue_try_recv(weft_pqueue *q, void *item);

/* Closes the queue for every process: senders get WEFT_ECLOSED, receivers
 * drain what is left. WEFT_EALREADY when already closed. */
int weft_pqueue_close(weft_pqueue *q);

/* Unmaps and frees this process's handle (the queue lives on in the other
 * processes that map it). NULL is ignored. */
void weft_pqueue_destroy(weft_pqueue *q);

/* ---- typed shared arrays and values (multiprocessing.Array / Value) ----
 * n elements of elem_size bytes, zeroed, in an anonymous shared segment,
 * with a weft_plock beside them: Value('i', 0) is
 * weft_shm_array_create(&a, sizeof(int), 1). The elements are plain memory:
 * take weft_shm_array_lock for compound updates, or use atomics. */

typedef struct weft_shm_array weft_shm_array;

/* Errors: WEFT_EINVAL (NULL, 0 sizes, overflow), WEFT_ENOMEM, -errno. */
int weft_shm_array_create(weft_shm_array **out, size_t elem_size, size_t n);
/* The elements (aligned to 64 bytes), their count, and the lock. */
void *weft_shm_array_data(const weft_shm_array *a);
size_t weft_shm_array_len(const weft_shm_array *a);
weft_plock *weft_shm_array_lock(const weft_shm_array *a);
/* Unmaps and frees this process's handle. NULL is ignored. */
void weft_shm_array_destroy(weft_shm_array *a);

/* ======================== running functions in other processes ========================
 *
 * Shared by process objects and the process pool. A function crosses the
 * process boundary by name, not by pointer: weft records which object holds
 * it (the program itself or a shared library, via dladdr) and its offset in
 * that object, and resolves the pair in the child (loading the library there
 * if needed). So the function must live in the program or in a shared
 * library loaded from a file — not in code generated at run time. A
 * function that cannot be resolved in the child makes the start (or the
 * task) fail with WEFT_ENOENT and a message naming the object and offset;
 * it never crashes the child.
 *
 * Arguments and results are bytes: `size` bytes at `arg` are copied to the
 * child (through shared memory), which sees a private copy during the call. */

/* A function run in another process. For weft_process_start its return value
 * is the child's exit code (0..255). For the process pool it is 0 or a
 * negative WEFT_E* code, and weft_task_fail / weft_task_set_result work
 * inside it as in a thread-pool task. weft_task_cancelled() is false there:
 * a task already running in a worker process is stopped only by stopping
 * its worker (a timeout, or shutdown with CANCEL). */
typedef int (*weft_proc_fn)(const void *arg, size_t size);

/* How a child process is started (Python's start methods). */
enum weft_start_method {
  WEFT_START_DEFAULT = 0,    /* SPAWN for weft_process, FORKSERVER for the pool */
  /* A fresh copy of the program: re-executed from /proc/self/exe. Before
   * main runs, a constructor in libweft recognises the child, runs the
   * function and exits, so the child has none of the parent's state and
   * runs none of main. Safe in multithreaded programs. Costs a program
   * start (about a millisecond). */
  WEFT_START_SPAWN = 1,
  /* Forked from a template: one re-executed copy of the program, stopped
   * before main and single-threaded (a fork server, started on first use,
   * one per process). Safe in multithreaded programs, and fast: a fork of a
   * small process, not a program start. */
  WEFT_START_FORKSERVER = 2,
  /* fork() of the caller: the fastest start, and the child sees the
   * parent's memory. UNSAFE once the caller has other threads: only the
   * forking thread exists in the child, so a lock another thread held stays
   * locked forever (malloc's included). Use only in single-threaded
   * programs, as with Python's "fork". */
  WEFT_START_FORK = 3
};

/* ======================== process objects (multiprocessing.Process) ========================
 *
 * A child process that runs one function. Children die with the parent:
 * they get SIGKILL when the process that started them exits (for any
 * reason), so there are no orphans; every child is reaped (no zombies),
 * by the fork server for SPAWN and FORKSERVER children and by
 * weft_process_join / destroy for FORK children. One owner: the functions
 * below must not be called on the same object from two threads at once. */

typedef struct weft_process weft_process;

typedef struct weft_process_opts {
  int start_method;   /* enum weft_start_method; DEFAULT = SPAWN */
  const char *name;   /* the child's name (comm, in ps/top; 15 chars); NULL = the program's */
  size_t memory_limit;/* RLIMIT_AS of the child in bytes; 0 = none */
} weft_process_opts;

/* Starts fn(arg, size) in a new process (opts may be NULL: defaults). The
 * bytes are copied; the caller may free them on return. *out is owned by
 * the caller until weft_process_destroy.
 * Errors: WEFT_EINVAL (NULL out or fn, arg NULL with size > 0, bad start
 * method, fn not inside a loaded object), WEFT_ENOMEM, WEFT_EAGAIN (no
 * process could be created), other -errno. *out is then NULL. */
int weft_process_start(weft_process **out, weft_proc_fn fn, const void *arg, size_t size,
                       const weft_process_opts *opts);

/* Waits for the child to end, at most timeout_ns (WEFT_FOREVER: no limit;
 * 0: just look). Returns 0 when it has ended (see exitcode), WEFT_ETIMEDOUT
 * while it runs, or the start failure the child reported (WEFT_ENOENT: the
 * function could not be resolved in the child — weft_process_message says
 * why). WEFT_EINVAL: NULL p. */
int weft_process_join(weft_process *p, uint64_t timeout_ns);

/* True until the child has ended (does not block). */
bool weft_process_is_alive(weft_process *p);

/* The child's process id. */
pid_t weft_process_pid(const weft_process *p);

/* How the child ended: *code gets its exit status (0..255, or -1 when a
 * signal ended it) and *sig the signal (or 0); either may be NULL.
 * Returns 0, WEFT_EAGAIN while it is still running (call join first), or
 * WEFT_EINVAL. */
int weft_process_exitcode(const weft_process *p, int *code, int *sig);

/* Sends SIGTERM / SIGKILL. WEFT_EALREADY when the child has already ended
 * (nothing is sent: its pid may be someone else's by then). */
int weft_process_terminate(weft_process *p);
int weft_process_kill(weft_process *p);

/* Why the child failed to start or run, "" when nothing went wrong. Valid
 * until destroy. */
const char *weft_process_message(const weft_process *p);

/* Kills the child (SIGKILL) if it still runs, waits until it has been
 * reaped and frees everything. NULL is ignored. */
void weft_process_destroy(weft_process *p);

/* ======================== the process pool (multiprocessing.Pool, ProcessPoolExecutor) ========================
 *
 * N worker processes run tasks: a function (weft_proc_fn, named as above)
 * plus argument bytes; a task's result is bytes (weft_task_set_result in the
 * worker). Arguments and results travel through shared memory; large ones
 * (over a few hundred KB) through a memfd of their own, mapped on the other
 * side. Semantics and figures: docs/process-pool.md.
 *
 * A worker that dies — segfault, abort, _exit, SIGKILL from outside,
 * out of memory — fails only the task it was running, with WEFT_ECRASHED
 * and a message naming the signal or exit status; tasks queued behind it are
 * handed to other workers, and a replacement worker is started. Every
 * submitted task ends exactly once, with a result or an error. */

typedef struct weft_ppool weft_ppool;

typedef struct weft_ppool_options {
  unsigned processes;            /* workers; 0 = weft_cpu_count(); at most 256 */
  int start_method;              /* DEFAULT = FORKSERVER; SPAWN; FORK */
  /* Per-worker initializer (Pool(initializer=, initargs=)): run in each new
   * worker, replacements included, with init_size bytes of init_arg, before
   * it takes a task. A non-zero return fails weft_ppool_create (for the
   * first workers) with that code and message. May be NULL. */
  weft_proc_fn init;
  const void *init_arg;
  size_t init_size;
  /* A worker exits after this many tasks and a fresh one replaces it
   * (Pool(maxtasksperchild=)); 0 = never. */
  unsigned max_tasks_per_child;
  /* Default per-task timeout: the worker running a task for longer is
   * killed and replaced, the task fails with WEFT_ETIMEDOUT. 0 = none. */
  uint64_t timeout_ns;
  /* Default retries for tasks marked idempotent, after a crash or timeout. */
  unsigned retries;
  /* RLIMIT_AS of each worker in bytes; 0 = none. A task that dies at the
   * limit fails with WEFT_ECRASHED and a message saying the limit was hit. */
  size_t memory_limit;
  const char *name;              /* worker process names: "<name>-<i>"; NULL = "weft" */
} weft_ppool_options;

/* Starts the workers (each has run init when this returns). opts may be NULL.
 * *out is owned by the caller until weft_ppool_destroy.
 * Errors: WEFT_EINVAL (absurd counts, bad start method, init not inside a
 * loaded object), WEFT_ENOMEM, WEFT_EAGAIN (no processes), or the code of
 * a failing init. */
int weft_ppool_create(weft_ppool **out, const weft_ppool_options *opts);

/* Stops accepting tasks (later submits: WEFT_ESHUTDOWN). DRAIN runs what is
 * queued and waits; CANCEL is Pool.terminate(): queued tasks fail with
 * WEFT_ECANCELED at once, running workers are killed, and their tasks fail
 * with WEFT_ECANCELED. Idempotent. */
int weft_ppool_shutdown(weft_ppool *p, int mode);

/* Shuts down (DRAIN) if not yet, stops every worker and frees the pool.
 * No process, descriptor or shared memory of the pool is left behind.
 * NULL is ignored. */
void weft_ppool_destroy(weft_ppool *p);

/* The number of worker processes. */
unsigned weft_ppool_size(const weft_ppool *p);

/* Per-task options; NULL = the pool's defaults. */
typedef struct weft_ptask_opts {
  uint64_t timeout_ns;   /* 0 = the pool's timeout */
  bool idempotent;       /* safe to run again: retried after a crash or timeout */
  unsigned retries;      /* for idempotent tasks; 0 = the pool's retries */
} weft_ptask_opts;

/* Queues fn(arg, size) (submit / apply_async); the bytes are copied before
 * the call returns. *out gets a future (the caller's reference): its code is
 * the task's return value, WEFT_ECRASHED, WEFT_ETIMEDOUT or WEFT_ECANCELED,
 * with a message; its value (weft_future_result) is the bytes the task set
 * with weft_task_set_result, owned by the future.
 * Errors: WEFT_EINVAL (NULL p, fn or out; arg NULL with size > 0; fn not
 * inside a loaded object), WEFT_ENOMEM, WEFT_ESHUTDOWN. */
int weft_ppool_submit(weft_ppool *p, weft_proc_fn fn, const void *arg, size_t size,
                      const weft_ptask_opts *opts, weft_future **out);
#define weft_ppool_apply_async(p, fn, arg, size, out) weft_ppool_submit(p, fn, arg, size, NULL, out)

/* Pool.apply: runs fn(arg, size) in a worker and waits. The result bytes are
 * copied to result (capacity result_cap; may be NULL when 0) and their size
 * to *result_size (may be NULL). Returns the task's code, or WEFT_ERANGE
 * when the result does not fit (*result_size says how much it needs),
 * or a submit error. */
int weft_ppool_apply(weft_ppool *p, weft_proc_fn fn, const void *arg, size_t size,
                     void *result, size_t result_cap, size_t *result_size);

/* The map family over processes, with the same weft_map as the thread pool
 * (pool.h). m->fn runs in the workers, named as above; m->ctx_size bytes at
 * m->ctx are copied to each worker once per map and passed as ctx (ctx_size
 * 0: fn gets ctx NULL). Items travel in chunks of m->chunksize (0 =
 * automatic: n / (4 * workers), at least 1). A chunk whose worker dies fails
 * with WEFT_ECRASHED; failed_index and message say which item and why.
 * weft_ppool_map: ordered results, returns 0 or the first failure (the rest
 * are cancelled). map_async: as weft_map_async. map_stream: on_chunk runs in
 * the calling thread per finished chunk, in completion order
 * (imap_unordered). map_all: every item runs whatever happens to the others,
 * codes[i] gets item i's code (0, its error, WEFT_ECRASHED, WEFT_ETIMEDOUT);
 * returns 0 or the first error in index order.
 * Errors also: WEFT_EINVAL (NULL fn, in_size 0, out_size 0 with out, ctx
 * NULL with ctx_size > 0). */
int weft_ppool_map(weft_ppool *p, weft_map *m);
int weft_ppool_map_async(weft_ppool *p, weft_map *m, weft_future **out);
int weft_ppool_map_stream(weft_ppool *p, weft_map *m, weft_chunk_fn on_chunk, void *arg);
int weft_ppool_map_all(weft_ppool *p, weft_map *m, int *codes);

/* What the pool has lived through. */
typedef struct weft_ppool_stats {
  uint64_t tasks_done;      /* tasks (or map chunks) that ended, any outcome */
  uint64_t crashes;         /* workers that died while running a task */
  uint64_t timeouts;        /* workers killed for a task's timeout */
  uint64_t retries;         /* task re-runs after a crash or timeout */
  uint64_t workers_started; /* every worker ever started, replacements included */
} weft_ppool_stats;
/* Copies the counters. Errors: WEFT_EINVAL. */
int weft_ppool_stats_get(const weft_ppool *p, weft_ppool_stats *out);

/* The process ids of the live workers: up to n into pids, the count to
 * *written. For tests and monitoring (and for killing one from outside).
 * Errors: WEFT_EINVAL. */
int weft_ppool_pids(const weft_ppool *p, pid_t *pids, size_t n, size_t *written);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_PROC_H */
