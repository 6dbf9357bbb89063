/* src/aio/gather.c — waiting for many tasks: gather, wait, task groups.
 *
 * One suspension of the caller, and one watch per unfinished task (on the
 * caller's stack for up to SMALL tasks, else allocated). Each watch counts
 * its task in when it finishes and wakes the caller once the condition
 * holds; every watch still linked is unlinked before the call returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aio/loop_internal.h"
#include "core/internal.h"

enum { SMALL = 16 };

enum mode { GATHER_FAIL_FAST, GATHER_COLLECT, WAIT_FIRST, WAIT_FIRST_ERROR, WAIT_ALL };

struct many {
  weft__aio_wait wait;
  weft_aio_task *const *ts;
  weft__aio_watch *watches;
  size_t n, pending, hit; /* hit: index that satisfied the condition, or n */
  enum mode mode;
  bool cancel_children; /* interrupted: cancel all and wait for every one */
  int why;
};

static bool failed(const weft_aio_task *t) {
  return t->state == TASK_DONE && t->code < 0;
}

/* Whether the condition holds, given that task i just finished (or, with
 * i == n, at the start). */
static bool satisfied(struct many *m, size_t i) {
  if (m->cancel_children) return m->pending == 0;
  bool just = i < m->n;
  switch (m->mode) {
  case WAIT_FIRST:
    if (just) m->hit = i;
    return just || m->pending < m->n;
  case GATHER_FAIL_FAST:
  case WAIT_FIRST_ERROR:
    if (just && failed(m->ts[i])) {
      m->hit = i;
      return true;
    }
    return m->pending == 0;
  default:
    return m->pending == 0;
  }
}

static void many_fired(weft__aio_watch *w, weft_aio_task *done) {
  (void)done;
  struct many *m = w->ctx;
  m->pending--;
  if (satisfied(m, w->index)) weft__aio_wake(&m->wait, m->why);
}

static void many_abort(weft__aio_wait *w, int why) {
  struct many *m = w->data;
  m->why = why;
  if (m->mode == GATHER_FAIL_FAST || m->mode == GATHER_COLLECT) {
    /* gather: the children go down with the caller, and are waited for */
    m->cancel_children = true;
    for (size_t i = 0; i < m->n; i++) weft_aio_cancel(m->ts[i]);
    if (m->pending == 0) weft__aio_wake(w, why);
    return;
  }
  weft__aio_wake(w, why); /* wait: the tasks run on */
}

/* The first already-finished task that satisfies the condition, or n. */
static size_t first_hit(struct many *m) {
  for (size_t i = 0; i < m->n; i++) {
    const weft_aio_task *t = m->ts[i];
    if (t->state != TASK_DONE) continue;
    if (m->mode == WAIT_FIRST) return i;
    if ((m->mode == GATHER_FAIL_FAST || m->mode == WAIT_FIRST_ERROR) && t->code < 0) return i;
  }
  return m->n;
}

static int wait_many(weft_aio_task *const *ts, size_t n, enum mode mode, size_t *index) {
  if (!ts || n == 0) return WEFT_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!ts[i]) return WEFT_EINVAL;
  if (!weft_aio_current()) return WEFT_EPERM;
  struct many m = {.ts = ts, .n = n, .mode = mode, .hit = n};
  for (size_t i = 0; i < n; i++) m.pending += ts[i]->state != TASK_DONE;
  m.hit = first_hit(&m);
  if (m.hit < n || m.pending == 0) {
    if (index) *index = m.hit;
    return 0;
  }
  weft__aio_watch small[SMALL];
  m.watches = n <= SMALL ? small : malloc(n * sizeof *m.watches);
  if (!m.watches) return WEFT_ENOMEM;
  weft__aio_wait_init(&m.wait, many_abort);
  m.wait.op = "gather";
  m.wait.data = &m;
  for (size_t i = 0; i < n; i++) {
    m.watches[i] = (weft__aio_watch){.fire = many_fired, .ctx = &m, .index = i};
    if (ts[i]->state != TASK_DONE) weft__aio_watch_add(ts[i], &m.watches[i]);
  }
  int rc = weft__aio_suspend(&m.wait);
  for (size_t i = 0; i < n; i++) weft__aio_watch_remove(ts[i], &m.watches[i]);
  if (m.watches != small) free(m.watches);
  if (index) *index = m.hit;
  return rc;
}

int weft_aio_gather(weft_aio_task *const *ts, size_t n, int flags) {
  size_t hit;
  bool collect = flags & WEFT_AIO_COLLECT;
  int rc = wait_many(ts, n, collect ? GATHER_COLLECT : GATHER_FAIL_FAST, &hit);
  if (rc) return rc;
  return !collect && hit < n ? ts[hit]->code : 0;
}

