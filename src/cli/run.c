/* src/cli/run.c — `weft run`: the entry point and option parsing.
 *
 * The command line is GNU parallel's: options first, then the command
 * words, then the input sources (::: values, :::: files, :::+ / ::::+ to
 * link a source with the one before it). Without any source, lines from
 * stdin are the input. Options after the command belong to the command.
 * A usage error prints a message naming the bad option and exits 255, as
 * parallel does. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "weft/core.h"
#include "weft/thread.h"
#include "cli/cli.h"
#include "cli/run.h"

static const char usage_text[] =
    "usage: weft run [options] [command [args]] [::: values]... [:::: files]...\n"
    "       ... | weft run [options] command        (one input per stdin line)\n"
    "\n"
    "Runs the command once per input (every combination of several sources),\n"
    "N at a time, like GNU parallel. {} is the input ({.} without extension,\n"
    "{/} basename, {//} dirname, {/.} basename without extension, {#} job\n"
    "number, {%} slot, {1} {2} ... one source or --colsep column, and {1.}\n"
    "{2/} ... combined); without any, the input is appended. Inputs are\n"
    "always passed as one argument each, never interpreted by a shell.\n"
    "\n"
    "  -j, --jobs N        N jobs at once; N% of the CPUs; +N / -N CPUs; 0 = many\n"
    "  -k, --keep-order    print outputs in input order\n"
    "  --line-buffer, --lb pass output through line by line\n"
    "  -u, --ungroup       pass output through as it comes\n"
    "  --tag               prefix output lines with the input\n"
    "  -a, --arg-file F    read inputs from F (like :::: F)\n"
    "  -0, --null          inputs are separated by NUL, not newline\n"
    "  -C, --colsep RE     split inputs into columns {1} {2} ...\n"
    "  --link              zip sources instead of combining them\n"
    "  --timeout S | N%    kill a job after S seconds (or N% of the median)\n"
    "  --retries N         run a failing job up to N times\n"
    "  --halt WHEN,WHAT=N  now|soon, fail|success|done = count or N%\n"
    "  --delay S           wait S seconds between job starts\n"
    "  --joblog F          log each finished job (GNU parallel's columns)\n"
    "  --resume            skip jobs already in the joblog\n"
    "  --resume-failed     ... and rerun the failed ones\n"
    "  --results DIR       each job's stdout, stderr, seq, exitval in DIR\n"
    "  --bar, --progress, --eta   show progress on stderr\n"
    "  --dry-run           print the commands, run nothing\n"
    "  --shuf              run the jobs in random order\n"
    "  -q, --quote         quote the command words for the shell\n"
    "  -I STR              STR stands for {} in the command\n"
    "  -v, --verbose       print each command line before its output\n"
    "\n"
    "Exit status: 0 if every job succeeded, else the number of failed jobs\n"
    "(at most 101); 255 on usage errors. $PARALLEL_SHELL or $SHELL runs commands\n"
    "that need a shell.\n";

static int usage_error(const char *fmt, const char *what) {
  fprintf(stderr, "weft run: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\nTry 'weft run --help'.\n");
  return RUN_EXIT_USAGE;
}

long run_parse_jobs(const char *s, unsigned ncpu) {
  char *end;
  errno = 0;
  if (!*s) return -1;
  double v = strtod(s, &end);
  if (errno || end == s || isnan(v) || isinf(v)) return -1;
  if (*end == '%' && !end[1]) {
    if (v <= 0) return -1;
    long j = (long)floor(ncpu * v / 100.0);
    return j < 1 ? 1 : j;
  }
  if (*end) return -1;
  if (s[0] == '+' || s[0] == '-') {
    long j = (long)ncpu + (long)v;
    return j < 1 ? 1 : j;
  }
  if (v < 0 || v != floor(v)) return -1;
  return (long)v;
}

/* Seconds with an optional unit: 2, 1.5, 2s, 3m, 1h, 1d. */
static bool parse_seconds(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || v < 0 || isnan(v) || isinf(v)) return false;
  double unit = 1;
  if (*end == 's') unit = 1, end++;
  else if (*end == 'm') unit = 60, end++;
  else if (*end == 'h') unit = 3600, end++;
  else if (*end == 'd') unit = 86400, end++;
  if (*end) return false;
  *out = v * unit;
  return true;
}

static bool parse_uint(const char *s, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v > 1000000) return false;
  *out = (unsigned)v;
  return true;
}

