/* tests/test_thread.c — named threads, joins, affinity, CPU counting. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "weft/thread.h"
#include "thread/cpus.h"

/* ---- create / join ---- */

static int return_arg_times_seven(void *arg) {
  return (int)(intptr_t)arg * 7;
}

static void create_and_join_return_values(void **state) {
  (void)state;
  weft_thread *t[6];
  for (int i = 0; i < 6; i++)
    assert_ok(weft_thread_create(&t[i], "ret", return_arg_times_seven, (void *)(intptr_t)i));
  for (int i = 0; i < 6; i++) {
    int result = -1;
    assert_ok(weft_thread_join(t[i], &result));
    assert_int_equal(result, i * 7);
  }
  weft_thread *u;
  assert_ok(weft_thread_create(&u, NULL, return_arg_times_seven, (void *)(intptr_t)-3));
  assert_ok(weft_thread_join(u, NULL)); /* result may be ignored */
}

/* ---- names ---- */

struct seen_names {
  char pthread_name[32];
  char comm[32];
  uint64_t tid;
};

static void read_comm(uint64_t tid, char *out, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%llu/comm", (unsigned long long)tid);
  FILE *f = fopen(path, "r");
  out[0] = '\0';
  if (!f) return;
  if (fgets(out, (int)cap, f)) out[strcspn(out, "\n")] = '\0';
  fclose(f);
}

static int record_names(void *arg) {
  struct seen_names *seen = arg;
  seen->tid = weft_thread_self_id();
  pthread_getname_np(pthread_self(), seen->pthread_name, sizeof seen->pthread_name);
  read_comm(seen->tid, seen->comm, sizeof seen->comm);
  return 0;
}

static void names_are_visible_to_the_os(void **state) {
  (void)state;
  struct seen_names seen;
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "weft-worker-1", record_names, &seen));
  assert_string_equal(weft_thread_name(t), "weft-worker-1");
  assert_ok(weft_thread_join(t, NULL));
  assert_string_equal(seen.pthread_name, "weft-worker-1");
  assert_string_equal(seen.comm, "weft-worker-1");
  assert_true(seen.tid != weft_thread_self_id());

  /* Long names are truncated to the 15 bytes Linux keeps. */
  assert_ok(weft_thread_create(&t, "a-very-long-thread-name", record_names, &seen));
  assert_string_equal(weft_thread_name(t), "a-very-long-thr");
  assert_ok(weft_thread_join(t, NULL));
  assert_string_equal(seen.comm, "a-very-long-thr");

  assert_ok(weft_thread_create(&t, NULL, record_names, &seen));
  assert_string_equal(weft_thread_name(t), "");
  assert_ok(weft_thread_join(t, NULL));
}

static int rename_self(void *arg) {
  struct seen_names *seen = arg;
  if (weft_thread_set_self_name("renamed-by-itself") != 0) return -1;
  if (weft_thread_set_self_name(NULL) != WEFT_EINVAL) return -2;
  return record_names(seen);
}

static void set_self_name_renames_the_caller(void **state) {
  (void)state;
  struct seen_names seen;
  weft_thread *t;
  int result = 1;
  assert_ok(weft_thread_create(&t, "before", rename_self, &seen));
  assert_ok(weft_thread_join(t, &result));
  assert_int_equal(result, 0);
  assert_string_equal(seen.comm, "renamed-by-itse");
}

/* ---- timed join, detach, self join ---- */

struct gate {
  sem_t go;
  sem_t done;
};

static int wait_for_go(void *arg) {
  struct gate *g = arg;
  while (sem_wait(&g->go) != 0) {
  }
  sem_post(&g->done);
  return 42;
}

