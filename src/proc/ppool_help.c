/* src/proc/ppool_help.c — a thread waiting in weft_ppool_apply harvests
 * completions itself for a short while, so a quick task's round trip is
 * submitter -> worker -> submitter, without the manager thread in between
 * (one hop and one wake-up fewer; on a 2-core machine the manager no longer
 * competes for a CPU with the worker and the waiter). While any thread
 * helps, the manager sleeps "unarmed" and workers skip their eventfd write.
 * Deaths, timeouts and large results' control messages stay the manager's
 * business, as does everything once the helper gives up. */
#include <sched.h>
#include <unistd.h>
#include "proc/ppool_internal.h"

void pp_harvest(weft_ppool *p, pp_worker *w);

/* How long a thread in apply harvests before leaving it to the manager. */
#define HELP_SPIN_NS 100000u

static bool completions_waiting(weft_ppool *p) {
  for (unsigned i = 0; i < p->n; i++) {
    pp_region *r = p->w[i].r;
    if (p->w[i].state != W_OFF && r &&
        weft_load_acquire(&r->c_head) != weft_load_relaxed(&r->c_tail))
      return true;
  }
  return false;
}

void pp_help(weft_ppool *p, weft_future *f) {
  __atomic_fetch_add(&p->helpers, 1, __ATOMIC_SEQ_CST);
  uint64_t until = weft_now_ns() + HELP_SPIN_NS;
  for (unsigned i = 1; !weft_future_is_finished(f); i++) {
    if ((i & 7) == 0) {
      if ((i & 63) == 0) {
        if (weft_now_ns() > until) break;
        sched_yield(); /* the worker may be waiting for this CPU */
      }
      /* Regions are unmapped only under the mutex: look with it held. */
      pthread_mutex_lock(&p->mu);
      if (completions_waiting(p)) {
        for (unsigned k = 0; k < p->n; k++)
          if (p->w[k].state != W_OFF) pp_harvest(p, &p->w[k]);
        pp_dispatch(p);
        pp_finish_done(p);
      }
      pthread_mutex_unlock(&p->mu);
    }
    weft_cpu_relax();
  }
  if (__atomic_sub_fetch(&p->helpers, 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&p->mgr_unarmed, __ATOMIC_SEQ_CST)) {
    uint64_t one = 1;
    ssize_t k = write(p->efd, &one, sizeof one);
    (void)k;
  }
}
