/* tests/test_aio_core.c — the aio core: run, tasks, await, gather, wait,
 * sleep/yield, cancellation (incl. propagation to awaited children and the
 * completion race), cancel scopes and shields, task groups, the end of a
 * run (leftovers cancelled) and deadlock detection.
 *
 * Task bodies record what happened in plain structs; the checks run after
 * weft_aio_run returns (a cmocka failure must not longjmp off a coroutine
 * stack). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "aio/aio_internal.h"
#include "testutil.h"
#include "weft/aio.h"

#define MS WEFT_MS

/* ---- run, spawn, await, results ---- */

static int return_arg(void *arg) {
  return (int)(intptr_t)arg;
}

static void test_run_returns_main_code(void **state) {
  (void)state;
  assert_int_equal(weft_aio_run(return_arg, (void *)(intptr_t)0), 0);
  assert_int_equal(weft_aio_run(return_arg, (void *)(intptr_t)WEFT_EIO), WEFT_EIO);
  assert_weft(weft_aio_run(NULL, NULL), WEFT_EINVAL);
}

static int square_later(void *arg) {
  intptr_t *v = arg;
  weft_aio_sleep(1 * MS);
  *v = *v * *v;
  weft_aio_set_result(v);
  return 0;
}

struct spawn_rec {
  intptr_t vals[8];
  int codes[8];
  void *results[8];
  int nested_run;
};

static int spawn_main(void *arg) {
  struct spawn_rec *r = arg;
  weft_aio_task *ts[8];
  for (int i = 0; i < 8; i++) {
    r->vals[i] = i + 1;
    if (weft_aio_spawn(square_later, &r->vals[i], &ts[i])) return WEFT_EIO;
  }
  for (int i = 0; i < 8; i++) {
    r->codes[i] = weft_aio_await(ts[i]);
    r->results[i] = weft_aio_task_result(ts[i]);
    weft_aio_task_release(ts[i]);
  }
  r->nested_run = weft_aio_run(return_arg, NULL);
  return 0;
}

static void test_spawn_await(void **state) {
  (void)state;
  struct spawn_rec r = {0};
  assert_ok(weft_aio_run(spawn_main, &r));
  for (int i = 0; i < 8; i++) {
    assert_int_equal(r.codes[i], 0);
    assert_int_equal(r.vals[i], (i + 1) * (i + 1));
    assert_ptr_equal(r.results[i], &r.vals[i]);
  }
  assert_weft(r.nested_run, WEFT_EBUSY);
}

static void test_outside_a_task(void **state) {
  (void)state;
  assert_weft(weft_aio_sleep(1), WEFT_EPERM);
  assert_weft(weft_aio_yield(), WEFT_EPERM);
  assert_weft(weft_aio_spawn(return_arg, NULL, NULL), WEFT_EPERM);
  assert_null(weft_aio_current());
  assert_null(weft_loop_current());
}

/* ---- gather and wait ---- */

struct job {
  uint64_t delay_ms;
  int code;
  int ran, cleaned;
};
#define JOB(ms, code) {(ms), (code), 0, 0}

static int job_fn(void *arg) {
  struct job *j = arg;
  j->ran = 1;
  int rc = weft_aio_sleep(j->delay_ms * MS);
  j->cleaned = 1; /* runs after a cancelled sleep too */
  return rc ? rc : j->code;
}

struct gather_rec {
  struct job jobs[4];
  int rc_fail_fast, rc_collect, codes[4], done_at_fail[4];
};

static int gather_main(void *arg) {
  struct gather_rec *r = arg;
  weft_aio_task *ts[4];
  struct job spec[4] = {JOB(30, 0), JOB(5, WEFT_EIO), JOB(10, 0), JOB(60, WEFT_ERANGE)};
  memcpy(r->jobs, spec, sizeof spec);
  for (int i = 0; i < 4; i++) weft_aio_spawn(job_fn, &r->jobs[i], &ts[i]);
  r->rc_fail_fast = weft_aio_gather(ts, 4, 0);
  for (int i = 0; i < 4; i++) r->done_at_fail[i] = weft_aio_task_done(ts[i]);
  r->rc_collect = weft_aio_gather(ts, 4, WEFT_AIO_COLLECT);
  for (int i = 0; i < 4; i++) {
    r->codes[i] = weft_aio_task_code(ts[i]);
    weft_aio_task_release(ts[i]);
  }
  return 0;
}

