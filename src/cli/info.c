/* src/cli/info.c — `weft info`: "know your machine" (the seeds' lscpu advice).
 *
 * Shows what weft's default worker count is made of: the online CPUs, the
 * affinity mask, the cgroup CPU quota, and WEFT_THREADS. Kept small on
 * purpose: caches, SMT and NUMA come with the topo module (hwloc). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "weft/thread.h"
#include "cli/cli.h"

/* Formats a CPU set as ranges, "0-3,6" — what taskset and lscpu print. */
static void format_cpuset(const cpu_set_t *set, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int cpu = 0; cpu < CPU_SETSIZE && used < len; cpu++) {
    if (!CPU_ISSET(cpu, set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set)) last++;
    int n = last == cpu
      ? snprintf(buf + used, len - used, "%s%d", used ? "," : "", cpu)
      : snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", cpu, last);
    if (n < 0) break;
    used += (size_t)n;
    cpu = last;
  }
}

/* Reads the first line of a small file; false when it cannot. */
static bool read_line(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  bool ok = fgets(buf, (int)len, f) != NULL;
  fclose(f);
  if (ok) buf[strcspn(buf, "\n")] = '\0';
  return ok;
}

/* The cgroup path of this process for a controller ("cpu"), or for cgroup v2
 * when controller is "": lines of /proc/self/cgroup read "id:ctrl,ctrl:/path". */
static bool cgroup_path(const char *controller, char *buf, size_t len) {
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (!f) return false;
  char line[512];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *ctrls = strchr(line, ':'), *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
    if (!path) continue;
    *path++ = '\0';
    ctrls++;
    bool match = !*controller && !*ctrls;
    char *save = NULL;
    for (char *c = strtok_r(ctrls, ",", &save); *controller && c; c = strtok_r(NULL, ",", &save))
      match |= strcmp(c, controller) == 0;    /* exact name: "cpuacct" is not "cpu" */
    size_t n = strlen(path);
    if (!match || n >= len) continue;
    memcpy(buf, strcmp(path, "/") ? path : "", strcmp(path, "/") ? n + 1 : 1);
    found = true;
  }
  fclose(f);
  return found;
}

/* cgroup v2: cpu.max holds "max 100000" or "<quota> <period>". */
static bool quota_v2(char *out, size_t len) {
  char rel[256], path[512], line[128];
  long long quota, period;
  if (!cgroup_path("", rel, sizeof rel)) return false;
  snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", rel);
  if (!read_line(path, line, sizeof line)) return false;
  if (sscanf(line, "%lld %lld", &quota, &period) == 2 && period > 0)
    snprintf(out, len, "%.2f CPUs (cgroup v2 cpu.max: %s)", (double)quota / (double)period, line);
  else
    snprintf(out, len, "none (cgroup v2 cpu.max: %s)", line);
  return true;
}

/* cgroup v1: cfs_quota_us / cfs_period_us (quota -1 = none). Containers
 * often mount their own cgroup at the root, hence the second path. */
static bool quota_v1(char *out, size_t len) {
  char rel[256] = "", path[512], q[64], p[64];
  cgroup_path("cpu", rel, sizeof rel);
  const char *roots[2] = {rel, ""};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/sys/fs/cgroup/cpu%s/cpu.cfs_quota_us", roots[i]);
    if (!read_line(path, q, sizeof q)) continue;
    snprintf(path, sizeof path, "/sys/fs/cgroup/cpu%s/cpu.cfs_period_us", roots[i]);
    if (!read_line(path, p, sizeof p)) continue;
    long long quota = atoll(q), period = atoll(p);
    if (quota > 0 && period > 0)
      snprintf(out, len, "%.2f CPUs (cgroup v1 cfs quota %lld / period %lld)",
               (double)quota / (double)period, quota, period);
    else
      snprintf(out, len, "none (cgroup v1 cfs quota %s)", q);
    return true;
  }
  return false;
}

static void describe_quota(char *out, size_t len) {
  if (!quota_v2(out, len) && !quota_v1(out, len)) snprintf(out, len, "none (no cgroup CPU controller)");
}

int weft_cli_info(int argc, char **argv) {
  if (argc > 1) {
    fprintf(stderr, "weft info: unexpected argument '%s'\nusage: weft info\n", argv[1]);
    return 2;
  }
  cpu_set_t set;
  char mask[512] = "unknown", quota[256];
  int in_mask = -1;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    format_cpuset(&set, mask, sizeof mask);
    in_mask = CPU_COUNT(&set);
  }
  describe_quota(quota, sizeof quota);
  const char *env = getenv("WEFT_THREADS");

  printf("weft %s\n", weft_version_string());
  printf("  %-22s %u\n", "CPUs usable", weft_cpu_count());
  printf("  %-22s %ld\n", "online CPUs", sysconf(_SC_NPROCESSORS_ONLN));
  printf("  %-22s %s (%d CPU%s)\n", "affinity mask", mask, in_mask, in_mask == 1 ? "" : "s");
  printf("  %-22s %s\n", "cgroup CPU quota", quota);
  printf("  %-22s %s\n", "WEFT_THREADS", env && *env ? env : "(unset)");
  printf("CPUs usable = affinity mask capped by the quota, rounded up; it is the\n"
         "default worker count of every pool (WEFT_THREADS overrides it).\n");
  return 0;
}
