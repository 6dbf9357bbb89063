/* src/aio/coro.h — internal: stackful coroutines with a fast context switch.
 *
 * The lowest layer of the aio engine (issue 4). No public header yet: tasks,
 * the loop and the awaitables are built on top of this.
 *
 * Model (Lua-like, asymmetric): a coroutine runs `fn(arg)` on its own stack.
 * weft__coro_resume() switches from the caller (a thread's own stack or
 * another coroutine) into the coroutine; weft__coro_yield() switches back to
 * whoever resumed it. A value travels each way: resume hands `in` to the
 * pending yield, yield (or the final return of fn) hands `out` to resume.
 *
 * Stacks: mmap'ed, sizes rounded up to whole pages (default 64 KB), with one
 * PROT_NONE guard page below so that an overflow faults instead of silently
 * corrupting memory. A SIGSEGV handler (on a per-thread sigaltstack,
 * installed on first use) recognises a fault in the running coroutine's guard
 * page, prints "weft: coroutine stack overflow (stack of N KB) ..." on stderr
 * and lets the process die by SIGSEGV; any other fault goes to the handler
 * that was installed before ours (or the default action). Freed stacks go to
 * a small per-thread free list and are reused by the next coroutine of the
 * same size (a fresh mmap + mprotect costs microseconds).
 *
 * Switch backends: hand-written assembly on x86-64 and AArch64
 * (coro_switch_<arch>.S: callee-saved registers, stack pointer and the
 * floating-point control state) and a portable ucontext one
 * (coro_switch_ucontext.c). CMake option WEFT_CORO_UCONTEXT=ON, or an
 * architecture without assembly, builds only ucontext. The backend is chosen
 * per coroutine at creation so that tests and benchmarks can compare both.
 *
 * Sanitizers: ASan is told about every stack change
 * (__sanitizer_start/finish_switch_fiber) and TSan gets one fiber per
 * coroutine (__tsan_create/switch_to/destroy_fiber), so both builds are clean.
 *
 * Threads: a coroutine is not bound to a thread, but it must be resumed,
 * yielded and destroyed by one thread at a time, and it must not be resumed
 * by a thread while it runs on another. All functions are thread-safe with
 * respect to *different* coroutines (all shared state is thread-local).
 */
#ifndef WEFT_AIO_CORO_H
#define WEFT_AIO_CORO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct weft__coro weft__coro;

/* The body. Its return value is handed to the resume that ran it last. */
typedef void *(*weft__coro_fn)(void *arg);

typedef enum {
  WEFT__CORO_SUSPENDED, /* created, or yielded: resume may run it */
  WEFT__CORO_RUNNING,   /* on a CPU, or waiting for a coroutine it resumed */
  WEFT__CORO_DEAD,      /* fn returned: only result and destroy remain */
} weft__coro_status;

typedef enum {
  WEFT__CORO_DEFAULT,  /* assembly where built, else ucontext */
  WEFT__CORO_ASM,      /* WEFT_EINVAL from create where not built */
  WEFT__CORO_UCONTEXT, /* always available */
} weft__coro_backend;

#define WEFT__CORO_STACK_DEFAULT (64u * 1024u)
#define WEFT__CORO_STACK_MAX ((size_t)1 << 30) /* 1 GB: larger is a bug */

/* Creates a suspended coroutine that will run fn(arg) on a stack of
 * `stack_size` bytes (0 = default; rounded up to whole pages, guard page
 * extra). Does not run anything yet. Returns 0, WEFT_EINVAL (out or fn NULL,
 * size above WEFT__CORO_STACK_MAX) or WEFT_ENOMEM. */
int weft__coro_create(weft__coro **out, weft__coro_fn fn, void *arg, size_t stack_size);
int weft__coro_create_ex(weft__coro **out, weft__coro_fn fn, void *arg, size_t stack_size,
                         weft__coro_backend backend);

/* Switches into a suspended coroutine until it yields or returns. `in` is
 * what its pending weft__coro_yield receives (ignored on the first resume,
 * where fn gets `arg`); *out (if out is not NULL) receives the yielded value
 * or fn's return value. Returns 0, or WEFT_EINVAL when co is NULL, running
 * (including the caller itself or one of its resumers) or dead. */
int weft__coro_resume(weft__coro *co, void *in, void **out);

/* From inside a coroutine: switches back to its resumer, handing it `out`;
 * returns when resumed again, with *in (if not NULL) = that resume's `in`.
 * Returns 0, or WEFT_EINVAL when not called from a coroutine. */
int weft__coro_yield(void *out, void **in);

/* Symmetric switch, from inside the running coroutine `from`: suspends it
 * and runs `to` (suspended) in its place, as if from's resumer had resumed
 * `to` — to's next yield (or return) goes back to that resumer, whose
 * weft__coro_resume then returns. One switch instead of two through the
 * resumer. `in` is what to's pending yield receives. Returns when `from` is
 * resumed or transferred to again: 0, or WEFT_EINVAL (and nothing happens)
 * unless weft__coro_can_transfer(from, to): from is the running coroutine,
 * to is another, suspended one, and both use the assembly backend (a
 * ucontext resumer context cannot be handed on: it points into itself). The status of a coroutine that
 * yields is set by the yield, so a resumer must not assume the coroutine it
 * resumed is the one that came back. */
bool weft__coro_can_transfer(const weft__coro *from, const weft__coro *to);
int weft__coro_transfer(weft__coro *from, weft__coro *to, void *in);

/* The coroutine running on this thread, or NULL on a thread's own stack. */
weft__coro *weft__coro_current(void);

weft__coro_status weft__coro_get_status(const weft__coro *co);

/* fn's return value once dead, else NULL. */
void *weft__coro_result(const weft__coro *co);

/* The usable stack size in bytes (after rounding). */
size_t weft__coro_stack_size(const weft__coro *co);

/* Frees a suspended or dead coroutine (a suspended one is abandoned: its
 * frames are not unwound, so it must own nothing that needs cleanup) and
 * returns its stack to this thread's pool. NULL is a no-op. Returns 0, or
 * WEFT_EINVAL for a running coroutine (which is left untouched). */
int weft__coro_destroy(weft__coro *co);

/* Whether the assembly backend is built in. */
bool weft__coro_has_asm(void);

#endif /* WEFT_AIO_CORO_H */
