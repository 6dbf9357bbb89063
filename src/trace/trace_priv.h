/* src/trace/trace_priv.h — what the files of src/trace share beyond the
 * engines' API: the per-thread buffers, the registry of them, the session's
 * clock calibration. */
#ifndef WEFT_TRACE_PRIV_H
#define WEFT_TRACE_PRIV_H

#include <pthread.h>
#include <stdio.h>
#include "trace/trace_internal.h"

typedef struct weft__tchunk {
  struct weft__tchunk *next;
  uint32_t n;                    /* published records (release/acquire) */
  weft__tev ev[WEFT__TCHUNK];
} weft__tchunk;

/* One thread's records for one session. Registered in the session's list;
 * the owner appends, weft_trace_write reads (under the registry lock). A
 * buffer whose owner exited or moved on to a later session is "retired":
 * nobody writes it any more, so a new session may free it. */
typedef struct weft__tbuf {
  struct weft__tbuf *next;       /* registry */
  weft__tchunk *head, *tail;
  uint32_t gen;
  uint32_t retired;              /* atomic */
  uint64_t dropped;              /* atomic: records refused (memory limit) */
  int tid;
  char name[32];
  const char *role;              /* "worker", "loop", "thread" */
} weft__tbuf;

/* The registry (trace.c). */
extern pthread_mutex_t weft__trace_lock;
extern weft__tbuf *weft__trace_bufs;
extern uint32_t weft__trace_gen;       /* last session started (under lock) */
extern int weft__trace_pid;            /* process that started it */

/* Session clock: ns = ns0 + (ticks - tick0) * ns_per_tick. */
typedef struct weft__tclock {
  uint64_t tick0, ns0;
  double ns_per_tick;
  uint64_t wall0_ns;              /* CLOCK_REALTIME at start */
} weft__tclock;
extern weft__tclock weft__trace_clock;
/* Refines ns_per_tick from the session's start to now (when long enough). */
void weft__trace_clock_refine(void);
static inline double weft__trace_us(uint64_t ticks) {
  /* signed: a record taken just before the session's start instant */
  return ((double)(int64_t)(ticks - weft__trace_clock.tick0) * weft__trace_clock.ns_per_tick) /
         1000.0;
}
static inline double weft__trace_dur_us(uint64_t ticks) {
  return (double)ticks * weft__trace_clock.ns_per_tick / 1000.0;
}

/* The calling thread's name and role for a new buffer (emit.c). */
void weft__trace_self_name(char *out, size_t n, const char **role);

/* Names: a label set by weft_trace_name_fn, or NULL (names.c). */
const char *weft__trace_fn_label(const void *fn);
/* The name of the function at addr in the ELF file path loaded at base,
 * from its full symbol table; NULL if unknown (elfsym.c). */
const char *weft__trace_elf_name(const char *path, const void *base, const void *addr);
/* Writes s as a JSON string, quotes included. */
void weft__trace_put_str(FILE *f, const char *s);

#endif /* WEFT_TRACE_PRIV_H */
