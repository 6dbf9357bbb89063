/* src/trace/write.c — weft_trace_write: the recorded events as Chrome Trace
 * Event JSON (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU).
 *
 * Layout: {"traceEvents":[...], "displayTimeUnit":"ns", "otherData":{...}}.
 * Times are microseconds since the session started. Each thread buffer is
 * one track (pid = this process, tid = the thread's kernel id) named by a
 * thread_name metadata event; each process-pool worker process is a track
 * of its own (pid = tid = its pid). otherData.tracks lists the tracks with
 * their role ("worker", "loop", "thread", "process") for the report. */
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "trace/trace_priv.h"
#include "weft/version.h"

#define NCACHE 1024

typedef struct wctx {
  FILE *f;
  int pid;
  bool first, tfirst;
  struct { const void *fn; char name[128]; } cache[NCACHE];
} wctx;

static const char *fn_name(wctx *w, const void *fn) {
  size_t h = ((uintptr_t)fn >> 4) % NCACHE;
  if (w->cache[h].fn != fn || !w->cache[h].name[0]) {
    w->cache[h].fn = fn;
    weft__trace_fn_name(fn, w->cache[h].name, sizeof w->cache[h].name);
  }
  return w->cache[h].name;
}

static void begin_event(wctx *w) {
  fputs(w->first ? "\n" : ",\n", w->f);
  w->first = false;
}

static void put_name(wctx *w, const weft__tev *e, const char *dflt) {
  const char *s = dflt;
  if ((e->flags & WEFT__TN_FN) && e->name) s = fn_name(w, e->name);
  else if ((e->flags & WEFT__TN_STR) && e->name) s = e->name;
  fputs("\"name\":", w->f);
  weft__trace_put_str(w->f, s);
}

static void meta(wctx *w, int pid, int tid, const char *what, const char *name) {
  begin_event(w);
  fprintf(w->f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"%s\",\"args\":{\"name\":", pid,
          tid, what);
  weft__trace_put_str(w->f, name);
  fputs("}}", w->f);
}

static const char *const kind_cat[WEFT__TK_COUNT] = {
  [WEFT__TK_TASK] = "task",   [WEFT__TK_SUBMIT] = "submit", [WEFT__TK_STEAL] = "steal",
  [WEFT__TK_IDLE] = "idle",   [WEFT__TK_PARK] = "park",     [WEFT__TK_WAKE] = "wake",
  [WEFT__TK_PSTART] = "proc", [WEFT__TK_PEXIT] = "proc",    [WEFT__TK_PTASK] = "ptask",
  [WEFT__TK_CORO] = "coro",   [WEFT__TK_IO] = "io",         [WEFT__TK_NODE] = "graph",
  [WEFT__TK_EDGE] = "graph_edge", [WEFT__TK_MARK] = "mark", [WEFT__TK_BEGIN] = "user",
  [WEFT__TK_END] = "user",    [WEFT__TK_COUNTER] = "counter", [WEFT__TK_SPAN] = "span",
};

/* The span's fields: the last record of a buffer may still be growing (a
 * merged run of tiny tasks), so these are read atomically. */
static void put_span(wctx *w, const weft__tev *e, uint64_t dur) {
  /* Both ends rounded to the nanosecond, the duration their difference: a
   * span that starts where the previous one ended (back-to-back tasks) must
   * not overlap it by a rounding error, or viewers nest it wrongly. */
  long long a = llround(weft__trace_us(e->ts) * 1000.0);
  long long z = llround(weft__trace_us(e->ts + dur) * 1000.0);
  fprintf(w->f, ",\"ph\":\"X\",\"ts\":%s%lld.%03lld,\"dur\":%lld.%03lld", a < 0 ? "-" : "",
          llabs(a) / 1000, llabs(a) % 1000, (z - a) / 1000, (z - a) % 1000);
}

