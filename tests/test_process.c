/* tests/test_process.c — process objects (weft_process_*) and, through
 * them, the launcher: every start method, argument bytes, exit codes,
 * signals, functions in shared libraries (linked and dlopen'ed), a function
 * that cannot be resolved, no orphans, no zombies, no leaked descriptors. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include "proc/launch.h"
#include "testutil.h"
#include "weft/weft.h"

#if defined(__SANITIZE_THREAD__)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "die_after_fork=0"; }
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "die_after_fork=0"; }
#endif
#endif

/* Sanitizers reserve huge address ranges: RLIMIT_AS cannot apply there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

int weft_testplugin_sum(const void *arg, size_t size);

static const int methods[] = {WEFT_START_SPAWN, WEFT_START_FORKSERVER, WEFT_START_FORK};
static const char *const method_names[] = {"", "spawn", "forkserver", "fork"};

/* ---- functions run in children (found by name in the re-executed program) ---- */

static int child_sum(const void *arg, size_t size) {
  const unsigned char *p = arg;
  unsigned s = 0;
  for (size_t i = 0; i < size; i++) s += p[i];
  return (int)(s % 251);
}

static int child_sleep(const void *arg, size_t size) {
  int ms = 0;
  if (size == sizeof ms) memcpy(&ms, arg, sizeof ms);
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  return 7;
}

static int child_pause(const void *arg, size_t size) {
  (void)arg;
  (void)size;
  for (;;) pause();
  return 0;
}

static int child_abort(const void *arg, size_t size) {
  (void)arg;
  (void)size;
  abort();
}

static int child_name(const void *arg, size_t size) {
  char comm[32] = "";
  int fd = open("/proc/self/comm", O_RDONLY);
  if (fd < 0) return 2;
  ssize_t n = read(fd, comm, sizeof comm - 1);
  close(fd);
  if (n > 0 && comm[n - 1] == '\n') comm[n - 1] = '\0';
  return strlen(comm) == size && memcmp(comm, arg, size) == 0 ? 0 : 1;
}

#ifndef SANITIZED
static int child_big_alloc(const void *arg, size_t size) {
  (void)arg;
  (void)size;
  void *p = malloc((size_t)512 << 20);
  int r = p ? 1 : 3;
  free(p);
  return r;
}
#endif

/* Recurses until the stack runs out (the limit keeps the compiler from
 * calling it infinite; it is never reached). */
static int overflow_depth(volatile char *prev, long n) {
  volatile char pad[4096];
  pad[0] = (char)n;
  pad[4095] = prev ? prev[0] : 0;
  if (n > (1L << 40)) return pad[0];
  return overflow_depth(pad, n + 1) + pad[1];
}

static int child_stack_overflow(const void *arg, size_t size) {
  (void)arg;
  (void)size;
  return overflow_depth(NULL, 0);
}

/* Run in a FORK child that ignores SIGCHLD: its fresh fork server must
 * still see its children's exit status. */
static int child_sum(const void *arg, size_t size);
static int child_ignoring_sigchld(const void *arg, size_t size) {
  (void)arg;
  (void)size;
  signal(SIGCHLD, SIG_IGN);
  unsigned char b[2] = {2, 3};
  weft_process_opts o = {.start_method = WEFT_START_FORKSERVER};
  weft_process *p = NULL;
  if (weft_process_start(&p, child_sum, b, sizeof b, &o)) return 100;
  int c = -1;
  /* Bounded, and no destroy on failure (it would wait for the reaping). */
  if (weft_process_join(p, 20 * 1000000000ull) || weft_process_exitcode(p, &c, NULL)) return 101;
  weft_process_destroy(p);
  return c;
}

/* ---- helpers ---- */

static weft_process *start(weft_proc_fn fn, const void *arg, size_t size, int method) {
  weft_process_opts o = {.start_method = method};
  weft_process *p = NULL;
  assert_ok(weft_process_start(&p, fn, arg, size, &o));
  assert_non_null(p);
  return p;
}

