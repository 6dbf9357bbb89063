/* src/aio/loop_internal.h — the core's own structures (loop.c, task.c,
 * gather.c, bridge.c). Other aio pieces use aio_internal.h only. */
#ifndef WEFT_AIO_LOOP_INTERNAL_H
#define WEFT_AIO_LOOP_INTERNAL_H

#include <pthread.h>
#include "aio/aio_internal.h"
#include "aio/coro.h"

/* A watch: a callback run when a task finishes (await, gather, wait, groups,
 * futures of threadsafe spawns). Lives in the watcher's memory; linked into
 * the watched task's list until it fires or is removed. */
typedef struct weft__aio_watch weft__aio_watch;
struct weft__aio_watch {
  weft__aio_watch *next, *prev;
  void (*fire)(weft__aio_watch *w, weft_aio_task *done);
  void *ctx;
  size_t index;
};

enum task_state { TASK_NEW, TASK_READY, TASK_RUNNING, TASK_WAITING, TASK_DONE };

struct weft_aio_task {
  weft_loop *loop;
  weft__coro *co;          /* made at the first run, destroyed at the end */
  weft_aio_fn fn;
  void *arg;
  void *result;
  int code;
  int refs;                /* handles + 1 while unfinished */
  uint8_t state;
  bool cancelled, in_ready;
  weft__aio_wait *wait;    /* the pending suspension */
  weft_aio_scope *scope;   /* innermost cancel scope */
  uv_timer_t *timer;       /* sleeps and deadlines; made on first need */
  uint64_t wake_at;        /* suspend_until's time, or WEFT_FOREVER */
  weft__aio_watch *watches;
  weft_aio_task *next_ready;
  weft_aio_task *all_next, *all_prev; /* the loop's unfinished tasks */
  char *name;              /* NULL: "task <id>" is made when asked */
  const char *trace_name;  /* name interned for traces, on first need */
  uint64_t id;
};

typedef struct post_item {
  struct post_item *next;
  void (*fn)(void *);
  void *arg;
} post_item;

typedef struct end_item {
  struct end_item *next;
  void (*fn)(void *);
  void *arg;
} end_item;

struct weft_loop {
  uv_loop_t uv;
  weft_loop_options opt;
  weft_aio_task *ready_head, *ready_tail;
  weft_aio_task *current;
  weft_aio_task *main;
  weft_aio_task *all;      /* unfinished tasks */
  size_t live;
  unsigned holds;
  uint64_t next_id;
  bool running, exposed, accepting, main_done;
  int pass_left;           /* slices left in this scheduler pass */
  uint64_t slice_t0;       /* trace ticks when the running slice began; 0: off */
  bool in_uv;              /* inside uv_run: a task made ready must stop it */
  uv_async_t async;
  pthread_mutex_t post_mu;
  post_item *post_head, *post_tail;
  end_item *ends;
  struct weft__aio_watchdog *watchdog; /* NULL unless lag_threshold_ns */
};

/* task.c */
extern __thread weft_loop *weft__aio_tls_loop;
int weft__aio_task_new(weft_loop *l, const char *name, weft_aio_fn fn, void *arg,
                       weft_aio_task **out);
void weft__aio_task_run(weft_aio_task *t);   /* scheduler: one slice */
void weft__aio_make_ready(weft_aio_task *t);
weft_aio_task *weft__aio_ready_pop(weft_loop *l); /* the ready queue is not empty */
void weft__aio_watch_add(weft_aio_task *t, weft__aio_watch *w);
void weft__aio_watch_remove(weft_aio_task *t, weft__aio_watch *w);
void weft__aio_abandon(weft_aio_task *t);    /* deadlocked at loop end */
const char *weft__aio_task_label(weft_aio_task *t, char *buf, size_t cap);

/* watchdog.c */
int weft__aio_watchdog_start(weft_loop *l);
void weft__aio_watchdog_stop(weft_loop *l);
void weft__aio_watchdog_slice(weft_loop *l, weft_aio_task *t); /* NULL: slice ended */

#endif /* WEFT_AIO_LOOP_INTERNAL_H */
