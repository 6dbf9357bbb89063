/* src/cli/run_repl.c — the command template of `weft run`: replacement
 * strings, and whether a shell is needed (quoting is in run_text.c).
 *
 * GNU parallel joins the command words with spaces and runs the result
 * with `$SHELL -c`, each replacement value shell-quoted, so an input like
 * `a; rm -rf x` stays one argument. We produce exactly that line (for
 * --dry-run, the joblog, and whenever a shell is needed), but when the
 * template's own text has no shell syntax at all and names a program found
 * in PATH, running it through a shell would only split the line back into
 * the same words: then we exec the words directly (run_tmpl_argv), which
 * saves a shell start per job. Words are split only at spaces of the
 * template text, never inside a value, so both forms give the program the
 * same argv. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "weft/core.h"
#include "cli/run.h"

/* ---- parsing the template ---- */

/* Matches a replacement string at p ("{...}"): fills seg, returns its
 * length, or 0 when p does not start one. */
static size_t match_repl(const char *p, run_seg *seg, const char *repl) {
  if (repl) { /* -I: that string is {}, and the other forms stay available */
    size_t n = strlen(repl);
    if (n && strncmp(p, repl, n) == 0) {
      memset(seg, 0, sizeof *seg);
      seg->kind = RUN_SEG_ARG;
      return n;
    }
  }
  if (p[0] != '{') return 0;
  const char *q = p + 1;
  memset(seg, 0, sizeof *seg);
  if ((q[0] == '#' || q[0] == '%') && q[1] == '}') {
    seg->kind = q[0] == '#' ? RUN_SEG_SEQ : RUN_SEG_SLOT;
    return 3;
  }
  unsigned pos = 0;
  while (isdigit((unsigned char)*q) && pos < 100000) pos = pos * 10 + (unsigned)(*q++ - '0');
  if (q > p + 1 && pos == 0) return 0; /* {0} is not a replacement string */
  static const struct { const char *s; enum run_mod m; } mods[] = {
      {"}", RUN_MOD_NONE}, {".}", RUN_MOD_NOEXT}, {"/}", RUN_MOD_BASE},
      {"//}", RUN_MOD_DIR}, {"/.}", RUN_MOD_BASENOEXT}};
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
    size_t l = strlen(mods[i].s);
    if (strncmp(q, mods[i].s, l) == 0) {
      seg->kind = RUN_SEG_ARG;
      seg->mod = mods[i].m;
      seg->pos = pos;
      return (size_t)(q - p) + l;
    }
  }
  return 0;
}

static int add_seg(run_tmpl *t, size_t *cap, run_seg s) {
  if (t->nsegs == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    run_seg *ns = realloc(t->segs, nc * sizeof *ns);
    if (!ns) return WEFT_ENOMEM;
    t->segs = ns;
    *cap = nc;
  }
  t->segs[t->nsegs++] = s;
  return 0;
}

static int parse_segs(run_tmpl *t) {
  size_t cap = 0;
  const char *p = t->text, *lit = p;
  while (*p) {
    run_seg s;
    size_t n = match_repl(p, &s, t->repl);
    if (!n) {
      p++;
      continue;
    }
    if (p > lit && add_seg(t, &cap, (run_seg){.kind = RUN_SEG_LIT, .lit = lit,
                                              .len = (size_t)(p - lit)}))
      return WEFT_ENOMEM;
    if (add_seg(t, &cap, s)) return WEFT_ENOMEM;
    t->has_repl = true;
    p += n;
    lit = p;
  }
  if (p > lit &&
      add_seg(t, &cap, (run_seg){.kind = RUN_SEG_LIT, .lit = lit, .len = (size_t)(p - lit)}))
    return WEFT_ENOMEM;
  return 0;
}

/* ---- exec or shell ---- */

/* Characters that mean something to a shell (in the template's own text). */
static bool has_shell_syntax(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strchr("|&;<>()$`\\\"'*?[]#~{}!\n", s[i])) return true;
  return false;
}

