/* src/proc/ppool.c — the process pool's public face: create, submit,
 * apply, shutdown, destroy, statistics.
 *
 * Layout and protocol: ppool_internal.h. The manager thread (ppool_manager.c)
 * starts the workers and owns their lifecycle; submitting threads put tasks
 * in the pending queue and hand them straight to a worker with room. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include "proc/ppool_internal.h"
#include "weft/thread.h"

/* Interns fn in the pool's function table. Lock-free when already there:
 * entries are written before nfns is published. */
int pp_intern(weft_ppool *p, const void *fn, uint32_t *idx) {
  unsigned n = weft_load_acquire(&p->nfns);
  for (unsigned i = n; i-- > 0;)
    if (p->fn_ptr[i] == fn) return (void)(*idx = i), 0;
  pthread_mutex_lock(&p->mu);
  int rc = 0;
  unsigned i = 0;
  for (n = p->nfns; i < n && p->fn_ptr[i] != fn; i++) {}
  if (i == n) {
    char err[256];
    if (n == PP_FNS) rc = WEFT_ENOMEM;
    else if (weft__fnref_make(&p->common->fns[n], fn, err, sizeof err) != 0) rc = WEFT_EINVAL;
    if (!rc) {
      p->fn_ptr[n] = fn;
      weft_store_release(&p->nfns, n + 1);
    }
  }
  pthread_mutex_unlock(&p->mu);
  *idx = i;
  return rc;
}

static void pool_free(weft_ppool *p) {
  if (p->common) munmap(p->common, p->common_size);
  if (p->common_fd >= 0) close(p->common_fd);
  if (p->efd >= 0) close(p->efd);
  free(p->rbuf);
  free(p->pollfds);
  free(p->w);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static int check_opts(const weft_ppool_options *o) {
  if (o->processes > 256 || o->start_method < 0 || o->start_method > WEFT_START_FORK)
    return WEFT_EINVAL;
  if (o->init_size && !o->init_arg) return WEFT_EINVAL;
  return 0;
}

static int setup_common(weft_ppool *p) {
  const weft_ppool_options *o = &p->o;
  p->common_size = PP_INIT_OFF + o->init_size;
  void *map;
  int rc = pp_memfd("weft-ppool-common", p->common_size, &p->common_fd, &map);
  if (rc) return rc;
  p->common = map;
  if (o->init) {
    char err[256];
    if (weft__fnref_make(&p->common->init_ref, (const void *)o->init, err, sizeof err) != 0)
      return WEFT_EINVAL;
    p->common->has_init = 1;
    p->common->init_size = o->init_size;
    if (o->init_size) memcpy((char *)map + PP_INIT_OFF, o->init_arg, o->init_size);
  }
  return 0;
}

int weft_ppool_create(weft_ppool **out, const weft_ppool_options *opts) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  weft_ppool_options o = opts ? *opts : (weft_ppool_options){0};
  int rc = check_opts(&o);
  if (rc) return rc;
  weft_ppool *p = calloc(1, sizeof *p);
  if (!p) return WEFT_ENOMEM;
  p->common_fd = p->efd = -1;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->o = o;
  snprintf(p->name, sizeof p->name, "%s", o.name ? o.name : "weft");
  p->o.name = p->name;
  if (!p->o.start_method) p->o.start_method = WEFT_START_FORKSERVER;
  p->n = o.processes ? o.processes : weft_cpu_count();
  if (p->n == 0) p->n = 1;
  if (p->n > 256) p->n = 256;
  p->w = calloc(p->n, sizeof *p->w);
  p->pollfds = calloc(p->n + 1, sizeof *p->pollfds);
  p->rbuf = malloc(WEFT__CTL_MAX);
  p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!p->w || !p->pollfds || !p->rbuf) rc = WEFT_ENOMEM;
  else if (p->efd < 0) rc = -errno;
  else rc = setup_common(p);
  for (unsigned i = 0; p->w && i < p->n; i++) {
    p->w[i].index = i;
    p->w[i].region_fd = -1;
    p->w[i].child.ctl = -1;
  }
  if (!rc && pthread_create(&p->mgr, NULL, pp_manager, p) != 0) rc = WEFT_EAGAIN;
  if (rc) {
    pool_free(p);
    return rc;
  }
  pthread_mutex_lock(&p->mu);
  while (!p->init_done) pthread_cond_wait(&p->cv, &p->mu);
  rc = p->init_rc;
  pthread_mutex_unlock(&p->mu);
  if (rc) {
    pthread_join(p->mgr, NULL);
    pool_free(p);
    return rc;
  }
  p->mgr_started = true;
  *out = p;
  return 0;
}

static void wake_always(weft_ppool *p) {
  uint64_t one = 1;
  ssize_t k = write(p->efd, &one, sizeof one);
  (void)k;
}

