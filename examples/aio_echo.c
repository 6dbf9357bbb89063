/* examples/aio_echo.c — a TCP echo server and its client, in one program.
 *
 * asyncio's streams example: the server task listens (asyncio.start_server),
 * each connection gets a task of its own that echoes lines back; a client
 * task connects (asyncio.open_connection), sends a few lines and prints
 * what comes back. Both run concurrently on one thread:
 *
 *   async def handle(reader, writer):
 *       while line := await reader.readline():
 *           writer.write(line); await writer.drain()
 *       writer.close()
 *
 *   async def client(port):
 *       reader, writer = await asyncio.open_connection("127.0.0.1", port)
 *       for word in ("hello", "async", "world"):
 *           writer.write(f"{word}\n".encode()); print(await reader.readline())
 *       writer.write_eof()
 *
 * Port 0 lets the kernel pick a free port, so the program never collides
 * with anything else on the machine. */
#include <stdio.h>
#include <string.h>
#include <weft/aio.h>
#include <weft/weft.h>

enum { MAX_CONNS = 16 };

typedef struct server {
  weft_aio_server *listener;
  weft_aio_task *conns[MAX_CONNS];
  int nconns, lines;
} server;

typedef struct conn {
  server *srv;
  weft_aio_stream *stream;
} conn;

/* One connection: echo every line until the client half-closes. */
static int handle(void *arg) {
  conn *c = arg;
  char line[256];
  size_t n;
  int rc;
  while ((rc = weft_aio_read_line(c->stream, line, sizeof line, &n)) == 0) {
    if ((rc = weft_aio_write(c->stream, line, n))) break; /* waits if the peer is slow */
    c->srv->lines++;
  }
  if (rc == WEFT_EEOF) rc = weft_aio_drain(c->stream);  /* send what is queued, then close */
  weft_aio_close(c->stream);
  return rc;
}

/* Accepts until the listener is closed, a task per connection. */
static int serve(void *arg) {
  server *s = arg;
  conn cs[MAX_CONNS];
  int rc;
  weft_aio_stream *stream;
  while (s->nconns < MAX_CONNS && (rc = weft_aio_accept(s->listener, &stream)) == 0) {
    cs[s->nconns] = (conn){s, stream};
    rc = weft_aio_spawn(handle, &cs[s->nconns], &s->conns[s->nconns]);
    if (rc) {
      weft_aio_close(stream);
      break;
    }
    s->nconns++;
  }
  /* The connections use cs[] on this stack: wait for them before leaving. */
  weft_aio_gather(s->conns, (size_t)s->nconns, WEFT_AIO_COLLECT);
  for (int i = 0; i < s->nconns; i++) weft_aio_task_release(s->conns[i]);
  return rc == WEFT_ECLOSED ? 0 : rc;
}

static int client(void *arg) {
  int port = *(int *)arg;
  weft_aio_stream *s;
  int rc = weft_aio_tcp_connect("127.0.0.1", port, &s);
  if (rc) return rc;
  const char *words[] = {"hello", "async", "world"};
  for (int i = 0; i < 3 && !rc; i++) {
    char out[64], back[64];
    size_t n;
    int len = snprintf(out, sizeof out, "%s\n", words[i]);
    rc = weft_aio_write(s, out, (size_t)len);
    if (!rc) rc = weft_aio_read_line(s, back, sizeof back, &n);
    if (!rc) {
      back[strcspn(back, "\n")] = '\0';
      printf("client: sent \"%s\", got back \"%s\"\n", words[i], back);
    }
  }
  if (!rc) rc = weft_aio_shutdown(s);  /* writer.write_eof(): the server's read sees EOF */
  char rest[16];
  size_t n;
  if (!rc && weft_aio_read(s, rest, sizeof rest, &n) != WEFT_EEOF) rc = WEFT_EIO;
  weft_aio_close(s);
  return rc;
}

static int echo_main(void *arg) {
  (void)arg;
  server srv = {0};
  int rc = weft_aio_tcp_listen("127.0.0.1", 0, 16, 0, &srv.listener);
  if (rc) return rc;
  int port = weft_aio_server_port(srv.listener);
  printf("server: listening on 127.0.0.1 (port chosen by the kernel)\n");
  weft_aio_task *server_task, *client_task;
  rc = weft_aio_spawn(serve, &srv, &server_task);
  if (rc) {
    weft_aio_server_close(srv.listener);
    return rc;
  }
  rc = weft_aio_spawn(client, &port, &client_task);
  if (!rc) {
    rc = weft_aio_await(client_task);
    weft_aio_task_release(client_task);
  }
  weft_aio_server_close(srv.listener); /* the pending accept returns WEFT_ECLOSED */
  int src = weft_aio_await(server_task);
  weft_aio_task_release(server_task);
  if (!rc) rc = src;
  printf("server: %d connection, %d lines echoed\n", srv.nconns, srv.lines);
  return rc;
}

int main(void) {
  int rc = weft_aio_run(echo_main, NULL);
  if (rc) fprintf(stderr, "aio_echo: %s (%s)\n", weft_strerror(rc), weft_aio_last_error());
  return rc ? 1 : 0;
}