/* Builtins and keywords that also exist as programs but act differently
 * (or only make sense) inside a shell. Anything not found in PATH goes to
 * the shell anyway, which then reports it as the user expects. */
static bool shell_word(const char *w) {
  static const char *const words[] = {
      "cd", "command", "type", "hash", "ulimit", "umask", "wait", "read", "getopts",
      "jobs", "fg", "bg", "alias", "unalias", "time", "exec", "exit", "export", "source",
      "set", "shift", "trap", "eval", "pwd", "if", "for", "while", "until", "case",
      "function", "select", "coproc", "declare", "local", "readonly", "unset", "let"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcmp(w, words[i]) == 0) return true;
  return false;
}

static bool executable_in_path(const char *name) {
  if (strchr(name, '/')) return access(name, X_OK) == 0;
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  char full[4096];
  while (*path) {
    const char *c = strchr(path, ':');
    size_t n = c ? (size_t)(c - path) : strlen(path);
    int len = snprintf(full, sizeof full, "%.*s/%s", (int)n, n ? path : ".", name);
    if (len > 0 && (size_t)len < sizeof full && access(full, X_OK) == 0) return true;
    path += n + (c ? 1 : 0);
  }
  return false;
}

/* Splits the segments into words at the template's spaces. */
static int split_words(run_tmpl *t) {
  size_t cap = 2 * strlen(t->text) + 4; /* a word per character at most */
  run_seg *flat = calloc(cap, sizeof *flat);
  t->words = calloc(cap, sizeof *t->words);
  t->wordlen = calloc(cap, sizeof *t->wordlen);
  if (!flat || !t->words || !t->wordlen) {
    free(flat);
    return WEFT_ENOMEM;
  }
  size_t nf = 0;
  bool inword = false;
  for (size_t i = 0; i < t->nsegs; i++) {
    run_seg s = t->segs[i];
    if (s.kind != RUN_SEG_LIT) {
      if (!inword) t->words[t->nwords++] = &flat[nf];
      t->wordlen[t->nwords - 1]++;
      flat[nf++] = s;
      inword = true;
      continue;
    }
    for (size_t k = 0; k < s.len;) {
      if (isspace((unsigned char)s.lit[k])) {
        inword = false;
        k++;
        continue;
      }
      size_t e = k;
      while (e < s.len && !isspace((unsigned char)s.lit[e])) e++;
      if (!inword) t->words[t->nwords++] = &flat[nf];
      t->wordlen[t->nwords - 1]++;
      flat[nf++] = (run_seg){.kind = RUN_SEG_LIT, .lit = s.lit + k, .len = e - k};
      inword = e == s.len; /* a value may follow directly */
      k = e;
    }
  }
  if (t->nwords == 0) free(flat);
  return 0;
}

/* Whether the direct form gives the same argv as the shell would. */
static bool can_exec_directly(const run_tmpl *t) {
  if (t->nwords == 0) return false;
  for (size_t i = 0; i < t->nsegs; i++)
    if (t->segs[i].kind == RUN_SEG_LIT && has_shell_syntax(t->segs[i].lit, t->segs[i].len))
      return false;
  run_seg *w0 = t->words[0];
  if (t->wordlen[0] != 1 || w0->kind != RUN_SEG_LIT) return false; /* program from input */
  char name[1024];
  if (w0->len >= sizeof name) return false;
  memcpy(name, w0->lit, w0->len);
  name[w0->len] = '\0';
  if (strchr(name, '=')) return false; /* VAR=value cmd */
  return !shell_word(name) && executable_in_path(name);
}

int run_tmpl_compile(run_tmpl *t, char *const *cmd, int ncmd, bool quote, const char *shell) {
  return run_tmpl_compile_ex(t, cmd, ncmd, quote, shell, NULL);
}

