/* src/cli/trace_model.c — reading a Chrome trace written by weft (or any
 * Chrome trace with "X" events: those count as tasks) into a tr_model. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/trace_json.h"
#include "cli/trace_model.h"

#define GROW(arr, n, cap)                                                     \
  ((n) < (cap) ? 0 : grow_array((void **)&(arr), &(cap), sizeof *(arr)))

static int grow_array(void **arr, size_t *cap, size_t elem) {
  size_t ncap = *cap ? *cap * 2 : 64;
  void *n = realloc(*arr, ncap * elem);
  if (!n) return -1;
  *arr = n;
  *cap = ncap;
  return 0;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int rehash(tr_model *m) {
  size_t hcap = m->capfns * 2;
  uint32_t *h = malloc(hcap * sizeof *h);
  if (!h) return -1;
  for (size_t i = 0; i < hcap; i++) h[i] = UINT32_MAX;
  for (size_t i = 0; i < m->nfns; i++) {
    size_t j = hash_str(m->fns[i].name) & (hcap - 1);
    while (h[j] != UINT32_MAX) j = (j + 1) & (hcap - 1);
    h[j] = (uint32_t)i;
  }
  free(m->fn_hash);
  m->fn_hash = h;
  return 0;
}

/* The index of name in m->fns, added if new; UINT32_MAX on ENOMEM. */
static uint32_t fn_index(tr_model *m, const char *name) {
  if (m->fn_hash) {
    size_t hcap = m->capfns * 2;
    size_t j = hash_str(name) & (hcap - 1);
    for (; m->fn_hash[j] != UINT32_MAX; j = (j + 1) & (hcap - 1))
      if (strcmp(m->fns[m->fn_hash[j]].name, name) == 0) return m->fn_hash[j];
  }
  if (m->nfns == m->capfns) {
    if (grow_array((void **)&m->fns, &m->capfns, sizeof *m->fns) != 0 || rehash(m) != 0)
      return UINT32_MAX;
  }
  tr_fn *f = &m->fns[m->nfns];
  memset(f, 0, sizeof *f);
  if (!(f->name = strdup(name))) return UINT32_MAX;
  size_t hcap = m->capfns * 2;
  size_t j = hash_str(name) & (hcap - 1);
  while (m->fn_hash[j] != UINT32_MAX) j = (j + 1) & (hcap - 1);
  m->fn_hash[j] = (uint32_t)m->nfns;
  return (uint32_t)m->nfns++;
}

static tr_track *track_of(tr_model *m, int pid, int tid) {
  for (size_t i = m->ntracks; i-- > 0;)
    if (m->tracks[i].pid == pid && m->tracks[i].tid == tid) return &m->tracks[i];
  if (GROW(m->tracks, m->ntracks, m->captracks) != 0) return NULL;
  tr_track *t = &m->tracks[m->ntracks++];
  memset(t, 0, sizeof *t);
  t->pid = pid;
  t->tid = tid;
  t->role = ROLE_THREAD;
  snprintf(t->name, sizeof t->name, "%d/%d", pid, tid);
  return t;
}

static int kind_of(const char *cat) {
  static const struct { const char *cat; int kind; } map[] = {
    {"task", TR_TASK}, {"idle", TR_IDLE}, {"park", TR_PARK}, {"ptask", TR_PTASK},
    {"coro", TR_CORO}, {"io", TR_IO}, {"graph", TR_NODE},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(cat, map[i].cat) == 0) return map[i].kind;
  return TR_SPAN;
}

