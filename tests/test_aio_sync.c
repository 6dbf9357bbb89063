/* tests/test_aio_sync.c — async locks (aio.h): lock (FIFO hand-off, no
 * barging, mutual exclusion across awaits), semaphore (bounded, limits
 * concurrency), event, condition — and, for each, cancellation of waiters,
 * both while waiting and right after a hand-off, without losing a unit.
 * The queue has tests/test_aio_queue.c.
 *
 * Task bodies check with CHECK/CHECK_RC (tests/aio_testutil.h), which count
 * failures and return from the task; the test asserts after the run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "aio_testutil.h"
#include "weft/aio.h"

#define MS WEFT_MS

/* ==== lock ==== */

struct lk {
  weft_aio_lock *l;
  int inside, max_inside;
  int order[16], norder;
  int rounds;
};

struct lkuser {
  struct lk *lk;
  int id, code, after;
};

/* Holds the lock across sleeps: nobody else may be inside meanwhile. */
static int lock_user(void *arg) {
  struct lkuser *u = arg;
  struct lk *lk = u->lk;
  for (int r = 0; r < lk->rounds; r++) {
    CHECK_RC(weft_aio_lock_acquire(lk->l), 0);
    if (lk->norder < 16) lk->order[lk->norder++] = u->id;
    lk->inside++;
    if (lk->inside > lk->max_inside) lk->max_inside = lk->inside;
    CHECK_RC(weft_aio_sleep(r % 2 ? 1 * MS : 0), 0);
    CHECK_RC(weft_aio_yield(), 0);
    lk->inside--;
    CHECK_RC(weft_aio_lock_release(lk->l), 0);
  }
  return 0;
}

static int lock_basic(void *arg) {
  (void)arg;
  struct lk lk = {.rounds = 1};
  CHECK_RC(weft_aio_lock_create(&lk.l), 0);
  CHECK_RC(weft_aio_lock_release(lk.l), WEFT_EPERM);
  CHECK_RC(weft_aio_lock_acquire(lk.l), 0);
  CHECK_RC(weft_aio_lock_acquire(lk.l), WEFT_EDEADLK);
  struct lkuser us[5];
  weft_aio_task *ts[5];
  for (int i = 0; i < 5; i++) {
    us[i] = (struct lkuser){&lk, i, 0, 0};
    ts[i] = go(lock_user, &us[i]);
  }
  CHECK_RC(weft_aio_yield(), 0); /* all five queue up, in order */
  CHECK_RC(weft_aio_lock_release(lk.l), 0);
  /* Barging: the lock was handed to task 0; we queue behind all five. */
  CHECK_RC(weft_aio_lock_acquire(lk.l), 0);
  CHECK(lk.norder == 5);
  for (int i = 0; i < 5; i++) CHECK(lk.order[i] == i);
  CHECK_RC(weft_aio_lock_release(lk.l), 0);
  CHECK_RC(weft_aio_gather(ts, 5, 0), 0);
  for (int i = 0; i < 5; i++) weft_aio_task_release(ts[i]);

  /* Mutual exclusion across awaits, many rounds. */
  lk.rounds = (int)scaled(40, 10);
  lk.norder = 16; /* stop recording */
  for (int i = 0; i < 5; i++) ts[i] = go(lock_user, &us[i]);
  CHECK_RC(weft_aio_gather(ts, 5, 0), 0);
  for (int i = 0; i < 5; i++) weft_aio_task_release(ts[i]);
  CHECK(lk.max_inside == 1);
  weft_aio_lock_destroy(lk.l);
  return 0;
}

static void test_lock_basic(void **state) {
  (void)state;
  run_main(lock_basic, NULL);
}

static int lock_waiter(void *arg) {
  struct lkuser *u = arg;
  u->code = weft_aio_lock_acquire(u->lk->l);
  if (u->code == 0) {
    if (u->lk->norder < 16) u->lk->order[u->lk->norder++] = u->id;
    u->after = weft_aio_sleep(1 * MS);
    CHECK_RC(weft_aio_lock_release(u->lk->l), 0);
  }
  return 0;
}

