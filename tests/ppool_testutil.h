/* tests/ppool_testutil.h — what the process-pool tests share: leak checks
 * (descriptors, zombies, /dev/shm entries) and counters that worker
 * processes can reach.
 *
 * Workers started by the fork server are not children of the test, so
 * they cannot see its anonymous mappings (weft_shm_array works only with
 * FORK). Test bookkeeping therefore lives in a named segment whose name
 * travels in the task's argument; each worker maps it once and keeps it. */
#ifndef WEFT_PPOOL_TESTUTIL_H
#define WEFT_PPOOL_TESTUTIL_H

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "weft/weft.h"

#define MS 1000000ull

#if defined(WEFT_ASAN) || defined(WEFT_TSAN) || defined(__SANITIZE_ADDRESS__) || \
    defined(__SANITIZE_THREAD__)
#define PT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PT_SANITIZED 1
#endif
#endif
#ifndef PT_SANITIZED
#define PT_SANITIZED 0
#endif

/* ---- counters shared with the workers ---- */

typedef struct pt_shared {
  char name[48];
  weft_shm *shm;
} pt_shared;

static inline _Atomic uint32_t *pt_shared_open(pt_shared *s, size_t n) {
  static unsigned seq;
  snprintf(s->name, sizeof s->name, "/weft-tppool-%d-%u", (int)getpid(), seq++);
  assert_ok(weft_shm_create(&s->shm, s->name, n * sizeof(uint32_t)));
  return weft_shm_ptr(s->shm);
}

static inline void pt_shared_close(pt_shared *s) {
  assert_ok(weft_shm_unlink(s->name));
  weft_shm_destroy(s->shm);
  s->shm = NULL;
}

/* In a worker: the counters named `name`, mapped on first use and kept for
 * the worker's life (one segment at a time). NULL if it cannot be opened. */
static inline _Atomic uint32_t *pt_worker_counters(const char *name) {
  static char cached[48];
  static weft_shm *s;
  if (!s || strcmp(cached, name) != 0) {
    weft_shm_destroy(s);
    s = NULL;
    if (weft_shm_open(&s, name) != 0) return NULL;
    snprintf(cached, sizeof cached, "%s", name);
  }
  return weft_shm_ptr(s);
}

/* ---- leak checks ---- */

/* Reads state and parent of process `pid`; false if it is gone. */
static inline bool pt_proc_stat(const char *pid, char *state, long *ppid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%.32s/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *rp = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
  return rp && sscanf(rp + 1, " %c %ld", state, ppid) == 2;
}

/* Zombies whose parent is this process or one of its children (the fork
 * server reaps the workers it forked). */
static inline int pt_zombie_count(void) {
  long kids[64];
  int nkids = 0, zombies = 0;
  long me = (long)getpid();
  for (int pass = 0; pass < 2; pass++) {
    DIR *d = opendir("/proc");
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      char st;
      long ppid;
      if (!pt_proc_stat(e->d_name, &st, &ppid)) continue;
      if (pass == 0) {
        if (ppid == me && nkids < 64) kids[nkids++] = atol(e->d_name);
        continue;
      }
      bool ours = ppid == me;
      for (int i = 0; i < nkids && !ours; i++) ours = ppid == kids[i];
      if (ours && st == 'Z') {
        print_message("zombie: pid %s, parent %ld\n", e->d_name, ppid);
        zombies++;
      }
    }
    closedir(d);
  }
  return zombies;
}

/* The names in /dev/shm, as one '\n'-separated string (caller frees). */
static inline char *pt_shm_names(void) {
  size_t cap = 4096, len = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  s[0] = '\0';
  DIR *d = opendir("/dev/shm");
  if (!d) return s;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    size_t n = strlen(e->d_name);
    while (len + n + 3 > cap) assert_non_null(s = realloc(s, cap *= 2));
    s[len++] = '\n';
    memcpy(s + len, e->d_name, n);
    len += n;
    s[len] = '\0';
  }
  closedir(d);
  if (len + 2 > cap) assert_non_null(s = realloc(s, cap + 2));
  s[len++] = '\n';
  s[len] = '\0';
  return s;
}

