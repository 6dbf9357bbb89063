/* src/cli/run.h — `weft run`: run a command over many inputs in parallel,
 * the way GNU parallel does (same options, replacement strings, quoting,
 * joblog columns and exit status).
 *
 * The pieces, one file each:
 *   run.c          entry point and option parsing (run_parse)
 *   run_input.c    input sources: ::: :::: :::+ -a stdin -0 --colsep, the
 *                  cross product of several sources, job records
 *   run_repl.c     the command template: replacement strings, and the
 *                  choice between exec and a shell
 *   run_text.c     buffers, GNU parallel's shell quoting, {.} {/} {//} {/.}
 *   run_exec.c     the executor: one aio loop, a reader task feeding a
 *                  bounded queue, one worker task per job slot
 *   run_job.c      one job: spawn, collect output, timeout, retries
 *   run_output.c   grouping, --line-buffer, --ungroup, --tag, -k order
 *   run_log.c      --joblog, --resume, --resume-failed, --results
 *   run_progress.c --bar / --progress / --eta
 *   run_median.c   the running median for --timeout N%
 */
#ifndef WEFT_CLI_RUN_H
#define WEFT_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RUN_EXIT_USAGE 255
#define RUN_EXIT_MAXFAIL 101

/* ---- inputs ---- */

enum run_src_kind { RUN_SRC_ARGS, RUN_SRC_FILE, RUN_SRC_STDIN };

typedef struct run_source {
  enum run_src_kind kind;
  bool linked;       /* :::+ / ::::+ : zipped with the source before it */
  const char *path;  /* RUN_SRC_FILE */
  char **vals;       /* the values once read (ARGS: borrowed argv strings) */
  size_t n, cap;
  bool owned;        /* vals[i] were allocated by us */
} run_source;

/* ---- options ---- */

enum run_halt_when { RUN_HALT_NEVER, RUN_HALT_NOW, RUN_HALT_SOON };
enum run_halt_what { RUN_HALT_FAIL, RUN_HALT_SUCCESS, RUN_HALT_DONE };

typedef struct run_opts {
  char **cmd;                /* the command words (borrowed from argv) */
  int ncmd;
  run_source *src;           /* in order: -a files first, then ::: / :::: */
  size_t nsrc;
  unsigned jobs;             /* resolved -j (>= 1) */
  bool keep_order, line_buffer, ungroup, tag, dry_run, shuf, quote, link;
  bool bar, progress, eta;
  bool verbose;              /* -v: print each command line before its output */
  const char *repl;          /* -I: the string that stands for {} (NULL: "{}") */
  char sep;                  /* record separator: '\n' or '\0' (-0) */
  const char *colsep;        /* NULL: none */
  double timeout_s;          /* 0: none */
  double timeout_pct;        /* 0: none; else % of the median runtime */
  unsigned retries;          /* runs per job at most (GNU: --retries N = N tries) */
  enum run_halt_when halt_when;
  enum run_halt_what halt_what;
  double halt_value;         /* a count, or a percentage if halt_pct */
  bool halt_pct;
  double delay_s;
  const char *joblog, *results;
  bool resume, resume_failed;
  const char *shell;         /* used when the command needs one */
} run_opts;

/* Parses argv (argv[0] = "run"). 0, or RUN_EXIT_USAGE after printing a
 * message naming the bad option; 1 with *exit_now for --help/--version
 * (already printed, exit 0). Frees with run_opts_free. */
int run_parse(int argc, char **argv, run_opts *o, bool *exit_now);
void run_opts_free(run_opts *o);
/* "50%" "+1" "-1" "0" "8" → a job count given ncpu (0 = "as many as
 * possible": capped by the caller). -1 when malformed. */
long run_parse_jobs(const char *s, unsigned ncpu);

/* ---- job records ---- */

typedef struct run_job {
  uint64_t seq;              /* 1-based, in input order (GNU's {#}) */
  unsigned slot;             /* {%}: set when it starts */
  unsigned nargs;
  char *args[];              /* nargs strings, stored after the array */
} run_job;

/* One allocation holding the pointer array and copies of the strings. */
run_job *run_job_new(uint64_t seq, const char *const *args, const size_t *lens, unsigned n);

/* Splits every argument on colsep (a literal or an extended regex) into
 * columns; returns a new job (the old one is freed) or NULL on ENOMEM. */
run_job *run_job_colsep(run_job *j, const char *colsep);

/* A reader of records from an fd, a FILE-like source of bytes (fill). */
typedef struct run_reader {
  int (*fill)(void *ctx, char *buf, size_t cap, size_t *n); /* 0, 1 = EOF, <0 error */
  void *ctx;
  char *buf;
  size_t cap, start, end;
  bool eof;
  char sep;
} run_reader;

