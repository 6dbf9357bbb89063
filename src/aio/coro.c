/* src/aio/coro.c — coroutine objects: create, resume, yield, destroy, and
 * the sanitizer annotations around every switch. See coro.h. */
#include <stdlib.h>
#include <string.h>
#include "aio/coro_internal.h"
#include "core/internal.h"
#include "weft/core.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define CORO_ASAN 1
#else
#define CORO_ASAN 0
#endif
#if WEFT__TSAN
#include <sanitizer/tsan_interface.h>
#endif

/* initial-exec: the library is built -fPIC, and the default (global-dynamic)
 * model would call __tls_get_addr on every resume (a few ns of a ~20 ns
 * switch). Eight bytes of static TLS are always available. */
__thread weft__coro *weft__coro_tl_current __attribute__((tls_model("initial-exec")));

bool weft__coro_has_asm(void) {
#if defined(WEFT_CORO_HAVE_ASM)
  return true;
#else
  return false;
#endif
}

/* ---- the switch, with what the sanitizers must know around it ---- */

/* ASan must be told which stack is about to run (start, before the switch)
 * and that the switch happened (finish, first thing on the new stack); the
 * finish on a coroutine's side also tells it the resumer's stack bounds,
 * which the next switch back needs. TSan needs its fiber switched right
 * before the stack is. */
static inline void raw_switch(weft__coro *co, int into) {
#if defined(WEFT_CORO_HAVE_ASM)
  if (weft_likely(co->backend == WEFT__CORO_ASM)) {
    if (into)
      weft__coro_switch_asm(&co->caller_sp, co->sp);
    else
      weft__coro_switch_asm(&co->sp, co->caller_sp);
    return;
  }
#endif
  weft__coro_uc_switch(co, into);
}

