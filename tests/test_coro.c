/* tests/test_coro.c — stackful coroutines (src/aio/coro.h): switching both
 * ways with values, nesting, many coroutines with stack reuse, state
 * (integer and floating point) preserved across switches, stack overflow
 * caught by the guard page in a forked child, bad arguments. Every test runs
 * once per switch backend built (assembly and ucontext). */
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "aio/coro.h"
#include "testutil.h"
#include "weft/core.h"

static weft__coro_backend backend_of(void **state) {
  return *(weft__coro_backend *)*state;
}

static int skip_missing(void **state) {
  if (backend_of(state) == WEFT__CORO_ASM && !weft__coro_has_asm()) {
    print_message("assembly switch not built: skipped\n");
    return 1;
  }
  return 0;
}

static weft__coro *make(void **state, weft__coro_fn fn, void *arg, size_t stack) {
  weft__coro *co = NULL;
  assert_ok(weft__coro_create_ex(&co, fn, arg, stack, backend_of(state)));
  assert_non_null(co);
  assert_int_equal(weft__coro_get_status(co), WEFT__CORO_SUSPENDED);
  return co;
}

/* ---- ping-pong: two coroutines interleaved, values both ways ---- */

struct pp {
  int log[64];
  int len;
};

static struct pp pp_log;

/* Yields 10*k + id and expects to be resumed with the next k. */
static void *pinger(void *arg) {
  intptr_t id = (intptr_t)arg;
  for (intptr_t k = 0; k < 20; k++) {
    pp_log.log[pp_log.len++] = (int)(10 * k + id);
    void *in = NULL;
    assert_ok(weft__coro_yield((void *)(10 * k + id), &in));
    assert_int_equal((intptr_t)in, k + 1);
  }
  return (void *)(100 + id);
}

static void test_pingpong(void **state) {
  if (skip_missing(state)) return;
  memset(&pp_log, 0, sizeof pp_log);
  weft__coro *a = make(state, pinger, (void *)1, 0);
  weft__coro *b = make(state, pinger, (void *)2, 0);
  for (intptr_t k = 0; k < 20; k++) {
    void *out = NULL;
    assert_ok(weft__coro_resume(a, (void *)k, &out));
    assert_int_equal((intptr_t)out, 10 * k + 1);
    assert_ok(weft__coro_resume(b, (void *)k, &out));
    assert_int_equal((intptr_t)out, 10 * k + 2);
    assert_int_equal(weft__coro_get_status(a), WEFT__CORO_SUSPENDED);
    assert_null(weft__coro_current());
  }
  void *out = NULL;
  assert_ok(weft__coro_resume(a, (void *)20, &out));
  assert_int_equal((intptr_t)out, 101);
  assert_int_equal(weft__coro_get_status(a), WEFT__CORO_DEAD);
  assert_int_equal((intptr_t)weft__coro_result(a), 101);
  assert_ok(weft__coro_resume(b, (void *)20, &out));
  assert_int_equal((intptr_t)out, 102);
  assert_int_equal(pp_log.len, 40);
  for (int i = 0; i < 40; i++) assert_int_equal(pp_log.log[i], 10 * (i / 2) + 1 + i % 2);
  assert_weft(weft__coro_resume(a, NULL, NULL), WEFT_EINVAL); /* dead */
  assert_ok(weft__coro_destroy(a));
  assert_ok(weft__coro_destroy(b));
}

/* ---- nesting: a coroutine resumes another ---- */

struct nest {
  weft__coro *outer, *inner;
  int step;
};

