/* src/pool/algo_range.c — the range engine: recursive binary splitting
 * through task groups, with lazy (demand-driven) splitting for grain 0.
 * See algo_range.h for the model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pool/algo_range.h"
#include "pool/sched.h"

/* A frame keeps at most this many children. A frame that wants to split
 * again continues in a nested frame instead, so stack use grows only with the
 * splits actually made (worker stacks may be small, and a waiting worker runs
 * other frames on top of its own). Halving bounds the total anyway. */
#define KIDS 8
/* Accumulators of small reductions live in the frame; larger ones, malloc. */
#define ACC_INLINE 256
/* Adaptive partitioning: initial pieces per worker, and the serial step
 * between two "is anybody hungry?" checks (a fraction of a worker's share,
 * capped so that a hungry worker never waits long for a split). */
#define FIRST_PIECES_PER_WORKER 4
#define STEPS_PER_WORKER 64
#define STEP_MAX 8192

typedef struct kid {
  weft__range_job *job;
  size_t begin, end;
  void *acc;
  bool acc_heap;
} kid;

typedef struct frame {
  weft__range_job *job;
  int n;
  bool group_ready;
  weft_group g;
  kid kids[KIDS];
  _Alignas(16) unsigned char accbuf[ACC_INLINE];
} frame;

static int run_frame(weft__range_job *job, size_t b, size_t e, void *acc);

bool weft__range_claim(weft__range_job *job, int code) {
  int zero = 0;
  bool won = weft_cas(&job->error, &zero, code);
  weft_store_release(&job->stop, 1);
  return won;
}

void weft__range_take_message(weft__range_job *job, const char *msg) {
  uint32_t zero = 0;
  if (!weft_cas(&job->msg_claimed, &zero, 1)) return;
  snprintf(job->message, sizeof job->message, "%s", msg ? msg : "");
}

int weft__range_pool(weft_pool *p, weft_pool **out) {
  weft_pool *pool = weft__pool_resolve(p);
  if (!pool) return WEFT_ENOMEM;
  int rc = weft__pool_check(pool);
  if (rc) return rc;
  *out = pool;
  return 0;
}

void weft__range_plan(weft__range_job *job, size_t grain) {
  size_t n = job->end - job->begin;
  size_t workers = weft_pool_size(job->pool);
  if (workers == 0) workers = 1;
  job->grain = grain;
  size_t pieces = workers * FIRST_PIECES_PER_WORKER;
  job->first_chunk = n / pieces + (n % pieces != 0);
  size_t step = n / (workers * STEPS_PER_WORKER);
  job->step = step < 1 ? 1 : step > STEP_MAX ? STEP_MAX : step;
}

/* Polled between pieces: a failure elsewhere, an early stop, or the
 * cancellation of an enclosing task or group. */
static bool should_stop(weft__range_job *job) {
  if (weft_load_relaxed(&job->stop)) return true;
  if (weft_unlikely(weft_task_cancelled())) {
    weft__range_claim(job, WEFT_ECANCELED);
    return true;
  }
  return false;
}

/* Runs one piece. Only the first failure returns its code (see header). */
static int run_piece(weft__range_job *job, size_t b, size_t e, void *acc) {
  size_t at = SIZE_MAX;
  int rc;
  switch (job->kind) {
  case WEFT__RANGE_FOR: rc = job->fbody(b, e, job->ctx); break;
  case WEFT__RANGE_REDUCE: rc = job->rbody(b, e, acc, job->ctx); break;
  default: rc = weft__map_chunks(job, b, e, &at); break;
  }
  if (weft_likely(rc == 0)) return 0;
  if (rc > 0) rc = WEFT_ETASK; /* bodies return negative codes; be lenient */
  if (!weft__range_claim(job, rc)) return 0;
  job->failed_index = at;
  return rc;
}

/* Runs [b, e) here, in pieces of at most one grain (or one step). */
static int run_serial(weft__range_job *job, size_t b, size_t e, void *acc) {
  size_t step = job->grain ? job->grain : job->step;
  while (b < e) {
    if (should_stop(job)) return 0;
    size_t s = e - b < step ? e - b : step;
    int rc = run_piece(job, b, b + s, acc);
    if (rc) return rc;
    b += s;
  }
  return 0;
}

static int kid_main(void *arg) {
  kid *k = arg;
  if (weft_load_relaxed(&k->job->stop)) return 0;
  return run_frame(k->job, k->begin, k->end, k->acc);
}

