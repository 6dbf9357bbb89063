/* src/aio/stream_internal.h — the aio stream (TCP, Unix socket, pipe, tty)
 * shared by stream.c, stream_read.c, stream_write.c, tcp.c and udp.c.
 *
 * Receive side: the stream reads ahead into its own buffer (rbuf) from the
 * first read call on, and stops (uv_read_stop) when RBUF_LIMIT bytes sit
 * there unread and no task waits: a peer that sends faster than we read is
 * slowed by TCP flow control instead of growing our memory. A reader that
 * waits on an empty buffer gets the data straight into its own buffer
 * (alloc_cb hands that buffer to libuv), saving a copy.
 *
 * Send side: write tries uv_try_write first; what the kernel does not take
 * at once is copied into the "pending" request, which accumulates while one
 * request is in flight and is issued when that completes (so two buffers,
 * reused, carry a stream's whole traffic: no malloc per write in steady
 * state). `queued` counts what we hold that the kernel has not accepted.
 *
 * Waits: one reader at a time (a second gets WEFT_EBUSY); any number of
 * writers and drains on the `wwait` list; one shutdown. The handle is
 * uv_unref'd while nobody waits on it, so an idle open stream does not
 * hide a deadlock from the loop. Loop thread only.
 */
#ifndef WEFT_AIO_STREAM_INTERNAL_H
#define WEFT_AIO_STREAM_INTERNAL_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include "aio/aio_internal.h"
#include "aio/aio_wlist.h"

enum {
  WEFT__RBUF_LIMIT = 64 * 1024, /* stop reading ahead at this many unread bytes */
  WEFT__RBUF_MIN = 8 * 1024,    /* first buffer; grown when a read fills it */
  WEFT__WQ_HIGH = 64 * 1024,    /* write waits when more than this is queued */
  WEFT__WQ_LOW = 16 * 1024,     /* ... until less than this is */
  WEFT__WBUF_KEEP = 256 * 1024, /* larger write buffers are freed once sent */
};

/* One uv_write request and its buffer, reused. */
typedef struct weft__wreq {
  uv_write_t req;
  struct weft_aio_stream *s;
  char *buf;
  size_t len, cap;
} weft__wreq;

enum weft__skind { WEFT__S_TCP, WEFT__S_PIPE, WEFT__S_TTY };

struct weft_aio_stream {
  union {
    uv_handle_t h;
    uv_stream_t s;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } u;
  weft_loop *loop;
  int kind;
  unsigned nwait;      /* tasks waiting on it: handle ref'd while > 0 */
  unsigned users;      /* tasks inside a wait on it (see weft__stream_leave) */
  bool closing;
  bool closed;         /* the close callback ran: free when users == 0 */
  /* receive */
  bool rwant;          /* a read was asked for: read ahead from now on */
  bool reading;        /* uv_read_start is in effect */
  bool eof;
  bool rbusy;          /* a read call is in progress (waiting) */
  int rerr;            /* sticky receive error (WEFT_E*) */
  char *rbuf;
  size_t rcap, roff, rlen; /* unread data: rbuf[roff, roff + rlen) */
  weft__aio_wait *reader;
  char *rdst;          /* the waiting reader's own buffer, while rlen == 0 */
  size_t rdst_cap, rdst_got;
  bool rdst_lent;      /* alloc_cb handed rdst to libuv */
  /* send */
  size_t queued;       /* bytes accepted by write, not yet by the kernel */
  int werr;            /* sticky send error */
  bool shut;           /* shutdown requested: no more writes */
  unsigned inflight;   /* uv_write requests issued */
  weft__wreq *pend;    /* accumulating, not issued */
  weft__wreq *spare;
  weft__wlist wwait;   /* writers (w.data = list), see stream_write.c */
  uv_shutdown_t shut_req;
  weft__aio_wait *shut_wait;
  /* connect (tcp.c) */
  uv_connect_t conn_req;
  weft__aio_wait *conn_wait;
};

/* stream.c */
int weft__stream_alloc(weft_loop *loop, weft_aio_stream **out);
void weft__stream_free_unopened(weft_aio_stream *s); /* never uv-initialised */
void weft__stream_hold(weft_aio_stream *s);           /* a task starts waiting */
void weft__stream_unhold(weft_aio_stream *s);
void weft__stream_ignore_sigpipe(void);
/* Around a suspension: a task woken but not yet run may find its stream
 * closed by another task and the close callback already run (the loop runs
 * libuv between batches of ready tasks), so the memory is kept until the
 * last such task has left. leave returns true when it freed s. */
static inline void weft__stream_enter(weft_aio_stream *s) { s->users++; }
bool weft__stream_leave(weft_aio_stream *s);
/* Bytes written but not yet accepted by the kernel (tests). */
size_t weft__aio_stream_queued(const weft_aio_stream *s);

/* stream_read.c */
void weft__stream_read_update(weft_aio_stream *s); /* start/stop reading ahead */
void weft__stream_read_close(weft_aio_stream *s);  /* wake the reader: ECLOSED */

/* stream_write.c */
void weft__stream_write_close(weft_aio_stream *s); /* wake writers: ECLOSED */
void weft__stream_write_free(weft_aio_stream *s);  /* free idle buffers */

/* tcp.c: name resolution shared with udp.c. A numeric host is parsed
 * without waiting; a name is looked up with uv_getaddrinfo (the caller must
 * be a task). *res is freed with uv_freeaddrinfo. */
int weft__aio_resolve(const char *host, int port, int socktype, bool passive,
                      struct addrinfo **res);

#endif /* WEFT_AIO_STREAM_INTERNAL_H */
