/* src/pool/fork.c — the process-wide default pool and fork safety.
 *
 * After fork() only the forking thread exists in the child: the parent's
 * workers are gone and their locks may be held forever. So the child never
 * touches a parent's pool: every pool records the fork generation it was
 * created in, the child handler bumps the generation, and each entry point
 * compares (one load) and returns WEFT_EFORKED. The child forgets the
 * default pool (weft_pool_default makes a fresh one there) and its own
 * thread-local "I am a worker / running a task" state. The parent keeps its
 * default pool. Registry and default-pool locks are taken around fork so the
 * child never inherits them held. */
#include "pool/pool_internal.h"

uint32_t weft__fork_gen = 1;

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static weft_pool *default_pool;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static weft_pool *reg_head;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void before_fork(void) {
  pthread_mutex_lock(&default_lock); /* order: default_lock, then reg_lock */
  pthread_mutex_lock(&reg_lock);
}

static void after_fork_parent(void) {
  pthread_mutex_unlock(&reg_lock);
  pthread_mutex_unlock(&default_lock);
}

static void after_fork_child(void) {
  weft_store_relaxed(&weft__fork_gen, weft__fork_gen + 1);
  default_pool = NULL; /* the parent's: unusable (and not ours to free) */
  /* The registry keeps the parent's pools: weft_pool_destroy in the child
   * finds them there and frees their memory. */
  weft__tls.worker = NULL;
  weft__tls.task = NULL;
  pthread_mutex_init(&reg_lock, NULL);
  pthread_mutex_init(&default_lock, NULL);
}

static void install_atfork(void) {
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void weft__registry_add(weft_pool *p) {
  pthread_once(&atfork_once, install_atfork);
  pthread_mutex_lock(&reg_lock);
  p->reg_prev = NULL;
  p->reg_next = reg_head;
  if (reg_head) reg_head->reg_prev = p;
  reg_head = p;
  pthread_mutex_unlock(&reg_lock);
}

bool weft__registry_remove(weft_pool *p) {
  pthread_mutex_lock(&reg_lock);
  /* Search by address before touching *p: p may be a pool destroyed
   * already, whose memory is gone. Destroying is rare; the list is short. */
  weft_pool *q = reg_head;
  while (q && q != p) q = q->reg_next;
  if (q) {
    if (p->reg_prev)
      p->reg_prev->reg_next = p->reg_next;
    else
      reg_head = p->reg_next;
    if (p->reg_next) p->reg_next->reg_prev = p->reg_prev;
  }
  pthread_mutex_unlock(&reg_lock);
  return q != NULL;
}

void weft__registry_foreach(void (*fn)(weft_pool *p, void *ctx), void *ctx) {
  pthread_mutex_lock(&reg_lock);
  for (weft_pool *q = reg_head; q; q = q->reg_next) fn(q, ctx);
  pthread_mutex_unlock(&reg_lock);
}

bool weft__registry_empty(void) {
  pthread_mutex_lock(&reg_lock);
  bool empty = reg_head == NULL;
  pthread_mutex_unlock(&reg_lock);
  return empty;
}

bool weft__is_default_pool(const weft_pool *p) {
  return p == weft_load_acquire(&default_pool);
}

weft_pool *weft_pool_default(void) {
  /* acquire: pairs with the release below; the pool is fully built. */
  weft_pool *p = weft_load_acquire(&default_pool);
  if (weft_likely(p != NULL)) return p;
  pthread_mutex_lock(&default_lock);
  p = default_pool;
  if (!p) {
    if (weft_pool_create(&p, NULL) == 0)
      weft_store_release(&default_pool, p);
    else
      p = NULL;
  }
  pthread_mutex_unlock(&default_lock);
  return p;
}
