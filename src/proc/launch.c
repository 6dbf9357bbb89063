/* src/proc/launch.c — starting children and following them from the owner.
 *
 * The owner creates the control socketpair, writes the RUN message into its
 * own end at once (so arguments never pass through the fork server), then
 * hands the child's end to fork() (FORK) or to the fork server (FORKSERVER,
 * SPAWN) and closes its copy. Every control end lives in a small registry
 * so that FORK children close the ones that are not theirs. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/forkserver_internal.h"

/* ---- registry of control descriptors ---- */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static int *reg_fds;
static size_t reg_n, reg_cap;

static int reg_push(int fd) {
  if (reg_n == reg_cap) {
    size_t cap = reg_cap ? reg_cap * 2 : 16;
    int *p = realloc(reg_fds, cap * sizeof *p);
    if (!p) return WEFT_ENOMEM;
    reg_fds = p;
    reg_cap = cap;
  }
  reg_fds[reg_n++] = fd;
  return 0;
}

void weft__ctlreg_lock(void) { pthread_mutex_lock(&reg_mu); }
void weft__ctlreg_unlock(void) { pthread_mutex_unlock(&reg_mu); }

int weft__ctlreg_socketpair(int sv[2]) {
  weft__ctlreg_lock();
  int rc = 0;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    rc = -errno;
  } else if (reg_push(sv[0]) || reg_push(sv[1])) {
    /* Undo a half registration: sv[0] may be listed. */
    if (reg_n && reg_fds[reg_n - 1] == sv[0]) reg_n--;
    close(sv[0]);
    close(sv[1]);
    rc = WEFT_ENOMEM;
  }
  weft__ctlreg_unlock();
  return rc;
}

void weft__ctlreg_add(int fd) {
  weft__ctlreg_lock();
  bool listed = false;
  for (size_t i = 0; i < reg_n && !listed; i++) listed = reg_fds[i] == fd;
  if (!listed) (void)reg_push(fd); /* unlisted only on ENOMEM */
  weft__ctlreg_unlock();
}

void weft__ctlreg_close(int fd) {
  if (fd < 0) return;
  weft__ctlreg_lock();
  for (size_t i = 0; i < reg_n; i++)
    if (reg_fds[i] == fd) {
      reg_fds[i] = reg_fds[--reg_n];
      break;
    }
  close(fd);
  weft__ctlreg_unlock();
}

void weft__ctlreg_child_reset(int keep) {
  size_t k = 0;
  for (size_t i = 0; i < reg_n; i++) {
    if (reg_fds[i] == keep) reg_fds[k++] = keep;
    else close(reg_fds[i]);
  }
  reg_n = k;
  /* The forking thread held the lock across fork() and is the only thread
   * here: release it as usual. */
  pthread_mutex_unlock(&reg_mu);
}

/* ---- starting ---- */

static int start_fork(int cend, pid_t *out) {
  pid_t parent = getpid();
  fflush(stdout);
  fflush(stderr);
  /* Holding the registry lock across fork() means no other thread is
   * half-way through adding a descriptor the child would then miss. */
  weft__ctlreg_lock();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); /* the parent died already */
    weft__ctlreg_child_reset(cend);
    weft__fs_forget();
    weft__child_main(cend);
  }
  int e = errno;
  weft__ctlreg_unlock();
  if (pid < 0) return e == ENOMEM ? WEFT_ENOMEM : e == EAGAIN ? WEFT_EAGAIN : -e;
  *out = pid;
  return 0;
}

static int arg_memfd(const void *arg, size_t size) {
  int fd = memfd_create("weft-arg", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  const char *p = arg;
  while (size) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? -errno : WEFT_EIO;
      close(fd);
      return e;
    }
    p += n;
    size -= (size_t)n;
  }
  return fd;
}

/* Builds and sends the RUN message on the owner's end. */
static int send_run(int m, const weft__child_spec *spec, const weft__fnref *ref) {
  bool inl = spec->size <= WEFT__CTL_MAX - sizeof(weft__run_msg);
  size_t len = sizeof(weft__run_msg) + (inl ? spec->size : 0);
  weft__run_msg *msg = calloc(1, len);
  if (!msg) return WEFT_ENOMEM;
  msg->ref = *ref;
  msg->memory_limit = spec->memory_limit;
  msg->size = spec->size;
  if (spec->name) snprintf(msg->name, sizeof msg->name, "%s", spec->name);
  int fd = -1, rc;
  if (inl) {
    if (spec->size) memcpy(msg + 1, spec->arg, spec->size);
  } else {
    fd = arg_memfd(spec->arg, spec->size);
    msg->has_memfd = 1;
  }
  if (fd < 0 && !inl) rc = fd;
  else rc = weft__ctl_send(m, WEFT__CTL_RUN, msg, len, fd >= 0 ? &fd : NULL, fd >= 0);
  if (fd >= 0) close(fd);
  free(msg);
  return rc;
}