/* A child's accumulator: a slot of the frame's buffer, else malloc. */
static bool kid_acc(frame *f, kid *k) {
  weft__range_job *job = f->job;
  size_t stride = (job->acc_size + 15) & ~(size_t)15;
  if (stride && stride <= ACC_INLINE / KIDS) {
    k->acc = f->accbuf + (size_t)f->n * stride;
  } else {
    k->acc = malloc(job->acc_size);
    if (!k->acc) return false;
    k->acc_heap = true;
  }
  memcpy(k->acc, job->identity, job->acc_size);
  return true;
}

/* Spawns [b, e) as the next child. False when it could not (no memory, pool
 * shutting down): the caller then runs the range itself. */
static bool spawn_kid(frame *f, size_t b, size_t e) {
  weft__range_job *job = f->job;
  kid *k = &f->kids[f->n];
  *k = (kid){.job = job, .begin = b, .end = e};
  if (job->kind == WEFT__RANGE_REDUCE && !kid_acc(f, k)) return false;
  if (!f->group_ready) {
    weft_group_init(&f->g, job->pool);
    f->group_ready = true;
  }
  if (weft_group_spawn(&f->g, kid_main, k) != 0) {
    if (k->acc_heap) free(k->acc);
    return false;
  }
  f->n++;
  return true;
}

/* Explicit grain: halve down to <= grain, spawning the upper halves. */
static int frame_fixed(frame *f, size_t b, size_t e, void *acc) {
  weft__range_job *job = f->job;
  while (e - b > job->grain) {
    if (should_stop(job)) return 0;
    if (f->n == KIDS) return run_frame(job, b, e, acc);
    size_t mid = b + (e - b) / 2;
    if (!spawn_kid(f, mid, e)) break;
    e = mid;
  }
  return run_serial(job, b, e, acc);
}

/* Grain 0: split eagerly down to first_chunk, then run a step at a time and
 * split off the upper half of what is left only when a worker is hungry
 * (lazy binary splitting, like TBB's auto_partitioner). */
static int frame_adaptive(frame *f, size_t b, size_t e, void *acc) {
  weft__range_job *job = f->job;
  while (b < e) {
    if (should_stop(job)) return 0;
    size_t size = e - b;
    if (size >= 2 && (size > job->first_chunk || weft__pool_wants_work(job->pool))) {
      if (f->n == KIDS) return run_frame(job, b, e, acc);
      if (spawn_kid(f, b + size / 2, e)) {
        e = b + size / 2;
        continue;
      }
      return run_serial(job, b, e, acc);
    }
    size_t s = size < job->step ? size : job->step;
    int rc = run_piece(job, b, b + s, acc);
    if (rc) return rc;
    b += s;
  }
  return 0;
}

/* Waits for the children (always: their descriptors live in this frame),
 * then joins their accumulators after ours, in index order: the last child
 * spawned holds the range right after ours, the first one the topmost. */
static int frame_finish(frame *f, int rc, void *acc) {
  weft__range_job *job = f->job;
  if (!f->group_ready) return rc;
  if (rc) weft_group_cancel(&f->g);
  int wrc = weft_group_wait(&f->g);
  if (wrc && wrc == weft_load_acquire(&job->error))
    weft__range_take_message(job, weft_group_message(&f->g));
  weft_group_destroy(&f->g);
  if (rc == 0 && wrc != 0 && (wrc == weft_load_acquire(&job->error) || weft__range_claim(job, wrc)))
    rc = wrc;
  bool join = rc == 0 && job->kind == WEFT__RANGE_REDUCE && !weft_load_acquire(&job->stop);
  for (int i = f->n - 1; i >= 0; i--) {
    if (join) job->join(acc, f->kids[i].acc, job->ctx);
    if (f->kids[i].acc_heap) free(f->kids[i].acc);
  }
  return rc;
}

static int run_frame(weft__range_job *job, size_t b, size_t e, void *acc) {
  frame f;
  f.job = job;
  f.n = 0;
  f.group_ready = false;
  int rc = job->grain ? frame_fixed(&f, b, e, acc) : frame_adaptive(&f, b, e, acc);
  return frame_finish(&f, rc, acc);
}

static int root_main(void *arg) {
  weft__range_job *job = arg;
  return run_frame(job, job->begin, job->end, job->root_acc);
}

int weft__range_exec(weft__range_job *job) {
  job->failed_index = SIZE_MAX;
  weft_group top;
  weft_group_init(&top, job->pool);
  int rc = weft_group_spawn(&top, root_main, job);
  int wrc = weft_group_wait(&top);
  if (wrc && wrc == weft_load_acquire(&job->error))
    weft__range_take_message(job, weft_group_message(&top));
  weft_group_destroy(&top);
  int err = weft_load_acquire(&job->error);
  if (err) return err;
  return rc ? rc : wrc;
}
