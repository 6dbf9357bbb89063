/* src/core/futex.c — the futex platform contract (see internal.h). Every
 * blocking primitive in weft sleeps here; the deadline is absolute on
 * CLOCK_MONOTONIC so that retries after spurious wake-ups never stretch it. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "core/internal.h"

static int futex_wait_op(uint32_t *addr, uint32_t expected, uint64_t deadline_ns, int op) {
  struct timespec ts, *tsp = NULL;
  if (deadline_ns != WEFT_FOREVER) {
    if (weft_now_ns() >= deadline_ns) return WEFT_ETIMEDOUT;
    ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
    ts.tv_nsec = (long)(deadline_ns % 1000000000u);
    tsp = &ts;
  }
  /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
  long r = syscall(SYS_futex, addr, op, expected, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
  if (r == -1 && errno == ETIMEDOUT) return WEFT_ETIMEDOUT;
  return 0; /* woken, EAGAIN (value differed) or EINTR: the caller re-checks */
}

int weft__futex_wait(uint32_t *addr, uint32_t expected, uint64_t deadline_ns) {
  return futex_wait_op(addr, expected, deadline_ns, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG);
}

int weft__futex_wait_shared(uint32_t *addr, uint32_t expected, uint64_t deadline_ns) {
  return futex_wait_op(addr, expected, deadline_ns, FUTEX_WAIT_BITSET);
}

void weft__futex_wake(uint32_t *addr, int n) {
  syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
}

void weft__futex_wake_shared(uint32_t *addr, int n) {
  syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

void *weft__alloc_aligned(size_t size) {
  size_t rounded = (size + WEFT_CACHELINE - 1) & ~(size_t)(WEFT_CACHELINE - 1);
  void *p = aligned_alloc(WEFT_CACHELINE, rounded ? rounded : WEFT_CACHELINE);
  if (p) memset(p, 0, rounded ? rounded : WEFT_CACHELINE);
  return p;
}
