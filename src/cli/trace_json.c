/* src/cli/trace_json.c — the JSON reader behind `weft trace` (RFC 8259:
 * strings with escapes and \u sequences incl. surrogate pairs, numbers,
 * nesting to a fixed depth). Errors say what was expected and at which
 * byte offset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/trace_json.h"

#define MAX_DEPTH 64
#define BLOCK (1u << 20)

struct tj_arena {
  struct block { struct block *next; size_t used, cap; char data[]; } *head;
};

static void *arena_alloc(tj_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (!a->head || a->head->cap - a->head->used < n) {
    size_t cap = n > BLOCK ? n : BLOCK;
    struct block *b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->next = a->head;
    b->used = 0;
    b->cap = cap;
    a->head = b;
  }
  void *r = a->head->data + a->head->used;
  a->head->used += n;
  return r;
}

void tj_arena_reset(tj_parser *ps) {
  struct block *b = ps->arena->head;
  if (!b) return;
  while (b->next) { /* keep one block */
    struct block *n = b->next;
    b->next = n->next;
    free(n);
  }
  b->used = 0;
}

int tj_init(tj_parser *ps, const char *text, size_t len) {
  memset(ps, 0, sizeof *ps);
  ps->p = ps->start = text;
  ps->end = text + len;
  ps->arena = calloc(1, sizeof *ps->arena);
  return ps->arena ? 0 : -1;
}

void tj_fini(tj_parser *ps) {
  if (!ps->arena) return;
  for (struct block *b = ps->arena->head, *n; b; b = n) {
    n = b->next;
    free(b);
  }
  free(ps->arena);
  ps->arena = NULL;
}

static void *fail(tj_parser *ps, const char *what) {
  if (!ps->err[0])
    snprintf(ps->err, sizeof ps->err, "%s at byte %ld", what, (long)(ps->p - ps->start));
  return NULL;
}

void tj_skip_ws(tj_parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
    ps->p++;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static char *put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) *o++ = (char)cp;
  else if (cp < 0x800) *o++ = (char)(0xC0 | cp >> 6), *o++ = (char)(0x80 | (cp & 0x3F));
  else if (cp < 0x10000)
    *o++ = (char)(0xE0 | cp >> 12), *o++ = (char)(0x80 | (cp >> 6 & 0x3F)),
    *o++ = (char)(0x80 | (cp & 0x3F));
  else
    *o++ = (char)(0xF0 | cp >> 18), *o++ = (char)(0x80 | (cp >> 12 & 0x3F)),
    *o++ = (char)(0x80 | (cp >> 6 & 0x3F)), *o++ = (char)(0x80 | (cp & 0x3F));
  return o;
}

static int escape(tj_parser *ps, char **o) {
  char c = *ps->p++;
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *k = strchr(from, c);
  if (c && k) {
    *(*o)++ = to[k - from];
    return 0;
  }
  unsigned cp, lo;
  if (c != 'u' || ps->end - ps->p < 4 || hex4(ps->p, &cp) != 0) return -1;
  ps->p += 4;
  if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair */
    if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) != 0 ||
        lo < 0xDC00 || lo >= 0xE000)
      return -1;
    ps->p += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  } else if (cp >= 0xDC00 && cp < 0xE000) {
    return -1;
  }
  *o = put_utf8(*o, cp);
  return 0;
}

