/* src/cli/run_text.c — text helpers of `weft run`: growing buffers, GNU
 * parallel's shell quoting, and the path replacement strings {.} {/} {//}
 * {/.} (same results as GNU parallel 20221122, including the corners:
 * ".bashrc" has no name before its extension, "dir/" has an empty
 * basename, and {//} is dirname(1)). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "weft/core.h"
#include "cli/run.h"

/* ---- growing buffers ---- */

static int buf_reserve(run_buf *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) return WEFT_ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

int run_buf_add(run_buf *b, const char *s, size_t n) {
  if (buf_reserve(b, n)) return WEFT_ENOMEM;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

int run_buf_addc(run_buf *b, char c) { return run_buf_add(b, &c, 1); }

void run_buf_free(run_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* ---- quoting: GNU parallel's shell_quote_scalar_default ---- */

static bool plain_char(unsigned char c) {
  return isalnum(c) && c < 128 ? true : (c == '-' || c == '_' || c == '.' || c == '+' || c == '/');
}

/* Safe characters stay bare; anything else is GNU parallel's way, step by
 * step (the joblog and --dry-run show the exact text): every ' becomes
 * '"'"', the whole is wrapped in '...', then one '' at the start and one
 * at the end are dropped. */
int run_shell_quote(run_buf *b, const char *s, size_t n) {
  if (n == 0) return run_buf_add(b, "''", 2);
  bool plain = true;
  for (size_t i = 0; i < n && plain; i++) plain = plain_char((unsigned char)s[i]);
  if (plain) return run_buf_add(b, s, n);
  size_t start = b->len;
  int rc = run_buf_addc(b, '\'');
  for (size_t i = 0; i < n && !rc; i++)
    rc = s[i] == '\'' ? run_buf_add(b, "'\"'\"'", 5) : run_buf_addc(b, s[i]);
  if (!rc) rc = run_buf_addc(b, '\'');
  if (rc) return rc;
  char *q = b->p + start;
  size_t len = b->len - start;
  if (len >= 2 && q[0] == '\'' && q[1] == '\'') {
    memmove(q, q + 2, len - 2);
    len -= 2;
  }
  if (len >= 2 && q[len - 1] == '\'' && q[len - 2] == '\'') len -= 2;
  b->len = start + len;
  b->p[b->len] = '\0';
  return 0;
}

/* ---- {.} {/} {//} {/.} ---- */

/* {.}: drops a last ".ext" that has no '/' after it (s:\.[^/.]*$::). */
static size_t noext_len(const char *s, size_t n) {
  for (size_t i = n; i-- > 0;) {
    if (s[i] == '/') return n;
    if (s[i] == '.') return i;
  }
  return n;
}

/* dirname(1), as Perl's File::Basename::dirname gives it. */
static int add_dirname(run_buf *b, const char *s, size_t n) {
  size_t end = n;
  while (end > 1 && s[end - 1] == '/') end--;          /* trailing slashes */
  size_t i = end;
  while (i > 0 && s[i - 1] != '/') i--;                  /* last component */
  if (i == 0) return run_buf_add(b, n && s[0] == '/' ? "/" : ".", 1);
  while (i > 1 && s[i - 1] == '/') i--;                  /* its slashes */
  return run_buf_add(b, s, i);
}

int run_apply_mod(run_buf *b, const char *s, enum run_mod mod) {
  size_t n = strlen(s);
  const char *slash = memrchr(s, '/', n);
  const char *base = slash ? slash + 1 : s; /* {/}: all after the last slash */
  size_t blen = n - (size_t)(base - s);
  switch (mod) {
  case RUN_MOD_NONE: return run_buf_add(b, s, n);
  case RUN_MOD_NOEXT: return run_buf_add(b, s, noext_len(s, n));
  case RUN_MOD_BASE: return run_buf_add(b, base, blen);
  case RUN_MOD_DIR: return add_dirname(b, s, n);
  case RUN_MOD_BASENOEXT: return run_buf_add(b, base, noext_len(base, blen));
  }
  return WEFT_EINVAL;
}

