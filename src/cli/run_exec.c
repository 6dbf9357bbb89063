/* src/cli/run_exec.c — the executor of `weft run` on weft's async engine.
 *
 * One loop (weft_aio_run) runs everything in one thread:
 *   - the reader task turns inputs into jobs and puts them in a bounded
 *     queue (2 × -j + 64): a million stdin lines start running while the
 *     rest is still being read, and memory stays bounded;
 *   - one worker task per job slot (-j of them) takes jobs from the queue
 *     and runs them one at a time (run_job.c), so -j is the bound on
 *     running jobs and {%} is the worker's number; beside each worker a
 *     pump task reads the job's stderr while the worker reads its stdout;
 *   - two signal tasks (SIGINT, SIGTERM): the first stops new jobs, the
 *     second kills the running ones (every job leads its own process group);
 *   - a progress task for --bar / --progress / --eta.
 * No threads, and no shell unless the command needs one.
 */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "weft/aio.h"
#include "cli/run.h"

/* ---- the reader ---- */

static int fill_stream(void *ctx, char *buf, size_t cap, size_t *n) {
  int rc = weft_aio_read(ctx, buf, cap, n);
  return rc == WEFT_EEOF ? 1 : rc;
}

/* Queues one job (or skips it for --resume). */
static int offer(run_state *st, run_job *j) {
  if (st->o->colsep && !(j = run_job_colsep(j, st->o->colsep))) return WEFT_ENOMEM;
  if (run_log_skip(st, j->seq)) {
    st->skipped++;
    int rc = run_out_skip(st, j->seq);
    free(j);
    return rc;
  }
  int rc = weft_aio_queue_put(st->q, j);
  if (rc) free(j);
  return rc;
}

/* An input fd: files and /dev/null are read with read(2), pipes and
 * terminals as aio streams (so that waiting for input lets jobs run). The
 * stream takes the fd over. */
typedef struct input {
  int fd;
  weft_aio_stream *stream;
} input;

static int fill_input(void *ctx, char *buf, size_t cap, size_t *n) {
  input *in = ctx;
  return in->stream ? fill_stream(in->stream, buf, cap, n) : run_fill_fd(&in->fd, buf, cap, n);
}

static int input_open(run_state *st, input *in) {
  in->stream = NULL;
  in->fd = st->in_fd;
  struct stat sb;
  if (fstat(in->fd, &sb) == 0 && (S_ISREG(sb.st_mode) || (S_ISCHR(sb.st_mode) && !isatty(in->fd))))
    return 0;
  int rc = weft_aio_stream_open_fd(in->fd, &in->stream);
  if (!rc) st->in_fd = -1; /* the stream closes it */
  return rc;
}

static void input_close(input *in) { weft_aio_close(in->stream); }

/* A single stdin/file source is streamed record by record. */
static int read_streaming(run_state *st) {
  int rc = 0;
  input in = {.fd = -1};
  run_source *src = &st->o->src[0];
  if (src->kind == RUN_SRC_FILE) {
    in.fd = open(src->path, O_RDONLY | O_CLOEXEC);
    if (in.fd < 0) {
      fprintf(stderr, "weft run: cannot open input file '%s': %s\n", src->path,
              strerror(errno));
      return WEFT_ENOENT;
    }
  } else if ((rc = input_open(st, &in))) {
    return rc;
  }
  run_reader r;
  run_reader_init(&r, st->o->sep, fill_input, &in);
  const char *rec;
  size_t len;
  while (!st->stopping && (rc = run_reader_next(&r, &rec, &len)) == 1) {
    const char *args[1] = {rec};
    run_job *j = run_job_new(++st->read, args, &len, 1);
    if (!j) rc = WEFT_ENOMEM;
    else rc = offer(st, j);
    if (rc) break;
  }
  run_reader_free(&r);
  input_close(&in);
  if (src->kind == RUN_SRC_FILE) close(in.fd);
  return rc < 0 ? rc : 0;
}

static int read_loaded(run_state *st) {
  run_gen g;
  int rc = run_gen_init(&g, st->o);
  if (rc) return rc;
  st->total = g.total;
  run_job *j;
  while (!st->stopping && (rc = run_gen_next(&g, &j)) == 1) {
    st->read++;
    if ((rc = offer(st, j))) break;
  }
  run_gen_free(&g);
  return rc < 0 ? rc : 0;
}

static bool streaming(const run_opts *o) {
  return o->nsrc == 1 && o->src[0].kind != RUN_SRC_ARGS && !o->shuf;
}

