/* src/aio/stream.c — stream objects: creation around an fd or a pipe for a
 * subprocess, the waiting-task count behind uv_ref, and close.
 *
 * Close is safe while libuv requests are in flight: libuv calls every
 * write, shutdown and connect callback of the handle (with UV_ECANCELED)
 * before the close callback, and the stream is freed only in the close
 * callback, so each request can still reach its stream. Tasks waiting on
 * the stream are woken with WEFT_ECLOSED at once and do not touch it again.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aio/stream_internal.h"

/* Writing to a socket or pipe whose peer has gone raises SIGPIPE, whose
 * default action kills the process; libuv's writes do not suppress it
 * (libuv leaves that to the program, as Node does). An async program wants
 * WEFT_EPIPE instead, so the first stream switches the default action to
 * "ignore" — a handler the program installed itself is left alone. */
static void ignore_sigpipe_once(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
      !(sa.sa_flags & SA_SIGINFO)) {
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
  }
}

void weft__stream_ignore_sigpipe(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, ignore_sigpipe_once);
}

int weft__stream_alloc(weft_loop *loop, weft_aio_stream **out) {
  if (!loop) return WEFT_EPERM;
  weft_aio_stream *s = calloc(1, sizeof *s);
  if (!s) return WEFT_ENOMEM;
  s->loop = loop;
  weft__stream_ignore_sigpipe();
  *out = s;
  return 0;
}

void weft__stream_free_unopened(weft_aio_stream *s) { free(s); }

/* The handle keeps the loop alive only while a task waits on it. */
void weft__stream_hold(weft_aio_stream *s) {
  if (s->nwait++ == 0) uv_ref(&s->u.h);
}

void weft__stream_unhold(weft_aio_stream *s) {
  if (--s->nwait == 0) uv_unref(&s->u.h);
}

size_t weft__aio_stream_queued(const weft_aio_stream *s) { return s ? s->queued : 0; }

static void stream_free(weft_aio_stream *s) {
  weft__stream_write_free(s);
  free(s->rbuf);
  free(s);
}

static void close_cb(uv_handle_t *h) {
  weft_aio_stream *s = h->data;
  s->closed = true;
  if (s->users == 0) stream_free(s);
}

bool weft__stream_leave(weft_aio_stream *s) {
  if (--s->users || !s->closed) return false;
  stream_free(s);
  return true;
}

void weft_aio_close(weft_aio_stream *s) {
  if (!s || s->closing) return;
  s->closing = true;
  weft__stream_read_close(s);
  weft__stream_write_close(s);
  if (s->conn_wait) { /* a connect in progress (tcp.c, on abort) */
    weft__aio_wait *w = s->conn_wait;
    s->conn_wait = NULL;
    weft__aio_wake(w, WEFT_ECLOSED);
  }
  uv_close(&s->u.h, close_cb);
}

/* Initialises the handle for an fd of the kind libuv detects; *inited
 * tells whether a handle exists that must be uv_close'd on failure. */
static int open_handle(weft_aio_stream *s, uv_loop_t *uv, int fd, bool *inited) {
  int rc;
  switch (uv_guess_handle(fd)) {
  case UV_TCP:
    s->kind = WEFT__S_TCP;
    if ((rc = uv_tcp_init(uv, &s->u.tcp))) return rc;
    *inited = true;
    return uv_tcp_open(&s->u.tcp, fd);
  case UV_NAMED_PIPE: /* pipes, FIFOs and Unix sockets */
    s->kind = WEFT__S_PIPE;
    if ((rc = uv_pipe_init(uv, &s->u.pipe, 0))) return rc;
    *inited = true;
    return uv_pipe_open(&s->u.pipe, fd);
  case UV_TTY: /* uv_tty_init leaves no handle behind when it fails */
    s->kind = WEFT__S_TTY;
    return uv_tty_init(uv, &s->u.tty, fd, 0);
  default: /* regular files, UDP sockets, unknown: not streams */
    return UV_EINVAL;
  }
}

int weft_aio_stream_open_fd(int fd, weft_aio_stream **out) {
  if (!out || fd < 0) return WEFT_EINVAL;
  *out = NULL;
  weft_aio_stream *s;
  int rc = weft__stream_alloc(weft__aio_loop(), &s);
  if (rc) return rc;
  bool inited = false;
  rc = open_handle(s, weft__aio_uv(s->loop), fd, &inited);
  s->u.h.data = s;
  if (rc) {
    int err = weft__aio_uv_error(rc, "stream_open_fd");
    if (inited) uv_close(&s->u.h, close_cb);
    else free(s);
    return err;
  }
  uv_unref(&s->u.h);
  *out = s;
  return 0;
}

int weft__aio_stream_new_pipe(weft_loop *loop, weft_aio_stream **out, uv_pipe_t **handle) {
  if (!out || !handle) return WEFT_EINVAL;
  weft_aio_stream *s;
  int rc = weft__stream_alloc(loop, &s);
  if (rc) return rc;
  s->kind = WEFT__S_PIPE;
  rc = uv_pipe_init(weft__aio_uv(loop), &s->u.pipe, 0);
  if (rc) {
    free(s);
    return weft__aio_uv_error(rc, "pipe");
  }
  s->u.h.data = s;
  uv_unref(&s->u.h);
  *out = s;
  *handle = &s->u.pipe;
  return 0;
}