/* --halt: never | 0 | 1 | 2 | [now|soon,](fail|success|done)=N[%] */
static bool parse_halt(const char *s, run_opts *o) {
  if (!strcmp(s, "never") || !strcmp(s, "0")) return o->halt_when = RUN_HALT_NEVER, true;
  /* The old forms: 1 = soon,fail=1; 2 = now,fail=1; -1 / -2 the same with
   * success; 1-99% = soon,fail=N%. */
  bool neg = s[0] == '-';
  if (!strcmp(s + neg, "1") || !strcmp(s + neg, "2")) {
    o->halt_when = s[neg] == '1' ? RUN_HALT_SOON : RUN_HALT_NOW;
    o->halt_what = neg ? RUN_HALT_SUCCESS : RUN_HALT_FAIL;
    o->halt_value = 1;
    return true;
  }
  if (s[0] >= '0' && s[0] <= '9' && s[strlen(s) - 1] == '%') {
    char *end;
    o->halt_value = strtod(s, &end);
    o->halt_when = RUN_HALT_SOON;
    o->halt_what = RUN_HALT_FAIL;
    o->halt_pct = true;
    return *end == '%' && !end[1] && o->halt_value > 0 && o->halt_value < 100;
  }
  o->halt_when = RUN_HALT_NOW;
  if (!strncmp(s, "now,", 4)) s += 4;
  else if (!strncmp(s, "soon,", 5)) s += 5, o->halt_when = RUN_HALT_SOON;
  if (!strncmp(s, "fail=", 5)) s += 5, o->halt_what = RUN_HALT_FAIL;
  else if (!strncmp(s, "success=", 8)) s += 8, o->halt_what = RUN_HALT_SUCCESS;
  else if (!strncmp(s, "done=", 5)) s += 5, o->halt_what = RUN_HALT_DONE;
  else return false;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || v <= 0 || isnan(v)) return false;
  o->halt_pct = *end == '%';
  if (o->halt_pct) end++;
  if (*end || (o->halt_pct && v > 100)) return false;
  o->halt_value = v;
  return true;
}

static int add_source(run_opts *o, enum run_src_kind kind, bool linked, const char *path) {
  run_source *ns = realloc(o->src, (o->nsrc + 1) * sizeof *ns);
  if (!ns) return WEFT_ENOMEM;
  o->src = ns;
  ns[o->nsrc++] = (run_source){.kind = kind, .linked = linked, .path = path};
  return 0;
}

static int src_add_val(run_source *s, char *v) {
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 16;
    char **nv = realloc(s->vals, nc * sizeof *nv);
    if (!nv) return WEFT_ENOMEM;
    s->vals = nv;
    s->cap = nc;
  }
  s->vals[s->n++] = v;
  return 0;
}

/* An option's value: attached ("-j4", "--jobs=4") or the next word. */
static const char *opt_value(int argc, char **argv, int *i, const char *attached) {
  if (attached) return attached;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
}

typedef enum { OPT_OK, OPT_UNKNOWN, OPT_BAD } opt_result;

/* Options without a value. */
static bool flag_option(const char *a, run_opts *o) {
  static const struct { const char *name; size_t off; } flags[] = {
      {"-k", offsetof(run_opts, keep_order)}, {"--keep-order", offsetof(run_opts, keep_order)},
      {"--line-buffer", offsetof(run_opts, line_buffer)},
      {"--lb", offsetof(run_opts, line_buffer)}, {"-u", offsetof(run_opts, ungroup)},
      {"--ungroup", offsetof(run_opts, ungroup)}, {"--tag", offsetof(run_opts, tag)},
      {"--dry-run", offsetof(run_opts, dry_run)}, {"--dryrun", offsetof(run_opts, dry_run)},
      {"--shuf", offsetof(run_opts, shuf)}, {"-q", offsetof(run_opts, quote)},
      {"--quote", offsetof(run_opts, quote)}, {"--link", offsetof(run_opts, link)},
      {"--xapply", offsetof(run_opts, link)}, {"--bar", offsetof(run_opts, bar)},
      {"--progress", offsetof(run_opts, progress)}, {"--eta", offsetof(run_opts, eta)},
      {"--resume", offsetof(run_opts, resume)},
      {"--resume-failed", offsetof(run_opts, resume_failed)}};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    if (!strcmp(a, flags[i].name)) return *(bool *)((char *)o + flags[i].off) = true;
  if (!strcmp(a, "-0") || !strcmp(a, "--null")) return o->sep = '\0', true;
  if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) return o->verbose = true;
  /* Accepted and ignored: GNU parallel's citation notice switches, which
   * scripts carry along. */
  if (!strcmp(a, "--will-cite") || !strcmp(a, "--no-notice") || !strcmp(a, "--gnu")) return true;
  return false;
}

