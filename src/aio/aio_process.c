/* src/aio/aio_process.c — subprocesses for weft tasks (asyncio's
 * create_subprocess_exec).
 *
 * spawn: posix_spawn with our own pipes and a pidfd watched by a uv_poll
 * for the exit (aio_spawn.c says why: a fork per job is what made spawning
 * slow from a large process); where pidfds are missing, uv_spawn and its
 * SIGCHLD handling. Either way argv[0] is searched in PATH, cwd and env
 * are passed through, each end named in opt->pipes gets a pipe stream, the
 * other ends inherit ours, and the child starts with every signal at its
 * default action and none blocked. When the program cannot be run (not
 * found, not executable, bad cwd) spawn returns WEFT_ENOENT and
 * weft_aio_last_error() names it.
 *
 * new_group: the child calls setsid, leading a new session and process
 * group whose id is its pid; kill_group signals that whole group.
 *
 * The streams belong to the process object: send EOF to the child's stdin
 * with weft_aio_shutdown, never weft_aio_close (destroy closes them).
 *
 * wait: any number of tasks may wait at once; the exit callback copies the
 * status into each waiter's own stack record before waking it, so a waiter
 * that resumes after another task destroyed the object reads nothing freed.
 * Waiting after the exit returns the status at once.
 *
 * kill: kill(2) on the pid, which is safe because the child stays
 * unreaped (its pid reserved) until the exit callback; WEFT_EALREADY once
 * it has exited (its pid may already belong to another process).
 *
 * The exit watcher (poll or process handle) is uv_unref'd while no task
 * waits for it, so a child that nobody awaits does not hide a deadlock of
 * the tasks from the loop.
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
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "aio/aio_spawn.h"
#include "aio/aio_wlist.h"

struct weft_aio_process {
  union {
    uv_handle_t h;
    uv_process_t proc; /* uv_spawn fallback */
    uv_poll_t poll;    /* on the pidfd */
  } u;
  weft_loop *loop;
  unsigned nwait;
  weft_aio_stream *io[3];
  weft__wlist waiters; /* of pwait */
  int64_t exit_status;
  int term_signal;
  int pid;
  int pidfd;           /* -1 on the uv_spawn path */
  bool exited, destroyed, group;
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

static void closed_cb(uv_handle_t *h) {
  weft_aio_process *p = h->data;
  if (p->pidfd >= 0) close(p->pidfd);
  free(p);
}

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
  uv_ref(&p->u.h);
  if (reaping.loop != p->loop && weft__aio_on_loop_end(p->loop, reap_at_end, p->loop) == 0) {
    reaping.loop = p->loop;
    reaping.count = 0;
  }
  reaping.count++;
}

static void child_exited(weft_aio_process *p, int64_t exit_status, int term_signal) {
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
    uv_close(&p->u.h, closed_cb);
  }
}

static void exit_cb(uv_process_t *h, int64_t exit_status, int term_signal) {
  child_exited(h->data, exit_status, term_signal);
}

/* The pidfd polls readable once the child has ended: reap it. */
static void pidfd_cb(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  weft_aio_process *p = h->data;
  int ws = 0;
  pid_t r = waitpid(p->pid, &ws, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR)) return; /* not yet */
  uv_poll_stop(h);
  if (r < 0) child_exited(p, -1, 0); /* reaped elsewhere (SIGCHLD ignored?): unknown */
  else if (WIFSIGNALED(ws)) child_exited(p, 0, WTERMSIG(ws));
  else child_exited(p, WEXITSTATUS(ws), 0);
}

static void close_streams(weft_aio_process *p) {
  for (int i = 0; i < 3; i++) {
    weft_aio_close(p->io[i]);
    p->io[i] = NULL;
  }
}

/* Whatever made exec impossible is "cannot be run" for the caller. err is
 * a libuv code (a negative errno). */
static int spawn_error(int err, const char *file) {
  char what[256];
  snprintf(what, sizeof what, "spawn %.200s", file);
  int rc = weft__aio_uv_error(err, what);
  if (err == -ENOEXEC) return WEFT_ENOENT; /* libuv 1.44 has no UV_ENOEXEC */
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

/* ---- the uv_spawn path (no pidfds) ---- */

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

static int spawn_uv(weft_aio_process *p, const char *const *argv,
                    const weft_aio_process_options *opt) {
  uv_stdio_container_t stdio[3];
  int rc = make_stdio(p->loop, p, opt ? opt->pipes : 0, stdio);
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
      .flags = p->group ? UV_PROCESS_DETACHED : 0, /* setsid */
      .stdio_count = 3,
      .stdio = stdio,
  };
  int err = uv_spawn(weft__aio_uv(p->loop), &p->u.proc, &o);
  if (err) {
    /* uv_spawn initialised the handle whatever happened: close it. */
    rc = spawn_error(err, argv[0]);
    close_streams(p);
    uv_close(&p->u.h, closed_cb);
    return rc;
  }
  p->pid = p->u.proc.pid;
  return 0;
}

