/* src/aio/aio_process.c — subprocesses for weft tasks (asyncio's
 * create_subprocess_exec) on uv_spawn.
 *
 * spawn: argv[0] is searched in PATH by libuv (execvp), cwd and env are
 * passed through, each end named in opt->pipes gets a pipe stream made by
 * weft__aio_stream_new_pipe (stream.c), the other ends inherit ours. When
 * the program cannot be run (not found, not executable, bad cwd) spawn
 * returns WEFT_ENOENT and weft_aio_last_error() has libuv's message.
 *
 * The streams belong to the process object: send EOF to the child's stdin
 * with weft_aio_shutdown, never weft_aio_close (destroy closes them).
 *
 * wait: any number of tasks may wait at once; the exit callback copies the
 * status into each waiter's own stack record before waking it, so a waiter
 * that resumes after another task destroyed the object reads nothing freed.
 * Waiting after the exit returns the status at once.
 *
 * kill: uv_process_kill; WEFT_EALREADY once the child has exited (its pid
 * may already belong to another process).
 *
 * The process handle is uv_unref'd while no task waits for it, so a child
 * that nobody awaits does not hide a deadlock of the tasks from the loop.
 *
 * destroy never suspends: it closes the streams, wakes remaining waiters
 * with WEFT_ECLOSED, and if the child still runs sends it SIGKILL and leaves
 * the reaping to the exit callback, which closes the handle; the memory is
 * freed in the close callback. Should the loop end first, a loop-end hook
 * runs libuv until every such child has been reaped, so nothing leaks and
 * no zombie stays behind.
 *
 * Loop thread only.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "aio/aio_wlist.h"

struct weft_aio_process {
  uv_process_t h;
  weft_loop *loop;
  unsigned nwait;
  weft_aio_stream *io[3];
  weft__wlist waiters; /* of pwait */
  int64_t exit_status;
  int term_signal;
  int pid;
  bool exited, destroyed;
};

/* A waiter with room for the result (filled before the wake). */
typedef struct pwait {
  weft__aio_wait w;
  int64_t exit_status;
  int term_signal;
} pwait;

/* Destroyed children not yet reaped, of the loop running in this thread. */
static _Thread_local struct {
  weft_loop *loop; /* whose end hook is registered (NULL: none) */
  unsigned count;
} reaping;

static void closed_cb(uv_handle_t *h) { free(h->data); }

/* Loop end: tasks are gone, but destroyed children must still be reaped
 * (their SIGKILL is on its way) before the loop closes their handles. */
static void reap_at_end(void *arg) {
  weft_loop *loop = arg;
  while (reaping.count > 0 && uv_run(weft__aio_uv(loop), UV_RUN_ONCE)) {
  }
  reaping.loop = NULL;
}

static void reap_later(weft_aio_process *p) {
  p->destroyed = true; /* exit_cb closes the handle */
  uv_ref((uv_handle_t *)&p->h);
  if (reaping.loop != p->loop && weft__aio_on_loop_end(p->loop, reap_at_end, p->loop) == 0) {
    reaping.loop = p->loop;
    reaping.count = 0;
  }
  reaping.count++;
}

static void exit_cb(uv_process_t *h, int64_t exit_status, int term_signal) {
  weft_aio_process *p = h->data;
  p->exited = true;
  p->exit_status = exit_status;
  p->term_signal = term_signal;
  for (weft__aio_wait *w; (w = weft__wl_pop(&p->waiters));) {
    ((pwait *)w)->exit_status = exit_status;
    ((pwait *)w)->term_signal = term_signal;
    weft__aio_wake(w, 0);
  }
  p->nwait = 0;
  if (p->destroyed) {
    reaping.count--;
    uv_close((uv_handle_t *)h, closed_cb);
  }
}

static void close_streams(weft_aio_process *p) {
  for (int i = 0; i < 3; i++) {
    weft_aio_close(p->io[i]);
    p->io[i] = NULL;
  }
}

/* Whatever made exec impossible is "cannot be run" for the caller. */
static int spawn_error(int err, const char *file) {
  char what[256];
  snprintf(what, sizeof what, "spawn %.200s", file);
  int rc = weft__aio_uv_error(err, what);
  switch (err) {
  case UV_ENOENT:
  case UV_EACCES:
  case UV_ENOTDIR:
  case UV_ELOOP:
  case UV_ENAMETOOLONG:
  case UV_EPERM:
#ifdef UV_ENOEXEC
  case UV_ENOEXEC:
#endif
    return WEFT_ENOENT;
  default:
    return rc;
  }
}

