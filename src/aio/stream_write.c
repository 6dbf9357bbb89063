/* src/aio/stream_write.c — the send side of streams: write, drain, shutdown.
 *
 * Marks: weft_aio_write suspends when more than WEFT__WQ_HIGH (64 KB) is
 * queued and resumes once less than WEFT__WQ_LOW (16 KB) is: a slow peer
 * slows the writer, and a stream never holds more than 64 KB plus the last
 * write. A cancelled or timed-out write returns WEFT_ECANCELED /
 * WEFT_ETIMEDOUT, but its bytes were already copied into the queue and are
 * still sent (in order, before anything written later): write is "queue,
 * then wait for room", and only the waiting is interrupted.
 *
 * A write that fits in the socket buffer right now goes out with
 * uv_try_write, without a copy or a request. Otherwise the rest is
 * appended to the pending request, issued as soon as the one in flight
 * completes.
 */
#include <stdlib.h>
#include <string.h>
#include "aio/stream_internal.h"

typedef struct wwaiter {
  weft__aio_wait w; /* first: the list hands out &w */
  weft_aio_stream *s;
  size_t limit;     /* woken when queued <= limit */
} wwaiter;

static void wreq_free(weft__wreq *r) {
  if (!r) return;
  free(r->buf);
  free(r);
}

static weft__wreq *wreq_get(weft_aio_stream *s) {
  weft__wreq *r = s->spare;
  if (r) {
    s->spare = NULL;
    return r;
  }
  r = calloc(1, sizeof *r);
  if (r) r->s = s;
  return r;
}

/* Keeps one idle request (and its buffer, unless large) for the next write. */
static void wreq_put(weft_aio_stream *s, weft__wreq *r) {
  r->len = 0;
  if (s->spare) {
    wreq_free(r);
    return;
  }
  if (r->cap > WEFT__WBUF_KEEP) {
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
  }
  s->spare = r;
}

static void wake_writers(weft_aio_stream *s) {
  weft__aio_wait *next;
  for (weft__aio_wait *w = s->wwait.head; w; w = next) {
    next = w->next;
    wwaiter *ww = (wwaiter *)w;
    if (s->werr || s->queued <= ww->limit) {
      weft__wl_unlink(&s->wwait, w);
      weft__stream_unhold(s);
      weft__aio_wake(w, s->werr);
    }
  }
}

/* A send error ends the send side: what is pending will never go out. */
static void fail_writes(weft_aio_stream *s, int err) {
  if (!s->werr) s->werr = err;
  if (s->pend) {
    s->queued -= s->pend->len;
    wreq_put(s, s->pend);
    s->pend = NULL;
  }
  wake_writers(s);
}

static void write_cb(uv_write_t *req, int status);

static int issue(weft_aio_stream *s, weft__wreq *r) {
  uv_buf_t b = uv_buf_init(r->buf, (unsigned)r->len);
  r->req.data = r;
  int rc = uv_write(&r->req, &s->u.s, &b, 1, write_cb);
  if (rc) {
    s->queued -= r->len;
    wreq_put(s, r);
    fail_writes(s, weft__aio_uv_error(rc, "write"));
    return s->werr;
  }
  s->inflight++;
  return 0;
}

static void write_cb(uv_write_t *req, int status) {
  weft__wreq *r = req->data;
  weft_aio_stream *s = r->s;
  s->inflight--;
  s->queued -= r->len;
  if (s->closing) { /* cancelled by close; the stream frees the rest */
    wreq_free(r);
    return;
  }
  wreq_put(s, r);
  if (status < 0) {
    fail_writes(s, weft__aio_uv_error(status, "write"));
    return;
  }
  if (s->pend && s->inflight == 0) {
    weft__wreq *p = s->pend;
    s->pend = NULL;
    if (issue(s, p)) return;
  }
  wake_writers(s);
}

/* Copies data behind what is queued; issues it at once if nothing is in
 * flight. uv_write takes an unsigned length: one request carries < 1 GB. */
static int enqueue(weft_aio_stream *s, const char *data, size_t n) {
  while (n) {
    weft__wreq *p = s->pend ? s->pend : wreq_get(s);
    if (!p) return WEFT_ENOMEM;
    size_t room = (1u << 30) - p->len;
    size_t k = n < room ? n : room;
    if (p->len + k > p->cap) {
      size_t ncap = p->cap ? p->cap * 2 : 4096;
      while (ncap < p->len + k) ncap *= 2;
      char *nb = realloc(p->buf, ncap);
      if (!nb) {
        if (p != s->pend) wreq_put(s, p);
        return WEFT_ENOMEM;
      }
      p->buf = nb;
      p->cap = ncap;
    }
    memcpy(p->buf + p->len, data, k);
    p->len += k;
    s->queued += k;
    data += k;
    n -= k;
    s->pend = NULL;
    if (s->inflight == 0 || p->len == 1u << 30) {
      int rc = issue(s, p);
      if (rc) return rc;
    } else {
      s->pend = p;
    }
  }
  return 0;
}

