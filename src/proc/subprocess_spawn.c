/* src/proc/subprocess_spawn.c — starting a child: argument checks, pipes,
 * posix_spawn, pidfd.
 *
 * Why posix_spawn: glibc implements it with clone(CLONE_VM|CLONE_VFORK) and
 * a tiny child that only dup2s, chdirs and execs — no malloc, no locks
 * between fork and exec, so it is safe while other threads hold the malloc
 * lock; it is also far cheaper than fork() for a large parent, and it
 * reports an exec failure (ENOENT, EACCES) as its return value. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "proc/subprocess_internal.h"

extern char **environ;

int weft__sp_check_opts(const weft_subprocess_opts *o) {
  if (!o || !o->argv || !o->argv[0]) return WEFT_EINVAL;
  if (!o->stdin_data && o->stdin_size) return WEFT_EINVAL;
  if (o->stdin_mode != WEFT_SUBPROCESS_INHERIT && o->stdin_mode != WEFT_SUBPROCESS_DISCARD)
    return WEFT_EINVAL;
  if (o->stdout_mode < WEFT_SUBPROCESS_INHERIT || o->stdout_mode > WEFT_SUBPROCESS_DISCARD)
    return WEFT_EINVAL;
  if (o->stderr_mode < WEFT_SUBPROCESS_INHERIT || o->stderr_mode > WEFT_SUBPROCESS_STDOUT)
    return WEFT_EINVAL;
  return 0;
}

/* The ends of the pipes that the child gets, closed in the parent after the
 * spawn. */
typedef struct child_ends {
  int fd[3];
} child_ends;

static void close_ends(child_ends *e) {
  for (int i = 0; i < 3; i++)
    if (e->fd[i] >= 0) close(e->fd[i]);
}

/* A pipe fd numbered 0..2 (the caller had closed a standard stream) would be
 * overwritten by the child's own dup2 onto that number: move it above 2. */
static int lift_fd(int fd) {
  if (fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = moved < 0 ? -errno : 0;
  close(fd);
  return err ? err : moved;
}

/* One pipe for stream `which`: the parent's end (non-blocking, for the poll
 * loop) goes to c->fd[which], the child's end (blocking, as programs
 * expect) to ends->fd[which]. Both close-on-exec, so no other child started
 * meanwhile by another thread inherits them; dup2 in the child clears it. */
static int make_pipe(weft__sp_child *c, child_ends *ends, int which) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -errno;
  int rd = lift_fd(p[0]), wr = lift_fd(p[1]);
  if (rd < 0 || wr < 0) {
    if (rd >= 0) close(rd);
    if (wr >= 0) close(wr);
    return rd < 0 ? rd : wr;
  }
  p[0] = rd;
  p[1] = wr;
  int parent = which == SP_IN ? p[1] : p[0];
  ends->fd[which] = which == SP_IN ? p[0] : p[1];
  c->fd[which] = parent;
  if (fcntl(parent, F_SETFL, O_NONBLOCK) != 0) return -errno;
  return 0;
}

static int open_pipes(weft__sp_child *c, child_ends *ends, const weft_subprocess_opts *o) {
  int rc = 0;
  if (o->stdin_data) rc = make_pipe(c, ends, SP_IN);
  if (!rc && c->capture_out) rc = make_pipe(c, ends, SP_OUT);
  if (!rc && c->capture_err) rc = make_pipe(c, ends, SP_ERR);
  return rc;
}

/* What the child does with each standard stream before exec. */
static int plan_streams(posix_spawn_file_actions_t *fa, const child_ends *e,
                        const weft_subprocess_opts *o) {
  int rc = 0;
  if (e->fd[SP_IN] >= 0) rc = posix_spawn_file_actions_adddup2(fa, e->fd[SP_IN], 0);
  else if (o->stdin_mode == WEFT_SUBPROCESS_DISCARD)
    rc = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
  if (!rc && e->fd[SP_OUT] >= 0) rc = posix_spawn_file_actions_adddup2(fa, e->fd[SP_OUT], 1);
  else if (!rc && o->stdout_mode == WEFT_SUBPROCESS_DISCARD)
    rc = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
  if (!rc && e->fd[SP_ERR] >= 0) rc = posix_spawn_file_actions_adddup2(fa, e->fd[SP_ERR], 2);
  else if (!rc && o->stderr_mode == WEFT_SUBPROCESS_DISCARD)
    rc = posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY, 0);
  else if (!rc && o->stderr_mode == WEFT_SUBPROCESS_STDOUT)
    rc = posix_spawn_file_actions_adddup2(fa, 1, 2);
  if (!rc && o->cwd) rc = posix_spawn_file_actions_addchdir_np(fa, o->cwd);
  return -rc;
}

