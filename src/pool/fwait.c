/* src/pool/fwait.c — a worker waiting on a future runs other tasks
 * meanwhile (registered with the future module as its wait helper), so a
 * pool whose workers all wait on futures of the same pool cannot deadlock.
 *
 * When there is nothing to run, the worker parks. To be woken when the
 * future finishes it registers a done-callback once per wait. The callback
 * may fire long after the wait ended (the future outlives it), so it only
 * touches a small heap "waker" shared by both sides with a reference count;
 * the waiting side detaches itself before returning and, if the callback
 * already owns the worker pointer, waits the few instructions until it has
 * finished waking, so the callback never touches a pool that is gone. */
#include <stdlib.h>
#include "future/future_internal.h"
#include "pool/pool_internal.h"

struct waker {
  uint32_t refs;          /* the waiting worker + the callback */
  uint32_t woken;         /* the callback finished touching the worker */
  weft__worker *w;        /* taken (exchanged to NULL) by whoever comes first */
};

struct fwait {
  weft_future *f;
  struct waker *k;
  bool timed;
};

static void waker_release(struct waker *k) {
  if (weft_fetch_sub(&k->refs, 1) == 1) free(k);
}

static void on_done(weft_future *f, void *arg) {
  (void)f;
  struct waker *k = arg;
  weft__worker *w = weft_exchange(&k->w, NULL);
  if (w) {
    weft__pool_wake_worker(w->pool, w);
    weft_store_release(&k->woken, 1);
  }
  waker_release(k);
}

static bool fut_done(void *ctx) {
  return weft_future_is_finished(((struct fwait *)ctx)->f);
}

static bool fut_reg(void *ctx, bool on) {
  struct fwait *c = ctx;
  if (!on) return false;
  if (c->k) return true; /* one callback per wait, kept across parks */
  /* A timed wait may give up on a future that never finishes; a callback
   * registered then would never run and its waker would leak. Timed waits
   * re-check periodically instead. */
  if (c->timed) return false;
  struct waker *k = malloc(sizeof *k);
  if (!k) return false;
  k->refs = 2;
  k->woken = 0;
  k->w = weft__tls.worker;
  if (weft_future_on_done(c->f, on_done, k) != 0) {
    free(k);
    return false; /* falls back to periodic re-checks */
  }
  c->k = k;
  return true;
}

static void detach(struct waker *k) {
  if (!weft_exchange(&k->w, NULL)) {
    /* The callback took the worker pointer: let it finish waking us. */
    while (!weft_load_acquire(&k->woken)) weft_cpu_relax();
  }
  waker_release(k);
}

static int helper(weft_future *f, uint64_t deadline_ns) {
  weft__worker *w = weft__tls.worker;
  if (!w) return WEFT_EAGAIN;
  struct fwait c = {f, NULL, deadline_ns != WEFT_FOREVER};
  weft__waitmark *wm = weft__wait_begin("weft_future_wait", f); /* for stall reports */
  int rc = weft__worker_help(w, fut_done, &c, deadline_ns, fut_reg);
  weft__wait_end(wm);
  if (c.k) detach(c.k);
  return rc;
}

/* For waits on several futures: no targeted wake-up (that would take a
 * callback per future), so a parked helper re-checks every millisecond. */
static int helper_until(bool (*done)(void *ctx), void *ctx, uint64_t deadline_ns) {
  weft__worker *w = weft__tls.worker;
  if (!w) return WEFT_EAGAIN;
  return weft__worker_help(w, done, ctx, deadline_ns, NULL);
}

void weft__future_helper_install(void) {
  weft__future_set_wait_helper(helper);
  weft__future_set_wait_until_helper(helper_until);
}