/* Options with a value; *name gets the option's name for messages. */
static opt_result value_option(int argc, char **argv, int *i, run_opts *o, const char **jobs) {
  const char *a = argv[*i], *attached = NULL;
  char name[64];
  const char *eq = strchr(a, '=');
  if (a[1] == '-' && eq && (size_t)(eq - a) < sizeof name) {
    memcpy(name, a, (size_t)(eq - a));
    name[eq - a] = '\0';
    attached = eq + 1;
  } else if (a[1] != '-' && a[2]) { /* -j4 */
    snprintf(name, sizeof name, "%.2s", a);
    attached = a + 2;
  } else {
    snprintf(name, sizeof name, "%s", a);
  }
  enum { JOBS, ARGF, COLSEP, TIMEOUT, RETRIES, HALT, DELAY, JOBLOG, RESULTS, REPL, MAXARGS } k;
  if (!strcmp(name, "-j") || !strcmp(name, "--jobs") || !strcmp(name, "-P") ||
      !strcmp(name, "--max-procs")) k = JOBS;
  else if (!strcmp(name, "-a") || !strcmp(name, "--arg-file")) k = ARGF;
  else if (!strcmp(name, "-C") || !strcmp(name, "--colsep")) k = COLSEP;
  else if (!strcmp(name, "--timeout")) k = TIMEOUT;
  else if (!strcmp(name, "--retries")) k = RETRIES;
  else if (!strcmp(name, "--halt") || !strcmp(name, "--halt-on-error")) k = HALT;
  else if (!strcmp(name, "--delay")) k = DELAY;
  else if (!strcmp(name, "--joblog")) k = JOBLOG;
  else if (!strcmp(name, "--results") || !strcmp(name, "--res")) k = RESULTS;
  else if (!strcmp(name, "-I")) k = REPL;
  else if (!strcmp(name, "-n") || !strcmp(name, "-N") || !strcmp(name, "--max-args")) k = MAXARGS;
  else return OPT_UNKNOWN;
  const char *v = opt_value(argc, argv, i, attached);
  if (!v) {
    usage_error("option '%s' needs a value", name);
    return OPT_BAD;
  }
  bool ok = true;
  switch (k) {
  case JOBS: *jobs = v; break;
  case ARGF: ok = add_source(o, strcmp(v, "-") ? RUN_SRC_FILE : RUN_SRC_STDIN, false, v) == 0; break;
  case COLSEP: o->colsep = v, ok = *v != '\0'; break;
  case TIMEOUT: {
    size_t n = strlen(v);
    if (n > 1 && v[n - 1] == '%') {
      char *end;
      o->timeout_pct = strtod(v, &end);
      ok = end == v + n - 1 && o->timeout_pct > 0;
    } else {
      ok = parse_seconds(v, &o->timeout_s) && o->timeout_s > 0;
    }
    break;
  }
  case RETRIES: ok = parse_uint(v, &o->retries); break;
  case HALT: ok = parse_halt(v, o); break;
  case DELAY: ok = parse_seconds(v, &o->delay_s); break;
  case JOBLOG: o->joblog = v; break;
  case RESULTS: o->results = v; break;
  case REPL: o->repl = v, ok = *v != '\0'; break;
  case MAXARGS: ok = !strcmp(v, "1"); break; /* one input per job: the only mode */
  }
  if (!ok) {
    fprintf(stderr, "weft run: invalid value '%s' for option '%s'\n", v, name);
    return OPT_BAD;
  }
  return OPT_OK;
}

static bool is_source_marker(const char *a) {
  return !strcmp(a, ":::") || !strcmp(a, ":::+") || !strcmp(a, "::::") || !strcmp(a, "::::+");
}