static void test_gather(void **state) {
  (void)state;
  struct gather_rec r = {0};
  assert_ok(weft_aio_run(gather_main, &r));
  assert_weft(r.rc_fail_fast, WEFT_EIO); /* the first failure, at once */
  assert_int_equal(r.done_at_fail[1], 1);
  assert_int_equal(r.done_at_fail[0], 0); /* the others keep running */
  assert_int_equal(r.done_at_fail[3], 0);
  assert_ok(r.rc_collect);
  int expect[4] = {0, WEFT_EIO, 0, WEFT_ERANGE};
  for (int i = 0; i < 4; i++) assert_int_equal(r.codes[i], expect[i]);
}

struct wait_rec {
  struct job jobs[3];
  int rc[4];
  size_t idx[4];
};

static int wait_main(void *arg) {
  struct wait_rec *r = arg;
  struct job spec[3] = {JOB(40, 0), JOB(10, 0), JOB(20, WEFT_EIO)};
  memcpy(r->jobs, spec, sizeof spec);
  weft_aio_task *ts[3];
  for (int i = 0; i < 3; i++) weft_aio_spawn(job_fn, &r->jobs[i], &ts[i]);
  r->rc[0] = weft_aio_wait(ts, 3, WEFT_AIO_FIRST_COMPLETED, WEFT_FOREVER, &r->idx[0]);
  r->rc[1] = weft_aio_wait(ts, 3, WEFT_AIO_ALL_COMPLETED, 1 * MS, &r->idx[1]);
  r->rc[2] = weft_aio_wait(ts, 3, WEFT_AIO_FIRST_EXCEPTION, WEFT_FOREVER, &r->idx[2]);
  r->rc[3] = weft_aio_wait(ts, 3, WEFT_AIO_ALL_COMPLETED, WEFT_FOREVER, &r->idx[3]);
  for (int i = 0; i < 3; i++) weft_aio_task_release(ts[i]);
  return 0;
}

static void test_wait_modes(void **state) {
  (void)state;
  struct wait_rec r = {0};
  assert_ok(weft_aio_run(wait_main, &r));
  assert_ok(r.rc[0]);
  assert_int_equal(r.idx[0], 1);
  assert_weft(r.rc[1], WEFT_ETIMEDOUT);
  assert_ok(r.rc[2]);
  assert_int_equal(r.idx[2], 2);
  assert_ok(r.rc[3]);
  assert_int_equal(r.idx[3], 3);
  for (int i = 0; i < 3; i++) assert_int_equal(r.jobs[i].cleaned, 1); /* not cancelled */
}

/* ---- sleep, yield, ordering ---- */

struct order_rec {
  int log[16], n;
};

static int yielder(void *arg) {
  struct order_rec *r = arg;
  for (int i = 0; i < 3; i++) {
    r->log[r->n++] = 1;
    weft_aio_yield();
  }
  return 0;
}

static int yielder2(void *arg) {
  struct order_rec *r = arg;
  for (int i = 0; i < 3; i++) {
    r->log[r->n++] = 2;
    weft_aio_yield();
  }
  return 0;
}

struct sleep_rec {
  struct order_rec order;
  uint64_t slept_ns;
};

static int order_main(void *arg) {
  struct sleep_rec *r = arg;
  weft_aio_task *a, *b;
  weft_aio_spawn(yielder, &r->order, &a);
  weft_aio_spawn(yielder2, &r->order, &b);
  weft_aio_task *ts[2] = {a, b};
  weft_aio_gather(ts, 2, 0);
  weft_aio_task_release(a);
  weft_aio_task_release(b);
  uint64_t t0 = weft_now_ns();
  weft_aio_sleep(20 * MS);
  r->slept_ns = weft_now_ns() - t0;
  return 0;
}

static void test_yield_interleaves_and_sleep_lasts(void **state) {
  (void)state;
  struct sleep_rec r = {0};
  assert_ok(weft_aio_run(order_main, &r));
  int expect[6] = {1, 2, 1, 2, 1, 2};
  assert_int_equal(r.order.n, 6);
  for (int i = 0; i < 6; i++) assert_int_equal(r.order.log[i], expect[i]);
  assert_true(r.slept_ns >= 20 * MS); /* never early (no upper bound: noisy machine) */
}

/* ---- hand-offs: a suspending task runs the next ready one directly ---- */

/* Three tasks relay a token through three queues, ROUNDS times around, so
 * every suspension finds another task ready: with the assembly switch they
 * hand the CPU to each other without the scheduler; with ucontext or the lag
 * watchdog on they go through it. Same order, same sum, in every mode. */
