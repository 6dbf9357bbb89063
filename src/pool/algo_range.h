/* src/pool/algo_range.h — the range engine behind parallel_for,
 * parallel_reduce and the Pool.map family (algo*.c, map*.c). Internal.
 *
 * A range [begin, end) is run by "frames": a frame runs part of its range
 * itself and splits the upper halves off as children in a task group that
 * lives on its own stack, then waits for them and (for a reduction) joins
 * their accumulators into its own in index order. Children descriptors and
 * small accumulators sit in the frame, so fork-join allocates nothing of its
 * own beyond what the scheduler needs for a spawn.
 *
 * Errors: the first failing piece claims job->error (a CAS); only that task
 * returns the error code, every other piece just stops (returns 0) once it
 * sees job->stop. So exactly one failure travels up the task tree, and its
 * message (recorded with weft_task_fail) is the one the group reports. */
#ifndef WEFT_POOL_ALGO_RANGE_H
#define WEFT_POOL_ALGO_RANGE_H

#include "weft/pool.h"
#include "weft/chan.h"

enum weft__range_kind { WEFT__RANGE_FOR, WEFT__RANGE_REDUCE, WEFT__RANGE_MAP };

typedef struct weft__range_job {
  int kind;
  weft_pool *pool;
  size_t begin, end;      /* the whole range (chunk indices for a map) */
  size_t grain;           /* > 0: split down to <= grain; 0: adaptive */
  size_t first_chunk;     /* adaptive: split eagerly while a piece is larger */
  size_t step;            /* adaptive: indices run between two split checks */
  /* FOR / REDUCE */
  weft_range_fn fbody;
  weft_reduce_fn rbody;
  weft_join_fn join;
  void *ctx;
  const void *identity;
  size_t acc_size;
  void *root_acc;         /* REDUCE: the root frame's accumulator */
  /* MAP: chunk c covers items [c*chunksize, min(n, (c+1)*chunksize)) */
  weft_map *map;
  size_t chunksize;
  weft_chan *stream;      /* map_stream: finished chunks go here */
  /* outcome (atomics) */
  int error;              /* first failure, 0 if none */
  uint32_t stop;          /* set on failure or early stop: pieces return */
  uint32_t msg_claimed;
  size_t failed_index;    /* MAP: item of the first failure */
  char message[160];
} weft__range_job;

/* An item of a map_stream channel: a finished chunk [begin, end) of items;
 * begin == SIZE_MAX marks the end of the stream. */
typedef struct weft__chunk_msg {
  size_t begin, end;
} weft__chunk_msg;

/* Fills the scheduling fields of job (grain, first_chunk, step) for a range
 * of n indices on its pool. */
void weft__range_plan(weft__range_job *job, size_t grain);

/* Runs the whole job on job->pool from any thread: spawns the root frame in
 * a group and waits (a worker runs other tasks meanwhile). Returns 0 or the
 * first failure; job->message holds its message. */
int weft__range_exec(weft__range_job *job);

/* MAP pieces: runs the items of chunks [cb, ce) (map.c). On failure stores
 * the failing item in *fail_at and returns its code. */
int weft__map_chunks(weft__range_job *job, size_t cb, size_t ce, size_t *fail_at);

/* Claims the job's failure slot for code; true for the first claimant. */
bool weft__range_claim(weft__range_job *job, int code);

/* Copies msg as the job's message if none was taken yet. */
void weft__range_take_message(weft__range_job *job, const char *msg);

/* Resolves p and checks it accepts work: 0 and *out, or an error. */
int weft__range_pool(weft_pool *p, weft_pool **out);

#endif /* WEFT_POOL_ALGO_RANGE_H */
