/* src/proc/pident.c — process identities and liveness (see pident.h). */
#include "proc/pident.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "core/internal.h"

/* Reads state (field 3), num_threads (field 20) and starttime (field 22)
 * of /proc/<pid>/stat. 0, or -1 when the file cannot be read or parsed.
 * The command name (field 2) may hold spaces and parentheses, so parsing
 * starts after the last ')'. */
static int read_stat(int32_t pid, char *state, long *threads, uint64_t *start) {
  char path[48], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return -1;
  p += 2;
  *state = *p;
  for (int field = 3; field < 22; field++) { /* on to field 22 */
    p = strchr(p, ' ');
    if (!p) return -1;
    p++;
    if (field + 1 == 20 && sscanf(p, "%ld", threads) != 1) return -1;
  }
  unsigned long long v;
  if (sscanf(p, "%llu", &v) != 1) return -1;
  *start = v;
  return 0;
}

int32_t weft__self_pid; /* 0: not cached yet */
uint64_t weft__self_start;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static void forget_self(void) { /* in the child after fork: single-threaded */
  __atomic_store_n(&weft__self_pid, 0, __ATOMIC_RELAXED);
}

static void install_hook(void) {
  pthread_atfork(NULL, NULL, forget_self);
}

weft__pident weft__pident_lookup_self(void) {
  weft__pident me;
  pthread_once(&hook_once, install_hook);
  me.pid = (int32_t)getpid();
  char state;
  long threads;
  if (read_stat(me.pid, &state, &threads, &me.start) != 0) me.start = 0;
  /* Racing threads store the same values. */
  __atomic_store_n(&weft__self_start, me.start, __ATOMIC_RELAXED);
  __atomic_store_n(&weft__self_pid, me.pid, __ATOMIC_RELEASE);
  return me;
}

bool weft__pident_dead_masked(int32_t pid, uint64_t start, uint64_t start_mask) {
  if (pid <= 0) return false;
  char state;
  long threads;
  uint64_t now_start;
  /* A process whose main thread exited while others run also shows 'Z'
   * (the leader's state), with more than one thread: alive. */
  if (read_stat(pid, &state, &threads, &now_start) == 0)
    return ((state == 'Z' || state == 'X') && threads <= 1) ||
           (start != 0 && (now_start & start_mask) != start);
  /* No readable /proc entry: ask the kernel whether the pid exists (EPERM
   * means it does, under another user). */
  return kill(pid, 0) != 0 && errno == ESRCH;
}

bool weft__pident_dead(int32_t pid, uint64_t start) {
  return weft__pident_dead_masked(pid, start, UINT64_MAX);
}
