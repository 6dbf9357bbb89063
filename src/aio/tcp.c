/* src/aio/tcp.c — name resolution, connect, listen and accept for TCP and
 * Unix domain sockets.
 *
 * Connect tries every address getaddrinfo returns, in order, until one
 * answers (happy eyeballs without the racing). Numeric addresses are parsed
 * at once, without the thread pool. Accepted and connected TCP streams get
 * TCP_NODELAY (as asyncio does): small request/response writes must not
 * wait for Nagle's timer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "aio/stream_internal.h"

struct weft_aio_server {
  union {
    uv_handle_t h;
    uv_stream_t s;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } u;
  weft_loop *loop;
  int kind;          /* WEFT__S_TCP or WEFT__S_PIPE */
  bool closing;
  bool closed;       /* close callback ran; freed when no accept is inside */
  unsigned users;    /* accepts between suspend and return (see stream) */
  bool pending;      /* libuv holds an accepted connection for uv_accept */
  weft__wlist waiters;
  unsigned nwait;
  char *path;        /* Unix socket file, unlinked at close */
};

/* ---- name resolution ---- */

typedef struct gai_op {
  uv_getaddrinfo_t req;
  weft__aio_wait *w; /* NULL once the waiter left: the callback frees */
  int status;
  struct addrinfo *res;
} gai_op;

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  gai_op *op = req->data;
  weft__aio_wait *w = op->w;
  if (!w) {
    if (res) uv_freeaddrinfo(res);
    free(op);
    return;
  }
  op->w = NULL;
  op->status = status;
  op->res = res;
  weft__aio_wake(w, 0);
}

/* The lookup cannot be interrupted once a thread runs it: leave it behind. */
static void gai_abort(weft__aio_wait *w, int why) {
  gai_op *op = w->data;
  op->w = NULL;
  uv_cancel((uv_req_t *)&op->req);
  weft__aio_wake(w, why);
}

static int eai_error(int eai, const char *host) {
  char what[300];
  snprintf(what, sizeof what, "getaddrinfo %s", host);
  switch (eai) {
  case EAI_NONAME: return weft__aio_uv_error(UV_EAI_NONAME, what);
  case EAI_MEMORY: return weft__aio_uv_error(UV_ENOMEM, what);
  default: return weft__aio_uv_error(UV_EINVAL, what);
  }
}

