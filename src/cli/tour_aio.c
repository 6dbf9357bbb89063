/* src/cli/tour_aio.c — tour steps for asyncio's concepts (aio.h): run and
 * gather, wait_for and cancellation, TaskGroup, Queue with join, streams,
 * a subprocess, to_thread, and the server on every core. Each step runs its
 * own loop (weft_aio_run) in the tour's thread and checks what came out. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/tour.h"
#include "weft/aio.h"

/* Runs fn(ctx) as the main task of a fresh loop and times it. */
static int run_timed(weft_aio_fn fn, void *ctx, tour_out *out) {
  uint64_t t0 = weft_now_ns();
  int rc = weft_aio_run(fn, ctx);
  out->ns = weft_now_ns() - t0;
  return rc;
}

static int fail(tour_out *out, const char *what, int rc) {
  tour_result(out, "%s: %s", what, weft_strerror(rc));
  return rc ? rc : 1;
}

/* ---- asyncio.run + create_task + gather ---- */

enum { GATHER_TASKS = 2000 };

typedef struct sq_job { long n, r; } sq_job;

static int sq_task(void *arg) {
  sq_job *j = arg;
  int rc = weft_aio_yield(); /* a real await: every task is suspended once */
  j->r = j->n * j->n;
  return rc;
}

static int gather_main(void *arg) {
  sq_job *jobs = arg;
  weft_aio_task **ts = calloc(GATHER_TASKS, sizeof *ts);
  if (!ts) return WEFT_ENOMEM;
  int rc = 0, n = 0;
  for (; n < GATHER_TASKS && !rc; n++) {
    jobs[n].n = n;
    rc = weft_aio_spawn(sq_task, &jobs[n], &ts[n]);
  }
  if (rc) n--;
  int grc = weft_aio_gather(ts, (size_t)n, 0);
  for (int i = 0; i < n; i++) weft_aio_task_release(ts[i]);
  free(ts);
  return rc ? rc : grc;
}

int tour_aio_gather(tour_out *out) {
  sq_job *jobs = calloc(GATHER_TASKS, sizeof *jobs);
  if (!jobs) return fail(out, "calloc", WEFT_ENOMEM);
  int rc = run_timed(gather_main, jobs, out);
  long sum = 0, want = (long)(GATHER_TASKS - 1) * GATHER_TASKS * (2 * GATHER_TASKS - 1) / 6;
  for (int i = 0; i < GATHER_TASKS; i++) sum += jobs[i].r;
  free(jobs);
  if (rc) return fail(out, "weft_aio_gather", rc);
  tour_result(out, "%dk tasks, sum of squares %s", GATHER_TASKS / 1000,
              sum == want ? "checked" : "WRONG");
  tour_note(out, "%.2f µs per task: all suspended at once, each on a stack of its own",
            (double)out->ns / 1e3 / GATHER_TASKS);
  return sum != want;
}

/* ---- wait_for, cancel scopes ---- */

typedef struct slow { bool cleaned; } slow;

static int slow_task(void *arg) {
  slow *s = arg;
  int rc = weft_aio_sleep(10000 * WEFT_MS); /* 10 s, unless cancelled */
  s->cleaned = true;                        /* cleanup runs either way */
  return rc;
}

typedef struct timeouts { int await_rc, scope_rc, scope_exit; slow s; } timeouts;

static int timeouts_main(void *arg) {
  timeouts *t = arg;
  weft_aio_task *task;
  int rc = weft_aio_spawn(slow_task, &t->s, &task);
  if (rc) return rc;
  t->await_rc = weft_aio_await_timed(task, 20 * WEFT_MS); /* asyncio.wait_for(t, 0.02) */
  weft_aio_task_release(task);
  weft_aio_scope scope;                                    /* asyncio.timeout(0.01) */
  weft_aio_scope_enter(&scope, 10 * WEFT_MS);
  t->scope_rc = weft_aio_sleep(10000 * WEFT_MS);
  t->scope_exit = weft_aio_scope_exit(&scope);
  return 0;
}

int tour_aio_timeouts(tour_out *out) {
  timeouts t = {0};
  int rc = run_timed(timeouts_main, &t, out);
  if (rc) return fail(out, "weft_aio_await_timed", rc);
  bool ok = t.await_rc == WEFT_ETIMEDOUT && t.s.cleaned && t.scope_rc == WEFT_ETIMEDOUT &&
            t.scope_exit == WEFT_ETIMEDOUT;
  tour_result(out, "10 s sleeps cut at 20 + 10 ms: %s", ok ? "checked" : "WRONG");
  tour_note(out, "the timed-out task was cancelled and its cleanup ran before await returned");
  return !ok;
}

