/* src/chan/chan_internal.h — the channel's private layout, shared by the
 * files of src/chan:
 *   chan.c            public API, blocking loop
 *   chan_waitq.c      the one wake-up mechanism (eventcount + select listeners)
 *   chan_ring.c       bounded: lock-free MPMC ring
 *   chan_unbounded.c  unbounded: list of blocks under a short mutex
 *   chan_select.c     weft_select
 * See docs/chan.md for the design. */
#ifndef WEFT_CHAN_INTERNAL_H
#define WEFT_CHAN_INTERNAL_H

#include <pthread.h>
#include "core/internal.h"
#include "weft/chan.h"

/* A full barrier between a store and a later load (the Dekker pattern of
 * the wait queue and the ring's emptiness checks). TSan does not support
 * standalone fences (gcc's -Wtsan), so there we use a seq_cst RMW on a
 * private word: also a full barrier on the hardware, and understood by TSan. */
#ifdef __SANITIZE_THREAD__
static inline void chan_fence(void) {
  static uint32_t fence_word;
  __atomic_fetch_add(&fence_word, 0, __ATOMIC_SEQ_CST);
}
#else
#define chan_fence() weft_fence_seq_cst()
#endif

/* ---- wait queue: an eventcount for blocked send/recv, plus a list of
 * select waiters. State changes call weft__waitq_notify; it costs a fence and
 * two loads when nobody waits. ---- */

/* A select call blocked on several queues: one futex word of its own. */
typedef struct chan_select_waiter {
  uint32_t seq;
} chan_select_waiter;

typedef struct chan_listener {
  struct chan_listener *prev, *next;
  chan_select_waiter *waiter;
  bool registered;
} chan_listener;

typedef struct chan_waitq {
  uint32_t seq;        /* futex word of blocked send/recv: bumped on notify */
  uint32_t sleepers;   /* threads inside a prepare/finish pair */
  uint32_t listeners;  /* select waiters in `list` (read without the lock) */
  pthread_mutex_t lock;  /* guards `list` only */
  chan_listener *list;
} chan_waitq;

void weft__waitq_init(chan_waitq *q);
void weft__waitq_destroy(chan_waitq *q);
/* A state change that may let one waiter proceed (all: close). */
void weft__waitq_notify(chan_waitq *q, bool all);
/* Blocking side: prepare returns a key, then the caller re-checks its
 * condition, then either waits with the key or just finishes. */
uint32_t weft__waitq_prepare(chan_waitq *q);
int weft__waitq_wait(chan_waitq *q, uint32_t key, uint64_t deadline_ns);
void weft__waitq_finish(chan_waitq *q);
/* Select side: (un)registers a listener; notify bumps waiter->seq. */
void weft__waitq_listen(chan_waitq *q, chan_listener *l, chan_select_waiter *w);
void weft__waitq_unlisten(chan_waitq *q, chan_listener *l);

/* ---- bounded ring ---- */
typedef struct chan_ring {
  size_t head WEFT_ALIGNED_CL;   /* next position to receive (lap | index) */
  size_t tail WEFT_ALIGNED_CL;   /* next position to send, | mark_bit once closed */
  size_t mark_bit WEFT_ALIGNED_CL; /* read-only after init: */
  size_t one_lap;
  size_t capacity;
  size_t stride;                 /* bytes per slot: stamp + item, 8-aligned */
  unsigned char *slots;
} chan_ring;

/* ---- unbounded list of blocks ---- */
struct chan_block;
typedef struct chan_list {
  pthread_mutex_t lock;
  struct chan_block *head, *tail;  /* receive from head, send into tail */
  size_t head_index, tail_index;   /* item index inside each block */
  struct chan_block *spare;        /* one freed block kept for reuse */
  size_t len;
  size_t per_block;
  bool closed;
} chan_list;

enum chan_kind { CHAN_BOUNDED = 1, CHAN_UNBOUNDED = 2 };

struct weft_chan {
  int kind;
  size_t item_size;
  size_t capacity;               /* SIZE_MAX when unbounded */
  chan_waitq not_empty;          /* receivers wait here */
  chan_waitq not_full;           /* senders wait here (bounded only) */
  union {
    chan_ring ring;
    chan_list list;
  };
};

/* Non-blocking operations: 0, WEFT_EAGAIN (full / empty, or a slot still
 * being written or read by another thread: it notifies when done),
 * WEFT_ECLOSED, WEFT_ENOMEM (unbounded). They do not notify. */
int weft__ring_init(chan_ring *r, size_t item_size, size_t capacity);
void weft__ring_destroy(chan_ring *r);
int weft__ring_try_send(chan_ring *r, const void *item, size_t item_size);
int weft__ring_try_recv(chan_ring *r, void *item, size_t item_size);
int weft__ring_close(chan_ring *r);
bool weft__ring_is_closed(const chan_ring *r);
size_t weft__ring_len(const chan_ring *r, size_t capacity);

int weft__list_init(chan_list *l, size_t item_size);
void weft__list_destroy(chan_list *l);
int weft__list_try_send(chan_list *l, const void *item, size_t item_size);
int weft__list_try_recv(chan_list *l, void *item, size_t item_size);
int weft__list_close(chan_list *l);
bool weft__list_is_closed(const chan_list *l);
size_t weft__list_len(const chan_list *l);

/* Dispatch plus notification of the other side on success. */
int weft__chan_try_send(weft_chan *c, const void *item);
int weft__chan_try_recv(weft_chan *c, void *item);

#endif /* WEFT_CHAN_INTERNAL_H */
