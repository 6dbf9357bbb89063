/* src/cli/run_job.c — one job of `weft run`, in its slot's worker task.
 *
 * A try: build the argv (no allocation once the slot's buffers have
 * grown), spawn the program as the leader of a new process group, and
 * collect its output: grouped output goes to two memfds the child writes
 * directly (read once it has ended); --line-buffer (and --ungroup --tag)
 * use pipes, stdout read here while the slot's pump task reads stderr;
 * plain --ungroup passes our own stdout and stderr. A timeout is a cancel
 * scope around the wait; when it expires, or when the worker is cancelled
 * (--halt now, second Ctrl-C), the job's whole process group gets GNU
 * parallel's termination sequence: TERM, TERM, TERM, KILL with 200, 100,
 * 50, 25 ms between them. A failed try is run again up to --retries
 * times; only the last try's output is kept. */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "weft/aio.h"
#include "cli/run.h"

#define NS_PER_S 1000000000.0

static double epoch_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / NS_PER_S;
}

/* Output is captured unless it may go straight to ours. */
static bool captures(const run_opts *o) { return !o->ungroup || o->tag || o->results; }
static bool line_mode(const run_opts *o) {
  return !o->results && (o->line_buffer || (o->ungroup && o->tag));
}

/* Reads a stream to its end into b; in line mode prints complete lines as
 * they come. */
static int drain(run_slot *s, weft_aio_stream *in, run_buf *b, int fd) {
  const run_opts *o = s->st->o;
  for (;;) {
    if (b->cap - b->len < 16384 + 1) {
      size_t nc = b->cap ? b->cap * 2 : 65536;
      char *np = realloc(b->p, nc);
      if (!np) return WEFT_ENOMEM;
      b->p = np;
      b->cap = nc;
    }
    size_t n = 0;
    int rc = weft_aio_read(in, b->p + b->len, b->cap - b->len - 1, &n);
    if (rc == WEFT_EEOF) return 0;
    if (rc) return rc;
    b->len += n;
    if (fd == 1) s->received += n;
    if (line_mode(o)) run_out_lines(s->st, fd, &s->tag, b, false);
  }
}

int run_pump(void *arg) {
  run_slot *s = arg;
  for (;;) {
    int rc = weft_aio_event_wait(s->go);
    if (rc) return rc == WEFT_ECANCELED ? 0 : rc;
    weft_aio_event_clear(s->go);
    if (s->err_stream) drain(s, s->err_stream, &s->err, 2);
    s->err_stream = NULL;
    weft_aio_event_set(s->done);
  }
}

/* Kills the slot's job: GNU parallel's termination sequence to its whole
 * process group (every job leads one: new_group), so that what the job
 * started dies with it. The sequence goes on while anything of the group
 * is left, even once the job itself has exited (a child that ignores TERM
 * gets the KILL). */
void run_kill_job(run_slot *s) {
  static const struct { int sig; unsigned ms; } seq[] = {
      {SIGTERM, 200}, {SIGTERM, 100}, {SIGTERM, 50}, {SIGKILL, 25}};
  for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
    if (weft_aio_process_kill_group(s->proc, seq[i].sig) == WEFT_EALREADY) return;
    uint64_t until = weft_now_ns() + seq[i].ms * WEFT_MS;
    weft_aio_scope sc;
    weft_aio_scope_enter(&sc, seq[i].ms * WEFT_MS);
    int rc = weft_aio_process_wait(s->proc, NULL, NULL);
    weft_aio_scope_exit(&sc);
    if (rc == 0 && weft_aio_process_kill_group(s->proc, 0) == WEFT_EALREADY) return;
    uint64_t now = weft_now_ns();
    if (rc == 0 && now < until) weft_aio_sleep(until - now); /* leader gone, group not */
  }
}

/* The job's deadline: --timeout S, or N% of the median of finished jobs
 * (once three have finished, as GNU parallel waits for some history). */