static void wwait_abort(weft__aio_wait *w, int why) {
  wwaiter *ww = (wwaiter *)w;
  weft__wl_unlink(&ww->s->wwait, w);
  weft__stream_unhold(ww->s);
  weft__aio_wake(w, why);
}

/* Waits until at most `limit` bytes are queued. */
static int wait_queued(weft_aio_stream *s, size_t limit) {
  wwaiter ww;
  weft__aio_wait_init(&ww.w, wwait_abort);
  ww.w.op = "write";
  ww.s = s;
  ww.limit = limit;
  weft__wl_push(&s->wwait, &ww.w);
  weft__stream_hold(s);
  weft__stream_enter(s);
  int rc = weft__aio_suspend(&ww.w);
  if (weft__stream_leave(s) || s->closing) return WEFT_ECLOSED;
  if (rc == WEFT_EPERM && !ww.w.woken) {
    weft__wl_unlink(&s->wwait, &ww.w);
    weft__stream_unhold(s);
  }
  return rc;
}

int weft_aio_write(weft_aio_stream *s, const void *data, size_t n) {
  if (!s || (!data && n)) return WEFT_EINVAL;
  if (s->closing) return WEFT_ECLOSED;
  if (s->werr) return s->werr;
  if (s->shut) return WEFT_EPIPE;
  if (n == 0) return 0;
  const char *p = data;
  if (s->queued == 0) { /* fast path: straight to the kernel, no copy */
    uv_buf_t b = uv_buf_init((char *)p, n > 1u << 30 ? 1u << 30 : (unsigned)n);
    int k = uv_try_write(&s->u.s, &b, 1);
    if (k >= 0) {
      if ((size_t)k == n) return 0;
      p += k;
      n -= (size_t)k;
    } else if (k != UV_EAGAIN) {
      fail_writes(s, weft__aio_uv_error(k, "write"));
      return s->werr;
    }
  }
  int rc = enqueue(s, p, n);
  if (rc || s->queued <= WEFT__WQ_HIGH) return rc;
  return wait_queued(s, WEFT__WQ_LOW - 1);
}

int weft_aio_drain(weft_aio_stream *s) {
  if (!s) return WEFT_EINVAL;
  if (s->closing) return WEFT_ECLOSED;
  if (s->werr) return s->werr;
  if (s->queued == 0) return 0;
  return wait_queued(s, 0);
}

static void shutdown_cb(uv_shutdown_t *req, int status) {
  weft_aio_stream *s = req->handle->data;
  weft__aio_wait *w = s->shut_wait;
  if (!w) return;
  s->shut_wait = NULL;
  weft__stream_unhold(s);
  weft__aio_wake(w, status < 0 ? weft__aio_uv_error(status, "shutdown") : 0);
}

static void shut_abort(weft__aio_wait *w, int why) {
  weft_aio_stream *s = w->data;
  s->shut_wait = NULL;
  weft__stream_unhold(s);
  weft__aio_wake(w, why);
}

/* Issues what is pending (libuv sends its queue before the shutdown), then
 * uv_shutdown, and waits for it. Interrupting the wait does not stop it. */
int weft_aio_shutdown(weft_aio_stream *s) {
  if (!s) return WEFT_EINVAL;
  if (s->closing) return WEFT_ECLOSED;
  if (s->shut) return WEFT_EALREADY;
  if (s->werr) return s->werr;
  s->shut = true;
  if (s->pend) {
    weft__wreq *p = s->pend;
    s->pend = NULL;
    int rc = issue(s, p);
    if (rc) return rc;
  }
  int rc = uv_shutdown(&s->shut_req, &s->u.s, shutdown_cb);
  if (rc) return weft__aio_uv_error(rc, "shutdown");
  weft__aio_wait w;
  weft__aio_wait_init(&w, shut_abort);
  w.op = "shutdown";
  w.data = s;
  s->shut_wait = &w;
  weft__stream_hold(s);
  weft__stream_enter(s);
  rc = weft__aio_suspend(&w);
  if (weft__stream_leave(s) || s->closing) return WEFT_ECLOSED;
  if (rc == WEFT_EPERM && !w.woken) { /* not a task: the shutdown goes on */
    s->shut_wait = NULL;
    weft__stream_unhold(s);
    rc = 0;
  }
  return rc;
}

void weft__stream_write_close(weft_aio_stream *s) {
  for (weft__aio_wait *w; (w = weft__wl_pop(&s->wwait));) {
    weft__stream_unhold(s);
    weft__aio_wake(w, WEFT_ECLOSED);
  }
  weft__aio_wait *w = s->shut_wait;
  if (w) {
    s->shut_wait = NULL;
    weft__stream_unhold(s);
    weft__aio_wake(w, WEFT_ECLOSED);
  }
}

void weft__stream_write_free(weft_aio_stream *s) {
  wreq_free(s->pend);
  wreq_free(s->spare);
  s->pend = s->spare = NULL;
}
