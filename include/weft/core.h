/* weft/core.h — error codes, monotonic time, version.
 *
 * Every weft function that can fail returns 0 or a negative WEFT_E* code.
 * Codes that mirror errno use the negated errno value (like libuv), so
 * `weft_strerror(-errno)` works for system failures too. */
#ifndef WEFT_CORE_H
#define WEFT_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "weft/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The one error table: X(name, value, message). Adding an error is one line;
 * weft_strerror and weft_err_name are generated from it. */
#define WEFT_ERRNO_MAP(X)                                                      \
  X(EPERM,      -1,    "operation not permitted")                              \
  X(ENOENT,     -2,    "no such file or directory")                            \
  X(EINTR,      -4,    "interrupted")                                          \
  X(EIO,        -5,    "input/output error")                                   \
  X(EAGAIN,     -11,   "resource temporarily unavailable, try again")          \
  X(ENOMEM,     -12,   "out of memory")                                        \
  X(EBUSY,      -16,   "resource busy")                                        \
  X(EINVAL,     -22,   "invalid argument")                                     \
  X(EPIPE,      -32,   "broken pipe: the peer closed its end")                 \
  X(ERANGE,     -34,   "value out of range")                                   \
  X(EDEADLK,    -35,   "operation would deadlock")                             \
  X(ENOSYS,     -38,   "function not supported on this system")                \
  X(EADDRINUSE, -98,   "address already in use")                               \
  X(ECONNRESET, -104,  "connection reset by peer")                             \
  X(ETIMEDOUT,  -110,  "timed out")                                            \
  X(ECONNREFUSED, -111, "connection refused")                                  \
  X(EALREADY,   -114,  "operation already done")                              \
  X(ECANCELED,  -125,  "canceled")                                             \
  X(ECLOSED,    -4001, "channel closed")                                       \
  X(ESHUTDOWN,  -4002, "executor is shut down")                               \
  X(EBROKEN,    -4003, "barrier broken by a timed-out or reset waiter")        \
  X(EFORKED,    -4004, "object belongs to the parent process of a fork")       \
  X(ECRASHED,   -4005, "worker crashed")                                       \
  X(ETASK,      -4006, "task failed")                                          \
  X(EEXHAUSTED, -4007, "no more items")                                        \
  X(ESYSTEM,    -4008, "unexpected system error")                             \
  X(EEOF,       -4009, "end of stream")                                        \
  X(EOWNERDEAD, -130,  "previous owner died; protected state may be inconsistent")

enum weft_errno {
#define WEFT__ERR_ENUM(name, value, msg) WEFT_##name = (value),
  WEFT_ERRNO_MAP(WEFT__ERR_ENUM)
#undef WEFT__ERR_ENUM
};

/* Human-readable message for a WEFT_E* code (or a negated errno value).
 * Returns a static string; never NULL. Thread-safe. */
const char *weft_strerror(int err);

/* The symbolic name of a code, e.g. "WEFT_ETIMEDOUT"; "WEFT_UNKNOWN" for a
 * code not in the table, "OK" for 0. Static string; thread-safe. */
const char *weft_err_name(int err);

/* "Wait forever": pass as timeout_ns to any timed call. */
#define WEFT_FOREVER UINT64_MAX

/* Nanoseconds on the monotonic clock (CLOCK_MONOTONIC). Thread-safe. */
uint64_t weft_now_ns(void);

/* Converts a relative timeout into an absolute monotonic deadline,
 * saturating: WEFT_FOREVER stays WEFT_FOREVER. */
uint64_t weft_deadline_after(uint64_t timeout_ns);

/* "0.1.0": the version of the library actually linked. */
const char *weft_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CORE_H */