int weft__child_start(weft__child *c, const weft__child_spec *spec, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!c || !spec || !spec->entry || (!spec->arg && spec->size) ||
      (spec->method != WEFT_START_FORK && spec->method != WEFT_START_FORKSERVER &&
       spec->method != WEFT_START_SPAWN)) {
    if (err && errlen) snprintf(err, errlen, "invalid child specification");
    return WEFT_EINVAL;
  }
  weft__fnref ref;
  int rc = weft__fnref_make(&ref, (const void *)spec->entry, err, errlen);
  if (rc) return rc == WEFT_ERANGE ? WEFT_EINVAL : rc;
  int sv[2];
  rc = weft__ctlreg_socketpair(sv);
  if (rc) return rc;
  rc = send_run(sv[0], spec, &ref);
  pid_t pid = -1;
  if (!rc) {
    if (spec->method == WEFT_START_FORK) rc = start_fork(sv[1], &pid);
    else rc = weft__fs_fork(spec->method, sv[1], &pid, err, errlen);
  }
  weft__ctlreg_close(sv[1]);
  if (rc) {
    weft__ctlreg_close(sv[0]);
    if (err && errlen && !err[0]) snprintf(err, errlen, "cannot start a process: %s",
                                           weft_strerror(rc));
    return rc;
  }
  c->pid = pid;
  c->ctl = sv[0];
  c->method = spec->method;
  c->exited = false;
  c->wstatus = 0;
  return 0;
}

/* ---- following a child ---- */

void weft__child_exited(weft__child *c, const int *wstatus) {
  if (!c || c->exited) return;
  if (c->method == WEFT_START_FORK) {
    int st = 0;
    pid_t r;
    do r = waitpid(c->pid, &st, 0);
    while (r < 0 && errno == EINTR);
    /* ECHILD: someone else reaped it (SIGCHLD ignored); nothing better known. */
    c->wstatus = r == c->pid ? st : (wstatus ? *wstatus : SIGKILL);
  } else {
    c->wstatus = wstatus ? *wstatus : SIGKILL; /* EOF alone: the server died */
  }
  c->exited = true;
}

int weft__child_signal(weft__child *c, int sig) {
  if (!c) return WEFT_EINVAL;
  if (c->exited) return WEFT_EALREADY;
  if (c->method == WEFT_START_FORK) return kill(c->pid, sig) == 0 ? 0 : -errno;
  return weft__fs_signal(c->pid, sig);
}

int weft__child_wait(weft__child *c, uint64_t timeout_ns) {
  if (!c) return WEFT_EINVAL;
  uint64_t deadline = weft_deadline_after(timeout_ns);
  int buf[16];
  while (!c->exited) {
    uint64_t left = WEFT_FOREVER;
    if (deadline != WEFT_FOREVER) {
      uint64_t now = weft_now_ns();
      left = deadline > now ? deadline - now : 0;
    }
    uint32_t kind;
    size_t len;
    int rc = weft__ctl_recv(c->ctl, &kind, buf, sizeof buf, &len, NULL, NULL, left);
    if (rc == WEFT_ETIMEDOUT) return rc;
    if (rc == 0 && kind == WEFT__CTL_STATUS && len >= sizeof(int)) weft__child_exited(c, &buf[0]);
    else if (rc == WEFT_ECLOSED) weft__child_exited(c, NULL);
    else if (rc != 0 && rc != WEFT_ERANGE) weft__child_exited(c, NULL); /* broken socket */
    /* other messages (and oversized user ones) are discarded */
  }
  return 0;
}

void weft__child_close(weft__child *c) {
  if (!c || c->ctl < 0) return;
  if (!c->exited) {
    weft__child_signal(c, SIGKILL);
    weft__child_wait(c, WEFT_FOREVER);
  }
  weft__ctlreg_close(c->ctl);
  c->ctl = -1;
}

const char *weft__wstatus_text(int wstatus, char *buf, size_t len) {
  if (!buf || !len) return buf;
  if (WIFEXITED(wstatus)) {
    snprintf(buf, len, "exit status %d", WEXITSTATUS(wstatus));
  } else if (WIFSIGNALED(wstatus)) {
    int s = WTERMSIG(wstatus);
    const char *d = sigdescr_np(s);
    snprintf(buf, len, "killed by signal %d (%s)%s", s, d ? d : "unknown",
             WCOREDUMP(wstatus) ? ", core dumped" : "");
  } else {
    snprintf(buf, len, "wait status 0x%x", (unsigned)wstatus);
  }
  return buf;
}
