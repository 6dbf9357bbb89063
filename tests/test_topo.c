/* tests/test_topo.c — weft_topo_query: sane values, consistent with what
 * sysconf and sched_getaffinity say, and following a narrowed affinity mask
 * (a thread pinned to one CPU, as `taskset -c N` would). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weft/thread.h"
#include "weft/topo.h"
#include "testutil.h"

static void null_is_einval(void **state) {
  (void)state;
  assert_weft(weft_topo_query(NULL), WEFT_EINVAL);
}

/* Counts the CPUs named by "0-3,6"-style ranges. */
static unsigned count_list(const char *s) {
  unsigned n = 0;
  while (*s) {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    assert_true(end != s);
    if (*end == '-') b = strtol(end + 1, &end, 10);
    assert_true(b >= a);
    n += (unsigned)(b - a + 1);
    s = *end == ',' ? end + 1 : end;
    assert_true(*end == ',' || *end == '\0');
  }
  return n;
}

static void cpus_match_the_kernel(void **state) {
  (void)state;
  weft_topo t;
  assert_weft(weft_topo_query(&t), 0);
  cpu_set_t set;
  CPU_ZERO(&set);
  assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
  assert_int_equal(t.online, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
  assert_int_equal(t.allowed, (unsigned)CPU_COUNT(&set));
  assert_int_equal(count_list(t.allowed_list), t.allowed);
  assert_true(t.allowed >= 1 && t.allowed <= t.online);
  assert_true(t.usable >= 1 && t.usable <= t.allowed);
  if (t.quota) assert_int_equal(t.usable, t.quota < t.allowed ? t.quota : t.allowed);
  else assert_int_equal(t.usable, t.allowed);
  /* the default worker count is weft_cpu_count, WEFT_THREADS aside */
  assert_int_equal(t.workers, weft_cpu_count());
  if (!t.override) assert_int_equal(t.workers, t.usable);
}

static void hardware_is_consistent(void **state) {
  (void)state;
  weft_topo t;
  assert_weft(weft_topo_query(&t), 0);
  assert_true(t.has_hwloc);  /* hwloc is a hard dependency: it must load here */
  assert_int_equal(t.pus, t.allowed);
  assert_true(t.cores >= 1 && t.cores <= t.pus);
  assert_true(t.smt >= 1 && t.smt <= 8);
  /* cores x threads-per-core covers the threads */
  assert_true(t.cores * t.smt >= t.pus);
  assert_true(t.packages >= 1 && t.packages <= t.cores);
  assert_true(t.numa_nodes >= 1 && t.numa_nodes <= t.pus);
  /* caches: when known, sizes grow with the level and instances shrink */
  if (t.l1d.size) {
    assert_true(t.l1d.size >= 4096 && t.l1d.size <= (1u << 22));
    assert_true(t.l1d.instances >= 1 && t.l1d.instances <= t.pus);
    assert_true(t.l1d.line == 0 || (t.l1d.line >= 16 && t.l1d.line <= 512));
  }
  if (t.l1d.size && t.l2.size) {
    assert_true(t.l2.size > t.l1d.size);
    assert_true(t.l2.instances <= t.l1d.instances);
  }
  if (t.l2.size && t.l3.size) {
    assert_true(t.l3.instances <= t.l2.instances);
    assert_true(t.l3.size >= t.l2.size);
  }
  /* memory: MemTotal in bytes, matching sysconf within a page rounding */
  uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
  assert_true(t.mem_total >= phys - phys / 100);
  assert_true(t.mem_available > 0 && t.mem_available <= t.mem_total);
  assert_true(t.mem_limit == 0 || t.mem_limit < t.mem_total);
}

/* Pinned to one CPU, a thread's query reports one CPU and one core: the
 * counts follow the binding, not the machine. Runs in a thread of its own so
 * that the test process keeps its mask. */
static void *pinned_query(void *arg) {
  weft_topo *t = arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  int first = 0;
  while (!CPU_ISSET(first, &set)) first++;
  int cpus[1] = {first};
  if (weft_thread_set_affinity(NULL, cpus, 1) != 0) return NULL;
  weft_topo_query(t);
  return t;
}

static void follows_a_narrowed_mask(void **state) {
  (void)state;
  weft_topo t;
  memset(&t, 0, sizeof t);
  pthread_t th;
  void *ok = NULL;
  assert_int_equal(pthread_create(&th, NULL, pinned_query, &t), 0);
  assert_int_equal(pthread_join(th, &ok), 0);
  assert_non_null(ok);
  assert_int_equal(t.allowed, 1);
  assert_int_equal(t.usable, 1);
  assert_int_equal(count_list(t.allowed_list), 1);
  /* hwloc's process binding is the union over threads: at least this one */
  assert_true(t.cores >= 1 && t.pus >= 1);
}

static void why_names_the_reason(void **state) {
  (void)state;
  char why[256];
  weft_topo t;
  assert_weft(weft_topo_query(&t), 0);
  t.override = 0, t.quota = 0, t.allowed = 4, t.workers = 4;
  weft_topo_workers_why(&t, why, sizeof why);
  assert_non_null(strstr(why, "4: the affinity mask allows 4 CPUs, no cgroup CPU quota"));
  t.quota = 2, t.workers = 2;
  weft_topo_workers_why(&t, why, sizeof why);
  assert_non_null(strstr(why, "cgroup CPU quota (2"));
  t.override = 9, t.workers = 9, t.usable = 2;
  weft_topo_workers_why(&t, why, sizeof why);
  assert_non_null(strstr(why, "WEFT_THREADS=9"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(null_is_einval),
      cmocka_unit_test(cpus_match_the_kernel),
      cmocka_unit_test(hardware_is_consistent),
      cmocka_unit_test(follows_a_narrowed_mask),
      cmocka_unit_test(why_names_the_reason),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
