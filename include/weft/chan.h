/* weft/chan.h — channels: thread-safe MPMC queues of fixed-size items.
 *
 * One type, two shapes: a bounded channel (a lock-free sequence-numbered ring;
 * senders block only when it is full, receivers only when it is empty) and an
 * unbounded one (sends never block). Both copy items in and out by value
 * (item_size bytes), follow Go's close rules, and work with weft_select.
 * All functions may be called from any thread. */
#ifndef WEFT_CHAN_H
#define WEFT_CHAN_H

#include "weft/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_chan weft_chan;

/* Creates a bounded channel holding up to `capacity` items of item_size bytes.
 * *out is owned by the caller until weft_chan_destroy.
 * Errors: WEFT_EINVAL (NULL out, item_size or capacity 0, absurd sizes),
 * WEFT_ENOMEM. */
int weft_chan_create(weft_chan **out, size_t item_size, size_t capacity);

/* Creates an unbounded channel (a queue that grows in blocks as needed).
 * Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_chan_create_unbounded(weft_chan **out, size_t item_size);

/* Frees the channel. No thread may be using it. Items still inside are
 * dropped (they are plain bytes). NULL is ignored. */
void weft_chan_destroy(weft_chan *c);

/* Copies *item in; blocks while the channel is full.
 * Errors: WEFT_ECLOSED (closed, before or while waiting), WEFT_EINVAL,
 * WEFT_ENOMEM (unbounded channel could not grow). */
int weft_chan_send(weft_chan *c, const void *item);
/* As send, but WEFT_EAGAIN instead of blocking. */
int weft_chan_try_send(weft_chan *c, const void *item);
/* As send, but WEFT_ETIMEDOUT after timeout_ns. */
int weft_chan_send_timed(weft_chan *c, const void *item, uint64_t timeout_ns);

/* Copies the oldest item into *item; blocks while the channel is empty.
 * After close, receivers drain what is left, then get WEFT_ECLOSED. */
int weft_chan_recv(weft_chan *c, void *item);
/* As recv, but WEFT_EAGAIN when empty and still open. */
int weft_chan_try_recv(weft_chan *c, void *item);
/* As recv, but WEFT_ETIMEDOUT after timeout_ns. */
int weft_chan_recv_timed(weft_chan *c, void *item, uint64_t timeout_ns);

/* Closes the channel: wakes every blocked sender (WEFT_ECLOSED) and receiver
 * (which drain, then get WEFT_ECLOSED). Errors: WEFT_ECLOSED when already
 * closed, WEFT_EINVAL. */
int weft_chan_close(weft_chan *c);

bool   weft_chan_is_closed(const weft_chan *c);
/* Items inside now (a snapshot under concurrency). */
size_t weft_chan_len(const weft_chan *c);
/* The capacity; SIZE_MAX for an unbounded channel. */
size_t weft_chan_capacity(const weft_chan *c);
size_t weft_chan_item_size(const weft_chan *c);

/* ---- select: wait until one of several operations can proceed, do it. ---- */
enum weft_select_op { WEFT_SELECT_RECV = 1, WEFT_SELECT_SEND = 2 };

typedef struct weft_select_case {
  weft_chan *chan;
  int op;          /* WEFT_SELECT_RECV or WEFT_SELECT_SEND */
  void *item;      /* RECV: where the item goes; SEND: the item to send */
  int result;      /* out: 0, or WEFT_ECLOSED for the case that fired closed */
} weft_select_case;

/* Performs exactly one ready operation among cases[0..n) and stores its index
 * in *fired; a channel that is closed counts as ready (its case gets
 * result WEFT_ECLOSED: a RECV on a drained closed channel or any SEND on a
 * closed one). When several are ready one is chosen at random, so no case
 * starves. Waits up to timeout_ns (0 = poll, WEFT_FOREVER = no limit).
 * Returns 0 when a case fired, WEFT_ETIMEDOUT (or WEFT_EAGAIN for a poll)
 * when none did, WEFT_EINVAL for bad arguments (n == 0, NULL chan or item,
 * bad op), WEFT_ENOMEM when a waiting select over many cases cannot
 * allocate its listeners. (A SEND case on an unbounded channel that cannot
 * grow fires with result WEFT_ENOMEM.) */
int weft_select(weft_select_case *cases, size_t n, uint64_t timeout_ns, size_t *fired);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CHAN_H */
