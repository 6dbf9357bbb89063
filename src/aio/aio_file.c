/* src/aio/aio_file.c — whole-file read and write through libuv's thread
 * pool: open, fstat, read or write in a loop, close — each step a uv_fs_*
 * request that the task awaits.
 *
 * Cancellation: the request lives on the task's stack, so the task may not
 * leave before libuv is done with it. abort asks uv_cancel to drop the
 * request if it is still queued (its callback then reports UV_ECANCELED);
 * if a worker thread already runs it, we wait for its real result. Either
 * way the callback wakes the task. A descriptor opened before the
 * cancellation showed is closed synchronously (close(2) is quick), so a
 * cancelled read_file or write_file leaks nothing.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "aio/aio_internal.h"

typedef struct fsop {
  weft__aio_wait w;
  uv_fs_t req;
  int why; /* the interruption, once abort ran */
} fsop;

static void fs_done(uv_fs_t *req) {
  fsop *op = req->data;
  weft__aio_wake(&op->w, 0);
}

static void fs_abort(weft__aio_wait *w, int why) {
  fsop *op = (fsop *)w;
  op->why = why;
  uv_cancel((uv_req_t *)&op->req); /* fails if running: the result comes */
}

static void fs_init(fsop *op) {
  weft__aio_wait_init(&op->w, fs_abort);
  op->w.op = "file";
  op->why = 0;
  op->req.data = op;
}

/* Awaits a request started with result `start` (< 0: it failed to start
 * and no callback will come). Returns req.result (>= 0) or a WEFT_E* code. */
static ssize_t fs_finish(fsop *op, int start, const char *what, const char *path) {
  ssize_t res = start;
  if (start == 0) {
    weft__aio_suspend(&op->w); /* always woken by fs_done */
    res = op->req.result;
    uv_fs_req_cleanup(&op->req);
  }
  if (res == UV_ECANCELED && op->why) return op->why;
  if (res < 0) {
    char buf[300];
    snprintf(buf, sizeof buf, "%s %.250s", what, path);
    return weft__aio_uv_error((int)res, buf);
  }
  return res;
}

static uv_loop_t *uv(void) { return weft__aio_uv(weft__aio_loop()); }

static ssize_t fs_open(const char *path, int flags, int mode) {
  fsop op;
  fs_init(&op);
  return fs_finish(&op, uv_fs_open(uv(), &op.req, path, flags, mode, fs_done), "open", path);
}

static ssize_t fs_size(uv_file fd, const char *path) {
  fsop op;
  fs_init(&op);
  ssize_t r = fs_finish(&op, uv_fs_fstat(uv(), &op.req, fd, fs_done), "fstat", path);
  return r < 0 ? r : (ssize_t)op.req.statbuf.st_size;
}

static ssize_t fs_rw(bool wr, uv_file fd, char *p, size_t n, const char *path) {
  uv_buf_t b = uv_buf_init(p, n > INT_MAX ? INT_MAX : (unsigned)n);
  fsop op;
  fs_init(&op);
  int start = wr ? uv_fs_write(uv(), &op.req, fd, &b, 1, -1, fs_done)
                 : uv_fs_read(uv(), &op.req, fd, &b, 1, -1, fs_done);
  return fs_finish(&op, start, wr ? "write" : "read", path);
}

/* Closes fd; awaited normally, synchronous once the task is interrupted
 * (an await would fail at once and leave fd open). */
static int fs_close(uv_file fd, const char *path) {
  if (weft__aio_check() == 0) {
    fsop op;
    fs_init(&op);
    ssize_t r = fs_finish(&op, uv_fs_close(uv(), &op.req, fd, fs_done), "close", path);
    if (r != WEFT_ECANCELED && r != WEFT_ETIMEDOUT) return (int)r;
    /* dropped before it ran: close below */
  }
  uv_fs_t req;
  int err = uv_fs_close(uv(), &req, fd, NULL);
  uv_fs_req_cleanup(&req);
  return err ? weft__aio_uv_error(err, "close") : 0;
}

/* Reads fd to its end into a growing buffer (the size from fstat is only a
 * hint: /proc files say 0, files may grow). */
static int read_all(uv_file fd, const char *path, char **data, size_t *size) {
  ssize_t hint = fs_size(fd, path);
  if (hint < 0) return (int)hint;
  /* Room for the NUL and one spare byte, so that the read that finds the
   * end of a file of exactly `hint` bytes needs no bigger buffer. */
  size_t cap = (size_t)hint + 2 < 4096 ? 4096 : (size_t)hint + 2, len = 0;
  char *buf = malloc(cap);
  if (!buf) return WEFT_ENOMEM;
  for (;;) {
    if (cap - len < 2) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) return free(buf), WEFT_ENOMEM;
      buf = nb;
      cap *= 2;
    }
    ssize_t n = fs_rw(false, fd, buf + len, cap - 1 - len, path);
    if (n < 0) return free(buf), (int)n;
    if (n == 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  *data = buf;
  *size = len;
  return 0;
}

int weft_aio_read_file(const char *path, void **data, size_t *size) {
  if (!path || !data || !size) return WEFT_EINVAL;
  *data = NULL;
  *size = 0;
  int rc = weft__aio_check();
  if (rc) return rc;
  ssize_t fd = fs_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return (int)fd;
  char *buf = NULL;
  size_t len = 0;
  rc = read_all((uv_file)fd, path, &buf, &len);
  int rc2 = fs_close((uv_file)fd, path);
  if (!rc && rc2) rc = rc2;
  if (rc) return free(buf), rc;
  *data = buf;
  *size = len;
  return 0;
}

int weft_aio_write_file(const char *path, const void *data, size_t size) {
  if (!path || (!data && size)) return WEFT_EINVAL;
  int rc = weft__aio_check();
  if (rc) return rc;
  ssize_t fd = fs_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return (int)fd;
  for (size_t off = 0; off < size && !rc;) {
    ssize_t n = fs_rw(true, (uv_file)fd, (char *)data + off, size - off, path);
    if (n < 0) rc = (int)n;
    else off += (size_t)n;
  }
  int rc2 = fs_close((uv_file)fd, path);
  return rc ? rc : rc2;
}
