/* src/aio/watchdog.c — the loop-lag watchdog (opt-in).
 *
 * A coroutine that computes or blocks without awaiting stalls every other
 * task of its loop. A thread per loop looks at the running slice every
 * threshold/2 and, when one has lasted longer than the threshold, names the
 * task on stderr while it still runs (once per slice), so that a loop stuck
 * for good is reported too. The loop marks slices under a mutex only when
 * the watchdog is on; off, a slice costs one branch. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "aio/loop_internal.h"
#include "core/internal.h"

struct weft__aio_watchdog {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop, reported;
  uint64_t threshold, slice_start;
  weft_aio_task *task; /* running now, or NULL */
};

static void report(struct weft__aio_watchdog *d, uint64_t now) {
  char buf[32];
  fprintf(stderr, "weft: %s has blocked the event loop for %.1f ms (threshold %.1f ms): "
                  "it runs without awaiting\n",
          weft__aio_task_label(d->task, buf, sizeof buf), (double)(now - d->slice_start) / 1e6,
          (double)d->threshold / 1e6);
  d->reported = true;
}

static void *watch(void *arg) {
  struct weft__aio_watchdog *d = arg;
  uint64_t period = d->threshold / 2 > 1000000 ? d->threshold / 2 : 1000000;
  pthread_mutex_lock(&d->mu);
  while (!d->stop) {
    struct timespec ts;
    weft__deadline_timespec(weft_deadline_after(period), false, &ts);
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    uint64_t now = weft_now_ns();
    if (d->task && !d->reported && now - d->slice_start > d->threshold) report(d, now);
  }
  pthread_mutex_unlock(&d->mu);
  return NULL;
}

int weft__aio_watchdog_start(weft_loop *l) {
  struct weft__aio_watchdog *d = calloc(1, sizeof *d);
  if (!d) return WEFT_ENOMEM;
  d->threshold = l->opt.lag_threshold_ns;
  pthread_mutex_init(&d->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&d->thread, NULL, watch, d) != 0) {
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return WEFT_ESYSTEM;
  }
  l->watchdog = d;
  return 0;
}

void weft__aio_watchdog_stop(weft_loop *l) {
  struct weft__aio_watchdog *d = l->watchdog;
  if (!d) return;
  pthread_mutex_lock(&d->mu);
  d->stop = true;
  pthread_cond_signal(&d->cv);
  pthread_mutex_unlock(&d->mu);
  pthread_join(d->thread, NULL);
  pthread_cond_destroy(&d->cv);
  pthread_mutex_destroy(&d->mu);
  free(d);
  l->watchdog = NULL;
}

void weft__aio_watchdog_slice(weft_loop *l, weft_aio_task *t) {
  struct weft__aio_watchdog *d = l->watchdog;
  uint64_t now = weft_now_ns();
  pthread_mutex_lock(&d->mu);
  if (!t && d->task && !d->reported && now - d->slice_start > d->threshold)
    report(d, now); /* a slice that ended between two looks still counts */
  d->task = t;
  d->slice_start = now;
  d->reported = false;
  pthread_mutex_unlock(&d->mu);
}
