/* src/thread/cgroup.c — the CPU quota of the cgroups this process lives in.
 *
 * Containers often give a process a CPU quota well below the number of CPUs
 * it can see; sizing pools by the CPU count alone then oversubscribes the
 * quota and the kernel throttles every worker. This file finds the quota:
 *   /proc/self/cgroup       which cgroup (v2 "0::/path", v1 "N:cpu,...:/path")
 *   /proc/self/mountinfo    where that hierarchy is mounted, and its root
 *   <mount>/<path>/cpu.max  v2 "quota period" or "max period"
 *   cpu.cfs_quota_us + cpu.cfs_period_us   v1, quota -1 = none
 * Limits of ancestors apply too, so the walk goes up to the mount point and
 * keeps the tightest one. Mount points with escaped characters (\040) are
 * not decoded: such a hierarchy is simply not found. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "weft/core.h"
#include "thread/cpus.h"

#define PATH_CAP 4096

/* Parses one non-negative decimal integer at *s, skipping spaces before it;
 * advances *s. false when there is none or it overflows. */
static bool parse_u64(const char **s, unsigned long long *out) {
  const char *p = *s;
  while (*p == ' ' || *p == '\t') p++;
  if (*p < '0' || *p > '9') return false;
  char *end;
  errno = 0;
  *out = strtoull(p, &end, 10);
  if (errno != 0) return false;
  *s = end;
  return true;
}

static bool only_space_left(const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\n') s++;
  return *s == '\0';
}

static int limit_from(unsigned long long quota, unsigned long long period) {
  if (quota == 0 || period == 0) return WEFT_EINVAL;
  unsigned long long cpus = quota / period + (quota % period != 0);
  return cpus > INT_MAX ? INT_MAX : (int)cpus;
}

int weft__cgroup_v2_parse(const char *text) {
  if (!text) return WEFT_EINVAL;
  const char *p = text;
  unsigned long long quota, period;
  while (*p == ' ') p++;
  bool unlimited = strncmp(p, "max", 3) == 0;
  if (unlimited) p += 3;
  else if (!parse_u64(&p, &quota)) return WEFT_EINVAL;
  if (!parse_u64(&p, &period) || period == 0 || !only_space_left(p)) return WEFT_EINVAL;
  return unlimited ? 0 : limit_from(quota, period);
}

int weft__cgroup_v1_parse(const char *quota_text, const char *period_text) {
  if (!quota_text || !period_text) return WEFT_EINVAL;
  const char *q = quota_text, *p = period_text;
  unsigned long long quota, period;
  while (*q == ' ') q++;
  if (strncmp(q, "-1", 2) == 0 && only_space_left(q + 2)) return 0;
  if (!parse_u64(&q, &quota) || !only_space_left(q)) return WEFT_EINVAL;
  if (!parse_u64(&p, &period) || !only_space_left(p)) return WEFT_EINVAL;
  return limit_from(quota, period);
}

/* Reads a small file into buf (NUL-terminated); false when unreadable. */
static bool read_small(const char *dir, const char *file, char *buf, size_t cap) {
  char path[PATH_CAP];
  if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) return false;
  FILE *f = fopen(path, "re");
  if (!f) return false;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = '\0';
  return n > 0;
}

unsigned weft__cgroup_dir_limit(const char *dir, bool v2) {
  char a[128], b[128];
  int limit;
  if (v2) {
    if (!read_small(dir, "cpu.max", a, sizeof a)) return 0;
    limit = weft__cgroup_v2_parse(a);
  } else {
    if (!read_small(dir, "cpu.cfs_quota_us", a, sizeof a)) return 0;
    if (!read_small(dir, "cpu.cfs_period_us", b, sizeof b)) return 0;
    limit = weft__cgroup_v1_parse(a, b);
  }
  return limit > 0 ? (unsigned)limit : 0;
}

static unsigned tighter(unsigned a, unsigned b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return a < b ? a : b;
}