/* ---- TaskGroup: the first failure cancels the siblings ---- */

enum { GROUP_MEMBERS = 5 };

static int member(void *arg) {
  int i = *(int *)arg;
  if (i == 2) {
    int rc = weft_aio_sleep(5 * WEFT_MS);
    return rc ? rc : WEFT_EINVAL; /* the one that fails */
  }
  return weft_aio_sleep(10000 * WEFT_MS);
}

typedef struct group_run { int wait_rc, cancelled; char msg[96]; } group_run;

static int group_main(void *arg) {
  group_run *g = arg;
  int ids[GROUP_MEMBERS];
  weft_aio_task *ts[GROUP_MEMBERS] = {0};
  weft_aio_group grp;
  int rc = weft_aio_group_init(&grp);
  if (rc) return rc;
  for (int i = 0; i < GROUP_MEMBERS && !rc; i++) {
    ids[i] = i;
    rc = weft_aio_group_spawn(&grp, member, &ids[i], &ts[i]);
  }
  g->wait_rc = weft_aio_group_wait(&grp);
  const char *msg = weft_aio_group_message(&grp);
  snprintf(g->msg, sizeof g->msg, "%s", msg ? msg : "");
  for (int i = 0; i < GROUP_MEMBERS; i++) {
    if (ts[i] && weft_aio_task_code(ts[i]) == WEFT_ECANCELED) g->cancelled++;
    weft_aio_task_release(ts[i]);
  }
  weft_aio_group_end(&grp);
  return rc;
}

int tour_aio_group(tour_out *out) {
  group_run g = {0};
  int rc = run_timed(group_main, &g, out);
  if (rc) return fail(out, "weft_aio_group", rc);
  bool ok = g.wait_rc == WEFT_EINVAL && g.cancelled == GROUP_MEMBERS - 1 && g.msg[0];
  tour_result(out, "1 failed, %d others cancelled: %s", g.cancelled, ok ? "checked" : "WRONG");
  tour_note(out, "group_wait returned the failure's code, %s", weft_err_name(g.wait_rc));
  return !ok;
}

/* ---- asyncio.Queue: producer, consumers, join / task_done ---- */

enum { Q_ITEMS = 10000, Q_CONSUMERS = 3 };

typedef struct qrun { weft_aio_queue *q; long sum; } qrun;

static int q_consumer(void *arg) {
  qrun *r = arg;
  void *item;
  int rc;
  while ((rc = weft_aio_queue_get(r->q, &item)) == 0) {
    r->sum += (long)(intptr_t)item;
    weft_aio_queue_task_done(r->q);
  }
  return rc == WEFT_ECLOSED ? 0 : rc;
}

static int queue_main(void *arg) {
  qrun *r = arg;
  int rc = weft_aio_queue_create(&r->q, 16);
  if (rc) return rc;
  weft_aio_task *c[Q_CONSUMERS] = {0};
  for (int i = 0; i < Q_CONSUMERS && !rc; i++) rc = weft_aio_spawn(q_consumer, r, &c[i]);
  for (intptr_t n = 1; n <= Q_ITEMS && !rc; n++) rc = weft_aio_queue_put(r->q, (void *)n);
  if (!rc) rc = weft_aio_queue_join(r->q); /* every item got its task_done */
  weft_aio_queue_close(r->q);              /* the consumers drain and end */
  for (int i = 0; i < Q_CONSUMERS; i++) {
    if (!c[i]) continue;
    int crc = weft_aio_await(c[i]);
    if (!rc) rc = crc;
    weft_aio_task_release(c[i]);
  }
  weft_aio_queue_destroy(r->q);
  return rc;
}

int tour_aio_queue(tour_out *out) {
  qrun r = {0};
  int rc = run_timed(queue_main, &r, out);
  if (rc) return fail(out, "weft_aio_queue", rc);
  long want = (long)Q_ITEMS * (Q_ITEMS + 1) / 2;
  tour_result(out, "%dk items, 1 -> %d, joined: %s", Q_ITEMS / 1000, Q_CONSUMERS,
              r.sum == want ? "checked" : "WRONG");
  return r.sum != want;
}

/* ---- streams: an echo server and 100 clients on one loop ---- */

enum { ECHO_CLIENTS = 100, ECHO_LINES = 10 };

typedef struct echo_run { int port, ok_lines; } echo_run;