static int add_span(tr_model *m, const tj_val *e, tr_track *t) {
  if (GROW(m->spans, m->nspans, m->capspans) != 0) return -1;
  const tj_val *args = tj_get(e, "args");
  tr_span *s = &m->spans[m->nspans];
  memset(s, 0, sizeof *s);
  s->ts = tj_num(e, "ts", 0);
  s->dur = tj_num(e, "dur", 0);
  s->track = (uint32_t)(t - m->tracks);
  s->kind = (uint8_t)kind_of(tj_str(e, "cat", "task"));
  /* Spans from other producers (no weft categories) count as tasks. */
  if (s->kind == TR_SPAN && !strstr(m->producer, "weft")) s->kind = TR_TASK;
  s->count = (uint32_t)tj_num(args, "count", 1);
  if (s->count == 0) s->count = 1;
  s->busy = tj_num(args, "busy_us", s->dur);
  s->cpu = tj_num(args, "cpu_us", -1);
  s->rss_kb = tj_num(args, "rss_kb", 0);
  s->graph = (uint32_t)tj_num(args, "graph", 0);
  s->node = (uint64_t)tj_num(args, "node", 0);
  s->fn = fn_index(m, tj_str(e, "name", "?"));
  if (s->fn == UINT32_MAX) return -1;
  if (m->nspans == 0 || s->ts < m->t0) m->t0 = s->ts;
  if (m->nspans == 0 || s->ts + s->dur > m->t1) m->t1 = s->ts + s->dur;
  m->nspans++;
  if (s->kind == TR_TASK || s->kind == TR_PTASK || s->kind == TR_NODE) {
    tr_fn *f = &m->fns[s->fn];
    double each = s->busy / s->count;
    f->count += s->count;
    f->total_us += s->busy;
    if (each > f->max_us) f->max_us = each;
    if (s->cpu >= 0) f->cpu_us += s->cpu, f->cpu_count++;
    if (s->kind != TR_NODE) t->tasks += s->count;
  } else if (s->kind == TR_IDLE) {
    t->idle_us += s->dur;
  } else if (s->kind == TR_PARK) {
    t->park_us += s->dur;
  }
  return 0;
}

static int on_event(const tj_val *e, void *ctx) {
  tr_model *m = ctx;
  if (e->type != TJ_OBJ) return -1;
  m->events++;
  const char *ph = tj_str(e, "ph", "");
  tr_track *t = track_of(m, (int)tj_num(e, "pid", 0), (int)tj_num(e, "tid", 0));
  if (!t) return -1;
  if (strcmp(ph, "M") == 0) {
    if (strcmp(tj_str(e, "name", ""), "thread_name") == 0)
      snprintf(t->name, sizeof t->name, "%s", tj_str(tj_get(e, "args"), "name", t->name));
    return 0;
  }
  if (strcmp(ph, "X") == 0) return add_span(m, e, t);
  const char *cat = tj_str(e, "cat", "");
  if (strcmp(cat, "steal") == 0) t->steals++;
  else if (strcmp(cat, "wake") == 0) t->wakes++;
  else if (strcmp(cat, "mark") == 0) m->marks++;
  else if (strcmp(cat, "graph_edge") == 0) {
    if (GROW(m->edges, m->nedges, m->capedges) != 0) return -1;
    const tj_val *a = tj_get(e, "args");
    m->edges[m->nedges++] = (tr_edge){(uint32_t)tj_num(a, "graph", 0),
                                      (uint64_t)tj_num(a, "node", 0),
                                      (uint64_t)tj_num(a, "dep", 0)};
  }
  return 0;
}

static int role_of(const char *r) {
  if (strcmp(r, "worker") == 0) return ROLE_WORKER;
  if (strcmp(r, "process") == 0) return ROLE_PROCESS;
  if (strcmp(r, "loop") == 0) return ROLE_LOOP;
  return ROLE_THREAD;
}

