/* src/aio/coro_internal.h — what the coroutine files share: the object, the
 * stacks and the switch backends. See coro.h for the contract. */
#ifndef WEFT_AIO_CORO_INTERNAL_H
#define WEFT_AIO_CORO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "aio/coro.h"

/* One mmap'ed stack: [map, lo) is the PROT_NONE guard, [lo, lo+size) usable. */
typedef struct {
  char *map;
  size_t map_size;
  char *lo;
  size_t size;
  void *spare; /* a destroyed coroutine's memory, pooled with its stack so
                  that the next create needs no allocation; freed with it */
} weft__coro_stack;

struct weft__coro {
  void *sp;        /* asm backend: the coroutine's saved stack pointer */
  void *caller_sp; /* asm backend: the resumer's saved stack pointer */
  weft__coro_fn fn;
  void *arg;
  void *transfer; /* the value travelling with the current switch */
  void *result;
  int status;
  int backend; /* WEFT__CORO_ASM or WEFT__CORO_UCONTEXT */
  weft__coro_stack stack;
  void *uc; /* ucontext backend: two ucontext_t, {coroutine, resumer} */
  /* ASan: the resumer's stack bounds and this coroutine's fake stack. */
  const void *caller_bottom;
  size_t caller_size;
  void *asan_fake;
  bool via_transfer; /* ASan: a transfer set caller_bottom/size already */
  /* TSan: this coroutine's fiber and its resumer's. Not pooled with the
   * stack: a fiber keeps the frames its coroutine never returned from (at
   * least weft__coro_entry) on TSan's shadow stack, which a reused fiber
   * would grow without bound (TSan aborts at 64 K frames). */
  void *tsan_fiber;
  void *tsan_caller;
};

/* coro.c: the first code to run on a new coroutine's stack; never returns. */
void weft__coro_entry(weft__coro *co) __attribute__((noreturn));

/* coro_stack.c: a stack of at least `size` usable bytes (rounded to pages),
 * from this thread's pool or a new mapping; 0 or WEFT_ENOMEM. */
int weft__coro_stack_get(weft__coro_stack *s, size_t size);
void weft__coro_stack_put(weft__coro_stack *s);
size_t weft__coro_page_size(void);

/* coro.c, for the SIGSEGV handler: the coroutine running on this thread. */
extern __thread weft__coro *weft__coro_tl_current __attribute__((tls_model("initial-exec")));

#if defined(WEFT_CORO_HAVE_ASM)
/* coro_switch_<arch>.S: saves the callee-saved state on the current stack,
 * stores the stack pointer in *save, loads `to` and restores from there. */
void weft__coro_switch_asm(void **save, void *to);
/* Prepares a fresh stack so that the first switch to the returned stack
 * pointer calls weft__coro_entry(co). */
void *weft__coro_asm_init(weft__coro *co);
#endif

/* coro_switch_ucontext.c */
int weft__coro_uc_init(weft__coro *co);
void weft__coro_uc_switch(weft__coro *co, int into);
void weft__coro_uc_free(weft__coro *co);

#endif /* WEFT_AIO_CORO_INTERNAL_H */
