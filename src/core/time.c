/* src/core/time.c — the monotonic clock and deadlines. */
#include <time.h>
#include "weft/core.h"

uint64_t weft_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t weft_deadline_after(uint64_t timeout_ns) {
  if (timeout_ns == WEFT_FOREVER) return WEFT_FOREVER;
  uint64_t now = weft_now_ns();
  return timeout_ns >= WEFT_FOREVER - now ? WEFT_FOREVER - 1 : now + timeout_ns;
}
