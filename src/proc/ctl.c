/* src/proc/ctl.c — one message per send on an AF_UNIX SOCK_SEQPACKET socket.
 *
 * Wire format: an 8-byte header (kind, reserved) followed by the payload, in
 * one sendmsg, so a message is never split or merged. Descriptors ride as
 * SCM_RIGHTS and arrive close-on-exec (MSG_CMSG_CLOEXEC), so a concurrent
 * fork+exec elsewhere in the program never inherits them. SEQPACKET reports
 * end of file as a zero-length read: every real message has the header. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc/launch.h"

#define CTL_MAX_FDS 4

typedef struct ctl_hdr {
  uint32_t kind;
  uint32_t reserved;
} ctl_hdr;

int weft__ctl_send(int fd, uint32_t kind, const void *data, size_t len, const int *fds,
                   size_t nfds) {
  if (fd < 0 || len > WEFT__CTL_MAX || nfds > CTL_MAX_FDS || (len && !data) || (nfds && !fds))
    return WEFT_EINVAL;
  ctl_hdr h = {.kind = kind, .reserved = 0};
  struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof h},
                         {.iov_base = (void *)data, .iov_len = len}};
  union {
    char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
    struct cmsghdr align;
  } cbuf;
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
  if (nfds) {
    memset(&cbuf, 0, sizeof cbuf);
    msg.msg_control = cbuf.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) return WEFT_ECLOSED;
    return -errno;
  }
}

/* Waits until fd is readable or the deadline passes. 0, WEFT_ETIMEDOUT, -errno. */
static int wait_readable(int fd, uint64_t deadline) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct timespec ts, *tsp = NULL;
    if (deadline != WEFT_FOREVER) {
      uint64_t now = weft_now_ns();
      uint64_t left = deadline > now ? deadline - now : 0;
      ts.tv_sec = (time_t)(left / 1000000000u);
      ts.tv_nsec = (long)(left % 1000000000u);
      tsp = &ts;
    }
    int r = ppoll(&p, 1, tsp, NULL);
    if (r > 0) return 0;
    if (r == 0) return WEFT_ETIMEDOUT;
    if (errno != EINTR) return -errno;
  }
}

static void take_fds(struct msghdr *msg, int *fds, size_t *nfds) {
  size_t cap = (fds && nfds) ? *nfds : 0, got = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int f;
      memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
      if (got < cap) fds[got++] = f;
      else close(f); /* nobody asked for it: never leak */
    }
  }
  if (nfds) *nfds = got;
}

int weft__ctl_recv(int fd, uint32_t *kind, void *buf, size_t cap, size_t *len, int *fds,
                   size_t *nfds, uint64_t timeout_ns) {
  if (fd < 0 || (cap && !buf)) return WEFT_EINVAL;
  uint64_t deadline = weft_deadline_after(timeout_ns);
  for (;;) {
    ctl_hdr h;
    struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof h},
                           {.iov_base = buf, .iov_len = cap}};
    union {
      char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
      struct cmsghdr align;
    } cbuf;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = cap ? 2 : 1,
                         .msg_control = cbuf.buf, .msg_controllen = sizeof cbuf.buf};
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (timeout_ns == 0) return WEFT_ETIMEDOUT;
        int r = wait_readable(fd, deadline);
        if (r) return r;
        continue;
      }
      /* The peer closed with our messages unread (a child killed before it
       * read RUN): Linux reports ECONNRESET once, ahead of the messages
       * still queued for us (the server's STATUS). Read on. */
      if (errno == ECONNRESET) continue;
      return -errno;
    }
    int rc = 0;
    if (n == 0) rc = WEFT_ECLOSED;
    else if ((size_t)n < sizeof h) rc = WEFT_EIO;
    else if (msg.msg_flags & MSG_TRUNC) rc = WEFT_ERANGE;
    /* A failed receive hands out no descriptors. */
    take_fds(&msg, rc ? NULL : fds, rc ? NULL : nfds);
    if (rc) {
      if (nfds) *nfds = 0;
      return rc;
    }
    if (kind) *kind = h.kind;
    if (len) *len = (size_t)n - sizeof h;
    return 0;
  }
}