static void join_timed_times_out_then_join_works(void **state) {
  (void)state;
  struct gate g;
  sem_init(&g.go, 0, 0);
  sem_init(&g.done, 0, 0);
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "blocked", wait_for_go, &g));
  int result = 0;
  uint64_t start = weft_now_ns();
  assert_weft(weft_thread_join_timed(t, &result, 20000000), WEFT_ETIMEDOUT);
  assert_true(weft_now_ns() - start >= 20000000);
  assert_int_equal(result, 0);
  assert_weft(weft_thread_join_timed(t, &result, 0), WEFT_ETIMEDOUT);
  sem_post(&g.go);
  assert_ok(weft_thread_join_timed(t, &result, 60ull * 1000000000));
  assert_int_equal(result, 42);

  assert_ok(weft_thread_create(&t, "blocked2", wait_for_go, &g));
  sem_post(&g.go);
  assert_ok(weft_thread_join_timed(t, &result, WEFT_FOREVER));
  assert_int_equal(result, 42);
  sem_destroy(&g.go);
  sem_destroy(&g.done);
}

static void detached_thread_runs_to_completion(void **state) {
  (void)state;
  static struct gate g; /* outlives this test: the thread may still be leaving */
  sem_init(&g.go, 0, 0);
  sem_init(&g.done, 0, 0);
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "detached", wait_for_go, &g));
  assert_ok(weft_thread_detach(t));
  sem_post(&g.go);
  while (sem_wait(&g.done) != 0) {
  }
}

struct self_join {
  sem_t published;
  weft_thread *self;
};

static int join_myself(void *arg) {
  struct self_join *sj = arg;
  while (sem_wait(&sj->published) != 0) {
  }
  int rc = weft_thread_join(sj->self, NULL);
  int rc2 = weft_thread_join_timed(sj->self, NULL, 1000);
  return rc == WEFT_EDEADLK && rc2 == WEFT_EDEADLK ? 0 : 1;
}

static void joining_yourself_is_a_deadlock_error(void **state) {
  (void)state;
  struct self_join sj;
  sem_init(&sj.published, 0, 0);
  assert_ok(weft_thread_create(&sj.self, "selfjoin", join_myself, &sj));
  sem_post(&sj.published);
  int result = -1;
  assert_ok(weft_thread_join(sj.self, &result));
  assert_int_equal(result, 0);
  sem_destroy(&sj.published);
}

static int report_tid(void *arg) {
  *(uint64_t *)arg = weft_thread_self_id();
  return 0;
}

static void self_id_is_the_kernel_tid(void **state) {
  (void)state;
  assert_int_equal(weft_thread_self_id(), (uint64_t)getpid()); /* cmocka runs in main */
  uint64_t a = 0, b = 0;
  weft_thread *ta, *tb;
  assert_ok(weft_thread_create(&ta, "a", report_tid, &a));
  assert_ok(weft_thread_create(&tb, "b", report_tid, &b));
  assert_ok(weft_thread_join(ta, NULL));
  assert_ok(weft_thread_join(tb, NULL));
  assert_true(a != 0 && b != 0 && a != b && a != (uint64_t)getpid());
}

static void bad_arguments_are_rejected(void **state) {
  (void)state;
  weft_thread *t = (weft_thread *)&t;
  assert_weft(weft_thread_create(NULL, "x", return_arg_times_seven, NULL), WEFT_EINVAL);
  assert_weft(weft_thread_create(&t, "x", NULL, NULL), WEFT_EINVAL);
  assert_null(t);
  assert_weft(weft_thread_join(NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_thread_join_timed(NULL, NULL, 5), WEFT_EINVAL);
  assert_weft(weft_thread_detach(NULL), WEFT_EINVAL);
  assert_weft(weft_thread_set_self_name(NULL), WEFT_EINVAL);
  assert_string_equal(weft_thread_name(NULL), "");
  int cpu = 0;
  assert_weft(weft_thread_set_affinity(NULL, NULL, 1), WEFT_EINVAL);
  assert_weft(weft_thread_set_affinity(NULL, &cpu, 0), WEFT_EINVAL);
}

/* ---- sleep and yield ---- */

static volatile sig_atomic_t signals_seen;
static void count_signal(int sig) {
  (void)sig;
  signals_seen++;
}

struct pester {
  pthread_t target;
  int stop; /* atomic */
};

static int pester_with_signals(void *arg) {
  struct pester *p = arg;
  while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
    pthread_kill(p->target, SIGUSR1);
    weft_sleep_ns(1000000); /* pacing only, not synchronisation */
  }
  return 0;
}