static int lock_cancel(void *arg) {
  (void)arg;
  struct lk lk = {0};
  CHECK_RC(weft_aio_lock_create(&lk.l), 0);
  CHECK_RC(weft_aio_lock_acquire(lk.l), 0);
  struct lkuser us[4];
  weft_aio_task *ts[4];
  for (int i = 0; i < 4; i++) {
    us[i] = (struct lkuser){&lk, i, 99, 99};
    ts[i] = go(lock_waiter, &us[i]);
  }
  CHECK_RC(weft_aio_yield(), 0);
  CHECK_RC(weft_aio_cancel(ts[1]), 0);      /* cancelled while waiting */
  CHECK_RC(weft_aio_lock_release(lk.l), 0); /* handed to 0 ... */
  CHECK_RC(weft_aio_cancel(ts[0]), 0);      /* ... which is cancelled now */
  CHECK_RC(weft_aio_gather(ts, 4, WEFT_AIO_COLLECT), 0);
  CHECK_RC(us[0].code, 0); /* it got the lock, */
  CHECK_RC(us[0].after, WEFT_ECANCELED); /* its next await was cancelled */
  CHECK_RC(us[1].code, WEFT_ECANCELED);
  CHECK_RC(us[2].code, 0);
  CHECK_RC(us[3].code, 0);
  CHECK(lk.norder == 3);
  CHECK(lk.order[0] == 0 && lk.order[1] == 2 && lk.order[2] == 3);
  for (int i = 0; i < 4; i++) weft_aio_task_release(ts[i]);
  CHECK_RC(weft_aio_lock_acquire(lk.l), 0); /* nothing lost: it is free */
  CHECK_RC(weft_aio_lock_release(lk.l), 0);

  /* destroy with a waiter: ECLOSED. */
  CHECK_RC(weft_aio_lock_acquire(lk.l), 0);
  us[0] = (struct lkuser){&lk, 0, 99, 99};
  ts[0] = go(lock_waiter, &us[0]);
  CHECK_RC(weft_aio_yield(), 0);
  weft_aio_lock_destroy(lk.l);
  CHECK_RC(finish(ts[0]), 0);
  CHECK_RC(us[0].code, WEFT_ECLOSED);
  return 0;
}

static void test_lock_cancel(void **state) {
  (void)state;
  run_main(lock_cancel, NULL);
}

/* ==== semaphore ==== */

struct sm {
  weft_aio_sem *s;
  int inside, max_inside, done;
};

static int sem_user(void *arg) {
  struct sm *m = arg;
  for (int r = 0; r < 5; r++) {
    CHECK_RC(weft_aio_sem_acquire(m->s), 0);
    m->inside++;
    if (m->inside > m->max_inside) m->max_inside = m->inside;
    CHECK_RC(weft_aio_sleep(1 * MS), 0);
    m->inside--;
    CHECK_RC(weft_aio_sem_release(m->s), 0);
  }
  m->done++;
  return 0;
}

struct semw {
  weft_aio_sem *s;
  int code, after;
  bool release;
};

static int sem_waiter(void *arg) {
  struct semw *w = arg;
  w->code = weft_aio_sem_acquire(w->s);
  w->after = weft_aio_sleep(1 * MS);
  if (w->code == 0 && w->release) CHECK_RC(weft_aio_sem_release(w->s), 0);
  return 0;
}

