/* tests/test_aio_udp.c — aio UDP: send and receive with the sender's
 * address, many datagrams (none lost or doubled on loopback), truncation
 * to the buffer, empty datagrams, names, IPv6 (skipped when ::1 is
 * missing), receive timeouts and cancellation (a later datagram is still
 * received), close waking a waiting receiver, several receivers at once.
 *
 * Task bodies record the first failed check in g_fail (see run_main). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "testutil.h"
#include "aio_testutil.h"
#include "weft/aio.h"

#define MS WEFT_MS

static bool g_skip;

static int port_of(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)ss)->sin_port);
  return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* ---- send / recv, sender address, many datagrams ---- */

static int basic_main(void *arg) {
  (void)arg;
  weft_aio_udp *a, *b;
  T_OK(weft_aio_udp_bind("127.0.0.1", 0, &a));
  T_OK(weft_aio_udp_bind("127.0.0.1", 0, &b));
  int pa = weft_aio_udp_port(a), pb = weft_aio_udp_port(b);
  T_TRUE(pa > 0 && pb > 0 && pa != pb);
  T_OK(weft_aio_udp_send(a, "127.0.0.1", pb, "hello", 5));
  char buf[2048];
  size_t n = 0;
  struct sockaddr_storage from;
  memset(&from, 0, sizeof from);
  T_OK(weft_aio_udp_recv(b, buf, sizeof buf, &n, &from));
  T_EQ(n, 5);
  T_TRUE(memcmp(buf, "hello", 5) == 0);
  T_EQ(from.ss_family, AF_INET);
  T_EQ(port_of(&from), pa);
  T_EQ(((struct sockaddr_in *)&from)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));

  /* a burst: each datagram once, in order (loopback keeps both) */
  size_t count = scaled(500, 50);
  for (size_t i = 0; i < count; i++) {
    char msg[32];
    int len = snprintf(msg, sizeof msg, "datagram %zu", i);
    T_OK(weft_aio_udp_send(b, "127.0.0.1", pa, msg, (size_t)len));
    if (i % 64 == 63) { /* stay within the socket buffer */
      for (size_t k = i - 63; k <= i; k++) {
        T_OK(weft_aio_udp_recv(a, buf, sizeof buf - 1, &n, NULL));
        buf[n] = '\0';
        snprintf(msg, sizeof msg, "datagram %zu", k);
        T_TRUE(strcmp(buf, msg) == 0);
      }
    }
  }
  for (size_t k = count / 64 * 64; k < count; k++) {
    T_OK(weft_aio_udp_recv(a, buf, sizeof buf - 1, &n, NULL));
    buf[n] = '\0';
    char msg[32];
    snprintf(msg, sizeof msg, "datagram %zu", k);
    T_TRUE(strcmp(buf, msg) == 0);
  }

  /* truncation to cap, an empty datagram, a name */
  char big[1000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('A' + i % 26);
  T_OK(weft_aio_udp_send(a, "127.0.0.1", pb, big, sizeof big));
  T_OK(weft_aio_udp_recv(b, buf, 10, &n, NULL));
  T_EQ(n, 10);
  T_TRUE(memcmp(buf, big, 10) == 0);
  T_OK(weft_aio_udp_send(a, "127.0.0.1", pb, NULL, 0));
  n = 99;
  T_OK(weft_aio_udp_recv(b, buf, sizeof buf, &n, &from));
  T_EQ(n, 0);
  T_EQ(port_of(&from), pa);
  T_OK(weft_aio_udp_send(a, "localhost", pb, "named", 5));
  T_OK(weft_aio_udp_recv(b, buf, sizeof buf, &n, NULL));
  T_EQ(n, 5);
  T_TRUE(memcmp(buf, "named", 5) == 0);

  T_RC(weft_aio_udp_send(a, "127.0.0.1", 0, "x", 1), WEFT_EINVAL);
  T_RC(weft_aio_udp_send(a, "no-such-host.invalid", 9, "x", 1), WEFT_ENOENT);
  T_RC(weft_aio_udp_recv(b, buf, 0, &n, NULL), WEFT_EINVAL);
  weft_aio_udp *c = NULL;
  T_RC(weft_aio_udp_bind("127.0.0.1", pa, &c), WEFT_EADDRINUSE);
  T_TRUE(c == NULL);
  weft_aio_udp_close(a);
  weft_aio_udp_close(b);
  return 0;
}