static void switch_into(weft__coro *co) {
#if CORO_ASAN
  void *fake = NULL;
  __sanitizer_start_switch_fiber(&fake, co->stack.lo, co->stack.size);
#endif
#if WEFT__TSAN
  co->tsan_caller = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(co->tsan_fiber, 0);
#endif
  raw_switch(co, 1);
#if CORO_ASAN
  __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

/* ASan, first thing after a switch lands on co's stack: the stack we came
 * from is co's resumer's — unless a transfer brought us here, which already
 * copied the real resumer's bounds into co (the stack we came from is then
 * another coroutine's). */
static inline void asan_landed(weft__coro *co, void *fake) {
#if CORO_ASAN
  const void *bottom;
  size_t size;
  __sanitizer_finish_switch_fiber(fake, &bottom, &size);
  if (co->via_transfer) {
    co->via_transfer = false;
  } else {
    co->caller_bottom = bottom;
    co->caller_size = size;
  }
#else
  (void)co, (void)fake;
#endif
}

/* dying: the coroutine never runs again, so ASan may drop its fake stack. */
static void switch_out(weft__coro *co, int dying) {
#if CORO_ASAN
  __sanitizer_start_switch_fiber(dying ? NULL : &co->asan_fake, co->caller_bottom,
                                 co->caller_size);
#endif
#if WEFT__TSAN
  __tsan_switch_to_fiber(co->tsan_caller, 0);
#endif
  (void)dying;
  raw_switch(co, 0);
  asan_landed(co, co->asan_fake);
}

void weft__coro_entry(weft__coro *co) {
  asan_landed(co, NULL);
  co->result = co->fn(co->arg);
  co->transfer = co->result;
  co->status = WEFT__CORO_DEAD;
  switch_out(co, 1);
  __builtin_trap(); /* a dead coroutine is never switched into */
}

/* ---- the object ---- */

int weft__coro_create(weft__coro **out, weft__coro_fn fn, void *arg, size_t stack_size) {
  return weft__coro_create_ex(out, fn, arg, stack_size, WEFT__CORO_DEFAULT);
}

static int pick_backend(weft__coro_backend want, int *backend) {
  switch (want) {
  case WEFT__CORO_DEFAULT:
    *backend = weft__coro_has_asm() ? WEFT__CORO_ASM : WEFT__CORO_UCONTEXT;
    return 0;
  case WEFT__CORO_ASM:
    *backend = WEFT__CORO_ASM;
    return weft__coro_has_asm() ? 0 : WEFT_EINVAL;
  case WEFT__CORO_UCONTEXT:
    *backend = WEFT__CORO_UCONTEXT;
    return 0;
  }
  return WEFT_EINVAL;
}

static int init_context(weft__coro *co) {
#if defined(WEFT_CORO_HAVE_ASM)
  if (co->backend == WEFT__CORO_ASM) {
    co->sp = weft__coro_asm_init(co);
    return 0;
  }
#endif
  return weft__coro_uc_init(co);
}

int weft__coro_create_ex(weft__coro **out, weft__coro_fn fn, void *arg, size_t stack_size,
                         weft__coro_backend backend) {
  if (!out || !fn || stack_size > WEFT__CORO_STACK_MAX) return WEFT_EINVAL;
  *out = NULL;
  int be, rc = pick_backend(backend, &be);
  if (rc) return rc;
  /* A pooled stack usually brings the memory of the coroutine that used it
   * last: creating one then allocates nothing. */
  weft__coro_stack st;
  rc = weft__coro_stack_get(&st, stack_size ? stack_size : WEFT__CORO_STACK_DEFAULT);
  if (rc) return rc;
  weft__coro *co = st.spare ? st.spare : malloc(sizeof *co);
  if (!co) {
    weft__coro_stack_put(&st);
    return WEFT_ENOMEM;
  }
  memset(co, 0, sizeof *co);
  st.spare = NULL;
  co->stack = st;
  co->fn = fn;
  co->arg = arg;
  co->backend = be;
  co->status = WEFT__CORO_SUSPENDED;
  rc = init_context(co);
  if (rc) {
    co->stack.spare = co;
    weft__coro_stack_put(&co->stack);
    return rc;
  }
#if WEFT__TSAN
  co->tsan_fiber = __tsan_create_fiber(0);
#endif
  *out = co;
  return 0;
}

int weft__coro_resume(weft__coro *co, void *in, void **out) {
  if (!co || co->status != WEFT__CORO_SUSPENDED) return WEFT_EINVAL;
  /* All thread-local bookkeeping happens on the resumer's side: the
   * coroutine's own code may continue on another thread next time. */
  weft__coro *prev = weft__coro_tl_current;
  co->status = WEFT__CORO_RUNNING;
  co->transfer = in;
  weft__coro_tl_current = co;
  switch_into(co);
  weft__coro_tl_current = prev;
  if (co->status == WEFT__CORO_RUNNING) co->status = WEFT__CORO_SUSPENDED;
  if (out) *out = co->transfer;
  return 0;
}

int weft__coro_yield(void *out, void **in) {
  weft__coro *co = weft__coro_tl_current;
  if (!co) return WEFT_EINVAL;
  /* set here, not by the resumer: after a transfer the resumer's resume
   * returns for a different coroutine than the one that yields */
  co->status = WEFT__CORO_SUSPENDED;
  co->transfer = out;
  switch_out(co, 0);
  if (in) *in = co->transfer;
  return 0;
}

static inline bool transfer_ok(const weft__coro *from, const weft__coro *to) {
#if defined(WEFT_CORO_HAVE_ASM)
  return from && to && from != to && from == weft__coro_tl_current &&
         to->status == WEFT__CORO_SUSPENDED && from->backend == WEFT__CORO_ASM &&
         to->backend == WEFT__CORO_ASM;
#else
  (void)from, (void)to;
  return false;
#endif
}

bool weft__coro_can_transfer(const weft__coro *from, const weft__coro *to) {
  return transfer_ok(from, to);
}

int weft__coro_transfer(weft__coro *from, weft__coro *to, void *in) {
  if (!transfer_ok(from, to)) return WEFT_EINVAL;
#if defined(WEFT_CORO_HAVE_ASM)
  from->status = WEFT__CORO_SUSPENDED;
  to->status = WEFT__CORO_RUNNING;
  to->transfer = in;
  to->caller_sp = from->caller_sp; /* to's yield goes where from's would have */
#if CORO_ASAN
  to->caller_bottom = from->caller_bottom;
  to->caller_size = from->caller_size;
  to->via_transfer = true;
  __sanitizer_start_switch_fiber(&from->asan_fake, to->stack.lo, to->stack.size);
#endif
#if WEFT__TSAN
  to->tsan_caller = from->tsan_caller;
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
  weft__coro_tl_current = to;
  weft__coro_switch_asm(&from->sp, to->sp);
  asan_landed(from, from->asan_fake);
#endif
  return 0;
}

weft__coro *weft__coro_current(void) {
  return weft__coro_tl_current;
}

weft__coro_status weft__coro_get_status(const weft__coro *co) {
  return (weft__coro_status)co->status;
}

void *weft__coro_result(const weft__coro *co) {
  return co->status == WEFT__CORO_DEAD ? co->result : NULL;
}

size_t weft__coro_stack_size(const weft__coro *co) {
  return co->stack.size;
}

int weft__coro_destroy(weft__coro *co) {
  if (!co) return 0;
  if (co->status == WEFT__CORO_RUNNING) return WEFT_EINVAL;
#if WEFT__TSAN
  __tsan_destroy_fiber(co->tsan_fiber);
#endif
  if (co->backend == WEFT__CORO_UCONTEXT) weft__coro_uc_free(co);
  weft__coro_stack st = co->stack;
  st.spare = co; /* pooled with the stack, or freed with it */
  weft__coro_stack_put(&st);
  return 0;
}