static uint64_t timeout_ns(const run_state *st) {
  const run_opts *o = st->o;
  if (o->timeout_s > 0) return (uint64_t)(o->timeout_s * NS_PER_S);
  if (o->timeout_pct > 0 && run_median_count(&st->med) >= 3) {
    double t = run_median_get(&st->med) * o->timeout_pct / 100.0;
    return (uint64_t)(t * NS_PER_S) + 1;
  }
  return WEFT_FOREVER;
}

static void wait_delay(run_state *st) {
  if (st->o->delay_s <= 0) return;
  uint64_t now = weft_now_ns(), at = st->next_start_ns > now ? st->next_start_ns : now;
  st->next_start_ns = at + (uint64_t)(st->o->delay_s * NS_PER_S);
  if (at > now) weft_aio_sleep(at - now);
}

/* After the job ended or was killed: the rest of its output, bounded in
 * time in case something outside its group holds the pipes. */
static void finish_output(run_slot *s, weft_aio_stream *out, bool reading_done) {
  weft_aio_scope sc;
  weft_aio_shield_scope(&sc);
  weft_aio_scope guard;
  weft_aio_scope_enter(&guard, 2000 * WEFT_MS);
  if (out && !reading_done) drain(s, out, &s->out, 1);
  if (s->err_stream && !s->pump) {
    drain(s, s->err_stream, &s->err, 2);
    s->err_stream = NULL;
  } else if (s->err_stream || weft_aio_event_is_set(s->go)) {
    weft_aio_event_wait(s->done);
  }
  weft_aio_scope_exit(&guard);
  weft_aio_scope_exit(&sc);
}

