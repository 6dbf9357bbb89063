/* src/aio/serve.c — a server on every core (weft_aio_serve_start / _stop).
 *
 * One thread per loop. Each loop's main task listens on host:port with
 * SO_REUSEPORT, so the kernel spreads incoming connections over the
 * listeners, and accepts: every connection becomes a task running
 * handler(stream, arg), after which the stream is closed.
 *
 * Start-up is sequential so that port 0 works: loop 0 binds first, and the
 * others bind the port it got. weft_aio_serve_start returns once every loop
 * listens (or reports the first listen error), so a client may connect as
 * soon as it returns.
 *
 * Stopping is a message: weft_loop_call_soon_threadsafe runs stop_cb on each
 * loop's thread, which closes the listener; the pending accept then returns
 * WEFT_ECLOSED and the main task cancels and awaits its connection tasks
 * before returning, which ends the loop and its thread. A stop requested
 * from a handler (or by a signal) cannot join its own thread, so it only
 * starts the stop; the owner joins and frees with weft_aio_serve_stop, and
 * can wait for the end with weft_aio_serve_wait.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aio/aio_internal.h"
#include "weft/sync.h"
#include "weft/thread.h"

enum { SERVE_BACKLOG = 1024, SERVE_MAX_LOOPS = 256 };

typedef struct serve_conn serve_conn;
typedef struct serve_loop serve_loop;

/* One accepted connection; owned by its task, which unlinks and frees it. */
struct serve_conn {
  serve_loop *sl;
  weft_aio_stream *stream;
  weft_aio_task *task;       /* our handle, so that stop can cancel it */
  serve_conn *prev, *next;
};

/* Fields marked (loop) are touched only on that loop's thread. */
struct serve_loop {
  weft_aio_serve *srv;
  unsigned index;
  weft_loop *loop;
  weft_thread *thread;
  weft_event ready;          /* set once listening (or failed to) */
  weft_event done;           /* set when the loop has ended */
  int start_rc;              /* listen's result, read after `ready` */
  atomic_bool running;       /* the main task has started: posts reach it */
  bool reported;             /* (loop) ready was set */
  bool stopping;             /* (loop) stop_cb ran */
  weft_aio_server *listener; /* (loop) NULL once closed */
  serve_conn *conns;         /* (loop) live connections */
  struct serve_sig {
    serve_loop *sl;
    int signum;
    weft_aio_task *task;
  } sig[2];                  /* (loop 0) SIGINT / SIGTERM watchers */
};

struct weft_aio_serve {
  weft_aio_handler handler;
  void *arg;
  char *host;                /* NULL = all IPv4 addresses */
  int port;                  /* what loops 1.. bind: loop 0's port */
  bool stop_on_signal;
  atomic_bool stop_requested;
  unsigned nloops;
  serve_loop *loops;
};

/* ---- connections ---- */

static int conn_main(void *arg) {
  serve_conn *c = arg;
  serve_loop *sl = c->sl;
  int rc = sl->srv->handler(c->stream, sl->srv->arg);
  weft_aio_close(c->stream);
  if (c->prev) c->prev->next = c->next;
  else sl->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  weft_aio_task_release(c->task); /* the task runs on to its end */
  free(c);
  return rc;
}

static int conn_start(serve_loop *sl, weft_aio_stream *stream) {
  serve_conn *c = calloc(1, sizeof *c);
  if (!c) return WEFT_ENOMEM;
  c->sl = sl;
  c->stream = stream;
  int rc = weft_aio_spawn_named("weft-serve-conn", conn_main, c, &c->task);
  if (rc) {
    free(c);
    return rc;
  }
  /* The task first runs when we next await, so linking now is in time. */
  c->next = sl->conns;
  if (sl->conns) sl->conns->prev = c;
  sl->conns = c;
  return 0;
}

/* Cancels every live connection task and awaits each to its end. The
 * handle is retained around the await: the task frees its conn (and drops
 * the conn's reference) as it ends. */
static void conns_cancel_all(serve_loop *sl) {
  for (serve_conn *c = sl->conns; c; c = c->next) weft_aio_cancel(c->task);
  while (sl->conns) {
    weft_aio_task *t = sl->conns->task;
    weft_aio_task_retain(t);
    weft_aio_await(t);
    weft_aio_task_release(t);
  }
}

/* ---- stopping ---- */

/* On the loop's thread (not a task): stop accepting. */
static void stop_cb(void *arg) {
  serve_loop *sl = arg;
  sl->stopping = true;
  if (sl->listener) {
    weft_aio_server_close(sl->listener); /* the pending accept: WEFT_ECLOSED */
    sl->listener = NULL;
  }
}

