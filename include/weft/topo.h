/* weft/topo.h — machine facts: what this process may use, and how weft sizes
 * its workers from it ("know your machine"; `weft info` prints all of it).
 *
 * The CPU counts come from the affinity mask and the cgroup CPU quota (the
 * same code as weft_cpu_count, src/thread/); cores, SMT, caches, NUMA nodes
 * and memory come from hwloc. When hwloc cannot load a topology the hwloc
 * fields fall back to what sysconf knows (has_hwloc is then false). */
#ifndef WEFT_TOPO_H
#define WEFT_TOPO_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One cache level as seen from the allowed CPUs. */
typedef struct weft_topo_cache {
  uint64_t size;        /* bytes per instance; 0 when the level is unknown */
  unsigned instances;   /* instances that serve at least one allowed CPU */
  unsigned line;        /* line size in bytes (0 unknown) */
} weft_topo_cache;

typedef struct weft_topo {
  /* -- CPUs: what the scheduler lets this process use -- */
  unsigned online;          /* sysconf(_SC_NPROCESSORS_ONLN) */
  unsigned allowed;         /* CPUs in the affinity mask (sched_getaffinity) */
  char allowed_list[256];   /* the mask as ranges, "0-3,6" (taskset/lscpu style) */
  unsigned quota;           /* cgroup CPU quota in CPUs, rounded up; 0 = none */
  unsigned usable;          /* min(allowed, quota): the default worker count
                             * before WEFT_THREADS */
  unsigned override;        /* WEFT_THREADS when valid, else 0 */
  unsigned workers;         /* weft_cpu_count(): override, else usable */
  /* -- hardware (hwloc), counted over the allowed CPUs only -- */
  bool has_hwloc;           /* false: the fields below are from sysconf */
  unsigned packages;        /* sockets */
  unsigned cores;           /* physical cores with an allowed hardware thread */
  unsigned pus;             /* allowed hardware threads (= allowed, normally) */
  unsigned smt;             /* hardware threads per core, at most (1 = no SMT) */
  unsigned numa_nodes;      /* NUMA nodes holding allowed CPUs */
  weft_topo_cache l1d, l2, l3;
  /* -- memory -- */
  uint64_t mem_total;       /* bytes of RAM (MemTotal, or the NUMA nodes' sum if larger) */
  uint64_t mem_available;   /* bytes available now (MemAvailable) */
  uint64_t mem_limit;       /* cgroup memory limit in bytes; 0 = none */
} weft_topo;

/* Fills *out (every field; zeros where nothing is known). Never fails for
 * lack of hwloc or cgroups: those fields stay at their fallbacks.
 * Errors: WEFT_EINVAL (NULL out). */
int weft_topo_query(weft_topo *out);

/* Writes one sentence saying why t->workers is what it is ("2: the
 * affinity mask allows 2 CPUs, no cgroup quota"). Returns out. */
const char *weft_topo_workers_why(const weft_topo *t, char *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_TOPO_H */