static int sem_all(void *arg) {
  (void)arg;
  struct sm m = {0};
  CHECK_RC(weft_aio_sem_create(&m.s, 2, 0), 0);
  weft_aio_task *ts[6];
  for (int i = 0; i < 6; i++) ts[i] = go(sem_user, &m);
  CHECK_RC(weft_aio_gather(ts, 6, 0), 0);
  for (int i = 0; i < 6; i++) weft_aio_task_release(ts[i]);
  CHECK(m.done == 6 && m.max_inside == 2);
  CHECK(weft_aio_sem_value(m.s) == 2);
  weft_aio_sem_destroy(m.s);

  /* Bounded: releasing above the bound is ERANGE. */
  weft_aio_sem *b;
  CHECK_RC(weft_aio_sem_create(&b, 2, 1), WEFT_EINVAL);
  CHECK_RC(weft_aio_sem_create(&b, 1, 1), 0);
  CHECK_RC(weft_aio_sem_release(b), WEFT_ERANGE);
  CHECK_RC(weft_aio_sem_acquire(b), 0);
  CHECK(weft_aio_sem_value(b) == 0);
  CHECK_RC(weft_aio_sem_release(b), 0);
  CHECK_RC(weft_aio_sem_release(b), WEFT_ERANGE);
  CHECK(weft_aio_sem_value(b) == 1);
  weft_aio_sem_destroy(b);

  /* Cancellation: a waiter cancelled while waiting takes nothing; one
   * handed a unit and then cancelled keeps it (and gives it back). */
  weft_aio_sem *s;
  CHECK_RC(weft_aio_sem_create(&s, 0, 0), 0);
  struct semw w[3] = {{s, 99, 99, true}, {s, 99, 99, true}, {s, 99, 99, false}};
  weft_aio_task *tw[3];
  for (int i = 0; i < 3; i++) tw[i] = go(sem_waiter, &w[i]);
  CHECK_RC(weft_aio_yield(), 0);
  CHECK_RC(weft_aio_cancel(tw[1]), 0);
  CHECK_RC(weft_aio_sem_release(s), 0); /* to w0 */
  CHECK_RC(weft_aio_cancel(tw[0]), 0);
  CHECK_RC(finish(tw[0]), 0);
  CHECK_RC(finish(tw[1]), 0);
  CHECK_RC(w[0].code, 0);
  CHECK_RC(w[0].after, WEFT_ECANCELED);
  CHECK_RC(w[1].code, WEFT_ECANCELED);
  CHECK_RC(finish(tw[2]), 0); /* w0's release went to w2, which keeps it */
  CHECK_RC(w[2].code, 0);
  CHECK(weft_aio_sem_value(s) == 0);
  CHECK_RC(weft_aio_sem_release(s), 0);
  CHECK(weft_aio_sem_value(s) == 1);
  /* destroy with a waiter */
  CHECK_RC(weft_aio_sem_acquire(s), 0);
  w[0] = (struct semw){s, 99, 99, false};
  tw[0] = go(sem_waiter, &w[0]);
  CHECK_RC(weft_aio_yield(), 0);
  weft_aio_sem_destroy(s);
  CHECK_RC(finish(tw[0]), 0);
  CHECK_RC(w[0].code, WEFT_ECLOSED);
  return 0;
}

static void test_sem(void **state) {
  (void)state;
  run_main(sem_all, NULL);
}

/* ---- churn: random cancellations never lose a unit or the lock ---- */

struct churnsl {
  weft_aio_sem *s;
  weft_aio_lock *l;
  int holders, max_holders, acquired;
};

static int sl_user(void *arg) {
  struct churnsl *c = arg;
  for (int r = 0; r < 4; r++) {
    if (weft_aio_sem_acquire(c->s)) return 0; /* cancelled: holds nothing */
    c->holders++;
    if (c->holders > c->max_holders) c->max_holders = c->holders;
    int rc = weft_aio_yield(); /* may be cancelled here: still releases */
    c->holders--;
    CHECK_RC(weft_aio_sem_release(c->s), 0);
    if (rc) return 0;
    if (weft_aio_lock_acquire(c->l)) return 0;
    c->acquired++;
    rc = weft_aio_yield();
    CHECK_RC(weft_aio_lock_release(c->l), 0);
    if (rc) return 0;
  }
  return 0;
}

