/* src/proc/pqueue_internal.h — what pqueue.c (segment, blocking, public
 * calls) and pqueue_ring.c (the ring and its repair) share, plus a test
 * hook. Layout and protocol: pqueue_ring.c. */
#ifndef WEFT_PROC_PQUEUE_INTERNAL_H
#define WEFT_PROC_PQUEUE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "core/internal.h"
#include "weft/proc.h"

#define PQ_MAGIC 0x7765667470717532ull /* "weftpqu2": slots with owners */

typedef struct pq_hdr {
  uint64_t magic, item_size, stride, capacity, mask;
  uint32_t closed;
  WEFT_ALIGNED_CL uint64_t head; /* next send position */
  WEFT_ALIGNED_CL uint64_t tail; /* next receive position */
  WEFT_ALIGNED_CL uint32_t items_ec, recv_waiters;
  WEFT_ALIGNED_CL uint32_t space_ec, send_waiters;
} pq_hdr;

/* A slot: [uint64 seq][uint64 owner][item]. */
enum { PQ_SLOT_HDR = 16 };

struct weft_pqueue {
  weft_shm *shm;
  pq_hdr *h;
  char *slots;
};

/* One attempt: 0, WEFT_EAGAIN (full / empty for now), WEFT_ECLOSED. */
int weft__pq_try_send(weft_pqueue *q, const void *item);
int weft__pq_try_recv(weft_pqueue *q, void *item);

/* Called by a blocked sender (recv == false) or receiver every few ms:
 * if the slot it waits on is held by a dead process, repairs it. True
 * when something was repaired (worth trying again at once). */
bool weft__pq_check_stuck(weft_pqueue *q, bool recv);

/* Bumps an event count and wakes its sleepers if there may be any. */
void weft__pq_notify(uint32_t *ec, uint32_t *waiters);

/* Test hook: stops a send (recv == false) or receive half-way, as a
 * process killed there would: stage 0 takes the slot's owner word only,
 * stage 1 also claims the position (head/tail) without copying or
 * publishing. 0, or WEFT_EAGAIN when there is no slot to claim now. The
 * queue stays in that state until the caller dies (and a peer repairs
 * it); a live caller must not use the queue afterwards. */
int weft__pqueue_stop_halfway(weft_pqueue *q, bool recv, int stage);

#endif /* WEFT_PROC_PQUEUE_INTERNAL_H */
