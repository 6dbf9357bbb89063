/* src/aio/udp.c — UDP sockets: bind, send, receive one datagram.
 *
 * Receiving runs (uv_udp_recv_start) only while a task waits, and each
 * datagram goes straight into the waiting task's buffer: with nobody
 * waiting, datagrams stay in the kernel's socket buffer, which is where
 * UDP's own flow control (dropping) happens. Several tasks may wait; each
 * gets one datagram, first come first served.
 *
 * send tries uv_udp_try_send first; when the socket buffer is full the
 * datagram is copied into a request and the task waits for it to be sent.
 */
#include <stdlib.h>
#include <string.h>
#include "aio/stream_internal.h"

typedef struct udp_send udp_send;

struct weft_aio_udp {
  uv_udp_t h;
  weft_loop *loop;
  int family;          /* of the bound address: what send can reach */
  bool closing, receiving;
  unsigned nwait;
  weft__wlist rwait;   /* receivers (rwaiter) */
  udp_send *sends;     /* requests in flight */
};

typedef struct rwaiter {
  weft__aio_wait w;    /* first: the list hands out &w */
  weft_aio_udp *u;
  char *buf;
  size_t cap, n;
  struct sockaddr_storage from;
} rwaiter;

struct udp_send {
  uv_udp_send_t req;
  weft_aio_udp *u;
  weft__aio_wait *w;   /* NULL once the waiter left */
  udp_send *prev, *next;
  char data[];
};

static void udp_hold(weft_aio_udp *u) {
  if (u->nwait++ == 0) uv_ref((uv_handle_t *)&u->h);
}

static void udp_unhold(weft_aio_udp *u) {
  if (--u->nwait == 0) uv_unref((uv_handle_t *)&u->h);
}

static void close_cb(uv_handle_t *h) { free(h->data); }

int weft_aio_udp_bind(const char *host, int port, weft_aio_udp **out) {
  if (out) *out = NULL;
  if (!out || port < 0 || port > 65535) return WEFT_EINVAL;
  weft_loop *loop = weft__aio_loop();
  if (!loop) return WEFT_EPERM;
  struct addrinfo *res = NULL;
  int rc = weft__aio_resolve(host ? host : "0.0.0.0", port, SOCK_DGRAM, true, &res);
  if (rc) return rc;
  weft_aio_udp *u = calloc(1, sizeof *u);
  if (!u) {
    freeaddrinfo(res);
    return WEFT_ENOMEM;
  }
  weft__stream_ignore_sigpipe();
  u->loop = loop;
  u->family = res->ai_family;
  if ((rc = uv_udp_init(weft__aio_uv(loop), &u->h))) {
    freeaddrinfo(res);
    free(u);
    return weft__aio_uv_error(rc, "udp");
  }
  u->h.data = u;
  rc = uv_udp_bind(&u->h, res->ai_addr, 0);
  freeaddrinfo(res);
  if (rc) {
    uv_close((uv_handle_t *)&u->h, close_cb);
    return weft__aio_uv_error(rc, "bind");
  }
  uv_unref((uv_handle_t *)&u->h);
  *out = u;
  return 0;
}

int weft_aio_udp_port(const weft_aio_udp *u) {
  if (!u) return WEFT_EINVAL;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int rc = uv_udp_getsockname(&u->h, (struct sockaddr *)&ss, &len);
  if (rc) return weft__aio_uv_error(rc, "getsockname");
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ---- receive ---- */

static void recv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  weft_aio_udp *u = h->data;
  rwaiter *rw = (rwaiter *)u->rwait.head;
  if (!rw) *buf = uv_buf_init(NULL, 0); /* libuv leaves the datagram queued */
  else *buf = uv_buf_init(rw->buf, rw->cap > 1u << 30 ? 1u << 30 : (unsigned)rw->cap);
}

static void recv_update(weft_aio_udp *u);

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags) {
  (void)flags; /* UV_UDP_PARTIAL: truncated to cap, as documented */
  weft_aio_udp *u = h->data;
  rwaiter *rw = (rwaiter *)u->rwait.head;
  if (!rw || nread == UV_ENOBUFS || (nread == 0 && !addr)) return;
  if (nread >= 0 && buf->base != rw->buf) return;
  weft__wl_unlink(&u->rwait, &rw->w);
  udp_unhold(u);
  int code = 0;
  if (nread < 0) {
    code = weft__aio_uv_error((int)nread, "recv");
  } else {
    rw->n = (size_t)nread;
    memcpy(&rw->from, addr, addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                        : sizeof(struct sockaddr_in));
  }
  weft__aio_wake(&rw->w, code);
  recv_update(u);
}

/* Receives while somebody waits (stopping inside recv_cb ends libuv's
 * batch, so no datagram is read without a buffer to put it in). */
static void recv_update(weft_aio_udp *u) {
  bool want = !weft__wl_empty(&u->rwait) && !u->closing;
  if (want == u->receiving) return;
  if (!want) {
    uv_udp_recv_stop(&u->h);
    u->receiving = false;
    return;
  }
  int rc = uv_udp_recv_start(&u->h, recv_alloc, recv_cb);
  if (rc) {
    int err = weft__aio_uv_error(rc, "recv");
    for (weft__aio_wait *w; (w = weft__wl_pop(&u->rwait));) {
      udp_unhold(u);
      weft__aio_wake(w, err);
    }
    return;
  }
  u->receiving = true;
}