#define RELAY_TASKS 3
#define RELAY_ROUNDS 2000

struct relay {
  weft_aio_queue *q[RELAY_TASKS];
  int order[RELAY_TASKS * 8], norder;
  uint64_t sum;
  int codes[RELAY_TASKS];
};

struct relay_arg {
  struct relay *r;
  int idx;
};

static int relay_fn(void *arg) {
  struct relay_arg *a = arg;
  struct relay *r = a->r;
  for (int round = 0; round < RELAY_ROUNDS; round++) {
    void *v;
    int rc = weft_aio_queue_get(r->q[a->idx], &v);
    if (rc) return rc;
    if (r->norder < (int)(sizeof r->order / sizeof r->order[0])) r->order[r->norder++] = a->idx;
    r->sum += (uintptr_t)v;
    /* the last task's last put has nobody left to take it: skip it */
    if (!(a->idx == RELAY_TASKS - 1 && round == RELAY_ROUNDS - 1) &&
        (rc = weft_aio_queue_put(r->q[(a->idx + 1) % RELAY_TASKS], (void *)((uintptr_t)v + 1))))
      return rc;
    if (round % 7 == 0 && (rc = weft_aio_yield())) return rc; /* yields hand off too */
  }
  return 0;
}

static int relay_main(void *arg) {
  struct relay *r = arg;
  struct relay_arg args[RELAY_TASKS];
  weft_aio_task *ts[RELAY_TASKS];
  for (int i = 0; i < RELAY_TASKS; i++) {
    if (weft_aio_queue_create(&r->q[i], 0)) return WEFT_ENOMEM;
    args[i] = (struct relay_arg){r, i};
  }
  for (int i = 0; i < RELAY_TASKS; i++) weft_aio_spawn(relay_fn, &args[i], &ts[i]);
  int rc = weft_aio_queue_put(r->q[0], (void *)(uintptr_t)1);
  if (!rc) rc = weft_aio_gather(ts, RELAY_TASKS, 0);
  for (int i = 0; i < RELAY_TASKS; i++) {
    r->codes[i] = weft_aio_task_code(ts[i]);
    weft_aio_task_release(ts[i]);
    weft_aio_queue_destroy(r->q[i]);
  }
  return rc;
}

static void check_relay(const weft_loop_options *opt) {
  struct relay r = {0};
  assert_ok(weft_aio_run_ex(relay_main, &r, opt));
  for (int i = 0; i < RELAY_TASKS; i++) assert_ok(r.codes[i]);
  /* the token visits 0, 1, 2, 0, 1, 2, ... carrying 1, 2, 3, ...: n hops
   * sum to n(n+1)/2 */
  uint64_t n = (uint64_t)RELAY_TASKS * RELAY_ROUNDS;
  assert_int_equal(r.sum, n * (n + 1) / 2);
  for (int i = 0; i < r.norder; i++) assert_int_equal(r.order[i], i % RELAY_TASKS);
}

static void test_handoff_modes(void **state) {
  (void)state;
  weft_loop_options direct = {0}, portable = {.ucontext_switch = true},
                    watched = {.lag_threshold_ns = 10000 * MS};
  check_relay(&direct);
  check_relay(&portable);
  check_relay(&watched);
}

/* ---- cancellation ---- */

struct cancel_rec {
  struct job sleeper, never_started, child;
  int sleeper_code, never_code, parent_code, child_code, cancel_done_rc;
  int parent_cleaned;
};

static int parent_fn(void *arg) {
  struct cancel_rec *r = arg;
  weft_aio_task *c;
  weft_aio_spawn(job_fn, &r->child, &c);
  int rc = weft_aio_await(c); /* cancelled: the child is cancelled and awaited */
  r->child_code = weft_aio_task_code(c);
  r->parent_cleaned = weft_aio_task_done(c);
  weft_aio_task_release(c);
  return rc;
}

static int cancel_main(void *arg) {
  struct cancel_rec *r = arg;
  r->sleeper.delay_ms = 10000;
  r->child.delay_ms = 10000;
  weft_aio_task *s, *n, *p;
  weft_aio_spawn(job_fn, &r->sleeper, &s);
  weft_aio_spawn(job_fn, &r->never_started, &n);
  weft_aio_spawn(parent_fn, r, &p);
  weft_aio_cancel(n); /* before it ever ran */
  weft_aio_sleep(2 * MS);
  weft_aio_cancel(s);
  weft_aio_cancel(p);
  r->sleeper_code = weft_aio_await(s);
  r->never_code = weft_aio_await(n);
  r->parent_code = weft_aio_await(p);
  r->cancel_done_rc = weft_aio_cancel(s);
  weft_aio_task_release(s);
  weft_aio_task_release(n);
  weft_aio_task_release(p);
  return 0;
}

