/* src/proc/ppool_dispatch.c — the pending queue and handing tasks to
 * workers' rings (under the pool mutex), and ending tasks.
 *
 * Submitting threads and the manager both call pp_dispatch, so an idle
 * worker gets a new task straight from the submitter. A worker holds at most
 * a few tasks at once (more for map chunks, which are usually short), enough
 * that it never idles between tasks but not so many that a slow task holds
 * back the others queued behind it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "proc/ppool_internal.h"
#include "trace/trace_internal.h"

#define DEPTH_TASK 2u

/* Chunks a worker may hold: many when they are quick (a worker must not
 * wait for the manager between them), few when they are long (so the last
 * ones spread over the workers instead of queueing behind one). */
static unsigned chunk_depth(const pp_map *mp) {
  if (!mp->run_avg_ns) return 2;
  return mp->run_avg_ns < 20000 ? 32 : mp->run_avg_ns < 200000 ? 8 : 2;
}

void pp_push_back(weft_ppool *p, pp_task *t) {
  t->next = NULL;
  if (p->pend_tail) p->pend_tail->next = t;
  else p->pend_head = t;
  p->pend_tail = t;
}

void pp_push_front(weft_ppool *p, pp_task *t) {
  t->next = p->pend_head;
  p->pend_head = t;
  if (!p->pend_tail) p->pend_tail = t;
}

static pp_task *pop_front(weft_ppool *p) {
  pp_task *t = p->pend_head;
  if (t) {
    p->pend_head = t->next;
    if (!p->pend_head) p->pend_tail = NULL;
    t->next = NULL;
  }
  return t;
}

void pp_task_free(pp_task *t) {
  if (t->memfd >= 0) close(t->memfd);
  free(t->arg);
  free(t);
}

static pp_worker *pick(weft_ppool *p, unsigned depth) {
  pp_worker *best = NULL;
  for (unsigned i = 0; i < p->n; i++) {
    pp_worker *w = &p->w[i];
    if (w->state != W_READY || w->gone || w->stop_sent || w->killed_timeout ||
        w->killed_cancel || w->inflight >= depth)
      continue;
    if (p->o.max_tasks_per_child && w->dispatched >= p->o.max_tasks_per_child) continue;
    if (!best || w->inflight < best->inflight) best = w;
    if (w->inflight == 0) break;
  }
  return best;
}

/* Writes a chunk's argument (header, items) at dst. */
static void fill_chunk(const pp_task *t, char *dst) {
  const weft_map *m = t->map->m;
  pp_chunk_hdr h = {.begin = t->begin, .count = t->end - t->begin, .in_size = m->in_size,
                    .out_size = m->out_size, .ctx_size = m->ctx_size,
                    .all = t->map->all, .has_out = m->out != NULL};
  memcpy(dst, &h, sizeof h);
  memcpy(dst + sizeof h, (const char *)m->in + t->begin * m->in_size, h.count * m->in_size);
}

/* A large chunk goes through a memfd, made once (kept for a re-run). */
static int chunk_memfd(pp_task *t) {
  void *map;
  int rc = pp_memfd("weft-ppool-chunk", t->size, &t->memfd, &map);
  if (rc) return rc;
  fill_chunk(t, map);
  munmap(map, t->size);
  return 0;
}

/* Puts t into w's ring. False when it does not fit now (arena full) or the
 * worker cannot be reached; t is then unchanged. */
static bool send_task(pp_worker *w, pp_task *t) {
  pp_region *r = w->r;
  pp_tslot s = {.id = t->id, .fn = t->fn, .flags = t->kind == PP_CHUNK ? PP_T_MAP : 0,
                .size = t->size};
  if (t->memfd < 0 && t->kind == PP_CHUNK && t->size > PP_LARGE && chunk_memfd(t)) return false;
  uint64_t head0 = w->arg_head, off = 0;
  if (t->memfd < 0 && !pp_arena_alloc(&w->arg_head, w->arg_tail, PP_ARENA, t->size, &off))
    return false;
  /* Messages go in the order the worker reads them: ctx, then argument. */
  pp_map *mp = t->kind == PP_CHUNK ? t->map : NULL;
  if (mp && mp->ctx_fd >= 0) {
    s.flags |= PP_T_CTX;
    s.map = mp->id;
    if (w->ctx_map != mp->id) {
      uint64_t msg[2] = {mp->id, mp->m->ctx_size};
      if (weft__ctl_send(w->child.ctl, PP_MSG_CTXFD, msg, sizeof msg, &mp->ctx_fd, 1)) {
        w->arg_head = head0;
        return false;
      }
      w->ctx_map = mp->id;
    }
  }
  if (t->memfd >= 0) {
    if (weft__ctl_send(w->child.ctl, PP_MSG_ARGFD, &t->id, sizeof t->id, &t->memfd, 1))
      return false;
    s.flags |= PP_T_MEMFD;
  } else {
    s.off = off;
    char *dst = (char *)r + PP_ARG_OFF + off;
    if (t->kind == PP_CHUNK) fill_chunk(t, dst);
    else if (t->size) memcpy(dst, t->arg, t->size);
  }
  t->arg_end = w->arg_head;
  if (weft__trace_active()) s.flags |= PP_T_TRACE;
  uint32_t head = weft_load_relaxed(&r->t_head);
  r->t[head % PP_SLOTS] = s;
  /* Dekker with the worker's sleep: store t_head, then read w_sleep. */
  __atomic_store_n(&r->t_head, head + 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&r->w_sleep, __ATOMIC_SEQ_CST)) weft__futex_wake_shared(&r->t_head, 1);
  t->next = NULL;
  if (w->fl_tail) w->fl_tail->next = t;
  else w->fl_head = t;
  w->fl_tail = t;
  w->inflight++;
  w->dispatched++;
  t->sent_ns = t->timeout_ns ? weft_now_ns() : 0;
  return true;
}