static void sleep_lasts_despite_signals(void **state) {
  (void)state;
  struct sigaction sa = {0}, old;
  sa.sa_handler = count_signal; /* no SA_RESTART: the sleep sees EINTR */
  sigaction(SIGUSR1, &sa, &old);
  signals_seen = 0;
  struct pester p = {pthread_self(), 0};
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "pester", pester_with_signals, &p));
  uint64_t start = weft_now_ns();
  weft_sleep_ns(50000000);
  uint64_t slept = weft_now_ns() - start;
  __atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
  assert_ok(weft_thread_join(t, NULL));
  sigaction(SIGUSR1, &old, NULL);
  assert_true(slept >= 50000000);
  weft_sleep_ns(0);
  weft_thread_yield();
}

/* ---- affinity ---- */

static int first_cpu_in(const cpu_set_t *set, bool member) {
  for (int c = 0; c < CPU_SETSIZE; c++)
    if ((CPU_ISSET(c, set) != 0) == member) return c;
  return -1;
}

struct pinned {
  sem_t pinned;
  sem_t checked;
  cpu_set_t seen;
};

static int wait_to_be_pinned(void *arg) {
  struct pinned *p = arg;
  while (sem_wait(&p->pinned) != 0) {
  }
  sched_getaffinity(0, sizeof p->seen, &p->seen);
  sem_post(&p->checked);
  return 0;
}

static void affinity_of_another_thread(void **state) {
  (void)state;
  cpu_set_t allowed;
  assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  int cpu = first_cpu_in(&allowed, true);
  struct pinned p;
  sem_init(&p.pinned, 0, 0);
  sem_init(&p.checked, 0, 0);
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "pinned", wait_to_be_pinned, &p));
  assert_ok(weft_thread_set_affinity(t, &cpu, 1));
  sem_post(&p.pinned);
  assert_ok(weft_thread_join(t, NULL));
  assert_int_equal(CPU_COUNT(&p.seen), 1);
  assert_true(CPU_ISSET(cpu, &p.seen));
  sem_destroy(&p.pinned);
  sem_destroy(&p.checked);
}

static void affinity_of_the_caller_and_bad_cpus(void **state) {
  (void)state;
  cpu_set_t allowed, now;
  assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  int cpu = first_cpu_in(&allowed, true);
  assert_ok(weft_thread_set_affinity(NULL, &cpu, 1));
  assert_int_equal(sched_getaffinity(0, sizeof now, &now), 0);
  assert_int_equal(CPU_COUNT(&now), 1);
  assert_true(CPU_ISSET(cpu, &now));
  assert_int_equal(sched_setaffinity(0, sizeof allowed, &allowed), 0);

  int negative = -1, too_big = CPU_SETSIZE + 5;
  assert_weft(weft_thread_set_affinity(NULL, &negative, 1), WEFT_EINVAL);
  assert_weft(weft_thread_set_affinity(NULL, &too_big, 1), WEFT_EINVAL);
  int forbidden = first_cpu_in(&allowed, false);
  if (forbidden >= 0) {
    int mixed[2] = {cpu, forbidden};
    assert_weft(weft_thread_set_affinity(NULL, &forbidden, 1), WEFT_EINVAL);
    assert_weft(weft_thread_set_affinity(NULL, mixed, 2), WEFT_EINVAL);
    /* A refused call leaves the mask as it was. */
    assert_int_equal(sched_getaffinity(0, sizeof now, &now), 0);
    assert_true(CPU_EQUAL(&now, &allowed));
  }
}

/* ---- CPU count ---- */

static void cpu_count_is_within_the_affinity_mask(void **state) {
  (void)state;
  unsetenv("WEFT_THREADS");
  cpu_set_t allowed;
  assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  unsigned n = weft_cpu_count();
  assert_true(n >= 1);
  assert_true(n <= (unsigned)CPU_COUNT(&allowed));
  assert_int_equal(weft__affinity_count(), (unsigned)CPU_COUNT(&allowed));
  assert_int_equal(weft_cpu_count(), n); /* the cached path agrees */
}

