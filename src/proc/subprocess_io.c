/* src/proc/subprocess_io.c — the poll loop's work on one child: writing its
 * stdin, reading its stdout and stderr, reaping it, and the TERM-then-KILL
 * timeout.
 *
 * Why one poll() over every pipe: a child that fills its stderr pipe while
 * the parent blocks reading stdout (or writing stdin) waits forever, and so
 * does the parent. Serving whichever fd is ready, all non-blocking, cannot
 * deadlock, and needs no helper thread per stream or per child. */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "proc/subprocess_internal.h"

/* Free room kept before each read: one default pipe's worth, so a read
 * usually empties the pipe. */
#define SP_READ_ROOM ((size_t)64 * 1024)
/* Reads per stream per pass: a fast writer cannot starve the other fds. */
#define SP_READS_PER_PASS 8
/* Without a pidfd, the loop checks waitpid this often (ns). */
#define SP_TICK_NS 2000000ull

void weft__sp_close_fd(weft__sp_child *c, int which) {
  if (c->fd[which] >= 0) close(c->fd[which]);
  c->fd[which] = -1;
}

static void note_error(weft__sp_child *c, int err) {
  if (!c->error) c->error = err;
}

/* Makes room for SP_READ_ROOM more bytes plus the terminating NUL. */
static int buf_reserve(sp_buf *b) {
  if (b->cap - b->len > SP_READ_ROOM) return 0;
  size_t cap = b->cap ? b->cap : SP_READ_ROOM * 2;
  while (cap - b->len <= SP_READ_ROOM) {
    if (cap > SIZE_MAX / 2) return WEFT_ENOMEM;
    cap *= 2;
  }
  char *data = realloc(b->data, cap);
  if (!data) return WEFT_ENOMEM;
  b->data = data;
  b->cap = cap;
  return 0;
}

static void write_stdin(weft__sp_child *c) {
  while (c->in_off < c->in_size) {
    ssize_t n = write(c->fd[SP_IN], c->in_data + c->in_off, c->in_size - c->in_off);
    if (n > 0) {
      c->in_off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      break; /* EPIPE: the child stopped reading, as Python ignores it */
    }
  }
  weft__sp_close_fd(c, SP_IN); /* all written (or no reader): end-of-file */
}

/* Reads what `which` has, at most `passes` reads (SIZE_MAX = until the
 * pipe is empty). The fd stays open while the pipe is merely empty (or the
 * pass limit hit: poll reports it again); end-of-file or an error closes it. */
static void read_output(weft__sp_child *c, int which, size_t passes) {
  sp_buf *b = which == SP_OUT ? &c->out : &c->err;
  for (size_t i = 0; i < passes; i++) {
    int rc = buf_reserve(b);
    if (rc) {
      note_error(c, rc); /* stop capturing; the child may then get SIGPIPE */
      weft__sp_close_fd(c, which);
      return;
    }
    ssize_t n = read(c->fd[which], b->data + b->len, b->cap - b->len - 1);
    if (n > 0) {
      b->len += (size_t)n;
      b->data[b->len] = '\0';
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      weft__sp_close_fd(c, which); /* end-of-file, or an error ending the stream */
      return;
    }
  }
}

/* Reaps c if it has exited; never blocks, never touches other children. */
static void try_reap(weft__sp_child *c) {
  int status;
  pid_t r;
  do r = waitpid(c->pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) return;
  c->exited = true;
  /* ECHILD: someone reaped it behind our back (SIGCHLD set to SIG_IGN, or a
   * waitpid(-1) elsewhere); its status is lost. */
  c->status = r == c->pid ? status : -1;
  weft__sp_close_fd(c, SP_PIDFD);
}

/* After a timeout kill, output still in the pipes is kept but end-of-file
 * is not awaited: a grandchild may hold the pipe open for a long time. */
static void drain_and_close(weft__sp_child *c) {
  for (int w = SP_OUT; w <= SP_ERR; w++)
    if (c->fd[w] >= 0) {
      read_output(c, w, SIZE_MAX);
      weft__sp_close_fd(c, w);
    }
}

static void after_exit(weft__sp_child *c) {
  weft__sp_close_fd(c, SP_IN); /* nobody left to read it */
  if (c->kill_stage > 0) drain_and_close(c);
}

size_t weft__sp_poll_fds(const weft__sp_child *c, struct pollfd *pfd) {
  size_t n = 0;
  for (int w = 0; w < SP_NFDS; w++) {
    if (c->fd[w] < 0) continue;
    pfd[n].fd = c->fd[w];
    pfd[n].events = w == SP_IN ? POLLOUT : POLLIN;
    pfd[n].revents = 0;
    n++;
  }
  return n;
}

