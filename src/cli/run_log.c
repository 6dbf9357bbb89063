/* src/cli/run_log.c — --joblog, --resume, --resume-failed and --results.
 *
 * The joblog has GNU parallel's columns and number formats, TAB-separated:
 *   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 *   1   :    1700000000.123 "%10.3f" 0 <stdout bytes> <code> <signal> <line>
 * One line per job in the order jobs finish, flushed at once, so a run
 * that is killed can be resumed with nothing lost. Without --resume* the
 * file is rewritten; with them, jobs already logged (--resume), or logged
 * as succeeded (--resume-failed), are skipped and new lines are appended.
 *
 * --results DIR, GNU parallel's layout: DIR/1/<value of source 1>/2/<value
 * of source 2>/.../{stdout,stderr,seq}, with '/' in a value written as
 * "\_" and '\' as "\\". We add an "exitval" file there as well (the exit
 * code, or 128 + the signal number). As with GNU parallel, outputs go to
 * the files instead of our stdout. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "weft/core.h"
#include "cli/run.h"

static int skip_set(run_state *st, uint64_t seq) {
  if (seq >= st->skip_bits) {
    uint64_t bits = st->skip_bits ? st->skip_bits : 1024;
    while (bits <= seq) bits *= 2;
    uint8_t *nb = realloc(st->skip, bits / 8);
    if (!nb) return WEFT_ENOMEM;
    memset(nb + st->skip_bits / 8, 0, (bits - st->skip_bits) / 8);
    st->skip = nb;
    st->skip_bits = bits;
  }
  st->skip[seq / 8] |= (uint8_t)(1u << (seq % 8));
  return 0;
}

bool run_log_skip(const run_state *st, uint64_t seq) {
  return seq < st->skip_bits && (st->skip[seq / 8] >> (seq % 8)) & 1;
}

/* Reads an existing joblog for --resume / --resume-failed: --resume skips
 * every job logged, --resume-failed only those logged as succeeded (a
 * resumed run appends new lines, so a job may have several). */
static int read_resume(run_state *st, FILE *f) {
  char *line = NULL;
  size_t cap = 0;
  int rc = 0;
  while (!rc && getline(&line, &cap, f) > 0) {
    char *end;
    unsigned long long seq = strtoull(line, &end, 10);
    if (end == line || *end != '\t' || seq == 0) continue; /* the header, junk */
    char *p = end; /* to the TAB before column 7 (Exitval) */
    for (int tab = 2; tab <= 6 && p; tab++) p = strchr(p + 1, '\t');
    long exitval = p ? strtol(p + 1, NULL, 10) : 1;
    long sig = p && (p = strchr(p + 1, '\t')) ? strtol(p + 1, NULL, 10) : 1;
    if (st->o->resume_failed && (exitval != 0 || sig != 0)) continue;
    rc = skip_set(st, seq);
  }
  free(line);
  return rc;
}

int run_log_open(run_state *st) {
  const run_opts *o = st->o;
  if (!o->joblog) return 0;
  bool resuming = o->resume || o->resume_failed;
  if (resuming) {
    FILE *old = fopen(o->joblog, "r");
    if (old) {
      int rc = read_resume(st, old);
      fclose(old);
      if (rc) return fprintf(stderr, "weft run: reading %s: %s\n", o->joblog, weft_strerror(rc)), rc;
    }
  }
  bool fresh = true;
  if (resuming) {
    struct stat sb;
    fresh = stat(o->joblog, &sb) != 0 || sb.st_size == 0;
  }
  FILE *f = !strcmp(o->joblog, "-") ? stdout : fopen(o->joblog, resuming ? "a" : "w");
  if (!f) {
    fprintf(stderr, "weft run: cannot open joblog '%s': %s\n", o->joblog, strerror(errno));
    return WEFT_EIO;
  }
  st->joblog = f;
  if (fresh) {
    fputs("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n", f);
    fflush(f);
  }
  return 0;
}

int run_log_job(run_state *st, const run_job *j, const run_result *r, const char *line) {
  fprintf(st->joblog, "%llu\t:\t%.3f\t%10.3f\t0\t%llu\t%d\t%d\t", (unsigned long long)j->seq,
          r->start, r->runtime, (unsigned long long)r->received, r->exitval, r->signal);
  /* One line per job: a newline inside the command is written as NUL, as
   * GNU parallel does. */
  for (const char *p = line ? line : ""; *p; p++) fputc(*p == '\n' ? '\0' : *p, st->joblog);
  fputc('\n', st->joblog);
  return fflush(st->joblog) == 0 ? 0 : WEFT_EIO;
}

void run_log_close(run_state *st) {
  if (st->joblog && st->joblog != stdout) fclose(st->joblog);
  st->joblog = NULL;
}

/* ---- --results ---- */

static int add_escaped(run_buf *b, const char *s) {
  int rc = 0;
  for (; *s && !rc; s++) {
    if (*s == '/') rc = run_buf_add(b, "\\_", 2);
    else if (*s == '\\') rc = run_buf_add(b, "\\\\", 2);
    else rc = run_buf_addc(b, *s);
  }
  return rc;
}

static int mkdirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    int rc = mkdir(path, 0777);
    *p = '/';
    if (rc && errno != EEXIST) return WEFT_EIO;
  }
  if (mkdir(path, 0777) && errno != EEXIST) return WEFT_EIO;
  return 0;
}

static int write_file(run_buf *dir, const char *name, const char *data, size_t n) {
  size_t keep = dir->len;
  int rc = run_buf_addc(dir, '/') || run_buf_add(dir, name, strlen(name));
  int fd = rc ? -1 : open(dir->p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  dir->len = keep;
  dir->p[keep] = '\0';
  if (fd < 0) return WEFT_EIO;
  rc = run_write_all(fd, data, n);
  close(fd);
  return rc;
}

int run_results_job(run_state *st, const run_job *j, const run_result *r, const run_buf *out,
                    const run_buf *err) {
  run_buf dir = {0};
  int rc = run_buf_add(&dir, st->o->results, strlen(st->o->results));
  for (unsigned i = 0; i < j->nargs && !rc; i++) {
    char num[16];
    snprintf(num, sizeof num, "/%u/", i + 1);
    rc = run_buf_add(&dir, num, strlen(num));
    if (!rc) rc = add_escaped(&dir, j->args[i]);
  }
  if (!rc) rc = mkdirs(dir.p);
  char num[32];
  if (!rc) rc = write_file(&dir, "stdout", out->p ? out->p : "", out->len);
  if (!rc) rc = write_file(&dir, "stderr", err->p ? err->p : "", err->len);
  int n = snprintf(num, sizeof num, "%llu", (unsigned long long)j->seq);
  if (!rc) rc = write_file(&dir, "seq", num, (size_t)n);
  n = snprintf(num, sizeof num, "%d", r->signal ? 128 + r->signal : r->exitval);
  if (!rc) rc = write_file(&dir, "exitval", num, (size_t)n);
  if (rc) fprintf(stderr, "weft run: cannot write results in '%s'\n", dir.p ? dir.p : "");
  run_buf_free(&dir);
  return rc;
}
