/* src/chan/chan_waitq.c — the channel's one wake-up mechanism.
 *
 * An eventcount: a thread about to block on "not full" / "not empty" first
 * announces itself (sleepers++), reads the sequence word, re-checks the
 * ring, and only then futex-waits on the sequence it read. A thread that
 * changes the state (publishes an item, frees a slot, closes) bumps the
 * sequence and wakes only if someone announced itself, so the uncontended
 * path makes no syscall. The same notify also signals select calls that
 * registered a listener on this queue; the listener list is behind a mutex
 * but only touched when the (atomic) listener count is non-zero.
 *
 * Memory order: the notifier does "state change; seq_cst fence; load
 * sleepers/listeners", the waiter "sleepers++ or register; seq_cst fence;
 * load seq; re-check state". By the fences, either the notifier sees the
 * waiter or the waiter's re-check sees the state change (Dekker); and a
 * bump after the waiter read seq makes its futex_wait return at once. */
#include <limits.h>
#include <string.h>
#include "chan/chan_internal.h"

void weft__waitq_init(chan_waitq *q) {
  memset(q, 0, sizeof *q);
  pthread_mutex_init(&q->lock, NULL);
}

void weft__waitq_destroy(chan_waitq *q) {
  pthread_mutex_destroy(&q->lock);
}

static void signal_listeners(chan_waitq *q) {
  /* Under the lock: a select's unlisten cannot return (and its waiter, on
   * its stack, cannot go away) while we bump and wake. */
  pthread_mutex_lock(&q->lock);
  for (chan_listener *l = q->list; l; l = l->next) {
    __atomic_fetch_add(&l->waiter->seq, 1, __ATOMIC_RELEASE);
    weft__futex_wake(&l->waiter->seq, 1);
  }
  pthread_mutex_unlock(&q->lock);
}

void weft__waitq_notify(chan_waitq *q, bool all) {
  chan_fence();
  if (weft_load_relaxed(&q->sleepers)) {
    /* release: a waiter that reads the new seq also sees the state change */
    __atomic_fetch_add(&q->seq, 1, __ATOMIC_RELEASE);
    /* One item or slot lets one waiter proceed; a woken waiter always
     * re-tries before it gives up, so the wake-up is never wasted on a
     * thread that leaves with the item untaken. Close wakes everyone. */
    weft__futex_wake(&q->seq, all ? INT_MAX : 1);
  }
  if (weft_load_relaxed(&q->listeners)) signal_listeners(q);
}

uint32_t weft__waitq_prepare(chan_waitq *q) {
  __atomic_fetch_add(&q->sleepers, 1, __ATOMIC_SEQ_CST);
  chan_fence();
  return weft_load_acquire(&q->seq);
}

int weft__waitq_wait(chan_waitq *q, uint32_t key, uint64_t deadline_ns) {
  return weft__futex_wait(&q->seq, key, deadline_ns);
}

void weft__waitq_finish(chan_waitq *q) {
  __atomic_fetch_sub(&q->sleepers, 1, __ATOMIC_RELAXED);
}

void weft__waitq_listen(chan_waitq *q, chan_listener *l, chan_select_waiter *w) {
  l->waiter = w;
  pthread_mutex_lock(&q->lock);
  l->prev = NULL;
  l->next = q->list;
  if (q->list) q->list->prev = l;
  q->list = l;
  l->registered = true;
  __atomic_fetch_add(&q->listeners, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&q->lock);
  chan_fence();
}

void weft__waitq_unlisten(chan_waitq *q, chan_listener *l) {
  pthread_mutex_lock(&q->lock);
  if (l->registered) {
    if (l->prev) l->prev->next = l->next;
    else q->list = l->next;
    if (l->next) l->next->prev = l->prev;
    l->registered = false;
    __atomic_fetch_sub(&q->listeners, 1, __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&q->lock);
}
