/* src/pool/stalls_kernel.c — a thread's state and current system call from
 * /proc/self/task/<tid>/{stat,syscall}.
 *
 * This is what names a worker's wait when no weft wait path marked it: a
 * thread of our own process may always read its siblings' syscall file
 * (same thread group), and for a futex the first argument is the word
 * waited on — for a weft_mutex, the mutex's own address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "pool/stalls_kernel.h"

typedef struct sysname {
  long nr;
  const char *name;
} sysname;

#define SC(x) {SYS_##x, #x}
static const sysname sysnames[] = {
#ifdef SYS_nanosleep
  SC(nanosleep),
#endif
#ifdef SYS_poll
  SC(poll),
#endif
#ifdef SYS_select
  SC(select),
#endif
#ifdef SYS_epoll_wait
  SC(epoll_wait),
#endif
#ifdef SYS_pause
  SC(pause),
#endif
#ifdef SYS_accept
  SC(accept),
#endif
  SC(clock_nanosleep), SC(read), SC(write), SC(readv), SC(writev), SC(ppoll),
  SC(pselect6), SC(epoll_pwait), SC(wait4), SC(waitid), SC(accept4), SC(connect),
  SC(recvfrom), SC(sendto), SC(recvmsg), SC(sendmsg), SC(openat), SC(fsync),
  SC(flock), SC(fcntl), SC(rt_sigtimedwait), SC(msgrcv), SC(semtimedop),
};

static int read_small(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  size_t k = fread(buf, 1, n - 1, f);
  fclose(f);
  buf[k] = 0;
  return (int)k;
}

/* The one-letter state after "tid (comm) ": comm may hold spaces and
 * parentheses, so look after the last ')'. */
static char thread_state(int tid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  if (read_small(path, buf, sizeof buf) <= 0) return 0;
  char *rp = strrchr(buf, ')');
  return rp && rp[1] == ' ' ? rp[2] : 0;
}

static void describe_call(long nr, unsigned long arg0, char *out, size_t n) {
  if (nr == SYS_futex) {
    snprintf(out, n, "blocked in futex wait on %p (a weft_mutex, condition, semaphore, event or pthread lock)",
             (void *)arg0);
    return;
  }
  for (size_t i = 0; i < sizeof sysnames / sizeof *sysnames; i++) {
    if (sysnames[i].nr != nr) continue;
    snprintf(out, n, "sleeping in %s", sysnames[i].name);
    return;
  }
  snprintf(out, n, "sleeping in system call %ld", nr);
}

void weft__stall_kernel_state(int tid, char *out, size_t n) {
  out[0] = 0;
  if (tid <= 0) return;
  char st = thread_state(tid);
  if (st == 'R') {
    snprintf(out, n, "running");
    return;
  }
  if (st != 'S' && st != 'D') return;
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  char *end;
  long nr;
  if (read_small(path, buf, sizeof buf) <= 0 || (nr = strtol(buf, &end, 10), end == buf)) {
    snprintf(out, n, "sleeping");
    return;
  }
  describe_call(nr, strtoul(end, NULL, 16), out, n);
}
