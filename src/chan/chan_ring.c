/* src/chan/chan_ring.c — the bounded channel: a lock-free MPMC ring.
 *
 * Vyukov's bounded MPMC queue, in the form crossbeam-channel uses so that
 * any capacity works (not only powers of two) and close is atomic with
 * sends:
 *   - a position is (lap | index): index < capacity in the low bits, then a
 *     mark bit (set in `tail` by close), then the lap counter;
 *   - every slot carries a stamp: == position when free for the sender of
 *     that position, == position + 1 when it holds that position's item;
 *     the receiver sets it to position + one_lap, freeing it for the next lap;
 *   - senders and receivers claim positions with a CAS on tail / head, copy
 *     the item, then publish with a release store of the stamp.
 * Close sets the mark bit in tail with one fetch_or: a sender either claimed
 * its position before (its item will be delivered) or its CAS fails and it
 * sees the mark. Receivers report WEFT_ECLOSED only once head meets the
 * marked tail, i.e. after every claimed item was drained.
 *
 * When a slot is claimed by another thread that has not finished copying,
 * we spin a little and then report WEFT_EAGAIN: the blocking path then waits
 * on the channel's wait queue, and that thread notifies it when it is done. */
#include <stdlib.h>
#include <string.h>
#include "chan/chan_internal.h"

/* Looks at a slot another thread is still copying into or out of this many
 * times before reporting WEFT_EAGAIN. Lost CAS races and stale positions
 * do not count: they mean others progressed, so retrying is always right
 * (a spurious WEFT_EAGAIN there could park a sender on a non-full ring). */
#define RING_SPINS 16

static inline size_t *slot_stamp(const chan_ring *r, size_t index) {
  return (size_t *)(r->slots + index * r->stride);
}

static inline unsigned char *slot_item(const chan_ring *r, size_t index) {
  return r->slots + index * r->stride + sizeof(size_t);
}

int weft__ring_init(chan_ring *r, size_t item_size, size_t capacity) {
  size_t mark = 1;
  while (mark < capacity + 1) mark <<= 1; /* caller bounds capacity */
  r->mark_bit = mark;
  r->one_lap = mark << 1;
  r->capacity = capacity;
  r->stride = (sizeof(size_t) + item_size + 7) & ~(size_t)7;
  r->head = r->tail = 0;
  r->slots = weft__alloc_aligned(r->stride * capacity);
  if (!r->slots) return WEFT_ENOMEM;
  for (size_t i = 0; i < capacity; i++) *slot_stamp(r, i) = i;
  return 0;
}

void weft__ring_destroy(chan_ring *r) {
  free(r->slots);
}

/* The position after pos: next index, or index 0 of the next lap. */
static inline size_t next_position(const chan_ring *r, size_t pos) {
  size_t index = pos & (r->mark_bit - 1);
  size_t lap = pos & ~(r->one_lap - 1);
  return index + 1 < r->capacity ? pos + 1 : lap + r->one_lap;
}

int weft__ring_try_send(chan_ring *r, const void *item, size_t item_size) {
  size_t tail = weft_load_relaxed(&r->tail);
  for (int spins = 0;;) {
    if (tail & r->mark_bit) return WEFT_ECLOSED;
    size_t index = tail & (r->mark_bit - 1);
    size_t *stamp_p = slot_stamp(r, index);
    size_t stamp = weft_load_acquire(stamp_p); /* the receiver finished reading */
    if (stamp == tail) {
      /* seq_cst CAS: pairs with the fence in try_recv's emptiness check. */
      if (__atomic_compare_exchange_n(&r->tail, &tail, next_position(r, tail), true,
                                      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        memcpy(slot_item(r, index), item, item_size);
        weft_store_release(stamp_p, tail + 1); /* publishes the bytes */
        return 0;
      }
      continue; /* another sender won; tail was reloaded by the failed CAS */
    }
    if (stamp + r->one_lap == tail + 1) {
      /* The slot still holds last lap's item: full, unless a receiver has
       * already claimed it and is copying out. */
      chan_fence();
      size_t head = weft_load_relaxed(&r->head);
      if (head + r->one_lap == tail) return WEFT_EAGAIN;
    }
    /* Our tail was stale (others progressed: retry at once), or the slot is
     * busy: after a few tries give up, its owner notifies when done. */
    size_t fresh = weft_load_relaxed(&r->tail);
    if (fresh == tail) {
      if (++spins >= RING_SPINS) return WEFT_EAGAIN;
      weft_cpu_relax();
    }
    tail = fresh;
  }
}

int weft__ring_try_recv(chan_ring *r, void *item, size_t item_size) {
  size_t head = weft_load_relaxed(&r->head);
  for (int spins = 0;;) {
    size_t index = head & (r->mark_bit - 1);
    size_t *stamp_p = slot_stamp(r, index);
    size_t stamp = weft_load_acquire(stamp_p); /* the sender finished writing */
    if (stamp == head + 1) {
      if (__atomic_compare_exchange_n(&r->head, &head, next_position(r, head), true,
                                      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        memcpy(item, slot_item(r, index), item_size);
        weft_store_release(stamp_p, head + r->one_lap); /* frees the slot */
        return 0;
      }
      continue;
    }
    /* Nothing to take here: empty (closed or not) if tail meets head;
     * otherwise a sender is still copying in, a receiver of the last lap is
     * still copying out, or our head is stale. Checked on every such path:
     * a receiver must see a close even while a slot is busy. */
    chan_fence();
    size_t tail = weft_load_relaxed(&r->tail);
    if ((tail & ~r->mark_bit) == head) return (tail & r->mark_bit) ? WEFT_ECLOSED : WEFT_EAGAIN;
    size_t fresh = weft_load_relaxed(&r->head);
    if (fresh == head) {
      if (++spins >= RING_SPINS) return WEFT_EAGAIN;
      weft_cpu_relax();
    }
    head = fresh;
  }
}

int weft__ring_close(chan_ring *r) {
  size_t old = __atomic_fetch_or(&r->tail, r->mark_bit, __ATOMIC_SEQ_CST);
  return (old & r->mark_bit) ? WEFT_ECLOSED : 0;
}

bool weft__ring_is_closed(const chan_ring *r) {
  return (weft_load_acquire(&r->tail) & r->mark_bit) != 0;
}

size_t weft__ring_len(const chan_ring *r, size_t capacity) {
  for (;;) {
    size_t tail = __atomic_load_n(&r->tail, __ATOMIC_SEQ_CST);
    size_t head = __atomic_load_n(&r->head, __ATOMIC_SEQ_CST);
    /* A consistent snapshot: tail did not move while we read head. */
    if (__atomic_load_n(&r->tail, __ATOMIC_SEQ_CST) != tail) continue;
    size_t hix = head & (r->mark_bit - 1);
    size_t tix = tail & (r->mark_bit - 1);
    if (hix < tix) return tix - hix;
    if (hix > tix) return capacity - hix + tix;
    return (tail & ~r->mark_bit) == head ? 0 : capacity;
  }
}