void run_reader_init(run_reader *r, char sep, int (*fill)(void *, char *, size_t, size_t *),
                     void *ctx);
void run_reader_free(run_reader *r);
/* The next record without its separator: *rec points into the reader's
 * buffer, valid until the next call. 1 = got one, 0 = end, <0 = error. */
int run_reader_next(run_reader *r, const char **rec, size_t *len);
/* fill for a plain fd with read(2). */
int run_fill_fd(void *ctx, char *buf, size_t cap, size_t *n);

/* Reads every FILE/STDIN source into memory (stdin_fill reads stdin). */
int run_sources_load(run_opts *o, int (*stdin_fill)(void *, char *, size_t, size_t *),
                     void *stdin_ctx);

/* The job generator over loaded sources: cross product of the groups of
 * linked sources (last source varies fastest), or --link / :::+ zips. */
typedef struct run_gen {
  const run_opts *o;
  size_t ngroups;
  size_t *group_first, *group_len; /* source index range and row count */
  size_t *idx;                     /* odometer */
  uint64_t total, next;
  uint64_t *perm;                  /* --shuf: a permutation of 0..total-1 */
  const char **vals;
  size_t *lens;
} run_gen;

int run_gen_init(run_gen *g, const run_opts *o);
/* 1 = *out is the next job, 0 = done, WEFT_ENOMEM. */
int run_gen_next(run_gen *g, run_job **out);
void run_gen_free(run_gen *g);

/* ---- the command template ---- */

enum run_seg_kind { RUN_SEG_LIT, RUN_SEG_ARG, RUN_SEG_SEQ, RUN_SEG_SLOT, RUN_SEG_SPACE };
enum run_mod { RUN_MOD_NONE, RUN_MOD_NOEXT, RUN_MOD_BASE, RUN_MOD_DIR, RUN_MOD_BASENOEXT };

typedef struct run_seg {
  enum run_seg_kind kind;
  enum run_mod mod;
  unsigned pos;              /* ARG: 0 = all arguments, else {N} */
  const char *lit;           /* LIT: text (in tmpl->text) */
  size_t len;
} run_seg;

typedef struct run_tmpl {
  char *text;                /* the command words joined by spaces */
  run_seg *segs;             /* over text, for the shell form */
  size_t nsegs;
  bool has_repl;             /* any replacement string (else args are appended) */
  bool direct;               /* exec argv directly, no shell */
  bool raw;                  /* values are not quoted (no command: inputs are commands) */
  run_seg **words;           /* direct form: per word, its segments */
  size_t *wordlen;
  size_t nwords;
  const char *shell;
  const char *repl;          /* -I */
} run_tmpl;

/* Compiles the command. WEFT_EINVAL for an empty command. */
int run_tmpl_compile(run_tmpl *t, char *const *cmd, int ncmd, bool quote, const char *shell);
/* As compile, with -I's replacement string standing for {} (NULL: none). */
int run_tmpl_compile_ex(run_tmpl *t, char *const *cmd, int ncmd, bool quote, const char *shell,
                        const char *repl);
void run_tmpl_free(run_tmpl *t);

/* GNU parallel's shell quoting (sh/bash): appends the quoted s to a growing
 * buffer. */
typedef struct run_buf {
  char *p;
  size_t len, cap;
} run_buf;
int run_buf_add(run_buf *b, const char *s, size_t n);
int run_buf_addc(run_buf *b, char c);
void run_buf_free(run_buf *b);
int run_shell_quote(run_buf *b, const char *s, size_t n);

/* The value of replacement string `mod` applied to s into b. */
int run_apply_mod(run_buf *b, const char *s, enum run_mod mod);

/* The command line as a shell would get it (what --dry-run, the joblog
 * and GNU parallel show). */
int run_tmpl_shell_line(const run_tmpl *t, const run_job *j, run_buf *out);

/* The argv to exec: direct form, or {shell, "-c", line}. The strings live
 * in *store, the NULL-ended pointer array in *vec (*argv points into it);
 * both buffers are reused from job to job, so a job costs no allocation
 * once they have grown. */
int run_tmpl_argv(const run_tmpl *t, const run_job *j, run_buf *store, run_buf *vec,
                  char ***argv);

/* ---- execution (run_exec.c, run_job.c, run_output.c, run_log.c,
 *      run_progress.c; loop thread only) ---- */

/* Runs everything; returns the exit status. */
int run_execute(run_opts *o, run_tmpl *t);

typedef struct weft_aio_process weft_aio_process;
typedef struct weft_aio_event weft_aio_event;
typedef struct weft_aio_stream weft_aio_stream;
typedef struct weft_aio_task weft_aio_task;
typedef struct weft_aio_queue weft_aio_queue;
typedef struct run_state run_state;

