/* src/proc/ppool_map.c — the map family over processes.
 *
 * A map is one node in the pending queue (its generator) that hands out
 * chunks as workers have room, so a map of a million items never holds a
 * million task records. A chunk's argument is a header and the items'
 * bytes (the ctx bytes go once per map and worker, in a memfd); its result is the items' outputs (plus their codes for
 * map_all), copied into m->out by the manager. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc/ppool_internal.h"

static void unqueue(weft_ppool *p, pp_task *g) {
  pp_task *prev = NULL;
  for (pp_task *t = p->pend_head; t; prev = t, t = t->next) {
    if (t != g) continue;
    if (prev) prev->next = t->next;
    else p->pend_head = t->next;
    if (p->pend_tail == t) p->pend_tail = prev;
    t->next = NULL;
    return;
  }
}

/* Stops handing out chunks; the map ends once its live chunks have. */
static void map_stop(weft_ppool *p, pp_map *mp) {
  mp->stop = true;
  if (mp->queued) {
    unqueue(p, &mp->gen);
    mp->queued = false;
  }
  if (mp->live == 0 && !mp->ended) pp_map_end(p, mp);
}

void pp_map_gen_next(weft_ppool *p, pp_map *mp, pp_task **out) {
  weft_map *m = mp->m;
  size_t cnt = m->n - mp->next < mp->chunk ? m->n - mp->next : mp->chunk;
  pp_task *c = malloc(sizeof *c);
  *out = c;
  if (!c) {
    if (!mp->failed_set) {
      mp->failed_set = true;
      mp->err = WEFT_ENOMEM;
      m->failed_index = mp->next;
      snprintf(m->message, sizeof m->message, "no memory for a chunk");
    }
    map_stop(p, mp);
    return;
  }
  memset(c, 0, offsetof(pp_task, msg));
  c->msg[0] = '\0';
  c->id = ++p->next_id;
  c->kind = PP_CHUNK;
  c->fn = mp->fn;
  c->memfd = -1;
  c->map = mp;
  c->begin = mp->next;
  c->end = mp->next + cnt;
  c->size = sizeof(pp_chunk_hdr) + cnt * m->in_size;
  c->timeout_ns = p->o.timeout_ns;
  mp->next += cnt;
  mp->live++;
}

/* A chunk ended (res: its result bytes, NULL when it never returned). */
void pp_chunk_end(weft_ppool *p, pp_task *t, const void *res, size_t rsize) {
  pp_map *mp = t->map;
  weft_map *m = mp->m;
  size_t cnt = t->end - t->begin;
  size_t osz = m->out ? cnt * m->out_size : 0;
  p->stats.tasks_done++;
  if (res && rsize >= osz && osz && (t->code == 0 || mp->all))
    memcpy((char *)m->out + t->begin * m->out_size, res, osz);
  if (mp->all) {
    const char *cs = (const char *)res + osz;
    for (size_t i = 0; i < cnt; i++) {
      int32_t c = t->code;
      if (res && rsize >= osz + cnt * sizeof(int32_t)) memcpy(&c, cs + i * sizeof c, sizeof c);
      mp->codes[t->begin + i] = c;
    }
  }
  bool ok = t->code == 0;
  if (!ok && !(mp->stop && t->code == WEFT_ECANCELED && mp->failed_set)) {
    if (!mp->failed_set) {
      mp->failed_set = true;
      mp->err = t->code;
      m->failed_index = t->fail != UINT64_MAX && t->fail >= t->begin ? t->fail : t->begin;
      pp_copy(m->message, sizeof m->message, t->msg);
    }
  }
  if (!ok && !mp->all) map_stop(p, mp);
  if (ok && mp->stream) {
    if (mp->nranges == mp->rcap) {
      size_t nc = mp->rcap ? 2 * mp->rcap : 64;
      void *nr = realloc(mp->ranges, nc * sizeof *mp->ranges);
      if (nr) {
        mp->ranges = nr;
        mp->rcap = nc;
      }
    }
    if (mp->nranges < mp->rcap) {
      mp->ranges[mp->nranges][0] = t->begin;
      mp->ranges[mp->nranges][1] = t->end;
      mp->nranges++;
      pthread_cond_broadcast(&mp->cv);
    }
  }
  pp_task_free(t);
  mp->live--;
  if (mp->live == 0 && !mp->queued && !mp->ended) pp_map_end(p, mp);
}

void pp_map_end(weft_ppool *p, pp_map *mp) {
  weft_map *m = mp->m;
  mp->ended = true;
  if (!mp->failed_set) {
    m->failed_index = SIZE_MAX;
    m->message[0] = '\0';
  }
  int code = mp->err;
  if (mp->all) {
    code = 0;
    for (size_t i = 0; i < m->n && !code; i++) code = mp->codes[i];
  }
  mp->gen.code = code;
  if (mp->stream) {
    pthread_cond_broadcast(&mp->cv);
    if (--p->outstanding == 0) pthread_cond_broadcast(&p->cv);
    return;
  }
  mp->gen.next = p->done;
  p->done = &mp->gen;
}

