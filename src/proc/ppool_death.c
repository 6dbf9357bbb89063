/* src/proc/ppool_death.c — the manager's side of each worker: control
 * messages, harvesting completions, and what happens when a worker dies.
 *
 * A dead worker's completion ring is harvested first (a completion pushed
 * just before death is a result, not a crash). Of the tasks it still held,
 * the first is the one it was running if it had published that task's id
 * (cur_id); that one fails with WEFT_ECRASHED / WEFT_ETIMEDOUT (or is run
 * again if idempotent with retries left), and the rest go back to the front
 * of the pending queue in their order. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc/ppool_internal.h"
#include "trace/trace_internal.h"

void pp_death(weft_ppool *p, pp_worker *w);
void pp_harvest(weft_ppool *p, pp_worker *w);
void pp_read_ctl(weft_ppool *p, pp_worker *w);

static void on_ack(weft_ppool *p, pp_worker *w, const pp_ack_msg *a) {
  if (a->code == 0) {
    w->state = W_READY;
    w->init_failures = 0;
    w->start_failures = 0;
    w->start_kills = 0;
    return;
  }
  w->init_failures++;
  if (!p->init_done && !p->init_rc) {
    p->init_rc = a->code;
    snprintf(p->init_msg, sizeof p->init_msg, "%.*s", PP_MSG - 1, a->msg);
  }
  if (w->init_failures >= PP_INIT_FAILS_MAX && !p->fatal_msg[0])
    snprintf(p->fatal_msg, sizeof p->fatal_msg, "the pool's init failed: %.*s", PP_MSG - 40,
             a->msg);
}

/* Reads every message waiting on w's control socket. */
void pp_read_ctl(weft_ppool *p, pp_worker *w) {
  while (!w->gone) {
    uint32_t kind;
    size_t len = 0, nfds = 4;
    int fds[4];
    int rc = weft__ctl_recv(w->child.ctl, &kind, p->rbuf, WEFT__CTL_MAX, &len, fds, &nfds, 0);
    if (rc == WEFT_ETIMEDOUT) return;
    if (rc == WEFT_ERANGE) continue;
    if (rc) {
      weft__child_exited(&w->child, NULL);
      w->gone = true;
      return;
    }
    if (kind == PP_MSG_RESFD && nfds == 1 && len == sizeof(uint64_t) && w->rfd_n < PP_SLOTS) {
      unsigned at = (w->rfd_first + w->rfd_n++) % PP_SLOTS;
      w->rfds[at] = fds[0];
      memcpy(&w->rfd_ids[at], p->rbuf, sizeof(uint64_t));
      continue;
    }
    for (size_t i = 0; i < nfds; i++) close(fds[i]);
    if (kind == PP_MSG_ACK && len == sizeof(pp_ack_msg)) {
      on_ack(p, w, p->rbuf);
    } else if (kind == WEFT__CTL_CRASH_NOTE && len == sizeof(weft__crash_note)) {
      memcpy(&w->note, p->rbuf, sizeof w->note);
      w->has_note = true;
    } else if (kind == WEFT__CTL_START_ERROR && len >= sizeof(int32_t)) {
      pp_ack_msg a = {.code = WEFT_ENOENT};
      memcpy(&a.code, p->rbuf, sizeof(int32_t));
      snprintf(a.msg, sizeof a.msg, "%.*s", (int)(len - sizeof(int32_t)),
               (const char *)p->rbuf + sizeof(int32_t));
      if (a.code >= 0) a.code = WEFT_ECRASHED;
      on_ack(p, w, &a);
    } else if (kind == WEFT__CTL_STATUS && len == sizeof(int)) {
      int ws;
      memcpy(&ws, p->rbuf, sizeof ws);
      weft__child_exited(&w->child, &ws);
      w->gone = true;
    }
  }
}

/* The memfd of result `id` (received before its completion), or -1. */
static int take_rfd(weft_ppool *p, pp_worker *w, uint64_t id) {
  if (!w->rfd_n && !w->gone) pp_read_ctl(p, w);
  while (w->rfd_n) {
    unsigned at = w->rfd_first;
    w->rfd_first = (at + 1) % PP_SLOTS;
    w->rfd_n--;
    if (w->rfd_ids[at] == id) return w->rfds[at];
    close(w->rfds[at]);
  }
  return -1;
}

/* Moves a completion's result into t (SINGLE) or the map (CHUNK). */
static void take_result(weft_ppool *p, pp_worker *w, const pp_cslot *c, pp_task *t) {
  const void *res = NULL;
  void *mapped = NULL;
  size_t rsize = c->size;
  if ((c->flags & PP_C_VALUE) && (c->flags & PP_C_MEMFD)) {
    int fd = take_rfd(p, w, c->id);
    if (fd < 0 || pp_map_value_fd(fd, rsize, &mapped) != 0) {
      t->code = WEFT_EIO;
      snprintf(t->msg, sizeof t->msg, "the task's result (%zu bytes) was lost", rsize);
    }
    if (fd >= 0) close(fd);
    res = mapped;
  } else if (c->flags & PP_C_VALUE) {
    res = (const char *)w->r + PP_RES_OFF + c->off;
  }
  if (t->kind == PP_CHUNK) {
    pp_chunk_end(p, t, res, res ? rsize : 0);
    pp_unmap_value(mapped);
    return;
  }
  if (mapped) {
    t->value = mapped;
    t->vsize = rsize;
    t->vfree = pp_unmap_value;
  } else if (res) {
    t->value = malloc(rsize ? rsize : 1);
    if (t->value) {
      memcpy(t->value, res, rsize);
      t->vsize = rsize;
      t->vfree = free;
    } else {
      t->code = WEFT_ENOMEM;
      snprintf(t->msg, sizeof t->msg, "no memory for the task's result");
    }
  }
  pp_task_end(p, t);
}