int weft__aio_resolve(const char *host, int port, int socktype, bool passive,
                      struct addrinfo **res) {
  char svc[16];
  snprintf(svc, sizeof svc, "%d", port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST | (passive ? AI_PASSIVE : 0);
  int g = getaddrinfo(host, svc, &hints, res); /* numeric: no lookup, no wait */
  if (g != EAI_NONAME) return g ? eai_error(g, host) : 0;
  if (!weft_aio_current()) return WEFT_EPERM; /* a name lookup waits */
  hints.ai_flags &= ~AI_NUMERICHOST;
  gai_op *op = calloc(1, sizeof *op);
  if (!op) return WEFT_ENOMEM;
  op->req.data = op;
  weft__aio_wait w;
  weft__aio_wait_init(&w, gai_abort);
  w.op = "resolve";
  w.data = op;
  op->w = &w;
  int rc = uv_getaddrinfo(weft__aio_uv(weft__aio_loop()), &op->req, gai_cb, host, svc, &hints);
  if (rc) {
    free(op);
    return weft__aio_uv_error(rc, "getaddrinfo");
  }
  rc = weft__aio_suspend(&w);
  if (rc) return rc; /* op is the callback's to free */
  int status = op->status;
  *res = op->res;
  free(op);
  if (status) {
    char what[300];
    snprintf(what, sizeof what, "getaddrinfo %s", host);
    return weft__aio_uv_error(status, what);
  }
  return 0;
}

/* ---- connect ---- */

static void connect_cb(uv_connect_t *req, int status) {
  weft_aio_stream *s = req->handle->data;
  weft__aio_wait *w = s->conn_wait;
  if (!w) return; /* the waiter left (and closed s) */
  s->conn_wait = NULL;
  weft__aio_wake(w, status < 0 ? weft__aio_uv_error(status, "connect") : 0);
}

static void connect_abort(weft__aio_wait *w, int why) {
  weft_aio_stream *s = w->data;
  s->conn_wait = NULL;
  weft__aio_wake(w, why);
}

/* Waits for s->conn_req (started by the caller); closes s on failure. */
static int connect_wait(weft_aio_stream *s) {
  weft__aio_wait w;
  weft__aio_wait_init(&w, connect_abort);
  w.op = "connect";
  w.data = s;
  s->conn_wait = &w;
  int rc = weft__aio_suspend(&w);
  if (rc) {
    s->conn_wait = NULL;
    weft_aio_close(s);
  }
  return rc;
}

static int connect_one(const struct sockaddr *addr, weft_aio_stream **out) {
  weft_aio_stream *s;
  int rc = weft__stream_alloc(weft__aio_loop(), &s);
  if (rc) return rc;
  s->kind = WEFT__S_TCP;
  if ((rc = uv_tcp_init(weft__aio_uv(s->loop), &s->u.tcp))) {
    weft__stream_free_unopened(s);
    return weft__aio_uv_error(rc, "tcp");
  }
  s->u.h.data = s;
  uv_unref(&s->u.h); /* the connect request keeps the loop alive */
  rc = uv_tcp_connect(&s->conn_req, &s->u.tcp, addr, connect_cb);
  if (rc) {
    weft_aio_close(s);
    return weft__aio_uv_error(rc, "connect");
  }
  if ((rc = connect_wait(s))) return rc;
  uv_tcp_nodelay(&s->u.tcp, 1);
  *out = s;
  return 0;
}

int weft_aio_tcp_connect(const char *host, int port, weft_aio_stream **out) {
  if (out) *out = NULL;
  if (!host || !*host || !out || port <= 0 || port > 65535) return WEFT_EINVAL;
  if (!weft_aio_current()) return WEFT_EPERM;
  struct addrinfo *res = NULL;
  int rc = weft__aio_resolve(host, port, SOCK_STREAM, false, &res);
  if (rc) return rc;
  rc = weft__aio_uv_error(UV_EAI_NONAME, "connect: no IPv4 or IPv6 address");
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    rc = connect_one(ai->ai_addr, out);
    if (!rc || rc == WEFT_ECANCELED || rc == WEFT_ETIMEDOUT || rc == WEFT_ENOMEM) break;
  }
  freeaddrinfo(res);
  return rc;
}

static bool unix_path_ok(const char *path) {
  struct sockaddr_un sun;
  return path && *path && strlen(path) < sizeof sun.sun_path;
}

int weft_aio_unix_connect(const char *path, weft_aio_stream **out) {
  if (out) *out = NULL;
  if (!unix_path_ok(path) || !out) return WEFT_EINVAL;
  if (!weft_aio_current()) return WEFT_EPERM;
  weft_aio_stream *s;
  int rc = weft__stream_alloc(weft__aio_loop(), &s);
  if (rc) return rc;
  s->kind = WEFT__S_PIPE;
  if ((rc = uv_pipe_init(weft__aio_uv(s->loop), &s->u.pipe, 0))) {
    weft__stream_free_unopened(s);
    return weft__aio_uv_error(rc, "pipe");
  }
  s->u.h.data = s;
  uv_unref(&s->u.h);
  uv_pipe_connect(&s->conn_req, &s->u.pipe, path, connect_cb);
  if ((rc = connect_wait(s))) return rc;
  *out = s;
  return 0;
}

/* ---- listen and accept ---- */

static void server_free(weft_aio_server *srv) {
  free(srv->path);
  free(srv);
}

static void server_close_cb(uv_handle_t *h) {
  weft_aio_server *srv = h->data;
  srv->closed = true;
  if (srv->users == 0) server_free(srv);
}