static void test_cancel(void **state) {
  (void)state;
  struct cancel_rec r = {0};
  uint64_t t0 = weft_now_ns();
  assert_ok(weft_aio_run(cancel_main, &r));
  assert_true(weft_now_ns() - t0 < 5000 * MS); /* the 10 s sleeps did not run out */
  assert_weft(r.sleeper_code, WEFT_ECANCELED);
  assert_int_equal(r.sleeper.cleaned, 1);
  assert_weft(r.never_code, WEFT_ECANCELED);
  assert_int_equal(r.never_started.ran, 0);
  assert_weft(r.parent_code, WEFT_ECANCELED);
  assert_weft(r.child_code, WEFT_ECANCELED);
  assert_int_equal(r.child.cleaned, 1);
  assert_int_equal(r.parent_cleaned, 1);
  assert_weft(r.cancel_done_rc, WEFT_EALREADY);
}

/* The race: the awaited child finishes (the waiter is woken) and the
 * waiter is cancelled before it runs again. The await returns the child's
 * result; the cancellation is not lost: the next await returns
 * WEFT_ECANCELED, and so does every later one. */
struct race_rec {
  weft_aio_task *waiter, *child;
  int await_rc, next_rc, later_rc;
  bool cancelled_flag, child_done_at_cancel;
};

static int race_child(void *arg) {
  (void)arg;
  return 0;
}

static int race_waiter(void *arg) {
  struct race_rec *r = arg;
  weft_aio_spawn(race_child, r, &r->child);
  r->await_rc = weft_aio_await(r->child);
  r->cancelled_flag = weft_aio_cancelled();
  r->next_rc = weft_aio_sleep(1 * MS);
  r->later_rc = weft_aio_yield();
  return 0;
}

static int race_main(void *arg) {
  struct race_rec *r = arg;
  weft_aio_spawn(race_waiter, r, &r->waiter);
  weft_aio_yield(); /* the waiter starts the child and awaits it */
  weft_aio_yield(); /* the child ends: the waiter is woken, not yet run */
  r->child_done_at_cancel = weft_aio_task_done(r->child);
  weft_aio_cancel(r->waiter);
  int rc = weft_aio_await(r->waiter);
  weft_aio_task_release(r->waiter);
  weft_aio_task_release(r->child);
  return rc;
}

static void test_cancel_never_lost(void **state) {
  (void)state;
  struct race_rec r = {0};
  assert_ok(weft_aio_run(race_main, &r));
  assert_true(r.child_done_at_cancel);
  assert_ok(r.await_rc);
  assert_true(r.cancelled_flag);
  assert_weft(r.next_rc, WEFT_ECANCELED);
  assert_weft(r.later_rc, WEFT_ECANCELED);
}

/* ---- scopes, timeouts, shields ---- */

struct scope_rec {
  int inner_rc, inner_exit, outer_exit, after_rc;
  int nested_rc, nested_inner_exit, nested_outer_exit;
  int timed_rc, timed_child_code;
  struct job timed_child;
  uint64_t nested_ns;
  int shield_rc, shielded_sleep_rc, shield_exit;
};

