/* src/aio/aio_wlist.h — internal: intrusive FIFO lists of weft__aio_wait.
 *
 * Used by the async queue, locks, processes and signals, and by streams and
 * UDP for their waiting tasks. A waiter on a list has w.data pointing
 * at that list, so one abort function (weft__wl_abort) can unlink it from
 * whichever list it is on and wake it with the interruption's code.
 * Loop thread only.
 */
#ifndef WEFT_AIO_WLIST_H
#define WEFT_AIO_WLIST_H

#include <stddef.h>
#include "aio/aio_internal.h"

typedef struct weft__wlist {
  weft__aio_wait *head, *tail;
} weft__wlist;

static inline bool weft__wl_empty(const weft__wlist *l) { return l->head == NULL; }

static inline void weft__wl_push(weft__wlist *l, weft__aio_wait *w) {
  w->data = l;
  w->next = NULL;
  w->prev = l->tail;
  if (l->tail) l->tail->next = w;
  else l->head = w;
  l->tail = w;
}

static inline void weft__wl_unlink(weft__wlist *l, weft__aio_wait *w) {
  if (w->prev) w->prev->next = w->next;
  else l->head = w->next;
  if (w->next) w->next->prev = w->prev;
  else l->tail = w->prev;
  w->next = w->prev = NULL;
}

static inline weft__aio_wait *weft__wl_pop(weft__wlist *l) {
  weft__aio_wait *w = l->head;
  if (w) weft__wl_unlink(l, w);
  return w;
}

/* Wakes every waiter, oldest first. */
static inline void weft__wl_wake_all(weft__wlist *l, int code) {
  for (weft__aio_wait *w; (w = weft__wl_pop(l));) weft__aio_wake(w, code);
}

/* An abort function for weft__aio_wait_init: unlink and wake with `why`. */
static inline void weft__wl_abort(weft__aio_wait *w, int why) {
  weft__wl_unlink((weft__wlist *)w->data, w);
  weft__aio_wake(w, why);
}

#endif /* WEFT_AIO_WLIST_H */