static void put_args(wctx *w, const weft__tev *e, uint32_t b, uint64_t c) {
  FILE *f = w->f;
  switch (e->kind) {
  case WEFT__TK_TASK:
    fprintf(f, ",\"args\":{\"id\":\"%#" PRIx64 "\"", e->id);
    if (b > 1) fprintf(f, ",\"count\":%u,\"busy_us\":%.3f", b, weft__trace_dur_us(c));
    if (e->flags & WEFT__TF_OWNCPU) fprintf(f, ",\"cpu_us\":%.3f", (double)e->a / 1000.0);
    fputc('}', f);
    break;
  case WEFT__TK_PTASK:
    fprintf(f, ",\"args\":{\"id\":%" PRIu64, e->id);
    if (e->a != WEFT__NOCPU) fprintf(f, ",\"cpu_us\":%.3f", (double)e->a / 1000.0);
    if (c) fprintf(f, ",\"rss_kb\":%" PRIu64, c);
    fputc('}', f);
    break;
  case WEFT__TK_SUBMIT: fprintf(f, ",\"args\":{\"id\":\"%#" PRIx64 "\"}", e->id); break;
  case WEFT__TK_STEAL: fprintf(f, ",\"args\":{\"victim\":%" PRIu64 "}", e->a); break;
  case WEFT__TK_WAKE: fprintf(f, ",\"args\":{\"worker\":%" PRIu64 "}", e->a); break;
  case WEFT__TK_PSTART:
    fprintf(f, ",\"args\":{\"pid\":%" PRIu64 ",\"worker\":%d}", e->a, (int)b);
    break;
  case WEFT__TK_PEXIT:
    fprintf(f, ",\"args\":{\"pid\":%" PRIu64 ",\"worker\":%d,\"status\":%" PRIu64 "}", e->a,
            (int)b, c);
    break;
  case WEFT__TK_CORO: fprintf(f, ",\"args\":{\"id\":%" PRIu64 "}", e->id); break;
  case WEFT__TK_NODE:
    fprintf(f, ",\"args\":{\"graph\":%u,\"node\":%" PRIu64 "}", b, e->id);
    break;
  case WEFT__TK_EDGE:
    fprintf(f, ",\"args\":{\"graph\":%u,\"node\":%" PRIu64 ",\"dep\":%" PRIu64 "}", b, e->id, e->a);
    break;
  case WEFT__TK_COUNTER: fprintf(f, ",\"args\":{\"value\":%" PRId64 "}", (int64_t)e->a); break;
  default: break;
  }
}

/* An I/O wait: the coroutine is suspended while others run on the same
 * loop thread, so the wait would overlap their spans without nesting. It is
 * written as an async begin/end pair instead (its own row in Perfetto),
 * keyed by the coroutine. */
static void put_io(wctx *w, const weft__tbuf *tb, const weft__tev *e, uint64_t dur) {
  for (int end = 0; end < 2; end++) {
    begin_event(w);
    fprintf(w->f, "{\"pid\":%d,\"tid\":%d,\"cat\":\"io\",", w->pid, tb->tid);
    put_name(w, e, "io");
    fprintf(w->f, ",\"ph\":\"%c\",\"id\":\"%#" PRIx64 "\",\"ts\":%.3f", end ? 'e' : 'b', e->id,
            weft__trace_us(e->ts + (end ? dur : 0)));
    if (!end) fprintf(w->f, ",\"args\":{\"fd\":%" PRId64 "}", (int64_t)e->a);
    fputc('}', w->f);
  }
}

static void put_event(wctx *w, const weft__tbuf *tb, const weft__tev *e) {
  if (e->kind == 0 || e->kind >= WEFT__TK_COUNT) return;
  if (e->kind == WEFT__TK_IO) {
    put_io(w, tb, e, weft_load_relaxed(&((weft__tev *)e)->dur));
    return;
  }
  uint64_t dur = weft_load_relaxed(&((weft__tev *)e)->dur);
  uint32_t b = weft_load_relaxed(&((weft__tev *)e)->b);
  uint64_t c = weft_load_relaxed(&((weft__tev *)e)->c);
  int pid = w->pid, tid = tb->tid;
  if (e->kind == WEFT__TK_PTASK) {
    if (b == 0) return;
    pid = tid = (int)b;
  }
  begin_event(w);
  FILE *f = w->f;
  fprintf(f, "{\"pid\":%d,\"tid\":%d,\"cat\":\"%s\",", pid, tid, kind_cat[e->kind]);
  switch (e->kind) {
  case WEFT__TK_PEXIT:
    put_name(w, e, (e->flags & WEFT__TF_CRASH) ? "process crash" : "process exit");
    break;
  case WEFT__TK_PSTART: put_name(w, e, "process start"); break;
  case WEFT__TK_EDGE: put_name(w, e, "edge"); break;
  default: put_name(w, e, kind_cat[e->kind]); break;
  }
  switch (e->kind) {
  case WEFT__TK_BEGIN: fprintf(f, ",\"ph\":\"B\",\"ts\":%.3f", weft__trace_us(e->ts)); break;
  case WEFT__TK_END: fprintf(f, ",\"ph\":\"E\",\"ts\":%.3f", weft__trace_us(e->ts)); break;
  case WEFT__TK_COUNTER: fprintf(f, ",\"ph\":\"C\",\"ts\":%.3f", weft__trace_us(e->ts)); break;
  case WEFT__TK_TASK: case WEFT__TK_IDLE: case WEFT__TK_PARK: case WEFT__TK_PTASK:
  case WEFT__TK_CORO: case WEFT__TK_NODE: case WEFT__TK_SPAN:
    put_span(w, e, dur);
    break;
  default:
    fprintf(f, ",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f", weft__trace_us(e->ts));
    break;
  }
  put_args(w, e, b, c);
  fputc('}', f);
}

