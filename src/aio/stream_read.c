/* src/aio/stream_read.c — the receive side of streams: read, read_exactly,
 * read_line (see stream_internal.h for the buffering and backpressure).
 *
 * A read suspends only when nothing usable is buffered; a cancellation or
 * deadline reaches a read only then (as asyncio's, whose reads complete
 * without yielding when data is buffered). An interrupted read consumes
 * nothing: data arriving later stays buffered for the next read, and
 * read_exactly puts back the part it had already received.
 */
#include <stdlib.h>
#include <string.h>
#include "aio/stream_internal.h"

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* Gives libuv the waiting reader's own buffer when ours is empty (no copy),
 * else the free tail of ours, compacted or grown as needed. */
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  weft_aio_stream *s = h->data;
  if (s->rdst && s->rlen == 0) {
    s->rdst_lent = true;
    *buf = uv_buf_init(s->rdst, s->rdst_cap > 1u << 30 ? 1u << 30 : (unsigned)s->rdst_cap);
    return;
  }
  s->rdst_lent = false;
  if (s->rlen == 0) s->roff = 0;
  size_t tail = s->rcap - s->roff - s->rlen;
  if (tail < s->rcap / 2 && s->roff > 0) { /* compact: unread data to the front */
    memmove(s->rbuf, s->rbuf + s->roff, s->rlen);
    s->roff = 0;
    tail = s->rcap - s->rlen;
  }
  if (tail < s->rcap / 2 || s->rcap == 0) { /* grow: a full buffer reads faster in bulk */
    size_t ncap = s->rcap ? s->rcap * 2 : WEFT__RBUF_MIN;
    char *nb = realloc(s->rbuf, ncap);
    if (!nb) {
      *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
      return;
    }
    s->rbuf = nb;
    s->rcap = ncap;
    tail = ncap - s->roff - s->rlen;
  }
  *buf = uv_buf_init(s->rbuf + s->roff + s->rlen, tail > 1u << 30 ? 1u << 30 : (unsigned)tail);
}

static void wake_reader(weft_aio_stream *s, int code) {
  weft__aio_wait *w = s->reader;
  if (!w) return;
  s->reader = NULL;
  s->rdst = NULL;
  weft__stream_unhold(s);
  weft__aio_wake(w, code);
}

/* Reads ahead while a read was asked for, nothing ended the stream, and
 * either a task waits or less than the limit is buffered. */
void weft__stream_read_update(weft_aio_stream *s) {
  bool want = s->rwant && !s->eof && !s->rerr && !s->closing &&
              (s->reader || s->rlen < WEFT__RBUF_LIMIT);
  if (want == s->reading) return;
  if (!want) {
    uv_read_stop(&s->u.s);
    s->reading = false;
    return;
  }
  int rc = uv_read_start(&s->u.s, alloc_cb, read_cb);
  if (rc) {
    s->rerr = weft__aio_uv_error(rc, "read");
    wake_reader(s, 0);
    return;
  }
  s->reading = true;
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  weft_aio_stream *s = st->data;
  bool direct = s->rdst_lent && buf->base == s->rdst;
  s->rdst_lent = false;
  if (nread > 0) {
    if (direct) s->rdst_got = (size_t)nread;
    else s->rlen += (size_t)nread;
    wake_reader(s, 0);
    if (!direct && s->rlen >= WEFT__RBUF_LIMIT) weft__stream_read_update(s);
    return;
  }
  if (nread == 0) return; /* EAGAIN */
  if (nread == UV_EOF) s->eof = true;
  else if (nread == UV_ENOBUFS) s->rerr = WEFT_ENOMEM;
  else s->rerr = weft__aio_uv_error((int)nread, "read");
  wake_reader(s, 0);
  weft__stream_read_update(s); /* stops reading */
}

void weft__stream_read_close(weft_aio_stream *s) { wake_reader(s, WEFT_ECLOSED); }

static void read_abort(weft__aio_wait *w, int why) {
  weft_aio_stream *s = w->data;
  s->reader = NULL;
  s->rdst = NULL;
  weft__stream_unhold(s);
  weft__stream_read_update(s);
  weft__aio_wake(w, why);
}

/* Waits for news: data (into dst when given and nothing else is buffered,
 * then s->rdst_got says how much), end or error. 0 or the interruption. */
