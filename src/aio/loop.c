/* src/aio/loop.c — the loop: runs ready tasks, polls libuv between passes,
 * takes work from other threads, detects a loop that can never progress,
 * and ends cleanly (asyncio.run's cancel-what-is-left).
 *
 * The scheduler runs the ready queue in passes of at most PASS_BUDGET
 * slices and polls libuv without blocking between passes while tasks are
 * ready; it blocks in libuv only when none is. Running tasks that become
 * ready during a pass in that same pass keeps a ping-pong between two
 * tasks free of system calls, and the budget keeps I/O from starving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aio/loop_internal.h"
#include "trace/trace_internal.h"
#include "core/internal.h"

enum { PASS_BUDGET = 256 };

/* ---- errors ---- */

static __thread char last_error[256];

const char *weft_aio_last_error(void) {
  return last_error;
}

static int map_uv(int e) {
  switch (e) {
  case UV_ECONNRESET: return WEFT_ECONNRESET;
  case UV_EPIPE: return WEFT_EPIPE;
  case UV_ECONNREFUSED: return WEFT_ECONNREFUSED;
  case UV_EADDRINUSE: return WEFT_EADDRINUSE;
  case UV_ETIMEDOUT: return WEFT_ETIMEDOUT;
  case UV_ENOENT: case UV_EAI_NONAME: return WEFT_ENOENT;
  case UV_ENOMEM: case UV_EAI_MEMORY: return WEFT_ENOMEM;
  case UV_EINVAL: case UV_EAFNOSUPPORT: case UV_EADDRNOTAVAIL:
    return WEFT_EINVAL; /* an address this socket or host cannot use: the caller's */
  case UV_ECANCELED: return WEFT_ECANCELED;
  case UV_EOF: return WEFT_EEOF;
  case UV_EBUSY: return WEFT_EBUSY;
  case UV_EACCES: case UV_EPERM: return WEFT_EPERM;
  case UV_EAGAIN: return WEFT_EAGAIN;
  default: return WEFT_EIO;
  }
}

int weft__aio_uv_error(int uv_err, const char *what) {
  snprintf(last_error, sizeof last_error, "%s: %s", what ? what : "libuv", uv_strerror(uv_err));
  return map_uv(uv_err);
}

/* ---- work from other threads ---- */

static void run_posts(weft_loop *l) {
  pthread_mutex_lock(&l->post_mu);
  post_item *p = l->post_head;
  l->post_head = l->post_tail = NULL;
  pthread_mutex_unlock(&l->post_mu);
  while (p) {
    post_item *next = p->next;
    p->fn(p->arg);
    free(p);
    p = next;
  }
}

static void async_cb(uv_async_t *h) {
  run_posts(h->data);
}

int weft__aio_post(weft_loop *l, void (*fn)(void *), void *arg) {
  if (!l || !fn) return WEFT_EINVAL;
  post_item *p = malloc(sizeof *p);
  if (!p) return WEFT_ENOMEM;
  *p = (post_item){NULL, fn, arg};
  pthread_mutex_lock(&l->post_mu);
  if (!l->accepting) {
    pthread_mutex_unlock(&l->post_mu);
    free(p);
    return WEFT_ESHUTDOWN;
  }
  if (l->post_tail) l->post_tail->next = p;
  else l->post_head = p;
  l->post_tail = p;
  /* Sent under the lock: the loop cannot close the handle in between. */
  uv_async_send(&l->async);
  pthread_mutex_unlock(&l->post_mu);
  return 0;
}

int weft_loop_call_soon_threadsafe(weft_loop *l, void (*fn)(void *), void *arg) {
  return weft__aio_post(l, fn, arg);
}

static bool posts_pending(weft_loop *l) {
  pthread_mutex_lock(&l->post_mu);
  bool any = l->post_head != NULL;
  pthread_mutex_unlock(&l->post_mu);
  return any;
}

/* The async handle keeps libuv polling only while something outside may
 * still post: a hold, or a loop others can reach. */
