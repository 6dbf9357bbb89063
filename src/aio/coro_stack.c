/* src/aio/coro_stack.c — coroutine stacks: mmap'ed with a PROT_NONE guard
 * page below, pooled per thread, and the SIGSEGV handler that turns a guard
 * page hit into a clear message instead of an anonymous crash. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "aio/coro_internal.h"
#include "weft/core.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif


/* A few stacks per thread: enough for a burst of short-lived coroutines to
 * run without an mmap each, small enough not to hoard memory. */
#define POOL_MAX 16
#define ALTSTACK_SIZE (64u * 1024u)

static __thread weft__coro_stack pool[POOL_MAX];
static __thread int pool_len;
static __thread void *altstack; /* ours, when this thread had none */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static struct sigaction old_segv;
static size_t page_size;

size_t weft__coro_page_size(void) {
  return page_size;
}

static void unmap(weft__coro_stack *s) {
  munmap(s->map, s->map_size);
  free(s->spare);
}

/* ---- the SIGSEGV handler (async-signal-safe code only) ---- */

static void put_str(char *buf, size_t *n, const char *s) {
  while (*s && *n < 255) buf[(*n)++] = *s++;
}

static void put_num(char *buf, size_t *n, uintptr_t v, unsigned base) {
  char tmp[24];
  int k = 0;
  do {
    tmp[k++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (k && *n < 255) buf[(*n)++] = tmp[--k];
}

static uintptr_t fault_sp(void *uctx) {
  const ucontext_t *uc = uctx;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.sp;
#else
  (void)uc;
  return 0;
#endif
}

/* A fault in the running coroutine's guard page, or a fault near a stack
 * pointer that went a little below its stack (a frame larger than the guard
 * page jumps over it). Both bounds stay tight so that a fault elsewhere (in
 * a signal handler on the alternate stack, say) is never taken for one. */
static bool is_overflow(const weft__coro *co, uintptr_t addr, uintptr_t sp) {
  if (!co) return false;
  uintptr_t map = (uintptr_t)co->stack.map, lo = (uintptr_t)co->stack.lo;
  if (addr >= map && addr < lo) return true;
  return sp && sp < lo && sp + 256 * 1024 >= map && addr < lo && addr + 64 * 1024 >= sp;
}

static void report_overflow(const weft__coro *co, uintptr_t addr) {
  char buf[256];
  size_t n = 0;
  put_str(buf, &n, "weft: coroutine stack overflow (stack of ");
  put_num(buf, &n, co->stack.size / 1024, 10);
  put_str(buf, &n, " KB) at address 0x");
  put_num(buf, &n, addr, 16);
  put_str(buf, &n, "; create the coroutine with a larger stack\n");
  ssize_t w = write(STDERR_FILENO, buf, n);
  (void)w;
}

static void default_action(int sig, const siginfo_t *info) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, NULL);
  /* A fault repeats when the handler returns and now kills; a signal sent
   * by kill() does not, so it is raised again (delivered on return). */
  if (info->si_code <= 0) raise(sig);
}

static void on_segv(int sig, siginfo_t *info, void *uctx) {
  weft__coro *co = weft__coro_tl_current;
  uintptr_t addr = (uintptr_t)info->si_addr;
  if (info->si_code > 0 && is_overflow(co, addr, fault_sp(uctx))) {
    report_overflow(co, addr);
    default_action(sig, info);
    return;
  }
  if (old_segv.sa_flags & SA_SIGINFO)
    old_segv.sa_sigaction(sig, info, uctx);
  else if (old_segv.sa_handler == SIG_DFL || old_segv.sa_handler == SIG_IGN)
    default_action(sig, info);
  else
    old_segv.sa_handler(sig);
}

/* ---- per-process and per-thread setup ---- */

static void thread_exit(void *unused) {
  (void)unused;
  while (pool_len > 0) {
    unmap(&pool[--pool_len]);
  }
  if (altstack) {
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(altstack, ALTSTACK_SIZE);
    altstack = NULL;
  }
}

static void setup_process(void) {
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  pthread_key_create(&thread_key, thread_exit);
}

/* Installs the handler, keeping the one it replaces to chain to. Checked
 * again whenever a new stack is mapped (that costs an mmap anyway): code
 * that installs its own SIGSEGV handler later and restores the default
 * afterwards (test frameworks do) would otherwise turn the check off. */
static void ensure_handler(void) {
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  struct sigaction cur;
  pthread_mutex_lock(&lock);
  if (sigaction(SIGSEGV, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
      cur.sa_sigaction == on_segv) {
    pthread_mutex_unlock(&lock);
    return;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
  pthread_mutex_unlock(&lock);
}

/* The handler cannot run on the overflowed stack: each thread that runs
 * coroutines needs an alternate signal stack. One already set up (by the
 * application or a sanitizer) is kept. */
static void setup_thread(void) {
  static __thread bool done;
  if (done) return;
  pthread_once(&once, setup_process);
  done = true;
  pthread_setspecific(thread_key, &done); /* any non-NULL: runs thread_exit */
  stack_t cur;
  if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) return;
  void *p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return; /* overflows then crash without the message */
  stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) {
    munmap(p, ALTSTACK_SIZE);
    return;
  }
  altstack = p;
}

/* ---- stacks ---- */

int weft__coro_stack_get(weft__coro_stack *s, size_t size) {
  setup_thread();
  size = (size + page_size - 1) & ~(page_size - 1);
  for (int i = pool_len - 1; i >= 0; i--) {
    if (pool[i].size != size) continue;
    *s = pool[i];
    pool[i] = pool[--pool_len];
    return 0;
  }
  ensure_handler();
  size_t map_size = size + page_size;
  char *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) return WEFT_ENOMEM;
  if (mprotect(map, page_size, PROT_NONE) != 0) {
    munmap(map, map_size);
    return WEFT_ENOMEM;
  }
  *s = (weft__coro_stack){.map = map, .map_size = map_size, .lo = map + page_size, .size = size};
  return 0;
}

void weft__coro_stack_put(weft__coro_stack *s) {
#if defined(__SANITIZE_ADDRESS__)
  /* An abandoned coroutine leaves its frames' redzones poisoned. */
  ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#endif
  setup_thread();
  if (pool_len < POOL_MAX) {
    pool[pool_len++] = *s;
  } else {
    unmap(s);
  }
  memset(s, 0, sizeof *s);
}