int weft_aio_wait(weft_aio_task *const *ts, size_t n, enum weft_aio_wait_mode mode,
                  uint64_t timeout_ns, size_t *index) {
  enum mode m = mode == WEFT_AIO_FIRST_COMPLETED   ? WAIT_FIRST
                : mode == WEFT_AIO_FIRST_EXCEPTION ? WAIT_FIRST_ERROR
                : mode == WEFT_AIO_ALL_COMPLETED   ? WAIT_ALL
                                                   : (enum mode)-1;
  if ((int)m < 0) return WEFT_EINVAL;
  weft_aio_scope s;
  weft_aio_scope_enter(&s, timeout_ns);
  size_t hit;
  int rc = wait_many(ts, n, m, &hit);
  weft_aio_scope_exit(&s);
  if (rc == 0 && index) *index = hit;
  return rc;
}

/* ---- task groups ---- */

typedef struct member {
  struct member *next;
  weft_aio_task *task;
  weft__aio_watch watch;
} member;

struct weft_aio_group_impl {
  member *members;
  size_t live;
  int first_error;
  int interrupted; /* the owner's wait was cancelled or timed out */
  bool closed;
  weft__aio_wait *waiter; /* the owner in group_wait */
  char message[160];
};

static void group_cancel_all(struct weft_aio_group_impl *g) {
  for (member *m = g->members; m; m = m->next) weft_aio_cancel(m->task);
}

static void member_done(weft__aio_watch *w, weft_aio_task *t) {
  struct weft_aio_group_impl *g = w->ctx;
  g->live--;
  if (t->code < 0 && t->code != WEFT_ECANCELED && g->first_error == 0) {
    char buf[32];
    g->first_error = t->code;
    g->closed = true;
    snprintf(g->message, sizeof g->message, "%s failed: %s (%s)",
             weft__aio_task_label(t, buf, sizeof buf), weft_err_name(t->code),
             weft_strerror(t->code));
    group_cancel_all(g);
  }
  if (g->live == 0 && g->waiter) weft__aio_wake(g->waiter, g->interrupted);
}

int weft_aio_group_init(weft_aio_group *g) {
  if (!g) return WEFT_EINVAL;
  g->impl = calloc(1, sizeof *g->impl);
  return g->impl ? 0 : WEFT_ENOMEM;
}

int weft_aio_group_spawn(weft_aio_group *g, weft_aio_fn fn, void *arg, weft_aio_task **out) {
  if (!g || !g->impl || !fn) return WEFT_EINVAL;
  struct weft_aio_group_impl *gi = g->impl;
  if (gi->closed) return WEFT_ESHUTDOWN;
  member *m = calloc(1, sizeof *m);
  if (!m) return WEFT_ENOMEM;
  int rc = weft_aio_spawn(fn, arg, &m->task);
  if (rc) {
    free(m);
    return rc;
  }
  m->watch = (weft__aio_watch){.fire = member_done, .ctx = gi};
  weft__aio_watch_add(m->task, &m->watch);
  m->next = gi->members;
  gi->members = m;
  gi->live++;
  if (out) {
    weft_aio_task_retain(m->task);
    *out = m->task;
  }
  return 0;
}

/* The owner was interrupted in wait: the members go down with it, and
 * their ends are still waited for. */
static void group_wait_abort(weft__aio_wait *w, int why) {
  struct weft_aio_group_impl *g = w->data;
  g->interrupted = why;
  g->closed = true;
  group_cancel_all(g);
  if (g->live == 0) weft__aio_wake(w, why);
}

static int wait_members(struct weft_aio_group_impl *g) {
  if (g->live == 0) return 0;
  weft__aio_wait w;
  weft__aio_wait_init(&w, group_wait_abort);
  w.op = "group";
  w.data = g;
  g->waiter = &w;
  g->interrupted = 0;
  int rc = weft__aio_suspend(&w);
  g->waiter = NULL;
  return rc;
}

int weft_aio_group_wait(weft_aio_group *g) {
  if (!g || !g->impl) return WEFT_EINVAL;
  struct weft_aio_group_impl *gi = g->impl;
  gi->closed = true;
  int why = wait_members(gi);
  return why ? why : gi->first_error;
}

const char *weft_aio_group_message(const weft_aio_group *g) {
  return g && g->impl ? g->impl->message : "";
}

void weft_aio_group_end(weft_aio_group *g) {
  if (!g || !g->impl) return;
  struct weft_aio_group_impl *gi = g->impl;
  if (gi->live > 0) {
    group_cancel_all(gi);
    wait_members(gi);
  }
  while (gi->members) {
    member *m = gi->members;
    gi->members = m->next;
    weft__aio_watch_remove(m->task, &m->watch);
    weft_aio_task_release(m->task);
    free(m);
  }
  free(gi);
  g->impl = NULL;
}