static void update_async_ref(weft_loop *l) {
  if (l->holds > 0 || l->exposed) uv_ref((uv_handle_t *)&l->async);
  else uv_unref((uv_handle_t *)&l->async);
}

void weft__aio_hold(weft_loop *l) {
  if (l->holds++ == 0) update_async_ref(l);
}

void weft__aio_unhold(weft_loop *l) {
  if (--l->holds == 0) update_async_ref(l);
}

int weft__aio_on_loop_end(weft_loop *l, void (*fn)(void *), void *arg) {
  end_item *e = malloc(sizeof *e);
  if (!e) return WEFT_ENOMEM;
  *e = (end_item){l->ends, fn, arg};
  l->ends = e;
  return 0;
}

/* ---- create, current, destroy ---- */

weft_loop *weft__aio_loop(void) {
  return weft__aio_tls_loop;
}

uv_loop_t *weft__aio_uv(weft_loop *l) {
  return l ? &l->uv : NULL;
}

weft_loop *weft_loop_current(void) {
  weft_loop *l = weft__aio_tls_loop;
  if (l && !l->exposed) {
    l->exposed = true;
    update_async_ref(l);
  }
  return l;
}

static int loop_init(weft_loop *l, const weft_loop_options *opt) {
  if (opt) l->opt = *opt;
  if (!l->opt.lag_threshold_ns) {
    const char *ms = getenv("WEFT_AIO_LAG_MS");
    if (ms && atof(ms) > 0) l->opt.lag_threshold_ns = (uint64_t)(atof(ms) * 1e6);
  }
  int rc = uv_loop_init(&l->uv);
  if (rc) return weft__aio_uv_error(rc, "uv_loop_init") == WEFT_ENOMEM ? WEFT_ENOMEM : WEFT_ESYSTEM;
  rc = uv_async_init(&l->uv, &l->async, async_cb);
  if (rc) {
    uv_loop_close(&l->uv);
    return WEFT_ESYSTEM;
  }
  l->async.data = l;
  pthread_mutex_init(&l->post_mu, NULL);
  l->accepting = true;
  update_async_ref(l);
  return 0;
}

int weft_loop_create(weft_loop **out, const weft_loop_options *opt) {
  if (!out) return WEFT_EINVAL;
  weft_loop *l = calloc(1, sizeof *l);
  if (!l) return WEFT_ENOMEM;
  int rc = loop_init(l, opt);
  if (rc) {
    free(l);
    return rc;
  }
  l->exposed = true;
  update_async_ref(l);
  *out = l;
  return 0;
}

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void weft_loop_destroy(weft_loop *l) {
  if (!l || l->running) return;
  pthread_mutex_lock(&l->post_mu);
  l->accepting = false;
  pthread_mutex_unlock(&l->post_mu);
  run_posts(l); /* nothing posted is lost silently: it runs, outside a task */
  uv_close((uv_handle_t *)&l->async, NULL);
  uv_walk(&l->uv, close_any, NULL); /* handles a user left open */
  uv_run(&l->uv, UV_RUN_DEFAULT);
  uv_loop_close(&l->uv);
  pthread_mutex_destroy(&l->post_mu);
  free(l);
}

/* ---- running ---- */

/* Slices of tasks that suspend straight into the next ready task
 * (task.c: switch_away) count against the same budget. */
static void run_pass(weft_loop *l) {
  for (l->pass_left = PASS_BUDGET; l->pass_left > 0 && l->ready_head;) {
    l->pass_left--;
    weft__aio_task_run(weft__aio_ready_pop(l));
  }
  l->pass_left = 0;
}

static void cancel_all(weft_loop *l) {
  for (weft_aio_task *t = l->all; t; t = t->all_next) weft_aio_cancel(t);
}

/* Nothing ready, nothing libuv could deliver, nobody outside to post. */
static bool stuck(weft_loop *l) {
  return !l->ready_head && !uv_loop_alive(&l->uv) && l->holds == 0 && !l->exposed &&
         !posts_pending(l);
}

