/* src/proc/subprocess_many.c — weft_subprocess_run_many: n commands, at most
 * `parallel` alive at once (GNU parallel, xargs -P).
 *
 * One poll loop in the calling thread serves every running child — its
 * pidfd, and its pipes when it has any. A thread per child (Python's
 * ThreadPoolExecutor + subprocess.run) pays a thread wake-up on every exit;
 * here an exit is one poll wake-up that also refills the slot at once. */
#include <stdlib.h>
#include "proc/subprocess_internal.h"
#include "weft/thread.h"

#define SLOT_FREE SIZE_MAX

/* The loop's state: `parallel` slots, each free or running cmds[index[s]]. */
typedef struct many {
  const weft_subprocess_opts *cmds;
  size_t n, next, parallel, active;
  weft_subprocess_result *results;
  weft_subprocess_done_fn on_done;
  void *arg;
  weft__sp_child *kids;
  size_t *index;       /* per slot: the command it runs, or SLOT_FREE */
  size_t *nfds;        /* per slot: how many pollfds it put in pfd */
  struct pollfd *pfd;  /* SP_NFDS per slot */
} many;

static void report(many *m, size_t i) {
  if (m->on_done) m->on_done(i, &m->results[i], m->arg);
}

static void complete(many *m, size_t s) {
  size_t i = m->index[s];
  weft__sp_take_result(&m->kids[s], &m->results[i]);
  m->index[s] = SLOT_FREE;
  m->active--;
  report(m, i);
}

/* Starts commands into free slots while there are both. A command that
 * cannot start is finished on the spot with its start error. */
static void fill_slots(many *m) {
  for (size_t s = 0; s < m->parallel && m->next < m->n; s++) {
    if (m->index[s] != SLOT_FREE) continue;
    size_t i = m->next++;
    int rc = weft__sp_spawn(&m->kids[s], &m->cmds[i]);
    if (rc) {
      m->results[i] = (weft_subprocess_result){.error = rc, .exit_code = -1};
      report(m, i);
      s--; /* try the next command in the same slot */
      continue;
    }
    m->index[s] = i;
    m->active++;
  }
}

/* One pass: timeouts, poll over every running child, serve, complete. */
static int pass(many *m) {
  uint64_t now = weft_now_ns(), wake = WEFT_FOREVER;
  bool tick = false;
  size_t total = 0;
  for (size_t s = 0; s < m->parallel; s++) {
    m->nfds[s] = 0;
    if (m->index[s] == SLOT_FREE) continue;
    uint64_t w = weft__sp_check_deadline(&m->kids[s], now);
    if (weft__sp_finished(&m->kids[s])) {
      complete(m, s);
      return 0; /* refill before sleeping */
    }
    wake = w < wake ? w : wake;
    tick |= weft__sp_needs_tick(&m->kids[s]);
    m->nfds[s] = weft__sp_poll_fds(&m->kids[s], m->pfd + total);
    total += m->nfds[s];
  }
  int rc = weft__sp_poll(m->pfd, total, wake, tick);
  if (rc) return rc;
  total = 0;
  for (size_t s = 0; s < m->parallel; s++) {
    if (m->index[s] == SLOT_FREE) continue;
    weft__sp_serve(&m->kids[s], m->pfd + total, m->nfds[s]);
    total += m->nfds[s];
    if (weft__sp_finished(&m->kids[s])) complete(m, s);
  }
  return 0;
}

/* poll itself failed (out of kernel memory): stop every child, keep going
 * with results that carry the error. */
static void abandon_running(many *m, int err) {
  for (size_t s = 0; s < m->parallel; s++) {
    if (m->index[s] == SLOT_FREE) continue;
    if (!m->kids[s].error) m->kids[s].error = err;
    weft__sp_stop(&m->kids[s]);
    complete(m, s);
  }
}

static int alloc_tables(many *m) {
  m->kids = calloc(m->parallel, sizeof *m->kids);
  m->index = malloc(m->parallel * sizeof *m->index);
  m->nfds = calloc(m->parallel, sizeof *m->nfds);
  m->pfd = calloc(m->parallel * SP_NFDS, sizeof *m->pfd);
  if (!m->kids || !m->index || !m->nfds || !m->pfd) return WEFT_ENOMEM;
  for (size_t s = 0; s < m->parallel; s++) m->index[s] = SLOT_FREE;
  return 0;
}

static void free_tables(many *m) {
  free(m->kids);
  free(m->index);
  free(m->nfds);
  free(m->pfd);
}

static void run_all(many *m) {
  weft__sp_sigpipe sigpipe;
  weft__sp_sigpipe_block(&sigpipe);
  for (;;) {
    fill_slots(m);
    if (m->active == 0) break;
    int rc = pass(m);
    if (rc) abandon_running(m, rc);
  }
  weft__sp_sigpipe_restore(&sigpipe);
}

static int check_all(const weft_subprocess_opts *cmds, size_t n,
                     weft_subprocess_result *results) {
  if (!results) return WEFT_EINVAL;
  for (size_t i = 0; i < n; i++) results[i] = (weft_subprocess_result){.exit_code = -1};
  if (!cmds) return WEFT_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (weft__sp_check_opts(&cmds[i])) return WEFT_EINVAL;
  return 0;
}

int weft_subprocess_run_many(const weft_subprocess_opts *cmds, size_t n, size_t parallel,
                             weft_subprocess_result *results, weft_subprocess_done_fn on_done,
                             void *arg) {
  if (n == 0) return 0;
  int rc = check_all(cmds, n, results);
  if (rc) return rc;
  if (parallel == 0) parallel = weft_cpu_count();
  if (parallel == 0) parallel = 1;
  many m = {.cmds = cmds, .n = n, .parallel = parallel < n ? parallel : n,
            .results = results, .on_done = on_done, .arg = arg};
  rc = alloc_tables(&m);
  if (!rc) run_all(&m);
  free_tables(&m);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++)
    if (results[i].error) return results[i].error;
  return 0;
}