static int echo_conn(void *arg) {
  weft_aio_stream *s = arg;
  char buf[1024];
  size_t n;
  int rc;
  while ((rc = weft_aio_read(s, buf, sizeof buf, &n)) == 0 && !(rc = weft_aio_write(s, buf, n)))
    ;
  if (rc == WEFT_EEOF) rc = weft_aio_drain(s);
  weft_aio_close(s);
  return rc;
}

static int echo_server(void *arg) {
  weft_aio_server *l = arg;
  weft_aio_stream *s;
  int rc;
  while ((rc = weft_aio_accept(l, &s)) == 0)
    if ((rc = weft_aio_spawn(echo_conn, s, NULL))) weft_aio_close(s);
  return rc == WEFT_ECLOSED ? 0 : rc;
}

static int echo_client(void *arg) {
  echo_run *r = arg;
  weft_aio_stream *s = NULL;
  int rc = weft_aio_tcp_connect("127.0.0.1", r->port, &s);
  for (int i = 0; i < ECHO_LINES && !rc; i++) {
    char line[32], back[32];
    size_t n;
    int len = snprintf(line, sizeof line, "line %d\n", i);
    rc = weft_aio_write(s, line, (size_t)len);
    if (!rc) rc = weft_aio_read_line(s, back, sizeof back, &n);
    if (!rc && strcmp(back, line) == 0) r->ok_lines++;
  }
  if (s) weft_aio_close(s);
  return rc;
}

static int gather_clients(weft_aio_fn fn, void *arg, int n) {
  weft_aio_task *ts[ECHO_CLIENTS * 2];
  int rc = 0, k = 0;
  if (n > ECHO_CLIENTS * 2) n = ECHO_CLIENTS * 2;
  for (; k < n && !rc; k++) rc = weft_aio_spawn(fn, arg, &ts[k]);
  if (rc) k--;
  int grc = weft_aio_gather(ts, (size_t)k, WEFT_AIO_COLLECT);
  for (int i = 0; i < k; i++) {
    if (!rc) rc = weft_aio_task_code(ts[i]);
    weft_aio_task_release(ts[i]);
  }
  return rc ? rc : grc;
}

static int echo_main(void *arg) {
  echo_run *r = arg;
  weft_aio_server *l;
  int rc = weft_aio_tcp_listen("127.0.0.1", 0, 256, 0, &l);
  if (rc) return rc;
  r->port = weft_aio_server_port(l);
  weft_aio_task *st;
  rc = weft_aio_spawn(echo_server, l, &st);
  if (!rc) rc = gather_clients(echo_client, r, ECHO_CLIENTS);
  weft_aio_server_close(l);
  if (st) {
    int src = weft_aio_await(st);
    if (!rc) rc = src;
    weft_aio_task_release(st);
  }
  return rc;
}

int tour_aio_streams(tour_out *out) {
  echo_run r = {0};
  int rc = run_timed(echo_main, &r, out);
  if (rc) return fail(out, "weft_aio streams", rc);
  bool ok = r.ok_lines == ECHO_CLIENTS * ECHO_LINES;
  tour_result(out, "%d clients x %d lines echoed: %s", ECHO_CLIENTS, ECHO_LINES,
              ok ? "checked" : "WRONG");
  tour_note(out, "server, connections and clients: %d tasks on one thread", 2 * ECHO_CLIENTS + 2);
  return !ok;
}

/* ---- create_subprocess_exec: numbers through `sort -n` ---- */

enum { SORT_NUMBERS = 200 };

typedef struct sort_run { int in_order, exit_status; } sort_run;

static int sort_feed(void *arg) {
  weft_aio_stream *in = arg;
  char line[16];
  int rc = 0;
  for (int i = SORT_NUMBERS; i > 0 && !rc; i--) {
    int len = snprintf(line, sizeof line, "%d\n", i * 7 % (SORT_NUMBERS + 1));
    rc = weft_aio_write(in, line, (size_t)len);
  }
  if (!rc) rc = weft_aio_drain(in);
  return rc ? rc : weft_aio_shutdown(in);
}

