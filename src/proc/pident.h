/* src/proc/pident.h — who a process is, and whether it still lives, for the
 * robust IPC objects (weft_psem's holder table, weft_pqueue's slot owners).
 *
 * A pid alone is not an identity: once a process is reaped its pid can be
 * handed to a new one. The pair (pid, start time) is: the start time is
 * field 22 of /proc/<pid>/stat (clock ticks since boot), which a reused pid
 * cannot share with the process that had it before. */
#ifndef WEFT_PROC_PIDENT_H
#define WEFT_PROC_PIDENT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct weft__pident {
  int32_t pid;
  uint64_t start; /* 0 when /proc could not be read */
} weft__pident;

/* The calling process's identity, cached per process (a fork hook clears
 * the cache in the child), so the fast paths make no system call. */
extern int32_t weft__self_pid; /* 0: not known yet */
extern uint64_t weft__self_start;
weft__pident weft__pident_lookup_self(void);
static inline weft__pident weft__pident_self(void) {
  weft__pident me;
  me.pid = __atomic_load_n(&weft__self_pid, __ATOMIC_ACQUIRE);
  if (__builtin_expect(me.pid == 0, 0)) return weft__pident_lookup_self();
  me.start = __atomic_load_n(&weft__self_start, __ATOMIC_RELAXED);
  return me;
}

/* True when the process (pid, start) has ended: no such pid, a zombie (it
 * exited and waits for its parent to reap it; a process whose main thread
 * alone exited is not one), or the pid now belongs to a
 * process with another start time. Reads /proc; without /proc it falls
 * back to kill(pid, 0), which sees zombies as alive. Slow: not for fast
 * paths. */
bool weft__pident_dead(int32_t pid, uint64_t start);
/* The same, comparing only the start time's bits in start_mask (for
 * identities packed into one word). */
bool weft__pident_dead_masked(int32_t pid, uint64_t start, uint64_t start_mask);

#endif /* WEFT_PROC_PIDENT_H */
