/* src/cli/run_input.c — the inputs of `weft run`: job records, reading
 * records from a stream, sources loaded into memory, and the generator of
 * jobs over several sources (GNU parallel's ::: ::: = all combinations,
 * :::+ = zipped with the source before it (the shorter one decides), and
 * --link = all zipped, shorter ones wrapping around).
 *
 * A single source read from stdin or a file is streamed by run_exec.c with
 * a run_reader and never loaded; everything else is loaded here first. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "weft/core.h"
#include "cli/run.h"

/* ---- job records ---- */

run_job *run_job_new(uint64_t seq, const char *const *args, const size_t *lens, unsigned n) {
  size_t bytes = sizeof(run_job) + n * sizeof(char *);
  for (unsigned i = 0; i < n; i++) bytes += lens[i] + 1;
  run_job *j = malloc(bytes);
  if (!j) return NULL;
  j->seq = seq;
  j->slot = 0;
  j->nargs = n;
  char *p = (char *)&j->args[n];
  for (unsigned i = 0; i < n; i++) {
    memcpy(p, args[i], lens[i]);
    p[lens[i]] = '\0';
    j->args[i] = p;
    p += lens[i] + 1;
  }
  return j;
}

/* --colsep is a Perl regex in GNU parallel. Plain strings (the usual ","
 * or "\t") are matched literally; others go to POSIX extended regexes,
 * with Perl's \t \s \d translated first. */
typedef struct colsep_re {
  const char *src; /* the option string this was made from */
  bool literal, ok;
  char lit[256];
  regex_t re;
} colsep_re;

static colsep_re colsep_cache;

static void colsep_prepare(const char *cs) {
  colsep_re *c = &colsep_cache;
  if (c->src == cs) return;
  if (c->ok && !c->literal) regfree(&c->re);
  memset(c, 0, sizeof *c);
  c->src = cs;
  char pat[1024];
  size_t n = 0;
  bool meta = false;
  for (const char *p = cs; *p && n < sizeof pat - 16; p++) {
    if (*p == '\\' && p[1] == 't') pat[n++] = '\t', p++;
    else if (*p == '\\' && p[1] == 's') n += (size_t)sprintf(pat + n, "[[:space:]]"), p++, meta = true;
    else if (*p == '\\' && p[1] == 'd') n += (size_t)sprintf(pat + n, "[0-9]"), p++, meta = true;
    else {
      if (strchr(".[]()*+?{}|^$\\", *p)) meta = true;
      pat[n++] = *p;
    }
  }
  pat[n] = '\0';
  if (!meta && n < sizeof c->lit) {
    memcpy(c->lit, pat, n + 1);
    c->literal = c->ok = n > 0;
    return;
  }
  c->ok = regcomp(&c->re, pat, REG_EXTENDED) == 0;
}

/* Finds the next separator in s: its start and length, false if none. */
static bool colsep_find(const char *s, size_t *at, size_t *len) {
  colsep_re *c = &colsep_cache;
  if (!c->ok) return false;
  if (c->literal) {
    const char *f = strstr(s, c->lit);
    if (!f) return false;
    *at = (size_t)(f - s);
    *len = strlen(c->lit);
    return true;
  }
  regmatch_t m;
  if (regexec(&c->re, s, 1, &m, 0) != 0 || m.rm_eo == m.rm_so) return false;
  *at = (size_t)m.rm_so;
  *len = (size_t)(m.rm_eo - m.rm_so);
  return true;
}