int run_tmpl_compile_ex(run_tmpl *t, char *const *cmd, int ncmd, bool quote, const char *shell,
                        const char *repl) {
  memset(t, 0, sizeof *t);
  t->shell = shell;
  t->repl = repl && *repl ? repl : NULL;
  if (ncmd <= 0) return WEFT_EINVAL;
  run_buf b = {0};
  for (int i = 0; i < ncmd; i++) {
    if (i && run_buf_addc(&b, ' ')) goto nomem;
    /* -q: each word quoted, as if the user had quoted it for the shell. */
    int rc = quote ? run_shell_quote(&b, cmd[i], strlen(cmd[i]))
                   : run_buf_add(&b, cmd[i], strlen(cmd[i]));
    if (rc) goto nomem;
  }
  if (!b.p && run_buf_add(&b, "", 0)) goto nomem;
  t->text = b.p;
  if (parse_segs(t)) goto nomem_t;
  if (quote) {
    /* -q: the quoted words always go through the shell, as with GNU
     * parallel (rarely used; not worth a second splitting rule). */
    t->direct = false;
  } else {
    if (split_words(t)) goto nomem_t;
    t->direct = can_exec_directly(t);
  }
  return 0;
nomem:
  run_buf_free(&b);
  return WEFT_ENOMEM;
nomem_t:
  run_tmpl_free(t);
  return WEFT_ENOMEM;
}

void run_tmpl_free(run_tmpl *t) {
  if (t->nwords) free(t->words[0]);
  free(t->words);
  free(t->wordlen);
  free(t->segs);
  free(t->text);
  memset(t, 0, sizeof *t);
}

/* ---- expansion ---- */

static int add_uint(run_buf *b, uint64_t v) {
  char num[24];
  int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
  return run_buf_add(b, num, (size_t)n);
}

/* One value (modified) quoted for the shell. */
static int add_quoted(run_buf *b, run_buf *tmp, const char *s, enum run_mod mod, bool raw) {
  if (raw) return run_apply_mod(b, s, mod);
  tmp->len = 0;
  if (run_apply_mod(tmp, s, mod)) return WEFT_ENOMEM;
  return run_shell_quote(b, tmp->p ? tmp->p : "", tmp->len);
}

static int shell_seg(const run_tmpl *t, run_buf *out, run_buf *tmp, const run_seg *s,
                     const run_job *j) {
  switch (s->kind) {
  case RUN_SEG_LIT: return run_buf_add(out, s->lit, s->len);
  case RUN_SEG_SEQ: return add_uint(out, j->seq);
  case RUN_SEG_SLOT: return add_uint(out, j->slot);
  case RUN_SEG_SPACE: return run_buf_addc(out, ' ');
  case RUN_SEG_ARG: break;
  }
  if (s->pos)
    return add_quoted(out, tmp, s->pos <= j->nargs ? j->args[s->pos - 1] : "", s->mod, t->raw);
  for (unsigned i = 0; i < j->nargs; i++) {
    if (i && run_buf_addc(out, ' ')) return WEFT_ENOMEM;
    if (add_quoted(out, tmp, j->args[i], s->mod, t->raw)) return WEFT_ENOMEM;
  }
  return 0;
}

int run_tmpl_shell_line(const run_tmpl *t, const run_job *j, run_buf *out) {
  run_buf tmp = {0};
  int rc = 0;
  out->len = 0;
  for (size_t i = 0; i < t->nsegs && !rc; i++) rc = shell_seg(t, out, &tmp, &t->segs[i], j);
  if (!rc && !t->has_repl) {
    run_seg all = {.kind = RUN_SEG_ARG};
    if (t->nsegs) rc = run_buf_addc(out, ' ');
    if (!rc) rc = shell_seg(t, out, &tmp, &all, j);
  }
  if (!rc && !out->p) rc = run_buf_add(out, "", 0);
  run_buf_free(&tmp);
  return rc;
}

/* The offsets of the words in store; turned into pointers at the end
 * (store may move while it grows). */
