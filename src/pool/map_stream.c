/* src/pool/map_stream.c — imap_unordered: chunks are handed to the caller
 * as they finish.
 *
 * A driver task runs the map; every finished chunk is sent as a (begin, end)
 * pair into an unbounded channel (so a worker never blocks on a slow caller)
 * and the calling thread receives them and runs on_chunk. The driver closes
 * the channel when the map is over, which ends the caller's loop. */
#include "core/internal.h"
#include "pool/algo_range.h"
#include "pool/map_internal.h"

/* A caller outside the pool sleeps in the channel, waking now and then to
 * notice a driver that never ran (its future cancelled by a pool shutdown). */
#define OUTSIDE_POLL_NS 20000000ull
/* A caller that is a worker of the pool must keep running tasks (the driver
 * may sit in its own deque): it waits on the driver's future in slices. */
#define WORKER_SLICE_NS 200000ull

static int stream_main(void *arg) {
  weft__range_job *job = arg;
  int rc = weft__range_exec(job);
  weft_chan_close(job->stream);
  return rc;
}

/* 0 with a chunk in *c; WEFT_ECLOSED at the end; WEFT_EAGAIN for "none yet". */
static int next_chunk(weft__range_job *job, weft_future *f, bool in_worker,
                      weft__chunk_msg *c) {
  for (;;) {
    int r = in_worker ? weft_chan_try_recv(job->stream, c)
                      : weft_chan_recv_timed(job->stream, c, OUTSIDE_POLL_NS);
    if (r == 0 || r == WEFT_ECLOSED) return r;
    if (r != WEFT_EAGAIN && r != WEFT_ETIMEDOUT) return r;
    if (weft_future_is_finished(f)) {
      /* Finished: either the channel is closed (drain it) or the driver
       * never ran; in both cases try_recv says what is left. */
      r = weft_chan_try_recv(job->stream, c);
      return r == 0 ? 0 : WEFT_ECLOSED;
    }
    if (in_worker) weft_future_wait_timed(f, WORKER_SLICE_NS);
  }
}

/* Calls on_chunk for each chunk until the end or its first non-zero return,
 * which stops the map; the rest is drained unseen. Returns that value. */
static int deliver(weft__range_job *job, weft_future *f, weft_chunk_fn on_chunk, void *arg) {
  bool in_worker = weft_pool_current() == job->pool;
  int user = 0;
  weft__chunk_msg c;
  while (next_chunk(job, f, in_worker, &c) == 0) {
    if (user) continue;
    user = on_chunk(c.begin, c.end, arg);
    if (user) weft_store_release(&job->stop, 1);
  }
  return user;
}

int weft_map_stream(weft_pool *p, weft_map *m, weft_chunk_fn on_chunk, void *arg) {
  weft__range_job job;
  int rc = weft__map_prepare(p, m, &job);
  if (rc == 0 && !on_chunk) rc = WEFT_EINVAL;
  if (rc || m->n == 0) return rc;
  rc = weft_chan_create_unbounded(&job.stream, sizeof(weft__chunk_msg));
  if (rc) return rc;
  weft_future *f;
  rc = weft_submit(job.pool, stream_main, &job, &f);
  if (rc) {
    weft_chan_destroy(job.stream);
    return rc;
  }
  int user = deliver(&job, f, on_chunk, arg);
  int frc = weft_future_wait(f); /* after this no task touches job or the channel */
  weft_future_release(f);
  weft_chan_destroy(job.stream);
  if (user) return user;
  rc = weft_load_acquire(&job.error);
  if (!rc) rc = frc;
  weft__map_outcome(m, &job, rc);
  return rc;
}