/* From any thread, once: asks every loop to stop. A loop that has already
 * ended refuses the post (WEFT_ESHUTDOWN), which is fine. */
static void request_stop(weft_aio_serve *srv) {
  if (atomic_exchange(&srv->stop_requested, true)) return;
  /* Only loops that run (or ran): one that starts later sees stop_requested
   * itself (both flags are seq_cst, so at least one side sees the other). */
  for (unsigned i = 0; i < srv->nloops; i++)
    if (atomic_load(&srv->loops[i].running)) weft_loop_call_soon_threadsafe(srv->loops[i].loop, stop_cb, &srv->loops[i]);
}

/* stop_on_signal: loop 0 runs one of these per signal. */
static int signal_main(void *arg) {
  struct serve_sig *w = arg;
  int rc = weft_aio_signal_wait(w->signum);
  if (rc == 0) request_stop(w->sl->srv);
  return rc == WEFT_ECANCELED ? 0 : rc;
}

static int signals_start(serve_loop *sl) {
  static const int signums[2] = {SIGINT, SIGTERM};
  int rc = 0;
  for (int i = 0; i < 2 && !rc; i++) {
    sl->sig[i] = (struct serve_sig){sl, signums[i], NULL};
    rc = weft_aio_spawn_named(i ? "weft-serve-sigterm" : "weft-serve-sigint", signal_main,
                              &sl->sig[i], &sl->sig[i].task);
  }
  /* Let them run up to their wait, so the handlers are in place before
   * serve_start returns (else an early SIGTERM would kill the process). */
  if (!rc) rc = weft_aio_yield();
  return rc;
}

static void signals_end(serve_loop *sl) {
  for (int i = 0; i < 2; i++) {
    weft_aio_task *t = sl->sig[i].task;
    if (!t) continue;
    weft_aio_cancel(t);
    weft_aio_await(t);
    weft_aio_task_release(t);
    sl->sig[i].task = NULL;
  }
}

/* ---- each loop ---- */

static void report_ready(serve_loop *sl, int rc) {
  sl->start_rc = rc;
  sl->reported = true;
  weft_event_set(&sl->ready);
}

static void accept_loop(serve_loop *sl) {
  while (!sl->stopping && sl->listener) {
    weft_aio_stream *stream = NULL;
    int rc = weft_aio_accept(sl->listener, &stream);
    if (rc == WEFT_ECLOSED || rc == WEFT_ECANCELED) break;
    if (rc) {
      /* Out of fds or memory, or a connection reset before accept: the
       * listener is still good; back off a little instead of spinning. */
      if (weft_aio_sleep(10 * WEFT_MS) == WEFT_ECANCELED) break;
      continue;
    }
    if (conn_start(sl, stream)) weft_aio_close(stream); /* shed this one */
  }
}

static int loop_main(void *arg) {
  serve_loop *sl = arg;
  weft_aio_serve *srv = sl->srv;
  int rc = 0;
  atomic_store(&sl->running, true);
  if (srv->stop_on_signal && sl->index == 0) rc = signals_start(sl);
  if (!rc) rc = weft_aio_tcp_listen(srv->host, srv->port, SERVE_BACKLOG, WEFT_AIO_REUSEPORT,
                                    &sl->listener);
  if (!rc && sl->index == 0) srv->port = weft_aio_server_port(sl->listener);
  report_ready(sl, rc);
  if (!rc && (sl->stopping || atomic_load(&srv->stop_requested)))
    stop_cb(sl); /* asked to stop before or while we were binding */
  if (!rc) accept_loop(sl);
  if (sl->listener) {
    weft_aio_server_close(sl->listener);
    sl->listener = NULL;
  }
  conns_cancel_all(sl);
  signals_end(sl);
  return rc;
}

static int loop_thread(void *arg) {
  serve_loop *sl = arg;
  int rc = weft_loop_run(sl->loop, loop_main, sl);
  if (!sl->reported) report_ready(sl, rc ? rc : WEFT_ESHUTDOWN); /* main never ran */
  weft_event_set(&sl->done);
  return rc;
}

/* ---- start, wait, stop ---- */

static void serve_free(weft_aio_serve *srv) {
  for (unsigned i = 0; i < srv->nloops; i++) {
    serve_loop *sl = &srv->loops[i];
    if (sl->loop) weft_loop_destroy(sl->loop);
    weft_event_destroy(&sl->ready);
    weft_event_destroy(&sl->done);
  }
  free(srv->loops);
  free(srv->host);
  free(srv);
}

