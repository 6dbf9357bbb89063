/* src/proc/psem.c — the robust process-shared semaphore.
 *
 * The count is src/sync's weft_sem (value = the shared futex word, waiters
 * = sleepers, with sem.c's Dekker pair between "count myself, then read
 * value" and "raise value, then read waiters"); taking a unit is sem.c's
 * CAS (weft_sem_trywait). What is added is a table of holders: which
 * process (pid + start time, see pident.h) holds how many units.
 *
 * Why a lock around every change: a unit must be taken from the count and
 * recorded against its taker as one step, or a process killed between the
 * two loses the unit (or, the other way round, gives one back twice). Two
 * words cannot change in one atomic instruction, so each change happens
 * under `guard_`, a robust weft_plock, with an undo record written first
 * (op_ = entry index + 1, the entry's and the count's old values). When a
 * process dies holding the guard, the next locker gets EOWNERDEAD, rolls
 * the half-done change back from the record, and the dead process's units
 * are then reclaimed like any dead holder's. The guard is held for a few
 * instructions; sleeping happens outside it, on the count.
 *
 * Dead holders are found by waiters, not by posts: a waiter that cannot
 * take a unit checks every holder's liveness (slow: /proc reads) at most
 * every SCAN_NS, shared by all waiters through scan_after_. */
#include <stdint.h>
#include <string.h>
#include "core/internal.h"
#include "proc/pident.h"
#include "weft/proc.h"

enum { NHOLD = WEFT_PSEM_HOLDERS };
_Static_assert(sizeof(weft_psem) == 616, "proc.h documents the size");
#define SCAN_NS (5 * 1000000ull)

/* Entries are read without the guard by scans (then re-checked under it),
 * so every access is atomic, relaxed: the guard orders them. */
static weft_psem_holder_ get(const weft_psem_holder_ *e) {
  weft_psem_holder_ v;
  v.pid = weft_load_relaxed(&e->pid);
  v.units = weft_load_relaxed(&e->units);
  v.start = weft_load_relaxed(&e->start);
  return v;
}

static void set(weft_psem_holder_ *e, weft_psem_holder_ v) {
  weft_store_relaxed(&e->pid, v.pid);
  weft_store_relaxed(&e->units, v.units);
  weft_store_relaxed(&e->start, v.start);
}

/* ---- the guard and its undo record ---- */

