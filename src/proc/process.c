/* src/proc/process.c — process objects (multiprocessing.Process) on top of
 * the launcher: a weft_process is one weft__child plus what the child told
 * us on its control socket (a start failure, a crash note). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proc/launch.h"
#include "trace/trace_internal.h"

struct weft_process {
  weft__child c;
  int start_err;      /* WEFT__CTL_START_ERROR code, 0 if none */
  bool crashed;       /* a crash note came */
  weft__crash_note note;
  char msg[640];
  /* Tracing: when it started (ticks; 0 when not traced) and its function. */
  uint64_t trace_t0;
  const void *fn;
};

static bool valid_method(int m) {
  return m == WEFT_START_DEFAULT || m == WEFT_START_SPAWN || m == WEFT_START_FORKSERVER ||
         m == WEFT_START_FORK;
}

int weft_process_start(weft_process **out, weft_proc_fn fn, const void *arg, size_t size,
                       const weft_process_opts *opts) {
  if (out) *out = NULL;
  int method = opts ? opts->start_method : WEFT_START_DEFAULT;
  if (!out || !fn || (!arg && size) || !valid_method(method)) return WEFT_EINVAL;
  weft_process *p = calloc(1, sizeof *p);
  if (!p) return WEFT_ENOMEM;
  weft__child_spec spec = {
      .method = method == WEFT_START_DEFAULT ? WEFT_START_SPAWN : method,
      .entry = fn,
      .arg = arg,
      .size = size,
      .memory_limit = opts ? opts->memory_limit : 0,
      .name = opts ? opts->name : NULL,
  };
  int rc = weft__child_start(&p->c, &spec, p->msg, sizeof p->msg);
  if (rc) {
    free(p);
    return rc;
  }
  p->msg[0] = '\0';
  if (weft__trace_active()) {
    p->fn = (const void *)fn;
    p->trace_t0 = weft__trace_now();
    weft__trace_instant(WEFT__TK_PSTART, NULL, 0, 0, (uint64_t)p->c.pid, UINT32_MAX, 0);
  }
  *out = p;
  return 0;
}

/* The process's life as a span on its own track, ending when its exit was
 * noticed here. */
static void trace_end(weft_process *p) {
  if (!p->trace_t0 || !weft__trace_active()) return;
  weft__trace_span(WEFT__TK_PTASK, p->fn, WEFT__TN_FN, p->trace_t0, weft__trace_now(), 0,
                   WEFT__NOCPU, (uint32_t)p->c.pid);
  bool crash = p->crashed || WIFSIGNALED(p->c.wstatus);
  weft__trace_instant(WEFT__TK_PEXIT, NULL, crash ? WEFT__TF_CRASH : 0, 0, (uint64_t)p->c.pid,
                      UINT32_MAX, (uint64_t)(uint32_t)p->c.wstatus);
  p->trace_t0 = 0;
}

static void on_crash_note(weft_process *p, const void *data, size_t len) {
  if (len < sizeof p->note) return;
  memcpy(&p->note, data, sizeof p->note);
  p->crashed = true;
}

static void on_start_error(weft_process *p, const char *data, size_t len) {
  int code;
  if (len < sizeof code) return;
  memcpy(&code, data, sizeof code);
  p->start_err = code < 0 ? code : WEFT_ENOENT;
  size_t n = len - sizeof code;
  if (n >= sizeof p->msg) n = sizeof p->msg - 1;
  memcpy(p->msg, data + sizeof code, n);
  p->msg[n] = '\0';
}

/* After the exit: explain a death by signal unless a start error did. */
static void describe_end(weft_process *p) {
  if (p->start_err || !WIFSIGNALED(p->c.wstatus)) return;
  char st[96];
  weft__wstatus_text(p->c.wstatus, st, sizeof st);
  if (p->crashed && p->note.near_memory_limit)
    snprintf(p->msg, sizeof p->msg, "%s at its memory limit (%llu of %llu bytes)", st,
             (unsigned long long)p->note.vm_bytes, (unsigned long long)p->note.memory_limit);
  else if (p->crashed)
    snprintf(p->msg, sizeof p->msg, "crashed: %s", st);
  else
    snprintf(p->msg, sizeof p->msg, "%s", st);
}

/* Reads what the child says until it has exited or the time is up. */
static int pump(weft_process *p, uint64_t timeout_ns) {
  uint64_t deadline = weft_deadline_after(timeout_ns);
  char buf[sizeof(int) + 1024];
  while (!p->c.exited) {
    uint64_t left = WEFT_FOREVER;
    if (deadline != WEFT_FOREVER) {
      uint64_t now = weft_now_ns();
      left = deadline > now ? deadline - now : 0;
    }
    uint32_t kind = 0;
    size_t len = 0;
    int rc = weft__ctl_recv(p->c.ctl, &kind, buf, sizeof buf, &len, NULL, NULL, left);
    if (rc == WEFT_ETIMEDOUT) return rc;
    if (rc == WEFT_ERANGE) continue; /* not one of ours: skip it */
    if (rc) {
      weft__child_exited(&p->c, NULL); /* EOF: gone (its reaper too, if no status came) */
    } else if (kind == WEFT__CTL_STATUS && len >= sizeof(int)) {
      int st;
      memcpy(&st, buf, sizeof st);
      weft__child_exited(&p->c, &st);
    } else if (kind == WEFT__CTL_START_ERROR) {
      on_start_error(p, buf, len);
    } else if (kind == WEFT__CTL_CRASH_NOTE) {
      on_crash_note(p, buf, len);
    }
    if (p->c.exited) {
      describe_end(p);
      trace_end(p);
    }
  }
  return 0;
}

int weft_process_join(weft_process *p, uint64_t timeout_ns) {
  if (!p) return WEFT_EINVAL;
  int rc = pump(p, timeout_ns);
  if (rc) return rc;
  return p->start_err;
}

bool weft_process_is_alive(weft_process *p) {
  if (!p) return false;
  (void)pump(p, 0);
  return !p->c.exited;
}

pid_t weft_process_pid(const weft_process *p) { return p ? p->c.pid : -1; }

int weft_process_exitcode(const weft_process *p, int *code, int *sig) {
  if (!p) return WEFT_EINVAL;
  if (!p->c.exited) return WEFT_EAGAIN;
  int st = p->c.wstatus;
  if (code) *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (sig) *sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  return 0;
}

static int send_signal(weft_process *p, int sig) {
  if (!p) return WEFT_EINVAL;
  (void)pump(p, 0); /* notice an end that already happened */
  return weft__child_signal(&p->c, sig);
}

int weft_process_terminate(weft_process *p) { return send_signal(p, SIGTERM); }
int weft_process_kill(weft_process *p) { return send_signal(p, SIGKILL); }

const char *weft_process_message(const weft_process *p) { return p ? p->msg : ""; }

void weft_process_destroy(weft_process *p) {
  if (!p) return;
  weft__child_close(&p->c);
  free(p);
}