/* Running medians of finished jobs' runtimes (two heaps), for --timeout N%. */
typedef struct run_median {
  double *lo, *hi;           /* max-heap of the lower half, min-heap of the upper */
  size_t nlo, nhi, caplo, caphi;
} run_median;
int run_median_add(run_median *m, double v);
double run_median_get(const run_median *m); /* 0 when empty */
size_t run_median_count(const run_median *m);
void run_median_free(run_median *m);

/* One job slot: a worker task, the stderr pump beside it, and buffers
 * reused from job to job. */
typedef struct run_slot {
  run_state *st;
  unsigned index;            /* {%}: 1-based */
  weft_aio_task *task, *pump;
  weft_aio_process *proc;    /* the running job, for kills */
  weft_aio_event *go, *done; /* worker -> pump: read err_stream; pump -> worker: EOF */
  weft_aio_stream *err_stream;
  run_buf out, err;          /* the job's output (grouped) or partial line */
  run_buf store, vec, line, tag;
  run_job *job;
  uint64_t received;         /* stdout bytes of the current try */
  int mfd[2];                /* the job's stdout/stderr memfds (-1: none) */
  char **env;                /* ours plus PARALLEL_SEQ, _JOBSLOT, _PID (GNU's) */
  char seq_var[40], slot_var[40], pid_var[40];
} run_slot;

/* The ordering buffer of -k. */
typedef struct run_order_entry {
  bool ready;
  run_buf out, err;
} run_order_entry;

struct run_state {
  run_opts *o;
  run_tmpl *t;
  weft_aio_queue *q;
  run_slot *slots;
  unsigned nslots;
  uint64_t total;            /* jobs in all (0 = unknown: streaming) */
  uint64_t done, failed, succeeded, running, skipped, read;
  bool stopping;             /* start no new jobs */
  bool killing;              /* running jobs are being killed */
  bool halted, interrupted, out_broken;
  bool input_failed;         /* an input could not be read: exit 255 */
  int halt_status;
  int in_fd;                 /* where inputs from stdin come from (-1: none) */
  int save_out, save_err;    /* our stdout/stderr while jobs' memfds are on 1, 2 */
  uint64_t next_start_ns;    /* --delay */
  uint64_t t0_ns;
  run_median med;
  /* -k */
  uint64_t order_base;       /* the next seq to print */
  run_order_entry *order;
  size_t order_cap;          /* power of two */
  /* --joblog, --resume */
  FILE *joblog;
  uint8_t *skip;             /* bitmap of seqs to skip (resume) */
  uint64_t skip_bits;
  bool tty_err;
};

/* run_exec.c: counts, joblog, results and --halt for a finished job. */
typedef struct run_result run_result;
int run_job_finished(run_state *st, run_slot *s, const run_result *r);

/* run_job.c: the worker task of a slot, and the stderr pump beside it. */
int run_worker(void *slot);
int run_pump(void *slot);
/* Kills the slot's job and everything in its process group: TERM, TERM,
 * TERM, KILL with pauses of 200, 100, 50, 25 ms (GNU parallel's
 * --termseq), as long as any of the group is left. */
void run_kill_job(run_slot *s);

/* run_output.c */
int run_write_all(int fd, const char *p, size_t n);
/* Writes p with every line prefixed by tag (if any) and a TAB. */
int run_write_tagged(int fd, const run_buf *tag, const char *p, size_t n);
/* A finished job's grouped output (stdout then stderr), printed now or, with
 * -k, once every earlier job has printed. Takes the buffers' contents. */
int run_out_job(run_state *st, uint64_t seq, const run_buf *tag, run_buf *out, run_buf *err);
/* -k: a job that prints nothing (skipped by --resume). */
int run_out_skip(run_state *st, uint64_t seq);
/* --line-buffer: prints the complete lines of b (all of it if final) and
 * keeps the rest. */
int run_out_lines(run_state *st, int fd, const run_buf *tag, run_buf *b, bool final);
void run_out_free(run_state *st);

/* run_log.c */
typedef struct run_result {
  int exitval, signal;       /* joblog columns (-1 / 15 after a timeout) */
  double start, runtime;     /* epoch seconds; seconds */
  uint64_t received;         /* stdout bytes */
} run_result;
int run_log_open(run_state *st);   /* opens --joblog, reads --resume info */
bool run_log_skip(const run_state *st, uint64_t seq);
int run_log_job(run_state *st, const run_job *j, const run_result *r, const char *line);
int run_results_job(run_state *st, const run_job *j, const run_result *r, const run_buf *out,
                    const run_buf *err);
void run_log_close(run_state *st);

/* run_progress.c: redraws on stderr while anything runs. */
int run_progress_task(void *st);
void run_progress_final(run_state *st);

#endif /* WEFT_CLI_RUN_H */