/* Fills stdio[] and creates the pipe streams asked for. */
static int make_stdio(weft_loop *loop, weft_aio_process *p, int pipes,
                      uv_stdio_container_t stdio[3]) {
  for (int i = 0; i < 3; i++) {
    if (!(pipes & (1 << i))) {
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = i;
      continue;
    }
    uv_pipe_t *ph = NULL;
    int rc = weft__aio_stream_new_pipe(loop, &p->io[i], &ph);
    if (rc) return rc;
    /* Readable/writable are seen from the child: it reads its stdin. */
    stdio[i].flags = UV_CREATE_PIPE | (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE);
    stdio[i].data.stream = (uv_stream_t *)ph;
  }
  return 0;
}

int weft_aio_process_spawn(const char *const *argv, const weft_aio_process_options *opt,
                           weft_aio_process **out) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  if (!argv || !argv[0]) return WEFT_EINVAL;
  weft_loop *loop = weft__aio_loop();
  if (!loop) return WEFT_EPERM;
  weft_aio_process *p = calloc(1, sizeof *p);
  if (!p) return WEFT_ENOMEM;
  p->h.data = p;
  p->loop = loop;
  uv_stdio_container_t stdio[3];
  int rc = make_stdio(loop, p, opt ? opt->pipes : 0, stdio);
  if (rc) {
    close_streams(p);
    free(p);
    return rc;
  }
  uv_process_options_t o = {
      .exit_cb = exit_cb,
      .file = argv[0],
      .args = (char **)argv,
      .env = opt ? (char **)opt->env : NULL,
      .cwd = opt ? opt->cwd : NULL,
      .stdio_count = 3,
      .stdio = stdio,
  };
  int err = uv_spawn(weft__aio_uv(loop), &p->h, &o);
  if (err) {
    /* uv_spawn initialised the handle whatever happened: close it. */
    rc = spawn_error(err, argv[0]);
    close_streams(p);
    uv_close((uv_handle_t *)&p->h, closed_cb);
    return rc;
  }
  p->pid = p->h.pid;
  uv_unref((uv_handle_t *)&p->h);
  *out = p;
  return 0;
}

weft_aio_stream *weft_aio_process_stdin(weft_aio_process *p) { return p ? p->io[0] : NULL; }
weft_aio_stream *weft_aio_process_stdout(weft_aio_process *p) { return p ? p->io[1] : NULL; }
weft_aio_stream *weft_aio_process_stderr(weft_aio_process *p) { return p ? p->io[2] : NULL; }
int weft_aio_process_pid(const weft_aio_process *p) { return p ? p->pid : 0; }

int weft_aio_process_kill(weft_aio_process *p, int signum) {
  if (!p || signum < 0) return WEFT_EINVAL;
  if (p->exited) return WEFT_EALREADY;
  int err = uv_process_kill(&p->h, signum);
  return err ? weft__aio_uv_error(err, "kill") : 0;
}

static weft_aio_process *process_of(weft__aio_wait *w) {
  return (weft_aio_process *)((char *)w->data - offsetof(weft_aio_process, waiters));
}

static void wait_abort(weft__aio_wait *w, int why) {
  weft_aio_process *p = process_of(w);
  weft__wl_unlink(&p->waiters, w);
  if (--p->nwait == 0) uv_unref((uv_handle_t *)&p->h);
  weft__aio_wake(w, why);
}

int weft_aio_process_wait(weft_aio_process *p, int *exit_status, int *term_signal) {
  if (!p) return WEFT_EINVAL;
  int rc = weft__aio_check();
  if (rc) return rc;
  pwait pw = {.exit_status = p->exit_status, .term_signal = p->term_signal};
  if (!p->exited) {
    weft__aio_wait_init(&pw.w, wait_abort);
    weft__wl_push(&p->waiters, &pw.w);
    if (p->nwait++ == 0) uv_ref((uv_handle_t *)&p->h);
    rc = weft__aio_suspend(&pw.w); /* p may be gone after this */
    if (rc) return rc;
  }
  if (exit_status) *exit_status = (int)pw.exit_status;
  if (term_signal) *term_signal = pw.term_signal;
  return 0;
}

void weft_aio_process_destroy(weft_aio_process *p) {
  if (!p) return;
  close_streams(p);
  weft__wl_wake_all(&p->waiters, WEFT_ECLOSED);
  p->nwait = 0;
  if (p->exited) {
    uv_close((uv_handle_t *)&p->h, closed_cb);
    return;
  }
  reap_later(p);
  uv_process_kill(&p->h, SIGKILL);
}