static void *inner_fn(void *arg) {
  struct nest *n = arg;
  assert_ptr_equal(weft__coro_current(), n->inner);
  assert_int_equal(weft__coro_get_status(n->outer), WEFT__CORO_RUNNING);
  /* Resuming a running coroutine (the resumer, or oneself) is refused. */
  assert_weft(weft__coro_resume(n->outer, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft__coro_resume(n->inner, NULL, NULL), WEFT_EINVAL);
  assert_int_equal(n->step++, 1);
  assert_ok(weft__coro_yield((void *)7, NULL)); /* back to outer */
  assert_int_equal(n->step++, 3);
  return (void *)8;
}

static void *outer_fn(void *arg) {
  struct nest *n = arg;
  assert_int_equal(n->step++, 0);
  void *out = NULL;
  assert_ok(weft__coro_resume(n->inner, NULL, &out));
  assert_int_equal((intptr_t)out, 7);
  assert_ptr_equal(weft__coro_current(), n->outer);
  assert_int_equal(n->step++, 2);
  assert_ok(weft__coro_yield((void *)1, NULL)); /* back to the test */
  assert_ok(weft__coro_resume(n->inner, NULL, &out));
  assert_int_equal((intptr_t)out, 8);
  assert_int_equal(n->step++, 4);
  return (void *)9;
}

static void test_nested(void **state) {
  if (skip_missing(state)) return;
  struct nest n = {0};
  n.outer = make(state, outer_fn, &n, 0);
  n.inner = make(state, inner_fn, &n, 0);
  void *out = NULL;
  assert_ok(weft__coro_resume(n.outer, NULL, &out));
  assert_int_equal((intptr_t)out, 1);
  assert_int_equal(weft__coro_get_status(n.inner), WEFT__CORO_SUSPENDED);
  assert_ok(weft__coro_resume(n.outer, NULL, &out));
  assert_int_equal((intptr_t)out, 9);
  assert_int_equal(n.step, 5);
  assert_int_equal(weft__coro_get_status(n.inner), WEFT__CORO_DEAD);
  assert_ok(weft__coro_destroy(n.inner));
  assert_ok(weft__coro_destroy(n.outer));
}

/* ---- many: 10,000 coroutines, stacks reused ---- */

static void *where_fn(void *arg) {
  volatile char here = 0;
  *(uintptr_t *)arg = (uintptr_t)&here;
  assert_ok(weft__coro_yield(NULL, NULL));
  return arg;
}

static void test_many(void **state) {
  if (skip_missing(state)) return;
  enum { BATCH = 100 };
  /* 10,000 (3,000 under TSan, whose fibers cost a large mapping each). */
  size_t total = scaled(10000, 1000) / BATCH * BATCH;
  weft__coro *batch[BATCH];
  uintptr_t where[BATCH];
  size_t reused = 0;
  for (size_t done = 0; done < total; done += BATCH) {
    for (int i = 0; i < BATCH; i++) {
      batch[i] = make(state, where_fn, &where[i], 0);
      assert_ok(weft__coro_resume(batch[i], NULL, NULL));
    }
    /* All alive at once: distinct stacks. */
    for (int i = 1; i < BATCH; i++) assert_true(where[i] != where[i - 1]);
    for (int i = 0; i < BATCH; i++) {
      void *out = NULL;
      if (i % 2) assert_ok(weft__coro_resume(batch[i], NULL, &out)); /* finish half */
      assert_ok(weft__coro_destroy(batch[i]));                       /* abandon half */
    }
    /* One more: it gets a pooled stack, one of the batch's (the same
     * function at the same depth puts its local at the same address). */
    uintptr_t w = 0;
    weft__coro *one = make(state, where_fn, &w, 0);
    assert_ok(weft__coro_resume(one, NULL, NULL));
    assert_ok(weft__coro_destroy(one));
    for (int i = 0; i < BATCH; i++)
      if (w == where[i]) {
        reused++;
        break;
      }
  }
  assert_int_equal(reused, total / BATCH);
}

/* ---- state preserved across switches ---- */

static void *locals_fn(void *arg) {
  (void)arg;
  uint64_t acc[16];
  for (int i = 0; i < 16; i++) acc[i] = (uint64_t)i * 0x9E3779B97F4A7C15u;
  uint64_t sum = 0;
  for (int round = 0; round < 50; round++) {
    void *in = NULL;
    assert_ok(weft__coro_yield((void *)(uintptr_t)sum, &in));
    for (int i = 0; i < 16; i++) {
      acc[i] = acc[i] * 6364136223846793005u + (uint64_t)(uintptr_t)in;
      sum += acc[i] >> 7;
    }
  }
  return (void *)(uintptr_t)sum;
}

static uint64_t locals_expected(void) {
  uint64_t acc[16], sum = 0;
  for (int i = 0; i < 16; i++) acc[i] = (uint64_t)i * 0x9E3779B97F4A7C15u;
  for (int round = 0; round < 50; round++)
    for (int i = 0; i < 16; i++) {
      acc[i] = acc[i] * 6364136223846793005u + (uint64_t)(round + 1);
      sum += acc[i] >> 7;
    }
  return sum;
}

static void test_values(void **state) {
  if (skip_missing(state)) return;
  weft__coro *co = make(state, locals_fn, NULL, 0);
  void *out = NULL;
  assert_ok(weft__coro_resume(co, NULL, &out));
  for (int round = 0; round < 50; round++)
    assert_ok(weft__coro_resume(co, (void *)(uintptr_t)(round + 1), &out));
  assert_int_equal(weft__coro_get_status(co), WEFT__CORO_DEAD);
  assert_true((uint64_t)(uintptr_t)out == (uint64_t)(uintptr_t)locals_expected());
  assert_ok(weft__coro_destroy(co));
}

/* Doubles live across yields, and the rounding mode is per coroutine: the
 * coroutine rounds upward while its resumer keeps rounding to nearest. */
static volatile double fp_third = 1.0 / 3.0;

static double fp_work(double x, int n) {
  for (int i = 0; i < n; i++) x = x * 1.000001 + fp_third;
  return x;
}

static void *fp_fn(void *arg) {
  double *res = arg;
  double a = 1.5, b = -2.25, c = 1e-300;
  assert_int_equal(fesetround(FE_UPWARD), 0);
  for (int r = 0; r < 10; r++) {
    a = fp_work(a, 100);
    b = b * 0.5 + a;
    c = c * 3.0;
    assert_ok(weft__coro_yield(NULL, NULL));
    assert_int_equal(fegetround(), FE_UPWARD);
  }
  res[0] = a, res[1] = b, res[2] = c;
  res[3] = 1.0 + fp_third * 1e-17; /* rounds up to the next double */
  return NULL;
}

static void test_floating_point(void **state) {
  if (skip_missing(state)) return;
  double got[4];
  weft__coro *co = make(state, fp_fn, got, 0);
  double x = 0.25;
  for (int r = 0; r < 11; r++) {
    assert_ok(weft__coro_resume(co, NULL, NULL));
    assert_int_equal(fegetround(), FE_TONEAREST);
    x = fp_work(x, 100);
  }
  assert_int_equal(weft__coro_get_status(co), WEFT__CORO_DEAD);
  assert_true(1.0 + fp_third * 1e-17 == 1.0); /* to nearest out here */
  /* The same sums computed here, upward, must match bit for bit. */
  assert_int_equal(fesetround(FE_UPWARD), 0);
  double a = 1.5, b = -2.25, c = 1e-300;
  for (int r = 0; r < 10; r++) {
    a = fp_work(a, 100);
    b = b * 0.5 + a;
    c = c * 3.0;
  }
  fesetround(FE_TONEAREST);
  assert_true(got[0] == a && got[1] == b && got[2] == c);
  assert_true(got[3] > 1.0);
  double y = 0.25;
  for (int r = 0; r < 11; r++) y = fp_work(y, 100);
  assert_true(x == y);
  assert_ok(weft__coro_destroy(co));
}

/* ---- stack overflow: reported, then death by SIGSEGV ---- */

static __attribute__((noinline)) int deep(int n) {
  volatile char buf[200];
  buf[0] = (char)n;
  if (n == 0) return buf[0];
  return deep(n - 1) + buf[0];
}

static void *overflow_fn(void *arg) {
  return (void *)(intptr_t)deep((int)(intptr_t)arg);
}

static void test_overflow(void **state) {
  if (skip_missing(state)) return;
  int fds = open_fd_count();
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], STDERR_FILENO);
    weft__coro *co = NULL;
    if (weft__coro_create_ex(&co, overflow_fn, (void *)1000000, 16 * 1024,
                             backend_of(state)) == 0)
      weft__coro_resume(co, NULL, NULL);
    _exit(3); /* not reached when the overflow is caught */
  }
  close(fd[1]);
  char buf[4096];
  read_to_end(fd[0], buf, sizeof buf);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!strstr(buf, "weft: coroutine stack overflow (stack of 16 KB)")) {
    print_error("child's stderr: %s\n", buf);
    fail();
  }
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
  assert_int_equal(open_fd_count(), fds);
}