static int which_fd(const weft__sp_child *c, int fd) {
  for (int w = 0; w < SP_NFDS; w++)
    if (c->fd[w] == fd) return w;
  return -1;
}

void weft__sp_serve(weft__sp_child *c, const struct pollfd *pfd, size_t n) {
  for (size_t k = 0; k < n; k++) {
    if (!pfd[k].revents) continue;
    int w = which_fd(c, pfd[k].fd);
    if (w == SP_IN) write_stdin(c);
    else if (w == SP_OUT || w == SP_ERR) read_output(c, w, SP_READS_PER_PASS);
    else if (w == SP_PIDFD) try_reap(c);
  }
  if (!c->exited && c->fd[SP_PIDFD] < 0) try_reap(c);
  if (c->exited) after_exit(c);
}

static void send_signal(weft__sp_child *c, int sig, int stage) {
  if (!c->exited) kill(c->pid, sig); /* not reaped: the pid is still ours */
  c->kill_stage = stage;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t weft__sp_check_deadline(weft__sp_child *c, uint64_t now) {
  if (c->deadline == WEFT_FOREVER || now < c->deadline) return c->deadline;
  if (c->kill_stage == 0) {
    note_error(c, WEFT_ETIMEDOUT);
    send_signal(c, SIGTERM, 1);
    c->kill_at = add_sat(now, c->grace_ns);
    if (c->exited) drain_and_close(c); /* exited, but a grandchild holds a pipe */
  }
  if (c->kill_stage == 1 && now >= c->kill_at) send_signal(c, SIGKILL, 2);
  return c->kill_stage == 1 ? c->kill_at : WEFT_FOREVER;
}

bool weft__sp_finished(const weft__sp_child *c) {
  return c->exited && c->fd[SP_IN] < 0 && c->fd[SP_OUT] < 0 && c->fd[SP_ERR] < 0;
}

bool weft__sp_needs_tick(const weft__sp_child *c) {
  return !c->exited && c->fd[SP_PIDFD] < 0;
}

int weft__sp_poll(struct pollfd *pfd, size_t n, uint64_t wake_at, bool need_tick) {
  uint64_t now = weft_now_ns();
  if (need_tick) wake_at = wake_at < add_sat(now, SP_TICK_NS) ? wake_at : add_sat(now, SP_TICK_NS);
  int ms = -1;
  if (wake_at != WEFT_FOREVER) {
    uint64_t left = wake_at > now ? wake_at - now : 0;
    uint64_t rounded = (left + 999999) / 1000000; /* round up: never wake early */
    ms = rounded > INT32_MAX ? INT32_MAX : (int)rounded;
  }
  if (poll(pfd, n, ms) < 0 && errno != EINTR) return -errno;
  return 0;
}

static char *take_buf(sp_buf *b, bool captured, size_t *size) {
  char *data = b->data;
  *size = b->len;
  if (!data && captured) data = calloc(1, 1); /* captured nothing: "" */
  *b = (sp_buf){0};
  return data;
}

void weft__sp_take_result(weft__sp_child *c, weft_subprocess_result *r) {
  *r = (weft_subprocess_result){.error = c->error, .pid = c->pid, .exit_code = -1};
  if (c->status >= 0 && WIFEXITED(c->status)) r->exit_code = WEXITSTATUS(c->status);
  if (c->status >= 0 && WIFSIGNALED(c->status)) r->term_signal = WTERMSIG(c->status);
  r->out = take_buf(&c->out, c->capture_out, &r->out_size);
  r->err = take_buf(&c->err, c->capture_err, &r->err_size);
  c->capture_out = c->capture_err = false; /* buffers moved: later takes get none */
}

void weft__sp_stop(weft__sp_child *c) {
  if (c->pid > 0 && !c->exited) {
    kill(c->pid, SIGKILL);
    int status;
    pid_t r;
    do r = waitpid(c->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    c->exited = true;
    c->status = r == c->pid ? status : -1;
  }
  for (int w = 0; w < SP_NFDS; w++) weft__sp_close_fd(c, w);
}

void weft__sp_free_bufs(weft__sp_child *c) {
  free(c->out.data);
  free(c->err.data);
  c->out = c->err = (sp_buf){0};
}

void weft__sp_sigpipe_block(weft__sp_sigpipe *s) {
  sigset_t pipe_only, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &s->old);
  sigpending(&pending);
  s->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

void weft__sp_sigpipe_restore(const weft__sp_sigpipe *s) {
  sigset_t pipe_only, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigpending(&pending);
  if (!s->was_pending && sigismember(&pending, SIGPIPE) == 1) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_only, NULL, &zero); /* ours: raised by a write above */
  }
  pthread_sigmask(SIG_SETMASK, &s->old, NULL);
}