static void weft_threads_overrides_when_positive(void **state) {
  (void)state;
  unsetenv("WEFT_THREADS");
  unsigned natural = weft_cpu_count();
  setenv("WEFT_THREADS", "3", 1);
  assert_int_equal(weft_cpu_count(), 3);
  setenv("WEFT_THREADS", "117", 1);
  assert_int_equal(weft_cpu_count(), 117);
  const char *ignored[] = {"0", "-2", "abc", "3x", "", " 4", "99999999999999999999"};
  for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
    setenv("WEFT_THREADS", ignored[i], 1);
    assert_int_equal(weft_cpu_count(), natural);
  }
  unsetenv("WEFT_THREADS");
  assert_int_equal(weft__parse_thread_override(NULL), 0);
  assert_int_equal(weft__parse_thread_override("12"), 12);
}

static void cgroup_v2_cpu_max_parsing(void **state) {
  (void)state;
  assert_int_equal(weft__cgroup_v2_parse("max 100000"), 0);
  assert_int_equal(weft__cgroup_v2_parse("max 100000\n"), 0);
  assert_int_equal(weft__cgroup_v2_parse("150000 100000"), 2);
  assert_int_equal(weft__cgroup_v2_parse("50000 100000\n"), 1);
  assert_int_equal(weft__cgroup_v2_parse("100000 100000"), 1);
  assert_int_equal(weft__cgroup_v2_parse("400000 100000\n"), 4);
  assert_int_equal(weft__cgroup_v2_parse("1 1000000"), 1);
  const char *garbage[] = {"", "\n", "max", "abc def", "150000", "-5 100000",
                           "150000 0", "150000 100000 7", "max max", "0 100000", NULL};
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
    assert_weft(weft__cgroup_v2_parse(garbage[i]), WEFT_EINVAL);
}

static void cgroup_v1_quota_parsing(void **state) {
  (void)state;
  assert_int_equal(weft__cgroup_v1_parse("-1\n", "100000\n"), 0);
  assert_int_equal(weft__cgroup_v1_parse("150000\n", "100000\n"), 2);
  assert_int_equal(weft__cgroup_v1_parse("50000", "100000"), 1);
  assert_weft(weft__cgroup_v1_parse("x", "100000"), WEFT_EINVAL);
  assert_weft(weft__cgroup_v1_parse("50000", "0"), WEFT_EINVAL);
  assert_weft(weft__cgroup_v1_parse("-7", "100000"), WEFT_EINVAL);
  assert_weft(weft__cgroup_v1_parse(NULL, "100000"), WEFT_EINVAL);
}

/* ---- cgroup lookup over a fake /proc and /sys/fs/cgroup ---- */

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void make_dir(const char *root, const char *rel, char *out, size_t cap) {
  snprintf(out, cap, "%s%s", root, rel);
  assert_true(mkdir(out, 0700) == 0 || errno == EEXIST);
}

struct fake_tree {
  char root[64];
  char proc_cgroup[128];
  char mountinfo[128];
};

/* root/v2/a/b (cgroup2 mount) and root/cpu (v1 cpu,cpuacct mount whose
 * root is /docker/x, as inside a container without a cgroup namespace). */
static void build_fake_tree(struct fake_tree *ft) {
  char dir[256], line[1024];
  snprintf(ft->root, sizeof ft->root, "/tmp/weft_cgroup_XXXXXX");
  assert_non_null(mkdtemp(ft->root));
  make_dir(ft->root, "/v2", dir, sizeof dir);
  make_dir(ft->root, "/v2/a", dir, sizeof dir);
  make_dir(ft->root, "/v2/a/b", dir, sizeof dir);
  make_dir(ft->root, "/cpu", dir, sizeof dir);
  snprintf(ft->proc_cgroup, sizeof ft->proc_cgroup, "%s/cgroup", ft->root);
  snprintf(ft->mountinfo, sizeof ft->mountinfo, "%s/mountinfo", ft->root);
  write_file(ft->root, "cgroup", "5:memory:/elsewhere\n4:cpu,cpuacct:/docker/x\n0::/a/b\n");
  snprintf(line, sizeof line,
           "25 1 0:21 / /proc rw,nosuid - proc proc rw\n"
           "32 31 0:29 /docker/x %s/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
           "33 31 0:30 / %s/mem rw,relatime - cgroup cgroup rw,memory\n"
           "41 31 0:38 / %s/v2 rw,relatime - cgroup2 cgroup2 rw\n",
           ft->root, ft->root, ft->root);
  write_file(ft->root, "mountinfo", line);
}

