/* src/pool/stalls_kernel.h — what the kernel says a thread of this process
 * is doing, for the stall watchdog's reports (stalls_kernel.c). */
#ifndef WEFT_POOL_STALLS_KERNEL_H
#define WEFT_POOL_STALLS_KERNEL_H

#include <stddef.h>

/* Writes "running", "sleeping in clock_nanosleep", "blocked in futex wait
 * on 0x... (a weft_mutex, cond, semaphore or event)"... for thread tid of
 * this process into out, or "" when /proc cannot tell. Linux only. */
void weft__stall_kernel_state(int tid, char *out, size_t n);

#endif /* WEFT_POOL_STALLS_KERNEL_H */
