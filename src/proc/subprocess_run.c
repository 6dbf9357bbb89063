/* src/proc/subprocess_run.c — weft_subprocess_run (subprocess.run) and the
 * loop that drives one child to the end. */
#include <stdlib.h>
#include "proc/subprocess_internal.h"

void weft_subprocess_result_free(weft_subprocess_result *r) {
  if (!r) return;
  free(r->out);
  free(r->err);
  *r = (weft_subprocess_result){.exit_code = -1};
}

int weft__sp_drive(weft__sp_child *c, uint64_t until) {
  struct pollfd pfd[SP_NFDS];
  for (;;) {
    uint64_t wake = weft__sp_check_deadline(c, weft_now_ns());
    if (weft__sp_finished(c)) return 0;
    if (until < wake) wake = until;
    size_t n = weft__sp_poll_fds(c, pfd);
    int rc = weft__sp_poll(pfd, n, wake, weft__sp_needs_tick(c));
    if (rc) return rc;
    weft__sp_serve(c, pfd, n);
    if (weft__sp_finished(c)) return 0;
    if (until != WEFT_FOREVER && weft_now_ns() >= until) return WEFT_ETIMEDOUT;
  }
}

int weft_subprocess_run(const weft_subprocess_opts *opts, weft_subprocess_result *out) {
  if (!out) return WEFT_EINVAL;
  *out = (weft_subprocess_result){.exit_code = -1};
  int rc = weft__sp_check_opts(opts);
  if (rc) return out->error = rc;
  weft__sp_child c;
  weft__sp_sigpipe sigpipe;
  weft__sp_sigpipe_block(&sigpipe);
  rc = weft__sp_spawn(&c, opts);
  if (!rc) {
    rc = weft__sp_drive(&c, WEFT_FOREVER);
    if (rc && !c.error) c.error = rc; /* poll itself failed: give up on it */
    weft__sp_stop(&c);                /* reaped already unless poll failed */
    weft__sp_take_result(&c, out);
  } else {
    out->error = rc;
  }
  weft__sp_sigpipe_restore(&sigpipe);
  return out->error;
}