static int reader_task(void *arg) {
  run_state *st = arg;
  int rc = streaming(st->o) ? read_streaming(st) : read_loaded(st);
  weft_aio_queue_close(st->q);
  if (rc && rc != WEFT_ECANCELED && rc != WEFT_ECLOSED) {
    st->input_failed = true;
    if (rc != WEFT_ENOENT) /* that one was named already */
      fprintf(stderr, "weft run: reading inputs: %s\n", weft_strerror(rc));
  }
  return rc == WEFT_ECANCELED || rc == WEFT_ECLOSED ? 0 : rc;
}

/* ---- stopping: signals and --halt ---- */

/* No new jobs: the queue is closed, so that a worker waiting for the next
 * job (while the reader waits for more input) stops at once. */
static void stop_new_jobs(run_state *st) {
  st->stopping = true;
  weft_aio_queue_close(st->q);
}

static void kill_all(run_state *st) {
  stop_new_jobs(st);
  st->killing = true;
  for (unsigned i = 0; i < st->nslots; i++)
    if (st->slots[i].proc && st->slots[i].task) weft_aio_cancel(st->slots[i].task);
}

typedef struct sigarg {
  run_state *st;
  int signum;
} sigarg;

static int signal_task(void *arg) {
  run_state *st = ((sigarg *)arg)->st;
  int signum = ((sigarg *)arg)->signum;
  const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
  for (;;) {
    int rc = weft_aio_signal_wait(signum);
    if (rc) return rc == WEFT_ECANCELED ? 0 : rc;
    st->interrupted = true;
    if (!st->stopping) {
      stop_new_jobs(st);
      fprintf(stderr,
              "weft run: %s received: starting no new jobs; waiting for %llu running "
              "job%s (send it again to kill them)\n",
              name, (unsigned long long)st->running, st->running == 1 ? "" : "s");
    } else if (!st->killing) {
      fprintf(stderr, "weft run: %s received again: killing %llu running job%s\n", name,
              (unsigned long long)st->running, st->running == 1 ? "" : "s");
      kill_all(st);
    }
  }
}

/* --halt: after every job. */
static void check_halt(run_state *st, const run_result *r, const char *line) {
  const run_opts *o = st->o;
  if (o->halt_when == RUN_HALT_NEVER || st->halted) return;
  bool failed = r->exitval != 0 || r->signal != 0;
  uint64_t count = o->halt_what == RUN_HALT_FAIL      ? st->failed
                   : o->halt_what == RUN_HALT_SUCCESS ? st->succeeded
                                                      : st->done;
  bool counts = o->halt_what == RUN_HALT_DONE || (o->halt_what == RUN_HALT_FAIL) == failed;
  if (!counts) return;
  uint64_t base = st->total ? st->total - st->skipped : st->read - st->skipped;
  bool hit = o->halt_pct ? count * 100.0 >= o->halt_value * (double)base
                         : (double)count >= o->halt_value;
  if (!hit) return;
  st->halted = true;
  stop_new_jobs(st);
  /* GNU parallel's exit status after a halt: success → 0; N% → the
   * percentage of jobs that failed (rounded up); a count of 1 → the exit
   * status of that job (128 + signal if killed); a larger count → the
   * number of failed jobs, where none failed gives 101 (so it does). */
  int code = r->exitval > 0 ? r->exitval : r->signal ? 128 + r->signal : failed ? 1 : 0;
  if (o->halt_what == RUN_HALT_SUCCESS) st->halt_status = 0;
  else if (o->halt_pct) st->halt_status = (int)ceil((double)st->failed * 100.0 / (double)(base ? base : 1));
  else if (o->halt_value <= 1) st->halt_status = code;
  else st->halt_status = st->failed == 0 || st->failed > RUN_EXIT_MAXFAIL ? RUN_EXIT_MAXFAIL : (int)st->failed;
  const char *what = o->halt_what == RUN_HALT_FAIL      ? "failed"
                     : o->halt_what == RUN_HALT_SUCCESS ? "succeeded"
                                                        : "finished";
  fprintf(stderr, "weft run: This job %s:\n%s\n", what, line);
  if (o->halt_when == RUN_HALT_NOW) kill_all(st);
  else if (st->running > 0)
    fprintf(stderr, "weft run: Starting no more jobs. Waiting for %llu jobs to finish.\n",
            (unsigned long long)st->running);
}

