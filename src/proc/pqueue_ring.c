/* src/proc/pqueue_ring.c — the shared queue's ring, robust to a process
 * that dies half-way through a send or receive.
 *
 * Vyukov's ring, as src/chan/chan_ring.c: a slot whose sequence equals the
 * position is free for the sender at that position, pos + 1 means full for
 * the receiver at that position, pos + capacity frees it for the next lap;
 * the sequence store (release) publishes the copied bytes and the load
 * (acquire) receives them. Integers and offsets only: any address, any
 * process.
 *
 * Robustness: each slot also has an owner word, the identity (pid and the
 * low 31 bits of its start time, see pident.h) of the process working on
 * it. A sender (receiver) first takes the owner word of the slot at head
 * (tail) with a CAS from 0, then claims the position by CASing head (tail),
 * copies, publishes the sequence and only then clears the owner. So a slot
 * is never claimed without an owner on record, and every change to a
 * slot's sequence is made by its owner. (Recording the owner after the
 * claim would leave a window where a killed process stalls the slot with
 * no name on it.) The cost is one more CAS per operation, and a sender
 * that finds the owner word taken by another sender of the same position
 * spins for the few instructions until that one claims it.
 *
 * A peer stuck on a slot whose owner is dead (checked every few ms, slow
 * path only) takes the owner word over by CAS and works out from the
 * sequence and head/tail how far the dead process got:
 *   seq == pos (the sender side; slot index == seq mod capacity):
 *     head > pos: claimed, never published: the slot becomes a hole
 *       (seq = pos + 1, owner = HOLE), which receivers skip: no item.
 *     otherwise: nothing claimed (or a receiver had already freed it).
 *   seq == pos + 1 (the receiver side):
 *     tail > pos: a receiver claimed the item and died with it: the slot
 *       is freed for senders (seq = pos + capacity); the item is lost.
 *     otherwise: nothing claimed (or the sender had already published).
 * Telling the two sides apart by seq mod capacity needs capacity >= 2,
 * which the ring always has. Repairs are idempotent: a repairer killed
 * half-way is itself a dead owner, repaired the same way. */
#include <sched.h>
#include <string.h>
#include "proc/pident.h"
#include "proc/pqueue_internal.h"

#define HOLE_BIT  (1ull << 63)      /* the slot carries no item (a dead sender's) */
#define START_MASK 0x7fffffffull    /* start-time bits kept in an owner word */
#define STALL_NS  (2 * 1000000ull)  /* a slot held this long: is its owner alive? */

static uint64_t *slot_seq(const weft_pqueue *q, uint64_t pos) {
  return (uint64_t *)(void *)(q->slots + (pos & q->h->mask) * q->h->stride);
}

static uint64_t *slot_owner(uint64_t *seq) {
  return seq + 1;
}

static void *slot_item(uint64_t *seq) {
  return (char *)seq + PQ_SLOT_HDR;
}

static uint64_t self_owner(void) {
  weft__pident me = weft__pident_self();
  return (uint64_t)(uint32_t)me.pid | (me.start & START_MASK) << 32;
}

static bool owner_dead(uint64_t o) {
  return weft__pident_dead_masked((int32_t)(uint32_t)o, (o & ~HOLE_BIT) >> 32, START_MASK);
}

void weft__pq_notify(uint32_t *ec, uint32_t *waiters) {
  __atomic_fetch_add(ec, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(waiters, __ATOMIC_SEQ_CST) != 0) weft__futex_wake_shared(ec, INT32_MAX);
}

/* Repairs the slot `seq` whose owner word held `dead` (see top). */
static void repair(weft_pqueue *q, uint64_t *seq, uint64_t dead) {
  pq_hdr *h = q->h;
  uint64_t *owner = slot_owner(seq);
  if (!__atomic_compare_exchange_n(owner, &dead, self_owner(), false, __ATOMIC_ACQUIRE,
                                   __ATOMIC_RELAXED))
    return; /* someone else repaired it */
  uint64_t s = weft_load_acquire(seq);
  uint64_t index = (uint64_t)((char *)seq - q->slots) / h->stride;
  uint64_t keep = dead & HOLE_BIT; /* a hole stays a hole until received */
  if ((s & h->mask) == index) {    /* sender side, pos = s */
    keep = 0;
    if ((int64_t)(__atomic_load_n(&h->head, __ATOMIC_SEQ_CST) - s) > 0) {
      weft_store_release(seq, s + 1);
      keep = HOLE_BIT;
    }
  } else if ((int64_t)(__atomic_load_n(&h->tail, __ATOMIC_SEQ_CST) - (s - 1)) > 0) {
    weft_store_release(seq, s - 1 + h->capacity); /* receiver side: the item is lost */
    keep = 0;
  }
  weft_store_release(owner, keep);
  /* Either side may have been waiting on this slot. */
  weft__pq_notify(&h->items_ec, &h->recv_waiters);
  weft__pq_notify(&h->space_ec, &h->send_waiters);
}

/* The owner word of a slot we want is taken (by a peer about to claim the
 * position, or finishing with it): spin, then yield, and once it has been
 * held for STALL_NS, check whether the holder died. */
typedef struct stall { unsigned spins; uint64_t since; } stall;

static void owner_busy(weft_pqueue *q, uint64_t *seq, uint64_t o, stall *st) {
  if (++st->spins < 100) {
    weft_cpu_relax();
    return;
  }
  sched_yield();
  uint64_t now = weft_now_ns();
  if (st->since == 0) st->since = now;
  if (now - st->since < STALL_NS) return;
  st->since = now;
  if (owner_dead(o)) repair(q, seq, o);
}

