/* src/proc/launch_child.c — what every weft child does, however started:
 * read RUN from its control end, resolve the function, apply the limits,
 * install the crash reporter, run entry(arg, size), exit with its return. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc/forkserver_internal.h"

static int g_ctl = -1;
static uint64_t g_limit;
static long g_page = 4096;

int weft__child_ctl(void) { return g_ctl; }

int weft__ctl_send_nowait(int fd, uint32_t kind, const void *data, size_t len) {
  uint32_t hdr[2] = {kind, 0};
  struct iovec iov[2] = {{.iov_base = hdr, .iov_len = sizeof hdr},
                         {.iov_base = (void *)data, .iov_len = len}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
  ssize_t n;
  do n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return 0;
  return (errno == EPIPE || errno == ECONNRESET) ? WEFT_ECLOSED : -errno;
}

/* Address-space size from /proc/self/statm, with calls that are
 * async-signal-safe (no stdio). 0 when unknown. */
static uint64_t vm_bytes(void) {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char b[64];
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return 0;
  uint64_t pages = 0;
  for (ssize_t i = 0; i < n && b[i] >= '0' && b[i] <= '9'; i++) pages = pages * 10 + (uint64_t)(b[i] - '0');
  return pages * (uint64_t)g_page;
}

static void crash_handler(int sig) {
  int saved = errno;
  weft__crash_note note = {.signal = sig, .memory_limit = g_limit};
  note.vm_bytes = vm_bytes();
  if (g_limit) {
    uint64_t slack = g_limit / 10;
    if (slack < (32u << 20)) slack = 32u << 20;
    note.near_memory_limit = note.vm_bytes + slack >= g_limit;
  }
  (void)weft__ctl_send_nowait(g_ctl, WEFT__CTL_CRASH_NOTE, &note, sizeof note);
  /* SA_RESETHAND restored the default action and the signal is blocked
   * while we run: it is delivered, and kills us, when we return. */
  raise(sig);
  errno = saved;
}

static void install_crash_handlers(void) {
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
  size_t sz = 64 * 1024;
  stack_t ss = {.ss_sp = malloc(sz), .ss_size = sz, .ss_flags = 0};
  if (ss.ss_sp) sigaltstack(&ss, NULL); /* a stack overflow still gets reported */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = crash_handler;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

_Noreturn static void start_error(int ctl, int code, const char *text) {
  char buf[sizeof(int) + 1024];
  memcpy(buf, &code, sizeof code);
  size_t n = strnlen(text, sizeof buf - sizeof code - 1);
  memcpy(buf + sizeof code, text, n);
  buf[sizeof code + n] = '\0';
  (void)weft__ctl_send(ctl, WEFT__CTL_START_ERROR, buf, sizeof code + n + 1, NULL, 0);
  _exit(127);
}

/* The argument as a private copy: inline bytes copied, a memfd mapped
 * copy-on-write. */
static void *take_arg(int ctl, const weft__run_msg *m, size_t len, int mfd) {
  if (m->size == 0) return NULL;
  if (!m->has_memfd) {
    if (len < sizeof *m + m->size) start_error(ctl, WEFT_EIO, "truncated start message");
    void *p = malloc(m->size);
    if (!p) start_error(ctl, WEFT_ENOMEM, "out of memory for the argument");
    memcpy(p, m + 1, m->size);
    return p;
  }
  if (mfd < 0) start_error(ctl, WEFT_EIO, "argument memfd missing");
  void *p = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
  close(mfd);
  if (p == MAP_FAILED) start_error(ctl, WEFT_ENOMEM, "cannot map the argument");
  return p;
}

_Noreturn void weft__child_main(int ctl) {
  /* SPAWN children come through exec with the end inheritable. */
  fcntl(ctl, F_SETFD, FD_CLOEXEC);
  weft__ctlreg_add(ctl); /* so our own FORK children close it */
  g_ctl = ctl;
  long pg = sysconf(_SC_PAGESIZE);
  if (pg > 0) g_page = pg;

  void *buf = malloc(WEFT__CTL_MAX);
  if (!buf) _exit(127);
  uint32_t kind = 0;
  size_t len = 0, nfd = 1;
  int mfd = -1;
  int rc = weft__ctl_recv(ctl, &kind, buf, WEFT__CTL_MAX, &len, &mfd, &nfd, WEFT_FOREVER);
  if (rc || kind != WEFT__CTL_RUN || len < sizeof(weft__run_msg)) _exit(127); /* owner gone */
  if (nfd == 0) mfd = -1;
  const weft__run_msg *m = buf;

  char err[600];
  void *fn = NULL;
  rc = weft__fnref_resolve(&m->ref, &fn, err, sizeof err);
  if (rc) start_error(ctl, rc, err);
  void *arg = take_arg(ctl, m, len, mfd);
  size_t size = (size_t)m->size;

  if (m->name[0]) {
    char name[16];
    memcpy(name, m->name, sizeof name);
    name[15] = '\0';
    prctl(PR_SET_NAME, name);
  }
  if (m->memory_limit) {
    g_limit = m->memory_limit;
    struct rlimit rl = {.rlim_cur = (rlim_t)m->memory_limit, .rlim_max = (rlim_t)m->memory_limit};
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
      int e = errno;
      snprintf(err, sizeof err, "cannot set the memory limit: %s", strerror(e));
      start_error(ctl, -e, err);
    }
  }
  free(buf);
  install_crash_handlers();
  int ret = ((weft_proc_fn)fn)(arg, size);
  fflush(NULL);
  _exit(ret & 0xff);
}
