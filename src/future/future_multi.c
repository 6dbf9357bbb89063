/* src/future/future_multi.c — waiting on many futures: wait_all, wait_any,
 * wait_first_error and the as_completed iterator.
 *
 * No polling: a "watch" registers one link per future (weft__future_watch);
 * a finishing future pushes its link onto the watch's lock-free done stack
 * and bumps the watch's futex word. The owner pops links in finish order.
 * Futures already finished at registration go straight to the ready queue,
 * in index order. */
#include <stdlib.h>
#include <string.h>
#include "future/future_impl.h"
#include "future/future_internal.h"

/* Links for up to this many futures live on the caller's stack. */
#define WATCH_STACK_LINKS 16

typedef struct fut_watch {
  struct fut_waiter w;
  struct fut_link *links;
  size_t n;
  struct fut_link *ready_head, *ready_tail; /* owner-only FIFO */
} fut_watch;

static void ready_push(fut_watch *fw, struct fut_link *l) {
  l->done_next = NULL;
  if (fw->ready_tail) fw->ready_tail->done_next = l;
  else fw->ready_head = l;
  fw->ready_tail = l;
}

static struct fut_link *ready_pop(fut_watch *fw) {
  struct fut_link *l = fw->ready_head;
  if (l) {
    fw->ready_head = l->done_next;
    if (!fw->ready_head) fw->ready_tail = NULL;
  }
  return l;
}

static void watch_start(fut_watch *fw, weft_future *const *fs, size_t n,
                        struct fut_link *links) {
  memset(fw, 0, sizeof *fw);
  fw->links = links;
  fw->n = n;
  for (size_t i = 0; i < n; i++) {
    links[i] = (struct fut_link){.waiter = &fw->w, .f = fs[i], .index = i};
    if (!weft__future_watch(&links[i])) ready_push(fw, &links[i]);
  }
}

static void watch_stop(fut_watch *fw) {
  for (size_t i = 0; i < fw->n; i++) weft__future_unwatch(&fw->links[i]);
}

/* Moves the done stack (newest first) to the ready queue (oldest first). */
static void collect(fut_watch *fw) {
  struct fut_link *l = __atomic_exchange_n(&fw->w.done, NULL, __ATOMIC_SEQ_CST);
  struct fut_link *oldest_first = NULL;
  while (l) {
    struct fut_link *next = l->done_next;
    l->done_next = oldest_first;
    oldest_first = l;
    l = next;
  }
  while (oldest_first) {
    struct fut_link *next = oldest_first->done_next;
    ready_push(fw, oldest_first);
    oldest_first = next;
  }
}

static bool watch_ready(void *ctx) {
  fut_watch *fw = ctx;
  return fw->ready_head || __atomic_load_n(&fw->w.done, __ATOMIC_ACQUIRE);
}

/* The next finished link, or NULL when the deadline passes first. */
static struct fut_link *watch_next(fut_watch *fw, uint64_t deadline) {
  /* A pool worker runs other tasks while it waits: the futures it waits on
   * may be queued behind it on its own pool. */
  weft__future_wait_until_helper help = weft__future_get_wait_until_helper();
  for (;;) {
    if (!fw->ready_head) collect(fw);
    struct fut_link *l = ready_pop(fw);
    if (l) return l;
    if (help) {
      int rc = help(watch_ready, fw, deadline);
      if (rc == WEFT_ETIMEDOUT) {
        collect(fw);
        return ready_pop(fw);
      }
      if (rc == 0) continue;
      help = NULL; /* not a worker: sleep below */
    }
    uint32_t key = __atomic_load_n(&fw->w.seq, __ATOMIC_SEQ_CST);
    /* Announce the sleep, then re-check (pairs with signal_waiter). */
    __atomic_store_n(&fw->w.sleeping, 1, __ATOMIC_SEQ_CST);
    int rc = 0;
    if (!__atomic_load_n(&fw->w.done, __ATOMIC_SEQ_CST))
      rc = weft__futex_wait(&fw->w.seq, key, deadline);
    __atomic_store_n(&fw->w.sleeping, 0, __ATOMIC_RELAXED);
    if (rc == WEFT_ETIMEDOUT) {
      collect(fw);
      return ready_pop(fw);
    }
  }
}

static struct fut_link *links_alloc(size_t n, struct fut_link *stack) {
  if (n <= WATCH_STACK_LINKS) return stack;
  if (n > SIZE_MAX / sizeof(struct fut_link)) return NULL;
  return malloc(n * sizeof(struct fut_link));
}

