/* weft/proc.h — processes: running external programs (Python's os.system,
 * subprocess.run and subprocess.Popen), and running many of them at once
 * with a bound on parallelism (GNU parallel, xargs -P).
 *
 * This file is the home of everything about processes in weft. Its
 * subprocess section below is what the module offers today; process
 * objects, the process pool and IPC join it in their own sections.
 *
 * Children are started with posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK)
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

#ifdef __cplusplus
}
#endif
#endif /* WEFT_PROC_H */