/* Runs until `done` holds; 0, or WEFT_EDEADLK when stuck first. */
static int drive(weft_loop *l, bool (*done)(weft_loop *)) {
  while (!done(l)) {
    run_pass(l);
    if (done(l)) break;
    if (stuck(l)) return WEFT_EDEADLK;
    l->in_uv = true;
    uv_run(&l->uv, l->ready_head ? UV_RUN_NOWAIT : UV_RUN_ONCE);
    l->in_uv = false;
  }
  return 0;
}

static bool main_done(weft_loop *l) {
  return l->main_done;
}

static bool all_done(weft_loop *l) {
  return l->live == 0;
}

/* After main: cancel the rest and let them clean up; a second deadlock
 * (tasks that wait again after being cancelled) abandons them. */
static void finish_rest(weft_loop *l) {
  if (l->live == 0) return;
  cancel_all(l);
  bool exposed = l->exposed; /* posts are no help now: check for deadlock */
  l->exposed = false;
  update_async_ref(l);
  int rc = drive(l, all_done);
  l->exposed = exposed;
  update_async_ref(l);
  if (rc == WEFT_EDEADLK) {
    fprintf(stderr, "weft: %zu task(s) still waiting after cancellation at the end of the loop; "
                    "dropped without cleanup\n", l->live);
    while (l->all) weft__aio_abandon(l->all);
  }
}

static void end_run(weft_loop *l) {
  while (l->ends) {
    end_item *e = l->ends;
    l->ends = e->next;
    e->fn(e->arg);
    free(e);
  }
  run_posts(l);
  l->ready_head = l->ready_tail = NULL;
  uv_run(&l->uv, UV_RUN_NOWAIT); /* close callbacks of the tasks' timers */
}

int weft_loop_run(weft_loop *l, weft_aio_fn main, void *arg) {
  if (!l || !main) return WEFT_EINVAL;
  if (weft__aio_tls_loop || l->running) return WEFT_EBUSY;
  weft__aio_tls_loop = l;
  l->running = true;
  l->main_done = false;
  pthread_mutex_lock(&l->post_mu);
  l->accepting = true;
  pthread_mutex_unlock(&l->post_mu);
  weft_aio_task *m;
  int rc = weft__aio_task_new(l, "main", main, arg, &m);
  if (rc == 0) {
    l->main = m;
    if (l->opt.lag_threshold_ns) weft__aio_watchdog_start(l);
    if (weft__trace_active()) weft__trace_thread_role("aio-loop", "loop");
    rc = drive(l, main_done);
    if (rc == WEFT_EDEADLK) {
      cancel_all(l); /* the main task too: their cleanup runs */
      drive(l, main_done);
    }
    if (rc == 0) rc = m->code;
    finish_rest(l);
    if (l->watchdog) weft__aio_watchdog_stop(l);
    l->main = NULL;
    weft_aio_task_release(m);
  }
  pthread_mutex_lock(&l->post_mu);
  l->accepting = l->exposed; /* a reachable loop may be run again */
  pthread_mutex_unlock(&l->post_mu);
  end_run(l);
  l->running = false;
  weft__aio_tls_loop = NULL;
  return rc;
}

int weft_aio_run_ex(weft_aio_fn main, void *arg, const weft_loop_options *opt) {
  if (!main) return WEFT_EINVAL;
  if (weft__aio_tls_loop) return WEFT_EBUSY;
  weft_loop *l = calloc(1, sizeof *l);
  if (!l) return WEFT_ENOMEM;
  int rc = loop_init(l, opt);
  if (rc) {
    free(l);
    return rc;
  }
  rc = weft_loop_run(l, main, arg);
  weft_loop_destroy(l);
  return rc;
}

int weft_aio_run(weft_aio_fn main, void *arg) {
  return weft_aio_run_ex(main, arg, NULL);
}
