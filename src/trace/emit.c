/* src/trace/emit.c — the out-of-line emitters: generic instants and spans,
 * the slow end of a task record, graph nodes and edges, user events,
 * interned names and thread names. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trace/trace_priv.h"

/* The name this thread gave itself through weft__trace_thread_name. */
static __thread char self_name[32];
static __thread const char *self_role;

void weft__trace_self_name(char *out, size_t n, const char **role) {
  *role = self_role ? self_role : "thread";
  if (self_name[0]) {
    snprintf(out, n, "%s", self_name);
    return;
  }
  if (pthread_getname_np(pthread_self(), out, n) != 0 || !out[0]) snprintf(out, n, "thread");
}

void weft__trace_thread_role(const char *name, const char *role) {
  snprintf(self_name, sizeof self_name, "%s", name ? name : "");
  self_role = role;
}

void weft__trace_thread_name(const char *name) {
  weft__trace_thread_role(name, "thread");
}

void weft_trace_thread_name(const char *name) {
  weft__trace_thread_name(name);
}

static void fill(weft__tev *e, uint16_t kind, const void *name, uint16_t flags, uint64_t ts,
                 uint64_t dur, uint64_t id, uint64_t a, uint32_t b, uint64_t c) {
  *e = (weft__tev){.ts = ts, .dur = dur, .name = name, .id = id, .a = a, .c = c, .b = b,
                   .kind = kind, .flags = flags};
}

void weft__trace_instant(uint16_t kind, const void *name, uint16_t flags, uint64_t id,
                         uint64_t a, uint32_t b, uint64_t c) {
  weft__tev *e = weft__trace_claim();
  if (!e) return;
  fill(e, kind, name, flags, weft__trace_now(), 0, id, a, b, c);
  weft__trace_commit();
}

void weft__trace_span(uint16_t kind, const void *name, uint16_t flags, uint64_t t0, uint64_t t1,
                      uint64_t id, uint64_t a, uint32_t b) {
  weft__tev *e = weft__trace_claim();
  if (!e) return;
  fill(e, kind, name, flags, t0, t1 > t0 ? t1 - t0 : 0, id, a, b, 0);
  weft__trace_commit();
}

void weft__trace_idle(uint64_t t0) {
  uint64_t t1 = weft__trace_now();
  uint64_t merge = weft_load_relaxed(&weft__trace_merge_ticks);
  if (t1 - t0 >= merge / 2 || merge == 0)
    weft__trace_span(WEFT__TK_IDLE, NULL, 0, t0, t1, 0, 0, 0);
}

uint64_t weft__trace_thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void weft__trace_close_run(void) {
  struct weft__ttls *t = &weft__ttls;
  uint32_t k = t->unsampled;
  t->unsampled = 0;
  if (t->n == 0 || t->gen != weft_load_relaxed(&weft__trace_on)) return;
  weft__tev *p = &t->ev[t->n - 1];
  if (p->kind != WEFT__TK_TASK || p->ts + p->dur != t->last_end || k == 0) return;
  uint64_t t1 = weft__trace_now();
  weft_store_relaxed(&p->dur, t1 - p->ts);
  weft_store_relaxed(&p->c, p->c + (t1 - t->last_end));
  t->last_end = t1;
}

void weft__trace_task_end_slow(weft__ttask *s, const void *fn, uint64_t id, uint64_t t1) {
  uint64_t cpu = s->cpu ? weft__trace_thread_cpu_ns() - s->cpu0 : WEFT__NOCPU;
  if (t1 == 0) t1 = weft__trace_now();
  uint64_t d = t1 - s->t0;
  struct weft__ttls *t = &weft__ttls;
  t->cpu_next = d >= weft_load_relaxed(&weft__trace_long_ticks);
  t->last_end = t1;
  t->chain = true;
  weft__tev *e = weft__trace_claim();
  if (!e) return;
  uint16_t flags = WEFT__TN_FN;
  if (s->cpu) flags |= WEFT__TF_OWNCPU;
  else if (d < weft_load_relaxed(&weft__trace_merge_ticks)) flags |= WEFT__TF_MERGE;
  fill(e, WEFT__TK_TASK, fn, flags, s->t0, d, id, cpu, 1, d);
  weft__trace_commit();
}

void weft__trace_ptask(const void *fn, uint64_t id, int pid, uint64_t start_ns, uint64_t run_ns,
                       uint64_t cpu_ns, uint64_t rss_kb) {
  weft__tev *e = weft__trace_claim();
  if (!e) return;
  uint64_t t0 = weft__trace_ticks_of_ns(start_ns), t1 = weft__trace_ticks_of_ns(start_ns + run_ns);
  fill(e, WEFT__TK_PTASK, fn, WEFT__TN_FN, t0, t1 - t0, id, cpu_ns, (uint32_t)pid, rss_kb);
  weft__trace_commit();
}

void weft__trace_node(uint64_t graph, uint64_t node, const char *key, uint64_t t0, uint64_t t1) {
  if (!weft__trace_active()) return;
  weft__trace_span(WEFT__TK_NODE, key ? key : "node", WEFT__TN_STR, t0, t1, node, 0,
                   (uint32_t)graph);
}

void weft__trace_edge(uint64_t graph, uint64_t node, uint64_t dep) {
  if (!weft__trace_active()) return;
  weft__trace_instant(WEFT__TK_EDGE, NULL, 0, node, dep, (uint32_t)graph, 0);
}

/* ---- interned strings: a small open-addressing set, never shrunk ---- */

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static char **itab;
static size_t icap, icount;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int grow(void) {
  size_t ncap = icap ? icap * 2 : 256;
  char **n = calloc(ncap, sizeof *n);
  if (!n) return -1;
  for (size_t i = 0; i < icap; i++) {
    if (!itab[i]) continue;
    size_t j = hash_str(itab[i]) & (ncap - 1);
    while (n[j]) j = (j + 1) & (ncap - 1);
    n[j] = itab[i];
  }
  free(itab);
  itab = n;
  icap = ncap;
  return 0;
}

const char *weft__trace_intern(const char *s) {
  if (!s) return NULL;
  const char *r = NULL;
  pthread_mutex_lock(&intern_lock);
  if ((icount + 1) * 2 > icap && grow() != 0) goto out;
  size_t j = hash_str(s) & (icap - 1);
  while (itab[j] && strcmp(itab[j], s) != 0) j = (j + 1) & (icap - 1);
  if (!itab[j] && (itab[j] = strdup(s))) icount++;
  r = itab[j];
out:
  pthread_mutex_unlock(&intern_lock);
  return r;
}

/* ---- user events ---- */

void weft_trace_mark(const char *name) {
  if (!weft__trace_active() || !name) return;
  weft__trace_instant(WEFT__TK_MARK, weft__trace_intern(name), WEFT__TN_STR, 0, 0, 0, 0);
}

void weft_trace_begin(const char *name) {
  if (!weft__trace_active() || !name) return;
  weft__trace_instant(WEFT__TK_BEGIN, weft__trace_intern(name), WEFT__TN_STR, 0, 0, 0, 0);
}

void weft_trace_end(void) {
  if (!weft__trace_active()) return;
  weft__trace_instant(WEFT__TK_END, NULL, 0, 0, 0, 0, 0);
}

void weft_trace_counter(const char *name, int64_t value) {
  if (!weft__trace_active() || !name) return;
  weft__trace_instant(WEFT__TK_COUNTER, weft__trace_intern(name), WEFT__TN_STR, 0,
                      (uint64_t)value, 0, 0);
}
