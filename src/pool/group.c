/* src/pool/group.c — task groups: fork-join with first-error-wins and
 * hierarchical cancellation.
 *
 * g->pending is one 64-bit atomic word:
 *   bits  0-31  children spawned and not finished
 *   bits 32-47  threads (not workers of the pool) futex-waiting on bits 0-31
 *   bits 48-62  index + 1 of one worker of the pool parked waiting for g
 * The child that brings the count to zero sees, in the same RMW, who waits
 * and wakes them: no lost wake-up, no lock. It must not touch g after that
 * RMW (the waiter may have returned and freed it), so it reads g->pool
 * before; waking a futex address that was freed meanwhile is harmless.
 *
 * Cancellation is checked at every child start, so walking a 30-deep chain
 * of parents each time would be too slow. Instead a process-wide epoch is
 * bumped by every cancellation, and each group caches "cancelled?" for the
 * epoch it computed it in: the usual check is two loads. */
#include <limits.h>
#include <stdlib.h>
#include "pool/pool_internal.h"
#include "trace/trace_internal.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "group.c futex-waits on the low half of a 64-bit word"
#endif

#define CNT_MASK 0xFFFFFFFFull
#define OUT_ONE (1ull << 32)
#define OUT_MASK (0xFFFFull << 32)
#define WK_SHIFT 48
#define WK_MASK (0x7FFFull << WK_SHIFT)

uint32_t weft__cancel_epoch = 1;

void weft__cancel_epoch_bump(void) {
  /* release: whoever sees the new epoch sees the flag set before it. */
  __atomic_fetch_add(&weft__cancel_epoch, 1, __ATOMIC_SEQ_CST);
}

static bool chain_cancelled(const weft_group *g) {
  for (; g; g = g->parent) {
    if (weft_load_acquire(&g->cancelled)) return true;
    if (g->pool && (weft_load_relaxed(&g->pool->state) & POOL_CANCEL)) return true;
  }
  return false;
}

bool weft__group_skip(weft_group *g) {
  uint32_t e = weft_load_acquire(&weft__cancel_epoch) & 0x7FFFFFFFu;
  uint32_t c = weft_load_relaxed(&g->cache);
  if (weft_likely(c >> 1 == e)) return c & 1;
  /* A racing thread may store an older epoch's answer after ours; it then
   * mismatches the current epoch and is recomputed: never stale-but-valid. */
  bool x = chain_cancelled(g);
  weft_store_relaxed(&g->cache, e << 1 | (uint32_t)x);
  return x;
}

static void record_error(weft_group *g, int rc, char *msg) {
  int zero = 0;
  if (!weft_cas(&g->error, &zero, rc)) {
    free(msg); /* not the first error */
    return;
  }
  /* Only the first failure writes the message; the waiter reads it after
   * the final decrement (release/acquire on pending). */
  char *old = g->message;
  g->message = msg;
  free(old);
  weft_group_cancel(g);
}

static void wake_waiters(weft_pool *p, uint32_t *word, uint64_t old) {
  if (old & OUT_MASK) weft__futex_wake(word, INT_MAX);
  uint32_t idx = (uint32_t)((old & WK_MASK) >> WK_SHIFT);
  if (idx) weft__pool_wake_worker(p, &p->workers[idx - 1]);
}

void weft__group_finish_many(weft_group *g, uint32_t n) {
  weft_pool *p = g->pool;
  uint32_t *word = (uint32_t *)&g->pending;
  /* release: the children's effects are visible to the waiter that
   * acquires 0. */
  uint64_t old = weft_fetch_sub(&g->pending, (uint64_t)n);
  if (weft_unlikely(old >> 32) && (old & CNT_MASK) == n) wake_waiters(p, word, old);
}

void weft__group_finish(weft_group *g, int rc, char *msg) {
  if (weft_unlikely(rc != 0))
    record_error(g, rc, msg);
  else if (weft_unlikely(msg != NULL))
    free(msg);
  weft__group_finish_many(g, 1);
}

void weft_group_init(weft_group *g, weft_pool *p) {
  if (!g) return;
  weft__task *t = weft__tls.task;
  g->pool = weft__pool_resolve(p);
  g->parent = t ? t->group : NULL;
  g->future = t ? (t->group ? t->group->future : t->future) : NULL;
  g->pending = 0;
  g->error = 0;
  g->cancelled = 0;
  g->message = NULL;
  g->reserved = 0;
  /* Inherit the parent's cached answer (same epoch: still valid, the new
   * group itself is not cancelled), so the first child need not walk the
   * chain of parents. */
  uint32_t e = weft_load_acquire(&weft__cancel_epoch) & 0x7FFFFFFFu;
  uint32_t c = 0;
  if (g->parent) {
    uint32_t pc = weft_load_relaxed(&g->parent->cache);
    if (pc >> 1 == e) c = pc;
  } else if (g->pool) {
    c = e << 1 | ((weft_load_relaxed(&g->pool->state) & POOL_CANCEL) != 0);
  }
  g->cache = c;
}