int weft_ppool_shutdown(weft_ppool *p, int mode) {
  if (!p || (mode != WEFT_SHUTDOWN_DRAIN && mode != WEFT_SHUTDOWN_CANCEL)) return WEFT_EINVAL;
  pthread_mutex_lock(&p->mu);
  p->shut = true;
  if (mode == WEFT_SHUTDOWN_CANCEL && !p->cancel) {
    p->cancel = true;
    pp_fail_pending(p, WEFT_ECANCELED, "the pool was shut down with CANCEL");
    for (unsigned i = 0; i < p->n; i++) {
      pp_worker *w = &p->w[i];
      if (w->state != W_OFF && w->inflight && !w->gone) {
        w->killed_cancel = true;
        weft__child_signal(&w->child, SIGKILL);
      }
    }
    pp_finish_done(p);
  }
  wake_always(p);
  while (p->outstanding) pthread_cond_wait(&p->cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
  return 0;
}

void weft_ppool_destroy(weft_ppool *p) {
  if (!p) return;
  weft_ppool_shutdown(p, WEFT_SHUTDOWN_DRAIN);
  pthread_mutex_lock(&p->mu);
  p->stopping = true;
  p->stop_deadline = weft_now_ns() + 5000000000ull; /* then stragglers are killed */
  wake_always(p);
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->mgr, NULL);
  for (unsigned i = 0; i < p->n; i++) pp_worker_release(p, &p->w[i]);
  pool_free(p);
}

unsigned weft_ppool_size(const weft_ppool *p) { return p ? p->n : 0; }

int weft_ppool_submit(weft_ppool *p, weft_proc_fn fn, const void *arg, size_t size,
                      const weft_ptask_opts *opts, weft_future **out) {
  if (!p || !fn || !out || (!arg && size)) return WEFT_EINVAL;
  *out = NULL;
  uint32_t idx;
  int rc = pp_intern(p, (const void *)fn, &idx);
  if (rc) return rc;
  pp_task *t = malloc(sizeof *t);
  if (!t) return WEFT_ENOMEM;
  memset(t, 0, offsetof(pp_task, msg));
  t->msg[0] = '\0';
  t->memfd = -1;
  t->fn = idx;
  t->size = size;
  t->timeout_ns = opts && opts->timeout_ns ? opts->timeout_ns : p->o.timeout_ns;
  t->idempotent = opts && opts->idempotent;
  t->retries_left = !t->idempotent ? 0 : opts->retries ? opts->retries : p->o.retries;
  if (size > PP_LARGE) rc = pp_memfd_with(arg, size, &t->memfd);
  else if (size && !(t->arg = malloc(size))) rc = WEFT_ENOMEM;
  else if (size) memcpy(t->arg, arg, size);
  if (!rc) rc = weft_future_create(&t->fut);
  if (rc) {
    if (t->fut) weft_future_release(t->fut);
    pp_task_free(t);
    return rc;
  }
  weft_future_retain(t->fut);
  *out = t->fut;
  pthread_mutex_lock(&p->mu);
  if (p->shut) {
    pthread_mutex_unlock(&p->mu);
    weft_future_release(t->fut);
    weft_future_release(t->fut);
    pp_task_free(t);
    *out = NULL;
    return WEFT_ESHUTDOWN;
  }
  t->id = ++p->next_id;
  p->outstanding++;
  pp_push_back(p, t);
  pp_dispatch(p);
  if (t->timeout_ns) { /* its deadline is the manager's */
    p->timed_dirty = true;
    pp_wake_manager(p);
  }
  pp_finish_done(p);
  pthread_mutex_unlock(&p->mu);
  return 0;
}

int weft_ppool_apply(weft_ppool *p, weft_proc_fn fn, const void *arg, size_t size,
                     void *result, size_t result_cap, size_t *result_size) {
  weft_future *f;
  int rc = weft_ppool_submit(p, fn, arg, size, NULL, &f);
  if (rc) return rc;
  pp_help(p, f);
  void *v = NULL;
  size_t n = 0;
  rc = weft_future_result(f, &v, &n);
  if (!v) n = 0;
  if (result_size) *result_size = n;
  if (n > result_cap || (n && !result)) {
    if (rc == 0) rc = WEFT_ERANGE;
  } else if (n) {
    memcpy(result, v, n);
  }
  weft_future_release(f);
  return rc;
}

int weft_ppool_stats_get(const weft_ppool *p, weft_ppool_stats *out) {
  if (!p || !out) return WEFT_EINVAL;
  weft_ppool *q = (weft_ppool *)p;
  pthread_mutex_lock(&q->mu);
  *out = q->stats;
  pthread_mutex_unlock(&q->mu);
  return 0;
}

int weft_ppool_pids(const weft_ppool *p, pid_t *pids, size_t n, size_t *written) {
  if (!p || (!pids && n) || !written) return WEFT_EINVAL;
  weft_ppool *q = (weft_ppool *)p;
  size_t k = 0;
  pthread_mutex_lock(&q->mu);
  for (unsigned i = 0; i < q->n && k < n; i++) {
    pp_worker *w = &q->w[i];
    if (w->state != W_OFF && !w->gone && !w->child.exited) pids[k++] = w->child.pid;
  }
  pthread_mutex_unlock(&q->mu);
  *written = k;
  return 0;
}