bool weft__pq_check_stuck(weft_pqueue *q, bool recv) {
  uint64_t pos = __atomic_load_n(recv ? &q->h->tail : &q->h->head, __ATOMIC_SEQ_CST);
  uint64_t *seq = slot_seq(q, pos);
  uint64_t o = __atomic_load_n(slot_owner(seq), __ATOMIC_ACQUIRE);
  if ((o & ~HOLE_BIT) == 0 || !owner_dead(o)) return false;
  repair(q, seq, o);
  return true;
}

/* Takes the owner word of the slot for position pos (from 0, or from HOLE
 * when `hole_ok`): true, with *was = the previous value. */
static bool own(uint64_t *seq, uint64_t me, bool hole_ok, uint64_t *was) {
  uint64_t o = __atomic_load_n(slot_owner(seq), __ATOMIC_RELAXED);
  *was = o;
  if (o != 0 && !(hole_ok && o == HOLE_BIT)) return false;
  return __atomic_compare_exchange_n(slot_owner(seq), was, me | o, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

/* Takes the owner word of the slot for position *pos and claims the
 * position on `end` (head or tail) while the slot's sequence is
 * *pos + offset (0: free for a sender, 1: full for a receiver), moving on
 * to later positions as `end` moves: 0, with *seqp the slot and *was its
 * owner word before (0, or HOLE_BIT for a receiver taking a hole); or
 * WEFT_EAGAIN (*diff < 0) when the slot at *pos is not ready: full for a
 * sender, empty for a receiver. */
static int claim(weft_pqueue *q, uint64_t *end, uint64_t *pos, uint64_t offset, bool hole_ok,
                 uint64_t **seqp, uint64_t *was, int64_t *diff) {
  uint64_t me = self_owner();
  stall st = {0, 0};
  for (;;) {
    uint64_t *seq = slot_seq(q, *pos);
    *diff = (int64_t)(weft_load_acquire(seq) - (*pos + offset));
    if (*diff < 0) return WEFT_EAGAIN;
    if (*diff > 0) {
      *pos = weft_load_relaxed(end);
      continue;
    }
    if (!own(seq, me, hole_ok, was)) {
      uint64_t now = weft_load_relaxed(end);
      if (now != *pos) *pos = now;
      else owner_busy(q, seq, *was, &st);
      continue;
    }
    uint64_t p = *pos;
    /* Our slot now: nobody else changes its sequence. Re-check it (the
     * first look raced), then claim the position. */
    if (weft_load_acquire(seq) == p + offset &&
        __atomic_compare_exchange_n(end, &p, p + 1, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
      *seqp = seq;
      return 0;
    }
    weft_store_release(slot_owner(seq), *was); /* give it back as it was */
    *pos = weft_load_relaxed(end);
  }
}

int weft__pq_try_send(weft_pqueue *q, const void *item) {
  pq_hdr *h = q->h;
  if (__atomic_load_n(&h->closed, __ATOMIC_SEQ_CST)) return WEFT_ECLOSED;
  uint64_t pos = weft_load_relaxed(&h->head), was, *seq;
  int64_t diff;
  if (claim(q, &h->head, &pos, 0, false, &seq, &was, &diff)) return WEFT_EAGAIN;
  memcpy(slot_item(seq), item, h->item_size);
  weft_store_release(seq, pos + 1);
  weft_store_release(slot_owner(seq), 0);
  weft__pq_notify(&h->items_ec, &h->recv_waiters);
  return 0;
}

int weft__pq_try_recv(weft_pqueue *q, void *item) {
  pq_hdr *h = q->h;
  for (;;) {
    uint64_t pos = weft_load_relaxed(&h->tail), was, *seq;
    int64_t diff;
    if (claim(q, &h->tail, &pos, 1, true, &seq, &was, &diff)) {
      /* Empty at pos. Closed and drained only when no sender has claimed
       * pos either: a claimed slot is an item on its way in. */
      if (__atomic_load_n(&h->closed, __ATOMIC_SEQ_CST) &&
          __atomic_load_n(&h->head, __ATOMIC_SEQ_CST) == pos)
        return WEFT_ECLOSED;
      return WEFT_EAGAIN;
    }
    if (!(was & HOLE_BIT)) memcpy(item, slot_item(seq), h->item_size);
    weft_store_release(seq, pos + h->capacity); /* free for the next lap */
    weft_store_release(slot_owner(seq), 0);
    weft__pq_notify(&h->space_ec, &h->send_waiters);
    if (!(was & HOLE_BIT)) return 0;
    /* A dead sender's hole: skipped, on to the next position. */
  }
}

int weft__pqueue_stop_halfway(weft_pqueue *q, bool recv, int stage) {
  if (!q) return WEFT_EINVAL;
  pq_hdr *h = q->h;
  uint64_t *end = recv ? &h->tail : &h->head;
  uint64_t pos = weft_load_relaxed(end), was, *seq;
  if (stage == 0) {
    seq = slot_seq(q, pos);
    if (weft_load_acquire(seq) != pos + recv) return WEFT_EAGAIN;
    return own(seq, self_owner(), false, &was) ? 0 : WEFT_EAGAIN;
  }
  int64_t diff;
  return claim(q, end, &pos, recv, false, &seq, &was, &diff) ? WEFT_EAGAIN : 0;
}