static void expect_exit(weft_process *p, int code) {
  assert_ok(weft_process_join(p, WEFT_FOREVER));
  int c = -2, s = -2;
  assert_ok(weft_process_exitcode(p, &c, &s));
  if (c != code) print_error("exit code %d (signal %d, %s), expected %d\n", c, s,
                             weft_process_message(p), code);
  assert_int_equal(c, code);
  assert_int_equal(s, 0);
}

/* Warm the fork server up so descriptor counts compare like with like. */
static void warm_up(void) {
  weft_process *p = start(child_sum, NULL, 0, WEFT_START_FORKSERVER);
  expect_exit(p, 0);
  weft_process_destroy(p);
}

/* ---- tests ---- */

static void test_exit_code_and_bytes(void **state) {
  (void)state;
  size_t big = (size_t)1 << 20;
  unsigned char *buf = malloc(big);
  assert_non_null(buf);
  for (size_t i = 0; i < big; i++) buf[i] = (unsigned char)(i * 131 + (i >> 9));
  size_t sizes[] = {0, 1, 1000, 70000, big};
  for (size_t m = 0; m < 3; m++)
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
      weft_process *p = start(child_sum, buf, sizes[k], methods[m]);
      assert_true(weft_process_pid(p) > 0);
      expect_exit(p, child_sum(buf, sizes[k]));
      assert_string_equal(weft_process_message(p), "");
      weft_process_destroy(p);
    }
  free(buf);
}

static void test_default_method_and_null_opts(void **state) {
  (void)state;
  unsigned char b[3] = {1, 2, 3};
  weft_process *p = NULL;
  assert_ok(weft_process_start(&p, child_sum, b, sizeof b, NULL));
  expect_exit(p, 6);
  weft_process_destroy(p);
}

static void test_join_timeout(void **state) {
  (void)state;
  for (size_t m = 0; m < 3; m++) {
    int ms = 400;
    weft_process *p = start(child_sleep, &ms, sizeof ms, methods[m]);
    assert_weft(weft_process_join(p, 0), WEFT_ETIMEDOUT);
    assert_weft(weft_process_join(p, 20 * 1000000ull), WEFT_ETIMEDOUT);
    int c;
    assert_weft(weft_process_exitcode(p, &c, NULL), WEFT_EAGAIN);
    assert_true(weft_process_is_alive(p));
    expect_exit(p, 7);
    assert_false(weft_process_is_alive(p));
    assert_ok(weft_process_join(p, 0)); /* stays ended */
    weft_process_destroy(p);
  }
}

static void test_terminate_kill(void **state) {
  (void)state;
  for (size_t m = 0; m < 3; m++) {
    for (int which = 0; which < 2; which++) {
      weft_process *p = start(child_pause, NULL, 0, methods[m]);
      pid_t pid = weft_process_pid(p);
      assert_true(pid > 0);
      assert_true(weft_process_is_alive(p));
      assert_ok(which ? weft_process_kill(p) : weft_process_terminate(p));
      assert_ok(weft_process_join(p, WEFT_FOREVER));
      assert_false(weft_process_is_alive(p));
      int c = 0, s = 0;
      assert_ok(weft_process_exitcode(p, &c, &s));
      assert_int_equal(c, -1);
      assert_int_equal(s, which ? SIGKILL : SIGTERM);
      assert_non_null(strstr(weft_process_message(p), "signal"));
      assert_weft(weft_process_terminate(p), WEFT_EALREADY);
      assert_weft(weft_process_kill(p), WEFT_EALREADY);
      weft_process_destroy(p);
    }
  }
}

static void test_crash_and_limits(void **state) {
  (void)state;
  for (size_t m = 0; m < 3; m++) {
    weft_process *p = start(child_abort, NULL, 0, methods[m]);
    assert_ok(weft_process_join(p, WEFT_FOREVER));
    int c = 0, s = 0;
    assert_ok(weft_process_exitcode(p, &c, &s));
    assert_int_equal(s, SIGABRT);
    assert_non_null(strstr(weft_process_message(p), "crashed"));
    weft_process_destroy(p);

    const char *name = "weft-test-kid";
    weft_process_opts o = {.start_method = methods[m], .name = name};
    assert_ok(weft_process_start(&p, child_name, name, strlen(name), &o));
    expect_exit(p, 0);
    weft_process_destroy(p);

#ifndef SANITIZED
    weft_process_opts lim = {.start_method = methods[m], .memory_limit = (size_t)256 << 20};
    assert_ok(weft_process_start(&p, child_big_alloc, NULL, 0, &lim));
    expect_exit(p, 3);
    weft_process_destroy(p);
#endif
  }
}

