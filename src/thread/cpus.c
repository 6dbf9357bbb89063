/* src/thread/cpus.c — weft_cpu_count: how many CPUs this process may use.
 *
 * affinity mask, capped by the cgroup CPU quota (src/thread/cgroup.c),
 * overridden by WEFT_THREADS. The affinity mask is read on every call (one
 * cheap syscall, and it may change); the cgroup quota costs a few file reads,
 * so it is cached together with the pid that read it: a forked child, which
 * may have been moved to another cgroup, reads it afresh. */
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include "weft/thread.h"
#include "core/internal.h"
#include "thread/cpus.h"

unsigned weft__affinity_count(void) {
  /* The mask may be larger than CPU_SETSIZE on huge machines: grow it until
   * the kernel accepts its size. */
  for (int ncpus = CPU_SETSIZE; ncpus <= (1 << 20); ncpus *= 2) {
    cpu_set_t *set = CPU_ALLOC(ncpus);
    if (!set) return 1;
    size_t size = CPU_ALLOC_SIZE(ncpus);
    int rc = sched_getaffinity(0, size, set);
    int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (rc == 0) return count > 0 ? (unsigned)count : 1;
  }
  return 1;
}

unsigned weft__parse_thread_override(const char *text) {
  if (!text || *text < '0' || *text > '9') return 0;
  char *end;
  unsigned long v = strtoul(text, &end, 10);
  if (*end != '\0' || v == 0 || v > INT_MAX) return 0;
  return (unsigned)v;
}

/* (pid << 32) | (limit + 1); 0 = nothing cached yet. Relaxed is enough: the
 * word is self-contained and any thread may recompute it. */
static uint64_t cached_quota;

static unsigned cgroup_limit(void) {
  uint64_t pid = (uint64_t)getpid();
  uint64_t c = weft_load_relaxed(&cached_quota);
  if (c != 0 && c >> 32 == pid) return (unsigned)(c & 0xffffffffu) - 1;
  unsigned limit = weft__cgroup_cpu_limit("/proc/self/cgroup", "/proc/self/mountinfo");
  if (limit == UINT32_MAX) limit--;
  weft_store_relaxed(&cached_quota, pid << 32 | (limit + 1));
  return limit;
}

unsigned weft_cpu_count(void) {
  unsigned forced = weft__parse_thread_override(getenv("WEFT_THREADS"));
  if (forced) return forced;
  unsigned n = weft__affinity_count();
  unsigned quota = cgroup_limit();
  if (quota != 0 && quota < n) n = quota;
  return n ? n : 1;
}