static void test_send_recv(void **state) {
  (void)state;
  run_main(basic_main, NULL);
}

/* ---- timeouts, cancellation, close, several receivers ---- */

struct rx {
  weft_aio_udp *u;
  int rc;
  size_t n;
  char buf[64];
};

static int one_recv(void *arg) {
  struct rx *r = arg;
  r->rc = weft_aio_udp_recv(r->u, r->buf, sizeof r->buf, &r->n, NULL);
  return 0;
}

static int waits_main(void *arg) {
  (void)arg;
  weft_aio_udp *a, *b;
  T_OK(weft_aio_udp_bind("127.0.0.1", 0, &a));
  T_OK(weft_aio_udp_bind(NULL, 0, &b)); /* all IPv4 addresses */
  int pb = weft_aio_udp_port(b);
  char buf[64];
  size_t n;
  weft_aio_scope sc;
  weft_aio_scope_enter(&sc, 10 * MS);
  T_RC(weft_aio_udp_recv(b, buf, sizeof buf, &n, NULL), WEFT_ETIMEDOUT);
  T_RC(weft_aio_scope_exit(&sc), WEFT_ETIMEDOUT);

  struct rx r = {.u = b, .rc = 1};
  weft_aio_task *t;
  T_OK(weft_aio_spawn(one_recv, &r, &t));
  T_OK(weft_aio_sleep(2 * MS));
  T_OK(weft_aio_cancel(t));
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  T_RC(r.rc, WEFT_ECANCELED);
  T_OK(weft_aio_udp_send(a, "127.0.0.1", pb, "after", 5)); /* not lost */
  T_OK(weft_aio_udp_recv(b, buf, sizeof buf, &n, NULL));
  T_EQ(n, 5);

  /* three receivers, three datagrams: one each */
  struct rx rs[3];
  weft_aio_task *ts[3];
  for (int i = 0; i < 3; i++) {
    rs[i] = (struct rx){.u = b, .rc = 1};
    T_OK(weft_aio_spawn(one_recv, &rs[i], &ts[i]));
  }
  T_OK(weft_aio_sleep(2 * MS));
  for (int i = 0; i < 3; i++) T_OK(weft_aio_udp_send(a, "127.0.0.1", pb, &"abc"[i], 1));
  unsigned seen = 0;
  for (int i = 0; i < 3; i++) {
    T_OK(weft_aio_await(ts[i]));
    weft_aio_task_release(ts[i]);
    T_OK(rs[i].rc);
    T_EQ(rs[i].n, 1);
    seen |= 1u << (rs[i].buf[0] - 'a');
  }
  T_EQ(seen, 7);

  /* close from another task wakes a waiting receiver */
  r = (struct rx){.u = b, .rc = 1};
  T_OK(weft_aio_spawn(one_recv, &r, &t));
  T_OK(weft_aio_sleep(2 * MS));
  weft_aio_udp_close(b);
  T_OK(weft_aio_await(t));
  weft_aio_task_release(t);
  T_RC(r.rc, WEFT_ECLOSED);
  weft_aio_udp_close(a);
  return 0;
}

static void test_waits(void **state) {
  (void)state;
  run_main(waits_main, NULL);
}

static int ipv6_main(void *arg) {
  (void)arg;
  weft_aio_udp *a, *b;
  if (weft_aio_udp_bind("::1", 0, &a)) {
    g_skip = true;
    return 0;
  }
  T_OK(weft_aio_udp_bind("::1", 0, &b));
  T_OK(weft_aio_udp_send(a, "::1", weft_aio_udp_port(b), "six", 3));
  char buf[8];
  size_t n;
  struct sockaddr_storage from;
  T_OK(weft_aio_udp_recv(b, buf, sizeof buf, &n, &from));
  T_EQ(n, 3);
  T_EQ(from.ss_family, AF_INET6);
  T_EQ(port_of(&from), weft_aio_udp_port(a));
  T_RC(weft_aio_udp_send(a, "127.0.0.1", 9, "x", 1), WEFT_EINVAL); /* not its family */
  weft_aio_udp_close(a);
  weft_aio_udp_close(b);
  return 0;
}

static void test_ipv6(void **state) {
  (void)state;
  run_main(ipv6_main, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_send_recv),
      cmocka_unit_test(test_waits),
      cmocka_unit_test(test_ipv6),
  };
  return cmocka_run_group_tests(tests, warm_up, NULL);
}
