/* src/proc/subprocess_popen.c — weft_subprocess: a running child that the
 * caller waits for, polls and signals (subprocess.Popen). Its pipes are
 * served by the same loop as weft_subprocess_run, but only while wait or
 * poll run: no background thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "proc/subprocess_internal.h"

struct weft_subprocess {
  weft__sp_child child;
  void *stdin_copy; /* the child's stdin bytes: owned, fed by wait/poll */
};

int weft_subprocess_start(weft_subprocess **out, const weft_subprocess_opts *opts) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  int rc = weft__sp_check_opts(opts);
  if (rc) return rc;
  weft_subprocess *p = calloc(1, sizeof *p);
  if (!p) return WEFT_ENOMEM;
  weft_subprocess_opts o = *opts;
  if (o.stdin_data) {
    p->stdin_copy = malloc(o.stdin_size ? o.stdin_size : 1);
    if (!p->stdin_copy) {
      free(p);
      return WEFT_ENOMEM;
    }
    memcpy(p->stdin_copy, o.stdin_data, o.stdin_size);
    o.stdin_data = p->stdin_copy;
  }
  o.timeout_ns = WEFT_FOREVER; /* documented: the wait's timeout governs */
  rc = weft__sp_spawn(&p->child, &o);
  if (rc) {
    free(p->stdin_copy);
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

pid_t weft_subprocess_pid(const weft_subprocess *p) {
  return p ? p->child.pid : 0;
}

static int wait_until(weft_subprocess *p, uint64_t until, weft_subprocess_result *out) {
  weft__sp_sigpipe sigpipe;
  weft__sp_sigpipe_block(&sigpipe);
  int rc = weft__sp_drive(&p->child, until);
  weft__sp_sigpipe_restore(&sigpipe);
  if (rc == 0 && out) weft__sp_take_result(&p->child, out);
  return rc;
}

int weft_subprocess_wait(weft_subprocess *p, uint64_t timeout_ns, weft_subprocess_result *out) {
  if (!p) return WEFT_EINVAL;
  return wait_until(p, weft_deadline_after(timeout_ns), out);
}

int weft_subprocess_poll(weft_subprocess *p, weft_subprocess_result *out) {
  if (!p) return WEFT_EINVAL;
  int rc = wait_until(p, weft_now_ns(), out);
  return rc == WEFT_ETIMEDOUT ? WEFT_EAGAIN : rc;
}

int weft_subprocess_signal(weft_subprocess *p, int sig) {
  if (!p || sig < 0 || sig >= NSIG) return WEFT_EINVAL;
  if (p->child.exited) return WEFT_EALREADY; /* reaped: the pid is not ours */
  return kill(p->child.pid, sig) == 0 ? 0 : -errno;
}

int weft_subprocess_terminate(weft_subprocess *p) {
  return weft_subprocess_signal(p, SIGTERM);
}

int weft_subprocess_kill(weft_subprocess *p) {
  return weft_subprocess_signal(p, SIGKILL);
}

void weft_subprocess_destroy(weft_subprocess *p) {
  if (!p) return;
  weft__sp_stop(&p->child);
  weft__sp_free_bufs(&p->child);
  free(p->stdin_copy);
  free(p);
}