static void test_stack_overflow_reported(void **state) {
  (void)state;
  for (size_t m = 0; m < 3; m++) {
    weft_process *p = start(child_stack_overflow, NULL, 0, methods[m]);
    assert_ok(weft_process_join(p, WEFT_FOREVER));
    int s = 0;
    assert_ok(weft_process_exitcode(p, NULL, &s));
    assert_int_equal(s, SIGSEGV);
    if (!strstr(weft_process_message(p), "crashed")) print_error("%s\n", weft_process_message(p));
    assert_non_null(strstr(weft_process_message(p), "crashed"));
    weft_process_destroy(p);
  }
}

static void test_owner_ignores_sigchld(void **state) {
  (void)state;
  weft_process *p = start(child_ignoring_sigchld, NULL, 0, WEFT_START_FORK);
  expect_exit(p, 5);
  weft_process_destroy(p);
}

static void test_shared_library_linked(void **state) {
  (void)state;
  unsigned char b[5] = {10, 20, 30, 40, 5};
  for (size_t m = 0; m < 3; m++) {
    weft_process *p = start(weft_testplugin_sum, b, sizeof b, methods[m]);
    expect_exit(p, weft_testplugin_sum(b, sizeof b));
    weft_process_destroy(p);
  }
}

/* A private copy of the plugin (its own inode, so dlopen loads it apart
 * from the linked one). */
static void copy_plugin(const char *to) {
  FILE *in = fopen(WEFT_TESTPLUGIN_PATH, "rb");
  assert_non_null(in);
  FILE *out = fopen(to, "wb");
  assert_non_null(out);
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
  fclose(in);
  assert_int_equal(fclose(out), 0);
}

static void test_shared_library_dlopen(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "/tmp/weft-testplugin-%d.so", (int)getpid());
  copy_plugin(path);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  assert_non_null(h);
  weft_proc_fn fn = (weft_proc_fn)dlsym(h, "weft_testplugin_loaded");
  assert_non_null(fn);
  unsigned char b[4] = {1, 2, 3, 4};
  for (size_t m = 0; m < 3; m++) {
    weft_process *p = start(fn, b, sizeof b, methods[m]);
    expect_exit(p, 160);
    weft_process_destroy(p);
  }
  unlink(path);
  dlclose(h);
}

static void test_unresolvable_function(void **state) {
  (void)state;
  int fds0 = open_fd_count();
  char path[128];
  snprintf(path, sizeof path, "/tmp/weft-testplugin-gone-%d.so", (int)getpid());
  copy_plugin(path);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  assert_non_null(h);
  weft_proc_fn fn = (weft_proc_fn)dlsym(h, "weft_testplugin_loaded");
  assert_non_null(fn);
  assert_int_equal(unlink(path), 0);
  /* SPAWN and FORKSERVER children must load the file: it is gone. */
  for (size_t m = 0; m < 2; m++) {
    weft_process *p = start(fn, NULL, 0, methods[m]);
    assert_weft(weft_process_join(p, WEFT_FOREVER), WEFT_ENOENT);
    const char *msg = weft_process_message(p);
    if (!strstr(msg, path)) print_error("message: %s\n", msg);
    assert_non_null(strstr(msg, path));
    int c = 0, s = -1;
    assert_ok(weft_process_exitcode(p, &c, &s));
    assert_int_equal(c, 127);
    assert_int_equal(s, 0);
    weft_process_destroy(p);
  }
  /* A FORK child has the library mapped already. */
  weft_process *p = start(fn, NULL, 0, WEFT_START_FORK);
  expect_exit(p, 150);
  weft_process_destroy(p);
  dlclose(h);
  assert_int_equal(open_fd_count(), fds0);
}