/* A fault that is not an overflow goes to the handler installed before. */
static void prev_handler(int sig, siginfo_t *info, void *uctx) {
  (void)sig, (void)uctx;
  _exit(info->si_addr == (void *)16 ? 42 : 43);
}

static void *null_fn(void *arg) {
  return (void *)(intptr_t)*(volatile int *)arg; /* faults at address 16 */
}

static void test_chained_handler(void **state) {
  if (skip_missing(state)) return;
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = prev_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    weft__coro *co = NULL;
    /* An unusual size maps a new stack, which (re)installs weft's handler. */
    if (weft__coro_create_ex(&co, null_fn, (void *)16, 40 * 1024, backend_of(state)) == 0)
      weft__coro_resume(co, NULL, NULL);
    _exit(3);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 42);
}

/* ---- threads: per-thread pools, a coroutine resumed by another thread ---- */

static void *counter_fn(void *arg) {
  int *count = arg;
  for (;;) {
    ++*count;
    assert_ok(weft__coro_yield(NULL, NULL));
  }
  return NULL;
}

struct thr {
  weft__coro_backend be;
  weft__coro *shared; /* resumed 3 times by the thread */
  int ok;
};

static void *thread_body(void *arg) {
  struct thr *t = arg;
  for (int i = 0; i < 3; i++)
    if (weft__coro_resume(t->shared, NULL, NULL) != 0) return NULL;
  for (int i = 0; i < 500; i++) {
    int count = 0;
    weft__coro *co = NULL;
    if (weft__coro_create_ex(&co, counter_fn, &count, 0, t->be) != 0) return NULL;
    for (int k = 0; k < 4; k++) weft__coro_resume(co, NULL, NULL);
    weft__coro_destroy(co);
    if (count != 4) return NULL;
  }
  t->ok = 1;
  return NULL;
}

