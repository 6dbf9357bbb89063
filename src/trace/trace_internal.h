/* src/trace/trace_internal.h — the cheap emit API the engines call.
 *
 * Each thread appends fixed-size records (weft__tev) to its own buffer (a
 * list of chunks); nothing is shared on the hot path, nothing is locked,
 * and nothing is formatted until weft_trace_write. Off, every hook is
 *
 *     if (weft__trace_active()) { ... }
 *
 * one relaxed load of a global word and a branch the compiler lays out as
 * not taken (__builtin_expect).
 *
 * Timestamps are ticks from weft__trace_now() (the TSC on x86-64: ~10 ns,
 * half the cost of clock_gettime; elsewhere monotonic nanoseconds); the
 * writer converts them. Always take both ends of a span from it.
 *
 * Names: a record names its event with a pointer and says what it points at
 * (flags): WEFT__TN_FN, a function (resolved to a symbol when written), or
 * WEFT__TN_STR, a string that must live until the process exits — a literal,
 * or the result of weft__trace_intern.
 *
 * How an engine uses it (the lead's aio core, H7's graph module):
 *
 *   coroutine runs (one span per resume, on the loop thread's track):
 *     uint64_t t0 = weft__trace_active() ? weft__trace_now() : 0;
 *     ... switch into the coroutine and back ...
 *     if (t0 && weft__trace_active())
 *       weft__trace_span(WEFT__TK_CORO, (const void *)coro_fn, WEFT__TN_FN, t0,
 *                        weft__trace_now(), coro_id, 0, 0);
 *   I/O waits (a coroutine parked on a read, write, connect, timer...):
 *       weft__trace_span(WEFT__TK_IO, "read", WEFT__TN_STR, t0, t1, coro_id, fd, 0);
 *   graph node runs (any worker thread):
 *       weft__trace_node(graph_id, node_id, weft__trace_intern(key), t0, t1);
 *   and, once per edge (when the graph is built or first run):
 *       weft__trace_edge(graph_id, node_id, dep_node_id);
 *   a loop thread names its track once, before its first event:
 *       weft__trace_thread_role("aio-loop-0", "loop");
 *
 * The report draws CORO/IO spans on the loop's track, computes the graph's
 * critical path from NODE spans and EDGE records, and counts TASK spans. */
#ifndef WEFT_TRACE_INTERNAL_H
#define WEFT_TRACE_INTERNAL_H

#include "core/internal.h"
#include "weft/trace.h"
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* Event kinds. "span": ts + dur; "instant": ts only. */
enum {
  WEFT__TK_TASK = 1,  /* span: a pool task. name fn, id task, a cpu ns or NOCPU,
                         b count (merged run), c busy ticks (merged run) */
  WEFT__TK_SUBMIT,    /* instant: a task queued. name fn, id task */
  WEFT__TK_STEAL,     /* instant: the next task was stolen. a victim worker */
  WEFT__TK_IDLE,      /* span: a worker without work (spinning or parked) */
  WEFT__TK_PARK,      /* span: a worker asleep in the kernel */
  WEFT__TK_WAKE,      /* instant: this thread woke worker a */
  WEFT__TK_PSTART,    /* instant: process worker b started, pid a */
  WEFT__TK_PEXIT,     /* instant: process worker b (pid a) ended; c wait status,
                         flag WEFT__TF_CRASH when it died unexpectedly */
  WEFT__TK_PTASK,     /* span on process pid b's track: a process-pool task.
                         name fn, id task, a cpu ns or NOCPU, c peak RSS KiB */
  WEFT__TK_CORO,      /* span: a coroutine ran. name fn, id coroutine */
  WEFT__TK_IO,        /* span: an I/O wait. name op, id coroutine, a fd.
                         Written as an async b/e pair: it overlaps other
                         coroutines' runs on the loop's track. */
  WEFT__TK_NODE,      /* span: a graph node ran. name key, id node, b graph */
  WEFT__TK_EDGE,      /* instant: graph b, node id depends on node a */
  WEFT__TK_MARK,      /* instant: user mark */
  WEFT__TK_BEGIN,     /* user span opens (name) */
  WEFT__TK_END,       /* user span closes */
  WEFT__TK_COUNTER,   /* counter: name, a value (int64) */
  WEFT__TK_SPAN,      /* span: anything else an engine wants to show (name) */
  WEFT__TK_COUNT
};