/* True when `name` carries the pid of a live process that is not this one
 * (other test programs run at the same time and name their segments after
 * themselves; a pool's worker pids are dead after destroy, so they count). */
static inline bool pt_foreign_name(const char *name) {
  for (const char *q = name; *q; q++) {
    if (*q < '0' || *q > '9' || (q > name && q[-1] >= '0' && q[-1] <= '9')) continue;
    long pid = atol(q);
    char dir[32], st;
    long ppid;
    snprintf(dir, sizeof dir, "%ld", pid);
    if (pid > 1 && pid != (long)getpid() && pt_proc_stat(dir, &st, &ppid) && st != 'Z' &&
        ppid != (long)getpid())
      return true;
  }
  return false;
}

/* Entries of /dev/shm now that were not in `before` and are still there a
 * moment later (other programs on the machine come and go). */
static inline int pt_shm_new_entries(const char *before) {
  int leaked = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    char *now = pt_shm_names();
    leaked = 0;
    for (char *p = now + 1; *p; p = strchr(p, '\n') + 1) {
      char *end = strchr(p, '\n');
      char key[300];
      snprintf(key, sizeof key, "\n%.*s\n", (int)(end - p), p);
      char bare[300];
      snprintf(bare, sizeof bare, "%.*s", (int)(end - p), p);
      if (!strstr(before, key) && !pt_foreign_name(bare)) {
        if (attempt) print_message("new /dev/shm entry: %s", key + 1);
        leaked++;
      }
    }
    free(now);
    if (!leaked) break;
    usleep(300 * 1000);
  }
  return leaked;
}

/* Baseline taken at the start of a test, checked at its end. */
typedef struct pt_leaks {
  int fds;
  char *shm;
} pt_leaks;

static inline void pt_leaks_begin(pt_leaks *l) {
  l->fds = open_fd_count();
  l->shm = pt_shm_names();
}

static inline void pt_leaks_end(pt_leaks *l) {
  assert_int_equal(open_fd_count(), l->fds);
  assert_int_equal(pt_zombie_count(), 0);
  assert_int_equal(pt_shm_new_entries(l->shm), 0);
  free(l->shm);
  l->shm = NULL;
}

/* cmocka fixtures: the group setup starts the fork server (it starts on
 * first use and lives with the process) before the per-test baselines are
 * taken; each test then must leave no descriptor, zombie or segment behind. */
static pt_leaks pt_test_leaks;

static inline int pt_group_setup(void **state) {
  (void)state;
  weft_ppool *p;
  if (weft_ppool_create(&p, &(weft_ppool_options){.processes = 1}) != 0) return -1;
  weft_ppool_destroy(p);
  return 0;
}

static inline int pt_setup(void **state) {
  (void)state;
  pt_leaks_begin(&pt_test_leaks);
  return 0;
}

static inline int pt_teardown(void **state) {
  (void)state;
  pt_leaks_end(&pt_test_leaks);
  return 0;
}

#define pt_test(f) cmocka_unit_test_setup_teardown(f, pt_setup, pt_teardown)

/* Sets the result of the running pool task to a copy of size bytes. */
static inline int pt_result(const void *v, size_t size) {
  void *copy = malloc(size ? size : 1);
  if (!copy) return WEFT_ENOMEM;
  memcpy(copy, v, size);
  weft_task_set_result(copy, size, free);
  return 0;
}

/* A pool of procs workers started with method, for tests that need one. */
static inline weft_ppool *make_pool(unsigned procs, int method) {
  weft_ppool *p = NULL;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = procs,
                                                         .start_method = method,
                                                         .name = "tppool"}));
  return p;
}

#ifdef WEFT_TSAN
/* The fork server is a re-execution of the test program and forks the
 * workers; TSan must let those children start threads. Each pool test
 * program includes this header once; one that needs more options defines
 * PT_TSAN_OPTIONS before including it. */
#ifndef PT_TSAN_OPTIONS
#define PT_TSAN_OPTIONS "die_after_fork=0"
#endif
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) {
  return PT_TSAN_OPTIONS;
}
#endif

#endif /* WEFT_PPOOL_TESTUTIL_H */