/* Called by a worker once per job (after its last try). */
int run_job_finished(run_state *st, run_slot *s, const run_result *r) {
  bool failed = r->exitval != 0 || r->signal != 0;
  st->done++;
  if (failed) st->failed++;
  else st->succeeded++;
  if (!failed || r->exitval != -1) run_median_add(&st->med, r->runtime);
  bool need_line = st->joblog || st->o->halt_when != RUN_HALT_NEVER;
  s->line.len = 0;
  if (need_line && run_tmpl_shell_line(st->t, s->job, &s->line)) return WEFT_ENOMEM;
  int rc = 0;
  if (st->joblog) rc = run_log_job(st, s->job, r, s->line.p);
  if (st->o->results) rc = run_results_job(st, s->job, r, &s->out, &s->err);
  check_halt(st, r, s->line.p ? s->line.p : "");
  return rc;
}

/* ---- setup ---- */

static bool uses_stdin(const run_opts *o) {
  for (size_t i = 0; i < o->nsrc; i++)
    if (o->src[i].kind == RUN_SRC_STDIN) return true;
  return false;
}

/* The jobs' environment: ours, with GNU parallel's PARALLEL_SEQ (set per
 * job), PARALLEL_JOBSLOT ({%}) and PARALLEL_PID in place of any we had. */
extern char **environ;

static bool parallel_var(const char *e) {
  return !strncmp(e, "PARALLEL_SEQ=", 13) || !strncmp(e, "PARALLEL_JOBSLOT=", 17) ||
         !strncmp(e, "PARALLEL_PID=", 13);
}

static int slot_env(run_slot *s) {
  size_t n = 0;
  while (environ && environ[n]) n++;
  s->env = malloc((n + 4) * sizeof *s->env);
  if (!s->env) return WEFT_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!parallel_var(environ[i])) s->env[k++] = environ[i];
  snprintf(s->slot_var, sizeof s->slot_var, "PARALLEL_JOBSLOT=%u", s->index);
  snprintf(s->pid_var, sizeof s->pid_var, "PARALLEL_PID=%d", (int)getpid());
  snprintf(s->seq_var, sizeof s->seq_var, "PARALLEL_SEQ=0");
  s->env[k++] = s->seq_var;
  s->env[k++] = s->slot_var;
  s->env[k++] = s->pid_var;
  s->env[k] = NULL;
  return 0;
}

static int free_slots(run_state *st) {
  for (unsigned i = 0; i < st->nslots; i++) {
    run_slot *s = &st->slots[i];
    weft_aio_task_release(s->task);
    weft_aio_task_release(s->pump);
    weft_aio_event_destroy(s->go);
    weft_aio_event_destroy(s->done);
    free(s->env);
    run_buf *bufs[] = {&s->out, &s->err, &s->store, &s->vec, &s->line, &s->tag};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) run_buf_free(bufs[k]);
  }
  free(st->slots);
  st->slots = NULL;
  return 0;
}

static int start_slots(run_state *st) {
  st->slots = calloc(st->nslots, sizeof *st->slots);
  if (!st->slots) return WEFT_ENOMEM;
  for (unsigned i = 0; i < st->nslots; i++) {
    run_slot *s = &st->slots[i];
    s->st = st;
    s->index = i + 1;
    s->mfd[0] = s->mfd[1] = -1;
    int rc = slot_env(s);
    if (!rc) rc = weft_aio_event_create(&s->go);
    if (!rc) rc = weft_aio_event_create(&s->done);
    if (!rc) rc = weft_aio_spawn_named("run-worker", run_worker, s, &s->task);
    if (rc) return rc;
  }
  return 0;
}

static void stop_helpers(weft_aio_task **ts, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (ts[i]) {
      weft_aio_cancel(ts[i]);
      weft_aio_await(ts[i]);
      weft_aio_task_release(ts[i]);
    }
}

