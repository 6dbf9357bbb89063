/* src/debug/debug_internal.h — what weft's debugging aids share: reading
 * WEFT_DEBUG, and the "blocked in X since" marker a pool worker's wait
 * paths leave for the stall watchdog (src/pool/stalls.c).
 *
 * Only libc: every layer may include this (sync and core sit below the
 * pool, so the marker lives here rather than in src/pool). */
#ifndef WEFT_DEBUG_INTERNAL_H
#define WEFT_DEBUG_INTERNAL_H

#include <time.h>
#include "core/internal.h"

/* Whether WEFT_DEBUG (read at each call: start-up paths only) names `word`. The value is
 * a list of words separated by commas, spaces or colons ("locks,stalls");
 * "all" names every word. Any thread. */
bool weft__debug_has(const char *word);
/* The same test on a given string (for tests and for callers that already
 * hold the value). */
bool weft__debug_list_has(const char *list, const char *word);

/* ---- wait markers ----
 * A pool worker with the stall watchdog on points weft__waitmark_self at
 * its own marker; everyone else leaves it NULL, so a wait path pays one
 * thread-local load and a predicted branch. A wait that may block for long
 * brackets itself with weft__wait_begin / weft__wait_end; the watchdog reads
 * the marker from its own thread. `what` must be a string literal (it is
 * read after the wait may have ended); obj is only printed. Nested waits
 * keep the outermost marker. */
typedef struct weft__waitmark {
  const char *what;   /* atomic: "weft_mutex_lock", ... */
  const void *obj;    /* atomic: the object waited on */
  uint64_t since;     /* atomic: monotonic ns; 0 = not waiting */
} weft__waitmark;

extern __thread weft__waitmark *weft__waitmark_self __attribute__((tls_model("initial-exec")));

/* Returns the marker to hand to weft__wait_end, or NULL (nothing marked). */
static inline weft__waitmark *weft__wait_begin(const char *what, const void *obj) {
  weft__waitmark *m = weft__waitmark_self;
  if (weft_likely(m == NULL) || weft_load_relaxed(&m->since) != 0) return NULL;
  weft_store_relaxed(&m->what, what);
  weft_store_relaxed(&m->obj, obj);
  /* The coarse clock (a few ns; lags by at most a tick): waits worth
   * reporting last hundreds of milliseconds. Same time base as
   * weft_now_ns. release: a reader that sees `since` sees what and obj. */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  weft_store_release(&m->since, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
  return m;
}

static inline void weft__wait_end(weft__waitmark *m) {
  if (weft_unlikely(m != NULL)) weft_store_release(&m->since, (uint64_t)0);
}

#endif /* WEFT_DEBUG_INTERNAL_H */