/* Joins every started thread, then frees everything. */
static void serve_join_free(weft_aio_serve *srv) {
  for (unsigned i = 0; i < srv->nloops; i++)
    if (srv->loops[i].thread) weft_thread_join(srv->loops[i].thread, NULL);
  serve_free(srv);
}

/* Starts loop i's thread and waits until it listens. */
static int start_one(weft_aio_serve *srv, unsigned i) {
  serve_loop *sl = &srv->loops[i];
  char name[24]; /* the OS keeps 15 bytes: "weft-serve-255" fits */
  snprintf(name, sizeof name, "weft-serve-%u", i % SERVE_MAX_LOOPS);
  int rc = weft_thread_create(&sl->thread, name, loop_thread, sl);
  if (rc) return rc;
  weft_event_wait(&sl->ready);
  return sl->start_rc;
}

static int serve_alloc(const weft_aio_serve_options *opt, weft_aio_handler handler, void *arg,
                       weft_aio_serve **out) {
  weft_aio_serve *srv = calloc(1, sizeof *srv);
  if (!srv) return WEFT_ENOMEM;
  srv->handler = handler;
  srv->arg = arg;
  srv->port = opt->port;
  srv->stop_on_signal = opt->stop_on_signal;
  atomic_init(&srv->stop_requested, false);
  srv->nloops = opt->loops ? opt->loops : weft_cpu_count();
  if (srv->nloops > SERVE_MAX_LOOPS) srv->nloops = SERVE_MAX_LOOPS;
  srv->loops = calloc(srv->nloops, sizeof *srv->loops);
  srv->host = opt->host ? strdup(opt->host) : NULL;
  int rc = srv->loops && (srv->host || !opt->host) ? 0 : WEFT_ENOMEM;
  for (unsigned i = 0; !rc && i < srv->nloops; i++) {
    serve_loop *sl = &srv->loops[i];
    sl->srv = srv;
    sl->index = i;
    atomic_init(&sl->running, false);
    weft_event_init(&sl->ready);
    weft_event_init(&sl->done);
    rc = weft_loop_create(&sl->loop, NULL);
  }
  if (rc) {
    if (srv->loops) serve_free(srv);
    else free(srv->host), free(srv);
    return rc;
  }
  *out = srv;
  return 0;
}

int weft_aio_serve_start(const weft_aio_serve_options *opt, weft_aio_handler handler, void *arg,
                         weft_aio_serve **out) {
  if (!opt || !handler || !out || opt->port < 0 || opt->port > 65535) return WEFT_EINVAL;
  weft_aio_serve *srv;
  int rc = serve_alloc(opt, handler, arg, &srv);
  if (rc) return rc;
  /* Loop 0 first: with port 0 it picks the port the others then share. */
  for (unsigned i = 0; !rc && i < srv->nloops; i++) rc = start_one(srv, i);
  if (rc) {
    request_stop(srv);
    serve_join_free(srv);
    return rc;
  }
  if (opt->bound_port) *opt->bound_port = srv->port;
  *out = srv;
  return 0;
}

/* Waits until every loop has ended (after a stop from a handler, or a
 * signal with stop_on_signal): 0, or WEFT_ETIMEDOUT. Any thread but the
 * server's own. The server stays to be freed by weft_aio_serve_stop. */
int weft_aio_serve_wait(weft_aio_serve *s, uint64_t timeout_ns) {
  if (!s) return WEFT_EINVAL;
  uint64_t start = weft_now_ns();
  for (unsigned i = 0; i < s->nloops; i++) {
    uint64_t left = WEFT_FOREVER;
    if (timeout_ns != WEFT_FOREVER) {
      uint64_t spent = weft_now_ns() - start;
      left = spent >= timeout_ns ? 0 : timeout_ns - spent;
    }
    if (weft_event_wait_timed(&s->loops[i].done, left)) return WEFT_ETIMEDOUT;
  }
  return 0;
}

int weft_aio_serve_stop(weft_aio_serve *s) {
  if (!s) return WEFT_EINVAL;
  request_stop(s);
  /* From a handler (or any task) of this server: a thread cannot join
   * itself, so the stop is only started; the owner still calls stop. */
  weft_loop *here = weft_loop_current();
  for (unsigned i = 0; here && i < s->nloops; i++)
    if (s->loops[i].loop == here) return 0;
  serve_join_free(s);
  return 0;
}