static weft__task *new_child(weft_group *g, weft_task_fn fn, void *arg) {
  weft__task *t = weft__task_alloc();
  if (weft_unlikely(!t)) return NULL;
  t->fn = fn;
  t->arg = arg;
  t->group = g;
  t->msg = NULL;
  if (weft__trace_active() && weft_load_relaxed(&weft__trace_submits))
    weft__trace_instant(WEFT__TK_SUBMIT, (const void *)fn, WEFT__TN_FN, (uintptr_t)t, 0, 0, 0);
  /* relaxed: the task reaches its runner through a release/acquire pair
   * sequenced after this, so the increment precedes the decrement. */
  uint64_t old = __atomic_fetch_add(&g->pending, 1, __ATOMIC_RELAXED);
  if (weft_unlikely((old & CNT_MASK) == CNT_MASK)) { /* 2^32 - 1 pending */
    __atomic_fetch_sub(&g->pending, 1, __ATOMIC_RELAXED);
    weft__task_free(t);
    return NULL;
  }
  return t;
}

static int spawn_outside(weft_group *g, weft_task_fn fn, void *arg) {
  weft_pool *p = g->pool;
  if (weft__pool_forked(p)) return WEFT_EFORKED;
  if (weft_load_relaxed(&g->cancelled)) return 0; /* skipped */
  weft__task *t = new_child(g, fn, arg);
  if (!t) return WEFT_ENOMEM;
  int rc = weft__inject_push(&p->inj, t);
  if (rc != 0) {
    weft__group_finish(g, 0, NULL);
    weft__task_free(t);
    return rc;
  }
  weft__pool_notify(p);
  return 0;
}

int weft_group_spawn(weft_group *g, weft_task_fn fn, void *arg) {
  if (weft_unlikely(!g || !fn || !g->pool)) return WEFT_EINVAL;
  weft__worker *w = weft__tls.worker;
  if (weft_unlikely(!w || w->pool != g->pool)) return spawn_outside(g, fn, arg);
  /* A worker of the pool: its own deque, even while the pool drains (a
   * running task must be able to finish its fork-join). */
  if (weft_unlikely(weft_load_relaxed(&g->cancelled))) return 0;
  weft__task *t = new_child(g, fn, arg);
  if (weft_unlikely(!t)) return WEFT_ENOMEM;
  if (weft_unlikely(weft__deque_push(&w->dq, t, true) != 0)) {
    weft__task_run(w, t); /* out of memory to grow: run it here */
    return 0;
  }
  weft__pool_notify(w->pool);
  return 0;
}

static bool group_done(void *ctx) {
  weft_group *g = ctx;
  return (weft_load_acquire(&g->pending) & CNT_MASK) == 0;
}

/* Registers (on) or unregisters the calling worker for a targeted wake-up. */
static bool group_reg(void *ctx, bool on) {
  weft_group *g = ctx;
  uint64_t me = (uint64_t)(weft__tls.worker->index + 1) << WK_SHIFT;
  uint64_t s = weft_load_relaxed(&g->pending);
  if (on) {
    while ((s & CNT_MASK) != 0 && !(s & WK_MASK))
      if (weft_cas(&g->pending, &s, s | me)) return true;
    return false; /* finished, or another worker holds the slot */
  }
  while ((s & WK_MASK) == me && !weft_cas(&g->pending, &s, s & ~WK_MASK)) {
  }
  return false;
}

static void wait_outside(weft_group *g) {
  uint32_t *word = (uint32_t *)&g->pending;
  weft_fetch_add(&g->pending, OUT_ONE);
  for (;;) {
    uint64_t s = weft_load_acquire(&g->pending);
    if ((s & CNT_MASK) == 0) break;
    weft__futex_wait(word, (uint32_t)s, WEFT_FOREVER);
  }
  weft_fetch_sub(&g->pending, OUT_ONE);
}

int weft_group_wait(weft_group *g) {
  if (!g || !g->pool) return WEFT_EINVAL;
  if (weft__pool_forked(g->pool)) return WEFT_EFORKED;
  if (!group_done(g)) {
    weft__waitmark *wm = weft__wait_begin("weft_group_wait", g); /* for stall reports */
    weft__worker *w = weft__tls.worker;
    if (w && w->pool == g->pool)
      weft__worker_help(w, group_done, g, WEFT_FOREVER, group_reg);
    else
      wait_outside(g);
    weft__wait_end(wm);
  }
  int rc = weft_load_relaxed(&g->error);
  /* The cached check: a full chain walk per wait would cost O(depth). */
  if (rc == 0 && weft__group_skip(g)) rc = WEFT_ECANCELED;
  /* Ready for reuse; the message stays until destroy or the next failure. */
  weft_store_relaxed(&g->error, 0);
  weft_store_relaxed(&g->cancelled, 0);
  weft_store_relaxed(&g->cache, 0);
  return rc;
}

void weft_group_cancel(weft_group *g) {
  if (!g) return;
  weft_store_release(&g->cancelled, 1);
  weft__cancel_epoch_bump();
}

const char *weft_group_message(const weft_group *g) {
  return g && g->message ? g->message : "";
}

void weft_group_destroy(weft_group *g) {
  if (!g) return;
  free(g->message);
  g->message = NULL;
}
