/* tests/testutil.h — shared helpers for the cmocka test programs.
 *
 * WEFT_TEST_SCALE (set by tests/CMakeLists.txt: 0.3 under ThreadSanitizer,
 * else 1) scales stress sizes so that the three runs of `make test` stay
 * short; scaled() never returns less than `min`. */
#ifndef WEFT_TESTUTIL_H
#define WEFT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>

static inline double test_scale(void) {
  const char *s = getenv("WEFT_TEST_SCALE");
  double v = s ? atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}

/* n scaled by WEFT_TEST_SCALE, at least min. */
static inline size_t scaled(size_t n, size_t min) {
  size_t v = (size_t)((double)n * test_scale());
  return v < min ? min : v;
}

/* Asserts that a weft call returned `expect`, printing both codes' names. */
#define assert_weft(expr, expect)                                               \
  do {                                                                          \
    int rc_ = (expr);                                                           \
    int ex_ = (expect);                                                         \
    if (rc_ != ex_) {                                                           \
      print_error("%s returned %d (%s), expected %d (%s)\n", #expr, rc_,        \
                  weft_err_name(rc_), ex_, weft_err_name(ex_));                 \
      fail();                                                                   \
    }                                                                           \
  } while (0)

#define assert_ok(expr) assert_weft((expr), 0)

/* How many file descriptors this process has open: compare at the start
 * and the end of a test to catch leaks. */
static inline int open_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own fd */
}

/* Reads fd to EOF (or until buf is full) and closes it; buf is
 * NUL-terminated. For a forked child's stderr. */
static inline size_t read_to_end(int fd, char *buf, size_t cap) {
  size_t len = 0;
  for (ssize_t n; len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0;)
    len += (size_t)n;
  buf[len] = 0;
  close(fd);
  return len;
}

#endif /* WEFT_TESTUTIL_H */