static void test_bad_arguments(void **state) {
  (void)state;
  weft_process *p = (weft_process *)&p;
  assert_weft(weft_process_start(&p, NULL, NULL, 0, NULL), WEFT_EINVAL);
  assert_null(p);
  assert_weft(weft_process_start(NULL, child_sum, NULL, 0, NULL), WEFT_EINVAL);
  weft_process_opts bad = {.start_method = 42};
  assert_weft(weft_process_start(&p, child_sum, NULL, 0, &bad), WEFT_EINVAL);
  assert_null(p);
  assert_weft(weft_process_start(&p, child_sum, NULL, 5, NULL), WEFT_EINVAL);
  /* Not a function inside any loaded object. */
  void *heap = malloc(64);
  assert_weft(weft_process_start(&p, (weft_proc_fn)heap, NULL, 0, NULL), WEFT_EINVAL);
  assert_null(p);
  free(heap);
  assert_weft(weft_process_join(NULL, 0), WEFT_EINVAL);
  assert_weft(weft_process_exitcode(NULL, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_process_terminate(NULL), WEFT_EINVAL);
  assert_false(weft_process_is_alive(NULL));
  weft_process_destroy(NULL);
}

/* A FORK middle process starts a SPAWN grandchild, reports its pid through a
 * pipe and waits; we SIGKILL the middle. The grandchild must die with it. */
static int middle_fd = -1;
static int child_middle(const void *arg, size_t size) {
  int fd;
  if (size != sizeof fd) return 1;
  memcpy(&fd, arg, sizeof fd);
  weft_process *g = NULL;
  weft_process_opts o = {.start_method = WEFT_START_SPAWN};
  if (weft_process_start(&g, child_pause, NULL, 0, &o)) return 2;
  pid_t gp = weft_process_pid(g);
  if (write(fd, &gp, sizeof gp) != sizeof gp) return 3;
  for (;;) pause();
}

static bool pid_gone(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return true;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return true;
  buf[n] = '\0';
  const char *r = strrchr(buf, ')');
  return r && r[1] == ' ' && r[2] == 'Z'; /* dead, waiting for init to reap */
}

static void test_no_orphans(void **state) {
  (void)state;
  int pfd[2];
  assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
  middle_fd = pfd[1];
  weft_process *mid = start(child_middle, &middle_fd, sizeof middle_fd, WEFT_START_FORK);
  close(pfd[1]);
  pid_t gp = 0;
  assert_int_equal(read(pfd[0], &gp, sizeof gp), (ssize_t)sizeof gp);
  close(pfd[0]);
  assert_true(gp > 0);
  assert_false(pid_gone(gp));
  assert_ok(weft_process_kill(mid));
  assert_ok(weft_process_join(mid, WEFT_FOREVER));
  weft_process_destroy(mid);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; i++) {
    gone = pid_gone(gp);
    if (!gone) usleep(10000);
  }
  if (!gone) kill(gp, SIGKILL);
  assert_true(gone);
}

/* Zombies among our children and among the fork server's children. */
static int count_zombies(pid_t parent, pid_t *server) {
  DIR *d = opendir("/proc");
  assert_non_null(d);
  int z = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    char *l = strchr(buf, '('), *r = strrchr(buf, ')');
    if (!l || !r) continue;
    char state = 0;
    int ppid = 0;
    if (sscanf(r + 2, "%c %d", &state, &ppid) != 2 || ppid != parent) continue;
    if (state == 'Z') z++;
    if (server && r - l - 1 == 12 && strncmp(l + 1, "weft-forksrv", 12) == 0)
      *server = (pid_t)atoi(e->d_name);
  }
  closedir(d);
  return z;
}