static void recv_abort(weft__aio_wait *w, int why) {
  rwaiter *rw = (rwaiter *)w;
  weft__wl_unlink(&rw->u->rwait, w);
  udp_unhold(rw->u);
  recv_update(rw->u);
  weft__aio_wake(w, why);
}

int weft_aio_udp_recv(weft_aio_udp *u, void *buf, size_t cap, size_t *n,
                      struct sockaddr_storage *from) {
  if (n) *n = 0;
  if (!u || !buf || !cap || !n) return WEFT_EINVAL;
  if (u->closing) return WEFT_ECLOSED;
  if (!weft_aio_current()) return WEFT_EPERM;
  rwaiter rw;
  memset(&rw, 0, sizeof rw);
  weft__aio_wait_init(&rw.w, recv_abort);
  rw.w.op = "recv";
  rw.u = u;
  rw.buf = buf;
  rw.cap = cap;
  weft__wl_push(&u->rwait, &rw.w);
  udp_hold(u);
  recv_update(u);
  int rc = weft__aio_suspend(&rw.w);
  if (rc) return rc;
  *n = rw.n;
  if (from) memcpy(from, &rw.from, sizeof rw.from);
  return 0;
}

/* ---- send ---- */

static void send_cb(uv_udp_send_t *req, int status) {
  udp_send *op = (udp_send *)req;
  weft_aio_udp *u = op->u;
  if (op->prev) op->prev->next = op->next;
  else u->sends = op->next;
  if (op->next) op->next->prev = op->prev;
  if (op->w) weft__aio_wake(op->w, status < 0 ? weft__aio_uv_error(status, "send") : 0);
  free(op);
}

static void send_abort(weft__aio_wait *w, int why) {
  udp_send *op = w->data;
  op->w = NULL; /* the datagram goes out anyway; send_cb frees */
  weft__aio_wake(w, why);
}

/* The first address of the socket's family (an IPv4 socket cannot send
 * to an IPv6 address). */
static const struct addrinfo *pick(const struct addrinfo *res, int family) {
  for (; res; res = res->ai_next)
    if (res->ai_family == family) return res;
  return NULL;
}

static int send_queued(weft_aio_udp *u, const struct sockaddr *addr, const void *data, size_t n) {
  udp_send *op = malloc(sizeof *op + n);
  if (!op) return WEFT_ENOMEM;
  memcpy(op->data, data, n);
  op->u = u;
  op->prev = NULL;
  uv_buf_t b = uv_buf_init(op->data, (unsigned)n);
  int rc = uv_udp_send(&op->req, &u->h, &b, 1, addr, send_cb);
  if (rc) {
    free(op);
    return weft__aio_uv_error(rc, "send");
  }
  op->next = u->sends;
  if (u->sends) u->sends->prev = op;
  u->sends = op;
  weft__aio_wait w;
  weft__aio_wait_init(&w, send_abort);
  w.op = "send";
  w.data = op;
  op->w = &w;
  rc = weft__aio_suspend(&w);
  if (rc == WEFT_EPERM && !w.woken) {
    op->w = NULL;
    rc = 0; /* not a task: sent without waiting */
  }
  return rc;
}

int weft_aio_udp_send(weft_aio_udp *u, const char *host, int port, const void *data, size_t n) {
  if (!u || !host || port <= 0 || port > 65535 || (!data && n) || n > 65535) return WEFT_EINVAL;
  if (u->closing) return WEFT_ECLOSED;
  struct addrinfo *res = NULL;
  int rc = weft__aio_resolve(host, port, SOCK_DGRAM, false, &res);
  if (rc) return rc;
  const struct addrinfo *ai = pick(res, u->family);
  if (!ai) {
    freeaddrinfo(res);
    weft__aio_uv_error(UV_EAFNOSUPPORT, "send: no address of the socket's family");
    return WEFT_EINVAL;
  }
  uv_buf_t b = uv_buf_init((char *)(data ? data : ""), (unsigned)n);
  rc = uv_udp_try_send(&u->h, &b, 1, ai->ai_addr);
  if (rc >= 0) rc = 0;
  else if (rc == UV_EAGAIN) rc = send_queued(u, ai->ai_addr, b.base, n);
  else rc = weft__aio_uv_error(rc, "send");
  freeaddrinfo(res);
  return rc;
}

void weft_aio_udp_close(weft_aio_udp *u) {
  if (!u || u->closing) return;
  u->closing = true;
  for (weft__aio_wait *w; (w = weft__wl_pop(&u->rwait));) {
    udp_unhold(u);
    weft__aio_wake(w, WEFT_ECLOSED);
  }
  for (udp_send *op = u->sends; op; op = op->next) {
    if (!op->w) continue;
    weft__aio_wait *w = op->w;
    op->w = NULL;
    weft__aio_wake(w, WEFT_ECLOSED);
  }
  uv_close((uv_handle_t *)&u->h, close_cb);
}
