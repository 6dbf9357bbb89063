/* src/thread/affinity.c — pinning threads to CPUs.
 *
 * The kernel silently drops CPUs outside the process's cpuset from a mask
 * and only fails when nothing is left. weft promises WEFT_EINVAL for any CPU
 * the process may not use, so it reads the mask back and undoes the change
 * when the kernel trimmed it. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include "weft/thread.h"
#include "core/internal.h"
#include "thread/thread_internal.h"

static int build_mask(cpu_set_t *set, const int *cpus, size_t ncpus) {
  CPU_ZERO(set);
  for (size_t i = 0; i < ncpus; i++) {
    if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return WEFT_EINVAL;
    CPU_SET(cpus[i], set);
  }
  return 0;
}

static int apply_mask(pthread_t thread, const cpu_set_t *want) {
  cpu_set_t before, after;
  if (pthread_getaffinity_np(thread, sizeof before, &before) != 0) return WEFT_EINVAL;
  if (pthread_setaffinity_np(thread, sizeof *want, want) != 0) return WEFT_EINVAL;
  if (pthread_getaffinity_np(thread, sizeof after, &after) != 0) return WEFT_EINVAL;
  if (!CPU_EQUAL(&after, want)) {
    pthread_setaffinity_np(thread, sizeof before, &before);
    return WEFT_EINVAL;
  }
  return 0;
}

int weft_thread_set_affinity(weft_thread *t, const int *cpus, size_t ncpus) {
  if (!cpus || ncpus == 0) return WEFT_EINVAL;
  cpu_set_t want;
  int rc = build_mask(&want, cpus, ncpus);
  if (rc != 0) return rc;
  if (!t) return apply_mask(pthread_self(), &want);
  /* A thread that already ended has no kernel task left to pin (and glibc
   * would fall back to the caller's tid). The check is advisory: a thread
   * ending right now races with it, as with pthread_setaffinity_np itself. */
  if (weft_load_acquire(&t->finished)) return WEFT_EINVAL;
  return apply_mask(t->pthread, &want);
}