/* Walks from mount/rel up to mount, keeping the tightest limit. */
static unsigned walk_up(const char *mount, const char *rel, bool v2) {
  char dir[PATH_CAP];
  if (snprintf(dir, sizeof dir, "%s%s", mount, rel) >= (int)sizeof dir) return 0;
  size_t floor = strlen(mount);
  unsigned best = 0;
  for (;;) {
    best = tighter(best, weft__cgroup_dir_limit(dir, v2));
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) < floor) break;
    *slash = '\0';
  }
  return best;
}

/* True when comma-separated `list` contains `item`. */
static bool list_has(const char *list, const char *item) {
  size_t n = strlen(item);
  for (const char *p = list; p; p = strchr(p, ',')) {
    if (*p == ',') p++;
    if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '\0')) return true;
  }
  return false;
}

/* The process's cgroup path in the v2 hierarchy (v2) or the v1 hierarchy
 * holding the cpu controller; false when there is none. */
static bool find_cgroup_path(const char *proc_cgroup, bool v2, char *out, size_t cap) {
  FILE *f = fopen(proc_cgroup, "re");
  if (!f) return false;
  char line[PATH_CAP + 256];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *ctl = strchr(line, ':');
    char *path = ctl ? strchr(ctl + 1, ':') : NULL;
    if (!path) continue;
    *path++ = '\0';
    *ctl++ = '\0';
    bool match = v2 ? strcmp(line, "0") == 0 && *ctl == '\0' : list_has(ctl, "cpu");
    if (match && strlen(path) < cap) {
      strcpy(out, path);
      found = true;
    }
  }
  fclose(f);
  return found;
}

struct mount_point {
  char root[PATH_CAP]; /* the cgroup this mount shows at its top */
  char dir[PATH_CAP];  /* where it is mounted */
};

/* Does a mountinfo line (split into fields) mount the hierarchy we want? */
static bool is_wanted_mount(char **field, int nfields, bool v2) {
  int dash = 6;
  while (dash < nfields && strcmp(field[dash], "-") != 0) dash++;
  if (dash + 3 >= nfields) return false; /* fstype, source, super options */
  const char *fstype = field[dash + 1];
  if (v2) return strcmp(fstype, "cgroup2") == 0;
  return strcmp(fstype, "cgroup") == 0 && list_has(field[dash + 3], "cpu");
}

static bool find_mount(const char *mountinfo, bool v2, struct mount_point *mp) {
  FILE *f = fopen(mountinfo, "re");
  if (!f) return false;
  char line[3 * PATH_CAP];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    char *field[32], *save = NULL;
    int n = 0;
    for (char *tok = strtok_r(line, " \n", &save); tok && n < 32;
         tok = strtok_r(NULL, " \n", &save))
      field[n++] = tok;
    if (n < 10 || !is_wanted_mount(field, n, v2)) continue;
    if (strlen(field[3]) >= PATH_CAP || strlen(field[4]) >= PATH_CAP) continue;
    strcpy(mp->root, field[3]);
    strcpy(mp->dir, field[4]);
    found = true;
  }
  fclose(f);
  return found;
}

/* The cgroup path relative to the mount: strips the mount's root when the
 * path lies below it. A path outside the root (another namespace's view)
 * cannot be reached; then only the mount's own top directory is read. */
static const char *relative_to_root(const char *path, const char *root) {
  if (strcmp(root, "/") == 0) return strcmp(path, "/") == 0 ? "" : path;
  size_t n = strlen(root);
  if (strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0')) return path + n;
  return "";
}

static unsigned hierarchy_limit(const char *proc_cgroup, const char *mountinfo, bool v2) {
  char path[PATH_CAP];
  struct mount_point *mp = malloc(sizeof *mp);
  unsigned limit = 0;
  if (mp && find_cgroup_path(proc_cgroup, v2, path, sizeof path) &&
      find_mount(mountinfo, v2, mp))
    limit = walk_up(mp->dir, relative_to_root(path, mp->root), v2);
  free(mp);
  return limit;
}

unsigned weft__cgroup_cpu_limit(const char *proc_cgroup, const char *mountinfo) {
  if (!proc_cgroup || !mountinfo) return 0;
  /* Hybrid systems mount both; a quota may sit in either. */
  return tighter(hierarchy_limit(proc_cgroup, mountinfo, true),
                 hierarchy_limit(proc_cgroup, mountinfo, false));
}