static void test_no_zombies_no_fd_leaks(void **state) {
  (void)state;
  warm_up();
  int fds0 = open_fd_count();
  weft_process *ps[9];
  for (size_t i = 0; i < 9; i++) {
    unsigned char b = (unsigned char)i;
    ps[i] = start(child_sum, &b, 1, methods[i % 3]);
  }
  for (size_t i = 0; i < 9; i++) expect_exit(ps[i], (int)i);
  /* Joined, not yet destroyed: every child must be reaped already. */
  pid_t server = 0;
  assert_int_equal(count_zombies(getpid(), &server), 0);
  assert_true(server > 0);
  assert_int_equal(count_zombies(server, NULL), 0);
  for (size_t i = 0; i < 9; i++) weft_process_destroy(ps[i]);
  /* Destroying running children kills and reaps them too. */
  for (size_t i = 0; i < 6; i++) ps[i] = start(child_pause, NULL, 0, methods[i % 3]);
  for (size_t i = 0; i < 6; i++) weft_process_destroy(ps[i]);
  assert_int_equal(count_zombies(getpid(), NULL), 0);
  assert_int_equal(count_zombies(server, NULL), 0);
  assert_int_equal(open_fd_count(), fds0);
}

typedef struct stress_arg {
  int id, per, bad;
} stress_arg;

static void *stress_thread(void *a) {
  stress_arg *s = a;
  for (int i = 0; i < s->per; i++) {
    unsigned char b[2] = {(unsigned char)s->id, (unsigned char)i};
    weft_process_opts o = {.start_method = (i & 1) ? WEFT_START_SPAWN : WEFT_START_FORKSERVER};
    weft_process *p = NULL;
    int c = -1;
    if (weft_process_start(&p, child_sum, b, sizeof b, &o) != 0 ||
        weft_process_join(p, WEFT_FOREVER) != 0 || weft_process_exitcode(p, &c, NULL) != 0 ||
        c != s->id + i)
      s->bad++;
    weft_process_destroy(p);
  }
  return NULL;
}

static void test_stress_threads(void **state) {
  (void)state;
  warm_up();
  int fds0 = open_fd_count();
  enum { T = 4 };
  pthread_t th[T];
  stress_arg a[T];
  for (int t = 0; t < T; t++) {
    a[t] = (stress_arg){.id = t * 40, .per = (int)scaled(25, 5), .bad = 0};
    assert_int_equal(pthread_create(&th[t], NULL, stress_thread, &a[t]), 0);
  }
  for (int t = 0; t < T; t++) {
    pthread_join(th[t], NULL);
    assert_int_equal(a[t].bad, 0);
  }
  assert_int_equal(open_fd_count(), fds0);
}

/* ---- the launcher's pieces, directly ---- */

static void test_fnref(void **state) {
  (void)state;
  weft__fnref r;
  char err[600];
  void *fn = NULL;
  assert_ok(weft__fnref_make(&r, (const void *)child_sum, err, sizeof err));
  assert_string_equal(r.path, "");
  assert_ok(weft__fnref_resolve(&r, &fn, err, sizeof err));
  assert_ptr_equal(fn, (void *)child_sum);
  assert_ok(weft__fnref_make(&r, (const void *)weft_testplugin_sum, err, sizeof err));
  assert_non_null(strstr(r.path, "testplugin"));
  assert_ok(weft__fnref_resolve(&r, &fn, err, sizeof err));
  assert_ptr_equal(fn, (void *)weft_testplugin_sum);
  weft__fnref bad = r;
  bad.offset = (uint64_t)1 << 40;
  assert_weft(weft__fnref_resolve(&bad, &fn, err, sizeof err), WEFT_ENOENT);
  assert_non_null(strstr(err, "outside"));
  bad = r;
  snprintf(bad.path, sizeof bad.path, "/nonexistent/libnothing.so");
  assert_weft(weft__fnref_resolve(&bad, &fn, err, sizeof err), WEFT_ENOENT);
  assert_non_null(strstr(err, "/nonexistent/libnothing.so"));
  /* The same program path, but another file than the one named. */
  assert_ok(weft__fnref_make(&r, (const void *)child_sum, err, sizeof err));
  r.ino ^= 1;
  assert_weft(weft__fnref_resolve(&r, &fn, err, sizeof err), WEFT_ENOENT);
  assert_weft(weft__fnref_make(&r, NULL, err, sizeof err), WEFT_EINVAL);
  void *heap = malloc(16);
  assert_weft(weft__fnref_make(&r, heap, err, sizeof err), WEFT_EINVAL);
  free(heap);
}

