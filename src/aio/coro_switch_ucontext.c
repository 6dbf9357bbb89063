/* src/aio/coro_switch_ucontext.c — the portable switch backend: getcontext /
 * makecontext / swapcontext. Slower than the assembly (swapcontext saves the
 * signal mask with a system call) but available everywhere glibc is. */
#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>
#include "aio/coro_internal.h"
#include "weft/core.h"

/* makecontext passes int arguments only: the pointer travels in two halves. */
static void uc_entry(unsigned hi, unsigned lo) {
  uintptr_t p = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
  weft__coro_entry((weft__coro *)p);
}

int weft__coro_uc_init(weft__coro *co) {
  ucontext_t *uc = calloc(2, sizeof *uc);
  if (!uc) return WEFT_ENOMEM;
  if (getcontext(&uc[0]) != 0) {
    free(uc);
    return WEFT_ESYSTEM;
  }
  uc[0].uc_stack.ss_sp = co->stack.lo;
  uc[0].uc_stack.ss_size = co->stack.size;
  uc[0].uc_link = NULL; /* weft__coro_entry switches back itself */
  uintptr_t p = (uintptr_t)co;
  makecontext(&uc[0], (void (*)(void))uc_entry, 2, (unsigned)(p >> 16 >> 16), (unsigned)p);
  co->uc = uc;
  return 0;
}

/* into != 0: from the resumer into the coroutine; else back out. */
void weft__coro_uc_switch(weft__coro *co, int into) {
  ucontext_t *uc = co->uc;
  if (into)
    swapcontext(&uc[1], &uc[0]);
  else
    swapcontext(&uc[0], &uc[1]);
}

void weft__coro_uc_free(weft__coro *co) {
  free(co->uc);
  co->uc = NULL;
}