static int push_word(run_buf *vec, size_t off) {
  return run_buf_add(vec, (const char *)&off, sizeof off);
}

/* Expands one template word; {} with several arguments makes several. */
static int direct_word(run_buf *store, run_buf *vec, run_seg *w, size_t nw,
                       const run_job *j) {
  if (push_word(vec, store->len)) return WEFT_ENOMEM;
  for (size_t k = 0; k < nw; k++) {
    const run_seg *s = &w[k];
    int rc = 0;
    if (s->kind == RUN_SEG_LIT) rc = run_buf_add(store, s->lit, s->len);
    else if (s->kind == RUN_SEG_SEQ) rc = add_uint(store, j->seq);
    else if (s->kind == RUN_SEG_SLOT) rc = add_uint(store, j->slot);
    else if (s->pos) rc = run_apply_mod(store, s->pos <= j->nargs ? j->args[s->pos - 1] : "",
                                        s->mod);
    else
      for (unsigned i = 0; i < j->nargs && !rc; i++) {
        if (i) rc = run_buf_addc(store, '\0') || push_word(vec, store->len);
        if (!rc) rc = run_apply_mod(store, j->args[i], s->mod);
      }
    if (rc) return WEFT_ENOMEM;
  }
  return run_buf_addc(store, '\0');
}

/* echo differs between coreutils and shells: coreutils prints its help for
 * a lone --help or --version, and some shells' builtin (dash) interprets
 * backslashes. Such a job goes through the shell, so that the user's
 * shell decides, as with GNU parallel. */
static bool echo_would_differ(char **argv, size_t n) {
  if (strcmp(argv[0], "echo") != 0) return false;
  if (n == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "--version") == 0))
    return true;
  for (size_t i = 1; i < n; i++)
    if (strchr(argv[i], '\\')) return true;
  return false;
}

static int finish_argv(run_buf *store, run_buf *vec, char ***argv) {
  size_t n = vec->len / sizeof(size_t);
  if (push_word(vec, 0)) return WEFT_ENOMEM;
  size_t *off = (size_t *)(void *)vec->p;
  char **ptr = (char **)(void *)vec->p; /* same size: rewritten in place */
  for (size_t i = 0; i < n; i++) ptr[i] = store->p + off[i];
  ptr[n] = NULL;
  *argv = ptr;
  return 0;
}

static int shell_argv(const run_tmpl *t, const run_job *j, run_buf *store, run_buf *vec,
                      char ***argv) {
  run_buf line = {0};
  int rc = run_tmpl_shell_line(t, j, &line);
  store->len = vec->len = 0;
  if (!rc) rc = push_word(vec, 0) || run_buf_add(store, t->shell, strlen(t->shell) + 1);
  if (!rc) rc = push_word(vec, store->len) || run_buf_add(store, "-c", 3);
  if (!rc) rc = push_word(vec, store->len) || run_buf_add(store, line.p, line.len + 1);
  run_buf_free(&line);
  return rc ? WEFT_ENOMEM : finish_argv(store, vec, argv);
}

int run_tmpl_argv(const run_tmpl *t, const run_job *j, run_buf *store, run_buf *vec,
                  char ***argv) {
  if (!t->direct) return shell_argv(t, j, store, vec, argv);
  store->len = vec->len = 0;
  for (size_t w = 0; w < t->nwords; w++)
    if (direct_word(store, vec, t->words[w], t->wordlen[w], j)) return WEFT_ENOMEM;
  if (!t->has_repl)
    for (unsigned i = 0; i < j->nargs; i++)
      if (push_word(vec, store->len) || run_buf_add(store, j->args[i], strlen(j->args[i]) + 1))
        return WEFT_ENOMEM;
  int rc = finish_argv(store, vec, argv);
  if (!rc && echo_would_differ(*argv, vec->len / sizeof(char *) - 1))
    return shell_argv(t, j, store, vec, argv);
  return rc;
}
