/* src/pool/deque.c — the cold parts of the work-stealing deque: creation,
 * growth, destruction. The hot operations are inline in deque.h. */
#include <stdlib.h>
#include "pool/deque.h"

#define DEQUE_INITIAL 256

static weft__deque_buf *buf_new(int64_t capacity) {
  weft__deque_buf *a = malloc(sizeof *a + (size_t)capacity * sizeof(weft__task *));
  if (!a) return NULL;
  a->mask = capacity - 1;
  a->prev = NULL;
  return a;
}

int weft__deque_init(weft__deque *q) {
  q->top = 0;
  q->bottom = 0;
  q->buf = buf_new(DEQUE_INITIAL);
  return q->buf ? 0 : WEFT_ENOMEM;
}

weft__deque_buf *weft__deque_grow(weft__deque *q, int64_t bottom, int64_t top) {
  weft__deque_buf *old = weft_load_relaxed(&q->buf);
  weft__deque_buf *a = buf_new((old->mask + 1) * 2);
  if (!a) return NULL;
  for (int64_t i = top; i < bottom; i++)
    weft_store_relaxed(&a->slot[i & a->mask], weft_load_relaxed(&old->slot[i & old->mask]));
  /* The old buffer stays readable for thieves that loaded it already. */
  a->prev = old;
  /* release: a thief that acquires the new pointer sees the copied slots. */
  weft_store_release(&q->buf, a);
  return a;
}

void weft__deque_destroy(weft__deque *q) {
  weft__deque_buf *a = q->buf;
  while (a) {
    weft__deque_buf *prev = a->prev;
    free(a);
    a = prev;
  }
  q->buf = NULL;
}