static int sem_lock_churn(void *arg) {
  (void)arg;
  struct churnsl c = {0};
  CHECK_RC(weft_aio_sem_create(&c.s, 3, 3), 0);
  CHECK_RC(weft_aio_lock_create(&c.l), 0);
  size_t rounds = scaled(200, 20);
  uint32_t rnd = 12345;
  for (size_t r = 0; r < rounds; r++) {
    weft_aio_task *ts[10];
    for (int i = 0; i < 10; i++) ts[i] = go(sl_user, &c);
    for (int k = 0; k < 6; k++) {
      rnd = rnd * 1103515245u + 12345u;
      CHECK_RC(weft_aio_yield(), 0);
      weft_aio_cancel(ts[(rnd >> 16) % 10]); /* waiting, holding, or mid-hand-off */
    }
    for (int i = 0; i < 10; i++) {
      int rc = finish(ts[i]);
      CHECK(rc == 0 || rc == WEFT_ECANCELED); /* ECANCELED: never started */
    }
    CHECK(weft_aio_sem_value(c.s) == 3); /* every unit came back */
    CHECK(c.holders == 0);
  }
  CHECK(c.max_holders == 3);
  CHECK(c.acquired > 0);
  /* The lock is free: a bounded wait gets it at once. */
  weft_aio_scope sc;
  weft_aio_scope_enter(&sc, 1000 * MS);
  int rc = weft_aio_lock_acquire(c.l);
  weft_aio_scope_exit(&sc);
  CHECK_RC(rc, 0);
  CHECK_RC(weft_aio_lock_release(c.l), 0);
  weft_aio_sem_destroy(c.s);
  weft_aio_lock_destroy(c.l);
  return 0;
}

static void test_sem_lock_churn(void **state) {
  (void)state;
  run_main(sem_lock_churn, NULL);
}

/* ==== event ==== */

struct evw {
  weft_aio_event *e;
  int code;
};

static int ev_waiter(void *arg) {
  struct evw *w = arg;
  w->code = weft_aio_event_wait(w->e);
  return 0;
}

static int event_all(void *arg) {
  (void)arg;
  weft_aio_event *e;
  CHECK_RC(weft_aio_event_create(&e), 0);
  CHECK(!weft_aio_event_is_set(e));
  struct evw w[6];
  weft_aio_task *ts[6];
  for (int i = 0; i < 6; i++) {
    w[i] = (struct evw){e, 99};
    ts[i] = go(ev_waiter, &w[i]);
  }
  CHECK_RC(weft_aio_yield(), 0);
  CHECK_RC(weft_aio_cancel(ts[5]), 0);
  CHECK_RC(finish(ts[5]), 0);
  CHECK_RC(w[5].code, WEFT_ECANCELED);
  for (int i = 0; i < 5; i++) CHECK(!weft_aio_task_done(ts[i]));
  weft_aio_event_set(e);
  CHECK(weft_aio_event_is_set(e));
  for (int i = 0; i < 5; i++) {
    CHECK_RC(finish(ts[i]), 0);
    CHECK_RC(w[i].code, 0);
  }
  CHECK_RC(weft_aio_event_wait(e), 0); /* set: at once */
  weft_aio_event_clear(e);
  CHECK(!weft_aio_event_is_set(e));
  w[0].code = 99;
  ts[0] = go(ev_waiter, &w[0]);
  CHECK_RC(weft_aio_sleep(2 * MS), 0);
  CHECK(!weft_aio_task_done(ts[0])); /* cleared: waits again */
  weft_aio_event_destroy(e);         /* ... until destroyed */
  CHECK_RC(finish(ts[0]), 0);
  CHECK_RC(w[0].code, WEFT_ECLOSED);
  return 0;
}

static void test_event(void **state) {
  (void)state;
  run_main(event_all, NULL);
}

/* ==== condition ==== */

struct cv {
  weft_aio_lock *l;
  weft_aio_cond *c;
  int items, woke;
};

struct cvw {
  struct cv *cv;
  int code;
  int release; /* 0: it owned the lock when cond_wait returned */
};

static int cond_waiter(void *arg) {
  struct cvw *w = arg;
  struct cv *cv = w->cv;
  CHECK_RC(weft_aio_lock_acquire(cv->l), 0);
  w->code = weft_aio_cond_wait(cv->c);
  cv->woke++;
  w->release = weft_aio_lock_release(cv->l); /* EPERM unless we own it */
  return 0;
}

