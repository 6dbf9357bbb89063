/* src/proc/ppool_manager.c — the process pool's manager thread: it starts
 * workers (all of them, so FORK workers, whose death signal is tied to the
 * thread that forked them, live as long as the pool), harvests completions,
 * watches control sockets for deaths and large results, enforces timeouts
 * and replaces dead workers.
 *
 * It sleeps in ppoll on one eventfd (written by workers after a completion
 * and by owner threads, only when the manager has said it is about to
 * sleep: a busy pool makes no wake-up syscalls) and every worker's control
 * socket, with the earliest task deadline as the timeout. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "proc/ppool_internal.h"
#include "trace/trace_internal.h"

void pp_death(weft_ppool *p, pp_worker *w);
void pp_harvest(weft_ppool *p, pp_worker *w);
void pp_read_ctl(weft_ppool *p, pp_worker *w);

/* How long the manager looks at the rings before sleeping: a completion
 * that follows closely is harvested without a wake-up. */
#define MGR_SPIN_NS 5000u

void pp_wake_manager(weft_ppool *p) {
  if (__atomic_load_n(&p->common->mgr_sleep, __ATOMIC_SEQ_CST) ||
      __atomic_load_n(&p->mgr_unarmed, __ATOMIC_SEQ_CST)) {
    uint64_t one = 1;
    ssize_t k = write(p->efd, &one, sizeof one);
    (void)k; /* a full counter wakes it as well */
  }
}

int pp_worker_start(weft_ppool *p, pp_worker *w, char *err, size_t errlen) {
  void *map = NULL;
  int rc = pp_memfd("weft-ppool", PP_REGION_SIZE, &w->region_fd, &map);
  if (rc) return rc;
  w->r = map;
  char name[48];
  snprintf(name, sizeof name, "%s-%u", p->name, w->index);
  weft__child_spec spec = {.method = p->o.start_method, .entry = pp_worker_main,
                           .memory_limit = p->o.memory_limit, .name = name};
  rc = weft__child_start(&w->child, &spec, err, errlen);
  if (rc == 0) {
    pp_init_msg im = {.index = w->index, .max_tasks = p->o.max_tasks_per_child,
                      .common_size = p->common_size};
    int fds[3] = {p->common_fd, w->region_fd, p->efd};
    p->stats.workers_started++;
    if (weft__trace_active())
      weft__trace_instant(WEFT__TK_PSTART, NULL, 0, 0, (uint64_t)w->child.pid, w->index, 0);
    if (weft__ctl_send(w->child.ctl, PP_MSG_INIT, &im, sizeof im, fds, 3) != 0) w->gone = true;
    w->state = W_STARTING;
    return 0;
  }
  munmap(w->r, PP_REGION_SIZE);
  close(w->region_fd);
  w->r = NULL;
  w->region_fd = -1;
  return rc;
}

/* Closes everything of a worker instance and resets its slot. */
void pp_worker_release(weft_ppool *p, pp_worker *w) {
  (void)p;
  if (w->state == W_OFF) return;
  weft__child_close(&w->child);
  if (w->r) munmap(w->r, PP_REGION_SIZE);
  if (w->region_fd >= 0) close(w->region_fd);
  for (unsigned i = 0; i < w->rfd_n; i++) close(w->rfds[(w->rfd_first + i) % PP_SLOTS]);
  unsigned idx = w->index, fails = w->init_failures, sfails = w->start_failures;
  unsigned kills = w->start_kills;
  memset(w, 0, sizeof *w);
  w->index = idx;
  w->init_failures = fails;
  w->start_failures = sfails;
  w->start_kills = kills;
  /* a slot that keeps failing to start waits a little longer each time */
  uint64_t n = sfails + kills < 100 ? sfails + kills : 100;
  w->restart_at = n ? weft_now_ns() + n * 10000000u : 0;
  w->region_fd = -1;
  w->child.ctl = -1;
  w->state = W_OFF;
}

static void push_stop(pp_worker *w) {
  pp_region *r = w->r;
  uint32_t head = weft_load_relaxed(&r->t_head);
  r->t[head % PP_SLOTS] = (pp_tslot){.flags = PP_T_STOP};
  __atomic_store_n(&r->t_head, head + 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&r->w_sleep, __ATOMIC_SEQ_CST)) weft__futex_wake_shared(&r->t_head, 1);
  w->stop_sent = true;
}