/* flags */
#define WEFT__TN_FN    0x1u  /* name is a function pointer */
#define WEFT__TN_STR   0x2u  /* name is a C string living until exit */
#define WEFT__TF_CRASH 0x4u
#define WEFT__TF_MERGE 0x8u  /* a tiny task: later tiny ones may join it */
#define WEFT__TF_OWNCPU 0x10u /* a: CPU nanoseconds measured */

#define WEFT__NOCPU UINT64_MAX

typedef struct weft__tev {
  uint64_t ts, dur;    /* ticks */
  const void *name;
  uint64_t id, a, c;
  uint32_t b;
  uint16_t kind, flags;
} weft__tev;           /* 56 bytes */

#define WEFT__TCHUNK 4096u /* records per chunk */

/* The calling thread's recording state. */
struct weft__ttls {
  weft__tev *ev;       /* the current chunk's records */
  uint32_t n;          /* used in it */
  uint32_t gen;        /* session it records for */
  uint32_t *pub;       /* the chunk's published count (the writer's view) */
  bool cpu_next;       /* measure the next task's CPU time */
  bool chain;          /* last_end may serve as the next task's start */
  uint64_t last_end;   /* when this thread's last task record ended */
  uint64_t seq;        /* records committed by this thread, ever */
  uint64_t floor;      /* seq when the innermost running task began */
  uint32_t unsampled;  /* tasks counted into the open run since the last clock read */
  bool sampling;       /* the last clock read found the run's tasks tiny */
};
extern __thread struct weft__ttls weft__ttls __attribute__((tls_model("initial-exec")));

/* The session generation while recording, 0 when off. */
extern uint32_t weft__trace_on;
/* Session parameters, set when a session starts (relaxed atomics: a
 * task running across a restart may see either session's). */
extern uint64_t weft__trace_merge_ticks;  /* tiny-task threshold; 0: no merging */
extern uint64_t weft__trace_long_ticks;   /* a task this long: measure the next CPU */
extern bool weft__trace_cpu_all;          /* WEFT_TRACE_CPU=all */
extern bool weft__trace_submits;          /* WEFT_TRACE_SUBMIT=1: submit records */

static inline bool weft__trace_active(void) {
  return weft_unlikely(weft_load_relaxed(&weft__trace_on) != 0);
}

static inline uint64_t weft__trace_now(void) {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return weft_now_ns();
#endif
}

/* A free record of the calling thread, or NULL (recording stopped, or over
 * the memory limit). Fill it, then weft__trace_commit. */
weft__tev *weft__trace_claim_slow(void);
static inline weft__tev *weft__trace_claim(void) {
  struct weft__ttls *t = &weft__ttls;
  uint32_t g = weft_load_relaxed(&weft__trace_on);
  if (weft_likely(g != 0 && t->gen == g && t->n < WEFT__TCHUNK)) return &t->ev[t->n];
  return weft__trace_claim_slow();
}
static inline void weft__trace_commit(void) {
  struct weft__ttls *t = &weft__ttls;
  t->n++;
  t->seq++;
  /* release: the writer reads the record after it acquires the count. */
  weft_store_release(t->pub, t->n);
}

/* ---- out-of-line emitters (src/trace/emit.c): any thread, after a
 * weft__trace_active() check (they check again, so a stop between is fine) */
void weft__trace_instant(uint16_t kind, const void *name, uint16_t flags, uint64_t id,
                         uint64_t a, uint32_t b, uint64_t c);