static void server_unhold(weft_aio_server *srv) {
  if (--srv->nwait == 0) uv_unref(&srv->u.h);
}

static void connection_cb(uv_stream_t *st, int status) {
  weft_aio_server *srv = st->data;
  int code = 0;
  if (status < 0) code = weft__aio_uv_error(status, "accept"); /* e.g. EMFILE */
  else srv->pending = true;
  weft__aio_wait *w = weft__wl_pop(&srv->waiters);
  if (!w) return; /* an error nobody waits for is dropped; libuv listens on */
  server_unhold(srv);
  weft__aio_wake(w, code);
}

static int server_new(int kind, weft_aio_server **out) {
  weft_aio_server *srv = calloc(1, sizeof *srv);
  if (!srv) return WEFT_ENOMEM;
  srv->loop = weft__aio_loop();
  srv->kind = kind;
  int rc = kind == WEFT__S_TCP ? uv_tcp_init(weft__aio_uv(srv->loop), &srv->u.tcp)
                               : uv_pipe_init(weft__aio_uv(srv->loop), &srv->u.pipe, 0);
  if (rc) {
    free(srv);
    return weft__aio_uv_error(rc, "listen");
  }
  srv->u.h.data = srv;
  *out = srv;
  return 0;
}

/* Starts listening on a bound handle; closes it on failure. */
static int server_start(weft_aio_server *srv, int backlog, weft_aio_server **out) {
  int rc = uv_listen(&srv->u.s, backlog > 0 ? backlog : SOMAXCONN, connection_cb);
  if (rc) {
    uv_close(&srv->u.h, server_close_cb);
    return weft__aio_uv_error(rc, "listen");
  }
  uv_unref(&srv->u.h);
  *out = srv;
  return 0;
}

/* REUSEPORT must be set before bind, so the socket is created first. */
static int listen_one(const struct sockaddr *addr, int backlog, int flags,
                      weft_aio_server **out) {
  weft_aio_server *srv = calloc(1, sizeof *srv);
  if (!srv) return WEFT_ENOMEM;
  srv->loop = weft__aio_loop();
  srv->kind = WEFT__S_TCP;
  uv_loop_t *uv = weft__aio_uv(srv->loop);
  int rc = (flags & WEFT_AIO_REUSEPORT) ? uv_tcp_init_ex(uv, &srv->u.tcp, addr->sa_family)
                                        : uv_tcp_init(uv, &srv->u.tcp);
  if (rc) {
    free(srv);
    return weft__aio_uv_error(rc, "listen");
  }
  srv->u.h.data = srv;
  const char *what = "bind";
  if (flags & WEFT_AIO_REUSEPORT) {
    uv_os_fd_t fd;
    int one = 1;
    what = "setsockopt SO_REUSEPORT";
    rc = uv_fileno(&srv->u.h, &fd);
    if (!rc && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) rc = -errno;
  }
  if (!rc) {
    what = "bind";
    rc = uv_tcp_bind(&srv->u.tcp, addr, 0);
  }
  if (rc) {
    uv_close(&srv->u.h, server_close_cb);
    return weft__aio_uv_error(rc, what);
  }
  return server_start(srv, backlog, out);
}

int weft_aio_tcp_listen(const char *host, int port, int backlog, int flags,
                        weft_aio_server **out) {
  if (out) *out = NULL;
  if (!out || port < 0 || port > 65535 || (flags & ~WEFT_AIO_REUSEPORT)) return WEFT_EINVAL;
  if (!weft__aio_loop()) return WEFT_EPERM;
  struct addrinfo *res = NULL;
  int rc = weft__aio_resolve(host ? host : "0.0.0.0", port, SOCK_STREAM, true, &res);
  if (rc) return rc;
  rc = weft__aio_uv_error(UV_EAI_NONAME, "listen: no IPv4 or IPv6 address");
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    if (!(rc = listen_one(ai->ai_addr, backlog, flags, out))) break;
  }
  freeaddrinfo(res);
  return rc;
}