static int spawn_error(run_slot *s, char **argv, run_result *r) {
  /* What a shell would say and do for a program it cannot run. */
  char msg[512];
  int n = snprintf(msg, sizeof msg, "weft run: %s: %s\n", argv[0], weft_aio_last_error());
  if (n > 0) run_buf_add(&s->err, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
  r->exitval = 127;
  return 0;
}

/* Grouped output is captured in two memfds rather than pipes: the child
 * writes straight into them and we read them once it has ended, so a job
 * costs no socketpairs, no epoll registrations and no reads while it runs
 * (about a third of our own CPU time per job for short jobs). The child
 * inherits them as its fds 1 and 2: ours point at them for the instant of
 * the spawn (everything runs in this one thread, and our own output goes
 * through the saved descriptors). Line modes need live pipes. */
static bool use_memfd(const run_state *st) {
  return st->save_out >= 0 && captures(st->o) && !line_mode(st->o);
}

static void close_memfds(run_slot *s) {
  for (int i = 0; i < 2; i++)
    if (s->mfd[i] >= 0) close(s->mfd[i]), s->mfd[i] = -1;
}

/* false when the kernel gives no memfds: the job's output goes through pipes */
static bool open_memfds(run_slot *s) {
  s->mfd[0] = memfd_create("weft-run-stdout", MFD_CLOEXEC);
  s->mfd[1] = memfd_create("weft-run-stderr", MFD_CLOEXEC);
  if (s->mfd[0] >= 0 && s->mfd[1] >= 0) return true;
  close_memfds(s);
  return false;
}

static int spawn_memfd(run_slot *s, char **argv, weft_aio_process_options *po) {
  run_state *st = s->st;
  dup2(s->mfd[0], 1);
  dup2(s->mfd[1], 2);
  int rc = weft_aio_process_spawn((const char *const *)argv, po, &s->proc);
  dup2(st->save_out, 1);
  dup2(st->save_err, 2);
  return rc;
}

/* Reads a memfd's contents into b. */
static int slurp(int fd, run_buf *b, uint64_t *size) {
  off_t n = lseek(fd, 0, SEEK_END);
  if (n < 0) return WEFT_EIO;
  *size = (uint64_t)n;
  if (n == 0) return 0;
  if (b->cap < (size_t)n + 1) {
    char *np = realloc(b->p, (size_t)n + 1);
    if (!np) return WEFT_ENOMEM;
    b->p = np;
    b->cap = (size_t)n + 1;
  }
  for (size_t got = 0; got < (size_t)n;) {
    ssize_t k = pread(fd, b->p + got, (size_t)n - got, (off_t)got);
    if (k <= 0) return WEFT_EIO;
    got += (size_t)k;
  }
  b->len = (size_t)n;
  b->p[b->len] = '\0';
  return 0;
}

static int spawn_job(run_slot *s, char **argv, bool *memfd) {
  const run_opts *o = s->st->o;
  weft_aio_process_options po = {.new_group = true, .env = (const char *const *)s->env};
  snprintf(s->seq_var, sizeof s->seq_var, "PARALLEL_SEQ=%llu", (unsigned long long)s->job->seq);
  *memfd = use_memfd(s->st) && open_memfds(s);
  if (*memfd) return spawn_memfd(s, argv, &po);
  if (captures(o)) po.pipes = WEFT_AIO_PIPE_STDOUT | WEFT_AIO_PIPE_STDERR;
  return weft_aio_process_spawn((const char *const *)argv, &po, &s->proc);
}

/* Waits for the end of the job (and of its output through pipes) within
 * the timeout; kills it on timeout or cancellation. */
static int wait_job(run_slot *s, weft_aio_stream *out, int *status, int *sig) {
  run_state *st = s->st;
  weft_aio_scope sc;
  weft_aio_scope_enter(&sc, timeout_ns(st));
  bool read_done = false;
  int rc = out ? drain(s, out, &s->out, 1) : 0;
  if (!rc) read_done = true, rc = weft_aio_process_wait(s->proc, status, sig);
  weft_aio_scope_exit(&sc);
  if (rc == WEFT_ETIMEDOUT || rc == WEFT_ECANCELED) {
    weft_aio_scope shield;
    weft_aio_shield_scope(&shield);
    run_kill_job(s);
    weft_aio_process_wait(s->proc, status, sig);
    weft_aio_scope_exit(&shield);
    if (rc == WEFT_ETIMEDOUT) {
      fprintf(stderr, "weft run: Warning: This job was killed because it timed out:\n");
      s->line.len = 0;
      if (!run_tmpl_shell_line(st->t, s->job, &s->line))
        fprintf(stderr, "weft run: Warning: %s\n", s->line.p);
      *status = -1; /* as GNU parallel's joblog shows a timeout */
    }
  }
  if (out || s->err_stream) finish_output(s, out, read_done);
  return rc;
}

/* One try. r gets the joblog's view of it. */
static int try_once(run_slot *s, run_result *r) {
  run_state *st = s->st;
  char **argv;
  s->out.len = s->err.len = 0;
  s->received = 0;
  memset(r, 0, sizeof *r);
  int rc = run_tmpl_argv(st->t, s->job, &s->store, &s->vec, &argv);
  if (rc) return rc;
  r->start = epoch_now();
  uint64_t t0 = weft_now_ns();
  bool memfd;
  rc = spawn_job(s, argv, &memfd);
  if (rc) close_memfds(s);
  if (rc == WEFT_ENOENT) return spawn_error(s, argv, r);
  if (rc) return rc;
  st->running++;
  weft_aio_stream *out = weft_aio_process_stdout(s->proc);
  s->err_stream = weft_aio_process_stderr(s->proc);
  /* The stderr pump is made on first need: grouped output (memfds) has
   * none, which spares a coroutine stack per slot (each mapping makes
   * every fork dearer). */
  if (s->err_stream && !s->pump &&
      weft_aio_spawn_named("run-pump", run_pump, s, &s->pump) != 0)
    s->pump = NULL; /* without it stderr is read after stdout; fine unless huge */
  if (s->err_stream && s->pump) {
    weft_aio_event_clear(s->done);
    weft_aio_event_set(s->go);
  }
  int status = 0, sig = 0;
  rc = wait_job(s, out, &status, &sig);
  r->runtime = (double)(weft_now_ns() - t0) / NS_PER_S;
  r->exitval = status;
  r->signal = sig;
  int src = 0;
  if (memfd) {
    uint64_t ignored;
    src = slurp(s->mfd[0], &s->out, &s->received);
    if (!src) src = slurp(s->mfd[1], &s->err, &ignored);
    close_memfds(s);
  }
  r->received = s->received;
  weft_aio_process_destroy(s->proc);
  s->proc = NULL;
  st->running--;
  if (rc == WEFT_ECANCELED) return rc;
  return src;
}

static void make_tag(run_slot *s) {
  s->tag.len = 0;
  if (!s->st->o->tag) return;
  for (unsigned i = 0; i < s->job->nargs; i++) {
    if (i) run_buf_addc(&s->tag, ' ');
    run_buf_add(&s->tag, s->job->args[i], strlen(s->job->args[i]));
  }
  if (!s->tag.p) run_buf_add(&s->tag, "", 0);
}

/* --dry-run: the command line is the job's output. */
static int dry_run(run_slot *s) {
  s->out.len = s->err.len = 0;
  int rc = run_tmpl_shell_line(s->st->t, s->job, &s->out);
  if (!rc) rc = run_buf_addc(&s->out, '\n');
  run_buf notag = {0};
  if (!rc) rc = run_out_job(s->st, s->job->seq, &notag, &s->out, &s->err);
  return rc;
}

/* -v: the command line goes first in the job's stdout (GNU parallel). */
static void verbose_line(run_slot *s) {
  run_buf line = {0};
  if (run_tmpl_shell_line(s->st->t, s->job, &line) || run_buf_addc(&line, '\n')) {
    run_buf_free(&line);
    return;
  }
  if (!captures(s->st->o) || line_mode(s->st->o)) {
    run_write_all(1, line.p, line.len);
  } else if (!run_buf_add(&line, s->out.p ? s->out.p : "", s->out.len)) {
    run_buf t = s->out; /* line becomes the output; the old buffer is freed */
    s->out = line;
    line = t;
  }
  run_buf_free(&line);
}

static int run_one(run_slot *s) {
  run_state *st = s->st;
  const run_opts *o = st->o;
  if (o->dry_run) return dry_run(s);
  make_tag(s);
  if (o->verbose && (!captures(o) || line_mode(o))) verbose_line(s); /* before it runs */
  run_result r;
  int rc = 0;
  for (unsigned attempt = 1;; attempt++) {
    rc = try_once(s, &r);
    if (rc && rc != WEFT_ECANCELED) return rc;
    bool ok = r.exitval == 0 && r.signal == 0;
    if (ok || rc || attempt >= o->retries || st->killing) break;
  }
  if (line_mode(o)) {
    run_out_lines(st, 1, &s->tag, &s->out, true);
    run_out_lines(st, 2, &s->tag, &s->err, true);
  }
  if (o->verbose && captures(o) && !line_mode(o)) verbose_line(s);
  int frc = run_job_finished(st, s, &r);
  if (!frc && !line_mode(o) && captures(o) && !o->results)
    frc = run_out_job(st, s->job->seq, &s->tag, &s->out, &s->err);
  else if (!frc && o->keep_order)
    frc = run_out_skip(st, s->job->seq);
  return rc ? rc : frc;
}

int run_worker(void *arg) {
  run_slot *s = arg;
  run_state *st = s->st;
  while (!st->stopping) {
    void *item;
    int rc = weft_aio_queue_get(st->q, &item);
    if (rc) break; /* closed: no more inputs; cancelled */
    s->job = item;
    s->job->slot = s->index;
    wait_delay(st);
    if (st->stopping) {
      free(s->job);
      s->job = NULL;
      break;
    }
    rc = run_one(s);
    free(s->job);
    s->job = NULL;
    if (rc == WEFT_ECANCELED) break;
    if (rc) { /* reported by run_execute, which exits non-zero */
      st->stopping = true;
      return rc;
    }
  }
  return 0;
}