void weft__trace_span(uint16_t kind, const void *name, uint16_t flags, uint64_t t0,
                      uint64_t t1, uint64_t id, uint64_t a, uint32_t b);
/* A worker was idle from t0 to now (spans under a microsecond are not
 * worth their record: a worker between two bursts of a fast producer). */
void weft__trace_idle(uint64_t t0);
/* A process-pool task ran in worker process pid: start_ns and run_ns on
 * CLOCK_MONOTONIC (weft_now_ns: the same clock in every process). */
void weft__trace_ptask(const void *fn, uint64_t id, int pid, uint64_t start_ns, uint64_t run_ns,
                       uint64_t cpu_ns, uint64_t rss_kb);
/* The ticks of a CLOCK_MONOTONIC instant in nanoseconds (weft_now_ns,
 * libuv's uv_hrtime), for spans measured with that clock. */
uint64_t weft__trace_ticks_of_ns(uint64_t ns);
/* A graph node ran from t0 to t1 (ticks) under key (interned). */
void weft__trace_node(uint64_t graph, uint64_t node, const char *key, uint64_t t0, uint64_t t1);
/* Node `node` of graph `graph` consumes node `dep`'s result. */
void weft__trace_edge(uint64_t graph, uint64_t node, uint64_t dep);
/* fn's name (a weft_trace_name_fn label, a symbol, or object+offset) into
 * out; any thread, recording or not (the stall watchdog names tasks with it). */
void weft__trace_fn_name(const void *fn, char *out, size_t n);
/* A copy of s kept until exit (same string, same pointer); NULL on ENOMEM. */
const char *weft__trace_intern(const char *s);
/* Names the calling thread's track (copied, 31 bytes). Cheap; callable
 * whether or not recording, so a thread names itself once at start. */
void weft__trace_thread_name(const char *name);
/* Gives the calling thread its track now (while recording), before its
 * first event: a worker that never gets a task still shows. */
void weft__trace_attach_self(void);
/* The same with a role the report understands: "worker" (a pool worker:
 * counted as a worker track), "loop" (an event loop), "thread". role must
 * be a literal. */
void weft__trace_thread_role(const char *name, const char *role);

/* ---- pool tasks: the hot path ----
 * Around each task:
 *     weft__ttask tt;
 *     bool on = weft__trace_active();
 *     if (on) weft__trace_task_begin(&tt);
 *     ... run fn ...
 *     if (on) weft__trace_task_end(&tt, fn, id);
 */
typedef struct weft__ttask {
  uint64_t t0, cpu0;
  uint64_t floor;      /* the enclosing task's floor, restored at the end */
  bool cpu;
  bool chained;        /* began back to back with the thread's previous task */
} weft__ttask;

/* In a stream of tiny back-to-back tasks of one function, the clock is read
 * once per this many tasks: the others only count themselves into the run's
 * record. A batch that turns out slow (some task in it was not tiny) is
 * still added to the run, and the thread reads the clock at every task
 * again until a task proves tiny. */
#define WEFT__TRACE_SAMPLE 16u

uint64_t weft__trace_thread_cpu_ns(void);
/* t1 0: read the CPU clock, then the end time, here. */
void weft__trace_task_end_slow(weft__ttask *s, const void *fn, uint64_t id, uint64_t t1);
/* Adds the unsampled tasks' time to the run they were counted in. */
void weft__trace_close_run(void);

static inline void weft__trace_task_begin(weft__ttask *s) {
  struct weft__ttls *t = &weft__ttls;
  /* A thread's first task of a session is measured too. */
  s->cpu = t->cpu_next || weft_load_relaxed(&weft__trace_cpu_all) ||
           t->gen != weft_load_relaxed(&weft__trace_on);
  s->chained = false;
  s->floor = t->floor;
  t->floor = t->seq;
  s->t0 = weft__trace_now();
  /* Inside the wall-clock span, so that CPU time <= wall time. */
  s->cpu0 = s->cpu ? weft__trace_thread_cpu_ns() : 0;
}

