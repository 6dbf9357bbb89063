/* src/topo/topo.c — weft_topo_query: the machine as this process sees it.
 *
 * CPU counts reuse src/thread (affinity mask, cgroup quota, WEFT_THREADS:
 * exactly what weft_cpu_count decides from). The rest is hwloc: cores, SMT,
 * caches and NUMA nodes counted over the CPUs the process is bound to, so a
 * `taskset -c 0` run reports one core's worth, not the whole machine. Memory
 * is hwloc's NUMA total, /proc/meminfo's MemAvailable and the cgroup limit. */
#include <hwloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft/thread.h"
#include "weft/topo.h"
#include "thread/cpus.h"

/* Formats the affinity mask as ranges, "0-3,6"; returns the CPU count. */
static unsigned affinity_list(char *buf, size_t len) {
  cpu_set_t set;
  buf[0] = '\0';
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    snprintf(buf, len, "unknown");
    return weft__affinity_count();  /* a mask too big for cpu_set_t */
  }
  size_t used = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && used < len; cpu++) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) last++;
    int n = last == cpu
      ? snprintf(buf + used, len - used, "%s%d", used ? "," : "", cpu)
      : snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", cpu, last);
    if (n < 0) break;
    used += (size_t)n;
    cpu = last;
  }
  return (unsigned)CPU_COUNT(&set);
}

/* Reads the first line of dir/file; false when it cannot. */
static bool read_line(const char *dir, const char *file, char *buf, size_t len) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "re");
  if (!f) return false;
  bool ok = fgets(buf, (int)len, f) != NULL;
  fclose(f);
  if (ok) buf[strcspn(buf, "\n")] = '\0';
  return ok;
}

/* This process's cgroup path for a v1 controller ("memory"), or the v2 path
 * when controller is NULL. "" for the root. */
static bool cgroup_rel(const char *controller, char *out, size_t cap) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) return false;
  char line[512];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;
    if (!path) continue;
    *path++ = '\0';
    ctl++;
    bool match = controller ? strstr(ctl, controller) != NULL : *ctl == '\0';
    if (!match || strlen(path) >= cap) continue;
    snprintf(out, cap, "%s", strcmp(path, "/") ? path : "");
    found = true;
  }
  fclose(f);
  return found;
}

/* A limit file's value; "max" and absurd v1 values (2^63 rounded to a
 * page) mean no limit: 0. */
static uint64_t parse_limit(const char *text) {
  if (strncmp(text, "max", 3) == 0) return 0;
  char *end;
  unsigned long long v = strtoull(text, &end, 10);
  if (end == text || v >= (1ull << 62)) return 0;
  return v;
}

/* The cgroup memory limit (v2 memory.max, else v1 memory.limit_in_bytes,
 * at the process's cgroup or, in containers, the mount's root). */
static uint64_t memory_limit(void) {
  char rel[256], dir[400], line[64];
  if (cgroup_rel(NULL, rel, sizeof rel)) {
    snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", rel);
    if (read_line(dir, "memory.max", line, sizeof line)) return parse_limit(line);
  }
  const char *roots[2] = {"", ""};
  if (cgroup_rel("memory", rel, sizeof rel)) roots[0] = rel;
  for (int i = 0; i < 2; i++) {
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/memory%s", roots[i]);
    if (read_line(dir, "memory.limit_in_bytes", line, sizeof line)) return parse_limit(line);
  }
  return 0;
}

/* One "Key: N kB" field of /proc/meminfo in bytes; 0 when missing. */
static uint64_t meminfo(const char *key) {
  FILE *f = fopen("/proc/meminfo", "re");
  char line[128];
  size_t klen = strlen(key);
  unsigned long long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      kb = strtoull(line + klen + 1, NULL, 10);
      break;
    }
  if (f) fclose(f);
  return (uint64_t)kb * 1024;
}

/* Objects of `type` whose CPUs meet `bound`. */
static unsigned count_meeting(hwloc_topology_t topo, hwloc_obj_type_t type,
                              hwloc_const_cpuset_t bound) {
  unsigned n = 0;
  for (hwloc_obj_t o = NULL; (o = hwloc_get_next_obj_by_type(topo, type, o)) != NULL;)
    if (o->cpuset && hwloc_bitmap_intersects(o->cpuset, bound)) n++;
  return n;
}

/* A data (or unified) cache level over the bound CPUs. */
static weft_topo_cache cache_level(hwloc_topology_t topo, hwloc_obj_type_t type,
                                   hwloc_const_cpuset_t bound) {
  weft_topo_cache c = {0, 0, 0};
  for (hwloc_obj_t o = NULL; (o = hwloc_get_next_obj_by_type(topo, type, o)) != NULL;) {
    if (o->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION) continue;
    if (!o->cpuset || !hwloc_bitmap_intersects(o->cpuset, bound)) continue;
    c.instances++;
    if (o->attr->cache.size > c.size) c.size = o->attr->cache.size;
    c.line = o->attr->cache.linesize;
  }
  return c;
}