/* Restarts OFF slots that are due; counts slots that can still work. */
static unsigned restart(weft_ppool *p, uint64_t now, uint64_t *next) {
  unsigned usable = 0;
  for (unsigned i = 0; i < p->n; i++) {
    pp_worker *w = &p->w[i];
    if (w->init_failures >= PP_INIT_FAILS_MAX || w->start_failures >= PP_START_FAILS_MAX) continue;
    usable++;
    if (w->state != W_OFF || p->stopping || p->cancel) continue;
    if (w->restart_at > now) {
      if (w->restart_at < *next) *next = w->restart_at;
      continue;
    }
    char err[PP_MSG] = "";
    int rc = pp_worker_start(p, w, err, sizeof err);
    if (rc) {
      w->restart_at = now + 100 * 1000000ull;
      if (++w->start_failures >= PP_START_FAILS_MAX) {
        usable--;
        snprintf(p->fatal_msg, sizeof p->fatal_msg, "no worker could be started: %.160s",
                 err[0] ? err : weft_strerror(rc));
      }
    }
  }
  return usable;
}

/* Kills workers whose running task is past its deadline; returns the
 * earliest deadline still ahead. */
static uint64_t timeouts(weft_ppool *p, uint64_t now) {
  uint64_t next = WEFT_FOREVER;
  for (unsigned i = 0; i < p->n; i++) {
    pp_worker *w = &p->w[i];
    pp_task *t = w->fl_head;
    if (w->state != W_READY || !t || !t->timeout_ns || w->killed_timeout || w->gone) continue;
    uint64_t start = now;
    if (weft_load_acquire(&w->r->cur_id) == t->id)
      start = __atomic_load_n(&w->r->cur_start, __ATOMIC_RELAXED);
    uint64_t dl = start + t->timeout_ns < start ? WEFT_FOREVER : start + t->timeout_ns;
    if (dl <= now && start != now) {
      w->killed_timeout = true;
      w->kill_id = t->id;
      weft__child_signal(&w->child, SIGKILL);
    } else if (dl < next) {
      next = dl;
    }
  }
  return next;
}

static bool rings_busy(weft_ppool *p) {
  for (unsigned i = 0; i < p->n; i++) {
    pp_region *r = p->w[i].r;
    if (p->w[i].state != W_OFF && r &&
        __atomic_load_n(&r->c_head, __ATOMIC_SEQ_CST) != weft_load_relaxed(&r->c_tail))
      return true;
  }
  return false;
}

/* A busy manager never sleeps in ppoll, so it looks at the control
 * sockets now and then: a worker that died must not wait for a lull. */
static void poll_ctl(weft_ppool *p, uint64_t now) {
  if (now - p->ctl_checked < 2000000u) return;
  p->ctl_checked = now;
  struct pollfd *pf = p->pollfds;
  nfds_t k = 0;
  for (unsigned i = 0; i < p->n; i++)
    if (p->w[i].state != W_OFF && !p->w[i].gone)
      pf[k++] = (struct pollfd){.fd = p->w[i].child.ctl, .events = POLLIN};
  if (k == 0 || poll(pf, k, 0) <= 0) return;
  for (nfds_t j = 0; j < k; j++) {
    if (!pf[j].revents) continue;
    for (unsigned i = 0; i < p->n; i++)
      if (p->w[i].state != W_OFF && p->w[i].child.ctl == pf[j].fd) pp_read_ctl(p, &p->w[i]);
  }
}

/* One round of work; returns the next deadline (or WEFT_FOREVER). */
static uint64_t round_of_work(weft_ppool *p) {
  p->timed_dirty = false;
  poll_ctl(p, weft_now_ns());
  for (unsigned i = 0; i < p->n; i++)
    if (p->w[i].state != W_OFF) pp_harvest(p, &p->w[i]);
  for (unsigned i = 0; i < p->n; i++)
    if (p->w[i].state != W_OFF && p->w[i].gone) pp_death(p, &p->w[i]);
  uint64_t now = weft_now_ns(), next = WEFT_FOREVER;
  if (restart(p, now, &next) == 0 && !p->fatal && !p->stopping) {
    p->fatal = WEFT_ECRASHED;
    if (!p->fatal_msg[0]) snprintf(p->fatal_msg, sizeof p->fatal_msg, "no worker can run");
  }
  pp_dispatch(p);
  if (p->stopping) {
    for (unsigned i = 0; i < p->n; i++) {
      pp_worker *w = &p->w[i];
      if (w->state == W_READY && !w->stop_sent && !w->gone) push_stop(w);
      if (w->state != W_OFF && now > p->stop_deadline) weft__child_signal(&w->child, SIGKILL);
    }
    uint64_t due = now > p->stop_deadline ? now + 10000000u : p->stop_deadline + 1;
    if (due < next) next = due;
  }
  uint64_t t = timeouts(p, now);
  return t < next ? t : next;
}

static bool all_off(weft_ppool *p) {
  for (unsigned i = 0; i < p->n; i++)
    if (p->w[i].state != W_OFF) return false;
  return true;
}

