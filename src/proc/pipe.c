/* src/proc/pipe.c — framed duplex pipes (multiprocessing.Pipe).
 *
 * A SOCK_STREAM socketpair carrying [8-byte length][bytes] frames. Stream
 * rather than SOCK_SEQPACKET: seqpacket messages are capped by the socket
 * buffer (a few hundred KiB), while a stream carries a 1 GiB message in
 * pieces. The price is that a receive can stop in mid-frame (a timeout),
 * so the handle keeps the partial frame and the next receive resumes it:
 * the stream never loses its framing. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "core/internal.h"
#include "weft/proc.h"

struct weft_pipe {
  int fd;
  /* the frame being received: header bytes, then the body */
  unsigned char hdr[8];
  size_t hdr_got;
  char *body;
  size_t body_size, body_got;
};

static weft_pipe *pipe_new(int fd) {
  weft_pipe *p = calloc(1, sizeof *p);
  if (p) p->fd = fd;
  return p;
}

int weft_pipe_create(weft_pipe **a, weft_pipe **b) {
  if (a) *a = NULL;
  if (b) *b = NULL;
  if (!a || !b) return WEFT_EINVAL;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -errno;
  weft_pipe *pa = pipe_new(sv[0]), *pb = pipe_new(sv[1]);
  if (!pa || !pb) {
    free(pa);
    free(pb);
    close(sv[0]);
    close(sv[1]);
    return WEFT_ENOMEM;
  }
  *a = pa;
  *b = pb;
  return 0;
}

int weft_pipe_fd(const weft_pipe *p) {
  return p ? p->fd : -1;
}

void weft_pipe_close(weft_pipe *p) {
  if (!p) return;
  close(p->fd);
  free(p->body);
  free(p);
}

/* Writes all of buf; MSG_NOSIGNAL turns a closed peer into EPIPE instead of
 * a SIGPIPE that would kill the sender. */
static int send_all(int fd, const void *buf, size_t n) {
  const char *c = buf;
  while (n > 0) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno == EPIPE || errno == ECONNRESET ? WEFT_ECLOSED : -errno;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int weft_pipe_send(weft_pipe *p, const void *data, size_t size) {
  if (!p || (!data && size > 0)) return WEFT_EINVAL;
  if (size > WEFT_PIPE_MAX_MSG) return WEFT_ERANGE;
  uint64_t len = size;
  int rc = send_all(p->fd, &len, sizeof len);
  return rc ? rc : send_all(p->fd, data, size);
}

/* Waits until fd is readable or the deadline passes. */
static int wait_readable(int fd, uint64_t deadline_ns) {
  for (;;) {
    int ms = -1;
    if (deadline_ns != WEFT_FOREVER) {
      uint64_t now = weft_now_ns();
      if (now >= deadline_ns) return WEFT_ETIMEDOUT;
      uint64_t left = (deadline_ns - now + 999999) / 1000000;
      ms = left > INT32_MAX ? INT32_MAX : (int)left;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, ms);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -errno;
  }
}

/* Reads up to n bytes into buf, adding to *got. 0 when something was read,
 * WEFT_ECLOSED at end of stream, WEFT_ETIMEDOUT, -errno. */
static int read_some(int fd, void *buf, size_t n, size_t *got, uint64_t deadline_ns) {
  for (;;) {
    ssize_t r = recv(fd, buf, n, MSG_DONTWAIT);
    if (r > 0) {
      *got += (size_t)r;
      return 0;
    }
    if (r == 0) return WEFT_ECLOSED;
    if (errno == ECONNRESET) return WEFT_ECLOSED;
    if (errno != EAGAIN && errno != EINTR) return -errno;
    int rc = wait_readable(fd, deadline_ns);
    if (rc) return rc;
  }
}

/* Reads the header; allocates the body once its length is known. */
static int recv_header(weft_pipe *p, uint64_t deadline_ns) {
  while (p->hdr_got < sizeof p->hdr) {
    int rc = read_some(p->fd, p->hdr + p->hdr_got, sizeof p->hdr - p->hdr_got, &p->hdr_got,
                       deadline_ns);
    if (rc == WEFT_ECLOSED && p->hdr_got > 0) return WEFT_EIO; /* cut in a header */
    if (rc) return rc;
  }
  uint64_t len;
  memcpy(&len, p->hdr, sizeof len);
  if (len > WEFT_PIPE_MAX_MSG) return WEFT_EIO;
  if (len > 0 && !p->body) {
    p->body = malloc(len);
    if (!p->body) return WEFT_ENOMEM;
  }
  p->body_size = len;
  return 0;
}

int weft_pipe_recv(weft_pipe *p, void **data, size_t *size, uint64_t timeout_ns) {
  if (data) *data = NULL;
  if (size) *size = 0;
  if (!p || !data || !size) return WEFT_EINVAL;
  uint64_t deadline = weft_deadline_after(timeout_ns);
  int rc = recv_header(p, deadline);
  if (rc) return rc;
  while (p->body_got < p->body_size) {
    rc = read_some(p->fd, p->body + p->body_got, p->body_size - p->body_got, &p->body_got,
                   deadline);
    if (rc == WEFT_ECLOSED) return WEFT_EIO; /* cut in a body */
    if (rc) return rc;
  }
  *data = p->body;
  *size = p->body_size;
  p->body = NULL;
  p->body_size = p->body_got = p->hdr_got = 0;
  return 0;
}