static int scope_main(void *arg) {
  struct scope_rec *r = arg;
  weft_aio_scope outer, inner;
  /* a deadline covers every await inside */
  weft_aio_scope_enter(&outer, 10000 * MS);
  weft_aio_scope_enter(&inner, 5 * MS);
  r->inner_rc = weft_aio_sleep(10000 * MS);
  r->inner_exit = weft_aio_scope_exit(&inner);
  r->after_rc = weft_aio_sleep(1 * MS); /* outer still fine */
  r->outer_exit = weft_aio_scope_exit(&outer);
  /* nested: the earliest deadline applies, even when it is the outer one */
  uint64_t t0 = weft_now_ns();
  weft_aio_scope_enter(&outer, 5 * MS);
  weft_aio_scope_enter(&inner, 10000 * MS);
  r->nested_rc = weft_aio_sleep(10000 * MS);
  r->nested_inner_exit = weft_aio_scope_exit(&inner);
  r->nested_outer_exit = weft_aio_scope_exit(&outer);
  r->nested_ns = weft_now_ns() - t0;
  /* await with a timeout cancels the child */
  r->timed_child.delay_ms = 10000;
  weft_aio_task *c;
  weft_aio_spawn(job_fn, &r->timed_child, &c);
  r->timed_rc = weft_aio_await_timed(c, 5 * MS);
  r->timed_child_code = weft_aio_task_code(c);
  weft_aio_task_release(c);
  /* a shield scope hides an expired outer deadline */
  weft_aio_scope_enter(&outer, 1 * MS);
  r->shield_rc = weft_aio_sleep(10000 * MS);
  weft_aio_scope sh;
  weft_aio_shield_scope(&sh);
  r->shielded_sleep_rc = weft_aio_sleep(2 * MS);
  r->shield_exit = weft_aio_scope_exit(&sh);
  weft_aio_scope_exit(&outer);
  return 0;
}

static void test_scopes(void **state) {
  (void)state;
  struct scope_rec r = {0};
  assert_ok(weft_aio_run(scope_main, &r));
  assert_weft(r.inner_rc, WEFT_ETIMEDOUT);
  assert_weft(r.inner_exit, WEFT_ETIMEDOUT);
  assert_ok(r.after_rc);
  assert_ok(r.outer_exit);
  assert_weft(r.nested_rc, WEFT_ETIMEDOUT);
  assert_ok(r.nested_inner_exit);
  assert_weft(r.nested_outer_exit, WEFT_ETIMEDOUT);
  assert_true(r.nested_ns < 5000 * MS);
  assert_weft(r.timed_rc, WEFT_ETIMEDOUT);
  assert_weft(r.timed_child_code, WEFT_ECANCELED);
  assert_int_equal(r.timed_child.cleaned, 1);
  assert_weft(r.shield_rc, WEFT_ETIMEDOUT);
  assert_ok(r.shielded_sleep_rc);
  assert_ok(r.shield_exit);
}

struct shield_rec {
  struct job inner;
  weft_aio_task *inner_task;
  int outer_rc, inner_code_after;
  bool inner_done_when_outer_returned;
};

static int shield_outer(void *arg) {
  struct shield_rec *r = arg;
  r->outer_rc = weft_aio_shield(r->inner_task);
  r->inner_done_when_outer_returned = weft_aio_task_done(r->inner_task);
  return r->outer_rc;
}

static int shield_main(void *arg) {
  struct shield_rec *r = arg;
  r->inner.delay_ms = 20;
  weft_aio_spawn(job_fn, &r->inner, &r->inner_task);
  weft_aio_task *o;
  weft_aio_spawn(shield_outer, r, &o);
  weft_aio_sleep(2 * MS);
  weft_aio_cancel(o);
  weft_aio_await(o);
  r->inner_code_after = weft_aio_await(r->inner_task);
  weft_aio_task_release(o);
  weft_aio_task_release(r->inner_task);
  return 0;
}

static void test_shield(void **state) {
  (void)state;
  struct shield_rec r = {0};
  assert_ok(weft_aio_run(shield_main, &r));
  assert_weft(r.outer_rc, WEFT_ECANCELED);
  assert_false(r.inner_done_when_outer_returned);
  assert_ok(r.inner_code_after); /* it ran to its end, uncancelled */
}

/* ---- task groups ---- */

struct group_rec {
  struct job jobs[4];
  int rc, codes[4], late_spawn;
  char message[200];
  int owner_cancel_rc, owner_cancel_codes[2];
  struct job slow[2];
};

static int group_main(void *arg) {
  struct group_rec *r = arg;
  struct job spec[4] = {JOB(10000, 0), JOB(5, WEFT_ERANGE), JOB(10000, 0), JOB(1, 0)};
  memcpy(r->jobs, spec, sizeof spec);
  weft_aio_group g;
  weft_aio_group_init(&g);
  weft_aio_task *ts[4];
  for (int i = 0; i < 4; i++) weft_aio_group_spawn(&g, job_fn, &r->jobs[i], &ts[i]);
  r->rc = weft_aio_group_wait(&g);
  snprintf(r->message, sizeof r->message, "%s", weft_aio_group_message(&g));
  for (int i = 0; i < 4; i++) {
    r->codes[i] = weft_aio_task_code(ts[i]);
    weft_aio_task_release(ts[i]);
  }
  r->late_spawn = weft_aio_group_spawn(&g, job_fn, &r->jobs[0], NULL);
  weft_aio_group_end(&g);
  return 0;
}