run_job *run_job_colsep(run_job *j, const char *colsep) {
  colsep_prepare(colsep);
  size_t cap = 16, n = 0;
  const char **cols = malloc(cap * sizeof *cols);
  size_t *lens = malloc(cap * sizeof *lens);
  run_job *out = NULL;
  if (!cols || !lens) goto done;
  for (unsigned i = 0; i < j->nargs; i++) {
    const char *s = j->args[i];
    for (;;) {
      if (n == cap) {
        cap *= 2;
        const char **nc = realloc(cols, cap * sizeof *cols);
        if (nc) cols = nc;
        size_t *nl = realloc(lens, cap * sizeof *lens);
        if (nl) lens = nl;
        if (!nc || !nl) goto done;
      }
      size_t at, len;
      bool found = colsep_find(s, &at, &len);
      cols[n] = s;
      lens[n++] = found ? at : strlen(s);
      if (!found) break;
      s += at + len;
    }
  }
  out = run_job_new(j->seq, cols, lens, (unsigned)n);
done:
  free(cols);
  free(lens);
  free(j);
  return out;
}

/* ---- reading records ---- */

void run_reader_init(run_reader *r, char sep, int (*fill)(void *, char *, size_t, size_t *),
                     void *ctx) {
  memset(r, 0, sizeof *r);
  r->sep = sep;
  r->fill = fill;
  r->ctx = ctx;
}

void run_reader_free(run_reader *r) {
  free(r->buf);
  r->buf = NULL;
}

int run_fill_fd(void *ctx, char *buf, size_t cap, size_t *n) {
  int fd = *(int *)ctx;
  for (;;) {
    ssize_t got = read(fd, buf, cap);
    if (got > 0) return *n = (size_t)got, 0;
    if (got == 0) return 1;
    if (errno != EINTR) return WEFT_EIO;
  }
}

int run_reader_next(run_reader *r, const char **rec, size_t *len) {
  size_t scanned = r->start;
  for (;;) {
    char *hit = r->end > scanned ? memchr(r->buf + scanned, r->sep, r->end - scanned) : NULL;
    if (hit) {
      *rec = r->buf + r->start;
      *len = (size_t)(hit - *rec);
      *hit = '\0';
      r->start = (size_t)(hit - r->buf) + 1;
      return 1;
    }
    if (r->eof) {
      if (r->start == r->end) return 0;
      *rec = r->buf + r->start; /* a last record without separator */
      *len = r->end - r->start;
      r->buf[r->end] = '\0';    /* room kept below */
      r->start = r->end;
      return 1;
    }
    /* Keep the partial record, make room, read more. */
    size_t keep = r->end - r->start;
    if (r->start) memmove(r->buf, r->buf + r->start, keep);
    r->start = 0;
    r->end = scanned = keep;
    if (r->cap - r->end < 4096 + 1) {
      size_t nc = r->cap ? r->cap * 2 : 65536;
      char *nb = realloc(r->buf, nc);
      if (!nb) return WEFT_ENOMEM;
      r->buf = nb;
      r->cap = nc;
    }
    size_t got = 0;
    int rc = r->fill(r->ctx, r->buf + r->end, r->cap - r->end - 1, &got);
    if (rc < 0) return rc;
    if (rc == 1) r->eof = true;
    r->end += got;
  }
}

/* ---- sources in memory ---- */

static int src_push(run_source *s, const char *rec, size_t len) {
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 64;
    char **nv = realloc(s->vals, nc * sizeof *nv);
    if (!nv) return WEFT_ENOMEM;
    s->vals = nv;
    s->cap = nc;
  }
  char *v = malloc(len + 1);
  if (!v) return WEFT_ENOMEM;
  memcpy(v, rec, len);
  v[len] = '\0';
  s->vals[s->n++] = v;
  return 0;
}

static int load_with(run_source *s, char sep, int (*fill)(void *, char *, size_t, size_t *),
                     void *ctx) {
  run_reader r;
  run_reader_init(&r, sep, fill, ctx);
  s->owned = true;
  const char *rec;
  size_t len;
  int rc;
  while ((rc = run_reader_next(&r, &rec, &len)) == 1)
    if ((rc = src_push(s, rec, len))) break;
  run_reader_free(&r);
  return rc;
}