static int wait_data(weft_aio_stream *s, char *dst, size_t cap) {
  weft__aio_wait w;
  weft__aio_wait_init(&w, read_abort);
  w.op = "read";
  w.data = s;
  s->reader = &w;
  s->rdst = dst;
  s->rdst_cap = cap;
  s->rdst_got = 0;
  s->rwant = true;
  s->rbusy = true;
  weft__stream_hold(s);
  weft__stream_read_update(s);
  weft__stream_enter(s);
  int rc = weft__aio_suspend(&w);
  if (weft__stream_leave(s) || s->closing) return WEFT_ECLOSED;
  if (rc == WEFT_EPERM && !w.woken) { /* not a task: nothing was waited for */
    s->reader = NULL;
    s->rdst = NULL;
    weft__stream_unhold(s);
  }
  s->rbusy = false;
  return rc;
}

/* Moves k buffered bytes to dst, resuming read-ahead below the limit. */
static void take(weft_aio_stream *s, void *dst, size_t k) {
  memcpy(dst, s->rbuf + s->roff, k);
  s->roff += k;
  s->rlen -= k;
  if (s->rlen == 0) s->roff = 0;
  if (!s->reading && s->rwant) weft__stream_read_update(s);
}

static int check_reader(weft_aio_stream *s) {
  if (s->closing) return WEFT_ECLOSED;
  if (s->rbusy) return WEFT_EBUSY;
  return 0;
}

int weft_aio_read(weft_aio_stream *s, void *buf, size_t cap, size_t *n) {
  if (n) *n = 0;
  if (!s || !buf || !cap || !n) return WEFT_EINVAL;
  int rc = check_reader(s);
  while (!rc) {
    if (s->rlen) {
      size_t k = s->rlen < cap ? s->rlen : cap;
      take(s, buf, k);
      *n = k;
      return 0;
    }
    if (s->rerr) return s->rerr;
    if (s->eof) return WEFT_EEOF;
    rc = wait_data(s, buf, cap);
    if (!rc && s->rdst_got) {
      *n = s->rdst_got;
      s->rdst_got = 0;
      return 0;
    }
  }
  return rc;
}

/* Puts k bytes back in front of the buffered data (an interrupted
 * read_exactly leaves the stream as it found it). */
static int unread(weft_aio_stream *s, const char *src, size_t k) {
  if (s->roff >= k) {
    s->roff -= k;
  } else {
    size_t ncap = s->rlen + k > s->rcap ? s->rlen + k : s->rcap;
    char *nb = malloc(ncap);
    if (!nb) return WEFT_ENOMEM;
    if (s->rlen) memcpy(nb + k, s->rbuf + s->roff, s->rlen);
    free(s->rbuf);
    s->rbuf = nb;
    s->rcap = ncap;
    s->roff = 0;
  }
  memcpy(s->rbuf + s->roff, src, k);
  s->rlen += k;
  weft__stream_read_update(s);
  return 0;
}

int weft_aio_read_exactly(weft_aio_stream *s, void *buf, size_t n, size_t *got) {
  if (got) *got = 0;
  if (!s || (!buf && n)) return WEFT_EINVAL;
  int rc = check_reader(s);
  char *dst = buf;
  size_t have = 0;
  while (!rc && have < n) {
    if (s->rlen) {
      size_t k = s->rlen < n - have ? s->rlen : n - have;
      take(s, dst + have, k);
      have += k;
    } else if (s->rerr) {
      rc = s->rerr;
    } else if (s->eof) {
      rc = WEFT_EEOF;
    } else {
      rc = wait_data(s, dst + have, n - have);
      if (!rc) {
        have += s->rdst_got;
        s->rdst_got = 0;
      }
    }
  }
  if ((rc == WEFT_ECANCELED || rc == WEFT_ETIMEDOUT) && have && !unread(s, dst, have))
    have = 0;
  if (got) *got = have;
  return rc;
}

int weft_aio_read_line(weft_aio_stream *s, char *buf, size_t cap, size_t *n) {
  if (n) *n = 0;
  if (!s || !buf || cap < 2) return WEFT_EINVAL;
  int rc = check_reader(s);
  size_t scanned = 0; /* bytes already searched for '\n' */
  while (!rc) {
    size_t lim = s->rlen < cap - 1 ? s->rlen : cap - 1;
    const char *start = s->rbuf + s->roff;
    const char *nl = lim > scanned ? memchr(start + scanned, '\n', lim - scanned) : NULL;
    size_t len = 0;
    if (nl) len = (size_t)(nl - start) + 1;
    else if (s->rlen >= cap) return WEFT_ERANGE; /* longer than cap - 1: stays buffered */
    else if (s->rerr) return s->rerr;
    else if (s->eof && !s->rlen) return WEFT_EEOF;
    else if (s->eof) len = s->rlen; /* the last line, without '\n' */
    if (len) {
      take(s, buf, len);
      buf[len] = '\0';
      if (n) *n = len;
      return 0;
    }
    scanned = lim;
    rc = wait_data(s, NULL, 0);
  }
  return rc;
}