/* Max hardware threads of one core among the bound ones. */
static unsigned smt_width(hwloc_topology_t topo, hwloc_const_cpuset_t bound) {
  unsigned w = 0;
  for (hwloc_obj_t o = NULL;
       (o = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_CORE, o)) != NULL;) {
    if (!o->cpuset || !hwloc_bitmap_intersects(o->cpuset, bound)) continue;
    int k = hwloc_bitmap_weight(o->cpuset);
    if (k > 0 && (unsigned)k > w) w = (unsigned)k;
  }
  return w;
}

/* The hwloc part; false when no topology could be loaded. */
static bool query_hwloc(weft_topo *t) {
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) return false;
  bool ok = false;
  hwloc_bitmap_t bound = hwloc_bitmap_alloc();
  if (!bound || hwloc_topology_load(topo) != 0) goto out;
  /* the process's binding; the topology's allowed set when unknown */
  if (hwloc_get_cpubind(topo, bound, HWLOC_CPUBIND_PROCESS) != 0 ||
      hwloc_bitmap_iszero(bound))
    hwloc_bitmap_copy(bound, hwloc_topology_get_allowed_cpuset(topo));
  int pus = hwloc_bitmap_weight(bound);
  t->pus = pus > 0 ? (unsigned)pus : 0;
  t->packages = count_meeting(topo, HWLOC_OBJ_PACKAGE, bound);
  t->cores = count_meeting(topo, HWLOC_OBJ_CORE, bound);
  t->numa_nodes = count_meeting(topo, HWLOC_OBJ_NUMANODE, bound);
  t->smt = smt_width(topo, bound);
  t->l1d = cache_level(topo, HWLOC_OBJ_L1CACHE, bound);
  t->l2 = cache_level(topo, HWLOC_OBJ_L2CACHE, bound);
  t->l3 = cache_level(topo, HWLOC_OBJ_L3CACHE, bound);
  hwloc_obj_t root = hwloc_get_root_obj(topo);
  t->mem_total = root ? root->total_memory : 0;
  /* a machine without cores in its topology (odd VMs): one core per PU */
  if (t->cores == 0) t->cores = t->pus;
  if (t->smt == 0) t->smt = 1;
  ok = t->pus > 0;
out:
  hwloc_bitmap_free(bound);
  hwloc_topology_destroy(topo);
  return ok;
}

int weft_topo_query(weft_topo *out) {
  if (!out) return WEFT_EINVAL;
  memset(out, 0, sizeof *out);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  out->online = online > 0 ? (unsigned)online : 1;
  out->allowed = affinity_list(out->allowed_list, sizeof out->allowed_list);
  out->quota = weft__cgroup_cpu_limit("/proc/self/cgroup", "/proc/self/mountinfo");
  out->usable = out->quota && out->quota < out->allowed ? out->quota : out->allowed;
  if (out->usable == 0) out->usable = 1;
  out->override = weft__parse_thread_override(getenv("WEFT_THREADS"));
  out->workers = weft_cpu_count();
  out->has_hwloc = query_hwloc(out);
  if (!out->has_hwloc) {
    out->pus = out->cores = out->allowed;
    out->smt = out->packages = out->numa_nodes = 1;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    out->mem_total = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
  }
  /* some VMs list less memory in their NUMA nodes than the kernel has */
  uint64_t kernel_total = meminfo("MemTotal");
  if (kernel_total > out->mem_total) out->mem_total = kernel_total;
  out->mem_available = meminfo("MemAvailable");
  out->mem_limit = memory_limit();
  if (out->mem_total && out->mem_limit >= out->mem_total) out->mem_limit = 0;
  return 0;
}

const char *weft_topo_workers_why(const weft_topo *t, char *out, size_t len) {
  if (t->override) {
    snprintf(out, len, "%u: WEFT_THREADS=%u overrides the %u usable CPU%s", t->workers,
             t->override, t->usable, t->usable == 1 ? "" : "s");
  } else if (t->quota && t->quota < t->allowed) {
    snprintf(out, len, "%u: the cgroup CPU quota (%u, rounded up) is below the %u CPU%s "
             "of the affinity mask", t->workers, t->quota, t->allowed,
             t->allowed == 1 ? "" : "s");
  } else {
    snprintf(out, len, "%u: the affinity mask allows %u CPU%s%s", t->workers, t->allowed,
             t->allowed == 1 ? "" : "s",
             t->quota ? " and the cgroup quota does not cap it" : ", no cgroup CPU quota");
  }
  return out;
}