int run_sources_load(run_opts *o, int (*stdin_fill)(void *, char *, size_t, size_t *),
                     void *stdin_ctx) {
  for (size_t i = 0; i < o->nsrc; i++) {
    run_source *s = &o->src[i];
    int rc = 0;
    if (s->kind == RUN_SRC_STDIN) {
      rc = load_with(s, o->sep, stdin_fill, stdin_ctx);
    } else if (s->kind == RUN_SRC_FILE) {
      int fd = open(s->path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        fprintf(stderr, "weft run: cannot open input file '%s': %s\n", s->path,
                strerror(errno));
        return WEFT_ENOENT;
      }
      rc = load_with(s, o->sep, run_fill_fd, &fd);
      close(fd);
    }
    if (rc < 0) return rc;
    s->kind = RUN_SRC_ARGS;
  }
  return 0;
}

/* ---- the generator ---- */

int run_gen_init(run_gen *g, const run_opts *o) {
  memset(g, 0, sizeof *g);
  g->o = o;
  size_t n = o->nsrc;
  g->group_first = calloc(n + 1, sizeof(size_t));
  g->group_len = calloc(n + 1, sizeof(size_t));
  g->idx = calloc(n + 1, sizeof(size_t));
  g->vals = calloc(n + 1, sizeof(char *));
  g->lens = calloc(n + 1, sizeof(size_t));
  if (!g->group_first || !g->group_len || !g->idx || !g->vals || !g->lens) goto nomem;
  for (size_t i = 0; i < n; i++) {
    size_t len = o->src[i].n;
    bool joins = i > 0 && (o->link || o->src[i].linked);
    if (!joins) {
      g->group_first[g->ngroups] = i;
      g->group_len[g->ngroups++] = len;
      continue;
    }
    size_t *gl = &g->group_len[g->ngroups - 1];
    *gl = o->link ? (len > *gl ? len : *gl) : (len < *gl ? len : *gl);
  }
  g->group_first[g->ngroups] = n;
  if (o->link) /* wrapping is only fair when no source is empty */
    for (size_t i = 0; i < n; i++)
      if (o->src[i].n == 0) g->group_len[0] = 0;
  g->total = g->ngroups ? 1 : 0;
  for (size_t k = 0; k < g->ngroups; k++) g->total *= g->group_len[k];
  if (o->shuf && g->total > 1) {
    g->perm = malloc(g->total * sizeof *g->perm);
    if (!g->perm) goto nomem;
    for (uint64_t i = 0; i < g->total; i++) g->perm[i] = i;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    for (uint64_t i = g->total - 1; i > 0; i--) {
      uint64_t r = ((uint64_t)rand_r(&seed) << 31 ^ (uint64_t)rand_r(&seed)) % (i + 1);
      uint64_t t = g->perm[i];
      g->perm[i] = g->perm[r];
      g->perm[r] = t;
    }
  }
  return 0;
nomem:
  run_gen_free(g);
  return WEFT_ENOMEM;
}

int run_gen_next(run_gen *g, run_job **out) {
  if (g->next >= g->total) return 0;
  uint64_t k = g->perm ? g->perm[g->next] : g->next;
  for (size_t gi = g->ngroups; gi-- > 0;) {
    g->idx[gi] = (size_t)(k % g->group_len[gi]);
    k /= g->group_len[gi];
  }
  for (size_t gi = 0; gi < g->ngroups; gi++)
    for (size_t s = g->group_first[gi]; s < g->group_first[gi + 1]; s++) {
      const run_source *src = &g->o->src[s];
      g->vals[s] = src->vals[g->idx[gi] % src->n];
      g->lens[s] = strlen(g->vals[s]);
    }
  /* {#} numbers jobs in the order they run (also when shuffled). */
  uint64_t seq = ++g->next;
  *out = run_job_new(seq, g->vals, g->lens, (unsigned)g->o->nsrc);
  return *out ? 1 : WEFT_ENOMEM;
}

void run_gen_free(run_gen *g) {
  free(g->group_first);
  free(g->group_len);
  free(g->idx);
  free(g->vals);
  free(g->lens);
  free(g->perm);
  memset(g, 0, sizeof *g);
}
