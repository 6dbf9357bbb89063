/* src/core/internal.h — what every weft module shares internally: atomics
 * shorthands, the futex contract, cache-line sizes, branch hints.
 * Internal names are weft__* (non-static) or plain (static). */
#ifndef WEFT_CORE_INTERNAL_H
#define WEFT_CORE_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "weft/core.h"

#define WEFT_CACHELINE 64
#define weft_likely(x)   __builtin_expect(!!(x), 1)
#define weft_unlikely(x) __builtin_expect(!!(x), 0)
#define WEFT_ALIGNED_CL  __attribute__((aligned(WEFT_CACHELINE)))

/* Atomics on plain integer fields (public structs stay C++-includable). */
#define weft_load_relaxed(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define weft_load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define weft_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define weft_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define weft_fetch_add(p, v)     __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define weft_fetch_sub(p, v)     __atomic_fetch_sub((p), (v), __ATOMIC_ACQ_REL)
#define weft_exchange(p, v)      __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define weft_cas(p, expp, v) \
  __atomic_compare_exchange_n((p), (expp), (v), false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
/* Note: gcc refuses fences under -fsanitize=thread (-Wtsan, an error with
 * -Werror) and TSan does not model them; prefer seq_cst accesses on both
 * sides of a store-then-load (Dekker) pair, as src/sync does. */
#define weft_fence_seq_cst()     __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* A pause for spin loops: tells the CPU (and a hyper-thread sibling) that
 * this core is only waiting. */
static inline void weft_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

/* ---- futex contract (src/core/futex.c) ----
 * weft__futex_wait: sleeps while *addr == expected, until woken, or until the
 * absolute monotonic deadline_ns (WEFT_FOREVER = none). Returns 0 (woken, or
 * the value differed, or a spurious wake: callers re-check), or
 * WEFT_ETIMEDOUT. Process-private futexes unless `shared` variants are used. */
int  weft__futex_wait(uint32_t *addr, uint32_t expected, uint64_t deadline_ns);
/* Wakes up to n waiters (INT32_MAX = all). */
void weft__futex_wake(uint32_t *addr, int n);
/* The same for futexes in memory shared between processes. */
int  weft__futex_wait_shared(uint32_t *addr, uint32_t expected, uint64_t deadline_ns);
void weft__futex_wake_shared(uint32_t *addr, int n);

/* ---- deadlines for pthread calls (src/core/time.c) ----
 * Fills *ts with the absolute monotonic deadline_ns, or (realtime) with the
 * CLOCK_REALTIME instant the same distance away — for pthread calls that
 * only take realtime deadlines. */
struct timespec;
void weft__deadline_timespec(uint64_t deadline_ns, bool realtime, struct timespec *ts);

/* ThreadSanitizer (gcc 12) intercepts pthread_timedjoin_np and
 * pthread_rwlock_timed*lock but not their *clock* variants: a call it does
 * not see leaves it with a wrong picture (a joined thread still "running",
 * an unseen lock). TSan builds use the realtime variants instead. */
#if defined(__SANITIZE_THREAD__)
#define WEFT__TSAN 1
#else
#define WEFT__TSAN 0
#endif

/* Either flavour, chosen by the caller: private futexes (faster: keyed by
 * address) for objects inside one process, shared ones for objects in
 * memory mapped by several processes. One algorithm serves both (src/sync
 * for weft_sem/weft_event, src/proc for their process-shared twins). */
static inline int weft__futex_wait_in(uint32_t *addr, uint32_t expected, uint64_t deadline_ns,
                                      bool shared) {
  return shared ? weft__futex_wait_shared(addr, expected, deadline_ns)
                : weft__futex_wait(addr, expected, deadline_ns);
}
static inline void weft__futex_wake_in(uint32_t *addr, int n, bool shared) {
  if (shared) weft__futex_wake_shared(addr, n);
  else weft__futex_wake(addr, n);
}

/* Allocation aligned to a cache line, zeroed. NULL on failure. Free with free(). */
void *weft__alloc_aligned(size_t size);

#endif /* WEFT_CORE_INTERNAL_H */
