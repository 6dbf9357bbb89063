/* examples/aio_fetcher.c — a concurrent fetcher: 1,000 requests, at most 50
 * in flight, results collected in order.
 *
 * The asyncio pattern for "fetch many URLs, but be polite":
 *
 *   sem = asyncio.Semaphore(50)
 *   async def fetch(i):
 *       async with sem:                          # at most 50 at once
 *           reader, writer = await asyncio.open_connection(host, port)
 *           writer.write(f"GET /square/{i} HTTP/1.1\r\n...".encode())
 *           ...
 *   results = await asyncio.gather(*(fetch(i) for i in range(1000)))
 *
 * The "remote" server is a task of this same program on 127.0.0.1 that
 * answers GET /square/<n> with n*n, one request per connection. Every
 * fetch is a task; weft_aio_gather returns after all of them, and each
 * result lands in its own slot, so the results are in request order
 * whatever order the responses came in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <weft/aio.h>
#include <weft/weft.h>

enum { REQUESTS = 1000, IN_FLIGHT = 50 };

/* ---- the server: GET /square/<n> -> n*n, then close ---- */

static int answer(void *arg) {
  weft_aio_stream *s = arg;
  char line[512], body[32], head[160];
  size_t n;
  long x = -1;
  int rc = weft_aio_read_line(s, line, sizeof line, &n);
  if (!rc && sscanf(line, "GET /square/%ld", &x) != 1) rc = WEFT_EINVAL;
  while (!rc && (rc = weft_aio_read_line(s, line, sizeof line, &n)) == 0 && strcmp(line, "\r\n"))
    ; /* skip the headers */
  if (!rc) {
    int blen = snprintf(body, sizeof body, "%ld", x * x);
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", blen);
    rc = weft_aio_write(s, head, (size_t)hlen);
    if (!rc) rc = weft_aio_write(s, body, (size_t)blen);
    if (!rc) rc = weft_aio_drain(s);
  }
  weft_aio_close(s);
  return rc;
}

static int serve(void *arg) {
  weft_aio_server *listener = arg;
  weft_aio_stream *s;
  int rc;
  while ((rc = weft_aio_accept(listener, &s)) == 0)
    if ((rc = weft_aio_spawn(answer, s, NULL))) { /* detached: it closes its stream */
      weft_aio_close(s);
      break;
    }
  return rc == WEFT_ECLOSED ? 0 : rc;
}

/* ---- the fetcher ---- */

typedef struct fetcher {
  int port;
  weft_aio_sem *sem;
  int in_flight, max_in_flight;
  long results[REQUESTS];
} fetcher;

typedef struct fetch_job {
  fetcher *f;
  int i;
} fetch_job;

static int get_square(int port, int i, long *out) {
  weft_aio_stream *s;
  int rc = weft_aio_tcp_connect("127.0.0.1", port, &s);
  if (rc) return rc;
  char line[256];
  size_t n, length = 0;
  int len = snprintf(line, sizeof line, "GET /square/%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", i);
  rc = weft_aio_write(s, line, (size_t)len);
  if (!rc) rc = weft_aio_read_line(s, line, sizeof line, &n);
  if (!rc && strncmp(line, "HTTP/1.1 200 ", 13) != 0) rc = WEFT_EIO;
  while (!rc && (rc = weft_aio_read_line(s, line, sizeof line, &n)) == 0 && strcmp(line, "\r\n"))
    if (strncasecmp(line, "Content-Length:", 15) == 0) length = strtoul(line + 15, NULL, 10);
  if (!rc && (length == 0 || length >= sizeof line)) rc = WEFT_EIO;
  if (!rc) rc = weft_aio_read_exactly(s, line, length, NULL);
  if (!rc) {
    line[length] = '\0';
    *out = strtol(line, NULL, 10);
  }
  weft_aio_close(s);
  return rc;
}

static int fetch(void *arg) {
  fetch_job *j = arg;
  fetcher *f = j->f;
  int rc = weft_aio_sem_acquire(f->sem); /* async with sem: */
  if (rc) return rc;
  if (++f->in_flight > f->max_in_flight) f->max_in_flight = f->in_flight;
  rc = get_square(f->port, j->i, &f->results[j->i]);
  f->in_flight--;
  weft_aio_sem_release(f->sem);
  return rc;
}

static int fetch_all(fetcher *f) {
  static fetch_job jobs[REQUESTS];
  static weft_aio_task *tasks[REQUESTS];
  int rc = 0, n = 0;
  for (; n < REQUESTS && !rc; n++) {
    jobs[n] = (fetch_job){f, n};
    rc = weft_aio_spawn(fetch, &jobs[n], &tasks[n]);
  }
  if (rc) n--;
  /* Collect: every fetch runs to its end even if one fails. */
  int grc = weft_aio_gather(tasks, (size_t)n, WEFT_AIO_COLLECT);
  for (int i = 0; i < n; i++) {
    if (!rc) rc = weft_aio_task_code(tasks[i]);
    weft_aio_task_release(tasks[i]);
  }
  return rc ? rc : grc;
}

static int fetcher_main(void *arg) {
  fetcher *f = arg;
  weft_aio_server *listener;
  int rc = weft_aio_tcp_listen("127.0.0.1", 0, 128, 0, &listener);
  if (rc) return rc;
  f->port = weft_aio_server_port(listener);
  weft_aio_task *server = NULL;
  rc = weft_aio_sem_create(&f->sem, IN_FLIGHT, 0);
  if (!rc) rc = weft_aio_spawn(serve, listener, &server);
  if (!rc) rc = fetch_all(f);
  weft_aio_server_close(listener);
  if (server) {
    int src = weft_aio_await(server);
    if (!rc) rc = src;
    weft_aio_task_release(server);
  }
  if (f->sem) weft_aio_sem_destroy(f->sem);
  return rc;
}

int main(void) {
  static fetcher f;
  int rc = weft_aio_run(fetcher_main, &f);
  if (rc) {
    fprintf(stderr, "aio_fetcher: %s (%s)\n", weft_strerror(rc), weft_aio_last_error());
    return 1;
  }
  int ok = 0;
  for (int i = 0; i < REQUESTS; i++) ok += f.results[i] == (long)i * i;
  printf("%d responses, %s, max in flight %d\n", ok, ok == REQUESTS ? "in order" : "WRONG",
         f.max_in_flight);
  printf("results[0..4] = %ld %ld %ld %ld %ld, results[999] = %ld\n", f.results[0],
         f.results[1], f.results[2], f.results[3], f.results[4], f.results[999]);
  return ok == REQUESTS && f.max_in_flight <= IN_FLIGHT ? 0 : 1;
}