static int main_task(void *arg) {
  run_state *st = arg;
  const run_opts *o = st->o;
  /* Signals are watched from the start (they run before anything else). */
  weft_aio_task *reader = NULL, *sigs[2] = {NULL, NULL}, *progress = NULL;
  sigarg sa[2] = {{st, SIGINT}, {st, SIGTERM}};
  int rc = weft_aio_spawn_named("run-sigint", signal_task, &sa[0], &sigs[0]);
  if (!rc) rc = weft_aio_spawn_named("run-sigterm", signal_task, &sa[1], &sigs[1]);
  if (!rc) rc = weft_aio_queue_create(&st->q, 2 * (size_t)o->jobs + 64);
  if (rc) {
    stop_helpers(sigs, 2);
    return rc;
  }
  weft_aio_yield();
  if (!streaming(o)) { /* loaded now, so that the job count is known */
    input in = {.fd = -1};
    rc = uses_stdin(o) ? input_open(st, &in) : 0;
    if (!rc) rc = run_sources_load(st->o, fill_input, &in);
    input_close(&in);
    if (rc) {
      st->input_failed = true;
      weft_aio_queue_destroy(st->q);
      stop_helpers(sigs, 2);
      return rc;
    }
  }
  rc = weft_aio_spawn_named("run-reader", reader_task, st, &reader);
  st->nslots = o->jobs;
  if (!streaming(o)) {
    uint64_t n = 1;
    for (size_t i = 0; i < o->nsrc; i++) n *= o->src[i].n;
    if (n < st->nslots) st->nslots = n ? (unsigned)n : 1;
  }
  if (!rc) rc = start_slots(st);
  if (!rc && (o->bar || o->progress || o->eta))
    rc = weft_aio_spawn_named("run-progress", run_progress_task, st, &progress);
  for (unsigned i = 0; st->slots && i < st->nslots; i++) {
    int wrc = st->slots[i].task ? weft_aio_await(st->slots[i].task) : 0;
    if (wrc && !rc) rc = wrc; /* a job that could not be run: not a success */
  }
  st->stopping = true;
  weft_aio_task *helpers[] = {reader, sigs[0], sigs[1], progress};
  stop_helpers(helpers, 4);
  for (unsigned i = 0; st->slots && i < st->nslots; i++)
    if (st->slots[i].pump) {
      weft_aio_cancel(st->slots[i].pump);
      weft_aio_await(st->slots[i].pump);
    }
  for (void *item; weft_aio_queue_try_get(st->q, &item) == 0;) free(item);
  weft_aio_queue_destroy(st->q);
  if (st->slots) free_slots(st);
  return rc;
}

/* Jobs read /dev/null, as with GNU parallel; inputs from stdin are read
 * from a duplicate of it. Returns the saved stdin (restored at the end). */
static int stdin_setup(run_state *st) {
  int saved = dup(0);
  st->in_fd = uses_stdin(st->o) ? fcntl(0, F_DUPFD_CLOEXEC, 3) : -1;
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0) {
    dup2(null, 0);
    if (null != 0) close(null);
  }
  return saved;
}

static void stdin_restore(run_state *st, int saved) {
  if (st->in_fd >= 0) close(st->in_fd);
  st->in_fd = -1;
  if (saved >= 0) {
    dup2(saved, 0);
    close(saved);
  }
}

int run_execute(run_opts *o, run_tmpl *t) {
  run_state st = {.o = o, .t = t, .in_fd = -1, .order_base = 1};
  st.save_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
  st.save_err = st.save_out >= 0 ? fcntl(2, F_DUPFD_CLOEXEC, 3) : -1;
  if (st.save_err < 0 && st.save_out >= 0) close(st.save_out), st.save_out = -1;
  st.t0_ns = weft_now_ns();
  st.tty_err = isatty(2);
  if (o->keep_order) o->line_buffer = false; /* -k prints whole jobs in order */
  if (run_log_open(&st)) return 1;
  int saved = stdin_setup(&st);
  int rc = weft_aio_run(main_task, &st);
  stdin_restore(&st, saved);
  if (o->bar || o->progress || o->eta) run_progress_final(&st);
  run_out_free(&st);
  run_log_close(&st);
  run_median_free(&st.med);
  free(st.skip);
  if (st.save_out >= 0) close(st.save_out), close(st.save_err);
  if (st.input_failed) return RUN_EXIT_USAGE; /* as GNU parallel: 255 */
  if (rc) {
    fprintf(stderr, "weft run: %s\n", weft_strerror(rc));
    return st.failed ? (st.failed > RUN_EXIT_MAXFAIL ? RUN_EXIT_MAXFAIL : (int)st.failed) : 1;
  }
  if (st.halted) return st.halt_status;
  if (o->halt_when != RUN_HALT_NEVER && o->halt_pct) { /* GNU: the % of jobs that failed */
    uint64_t ran = st.done ? st.done : 1;
    return (int)ceil((double)st.failed * 100.0 / (double)ran);
  }
  if (st.interrupted) return RUN_EXIT_USAGE; /* 255, as GNU parallel after a signal */
  if (st.failed) return st.failed > RUN_EXIT_MAXFAIL ? RUN_EXIT_MAXFAIL : (int)st.failed;
  return 0;
}