/* ---- the posix_spawn path ---- */

/* Our end of pipe i as a stream (it owns the fd from then on). */
static int open_stream(weft_aio_process *p, int i, int fd) {
  uv_pipe_t *ph = NULL;
  int rc = weft__aio_stream_new_pipe(p->loop, &p->io[i], &ph);
  if (rc) {
    close(fd);
    return rc;
  }
  int err = uv_pipe_open(ph, fd);
  if (err) {
    close(fd);
    return weft__aio_uv_error(err, "pipe");
  }
  return 0;
}

static void close_fds(int *fd, int n) {
  for (int i = 0; i < n; i++)
    if (fd[i] >= 0) close(fd[i]), fd[i] = -1;
}

static int watch_exit(weft_aio_process *p) {
  int err = uv_poll_init(weft__aio_uv(p->loop), &p->u.poll, p->pidfd);
  if (!err) err = uv_poll_start(&p->u.poll, UV_READABLE, pidfd_cb);
  return err ? weft__aio_uv_error(err, "poll") : 0;
}

static int spawn_fast(weft_aio_process *p, const char *const *argv,
                      const weft_aio_process_options *opt) {
  int pipes = opt ? opt->pipes : 0;
  weft__spawn_req r = {argv, opt ? opt->env : NULL, opt ? opt->cwd : NULL, {-1, -1, -1},
                       p->group};
  int mine[3] = {-1, -1, -1}, err = 0;
  for (int i = 0; i < 3 && !err; i++)
    if (pipes & (1 << i)) err = weft__spawn_pipe(i, &mine[i], &r.child_fd[i]);
  if (!err) err = weft__spawn(&r, &p->pid, &p->pidfd);
  close_fds(r.child_fd, 3);
  int rc = err ? (err == -EMFILE || err == -ENFILE || err == -ENOMEM
                      ? weft__aio_uv_error(err, "spawn")
                      : spawn_error(err, argv[0]))
               : 0;
  for (int i = 0; i < 3 && !rc; i++)
    if (mine[i] >= 0) {
      rc = open_stream(p, i, mine[i]);
      mine[i] = -1;
    }
  if (!rc) rc = watch_exit(p);
  if (!rc) return 0;
  /* Undo: nothing may stay running or open. */
  close_fds(mine, 3);
  close_streams(p);
  if (p->pid > 0) {
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  if (uv_is_active(&p->u.h) || p->u.h.type == UV_POLL) uv_close(&p->u.h, closed_cb);
  else closed_cb(&p->u.h);
  return rc;
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
  p->u.h.data = p;
  p->loop = loop;
  p->pidfd = -1;
  p->group = opt && opt->new_group;
  int rc = weft__spawn_has_pidfd() ? spawn_fast(p, argv, opt) : spawn_uv(p, argv, opt);
  if (rc) return rc; /* p is freed */
  uv_unref(&p->u.h);
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
  if (kill(p->pid, signum) != 0) return weft__aio_uv_error(-errno, "kill");
  return 0;
}

/* After the leader's exit its group may live on (children it left
 * behind): while any member remains, the group id cannot be given to a
 * new process, so kill(-pid) still reaches only them. */
int weft_aio_process_kill_group(weft_aio_process *p, int signum) {
  if (!p || signum < 0 || !p->group) return WEFT_EINVAL;
  if (kill(-p->pid, signum) == 0) return 0;
  if (errno == ESRCH) return WEFT_EALREADY;
  return weft__aio_uv_error(-errno, "kill");
}

static weft_aio_process *process_of(weft__aio_wait *w) {
  return (weft_aio_process *)((char *)w->data - offsetof(weft_aio_process, waiters));
}

static void wait_abort(weft__aio_wait *w, int why) {
  weft_aio_process *p = process_of(w);
  weft__wl_unlink(&p->waiters, w);
  if (--p->nwait == 0) uv_unref(&p->u.h);
  weft__aio_wake(w, why);
}

int weft_aio_process_wait(weft_aio_process *p, int *exit_status, int *term_signal) {
  if (!p) return WEFT_EINVAL;
  int rc = weft__aio_check();
  if (rc) return rc;
  pwait pw = {.exit_status = p->exit_status, .term_signal = p->term_signal};
  if (!p->exited) {
    weft__aio_wait_init(&pw.w, wait_abort);
    pw.w.op = "process exit";
    weft__wl_push(&p->waiters, &pw.w);
    if (p->nwait++ == 0) uv_ref(&p->u.h);
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
    uv_close(&p->u.h, closed_cb);
    return;
  }
  reap_later(p);
  kill(p->pid, SIGKILL);
}
