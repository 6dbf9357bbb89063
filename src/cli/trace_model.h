/* src/cli/trace_model.h — a trace file read back for `weft trace report`
 * and `weft trace top`: tracks, spans (tasks, idle, parks, process tasks,
 * coroutines, I/O waits, graph nodes), graph edges, per-function totals. */
#ifndef WEFT_CLI_TRACE_MODEL_H
#define WEFT_CLI_TRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TR_TASK, TR_IDLE, TR_PARK, TR_PTASK, TR_CORO, TR_IO, TR_NODE, TR_SPAN, TR_NKINDS };
enum { ROLE_WORKER, ROLE_PROCESS, ROLE_LOOP, ROLE_THREAD };

typedef struct tr_track {
  int pid, tid;
  char name[64];
  int role;
  uint64_t tasks;          /* tasks run (merged runs count each task) */
  double busy_us;          /* time in tasks (outermost ones) */
  double idle_us, park_us;
  uint64_t steals, parks, wakes;
} tr_track;

typedef struct tr_span {
  double ts, dur;          /* µs */
  uint32_t track, fn;      /* fn: index into the model's names */
  uint32_t count;          /* tasks in a merged run (1 otherwise) */
  uint8_t kind;
  bool nested;             /* inside another span of its track (a task run
                              while another waited): not counted in busy time */
  double busy;             /* µs inside the tasks of a merged run */
  double cpu;              /* µs, or -1 when not measured */
  double rss_kb;           /* process tasks: peak RSS, or 0 */
  uint32_t graph;
  uint64_t node;
} tr_span;

typedef struct tr_edge {
  uint32_t graph;
  uint64_t node, dep;
} tr_edge;

typedef struct tr_fn {
  char *name;
  uint64_t count;
  double total_us, max_us, cpu_us;
  uint64_t cpu_count;      /* tasks whose CPU time was measured */
} tr_fn;

typedef struct tr_model {
  char producer[64];
  tr_track *tracks;
  size_t ntracks, captracks;
  tr_span *spans;
  size_t nspans, capspans;
  tr_edge *edges;
  size_t nedges, capedges;
  tr_fn *fns;
  size_t nfns, capfns;
  uint32_t *fn_hash;       /* open addressing over fns, capacity capfns * 2 */
  double t0, t1;           /* first start, last end of any span (µs) */
  uint64_t events, dropped, marks;
} tr_model;

/* Reads path into m (zeroed by the caller). 0, or -1 with a message in err. */
int tr_load(tr_model *m, const char *path, char *err, size_t errlen);
void tr_free(tr_model *m);

/* Tasks run in total (merged runs count each task; process tasks too). */
uint64_t tr_task_count(const tr_model *m);
/* Worker tracks (role worker). */
size_t tr_worker_count(const tr_model *m);
/* The span of time tasks ran in: first task start to last task end (µs). */
void tr_task_window(const tr_model *m, double *start, double *end);

#endif /* WEFT_CLI_TRACE_MODEL_H */