/* Calls fn for every record of the current session's buffer b. */
static void each_record(const weft__tbuf *b, void (*fn)(wctx *, const weft__tbuf *,
                                                       const weft__tev *), wctx *w) {
  for (weft__tchunk *c = weft_load_acquire(&((weft__tbuf *)b)->head); c;
       c = weft_load_acquire(&c->next)) {
    uint32_t n = weft_load_acquire(&c->n);
    for (uint32_t i = 0; i < n; i++) fn(w, b, &c->ev[i]);
  }
}

/* Process-worker tracks: named from their start records. */
static void proc_meta(wctx *w, const weft__tbuf *b, const weft__tev *e) {
  (void)b;
  if (e->kind != WEFT__TK_PSTART) return;
  char name[64];
  if (e->b == UINT32_MAX) /* a weft_process, not a pool's worker */
    snprintf(name, sizeof name, "process (pid %" PRIu64 ")", e->a);
  else
    snprintf(name, sizeof name, "process worker %u (pid %" PRIu64 ")", e->b, e->a);
  meta(w, (int)e->a, (int)e->a, "process_name", name);
  meta(w, (int)e->a, (int)e->a, "thread_name", name);
}

static void proc_track(wctx *w, const weft__tbuf *b, const weft__tev *e) {
  (void)b;
  if (e->kind != WEFT__TK_PSTART) return;
  fprintf(w->f, "%s\n  {\"pid\":%" PRIu64 ",\"tid\":%" PRIu64 ",\"role\":\"process\","
          "\"name\":\"process %s%d\"}", w->tfirst ? "" : ",", e->a, e->a,
          e->b == UINT32_MAX ? "pid " : "worker ", e->b == UINT32_MAX ? (int)e->a : (int)e->b);
  w->tfirst = false;
}

static void write_all(wctx *w, uint32_t g) {
  FILE *f = w->f;
  char prog[64] = "weft";
  FILE *cf = fopen("/proc/self/comm", "r");
  if (cf) {
    if (fgets(prog, sizeof prog, cf)) prog[strcspn(prog, "\n")] = 0;
    fclose(cf);
  }
  fputs("{\"traceEvents\":[", f);
  meta(w, w->pid, w->pid, "process_name", prog);
  uint64_t dropped = 0;
  for (weft__tbuf *b = weft__trace_bufs; b; b = b->next) {
    if (b->gen != g) continue;
    meta(w, w->pid, b->tid, "thread_name", b->name);
    each_record(b, proc_meta, w);
  }
  for (weft__tbuf *b = weft__trace_bufs; b; b = b->next)
    if (b->gen == g) each_record(b, put_event, w);
  fprintf(f, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"producer\":\"weft %s\","
          "\"pid\":%d,\"start_unix_ns\":%" PRIu64 ",\"tracks\":[",
          weft_version_string(), w->pid, weft__trace_clock.wall0_ns);
  w->tfirst = true;
  for (weft__tbuf *b = weft__trace_bufs; b; b = b->next) {
    if (b->gen != g) continue;
    dropped += weft_load_relaxed(&b->dropped);
    fprintf(f, "%s\n  {\"pid\":%d,\"tid\":%d,\"role\":\"%s\",\"name\":", w->tfirst ? "" : ",",
            w->pid, b->tid, b->role ? b->role : "thread");
    weft__trace_put_str(f, b->name);
    fputc('}', f);
    w->tfirst = false;
  }
  for (weft__tbuf *b = weft__trace_bufs; b; b = b->next)
    if (b->gen == g) each_record(b, proc_track, w);
  fprintf(f, "],\"dropped\":%" PRIu64 "}}\n", dropped);
}

int weft_trace_write(const char *path) {
  if (!path) return WEFT_EINVAL;
  wctx *w = calloc(1, sizeof *w);
  if (!w) return WEFT_ENOMEM;
  w->f = fopen(path, "w");
  if (!w->f) {
    int e = errno;
    free(w);
    return e ? -e : WEFT_EIO;
  }
  setvbuf(w->f, NULL, _IOFBF, 1 << 16);
  w->pid = (int)getpid();
  w->first = true;
  pthread_mutex_lock(&weft__trace_lock);
  weft__trace_clock_refine();
  write_all(w, weft__trace_gen);
  pthread_mutex_unlock(&weft__trace_lock);
  int rc = ferror(w->f) ? WEFT_EIO : 0;
  if (fclose(w->f) != 0 && rc == 0) rc = WEFT_EIO;
  free(w);
  return rc;
}