/* Sleeps until a worker or an owner thread has news, or the deadline. */
static void sleep_once(weft_ppool *p, struct pollfd *pf, uint64_t deadline) {
  if (!__atomic_load_n(&p->helpers, __ATOMIC_SEQ_CST)) {
    uint64_t spin_until = weft_now_ns() + MGR_SPIN_NS;
    pthread_mutex_unlock(&p->mu);
    while (weft_now_ns() < spin_until && !rings_busy(p)) weft_cpu_relax();
    pthread_mutex_lock(&p->mu);
  }
  /* With threads harvesting in apply (pp_help), sleep "unarmed": workers
   * then make no eventfd writes; the last helper to leave wakes us. Dekker
   * with pp_help on (mgr_unarmed, helpers). */
  __atomic_store_n(&p->mgr_unarmed, 1, __ATOMIC_SEQ_CST);
  if (!__atomic_load_n(&p->helpers, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&p->mgr_unarmed, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&p->common->mgr_sleep, 1, __ATOMIC_SEQ_CST);
    if (rings_busy(p)) {
      __atomic_store_n(&p->common->mgr_sleep, 0, __ATOMIC_RELAXED);
      return;
    }
  }
  if (p->done || p->timed_dirty) {
    __atomic_store_n(&p->common->mgr_sleep, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->mgr_unarmed, 0, __ATOMIC_RELAXED);
    return;
  }
  nfds_t k = 0;
  pf[k++] = (struct pollfd){.fd = p->efd, .events = POLLIN};
  for (unsigned i = 0; i < p->n; i++)
    if (p->w[i].state != W_OFF)
      pf[k++] = (struct pollfd){.fd = p->w[i].child.ctl, .events = POLLIN};
  struct timespec ts, *tp = NULL;
  if (deadline != WEFT_FOREVER) {
    uint64_t now = weft_now_ns(), d = deadline > now ? deadline - now : 0;
    ts.tv_sec = (time_t)(d / 1000000000u);
    ts.tv_nsec = (long)(d % 1000000000u);
    tp = &ts;
  }
  pthread_mutex_unlock(&p->mu);
  int n = ppoll(pf, k, tp, NULL);
  pthread_mutex_lock(&p->mu);
  __atomic_store_n(&p->common->mgr_sleep, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->mgr_unarmed, 0, __ATOMIC_RELAXED);
  if (n <= 0) return;
  uint64_t v;
  if (pf[0].revents) {
    ssize_t r = read(p->efd, &v, sizeof v);
    (void)r;
  }
  for (nfds_t j = 1; j < k; j++) {
    if (!pf[j].revents) continue;
    for (unsigned i = 0; i < p->n; i++)
      if (p->w[i].state != W_OFF && p->w[i].child.ctl == pf[j].fd) pp_read_ctl(p, &p->w[i]);
  }
}

/* Startup: every first worker ran init (or failed); result in p->init_rc. */
static void start_all(weft_ppool *p, struct pollfd *pf) {
  char err[PP_MSG] = "";
  int rc = 0;
  for (unsigned i = 0; i < p->n && !rc; i++) rc = pp_worker_start(p, &p->w[i], err, sizeof err);
  while (!rc) {
    bool waiting = false;
    for (unsigned i = 0; i < p->n && !rc; i++) {
      pp_worker *w = &p->w[i];
      if (w->state == W_STARTING && w->init_failures) rc = p->init_rc ? p->init_rc : WEFT_ECRASHED;
      else if (w->gone || w->state == W_OFF) rc = p->init_rc ? p->init_rc : WEFT_ECRASHED;
      waiting |= w->state == W_STARTING;
    }
    if (rc || !waiting) break;
    nfds_t k = 0;
    for (unsigned i = 0; i < p->n; i++)
      if (p->w[i].state == W_STARTING) pf[k++] = (struct pollfd){.fd = p->w[i].child.ctl, .events = POLLIN};
    pthread_mutex_unlock(&p->mu);
    poll(pf, k, -1);
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
      if (p->w[i].state == W_STARTING) pp_read_ctl(p, &p->w[i]);
  }
  if (rc && !p->init_rc) p->init_rc = rc;
  if (rc) {
    for (unsigned i = 0; i < p->n; i++) pp_worker_release(p, &p->w[i]);
  }
  p->init_done = true;
  pthread_cond_broadcast(&p->cv);
}

void *pp_manager(void *arg) {
  weft_ppool *p = arg;
  struct pollfd *pf = p->pollfds;
  pthread_mutex_lock(&p->mu);
  start_all(p, pf);
  if (p->init_rc) {
    pthread_mutex_unlock(&p->mu);
    return NULL;
  }
  for (;;) {
    uint64_t deadline = round_of_work(p);
    pp_finish_done(p);
    if (p->stopping && all_off(p)) break;
    sleep_once(p, pf, deadline);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}