static void test_threads(void **state) {
  if (skip_missing(state)) return;
  int count[2] = {0, 0};
  struct thr t[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    t[i] = (struct thr){.be = backend_of(state), .shared = make(state, counter_fn, &count[i], 0)};
    assert_ok(weft__coro_resume(t[i].shared, NULL, NULL)); /* started here */
  }
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, thread_body, &t[i]), 0);
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < 2; i++) {
    assert_true(t[i].ok);
    assert_ok(weft__coro_resume(t[i].shared, NULL, NULL)); /* and back here */
    assert_int_equal(count[i], 5);
    assert_ok(weft__coro_destroy(t[i].shared));
  }
}

/* ---- bad arguments ---- */

static void *noop_fn(void *arg) {
  return arg;
}

static void test_bad_args(void **state) {
  if (skip_missing(state)) return;
  weft__coro_backend be = backend_of(state);
  weft__coro *co = NULL;
  assert_weft(weft__coro_create_ex(NULL, noop_fn, NULL, 0, be), WEFT_EINVAL);
  assert_weft(weft__coro_create_ex(&co, NULL, NULL, 0, be), WEFT_EINVAL);
  assert_weft(weft__coro_create_ex(&co, noop_fn, NULL, WEFT__CORO_STACK_MAX + 1, be),
              WEFT_EINVAL);
  assert_weft(weft__coro_create_ex(&co, noop_fn, NULL, 0, (weft__coro_backend)42), WEFT_EINVAL);
  if (!weft__coro_has_asm())
    assert_weft(weft__coro_create_ex(&co, noop_fn, NULL, 0, WEFT__CORO_ASM), WEFT_EINVAL);
  assert_null(co);
  assert_weft(weft__coro_resume(NULL, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft__coro_yield(NULL, NULL), WEFT_EINVAL); /* not in a coroutine */
  assert_ok(weft__coro_destroy(NULL));
  /* A tiny size is rounded up to a page; the result comes back. */
  co = make(state, noop_fn, (void *)5, 1);
  assert_true(weft__coro_stack_size(co) >= 1 && weft__coro_stack_size(co) % 4096 == 0);
  assert_null(weft__coro_result(co));
  void *out = NULL;
  assert_ok(weft__coro_resume(co, NULL, &out));
  assert_int_equal((intptr_t)out, 5);
  assert_int_equal((intptr_t)weft__coro_result(co), 5);
  assert_ok(weft__coro_destroy(co));
}

static void *destroy_self_fn(void *arg) {
  (void)arg;
  assert_weft(weft__coro_destroy(weft__coro_current()), WEFT_EINVAL); /* running */
  return NULL;
}

static void test_destroy_running(void **state) {
  if (skip_missing(state)) return;
  weft__coro *co = make(state, destroy_self_fn, NULL, 0);
  assert_ok(weft__coro_resume(co, NULL, NULL));
  assert_ok(weft__coro_destroy(co));
}

/* ---- transfer: a coroutine hands the CPU straight to another ---- */

/* Two coroutines bounce a counter between them by transfer, never through
 * the resumer, each running `rounds` times; the last one yields back. */
struct relay {
  weft__coro *a, *b;
  int rounds, log[64], nlog;
};

static void *relay_fn(void *arg) {
  struct relay *r = arg;
  weft__coro *me = weft__coro_current(), *other = me == r->a ? r->b : r->a;
  for (int i = 0; i < r->rounds; i++) {
    r->log[r->nlog++] = me == r->a ? 'a' : 'b';
    assert_int_equal(weft__coro_get_status(other), WEFT__CORO_SUSPENDED);
    assert_ok(weft__coro_transfer(me, other, (void *)(intptr_t)i));
    assert_ptr_equal(weft__coro_current(), me);
  }
  return NULL;
}

static void test_transfer(void **state) {
  if (skip_missing(state)) return;
  struct relay r = {.rounds = 5};
  r.a = make(state, relay_fn, &r, 0);
  r.b = make(state, relay_fn, &r, 0);
  if (!weft__coro_can_transfer(r.a, r.b) && backend_of(state) == WEFT__CORO_UCONTEXT) {
    /* outside a coroutine nothing is transferable; on ucontext never */
    assert_weft(weft__coro_transfer(r.a, r.b, NULL), WEFT_EINVAL);
    assert_ok(weft__coro_destroy(r.a));
    assert_ok(weft__coro_destroy(r.b));
    return;
  }
  /* from outside any coroutine: refused, nothing happens */
  assert_false(weft__coro_can_transfer(r.a, r.b));
  assert_weft(weft__coro_transfer(r.a, r.b, NULL), WEFT_EINVAL);
  /* one resume of a runs a, b, a, b, ... until one of them dies: its
   * return comes back to this resume, whichever coroutine it was */
  assert_ok(weft__coro_resume(r.a, NULL, NULL));
  assert_null(weft__coro_current());
  assert_int_equal(r.nlog, 10);
  for (int i = 0; i < 10; i++) assert_int_equal(r.log[i], i % 2 ? 'b' : 'a');
  /* a finished its 5 rounds after b's 5th transfer; b is suspended */
  assert_int_equal(weft__coro_get_status(r.a), WEFT__CORO_DEAD);
  assert_int_equal(weft__coro_get_status(r.b), WEFT__CORO_SUSPENDED);
  assert_ok(weft__coro_resume(r.b, NULL, NULL)); /* b's last round ends */
  assert_int_equal(weft__coro_get_status(r.b), WEFT__CORO_DEAD);
  assert_ok(weft__coro_destroy(r.a));
  assert_ok(weft__coro_destroy(r.b));
}

static void *self_transfer_fn(void *arg) {
  weft__coro *me = weft__coro_current(), *dead = arg;
  assert_weft(weft__coro_transfer(me, me, NULL), WEFT_EINVAL);   /* to itself */
  assert_weft(weft__coro_transfer(me, dead, NULL), WEFT_EINVAL); /* to a dead one */
  assert_weft(weft__coro_transfer(NULL, dead, NULL), WEFT_EINVAL);
  return NULL;
}

static void test_transfer_refused(void **state) {
  if (skip_missing(state)) return;
  weft__coro *dead = make(state, noop_fn, NULL, 0);
  assert_ok(weft__coro_resume(dead, NULL, NULL));
  weft__coro *co = make(state, self_transfer_fn, dead, 0);
  assert_ok(weft__coro_resume(co, NULL, NULL));
  assert_int_equal(weft__coro_get_status(co), WEFT__CORO_DEAD);
  assert_ok(weft__coro_destroy(co));
  assert_ok(weft__coro_destroy(dead));
}

static weft__coro_backend be_asm = WEFT__CORO_ASM, be_uc = WEFT__CORO_UCONTEXT;

#define BOTH(fn) cmocka_unit_test_prestate(fn, &be_asm), cmocka_unit_test_prestate(fn, &be_uc)

int main(void) {
  const struct CMUnitTest tests[] = {
      BOTH(test_pingpong), BOTH(test_nested),  BOTH(test_many),
      BOTH(test_values),   BOTH(test_floating_point), BOTH(test_overflow),
      BOTH(test_chained_handler), BOTH(test_threads),
      BOTH(test_bad_args), BOTH(test_destroy_running),
      BOTH(test_transfer), BOTH(test_transfer_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
