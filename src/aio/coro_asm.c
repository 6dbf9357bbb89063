/* src/aio/coro_asm.c — the first frame on a new stack for the assembly
 * switch: laid out exactly as weft__coro_switch_asm restores it, so that the
 * first switch "returns" into weft__coro_trampoline_asm with the coroutine
 * and weft__coro_entry in callee-saved registers. */
#include "aio/coro_internal.h"

#if defined(WEFT_CORO_HAVE_ASM)
#include <stdint.h>
#include <string.h>

void weft__coro_trampoline_asm(void);

#if defined(__x86_64__)
void *weft__coro_asm_init(weft__coro *co) {
  uintptr_t top = ((uintptr_t)co->stack.lo + co->stack.size) & ~(uintptr_t)15;
  uint64_t *f = (uint64_t *)(top - 64);
  uint32_t mxcsr = 0x1F80; /* the ABI's initial state: all exceptions masked, */
  uint16_t fpucw = 0x037F; /* round to nearest, extended precision */
  memset(f, 0, 64);
  memcpy((char *)f, &mxcsr, 4);
  memcpy((char *)f + 4, &fpucw, 2);
  /* f[1] r15, f[2] r14, f[3] r13, f[4] r12, f[5] rbx, f[6] rbp, f[7] ret */
  f[3] = (uint64_t)(uintptr_t)weft__coro_entry;
  f[4] = (uint64_t)(uintptr_t)co;
  f[7] = (uint64_t)(uintptr_t)weft__coro_trampoline_asm;
  return f;
}
#elif defined(__aarch64__)
void *weft__coro_asm_init(weft__coro *co) {
  uintptr_t top = ((uintptr_t)co->stack.lo + co->stack.size) & ~(uintptr_t)15;
  uint64_t *f = (uint64_t *)(top - 176);
  memset(f, 0, 176);
  /* f[0] x19, f[1] x20, ... f[10] x29, f[11] x30, d8-d15, f[20] fpcr */
  f[0] = (uint64_t)(uintptr_t)co;
  f[1] = (uint64_t)(uintptr_t)weft__coro_entry;
  f[11] = (uint64_t)(uintptr_t)weft__coro_trampoline_asm;
  return f;
}
#else
#error "WEFT_CORO_HAVE_ASM set for an architecture without a switch"
#endif
#endif /* WEFT_CORO_HAVE_ASM */

/* Keeps the file a valid translation unit when the assembly is not built. */
typedef int weft__coro_asm_unit;
