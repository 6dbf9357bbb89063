/* src/pool/map.c — Pool.map and map_async over the range engine.
 *
 * A map of n items in chunks of `chunksize` is a fixed-grain range over chunk
 * indices (grain 1: every chunk is its own piece, as every chunk is a task in
 * Python's Pool). Results are written in place, so they are in item order
 * whatever order chunks run in.
 *
 * failed_index is the first item to fail *in time* (not necessarily the
 * lowest failing index): its failure claims the map, stops the other chunks
 * and provides the code and message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "pool/algo_range.h"
#include "pool/map_internal.h"

int weft__map_check(const weft_map *m) {
  if (!m || !m->fn || m->in_size == 0 || (m->out && m->out_size == 0)) return WEFT_EINVAL;
  if (m->n && !m->in) return WEFT_EINVAL;
  if (m->n > SIZE_MAX / m->in_size) return WEFT_EINVAL;
  if (m->out && m->n > SIZE_MAX / m->out_size) return WEFT_EINVAL;
  return 0;
}

size_t weft__map_chunksize(const weft_map *m, unsigned workers) {
  if (m->chunksize) return m->chunksize;
  /* Python's rule: divmod(n, workers * 4), rounded up. */
  size_t d = (size_t)(workers ? workers : 1) * 4;
  size_t cs = m->n / d + (m->n % d != 0);
  return cs ? cs : 1;
}

/* Resets the outcome fields and checks m; 0 when there is work to do. */
static int map_begin(weft_map *m) {
  if (!m) return WEFT_EINVAL;
  m->failed_index = SIZE_MAX;
  m->message[0] = '\0';
  return weft__map_check(m);
}

int weft__map_prepare(weft_pool *p, weft_map *m, weft__range_job *job) {
  int rc = map_begin(m);
  if (rc) return rc;
  memset(job, 0, sizeof *job);
  job->kind = WEFT__RANGE_MAP;
  job->map = m;
  rc = weft__range_pool(p, &job->pool);
  if (rc) return rc;
  size_t cs = weft__map_chunksize(m, weft_pool_size(job->pool));
  job->chunksize = cs;
  job->end = m->n / cs + (m->n % cs != 0);
  weft__range_plan(job, 1);
  return 0;
}

void weft__map_outcome(weft_map *m, const weft__range_job *job, int rc) {
  if (!rc) return;
  m->failed_index = job->failed_index;
  snprintf(m->message, sizeof m->message, "%s", job->message);
}

static int send_chunk(weft__range_job *job, size_t b, size_t e) {
  weft__chunk_msg msg = {b, e};
  return weft_chan_send(job->stream, &msg);
}

int weft__map_chunks(weft__range_job *job, size_t cb, size_t ce, size_t *fail_at) {
  const weft_map *m = job->map;
  const char *in = m->in;
  char *out = m->out;
  size_t cs = job->chunksize;
  for (size_t c = cb; c < ce; c++) {
    size_t b = c * cs;
    size_t e = cs < m->n - b ? b + cs : m->n;
    for (size_t i = b; i < e; i++) {
      if (weft_load_relaxed(&job->stop)) return 0;
      int rc = m->fn(in + i * m->in_size, out ? out + i * m->out_size : NULL, m->ctx);
      if (rc) {
        *fail_at = i;
        return rc;
      }
    }
    if (job->stream) {
      int rc = send_chunk(job, b, e);
      if (rc) return rc; /* the chunk is lost: fail the map (no item to blame) */
    }
  }
  return 0;
}

int weft_map_run(weft_pool *p, weft_map *m) {
  weft__range_job job;
  int rc = weft__map_prepare(p, m, &job);
  if (rc || m->n == 0) return rc;
  rc = weft__range_exec(&job);
  weft__map_outcome(m, &job, rc);
  return rc;
}

/* ---- map_async: a driver task runs the map and finishes the future ---- */

/* The driver waits in weft__range_exec: a waiting worker runs other tasks
 * (usually the map's own chunks), so no worker is blocked needlessly. */
static int async_main(void *arg) {
  weft__range_job *job = arg;
  int rc = weft__range_exec(job);
  weft__map_outcome(job->map, job, rc);
  if (rc && job->message[0]) return weft_task_fail(rc, "%s", job->message);
  return rc;
}

/* The job is freed when the future finishes, also if it is cancelled before
 * the driver ever runs. */
static void async_free(weft_future *f, void *arg) {
  (void)f;
  free(arg);
}

int weft_map_async(weft_pool *p, weft_map *m, weft_future **out) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  weft__range_job *job = malloc(sizeof *job);
  if (!job) return WEFT_ENOMEM;
  int rc = weft__map_prepare(p, m, job);
  if (rc == 0) rc = weft_submit(job->pool, async_main, job, out);
  if (rc) {
    free(job);
    return rc;
  }
  if (weft_future_on_done(*out, async_free, job) != 0) {
    weft_future_wait(*out); /* no memory for a callback: free it the slow way */
    free(job);
  }
  return 0;
}
