/* src/cli/info.c — `weft info`: "know your machine" (the seeds' lscpu advice).
 *
 * Prints what weft_topo_query finds (include/weft/topo.h): the CPUs this
 * process may use (affinity mask, cgroup quota), cores vs SMT threads,
 * caches, NUMA nodes and memory, then the worker counts weft picks by default
 * and why. Nothing is computed here: the numbers are the library's. */
#include <stdio.h>
#include <string.h>

#include "weft/thread.h"
#include "weft/topo.h"
#include "cli/cli.h"

/* 32768 -> "32 KiB", 2097152 -> "2 MiB" (exact binary units when they fit). */
static const char *human(uint64_t bytes, char *buf, size_t len) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  if (v == (double)(uint64_t)v) snprintf(buf, len, "%.0f %s", v, units[u]);
  else snprintf(buf, len, "%.1f %s", v, units[u]);
  return buf;
}

static void print_cache(const char *name, const weft_topo_cache *c) {
  char b[32];
  if (!c->size) {
    printf("  %-22s unknown\n", name);
    return;
  }
  printf("  %-22s %s x %u (line %u B)\n", name, human(c->size, b, sizeof b), c->instances,
         c->line);
}

static void print_cpus(const weft_topo *t) {
  printf("  %-22s %u\n", "CPUs usable", t->usable);
  printf("  %-22s %u\n", "online CPUs", t->online);
  printf("  %-22s %s (%u CPU%s)\n", "affinity mask", t->allowed_list, t->allowed,
         t->allowed == 1 ? "" : "s");
  if (t->quota) printf("  %-22s %u CPU%s (rounded up)\n", "cgroup CPU quota", t->quota,
                       t->quota == 1 ? "" : "s");
  else printf("  %-22s none\n", "cgroup CPU quota");
}

static void print_hardware(const weft_topo *t) {
  printf("hardware (%s, over the allowed CPUs):\n", t->has_hwloc ? "hwloc" : "sysconf only");
  printf("  %-22s %u\n", "packages", t->packages);
  printf("  %-22s %u\n", "physical cores", t->cores);
  printf("  %-22s %u (%u per core%s)\n", "hardware threads", t->pus, t->smt,
         t->smt > 1 ? ", SMT on" : ", no SMT");
  print_cache("L1d cache", &t->l1d);
  print_cache("L2 cache", &t->l2);
  print_cache("L3 cache", &t->l3);
  printf("  %-22s %u\n", "NUMA nodes", t->numa_nodes);
  char a[32], b[32], c[32];
  printf("  %-22s %s total, %s available\n", "memory", human(t->mem_total, a, sizeof a),
         human(t->mem_available, b, sizeof b));
  printf("  %-22s %s\n", "cgroup memory limit",
         t->mem_limit ? human(t->mem_limit, c, sizeof c) : "none");
}

static void print_defaults(const weft_topo *t) {
  char why[256];
  printf("default worker counts:\n");
  printf("  %-22s %s\n", "WEFT_THREADS", t->override ? "set" : "(unset)");
  printf("  %-22s %s\n", "weft_cpu_count()", weft_topo_workers_why(t, why, sizeof why));
  printf("  %-22s %u threads\n", "thread pool", t->workers);
  printf("  %-22s %u processes\n", "process pool", t->workers);
  printf("  %-22s %u jobs at once (-j)\n", "weft run", t->workers);
  printf("  %-22s %u loops\n", "aio servers", t->workers);
  if (t->smt > 1 && t->cores < t->pus)
    printf("  SMT: %u cores carry %u threads; CPU-bound work may do as well with\n"
           "  WEFT_THREADS=%u (one per core).\n", t->cores, t->pus, t->cores);
  printf("CPUs usable = affinity mask capped by the quota, rounded up; it is the\n"
         "default worker count of every pool (WEFT_THREADS overrides it).\n");
}

int weft_cli_info(int argc, char **argv) {
  if (argc > 1) {
    fprintf(stderr, "weft info: unexpected argument '%s'\nusage: weft info\n", argv[1]);
    return 2;
  }
  weft_topo t;
  if (weft_topo_query(&t) != 0) {
    fprintf(stderr, "weft info: cannot read the machine's topology\n");
    return 1;
  }
  printf("weft %s\n", weft_version_string());
  print_cpus(&t);
  print_hardware(&t);
  print_defaults(&t);
  return 0;
}
