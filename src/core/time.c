/* src/core/time.c — the monotonic clock and deadlines. */
#include <time.h>
#include "weft/core.h"
#include "core/internal.h"

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

void weft__deadline_timespec(uint64_t deadline_ns, bool realtime, struct timespec *ts) {
  if (realtime) {
    uint64_t now = weft_now_ns();
    uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t rt_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
    deadline_ns = left >= WEFT_FOREVER - rt_ns ? WEFT_FOREVER - 1 : rt_ns + left;
  }
  ts->tv_sec = (time_t)(deadline_ns / 1000000000u);
  ts->tv_nsec = (long)(deadline_ns % 1000000000u);
}