/* The child starts with the caller's signal mask (minus SIGPIPE, which the
 * poll loop may be blocking right now) and SIGPIPE at its default action,
 * as a shell would give it (Python's restore_signals does the same). */
static void plan_signals(posix_spawnattr_t *attr) {
  sigset_t mask, deflt;
  pthread_sigmask(SIG_BLOCK, NULL, &mask);
  sigdelset(&mask, SIGPIPE);
  sigemptyset(&deflt);
  sigaddset(&deflt, SIGPIPE);
  posix_spawnattr_setsigmask(attr, &mask);
  posix_spawnattr_setsigdefault(attr, &deflt);
  posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

/* {"/bin/sh", "-c", command, $0, $1, ..., NULL}; NULL when out of memory. */
static char **shell_argv(const char *const *argv) {
  size_t n = 0;
  while (argv[n]) n++;
  char **v = malloc((n + 3) * sizeof *v);
  if (!v) return NULL;
  v[0] = "/bin/sh";
  v[1] = "-c";
  for (size_t i = 0; i <= n; i++) v[i + 2] = (char *)argv[i];
  return v;
}

static int exec_child(pid_t *pid, const posix_spawn_file_actions_t *fa,
                      const posix_spawnattr_t *attr, const weft_subprocess_opts *o) {
  char *const *envp = o->env ? (char *const *)o->env : environ;
  if (!o->shell)
    return -posix_spawnp(pid, o->argv[0], fa, attr, (char *const *)o->argv, envp);
  char **argv = shell_argv(o->argv);
  if (!argv) return WEFT_ENOMEM;
  int rc = -posix_spawn(pid, "/bin/sh", fa, attr, argv, envp);
  free(argv);
  return rc;
}

static void child_init(weft__sp_child *c, const weft_subprocess_opts *o) {
  *c = (weft__sp_child){0};
  for (int i = 0; i < SP_NFDS; i++) c->fd[i] = -1;
  c->in_data = o->stdin_data;
  c->in_size = o->stdin_size;
  c->capture_out = o->stdout_mode == WEFT_SUBPROCESS_CAPTURE;
  c->capture_err = o->stderr_mode == WEFT_SUBPROCESS_CAPTURE;
  bool no_limit = o->timeout_ns == 0 || o->timeout_ns == WEFT_FOREVER;
  c->deadline = no_limit ? WEFT_FOREVER : weft_deadline_after(o->timeout_ns);
  c->kill_at = WEFT_FOREVER;
  c->grace_ns = o->kill_grace_ns ? o->kill_grace_ns : WEFT_SUBPROCESS_GRACE_NS;
}

/* A pidfd lets poll() wake at the child's exit. Where the kernel (< 5.3) or
 * a seccomp filter refuses it, fd stays -1 and the loop checks waitpid on a
 * short tick instead. The pid cannot be reused before we reap it. */
static void open_pidfd(weft__sp_child *c) {
#ifdef SYS_pidfd_open
  long fd = syscall(SYS_pidfd_open, c->pid, 0);
  c->fd[SP_PIDFD] = fd >= 0 ? (int)fd : -1;
#endif
}

int weft__sp_spawn(weft__sp_child *c, const weft_subprocess_opts *o) {
  child_init(c, o);
  child_ends ends = {{-1, -1, -1}};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (posix_spawn_file_actions_init(&fa) != 0) return WEFT_ENOMEM;
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return WEFT_ENOMEM;
  }
  int rc = open_pipes(c, &ends, o);
  if (!rc) rc = plan_streams(&fa, &ends, o);
  if (!rc) {
    plan_signals(&attr);
    rc = exec_child(&c->pid, &fa, &attr, o);
  }
  close_ends(&ends);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) {
    for (int i = 0; i < SP_NFDS; i++) weft__sp_close_fd(c, i);
    c->pid = 0;
    return rc;
  }
  open_pidfd(c);
  return 0;
}