static void test_ctl_channel(void **state) {
  (void)state;
  int fds0 = open_fd_count();
  int sv[2], pp[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(pipe(pp), 0);
  char big[WEFT__CTL_MAX + 1];
  memset(big, 'x', sizeof big);
  assert_weft(weft__ctl_send(sv[0], 1, big, sizeof big, NULL, 0), WEFT_EINVAL);
  assert_ok(weft__ctl_send(sv[0], 7, "hello", 6, &pp[0], 1));
  uint32_t kind = 0;
  char buf[64];
  size_t len = 0, nfd = 4;
  int got[4] = {-1, -1, -1, -1};
  assert_ok(weft__ctl_recv(sv[1], &kind, buf, sizeof buf, &len, got, &nfd, WEFT_FOREVER));
  assert_int_equal(kind, 7);
  assert_int_equal(len, 6);
  assert_string_equal(buf, "hello");
  assert_int_equal(nfd, 1);
  assert_true(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
  close(got[0]);
  /* Nothing queued: timeouts. */
  assert_weft(weft__ctl_recv(sv[1], &kind, buf, sizeof buf, &len, NULL, NULL, 0), WEFT_ETIMEDOUT);
  assert_weft(weft__ctl_recv(sv[1], &kind, buf, sizeof buf, &len, NULL, NULL, 10000000),
              WEFT_ETIMEDOUT);
  /* Too big for the buffer: ERANGE, and its descriptor is not leaked. */
  assert_ok(weft__ctl_send(sv[0], 8, big, 100, &pp[0], 1));
  nfd = 4;
  assert_weft(weft__ctl_recv(sv[1], &kind, buf, 10, &len, got, &nfd, 0), WEFT_ERANGE);
  assert_int_equal(nfd, 0);
  /* Big payloads fit in one message. */
  assert_ok(weft__ctl_send(sv[0], 9, big, WEFT__CTL_MAX, NULL, 0));
  char *rb = malloc(WEFT__CTL_MAX);
  assert_ok(weft__ctl_recv(sv[1], &kind, rb, WEFT__CTL_MAX, &len, NULL, NULL, 0));
  assert_int_equal(len, WEFT__CTL_MAX);
  free(rb);
  /* Messages before end of file, then ECLOSED; sending to a closed peer
   * is ECLOSED, not SIGPIPE. */
  assert_ok(weft__ctl_send(sv[0], 10, NULL, 0, NULL, 0));
  close(sv[0]);
  assert_ok(weft__ctl_recv(sv[1], &kind, buf, sizeof buf, &len, NULL, NULL, WEFT_FOREVER));
  assert_int_equal(kind, 10);
  assert_int_equal(len, 0);
  assert_weft(weft__ctl_recv(sv[1], &kind, buf, sizeof buf, &len, NULL, NULL, WEFT_FOREVER),
              WEFT_ECLOSED);
  assert_weft(weft__ctl_send(sv[1], 1, "x", 1, NULL, 0), WEFT_ECLOSED);
  close(sv[1]);
  close(pp[0]);
  close(pp[1]);
  assert_int_equal(open_fd_count(), fds0);
}

static void test_wstatus_text(void **state) {
  (void)state;
  char b[96];
  assert_string_equal(weft__wstatus_text(3 << 8, b, sizeof b), "exit status 3");
  assert_string_equal(weft__wstatus_text(SIGSEGV, b, sizeof b),
                      "killed by signal 11 (Segmentation fault)");
}

int main(void) {
  (void)method_names;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fnref),
      cmocka_unit_test(test_ctl_channel),
      cmocka_unit_test(test_wstatus_text),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_exit_code_and_bytes),
      cmocka_unit_test(test_default_method_and_null_opts),
      cmocka_unit_test(test_join_timeout),
      cmocka_unit_test(test_terminate_kill),
      cmocka_unit_test(test_crash_and_limits),
      cmocka_unit_test(test_stack_overflow_reported),
      cmocka_unit_test(test_owner_ignores_sigchld),
      cmocka_unit_test(test_shared_library_linked),
      cmocka_unit_test(test_shared_library_dlopen),
      cmocka_unit_test(test_unresolvable_function),
      cmocka_unit_test(test_no_orphans),
      cmocka_unit_test(test_no_zombies_no_fd_leaks),
      cmocka_unit_test(test_stress_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