/* The words after the command: ::: values and :::: files. */
static int parse_sources(int argc, char **argv, int i, run_opts *o) {
  enum { NONE, VALUES, FILES } mode = NONE;
  bool linked = false;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (is_source_marker(a)) {
      mode = a[3] == ':' ? FILES : VALUES;
      linked = a[strlen(a) - 1] == '+';
      if (mode == VALUES && add_source(o, RUN_SRC_ARGS, linked, NULL)) return WEFT_ENOMEM;
      continue;
    }
    if (mode == VALUES) {
      if (src_add_val(&o->src[o->nsrc - 1], argv[i])) return WEFT_ENOMEM;
    } else {
      bool std = !strcmp(a, "-");
      if (add_source(o, std ? RUN_SRC_STDIN : RUN_SRC_FILE, linked, a)) return WEFT_ENOMEM;
      linked = false; /* ::::+ a b: only a is linked */
    }
  }
  return 0;
}

static int finish_jobs(run_opts *o, const char *jobs) {
  unsigned ncpu = weft_cpu_count();
  if (ncpu < 1) ncpu = 1;
  if (!jobs) return o->jobs = ncpu, 0;
  long j = run_parse_jobs(jobs, ncpu);
  if (j < 0) {
    fprintf(stderr, "weft run: invalid value '%s' for option '-j'\n", jobs);
    return RUN_EXIT_USAGE;
  }
  o->jobs = j == 0 ? 256 : (unsigned)(j > 100000 ? 100000 : j);
  return 0;
}

int run_parse(int argc, char **argv, run_opts *o, bool *exit_now) {
  memset(o, 0, sizeof *o);
  o->sep = '\n';
  o->retries = 1;
  *exit_now = false;
  const char *jobs = NULL;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (a[0] != '-' || !a[1] || is_source_marker(a)) break;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_text, stdout);
      return *exit_now = true, 1;
    }
    if (!strcmp(a, "--version")) {
      printf("weft run (weft %s)\n", weft_version_string());
      return *exit_now = true, 1;
    }
    if (flag_option(a, o)) continue;
    opt_result r = value_option(argc, argv, &i, o, &jobs);
    if (r == OPT_BAD) return RUN_EXIT_USAGE;
    if (r == OPT_UNKNOWN) return usage_error("unknown option '%s'", a);
  }
  o->cmd = argv + i;
  while (i < argc && !is_source_marker(argv[i])) i++;
  o->ncmd = (int)(argv + i - o->cmd);
  if (parse_sources(argc, argv, i, o)) return fprintf(stderr, "weft run: out of memory\n"), 1;
  if (o->nsrc == 0 && add_source(o, RUN_SRC_STDIN, false, "-"))
    return fprintf(stderr, "weft run: out of memory\n"), 1;
  if (o->ungroup && o->line_buffer) o->ungroup = false;
  if ((o->resume || o->resume_failed) && !o->joblog)
    return usage_error("%s needs --joblog FILE", o->resume ? "--resume" : "--resume-failed");
  o->shell = getenv("PARALLEL_SHELL");
  if (!o->shell || !*o->shell) o->shell = getenv("SHELL");
  if (!o->shell || !*o->shell) o->shell = "/bin/sh";
  return finish_jobs(o, jobs);
}

void run_opts_free(run_opts *o) {
  for (size_t i = 0; i < o->nsrc; i++) {
    if (o->src[i].owned)
      for (size_t k = 0; k < o->src[i].n; k++) free(o->src[i].vals[k]);
    free(o->src[i].vals);
  }
  free(o->src);
  memset(o, 0, sizeof *o);
}

int weft_cli_run(int argc, char **argv) {
  run_opts o;
  bool exit_now;
  int rc = run_parse(argc, argv, &o, &exit_now);
  if (exit_now) {
    run_opts_free(&o);
    return 0;
  }
  if (rc) {
    run_opts_free(&o);
    return rc;
  }
  run_tmpl t;
  /* No command: each input is a command line of its own (GNU parallel). */
  static char *as_cmd[] = {"{}"};
  bool from_input = o.ncmd == 0;
  rc = run_tmpl_compile_ex(&t, from_input ? as_cmd : o.cmd, from_input ? 1 : o.ncmd, o.quote,
                           o.shell, o.repl);
  if (rc) {
    fprintf(stderr, "weft run: %s\n", weft_strerror(rc));
    run_opts_free(&o);
    return 1;
  }
  if (from_input) t.raw = true, t.direct = false;
  rc = run_execute(&o, &t);
  run_tmpl_free(&t);
  run_opts_free(&o);
  return rc;
}