/* Records entry i and the count before they change. */
static void begin(weft_psem *s, int i) {
  s->undo_ = get(&s->holders_[i]);
  s->undo_value_ = weft_load_relaxed(&s->sem.value);
  weft_store_relaxed(&s->op_, (uint32_t)i + 1);
  /* The record is stored before any change it describes. A compiler
   * barrier is enough: the record is read only by the next holder of the
   * guard after this process died, and a killed process stops at an
   * instruction boundary with every earlier store done; the kernel's exit
   * path (which marks the guard's owner dead) orders them for the reader. */
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void commit(weft_psem *s) {
  weft_store_release(&s->op_, 0);
}

/* The guard's previous holder died: undo its half-done change. Its units
 * (if any) are then an ordinary dead holder's: make the next waiter look. */
static void recover(weft_psem *s) {
  uint32_t op = weft_load_relaxed(&s->op_);
  if (op) {
    set(&s->holders_[op - 1], s->undo_);
    __atomic_store_n(&s->sem.value, s->undo_value_, __ATOMIC_SEQ_CST);
    commit(s);
    /* A unit may be back (a take rolled back): sleepers look again. */
    if (s->undo_value_ != 0) weft__futex_wake_shared(&s->sem.value, INT32_MAX);
  }
  weft_store_relaxed(&s->scan_after_, 0);
}

/* The guard is taken with a try first, then in timed slices rather than
 * one sleep: when an unlock wakes a sleeper and that sleeper is killed
 * before it takes the lock, the wake-up dies with it (a futex wake is not
 * handed on), and the other sleepers would sleep on a free lock forever.
 * The random-kill stress test hit exactly that with an untimed lock. */
#define GUARD_SLICE_NS (2 * 1000000ull)

static int lock(weft_psem *s) {
  int rc = weft_plock_trylock(&s->guard_);
  while (rc == WEFT_EBUSY || rc == WEFT_ETIMEDOUT)
    rc = weft_plock_lock_timed(&s->guard_, GUARD_SLICE_NS);
  if (weft_unlikely(rc == WEFT_EOWNERDEAD)) {
    recover(s);
    rc = weft_plock_consistent(&s->guard_);
  }
  return rc;
}

static void unlock(weft_psem *s) {
  weft_plock_unlock(&s->guard_);
}

/* ---- the holder table (guard held) ---- */

/* The caller's entry, or -1; *free_slot (if given) gets a free entry or -1.
 * A process keeps its entry when its units drop to 0 (free for anyone who
 * needs one), and probing starts at pid % NHOLD, so the usual lookup reads
 * one entry. */
static int find(weft_psem *s, weft__pident me, int *free_slot) {
  unsigned h = (unsigned)me.pid % NHOLD;
  if (free_slot) *free_slot = -1;
  for (unsigned k = 0; k < NHOLD; k++) {
    int i = (int)((h + k) % NHOLD);
    int32_t pid = weft_load_relaxed(&s->holders_[i].pid);
    if (pid == me.pid && weft_load_relaxed(&s->holders_[i].start) == me.start) return i;
    if (free_slot && *free_slot < 0 && (pid == 0 || weft_load_relaxed(&s->holders_[i].units) == 0))
      *free_slot = i;
  }
  return -1;
}

/* Takes a unit and records it: 0 or WEFT_EAGAIN. A full table leaves the
 * unit unrecorded (it cannot be reclaimed; see proc.h). */
static int take_locked(weft_psem *s, weft__pident me) {
  int free_slot, i = find(s, me, &free_slot);
  if (i < 0) i = free_slot;
  if (i < 0) return weft_sem_trywait(&s->sem);
  begin(s, i);
  int rc = weft_sem_trywait(&s->sem);
  if (rc == 0) {
    weft_psem_holder_ e = get(&s->holders_[i]);
    uint32_t units = e.pid == me.pid && e.start == me.start ? e.units + 1 : 1;
    set(&s->holders_[i], (weft_psem_holder_){me.pid, units, me.start});
  }
  commit(s);
  return rc;
}

static int take(weft_psem *s, weft__pident me) {
  int rc = lock(s);
  if (rc) return rc;
  rc = take_locked(s, me);
  unlock(s);
  return rc;
}

/* Gives back the units of every dead holder; if there were any, takes one
 * for the caller: WEFT_EOWNERDEAD. WEFT_EAGAIN when nobody died. Liveness
 * is checked without the guard (it reads /proc); each candidate is
 * re-checked under it, so an entry that changed meanwhile is left alone. */
static int reclaim(weft_psem *s, weft__pident me) {
  weft_psem_holder_ dead[NHOLD];
  int idx[NHOLD], nd = 0;
  for (int i = 0; i < NHOLD; i++) {
    weft_psem_holder_ e = get(&s->holders_[i]);
    if (e.pid == 0 || e.units == 0 || (e.pid == me.pid && e.start == me.start)) continue;
    if (weft__pident_dead(e.pid, e.start)) {
      idx[nd] = i;
      dead[nd++] = e;
    }
  }
  if (nd == 0) return WEFT_EAGAIN;
  int rc = lock(s);
  if (rc) return rc;
  uint32_t back = 0;
  for (int k = 0; k < nd; k++) {
    weft_psem_holder_ e = get(&s->holders_[idx[k]]);
    if (e.pid != dead[k].pid || e.start != dead[k].start || e.units == 0) continue;
    begin(s, idx[k]);
    __atomic_fetch_add(&s->sem.value, e.units, __ATOMIC_SEQ_CST);
    set(&s->holders_[idx[k]], (weft_psem_holder_){0, 0, 0});
    commit(s);
    back += e.units;
  }
  rc = back ? take_locked(s, me) : WEFT_EAGAIN;
  unlock(s);
  if (back > 1 && __atomic_load_n(&s->sem.waiters, __ATOMIC_SEQ_CST) != 0)
    weft__futex_wake_shared(&s->sem.value, (int)(back - 1 > INT32_MAX ? INT32_MAX : back - 1));
  return rc == 0 ? WEFT_EOWNERDEAD : rc;
}

/* ---- the public calls ---- */

int weft_psem_init(weft_psem *s, unsigned value) {
  if (!s || value > INT32_MAX) return WEFT_EINVAL;
  memset(s, 0, sizeof *s);
  int rc = weft_plock_init(&s->guard_);
  if (rc) return rc;
  return weft_sem_init(&s->sem, value);
}

void weft_psem_destroy(weft_psem *s) {
  if (s) weft_plock_destroy(&s->guard_);
}

/* One scan per SCAN_NS among all waiters of all processes. */
static bool scan_due(weft_psem *s, uint64_t now) {
  uint64_t after = weft_load_relaxed(&s->scan_after_);
  return now >= after && __atomic_compare_exchange_n(&s->scan_after_, &after, now + SCAN_NS,
                                                     false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* sem.c's wait_until, with the guarded take, and wake-ups at least every
 * SCAN_NS to look for dead holders. */
static int wait_until(weft_psem *s, weft__pident me, uint64_t deadline_ns) {
  __atomic_fetch_add(&s->sem.waiters, 1, __ATOMIC_SEQ_CST); /* Dekker, see sem.c */
  int rc;
  for (;;) {
    if (__atomic_load_n(&s->sem.value, __ATOMIC_SEQ_CST) != 0) {
      if ((rc = take(s, me)) != WEFT_EAGAIN) break;
      continue; /* another process took it first: look again */
    }
    uint64_t now = weft_now_ns();
    if (scan_due(s, now) && (rc = reclaim(s, me)) != WEFT_EAGAIN) break;
    uint64_t until = deadline_ns > now && deadline_ns - now > SCAN_NS ? now + SCAN_NS : deadline_ns;
    if (weft__futex_wait_shared(&s->sem.value, 0, until) == WEFT_ETIMEDOUT &&
        until == deadline_ns) {
      rc = take(s, me); /* a post may have raced the timeout and woken nobody */
      if (rc == WEFT_EAGAIN) rc = WEFT_ETIMEDOUT;
      break;
    }
  }
  /* Relaxed: a stale higher count only costs a poster a spare wake. */
  __atomic_fetch_sub(&s->sem.waiters, 1, __ATOMIC_RELAXED);
  return rc;
}

int weft_psem_wait_timed(weft_psem *s, uint64_t timeout_ns) {
  if (!s) return WEFT_EINVAL;
  weft__pident me = weft__pident_self();
  if (weft_load_relaxed(&s->sem.value) != 0) {
    int rc = take(s, me);
    if (rc != WEFT_EAGAIN) return rc;
  }
  return wait_until(s, me, weft_deadline_after(timeout_ns));
}

int weft_psem_wait(weft_psem *s) {
  return weft_psem_wait_timed(s, WEFT_FOREVER);
}

int weft_psem_trywait(weft_psem *s) {
  if (!s) return WEFT_EINVAL;
  if (weft_load_relaxed(&s->sem.value) == 0) return WEFT_EAGAIN;
  return take(s, weft__pident_self());
}

int weft_psem_post(weft_psem *s) {
  if (!s) return WEFT_EINVAL;
  weft__pident me = weft__pident_self();
  int rc = lock(s);
  if (rc) return rc;
  if (weft_load_relaxed(&s->sem.value) >= INT32_MAX) {
    unlock(s);
    return WEFT_ERANGE;
  }
  int i = find(s, me, NULL);
  if (i >= 0) { /* one of the caller's units comes back */
    begin(s, i);
    __atomic_fetch_add(&s->sem.value, 1, __ATOMIC_SEQ_CST); /* Dekker, see sem.c */
    weft_psem_holder_ e = get(&s->holders_[i]);
    if (e.units > 0) e.units--; /* 0: the caller signals from its idle entry */
    set(&s->holders_[i], e);
    commit(s);
  } else { /* a signal: one more unit (a single change, nothing to undo) */
    __atomic_fetch_add(&s->sem.value, 1, __ATOMIC_SEQ_CST);
  }
  unlock(s);
  if (__atomic_load_n(&s->sem.waiters, __ATOMIC_SEQ_CST) != 0)
    weft__futex_wake_shared(&s->sem.value, 1);
  return 0;
}

unsigned weft_psem_value(const weft_psem *s) {
  return s ? weft_load_relaxed(&s->sem.value) : 0;
}