static int cond_all(void *arg) {
  (void)arg;
  struct cv cv = {0};
  CHECK_RC(weft_aio_lock_create(&cv.l), 0);
  CHECK_RC(weft_aio_cond_create(&cv.c, cv.l), 0);
  CHECK_RC(weft_aio_cond_wait(cv.c), WEFT_EPERM); /* lock not held */
  struct cvw w[5];
  weft_aio_task *ts[5];
  for (int i = 0; i < 5; i++) {
    w[i] = (struct cvw){&cv, 99, 99};
    ts[i] = go(cond_waiter, &w[i]);
  }
  CHECK_RC(weft_aio_yield(), 0);
  CHECK(cv.woke == 0);
  weft_aio_cond_notify(cv.c, 1);
  CHECK_RC(weft_aio_sleep(1 * MS), 0);
  CHECK(cv.woke == 1 && weft_aio_task_done(ts[0]));
  weft_aio_cond_notify(cv.c, 2);
  CHECK_RC(weft_aio_sleep(1 * MS), 0);
  CHECK(cv.woke == 3);

  /* Cancelled while the notifier holds the lock: cond_wait returns only
   * once it has the lock again, with ECANCELED. */
  CHECK_RC(weft_aio_lock_acquire(cv.l), 0);
  CHECK_RC(weft_aio_cancel(ts[3]), 0);
  CHECK_RC(weft_aio_sleep(2 * MS), 0);
  CHECK(cv.woke == 3); /* waiting for the lock */
  CHECK_RC(weft_aio_lock_release(cv.l), 0);
  CHECK_RC(finish(ts[3]), 0);
  CHECK(cv.woke == 4);
  CHECK_RC(w[3].code, WEFT_ECANCELED);

  weft_aio_cond_notify_all(cv.c);
  CHECK_RC(finish(ts[4]), 0);
  for (int i = 0; i < 3; i++) CHECK_RC(finish(ts[i]), 0);
  for (int i = 0; i < 5; i++) {
    CHECK_RC(w[i].code, i == 3 ? WEFT_ECANCELED : 0);
    CHECK_RC(w[i].release, 0);
  }
  CHECK(cv.woke == 5);

  /* A waiter already cancelled fails at once, still holding the lock. */
  CHECK_RC(weft_aio_lock_acquire(cv.l), 0);
  w[0] = (struct cvw){&cv, 99, 99};
  ts[0] = go(cond_waiter, &w[0]);
  CHECK_RC(weft_aio_cancel(ts[0]), 0); /* before it ever ran */
  CHECK_RC(weft_aio_lock_release(cv.l), 0);
  CHECK_RC(finish(ts[0]), WEFT_ECANCELED); /* never started */

  /* destroy with a waiter: ECLOSED, and the lock is re-acquired. */
  w[0] = (struct cvw){&cv, 99, 99};
  ts[0] = go(cond_waiter, &w[0]);
  CHECK_RC(weft_aio_yield(), 0);
  weft_aio_cond_destroy(cv.c);
  CHECK_RC(finish(ts[0]), 0);
  CHECK_RC(w[0].code, WEFT_ECLOSED);
  CHECK_RC(w[0].release, 0);
  CHECK_RC(weft_aio_lock_acquire(cv.l), 0); /* free again */
  CHECK_RC(weft_aio_lock_release(cv.l), 0);
  weft_aio_lock_destroy(cv.l);
  return 0;
}

static void test_cond(void **state) {
  (void)state;
  run_main(cond_all, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lock_basic),
      cmocka_unit_test(test_lock_cancel),
      cmocka_unit_test(test_sem),
      cmocka_unit_test(test_sem_lock_churn),
      cmocka_unit_test(test_event),
      cmocka_unit_test(test_cond),
  };
  return cmocka_run_group_tests(tests, warm_up, NULL);
}