/* Ends a chunk that will not run (its map stopped). */
static void chunk_drop(weft_ppool *p, pp_task *t) {
  pp_map *mp = t->map;
  pp_task_free(t);
  mp->live--;
  if (mp->live == 0 && !mp->queued) pp_map_end(p, mp);
}

/* Handles the map generator at the head of the queue. False: stop. */
static bool dispatch_gen(weft_ppool *p, pp_task *g) {
  pp_map *mp = g->map;
  if (mp->stop || mp->next >= mp->m->n) {
    pop_front(p);
    mp->queued = false;
    if (mp->live == 0) pp_map_end(p, mp);
    return true;
  }
  pp_worker *w = pick(p, chunk_depth(mp));
  if (!w) return false;
  pp_task *c = NULL;
  pp_map_gen_next(p, mp, &c);
  if (!c) return true; /* no memory: the map was stopped */
  if (!send_task(w, c)) {
    pp_push_front(p, c);
    return false;
  }
  return true;
}

void pp_dispatch(weft_ppool *p) {
  while (p->pend_head) {
    pp_task *t = p->pend_head;
    if (p->fatal) {
      pp_fail_pending(p, p->fatal, p->fatal_msg);
      return;
    }
    if (t->kind == PP_GEN) {
      if (!dispatch_gen(p, t)) return;
      continue;
    }
    if (t->kind == PP_CHUNK && t->map->stop) {
      chunk_drop(p, pop_front(p));
      continue;
    }
    if (t->kind == PP_SINGLE && weft_future_start(t->fut) == WEFT_ECANCELED) {
      pop_front(p);
      t->code = WEFT_ECANCELED; /* already finished by the cancel */
      pp_task_end(p, t);
      continue;
    }
    pp_worker *w = pick(p, t->kind == PP_CHUNK ? chunk_depth(t->map) : DEPTH_TASK);
    if (!w) return;
    pop_front(p);
    if (!send_task(w, t)) {
      pp_push_front(p, t);
      return;
    }
  }
}

/* Ends a SINGLE task (outcome in t): its future is finished later, outside
 * the mutex, by pp_finish_done. */
void pp_task_end(weft_ppool *p, pp_task *t) {
  p->stats.tasks_done++;
  t->next = p->done;
  p->done = t;
}

void pp_fail_pending(weft_ppool *p, int code, const char *msg) {
  pp_task *t;
  while ((t = pop_front(p))) {
    if (t->kind == PP_GEN) {
      t->map->queued = false;
      t->map->stop = true;
      if (!t->map->failed_set) {
        t->map->failed_set = true;
        t->map->err = code;
        t->map->m->failed_index = t->map->next;
        pp_copy(t->map->m->message, sizeof t->map->m->message, msg);
      }
      if (t->map->live == 0) pp_map_end(p, t->map);
    } else if (t->kind == PP_CHUNK) {
      t->code = code;
      t->fail = t->begin;
      pp_copy(t->msg, sizeof t->msg, msg);
      pp_chunk_end(p, t, NULL, 0);
    } else {
      t->code = code;
      pp_copy(t->msg, sizeof t->msg, msg);
      pp_task_end(p, t);
    }
  }
}

/* Finishes the futures of ended tasks and maps, outside the mutex (their
 * callbacks may submit), then counts them out. Called with the mutex held;
 * returns with it held. */
void pp_finish_done(weft_ppool *p) {
  while (p->done) {
    pp_task *list = p->done;
    p->done = NULL;
    pthread_mutex_unlock(&p->mu);
    size_t n = 0;
    while (list) {
      pp_task *t = list;
      list = t->next;
      n++;
      if (t->kind == PP_GEN) {
        pp_map_finish(t->map); /* frees the map, t included */
        continue;
      }
      if (weft_future_finish(t->fut, t->code, t->value, t->vsize, t->vfree,
                             t->msg[0] ? t->msg : NULL) != 0 &&
          t->value && t->vfree)
        t->vfree(t->value);
      weft_future_release(t->fut);
      pp_task_free(t);
    }
    pthread_mutex_lock(&p->mu);
    p->outstanding -= n;
    if (p->outstanding == 0) pthread_cond_broadcast(&p->cv);
  }
}