static bool futures_valid(weft_future *const *fs, size_t n) {
  if (n && !fs) return false;
  for (size_t i = 0; i < n; i++)
    if (!fs[i]) return false;
  return true;
}

int weft_future_wait_all(weft_future *const *fs, size_t n, uint64_t timeout_ns) {
  if (!futures_valid(fs, n)) return WEFT_EINVAL;
  uint64_t deadline = weft_deadline_after(timeout_ns);
  /* One after the other against one deadline: total time is bounded by
   * the slowest future, and a pool worker helps out through the helper. */
  for (size_t i = 0; i < n; i++)
    if (weft__future_wait_deadline(fs[i], deadline) == WEFT_ETIMEDOUT) return WEFT_ETIMEDOUT;
  return 0;
}

/* Watches the futures and hands each one, as it finishes, to stop(); ends
 * when stop() says so (*index = that future's index) or once all n finished
 * (*index = n). 0, WEFT_ETIMEDOUT or WEFT_ENOMEM. */
static int watch_until(weft_future *const *fs, size_t n, uint64_t timeout_ns,
                       bool (*stop)(weft_future *f), size_t *index) {
  uint64_t deadline = weft_deadline_after(timeout_ns);
  struct fut_link stack[WATCH_STACK_LINKS];
  struct fut_link *links = links_alloc(n, stack);
  if (!links) return WEFT_ENOMEM;
  fut_watch fw;
  watch_start(&fw, fs, n, links);
  int rc = 0;
  *index = n;
  for (size_t finished = 0; finished < n; finished++) {
    struct fut_link *l = watch_next(&fw, deadline);
    if (!l) {
      rc = WEFT_ETIMEDOUT;
      break;
    }
    if (stop(l->f)) {
      *index = l->index;
      break;
    }
  }
  watch_stop(&fw);
  if (links != stack) free(links);
  return rc;
}

static bool any_finished(weft_future *f) {
  (void)f;
  return true;
}

static bool failed_or_cancelled(weft_future *f) {
  return weft_future_error(f) != 0;
}

int weft_future_wait_any(weft_future *const *fs, size_t n, uint64_t timeout_ns, size_t *index) {
  if (n == 0 || !index || !futures_valid(fs, n)) return WEFT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (weft_future_is_finished(fs[i])) { /* fast path: no registration */
      *index = i;
      return 0;
    }
  }
  return watch_until(fs, n, timeout_ns, any_finished, index);
}

int weft_future_wait_first_error(weft_future *const *fs, size_t n, uint64_t timeout_ns,
                                 size_t *index) {
  if (!index || !futures_valid(fs, n)) return WEFT_EINVAL;
  int rc = watch_until(fs, n, timeout_ns, failed_or_cancelled, index);
  return rc == 0 && *index < n ? weft_future_error(fs[*index]) : rc;
}

/* ---- as_completed ---- */

struct weft_as_completed {
  fut_watch fw;
  size_t yielded;
  struct fut_link links[];
};

int weft_as_completed_create(weft_as_completed **out, weft_future *const *fs, size_t n) {
  if (!out || !futures_valid(fs, n)) return WEFT_EINVAL;
  if (n > (SIZE_MAX - sizeof(weft_as_completed)) / sizeof(struct fut_link)) return WEFT_ENOMEM;
  weft_as_completed *it = malloc(sizeof *it + n * sizeof(struct fut_link));
  if (!it) return WEFT_ENOMEM;
  it->yielded = 0;
  for (size_t i = 0; i < n; i++) weft_future_retain(fs[i]);
  watch_start(&it->fw, fs, n, it->links);
  *out = it;
  return 0;
}

int weft_as_completed_next(weft_as_completed *it, uint64_t timeout_ns, weft_future **f,
                           size_t *index) {
  if (!it) return WEFT_EINVAL;
  if (it->yielded == it->fw.n) return WEFT_EEXHAUSTED;
  struct fut_link *l = watch_next(&it->fw, weft_deadline_after(timeout_ns));
  if (!l) return WEFT_ETIMEDOUT;
  it->yielded++;
  if (f) *f = l->f;
  if (index) *index = l->index;
  return 0;
}

void weft_as_completed_destroy(weft_as_completed *it) {
  if (!it) return;
  watch_stop(&it->fw);
  for (size_t i = 0; i < it->fw.n; i++) weft_future_release(it->links[i].f);
  free(it);
}