static int sort_main(void *arg) {
  sort_run *r = arg;
  const char *argv[] = {"sort", "-n", NULL};
  weft_aio_process *p;
  int rc = weft_aio_process_spawn(
      argv, &(weft_aio_process_options){.pipes = WEFT_AIO_PIPE_STDIN | WEFT_AIO_PIPE_STDOUT}, &p);
  if (rc) return rc;
  weft_aio_task *feeder;
  rc = weft_aio_spawn(sort_feed, weft_aio_process_stdin(p), &feeder);
  char line[32];
  size_t n;
  long prev = -1;
  while (!rc && (rc = weft_aio_read_line(weft_aio_process_stdout(p), line, sizeof line, &n)) == 0) {
    long v = strtol(line, NULL, 10);
    if (v >= prev) r->in_order++;
    prev = v;
  }
  if (rc == WEFT_EEOF) rc = 0;
  if (feeder) {
    int frc = weft_aio_await(feeder);
    if (!rc) rc = frc;
    weft_aio_task_release(feeder);
  }
  int sig = 0;
  if (!rc) rc = weft_aio_process_wait(p, &r->exit_status, &sig);
  weft_aio_process_destroy(p);
  return rc;
}

int tour_aio_subprocess(tour_out *out) {
  sort_run r = {0, -1};
  int rc = run_timed(sort_main, &r, out);
  if (rc) return fail(out, "weft_aio_process", rc);
  bool ok = r.in_order == SORT_NUMBERS && r.exit_status == 0;
  tour_result(out, "%d numbers through sort -n: %s", SORT_NUMBERS, ok ? "checked" : "WRONG");
  tour_note(out, "stdin written and stdout read by two tasks at once: no pipe deadlock");
  return !ok;
}

/* ---- to_thread: CPU work on the pool while the loop stays free ---- */

enum { THREAD_TERMS = 3000000 };

typedef struct thread_run { double sum; int ticks; bool done; } thread_run;

static int harmonic(void *arg) {
  thread_run *r = arg;
  double s = 0;
  for (int k = 1; k <= THREAD_TERMS; k++) s += 1.0 / k;
  r->sum = s;
  return 0;
}

static int ticker(void *arg) {
  thread_run *r = arg;
  while (!r->done && weft_aio_sleep(1 * WEFT_MS) == 0) r->ticks++;
  return 0;
}

static int thread_main(void *arg) {
  thread_run *r = arg;
  weft_aio_task *t;
  int rc = weft_aio_spawn(ticker, r, &t);
  if (rc) return rc;
  rc = weft_aio_to_thread(harmonic, r); /* await asyncio.to_thread(harmonic) */
  r->done = true;
  weft_aio_cancel(t);
  weft_aio_await(t);
  weft_aio_task_release(t);
  return rc;
}

int tour_aio_to_thread(tour_out *out) {
  thread_run r = {0};
  int rc = run_timed(thread_main, &r, out);
  if (rc) return fail(out, "weft_aio_to_thread", rc);
  double want = log(THREAD_TERMS) + 0.5772156649 + 0.5 / THREAD_TERMS;
  bool ok = fabs(r.sum - want) < 1e-6;
  tour_result(out, "H(%dM) on the pool: %s", THREAD_TERMS / 1000000, ok ? "checked" : "WRONG");
  tour_note(out, "meanwhile the loop ran a 1 ms ticker %d times", r.ticks);
  return !ok;
}

/* ---- a server on every core ---- */

enum { SERVE_LOOPS = 2, SERVE_CLIENTS = 200 };

static int serve_echo(weft_aio_stream *s, void *arg) {
  (void)arg;
  char buf[256];
  size_t n;
  int rc;
  while ((rc = weft_aio_read(s, buf, sizeof buf, &n)) == 0 && !(rc = weft_aio_write(s, buf, n)))
    ;
  return rc == WEFT_EEOF ? weft_aio_drain(s) : rc;
}

static int serve_clients(void *arg) { return gather_clients(echo_client, arg, SERVE_CLIENTS); }

int tour_aio_serve(tour_out *out) {
  echo_run r = {0};
  weft_aio_serve *srv;
  uint64_t t0 = weft_now_ns();
  weft_aio_serve_options o = {.host = "127.0.0.1", .loops = SERVE_LOOPS, .bound_port = &r.port};
  int rc = weft_aio_serve_start(&o, serve_echo, NULL, &srv);
  if (rc) return fail(out, "weft_aio_serve_start", rc);
  rc = weft_aio_run(serve_clients, &r); /* the clients: this thread's own loop */
  int src = weft_aio_serve_stop(srv);
  out->ns = weft_now_ns() - t0;
  if (rc || src) return fail(out, "weft_aio_serve", rc ? rc : src);
  bool ok = r.ok_lines == SERVE_CLIENTS * ECHO_LINES;
  tour_result(out, "%d loops, %d clients echoed: %s", SERVE_LOOPS, SERVE_CLIENTS,
              ok ? "checked" : "WRONG");
  tour_note(out, "one loop per thread, SO_REUSEPORT: the kernel spreads the connections");
  return !ok;
}