static int on_other(tr_model *m, const tj_val *o) {
  snprintf(m->producer, sizeof m->producer, "%s", tj_str(o, "producer", m->producer));
  m->dropped = (uint64_t)tj_num(o, "dropped", 0);
  const tj_val *tracks = tj_get(o, "tracks");
  for (size_t i = 0; tracks && tracks->type == TJ_ARR && i < tracks->n; i++) {
    const tj_val *x = &tracks->items[i];
    tr_track *t = track_of(m, (int)tj_num(x, "pid", 0), (int)tj_num(x, "tid", 0));
    if (!t) return -1;
    t->role = role_of(tj_str(x, "role", "thread"));
    const char *name = tj_str(x, "name", NULL);
    if (name && t->role != ROLE_PROCESS) snprintf(t->name, sizeof t->name, "%s", name);
  }
  return 0;
}

static int on_key(const char *key, tj_parser *ps, void *ctx) {
  tr_model *m = ctx;
  if (strcmp(key, "traceEvents") == 0) return tj_walk_array(ps, on_event, m);
  tj_val *v = tj_parse_value(ps);
  if (!v) return -1;
  return strcmp(key, "otherData") == 0 ? on_other(m, v) : 0;
}

static int by_track_start(const void *x, const void *y) {
  const tr_span *a = x, *b = y;
  if (a->track != b->track) return a->track < b->track ? -1 : 1;
  if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
  return a->dur > b->dur ? -1 : a->dur < b->dur; /* the enclosing one first */
}

/* Sorts the spans by track and start, marks the nested ones, and adds the
 * outermost tasks' time to their track's busy time (nested tasks ran while
 * their parent waited: counting both would count that time twice). */
static void finish(tr_model *m) {
  if (m->nspans) qsort(m->spans, m->nspans, sizeof *m->spans, by_track_start);
  double end = -1e300;
  uint32_t track = UINT32_MAX;
  for (size_t i = 0; i < m->nspans; i++) {
    tr_span *s = &m->spans[i];
    bool is_task = s->kind == TR_TASK || s->kind == TR_PTASK;
    if (!is_task) continue;
    if (s->track != track) track = s->track, end = -1e300;
    s->nested = s->ts < end - 0.0005;
    if (!s->nested) {
      m->tracks[s->track].busy_us += s->busy;
      end = s->ts + s->dur;
    }
  }
}

int tr_load(tr_model *m, const char *path, char *err, size_t errlen) {
  size_t len;
  char *text = tj_read_file(path, &len);
  if (!text) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  /* Peek at the producer first: otherData comes last in weft's files. */
  const char *pr = strstr(text, "\"producer\":\"weft");
  if (pr) snprintf(m->producer, sizeof m->producer, "weft");
  tj_parser ps;
  int rc = tj_init(&ps, text, len);
  if (rc == 0) rc = tj_walk_object(&ps, on_key, m);
  if (rc != 0) snprintf(err, errlen, "%s: not a trace: %s", path, ps.err[0] ? ps.err : "error");
  else finish(m);
  tj_fini(&ps);
  free(text);
  return rc;
}

void tr_free(tr_model *m) {
  for (size_t i = 0; i < m->nfns; i++) free(m->fns[i].name);
  free(m->fns);
  free(m->fn_hash);
  free(m->tracks);
  free(m->spans);
  free(m->edges);
  memset(m, 0, sizeof *m);
}

uint64_t tr_task_count(const tr_model *m) {
  uint64_t n = 0;
  for (size_t i = 0; i < m->nspans; i++)
    if (m->spans[i].kind == TR_TASK || m->spans[i].kind == TR_PTASK) n += m->spans[i].count;
  return n;
}

size_t tr_worker_count(const tr_model *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->ntracks; i++) n += m->tracks[i].role == ROLE_WORKER;
  return n;
}

void tr_task_window(const tr_model *m, double *start, double *end) {
  bool any = false;
  *start = *end = 0;
  for (size_t i = 0; i < m->nspans; i++) {
    const tr_span *s = &m->spans[i];
    if (s->kind != TR_TASK && s->kind != TR_PTASK && s->kind != TR_NODE) continue;
    if (!any || s->ts < *start) *start = s->ts;
    if (!any || s->ts + s->dur > *end) *end = s->ts + s->dur;
    any = true;
  }
}