static void map_free(pp_map *mp) {
  if (mp->ctx_fd >= 0) close(mp->ctx_fd);
  if (mp->all && mp->codes_owned) free(mp->codes);
  free(mp->ranges);
  pthread_cond_destroy(&mp->cv);
  free(mp);
}

void pp_map_finish(pp_map *mp) {
  weft_future_finish(mp->fut, mp->gen.code, NULL, 0, NULL,
                     mp->gen.code && mp->m->message[0] ? mp->m->message : NULL);
  weft_future_release(mp->fut);
  map_free(mp);
}

static int map_start(weft_ppool *p, weft_map *m, int *codes, bool all, bool stream,
                     pp_map **out, weft_future **fut) {
  if (!p || !m || !m->fn || !m->in_size || (m->out && !m->out_size) ||
      (!m->ctx && m->ctx_size) || (m->n && !m->in))
    return WEFT_EINVAL;
  uint32_t fn;
  int rc = pp_intern(p, (const void *)m->fn, &fn);
  if (rc) return rc;
  pp_map *mp = calloc(1, sizeof *mp);
  if (!mp) return WEFT_ENOMEM;
  mp->m = m;
  mp->fn = fn;
  mp->all = all;
  mp->stream = stream;
  mp->codes = codes;
  if (all && !codes) {
    mp->codes = calloc(m->n ? m->n : 1, sizeof *mp->codes);
    mp->codes_owned = true;
  }
  size_t c = m->chunksize ? m->chunksize : m->n / (4 * (size_t)p->n);
  mp->chunk = c ? c : 1;
  mp->gen.kind = PP_GEN;
  mp->gen.map = mp;
  mp->gen.memfd = -1;
  mp->ctx_fd = -1;
  pthread_cond_init(&mp->cv, NULL);
  rc = m->ctx_size ? pp_memfd_with(m->ctx, m->ctx_size, &mp->ctx_fd) : 0;
  if (!rc && ((all && !mp->codes) || (!stream && weft_future_create(&mp->fut))))
    rc = WEFT_ENOMEM;
  if (rc) {
    map_free(mp);
    return rc;
  }
  if (fut) {
    weft_future_retain(mp->fut);
    *fut = mp->fut;
  }
  m->failed_index = SIZE_MAX;
  m->message[0] = '\0';
  pthread_mutex_lock(&p->mu);
  if (p->shut) {
    pthread_mutex_unlock(&p->mu);
    if (fut) weft_future_release(*fut);
    weft_future_release(mp->fut);
    map_free(mp);
    return WEFT_ESHUTDOWN;
  }
  p->outstanding++;
  mp->id = ++p->next_map_id;
  mp->queued = true;
  pp_push_back(p, &mp->gen);
  pp_dispatch(p);
  pp_finish_done(p);
  pthread_mutex_unlock(&p->mu);
  *out = mp;
  return 0;
}

int weft_ppool_map_async(weft_ppool *p, weft_map *m, weft_future **out) {
  if (!out) return WEFT_EINVAL;
  pp_map *mp;
  return map_start(p, m, NULL, false, false, &mp, out);
}

static int run_and_wait(weft_ppool *p, weft_map *m, int *codes, bool all) {
  pp_map *mp;
  weft_future *f;
  int rc = map_start(p, m, codes, all, false, &mp, &f);
  if (rc) return rc;
  rc = weft_future_wait(f);
  weft_future_release(f);
  return rc;
}

int weft_ppool_map(weft_ppool *p, weft_map *m) { return run_and_wait(p, m, NULL, false); }

int weft_ppool_map_all(weft_ppool *p, weft_map *m, int *codes) {
  if (m && m->n && !codes) return WEFT_EINVAL;
  return run_and_wait(p, m, codes, true);
}

int weft_ppool_map_stream(weft_ppool *p, weft_map *m, weft_chunk_fn on_chunk, void *arg) {
  if (!on_chunk) return WEFT_EINVAL;
  pp_map *mp;
  int rc = map_start(p, m, NULL, false, true, &mp, NULL);
  if (rc) return rc;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (mp->rread < mp->nranges) {
      size_t b = mp->ranges[mp->rread][0], e = mp->ranges[mp->rread][1];
      mp->rread++;
      if (mp->on_chunk_err) continue;
      pthread_mutex_unlock(&p->mu);
      int r = on_chunk(b, e, arg);
      pthread_mutex_lock(&p->mu);
      if (r && !mp->on_chunk_err) {
        mp->on_chunk_err = r;
        if (!mp->ended) map_stop(p, mp);
        pp_finish_done(p);
      }
    }
    if (mp->ended) break;
    pthread_cond_wait(&mp->cv, &p->mu);
  }
  rc = mp->on_chunk_err ? mp->on_chunk_err : mp->gen.code;
  pthread_mutex_unlock(&p->mu);
  map_free(mp);
  return rc;
}