/* The same for a task that follows the thread's previous task back to back
 * (a worker's main loop between two tasks of its own deque): its start is
 * the previous one's end (the last clock read), which saves a clock read
 * per task; the few nanoseconds of popping it count as the task's. Whatever
 * breaks the chain (going idle, flushing completions) calls
 * weft__trace_unchain. */
static inline void weft__trace_task_begin_chained(weft__ttask *s) {
  struct weft__ttls *t = &weft__ttls;
  bool same = t->gen == weft_load_relaxed(&weft__trace_on);
  if (weft_likely(same && t->chain && !t->cpu_next && !weft_load_relaxed(&weft__trace_cpu_all))) {
    s->cpu = false;
    s->chained = true;
    s->t0 = t->last_end;
    s->floor = t->floor;
    t->floor = t->seq;
    return;
  }
  weft__trace_task_begin(s);
}

static inline void weft__trace_unchain(void) {
  struct weft__ttls *t = &weft__ttls;
  if (t->unsampled) weft__trace_close_run();
  t->chain = false;
}

/* The thread's last record, if it is a run of tiny fn tasks that may grow
 * (recorded since the enclosing task began, in this session), else NULL. */
static inline weft__tev *weft__trace_open_run(struct weft__ttls *t, const void *fn) {
  if (t->n == 0 || t->seq <= t->floor || t->gen != weft_load_relaxed(&weft__trace_on))
    return NULL;
  weft__tev *p = &t->ev[t->n - 1];
  bool ok = p->kind == WEFT__TK_TASK && (p->flags & WEFT__TF_MERGE) && p->name == fn;
  return ok ? p : NULL;
}

static inline void weft__trace_task_end(weft__ttask *s, const void *fn, uint64_t id) {
  struct weft__ttls *t = &weft__ttls;
  /* Tasks this one ran inside it (helping while it waited) may merge with
   * each other, never with what came before it: spans must nest. */
  t->floor = s->floor;
  if (s->cpu) {
    t->sampling = false;
    weft__trace_task_end_slow(s, fn, id, 0);
    return;
  }
  weft__tev *p = weft__trace_open_run(t, fn);
  /* The cheapest case: one more tiny task in a sampled run, no clock read.
   * relaxed atomics: a concurrent weft_trace_write may read the record. */
  if (weft_likely(p && s->chained && t->sampling && t->unsampled + 1 < WEFT__TRACE_SAMPLE &&
                  p->ts + p->dur == t->last_end)) {
    weft_store_relaxed(&p->b, p->b + 1);
    t->unsampled++;
    return;
  }
  uint64_t t1 = weft__trace_now();
  uint64_t d = t1 - s->t0;
  /* Tasks in [t0, t1]: a chained task started at the last clock read, so
   * the unsampled ones since are in its interval. (A nested task leaves
   * them be: they ran before its parent began.) */
  uint64_t k = s->chained ? (uint64_t)t->unsampled + 1 : 1;
  uint64_t merge = weft_load_relaxed(&weft__trace_merge_ticks);
  t->last_end = t1;
  t->chain = true;
  if (s->chained) t->unsampled = 0;
  /* Extend the run: back to back, and tiny (a batch: tiny on average —
   * if not, it is added all the same and sampling stops for a while). */
  if (weft_likely(p && (d < merge * k || k > 1) && s->t0 - (p->ts + p->dur) < merge)) {
    weft_store_relaxed(&p->dur, t1 - p->ts);
    weft_store_relaxed(&p->b, p->b + 1);
    weft_store_relaxed(&p->c, p->c + d);
    t->sampling = d < merge * k;
    return;
  }
  t->sampling = false;
  weft__trace_task_end_slow(s, fn, id, t1);
}

/* ---- logging context ----
 * The pool registers how to learn the calling thread's worker index and
 * running task (trace sits below the pool and cannot include it). */
void weft__log_set_context(int (*worker_index)(void), uint64_t (*task_id)(void));

#endif /* WEFT_TRACE_INTERNAL_H */