static void remove_fake_tree(struct fake_tree *ft) {
  const char *files[] = {"/v2/a/b/cpu.max", "/v2/a/cpu.max", "/v2/cpu.max",
                         "/cpu/cpu.cfs_quota_us", "/cpu/cpu.cfs_period_us", "/cgroup",
                         "/mountinfo", "/v2/a/b", "/v2/a", "/v2", "/cpu", ""};
  char path[512];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s%s", ft->root, files[i]);
    remove(path);
  }
}

static void cgroup_limit_from_fake_files(void **state) {
  (void)state;
  struct fake_tree ft;
  char dir[256];
  build_fake_tree(&ft);
  assert_int_equal(weft__cgroup_cpu_limit(ft.proc_cgroup, ft.mountinfo), 0); /* no files */

  snprintf(dir, sizeof dir, "%s/v2/a/b", ft.root);
  write_file(dir, "cpu.max", "max 100000\n");
  assert_int_equal(weft__cgroup_dir_limit(dir, true), 0);
  assert_int_equal(weft__cgroup_cpu_limit(ft.proc_cgroup, ft.mountinfo), 0);

  /* An ancestor's quota applies to its descendants. */
  snprintf(dir, sizeof dir, "%s/v2/a", ft.root);
  write_file(dir, "cpu.max", "250000 100000\n");
  assert_int_equal(weft__cgroup_cpu_limit(ft.proc_cgroup, ft.mountinfo), 3);
  snprintf(dir, sizeof dir, "%s/v2/a/b", ft.root);
  write_file(dir, "cpu.max", "150000 100000\n");
  assert_int_equal(weft__cgroup_cpu_limit(ft.proc_cgroup, ft.mountinfo), 2);

  /* Garbage is ignored, not trusted. */
  snprintf(dir, sizeof dir, "%s/v2/a", ft.root);
  write_file(dir, "cpu.max", "garbage\n");
  assert_int_equal(weft__cgroup_dir_limit(dir, true), 0);
  assert_int_equal(weft__cgroup_cpu_limit(ft.proc_cgroup, ft.mountinfo), 2);

  /* v1: the mount root /docker/x is stripped from the process's path. */
  snprintf(dir, sizeof dir, "%s/cpu", ft.root);
  write_file(dir, "cpu.cfs_quota_us", "-1\n");
  write_file(dir, "cpu.cfs_period_us", "100000\n");
  assert_int_equal(weft__cgroup_cpu_limit(ft.proc_cgroup, ft.mountinfo), 2);
  write_file(dir, "cpu.cfs_quota_us", "50000\n");
  assert_int_equal(weft__cgroup_dir_limit(dir, false), 1);
  assert_int_equal(weft__cgroup_cpu_limit(ft.proc_cgroup, ft.mountinfo), 1);

  assert_int_equal(weft__cgroup_cpu_limit("/nonexistent/cgroup", ft.mountinfo), 0);
  assert_int_equal(weft__cgroup_cpu_limit(NULL, NULL), 0);
  remove_fake_tree(&ft);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_and_join_return_values),
      cmocka_unit_test(names_are_visible_to_the_os),
      cmocka_unit_test(set_self_name_renames_the_caller),
      cmocka_unit_test(join_timed_times_out_then_join_works),
      cmocka_unit_test(detached_thread_runs_to_completion),
      cmocka_unit_test(joining_yourself_is_a_deadlock_error),
      cmocka_unit_test(self_id_is_the_kernel_tid),
      cmocka_unit_test(bad_arguments_are_rejected),
      cmocka_unit_test(sleep_lasts_despite_signals),
      cmocka_unit_test(affinity_of_another_thread),
      cmocka_unit_test(affinity_of_the_caller_and_bad_cpus),
      cmocka_unit_test(cpu_count_is_within_the_affinity_mask),
      cmocka_unit_test(weft_threads_overrides_when_positive),
      cmocka_unit_test(cgroup_v2_cpu_max_parsing),
      cmocka_unit_test(cgroup_v1_quota_parsing),
      cmocka_unit_test(cgroup_limit_from_fake_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
