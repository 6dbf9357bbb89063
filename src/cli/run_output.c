/* src/cli/run_output.c — where the jobs' outputs go.
 *
 * Grouped (the default): a job's stdout and then its stderr are written in
 * one piece when it ends, so no two jobs' outputs ever interleave. With -k
 * a finished job waits in a ring indexed by its number until every earlier
 * job has printed. --line-buffer writes complete lines as they come;
 * --tag prefixes every line with the job's arguments and a TAB.
 *
 * Writes are plain blocking write(2)s: a reader of our stdout that is
 * slower than the jobs slows the whole run, as with GNU parallel. When the
 * reader is gone (EPIPE), no new jobs start. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "weft/core.h"
#include "cli/run.h"

int run_write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno == EPIPE ? WEFT_EPIPE : WEFT_EIO;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int run_write_tagged(int fd, const run_buf *tag, const char *p, size_t n) {
  if (!tag || !tag->p || n == 0) return run_write_all(fd, p, n);
  /* Lines are gathered with their tags and written in large pieces. */
  run_buf b = {0};
  int rc = 0;
  while (n > 0 && !rc) {
    const char *nl = memchr(p, '\n', n);
    size_t len = nl ? (size_t)(nl - p) + 1 : n;
    rc = run_buf_add(&b, tag->p, tag->len) || run_buf_addc(&b, '\t') || run_buf_add(&b, p, len);
    p += len;
    n -= len;
    if (!rc && b.len >= 65536) {
      rc = run_write_all(fd, b.p, b.len);
      b.len = 0;
    }
  }
  if (!rc && b.len) rc = run_write_all(fd, b.p, b.len);
  run_buf_free(&b);
  return rc ? (rc == WEFT_EPIPE ? rc : WEFT_EIO) : 0;
}

static int emit(run_state *st, const run_buf *tag, const run_buf *out, const run_buf *err) {
  int rc = 0;
  if (out->len && !st->out_broken) rc = run_write_tagged(1, tag, out->p, out->len);
  if (rc == WEFT_EPIPE) {
    st->out_broken = st->stopping = true; /* nobody reads our output any more */
    rc = 0;
  }
  if (!rc && err->len) rc = run_write_tagged(2, tag, err->p, err->len);
  return rc == WEFT_EPIPE ? 0 : rc;
}

/* Makes the ring hold seq (grows it, keeping each entry at seq & mask). */
static int order_reserve(run_state *st, uint64_t seq) {
  if (seq - st->order_base < st->order_cap) return 0;
  size_t cap = st->order_cap ? st->order_cap : 64;
  while (seq - st->order_base >= cap) cap *= 2;
  run_order_entry *ring = calloc(cap, sizeof *ring);
  if (!ring) return WEFT_ENOMEM;
  for (size_t i = 0; i < st->order_cap; i++) {
    uint64_t s = st->order_base + i;
    ring[s & (cap - 1)] = st->order[s & (st->order_cap - 1)];
  }
  free(st->order);
  st->order = ring;
  st->order_cap = cap;
  return 0;
}

/* Prints every ready job from order_base on. */
static int order_flush(run_state *st, const run_buf *notag) {
  int rc = 0;
  while (st->order_cap && !rc) {
    run_order_entry *e = &st->order[st->order_base & (st->order_cap - 1)];
    if (!e->ready) break;
    rc = emit(st, notag, &e->out, &e->err);
    e->out.len = e->err.len = 0;
    e->ready = false;
    st->order_base++;
  }
  return rc;
}

/* Under -k the tag is applied when the job is stored (the slot's tag buffer
 * is reused by its next job). */
static int store_tagged(run_buf *dst, const run_buf *tag, run_buf *src) {
  dst->len = 0;
  if (!tag || !tag->p || !src->len) {
    run_buf t = *dst; /* swap: the slot keeps a buffer to reuse */
    *dst = *src;
    *src = t;
    src->len = 0;
    return 0;
  }
  const char *p = src->p;
  size_t n = src->len;
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    size_t len = nl ? (size_t)(nl - p) + 1 : n;
    if (run_buf_add(dst, tag->p, tag->len) || run_buf_addc(dst, '\t') || run_buf_add(dst, p, len))
      return WEFT_ENOMEM;
    p += len;
    n -= len;
  }
  src->len = 0;
  return 0;
}

int run_out_job(run_state *st, uint64_t seq, const run_buf *tag, run_buf *out, run_buf *err) {
  if (!st->o->keep_order) {
    int rc = emit(st, tag, out, err);
    out->len = err->len = 0;
    return rc;
  }
  if (seq < st->order_base) return 0;
  int rc = order_reserve(st, seq);
  if (rc) return rc;
  run_order_entry *e = &st->order[seq & (st->order_cap - 1)];
  if ((rc = store_tagged(&e->out, tag, out)) || (rc = store_tagged(&e->err, tag, err))) return rc;
  e->ready = true;
  return order_flush(st, NULL);
}

int run_out_skip(run_state *st, uint64_t seq) {
  if (!st->o->keep_order || seq < st->order_base) return 0;
  int rc = order_reserve(st, seq);
  if (rc) return rc;
  run_order_entry *e = &st->order[seq & (st->order_cap - 1)];
  e->out.len = e->err.len = 0;
  e->ready = true;
  return order_flush(st, NULL);
}

int run_out_lines(run_state *st, int fd, const run_buf *tag, run_buf *b, bool final) {
  if (!b->len) return 0;
  const char *last = memrchr(b->p, '\n', b->len);
  size_t n = final ? b->len : last ? (size_t)(last - b->p) + 1 : 0;
  if (!n) return 0;
  int rc = 0;
  if (!(fd == 1 && st->out_broken)) rc = run_write_tagged(fd, tag->p ? tag : NULL, b->p, n);
  if (rc == WEFT_EPIPE && fd == 1) st->out_broken = st->stopping = true;
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
  return rc == WEFT_EPIPE ? 0 : rc;
}

void run_out_free(run_state *st) {
  /* Jobs that finished after one that never ran (a stop) still print. */
  for (size_t i = 0; i < st->order_cap; i++) {
    run_order_entry *e = &st->order[(st->order_base + i) & (st->order_cap - 1)];
    if (e->ready) emit(st, NULL, &e->out, &e->err);
  }
  for (size_t i = 0; i < st->order_cap; i++) {
    run_buf_free(&st->order[i].out);
    run_buf_free(&st->order[i].err);
  }
  free(st->order);
  st->order = NULL;
  st->order_cap = 0;
}
