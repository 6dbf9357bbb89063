/* src/chan/chan_unbounded.c — the unbounded channel: a singly linked list of
 * fixed-size blocks behind one mutex.
 *
 * Why a mutex and not a lock-free list: the critical section is one memcpy
 * and a few index updates, a block is allocated once per `per_block` items
 * (and one spare block is recycled, so a steady stream allocates nothing),
 * and the lock-free alternative (crossbeam's list flavour) needs per-slot
 * state bits and deferred block reclamation. Sends never block, so a sender
 * only ever waits for the lock, never for a consumer. */
#include <stdlib.h>
#include <string.h>
#include "chan/chan_internal.h"

/* About one page of items per block, at least 8. */
#define LIST_BLOCK_BYTES 4096
#define LIST_MIN_PER_BLOCK 8

struct chan_block {
  struct chan_block *next;
  unsigned char items[];
};

static struct chan_block *block_new(const chan_list *l, size_t item_size) {
  struct chan_block *b = malloc(sizeof *b + l->per_block * item_size);
  if (b) b->next = NULL;
  return b;
}

static inline unsigned char *block_item(struct chan_block *b, size_t index, size_t item_size) {
  return b->items + index * item_size;
}

int weft__list_init(chan_list *l, size_t item_size) {
  memset(l, 0, sizeof *l);
  l->per_block = LIST_BLOCK_BYTES / item_size;
  if (l->per_block < LIST_MIN_PER_BLOCK) l->per_block = LIST_MIN_PER_BLOCK;
  l->head = l->tail = block_new(l, item_size);
  if (!l->head) return WEFT_ENOMEM;
  pthread_mutex_init(&l->lock, NULL);
  return 0;
}

void weft__list_destroy(chan_list *l) {
  for (struct chan_block *b = l->head, *next; b; b = next) {
    next = b->next;
    free(b);
  }
  free(l->spare);
  pthread_mutex_destroy(&l->lock);
}

/* Makes room in the tail block; called with the lock held. */
static int grow_locked(chan_list *l, size_t item_size) {
  struct chan_block *b = l->spare;
  l->spare = NULL;
  if (!b) b = block_new(l, item_size);
  if (!b) return WEFT_ENOMEM;
  b->next = NULL;
  l->tail->next = b;
  l->tail = b;
  l->tail_index = 0;
  return 0;
}

int weft__list_try_send(chan_list *l, const void *item, size_t item_size) {
  int rc = 0;
  pthread_mutex_lock(&l->lock);
  if (l->closed) rc = WEFT_ECLOSED;
  else if (l->tail_index == l->per_block) rc = grow_locked(l, item_size);
  if (rc == 0) {
    memcpy(block_item(l->tail, l->tail_index++, item_size), item, item_size);
    __atomic_store_n(&l->len, l->len + 1, __ATOMIC_RELAXED); /* len is read unlocked */
  }
  pthread_mutex_unlock(&l->lock);
  return rc;
}

int weft__list_try_recv(chan_list *l, void *item, size_t item_size) {
  pthread_mutex_lock(&l->lock);
  if (l->len == 0) {
    int rc = l->closed ? WEFT_ECLOSED : WEFT_EAGAIN;
    pthread_mutex_unlock(&l->lock);
    return rc;
  }
  if (l->head_index == l->per_block) { /* head block used up: move on */
    struct chan_block *old = l->head;
    l->head = old->next;
    l->head_index = 0;
    if (!l->spare) l->spare = old;
    else free(old);
  }
  memcpy(item, block_item(l->head, l->head_index++, item_size), item_size);
  __atomic_store_n(&l->len, l->len - 1, __ATOMIC_RELAXED);
  if (l->len == 0) l->head_index = l->tail_index = 0; /* head == tail: reuse it */
  pthread_mutex_unlock(&l->lock);
  return 0;
}

int weft__list_close(chan_list *l) {
  pthread_mutex_lock(&l->lock);
  int rc = l->closed ? WEFT_ECLOSED : 0;
  __atomic_store_n(&l->closed, true, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&l->lock);
  return rc;
}

bool weft__list_is_closed(const chan_list *l) {
  return __atomic_load_n(&l->closed, __ATOMIC_ACQUIRE);
}

size_t weft__list_len(const chan_list *l) {
  return __atomic_load_n(&l->len, __ATOMIC_RELAXED);
}
