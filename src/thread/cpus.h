/* src/thread/cpus.h — how weft_cpu_count finds the CPUs this process may use.
 * Internal; split out so that tests can feed fake cgroup files and texts.
 *
 * A "limit" below is a CPU count rounded up (quota 150000 over period 100000
 * is 2 CPUs); 0 means "no limit found". */
#ifndef WEFT_THREAD_CPUS_H
#define WEFT_THREAD_CPUS_H

#include <stdbool.h>

/* Parses the contents of a cgroup v2 cpu.max file: "max 100000" (no limit:
 * returns 0) or "quota period" (returns the limit, at least 1). Returns
 * WEFT_EINVAL for anything else; callers ignore such a file. */
int weft__cgroup_v2_parse(const char *text);

/* Parses cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us contents; a quota
 * of -1 means no limit (0). WEFT_EINVAL for garbage. */
int weft__cgroup_v1_parse(const char *quota, const char *period);

/* The limit set in one cgroup directory (cpu.max when v2, else the cfs
 * files); 0 when none, or when the files are missing or garbage. */
unsigned weft__cgroup_dir_limit(const char *dir, bool v2);

/* The tightest limit over the process's cgroups (v2 and v1 cpu controller)
 * and their ancestors up to the mount point. proc_cgroup is normally
 * "/proc/self/cgroup" and mountinfo "/proc/self/mountinfo". 0 when none. */
unsigned weft__cgroup_cpu_limit(const char *proc_cgroup, const char *mountinfo);

/* The number of CPUs in the calling thread's affinity mask (at least 1). */
unsigned weft__affinity_count(void);

/* WEFT_THREADS: the value when text is a positive decimal integer that fits
 * in an int, else 0 (ignored). NULL gives 0. */
unsigned weft__parse_thread_override(const char *text);

#endif /* WEFT_THREAD_CPUS_H */
