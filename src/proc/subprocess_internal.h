/* src/proc/subprocess_internal.h — one child as the poll loop sees it, and
 * the pieces shared by run, run_many and the Popen-like object:
 *   subprocess_spawn.c  argument checks, pipes, posix_spawn, pidfd
 *   subprocess_io.c     the poll loop: stdin writes, output reads, reaping,
 *                       the TERM-then-KILL timeout
 *   subprocess_run.c    weft_subprocess_run, results
 *   subprocess_many.c   weft_subprocess_run_many
 *   subprocess_popen.c  weft_subprocess (start/wait/poll/signal/destroy) */
#ifndef WEFT_PROC_SUBPROCESS_INTERNAL_H
#define WEFT_PROC_SUBPROCESS_INTERNAL_H

#include <poll.h>
#include <signal.h>
#include "core/internal.h"
#include "weft/proc.h"

/* A growing capture buffer; data is NUL-terminated once it exists. */
typedef struct sp_buf {
  char *data;
  size_t len, cap;
} sp_buf;

enum { SP_IN = 0, SP_OUT = 1, SP_ERR = 2, SP_PIDFD = 3, SP_NFDS = 4 };

typedef struct weft__sp_child {
  pid_t pid;
  int fd[SP_NFDS];          /* parent ends (non-blocking) and pidfd; -1 = none */
  const unsigned char *in_data;
  size_t in_size, in_off;
  sp_buf out, err;
  bool capture_out, capture_err;
  bool exited;              /* reaped: status holds the wait status */
  int status;
  int error;                /* 0, WEFT_ETIMEDOUT, or a capture failure */
  /* Timeout: deadline (WEFT_FOREVER = none), then kill_at after SIGTERM. */
  uint64_t deadline, kill_at, grace_ns;
  int kill_stage;           /* 0 none, 1 SIGTERM sent, 2 SIGKILL sent */
} weft__sp_child;

/* ---- subprocess_spawn.c ---- */
/* WEFT_EINVAL unless opts describe a runnable command. */
int weft__sp_check_opts(const weft_subprocess_opts *opts);
/* Starts the child described by opts into *c (which it initialises). stdin
 * data is borrowed from opts. Returns 0 or a start error; on error c holds
 * no fds and no process. */
int weft__sp_spawn(weft__sp_child *c, const weft_subprocess_opts *opts);

/* ---- subprocess_io.c ---- */
/* Fills up to SP_NFDS pollfds for c at pfd; returns how many. */
size_t weft__sp_poll_fds(const weft__sp_child *c, struct pollfd *pfd);
/* Serves c after poll: writes, reads, reaps. pfd/n as filled above. */
void weft__sp_serve(weft__sp_child *c, const struct pollfd *pfd, size_t n);
/* Applies the timeout at `now`: sends TERM / KILL when due. Returns the
 * next instant c needs attention (WEFT_FOREVER = none). */
uint64_t weft__sp_check_deadline(weft__sp_child *c, uint64_t now);
/* True once c is reaped and all its pipes are closed. */
bool weft__sp_finished(const weft__sp_child *c);
/* poll() until `wake_at` (absolute, WEFT_FOREVER = none) at most; EINTR is
 * not an error. Returns 0 or -errno. */
int weft__sp_poll(struct pollfd *pfd, size_t n, uint64_t wake_at, bool need_tick);
/* True when some child has no pidfd and must be checked by polling waitpid. */
bool weft__sp_needs_tick(const weft__sp_child *c);
/* Moves status and buffers of a finished c into *r (zeroing c's buffers). */
void weft__sp_take_result(weft__sp_child *c, weft_subprocess_result *r);
/* Kills (SIGKILL) c if still running, reaps it and closes every fd; the
 * buffers stay (weft__sp_free_bufs). */
void weft__sp_stop(weft__sp_child *c);
void weft__sp_free_bufs(weft__sp_child *c);

/* ---- subprocess_run.c ---- */
/* Runs the loop for c alone until it is finished (0), the absolute instant
 * `until` passes (WEFT_ETIMEDOUT; WEFT_FOREVER = no limit; at least one pass
 * is made, so until = now polls), or poll fails (-errno). Applies c's own
 * timeout. The caller blocks SIGPIPE around it. */
int weft__sp_drive(weft__sp_child *c, uint64_t until);
void weft__sp_close_fd(weft__sp_child *c, int which);

/* Writing to a pipe whose reader has gone raises SIGPIPE, which would kill
 * the whole program. The loop blocks it in the calling thread and swallows
 * the one its own writes raised; the write then fails with EPIPE. */
typedef struct weft__sp_sigpipe {
  sigset_t old;
  bool was_pending;
} weft__sp_sigpipe;
void weft__sp_sigpipe_block(weft__sp_sigpipe *s);
void weft__sp_sigpipe_restore(const weft__sp_sigpipe *s);

#endif /* WEFT_PROC_SUBPROCESS_INTERNAL_H */