int weft_aio_unix_listen(const char *path, int backlog, weft_aio_server **out) {
  if (out) *out = NULL;
  if (!unix_path_ok(path) || !out) return WEFT_EINVAL;
  if (!weft__aio_loop()) return WEFT_EPERM;
  weft_aio_server *srv = NULL;
  int rc = server_new(WEFT__S_PIPE, &srv);
  if (rc) return rc;
  if ((rc = uv_pipe_bind(&srv->u.pipe, path))) {
    uv_close(&srv->u.h, server_close_cb);
    return weft__aio_uv_error(rc, "bind");
  }
  if (!(srv->path = strdup(path))) {
    uv_close(&srv->u.h, server_close_cb);
    unlink(path);
    return WEFT_ENOMEM;
  }
  if ((rc = server_start(srv, backlog, out))) unlink(path);
  return rc;
}

static int accept_now(weft_aio_server *srv, weft_aio_stream **out) {
  weft_aio_stream *s;
  int rc = weft__stream_alloc(srv->loop, &s);
  if (rc) return rc;
  s->kind = srv->kind;
  uv_loop_t *uv = weft__aio_uv(srv->loop);
  rc = srv->kind == WEFT__S_TCP ? uv_tcp_init(uv, &s->u.tcp) : uv_pipe_init(uv, &s->u.pipe, 0);
  if (rc) {
    weft__stream_free_unopened(s);
    return weft__aio_uv_error(rc, "accept");
  }
  s->u.h.data = s;
  uv_unref(&s->u.h);
  srv->pending = false;
  if ((rc = uv_accept(&srv->u.s, &s->u.s))) {
    weft_aio_close(s);
    return weft__aio_uv_error(rc, "accept");
  }
  if (s->kind == WEFT__S_TCP) uv_tcp_nodelay(&s->u.tcp, 1);
  *out = s;
  return 0;
}

static void accept_abort(weft__aio_wait *w, int why) {
  weft_aio_server *srv = ((weft_aio_server *)((char *)w->data - offsetof(weft_aio_server, waiters)));
  weft__wl_unlink(&srv->waiters, w);
  server_unhold(srv);
  weft__aio_wake(w, why);
}

int weft_aio_accept(weft_aio_server *srv, weft_aio_stream **out) {
  if (out) *out = NULL;
  if (!srv || !out) return WEFT_EINVAL;
  for (;;) {
    if (srv->closing) return WEFT_ECLOSED;
    if (srv->pending) return accept_now(srv, out);
    weft__aio_wait w;
    weft__aio_wait_init(&w, accept_abort);
    w.op = "accept";
    weft__wl_push(&srv->waiters, &w);
    if (srv->nwait++ == 0) uv_ref(&srv->u.h);
    srv->users++;
    int rc = weft__aio_suspend(&w);
    if (--srv->users == 0 && srv->closed) {
      server_free(srv);
      return WEFT_ECLOSED;
    }
    if (rc == WEFT_EPERM && !w.woken) {
      weft__wl_unlink(&srv->waiters, &w);
      server_unhold(srv);
    }
    if (rc) return rc;
  }
}

int weft_aio_server_port(const weft_aio_server *srv) {
  if (!srv || srv->kind != WEFT__S_TCP) return WEFT_EINVAL;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int rc = uv_tcp_getsockname(&srv->u.tcp, (struct sockaddr *)&ss, &len);
  if (rc) return weft__aio_uv_error(rc, "getsockname");
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

void weft_aio_server_close(weft_aio_server *srv) {
  if (!srv || srv->closing) return;
  srv->closing = true;
  for (weft__aio_wait *w; (w = weft__wl_pop(&srv->waiters));) {
    server_unhold(srv);
    weft__aio_wake(w, WEFT_ECLOSED);
  }
  if (srv->path) unlink(srv->path);
  uv_close(&srv->u.h, server_close_cb);
}
