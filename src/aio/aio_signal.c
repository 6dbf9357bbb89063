/* src/aio/aio_signal.c — awaiting a signal (asyncio's add_signal_handler,
 * as an await).
 *
 * One uv_signal_t per signal number per loop, made on first use and kept
 * until the loop ends (weft__aio_on_loop_end closes them). It is started
 * while at least one task waits and stopped when the last one leaves, so an
 * idle watcher neither keeps the loop alive nor swallows the signal. Note
 * that libuv resets a signal to SIG_DFL (not to what it was before) once no
 * handle watches it any more: while nobody waits, SIGUSR1 kills the process
 * as usual, and a signal the program ignored (say SIGPIPE) is no longer
 * ignored after it has been waited for. One delivery wakes every task
 * waiting for that signal; deliveries while nobody waits are not
 * remembered.
 *
 * A loop runs on one thread and a thread runs one loop at a time, so the
 * watchers of the current loop live in a thread-local list.
 */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include "aio/aio_wlist.h"

typedef struct sigwatch {
  uv_signal_t h;
  int signum;
  weft__wlist waiters;
  struct sigwatch *next;
} sigwatch;

static _Thread_local struct {
  weft_loop *loop; /* whose watchers `list` holds (NULL: none yet) */
  sigwatch *list;
} reg;

static void watch_closed(uv_handle_t *h) { free(h->data); }

/* At loop end every task has ended, so no watcher has waiters left. */
static void loop_end(void *arg) {
  if (reg.loop != arg) return;
  for (sigwatch *s = reg.list, *next; s; s = next) {
    next = s->next;
    uv_close((uv_handle_t *)&s->h, watch_closed);
  }
  reg.list = NULL;
  reg.loop = NULL;
}

static int find_watch(weft_loop *loop, int signum, sigwatch **out) {
  if (reg.loop != loop) {
    int rc = weft__aio_on_loop_end(loop, loop_end, loop);
    if (rc) return rc;
    reg.loop = loop;
    reg.list = NULL; /* a previous loop's list was closed at its end */
  }
  for (sigwatch *s = reg.list; s; s = s->next)
    if (s->signum == signum) return *out = s, 0;
  sigwatch *s = calloc(1, sizeof *s);
  if (!s) return WEFT_ENOMEM;
  int err = uv_signal_init(weft__aio_uv(loop), &s->h);
  if (err) {
    free(s);
    return weft__aio_uv_error(err, "signal");
  }
  s->h.data = s;
  s->signum = signum;
  s->next = reg.list;
  reg.list = s;
  *out = s;
  return 0;
}

static sigwatch *watch_of(weft__aio_wait *w) {
  return (sigwatch *)((char *)w->data - offsetof(sigwatch, waiters));
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  sigwatch *s = h->data;
  uv_signal_stop(h);
  weft__wl_wake_all(&s->waiters, 0);
}

static void abort_wait(weft__aio_wait *w, int why) {
  sigwatch *s = watch_of(w);
  weft__wl_unlink(&s->waiters, w);
  if (weft__wl_empty(&s->waiters)) uv_signal_stop(&s->h);
  weft__aio_wake(w, why);
}

int weft_aio_signal_wait(int signum) {
  if (signum <= 0 || signum >= NSIG) return WEFT_EINVAL;
  int rc = weft__aio_check();
  if (rc) return rc;
  sigwatch *s = NULL;
  rc = find_watch(weft__aio_loop(), signum, &s);
  if (rc) return rc;
  if (weft__wl_empty(&s->waiters)) {
    int err = uv_signal_start(&s->h, on_signal, signum);
    if (err) return weft__aio_uv_error(err, "signal");
  }
  weft__aio_wait w;
  weft__aio_wait_init(&w, abort_wait);
  w.op = "signal";
  weft__wl_push(&s->waiters, &w);
  return weft__aio_suspend(&w);
}
