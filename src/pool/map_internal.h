/* src/pool/map_internal.h — what map.c shares with map_stream.c and with
 * src/executor (the inline executor keeps the same argument rules). */
#ifndef WEFT_POOL_MAP_INTERNAL_H
#define WEFT_POOL_MAP_INTERNAL_H

#include "weft/pool.h"
#include "pool/algo_range.h"

/* WEFT_EINVAL for a map weft_map_run would refuse, else 0. */
int weft__map_check(const weft_map *m);
/* The chunk size a map of m->n items uses on `workers` workers. */
size_t weft__map_chunksize(const weft_map *m, unsigned workers);
/* Checks m, resets its outcome fields and fills job for it on pool p. */
int weft__map_prepare(weft_pool *p, weft_map *m, weft__range_job *job);
/* Copies a failure (index, message) from job into m. */
void weft__map_outcome(weft_map *m, const weft__range_job *job, int rc);

#endif /* WEFT_POOL_MAP_INTERNAL_H */
