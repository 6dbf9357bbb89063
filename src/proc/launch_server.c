/* src/proc/launch_server.c — the fork server loop (a re-executed copy of the
 * program, stopped in the libweft constructor, single-threaded).
 *
 * It forks children on request, keeps pid -> control end, reaps them on
 * SIGCHLD (signalfd) and sends WEFT__CTL_STATUS on the child's own control
 * end before closing it, so the owner reads the status after the child's
 * last message. A status that cannot be sent at once (the owner has not
 * read the child's messages yet) waits for POLLOUT: the server never
 * blocks on one owner socket. When the owner is gone (EOF on the request
 * socket, or we were reparented) it kills and reaps every child and exits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/forkserver_internal.h"

typedef struct kid {
  pid_t pid;      /* > 0 while running; 0 once reaped (status pending) */
  int ctl;        /* the child's control end (our copy) */
  int wstatus;
} kid;

static kid *kids;
static size_t nkids, capkids;
static int srv_fd = -1, sig_fd = -1;
static sigset_t old_mask;
static char **srv_argv;

static void kid_remove(size_t i) {
  close(kids[i].ctl);
  kids[i] = kids[--nkids];
}

_Noreturn static void server_exit(void) {
  for (size_t i = 0; i < nkids; i++)
    if (kids[i].pid > 0) kill(kids[i].pid, SIGKILL);
  for (size_t i = 0; i < nkids; i++)
    if (kids[i].pid > 0)
      while (waitpid(kids[i].pid, NULL, 0) < 0 && errno == EINTR) {}
  _exit(0);
}

/* In the new child: drop everything of the server's, then run or exec. */
_Noreturn static void in_child(int method, int cend, pid_t server) {
  close(srv_fd);
  close(sig_fd);
  for (size_t i = 0; i < nkids; i++) close(kids[i].ctl);
  signal(SIGINT, SIG_DFL);
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != server) _exit(127);
  if (method == WEFT_START_FORKSERVER) weft__child_main(cend);
  char var[32];
  snprintf(var, sizeof var, "exec:%d", cend);
  fcntl(cend, F_SETFD, 0); /* the one descriptor the new program keeps */
  setenv(WEFT__CHILD_ENV, var, 1);
  execv("/proc/self/exe", srv_argv);
  int e = errno;
  char msg[sizeof(int) + 128];
  int code = -e;
  memcpy(msg, &code, sizeof code);
  int n = snprintf(msg + sizeof code, 128, "cannot re-execute the program: %s", strerror(e));
  (void)weft__ctl_send(cend, WEFT__CTL_START_ERROR, msg, sizeof code + (size_t)n + 1, NULL, 0);
  _exit(127);
}

static void reply(int32_t v) {
  if (weft__ctl_send(srv_fd, WEFT__FS_REPLY, &v, sizeof v, NULL, 0) == WEFT_ECLOSED) server_exit();
}

static void do_fork(const weft__fs_req *req, int cend) {
  if (cend < 0) {
    reply(WEFT_EINVAL);
    return;
  }
  if (nkids == capkids) {
    size_t cap = capkids ? capkids * 2 : 16;
    kid *k = realloc(kids, cap * sizeof *k);
    if (!k) {
      close(cend);
      reply(WEFT_ENOMEM);
      return;
    }
    kids = k;
    capkids = cap;
  }
  pid_t self = getpid();
  pid_t pid = fork();
  if (pid == 0) in_child(req->method, cend, self);
  if (pid < 0) {
    int e = errno;
    close(cend);
    reply(-e);
    return;
  }
  kids[nkids++] = (kid){.pid = pid, .ctl = cend};
  reply(pid);
}

static void do_signal(const weft__fs_req *req) {
  for (size_t i = 0; i < nkids; i++)
    if (kids[i].pid > 0 && kids[i].pid == req->pid) {
      reply(kill(req->pid, req->sig) == 0 ? 0 : -errno);
      return;
    }
  reply(WEFT_EALREADY); /* reaped (status on its way) or never ours */
}

static void on_request(void) {
  weft__fs_req req;
  uint32_t kind;
  size_t len, nfd = 1;
  int fd = -1;
  int rc = weft__ctl_recv(srv_fd, &kind, &req, sizeof req, &len, &fd, &nfd, 0);
  if (rc == WEFT_ETIMEDOUT) return;
  if (rc) server_exit(); /* the owner is gone */
  if (nfd == 0) fd = -1;
  if (len != sizeof req) {
    if (fd >= 0) close(fd);
    reply(WEFT_EINVAL);
  } else if (kind == WEFT__FS_FORK) {
    do_fork(&req, fd);
  } else {
    if (fd >= 0) close(fd);
    if (kind == WEFT__FS_SIGNAL) do_signal(&req);
    else reply(WEFT_EINVAL);
  }
}

/* Tries to deliver a reaped child's status; drops it once sent or when
 * nobody listens any more. Returns true when the entry was removed. */
static bool deliver(size_t i) {
  int rc = weft__ctl_send_nowait(kids[i].ctl, WEFT__CTL_STATUS, &kids[i].wstatus, sizeof(int));
  if (rc == WEFT_EAGAIN) return false;
  kid_remove(i);
  return true;
}

static void reap(void) {
  struct signalfd_siginfo si;
  while (read(sig_fd, &si, sizeof si) > 0) {}
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    for (size_t i = 0; i < nkids; i++)
      if (kids[i].pid == pid) {
        kids[i].pid = 0;
        kids[i].wstatus = st;
        /* Only we hold this end now: non-blocking is safe. */
        fcntl(kids[i].ctl, F_SETFL, fcntl(kids[i].ctl, F_GETFL) | O_NONBLOCK);
        deliver(i);
        break;
      }
  }
}

_Noreturn void weft__fs_server_main(int fd, char **argv) {
  pid_t owner = getppid();
  srv_fd = fd;
  srv_argv = argv;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old_mask);
  sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sig_fd < 0) _exit(1);
  signal(SIGINT, SIG_IGN); /* Ctrl-C is for the owner; we follow it at EOF */
  /* An owner that ignores SIGCHLD passes that on through exec: children
   * would then be reaped by the kernel and their status lost. */
  signal(SIGCHLD, SIG_DFL);
  prctl(PR_SET_NAME, "weft-forksrv");
  struct pollfd *pf = NULL;
  size_t pcap = 0;
  for (;;) {
    if (pcap < nkids + 2) {
      pcap = (nkids + 2) * 2;
      free(pf);
      pf = malloc(pcap * sizeof *pf);
      if (!pf) server_exit();
    }
    size_t n = 0;
    pf[n++] = (struct pollfd){.fd = srv_fd, .events = POLLIN};
    pf[n++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
    for (size_t i = 0; i < nkids; i++)
      if (kids[i].pid == 0) pf[n++] = (struct pollfd){.fd = kids[i].ctl, .events = POLLOUT};
    int r = poll(pf, n, 500);
    if (getppid() != owner) server_exit();
    if (r < 0) continue;
    if (pf[1].revents) reap();
    for (size_t i = 0; i < nkids;)
      if (kids[i].pid == 0 && deliver(i)) continue;
      else i++;
    if (pf[0].revents & POLLIN) on_request();
    else if (pf[0].revents & (POLLHUP | POLLERR)) server_exit();
  }
}