static const char *parse_string(tj_parser *ps) {
  if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a string");
  ps->p++;
  const char *q = ps->p;
  while (q < ps->end && *q != '"') q += *q == '\\' ? 2 : 1;
  if (q >= ps->end) return fail(ps, "unterminated string");
  char *out = arena_alloc(ps->arena, (size_t)(q - ps->p) + 1), *o = out;
  if (!out) return fail(ps, "out of memory");
  while (*ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p;
    if (c < 0x20) return fail(ps, "control character in string");
    if (c == '\\') {
      ps->p++;
      if (escape(ps, &o) != 0) return fail(ps, "bad escape in string");
    } else {
      *o++ = (char)c;
      ps->p++;
    }
  }
  ps->p++;
  *o = 0;
  return out;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(tj_parser *ps, double *out) {
  const char *s = ps->p;
  if (s < ps->end && *s == '-') s++;
  if (s >= ps->end || !is_digit(*s)) return -1;
  if (*s == '0') s++;
  else while (s < ps->end && is_digit(*s)) s++;
  if (s < ps->end && *s == '.') {
    s++;
    if (s >= ps->end || !is_digit(*s)) return -1;
    while (s < ps->end && is_digit(*s)) s++;
  }
  if (s < ps->end && (*s == 'e' || *s == 'E')) {
    s++;
    if (s < ps->end && (*s == '+' || *s == '-')) s++;
    if (s >= ps->end || !is_digit(*s)) return -1;
    while (s < ps->end && is_digit(*s)) s++;
  }
  char buf[64];
  size_t n = (size_t)(s - ps->p);
  if (n >= sizeof buf) return -1;
  memcpy(buf, ps->p, n);
  buf[n] = 0;
  *out = strtod(buf, NULL);
  ps->p = s;
  return 0;
}

static tj_val *parse_in(tj_parser *ps, int depth);

/* Items of an array or object: parsed into a growing temporary list, then
 * copied into the arena in one piece. */
static tj_val *parse_container(tj_parser *ps, int depth, bool obj) {
  char close = obj ? '}' : ']';
  ps->p++;
  size_t n = 0, cap = 8;
  tj_val **vals = malloc(cap * sizeof *vals);
  const char **keys = malloc(cap * sizeof *keys);
  tj_val *r = NULL;
  if (!vals || !keys) goto out;
  tj_skip_ws(ps);
  if (ps->p < ps->end && *ps->p == close) {
    ps->p++;
  } else {
    for (;;) {
      if (n == cap) {
        cap *= 2;
        tj_val **nv = realloc(vals, cap * sizeof *vals);
        if (nv) vals = nv;
        const char **nk = realloc(keys, cap * sizeof *keys);
        if (nk) keys = nk;
        if (!nv || !nk) goto out;
      }
      tj_skip_ws(ps);
      if (obj) {
        if (!(keys[n] = parse_string(ps))) goto out;
        tj_skip_ws(ps);
        if (ps->p >= ps->end || *ps->p++ != ':') {
          fail(ps, "expected ':'");
          goto out;
        }
      }
      if (!(vals[n++] = parse_in(ps, depth + 1))) goto out;
      tj_skip_ws(ps);
      if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
      if (ps->p < ps->end && *ps->p == close) { ps->p++; break; }
      fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
      goto out;
    }
  }
  r = arena_alloc(ps->arena, sizeof *r);
  tj_val *items = arena_alloc(ps->arena, (n ? n : 1) * sizeof *items);
  const char **ks = obj ? arena_alloc(ps->arena, (n ? n : 1) * sizeof *ks) : NULL;
  if (!r || !items || (obj && !ks)) {
    r = fail(ps, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    items[i] = *vals[i];
    if (obj) ks[i] = keys[i];
  }
  *r = (tj_val){.type = obj ? TJ_OBJ : TJ_ARR, .n = n, .items = items, .keys = ks};
out:
  free(vals);
  free(keys);
  return r;
}

static tj_val *parse_in(tj_parser *ps, int depth) {
  if (depth > MAX_DEPTH) return fail(ps, "nested too deeply");
  tj_skip_ws(ps);
  if (ps->p >= ps->end) return fail(ps, "unexpected end of input");
  char c = *ps->p;
  if (c == '{' || c == '[') return parse_container(ps, depth, c == '{');
  tj_val *v = arena_alloc(ps->arena, sizeof *v);
  if (!v) return fail(ps, "out of memory");
  memset(v, 0, sizeof *v);
  size_t left = (size_t)(ps->end - ps->p);
  if (c == '"') {
    v->type = TJ_STR;
    if (!(v->str = parse_string(ps))) return NULL;
  } else if (left >= 4 && memcmp(ps->p, "true", 4) == 0) {
    v->type = TJ_BOOL, v->num = 1, ps->p += 4;
  } else if (left >= 5 && memcmp(ps->p, "false", 5) == 0) {
    v->type = TJ_BOOL, ps->p += 5;
  } else if (left >= 4 && memcmp(ps->p, "null", 4) == 0) {
    v->type = TJ_NULL, ps->p += 4;
  } else {
    v->type = TJ_NUM;
    if (parse_number(ps, &v->num) != 0) return fail(ps, "expected a value");
  }
  return v;
}

tj_val *tj_parse_value(tj_parser *ps) {
  return parse_in(ps, 0);
}

int tj_walk_array(tj_parser *ps, int (*on_item)(const tj_val *v, void *ctx), void *ctx) {
  tj_skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != '[') return fail(ps, "expected '['"), -1;
  ps->p++;
  tj_skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ']') return ps->p++, 0;
  for (;;) {
    tj_val *v = parse_in(ps, 1);
    if (!v || on_item(v, ctx) != 0) return fail(ps, "bad array item"), -1;
    tj_arena_reset(ps);
    tj_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
    if (ps->p < ps->end && *ps->p == ']') { ps->p++; return 0; }
    return fail(ps, "expected ',' or ']'"), -1;
  }
}

int tj_walk_object(tj_parser *ps, int (*on_key)(const char *key, tj_parser *ps, void *ctx),
                   void *ctx) {
  tj_skip_ws(ps);
  if (ps->p >= ps->end || *ps->p != '{') return fail(ps, "expected '{'"), -1;
  ps->p++;
  tj_skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '}') return ps->p++, 0;
  for (;;) {
    tj_skip_ws(ps);
    const char *k = parse_string(ps);
    if (!k) return -1;
    char key[64];
    snprintf(key, sizeof key, "%s", k);
    tj_skip_ws(ps);
    if (ps->p >= ps->end || *ps->p++ != ':') return fail(ps, "expected ':'"), -1;
    if (on_key(key, ps, ctx) != 0) return fail(ps, "bad value"), -1;
    tj_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
    if (ps->p < ps->end && *ps->p == '}') { ps->p++; break; }
    return fail(ps, "expected ',' or '}'"), -1;
  }
  tj_skip_ws(ps);
  if (ps->p != ps->end) return fail(ps, "trailing data after the object"), -1;
  return 0;
}

const tj_val *tj_get(const tj_val *obj, const char *key) {
  if (!obj || obj->type != TJ_OBJ) return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
  return NULL;
}

double tj_num(const tj_val *obj, const char *key, double dflt) {
  const tj_val *v = tj_get(obj, key);
  return v && v->type == TJ_NUM ? v->num : dflt;
}

const char *tj_str(const tj_val *obj, const char *key, const char *dflt) {
  const tj_val *v = tj_get(obj, key);
  return v && v->type == TJ_STR ? v->str : dflt;
}

char *tj_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
    n += r;
    if (cap - n - 1 == 0) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        errno = ENOMEM;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  if (buf && ferror(f)) {
    free(buf);
    buf = NULL;
    errno = EIO;
  }
  fclose(f);
  if (!buf) return NULL;
  buf[n] = 0;
  *len = n;
  return buf;
}
