/* src/sync/sync_internal.h — deadline-based waits shared by the files of
 * src/sync/ (the public calls take relative timeouts; composing primitives
 * need absolute deadlines so that retries do not stretch them). */
#ifndef WEFT_SYNC_INTERNAL_H
#define WEFT_SYNC_INTERNAL_H

#include "weft/sync.h"

/* 0 or WEFT_ETIMEDOUT once the absolute monotonic deadline has passed. */
int weft__mutex_lock_until(weft_mutex *m, uint64_t deadline_ns);
/* As weft_cond_wait_timed, with an absolute deadline; m is held on return. */
int weft__cond_wait_until(weft_cond *c, weft_mutex *m, uint64_t deadline_ns);

#endif /* WEFT_SYNC_INTERNAL_H */