static int group_owner(void *arg) {
  struct group_rec *r = arg;
  weft_aio_group g;
  weft_aio_group_init(&g);
  weft_aio_task *ts[2];
  for (int i = 0; i < 2; i++) {
    r->slow[i].delay_ms = 10000;
    weft_aio_group_spawn(&g, job_fn, &r->slow[i], &ts[i]);
  }
  r->owner_cancel_rc = weft_aio_group_wait(&g);
  for (int i = 0; i < 2; i++) {
    r->owner_cancel_codes[i] = weft_aio_task_code(ts[i]);
    weft_aio_task_release(ts[i]);
  }
  weft_aio_group_end(&g);
  return 0;
}

static int group_cancel_main(void *arg) {
  weft_aio_task *o;
  weft_aio_spawn(group_owner, arg, &o);
  weft_aio_sleep(2 * MS);
  weft_aio_cancel(o);
  int rc = weft_aio_await(o);
  weft_aio_task_release(o);
  return rc;
}

static void test_group(void **state) {
  (void)state;
  struct group_rec r = {0};
  assert_ok(weft_aio_run(group_main, &r));
  assert_weft(r.rc, WEFT_ERANGE);
  assert_non_null(strstr(r.message, "WEFT_ERANGE"));
  assert_weft(r.codes[0], WEFT_ECANCELED); /* siblings cancelled */
  assert_weft(r.codes[2], WEFT_ECANCELED);
  assert_ok(r.codes[3]);                   /* finished before the failure */
  assert_int_equal(r.jobs[0].cleaned, 1);
  assert_weft(r.late_spawn, WEFT_ESHUTDOWN);
  assert_ok(weft_aio_run(group_cancel_main, &r));
  assert_weft(r.owner_cancel_rc, WEFT_ECANCELED);
  for (int i = 0; i < 2; i++) {
    assert_weft(r.owner_cancel_codes[i], WEFT_ECANCELED);
    assert_int_equal(r.slow[i].cleaned, 1);
  }
}

/* ---- the end of a run; deadlock ---- */

static int leftover_main(void *arg) {
  struct job *jobs = arg;
  for (int i = 0; i < 3; i++) {
    jobs[i].delay_ms = 10000;
    weft_aio_spawn(job_fn, &jobs[i], NULL); /* detached, still sleeping at the end */
  }
  weft_aio_sleep(1 * MS);
  return 0;
}

static void test_leftovers_cancelled_at_end(void **state) {
  (void)state;
  struct job jobs[3] = {JOB(0, 0), JOB(0, 0), JOB(0, 0)};
  uint64_t t0 = weft_now_ns();
  assert_ok(weft_aio_run(leftover_main, jobs));
  assert_true(weft_now_ns() - t0 < 5000 * MS);
  for (int i = 0; i < 3; i++) assert_int_equal(jobs[i].cleaned, 1);
}

static int wait_forever(void *arg) {
  int *cleaned = arg;
  weft__aio_wait w;
  weft__aio_wait_init(&w, NULL); /* nobody will ever wake this */
  int rc = weft__aio_suspend(&w);
  (*cleaned)++;
  return rc;
}

static int deadlock_main(void *arg) {
  weft_aio_task *t;
  weft_aio_spawn(wait_forever, arg, &t);
  int rc = weft_aio_await(t);
  (*(int *)arg) += 10;
  weft_aio_task_release(t);
  return rc;
}

static void test_deadlock_detected(void **state) {
  (void)state;
  int cleaned = 0;
  assert_weft(weft_aio_run(deadlock_main, &cleaned), WEFT_EDEADLK);
  assert_int_equal(cleaned, 11); /* both cleaned up after the cancellation */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_returns_main_code),
      cmocka_unit_test(test_spawn_await),
      cmocka_unit_test(test_outside_a_task),
      cmocka_unit_test(test_gather),
      cmocka_unit_test(test_wait_modes),
      cmocka_unit_test(test_yield_interleaves_and_sleep_lasts),
      cmocka_unit_test(test_handoff_modes),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_cancel_never_lost),
      cmocka_unit_test(test_scopes),
      cmocka_unit_test(test_shield),
      cmocka_unit_test(test_group),
      cmocka_unit_test(test_leftovers_cancelled_at_end),
      cmocka_unit_test(test_deadlock_detected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