static pp_task *pop_inflight(pp_worker *w) {
  pp_task *t = w->fl_head;
  if (t) {
    w->fl_head = t->next;
    if (!w->fl_head) w->fl_tail = NULL;
    t->next = NULL;
    w->inflight--;
  }
  return t;
}

void pp_harvest(weft_ppool *p, pp_worker *w) {
  pp_region *r = w->r;
  if (!r) return;
  uint32_t tail = r->c_tail, head = weft_load_acquire(&r->c_head);
  for (; tail != head; tail++) {
    const pp_cslot *c = &r->c[tail % PP_SLOTS];
    if (!w->fl_head || w->fl_head->id != c->id) break; /* cannot happen */
    pp_task *t = pop_inflight(w);
    w->arg_tail = t->arg_end;
    t->code = c->code;
    t->fail = c->fail;
    if (t->kind == PP_CHUNK) {
      pp_map *mp = t->map;
      /* A worker descheduled mid-chunk reports a huge time once: clamp
       * samples so that one outlier does not make quick chunks look slow. */
      uint64_t a = mp->run_avg_ns, s = c->run_ns;
      if (a && s > 2 * a) s = 2 * a;
      mp->run_avg_ns = a ? (a * 7 + s) / 8 + 1 : s + 1;
    }
    snprintf(t->msg, sizeof t->msg, "%.*s", PP_MSG - 1, c->msg);
    if (c->start_ns && weft__trace_active())
      weft__trace_ptask(p->fn_ptr[t->fn], t->id, w->child.pid, c->start_ns, c->run_ns, c->cpu_ns,
                        c->rss_kb);
    uint64_t res_end = c->res_end;
    take_result(p, w, c, t);
    weft_store_release(&r->res_tail, res_end);
    weft_store_release(&r->c_tail, tail + 1);
  }
}

/* The outcome of the task a worker died running. */
static int blame(weft_ppool *p, pp_worker *w, pp_task *t) {
  char how[128];
  int ws = w->child.exited ? w->child.wstatus : SIGKILL;
  weft__wstatus_text(ws, how, sizeof how);
  if (w->killed_cancel) {
    snprintf(t->msg, sizeof t->msg, "the pool was shut down with CANCEL");
    return WEFT_ECANCELED;
  }
  if (w->killed_timeout) {
    p->stats.timeouts++;
    snprintf(t->msg, sizeof t->msg,
             "the task ran past its timeout of %.3f s; worker %u (pid %d) was killed",
             (double)t->timeout_ns / 1e9, w->index, (int)w->child.pid);
    return WEFT_ETIMEDOUT;
  }
  p->stats.crashes++;
  char lim[80] = "";
  if (w->has_note && w->note.near_memory_limit)
    snprintf(lim, sizeof lim, " at its memory limit of %llu MB",
             (unsigned long long)(w->note.memory_limit >> 20));
  snprintf(t->msg, sizeof t->msg, "worker %u (pid %d) %s %s%s while running this task",
           w->index, (int)w->child.pid, WIFSIGNALED(ws) ? "was" : "ended with", how, lim);
  return WEFT_ECRASHED;
}

static void end_failed(weft_ppool *p, pp_task *t, int code) {
  t->code = code;
  if (t->kind == PP_CHUNK) {
    t->fail = t->begin;
    pp_chunk_end(p, t, NULL, 0);
  } else {
    pp_task_end(p, t);
  }
}

void pp_death(weft_ppool *p, pp_worker *w) {
  pp_harvest(p, w);
  if (weft__trace_active()) {
    /* Unexpected: not asked to stop (a crash, a kill, a timeout). */
    bool crash = !w->stop_sent || w->killed_timeout;
    weft__trace_instant(WEFT__TK_PEXIT, NULL, crash ? WEFT__TF_CRASH : 0, 0,
                        (uint64_t)w->child.pid, w->index,
                        w->child.exited ? (uint64_t)(uint32_t)w->child.wstatus : 0);
  }
  /* Died before its ACK: retried with a backoff; a SIGKILL came from
   * outside (a crash in init would be another signal or an exit status). */
  if (w->state == W_STARTING && !w->init_failures) {
    bool kill = w->child.exited && WIFSIGNALED(w->child.wstatus) &&
                WTERMSIG(w->child.wstatus) == SIGKILL;
    if (kill) w->start_kills++;
    else w->start_failures++;
  }
  pp_task *t0 = w->fl_head;
  bool started = t0 && weft_load_acquire(&w->r->cur_id) == t0->id &&
                 (!w->killed_timeout || w->kill_id == t0->id);
  if (started) pop_inflight(w);
  /* The rest go back first, in order, ahead of what was pending. */
  pp_task *rest = NULL, *t;
  while ((t = pop_inflight(w))) {
    t->next = rest;
    rest = t;
  }
  while ((t = rest)) {
    rest = t->next;
    if (w->killed_cancel) {
      snprintf(t->msg, sizeof t->msg, "the pool was shut down with CANCEL");
      end_failed(p, t, WEFT_ECANCELED);
    } else {
      pp_push_front(p, t);
    }
  }
  if (started) {
    int code = blame(p, w, t0);
    if (code != WEFT_ECANCELED && t0->kind == PP_SINGLE && t0->idempotent &&
        t0->retries_left > 0) {
      t0->retries_left--;
      p->stats.retries++;
      t0->msg[0] = '\0';
      pp_push_front(p, t0);
    } else {
      end_failed(p, t0, code);
    }
  }
  pp_worker_release(p, w);
}
