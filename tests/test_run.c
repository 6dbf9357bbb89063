/* tests/test_run.c — `weft run` (src/cli/run*.c): option parsing, the
 * replacement strings and GNU parallel's shell quoting, the choice between
 * exec and a shell, record reading (newline, NUL, long records), the job
 * generator over several sources (combinations, :::+, --link), --colsep,
 * the running median, and whole runs in this process with stdout sent to a
 * file: outputs, -k order, exit statuses, injection-shaped inputs, the
 * joblog and --resume-failed, timeouts, --halt, and a stream of stdin
 * lines fed by a thread while jobs already run. Expected values come from
 * GNU parallel 20221122 (see the comments). */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"
#include "weft/aio.h"
#include "cli/cli.h"
#include "cli/run.h"

/* ---- quoting and replacement strings ---- */

static void expect_quote(const char *in, const char *want) {
  run_buf b = {0};
  assert_ok(run_shell_quote(&b, in, strlen(in)));
  assert_string_equal(b.p, want);
  run_buf_free(&b);
}

static void test_quote(void **state) {
  (void)state;
  /* parallel --dry-run echo {} ::: ... */
  expect_quote("a b", "'a b'");
  expect_quote("it's", "'it'\"'\"'s'");
  expect_quote("$(x)", "'$(x)'");
  expect_quote("", "''");
  expect_quote("a-b_c.d+/e", "a-b_c.d+/e");
  expect_quote("'", "\"'\"");
  expect_quote("'a'", "\"'\"'a'\"'\"");
  expect_quote("\xc3\xa9", "'\xc3\xa9'");
}

static void expect_mods(const char *in, const char *noext, const char *base, const char *dir,
                        const char *basenoext) {
  const char *want[] = {in, noext, base, dir, basenoext};
  enum run_mod mods[] = {RUN_MOD_NONE, RUN_MOD_NOEXT, RUN_MOD_BASE, RUN_MOD_DIR,
                         RUN_MOD_BASENOEXT};
  for (int i = 0; i < 5; i++) {
    run_buf b = {0};
    assert_ok(run_buf_add(&b, "", 0));
    assert_ok(run_apply_mod(&b, in, mods[i]));
    if (strcmp(b.p, want[i]) != 0)
      fail_msg("mod %d of '%s' = '%s', expected '%s'", i, in, b.p, want[i]);
    run_buf_free(&b);
  }
}

static void test_mods(void **state) {
  (void)state;
  /* parallel echo '[{}]' '[{.}]' '[{/}]' '[{//}]' '[{/.}]' ::: ... */
  expect_mods("a.b.c", "a.b", "a.b.c", ".", "a.b");
  expect_mods(".bashrc", "", ".bashrc", ".", "");
  expect_mods("dir/f.txt", "dir/f", "f.txt", "dir", "f");
  expect_mods("/abs/x", "/abs/x", "x", "/abs", "x");
  expect_mods("dir/", "dir/", "", ".", "");
  expect_mods("dir.x/y", "dir.x/y", "y", "dir.x", "y");
  expect_mods("a/b/c.d/", "a/b/c.d/", "", "a/b", "");
  expect_mods("/", "/", "", "/", "");
  expect_mods("", "", "", ".", "");
  expect_mods("x.", "x", "x.", ".", "x");
}

/* A job with the given arguments. */
static run_job *job_of(uint64_t seq, unsigned n, ...) {
  const char *args[8];
  size_t lens[8];
  va_list ap;
  va_start(ap, n);
  for (unsigned i = 0; i < n; i++) {
    args[i] = va_arg(ap, const char *);
    lens[i] = strlen(args[i]);
  }
  va_end(ap);
  run_job *j = run_job_new(seq, args, lens, n);
  assert_non_null(j);
  return j;
}

static void compile(run_tmpl *t, const char *cmd) {
  /* Split at spaces, as the shell splits the user's words. */
  static char copy[512];
  static char *words[32];
  snprintf(copy, sizeof copy, "%s", cmd);
  int n = 0;
  for (char *save, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
    words[n++] = w;
  assert_ok(run_tmpl_compile(t, words, n, false, "/bin/sh"));
}

static void expect_line(const char *cmd, run_job *j, const char *want) {
  run_tmpl t;
  compile(&t, cmd);
  run_buf b = {0};
  assert_ok(run_tmpl_shell_line(&t, j, &b));
  if (strcmp(b.p, want) != 0) fail_msg("'%s' gave '%s', expected '%s'", cmd, b.p, want);
  run_buf_free(&b);
  run_tmpl_free(&t);
}

static void test_shell_line(void **state) {
  (void)state;
  run_job *j = job_of(7, 2, "a b", "x/y.z");
  j->slot = 3;
  expect_line("echo {}", j, "echo 'a b' x/y.z");
  expect_line("echo", j, "echo 'a b' x/y.z");
  expect_line("echo {2.} {1} {#} {%}", j, "echo x/y 'a b' 7 3");
  expect_line("echo {2/} {2//} {2/.} {3}", j, "echo y.z x y ''");
  expect_line("echo x{1}y", j, "echo x'a b'y");
  expect_line("echo {0} {x} {{}}", j, "echo {0} {x} {'a b' x/y.z}");
  free(j);
  j = job_of(1, 1, "a; rm -rf x");
  expect_line("echo {} | wc", j, "echo 'a; rm -rf x' | wc");
  /* -I ZZ: ZZ stands for {} (and {} forms still work). */
  run_tmpl t;
  char *words[] = {"echo", "xZZy", "{#}"};
  assert_ok(run_tmpl_compile_ex(&t, words, 3, false, "/bin/sh", "ZZ"));
  assert_true(t.has_repl && t.direct);
  run_buf b = {0};
  assert_ok(run_tmpl_shell_line(&t, j, &b));
  assert_string_equal(b.p, "echo x'a; rm -rf x'y 1");
  run_buf_free(&b);
  run_tmpl_free(&t);
  free(j);
}

/* argv of the direct form; want is a |-separated list. */
static void expect_argv(const char *cmd, run_job *j, bool direct, const char *want) {
  run_tmpl t;
  compile(&t, cmd);
  assert_int_equal(t.direct, direct);
  run_buf store = {0}, vec = {0}, got = {0};
  char **argv;
  assert_ok(run_tmpl_argv(&t, j, &store, &vec, &argv));
  for (size_t i = 0; argv[i]; i++) {
    if (i) run_buf_addc(&got, '|');
    run_buf_add(&got, argv[i], strlen(argv[i]));
  }
  if (strcmp(got.p, want) != 0) fail_msg("'%s' gave argv '%s', expected '%s'", cmd, got.p, want);
  run_buf_free(&store);
  run_buf_free(&vec);
  run_buf_free(&got);
  run_tmpl_free(&t);
}

static void test_argv(void **state) {
  (void)state;
  run_job *j = job_of(2, 2, "a; rm -rf x", "$(reboot)");
  /* Plain commands are exec'ed: every input is exactly one argument. */
  expect_argv("echo {}", j, true, "echo|a; rm -rf x|$(reboot)");
  expect_argv("echo", j, true, "echo|a; rm -rf x|$(reboot)");
  expect_argv("echo x{1}y {#}", j, true, "echo|xa; rm -rf xy|2");
  expect_argv("printf %s {2}", j, true, "printf|%s|$(reboot)");
  /* Shell syntax, builtins and unknown programs go through the shell with
   * every value quoted. */
  expect_argv("echo {} | cat", j, false, "/bin/sh|-c|echo 'a; rm -rf x' '$(reboot)' | cat");
  expect_argv("exit {1}", j, false, "/bin/sh|-c|exit 'a; rm -rf x'");
  expect_argv("no-such-program-xyz {}", j, false,
              "/bin/sh|-c|no-such-program-xyz 'a; rm -rf x' '$(reboot)'");
  expect_argv("A=1 env", j, false, "/bin/sh|-c|A=1 env 'a; rm -rf x' '$(reboot)'");
  expect_argv("{1}", j, false, "/bin/sh|-c|'a; rm -rf x'");
  free(j);
  /* coreutils' echo would print its help for a lone --help. */
  j = job_of(1, 1, "--help");
  expect_argv("echo", j, true, "/bin/sh|-c|echo --help");
  free(j);
  j = job_of(1, 1, "");
  expect_argv("echo {}", j, true, "echo|");
  free(j);
}

/* ---- options ---- */

static int parse(run_opts *o, const char *line) {
  static char copy[512];
  static char *argv[64];
  snprintf(copy, sizeof copy, "run %s", line);
  int n = 0;
  for (char *save, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
    argv[n++] = w;
  bool exit_now;
  return run_parse(n, argv, o, &exit_now);
}

static void test_parse(void **state) {
  (void)state;
  run_opts o;
  assert_int_equal(parse(&o, "-j3 -k --tag --timeout 2.5 --retries 4 echo {} ::: a b ::: c"), 0);
  assert_int_equal(o.jobs, 3);
  assert_true(o.keep_order && o.tag);
  assert_true(o.timeout_s > 2.49 && o.timeout_s < 2.51);
  assert_int_equal(o.retries, 4);
  assert_int_equal(o.ncmd, 2);
  assert_string_equal(o.cmd[0], "echo");
  assert_int_equal(o.nsrc, 2);
  assert_int_equal(o.src[0].n, 2);
  assert_string_equal(o.src[1].vals[0], "c");
  run_opts_free(&o);

  assert_int_equal(parse(&o, "--halt soon,fail=10% -0 --jobs=2 cmd --not-an-option :::+ x"), 0);
  assert_int_equal(o.halt_when, RUN_HALT_SOON);
  assert_int_equal(o.halt_what, RUN_HALT_FAIL);
  assert_true(o.halt_pct && o.halt_value == 10);
  assert_int_equal(o.sep, '\0');
  assert_int_equal(o.jobs, 2);
  assert_int_equal(o.ncmd, 2); /* options after the command are the command's */
  assert_true(o.src[0].linked);
  run_opts_free(&o);

  assert_int_equal(parse(&o, "--timeout 200% -a f1 echo :::: f2 f3"), 0);
  assert_true(o.timeout_pct == 200);
  assert_int_equal(o.nsrc, 3);
  assert_int_equal(o.src[0].kind, RUN_SRC_FILE);
  assert_string_equal(o.src[2].path, "f3");
  run_opts_free(&o);

  assert_int_equal(parse(&o, "echo"), 0); /* stdin */
  assert_int_equal(o.nsrc, 1);
  assert_int_equal(o.src[0].kind, RUN_SRC_STDIN);
  run_opts_free(&o);

  /* Usage errors: 255. */
  const char *bad[] = {"--bogus echo", "-j abc echo", "-j", "--timeout x echo",
                       "--halt sometimes echo", "--retries -1 echo", "--resume echo",
                       "--delay 1q echo", "--colsep= echo"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (parse(&o, bad[i]) != RUN_EXIT_USAGE) fail_msg("'%s' was accepted", bad[i]);
    run_opts_free(&o);
  }
}

static void test_jobs(void **state) {
  (void)state;
  assert_int_equal(run_parse_jobs("4", 8), 4);
  assert_int_equal(run_parse_jobs("50%", 8), 4);
  assert_int_equal(run_parse_jobs("10%", 2), 1);
  assert_int_equal(run_parse_jobs("+1", 8), 9);
  assert_int_equal(run_parse_jobs("-2", 8), 6);
  assert_int_equal(run_parse_jobs("-20", 8), 1);
  assert_int_equal(run_parse_jobs("0", 8), 0);
  assert_int_equal(run_parse_jobs("x", 8), -1);
  assert_int_equal(run_parse_jobs("1.5", 8), -1);
  assert_int_equal(run_parse_jobs("", 8), -1);
}

/* ---- records and sources ---- */

typedef struct mem_src {
  const char *p;
  size_t n, chunk;
} mem_src;

static int fill_mem(void *ctx, char *buf, size_t cap, size_t *n) {
  mem_src *m = ctx;
  if (!m->n) return 1;
  size_t k = m->n < cap ? m->n : cap;
  if (k > m->chunk) k = m->chunk;
  memcpy(buf, m->p, k);
  m->p += k;
  m->n -= k;
  *n = k;
  return 0;
}

static void test_reader(void **state) {
  (void)state;
  mem_src m = {"a\n\nb c\nlast", 11, 3}; /* small chunks: records span reads */
  run_reader r;
  run_reader_init(&r, '\n', fill_mem, &m);
  const char *want[] = {"a", "", "b c", "last"}, *rec;
  size_t len;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(run_reader_next(&r, &rec, &len), 1);
    assert_int_equal(len, strlen(want[i]));
    assert_memory_equal(rec, want[i], len);
  }
  assert_int_equal(run_reader_next(&r, &rec, &len), 0);
  run_reader_free(&r);

  mem_src z = {"x y\0z\n\0", 7, 100};
  run_reader_init(&r, '\0', fill_mem, &z);
  assert_int_equal(run_reader_next(&r, &rec, &len), 1);
  assert_string_equal(rec, "x y");
  assert_int_equal(run_reader_next(&r, &rec, &len), 1);
  assert_string_equal(rec, "z\n");
  assert_int_equal(run_reader_next(&r, &rec, &len), 0);
  run_reader_free(&r);

  /* A 1 MB record. */
  size_t big = 1 << 20;
  char *data = malloc(big + 2);
  memset(data, 'q', big);
  data[big] = '\n';
  data[big + 1] = 'e';
  mem_src bm = {data, big + 2, 70000};
  run_reader_init(&r, '\n', fill_mem, &bm);
  assert_int_equal(run_reader_next(&r, &rec, &len), 1);
  assert_int_equal(len, big);
  assert_int_equal(rec[big - 1], 'q');
  assert_int_equal(run_reader_next(&r, &rec, &len), 1);
  assert_string_equal(rec, "e");
  assert_int_equal(run_reader_next(&r, &rec, &len), 0);
  run_reader_free(&r);
  free(data);
}

/* Generates every job of the options' sources into "a,b;a,c;...". */
static void expect_gen(run_opts *o, uint64_t total, const char *want) {
  run_gen g;
  assert_ok(run_gen_init(&g, o));
  assert_int_equal(g.total, total);
  run_buf got = {0};
  run_buf_add(&got, "", 0);
  run_job *j;
  uint64_t seq = 0;
  while (run_gen_next(&g, &j) == 1) {
    assert_int_equal(j->seq, ++seq);
    if (got.len) run_buf_addc(&got, ';');
    for (unsigned i = 0; i < j->nargs; i++) {
      if (i) run_buf_addc(&got, ',');
      run_buf_add(&got, j->args[i], strlen(j->args[i]));
    }
    free(j);
  }
  assert_int_equal(seq, total);
  if (want) assert_string_equal(got.p, want);
  run_buf_free(&got);
  run_gen_free(&g);
}

static void test_gen(void **state) {
  (void)state;
  run_opts o;
  assert_int_equal(parse(&o, "echo ::: a b ::: x y z"), 0);
  expect_gen(&o, 6, "a,x;a,y;a,z;b,x;b,y;b,z");
  run_opts_free(&o);
  /* :::+ : zipped, the shorter decides (parallel: a 1, b 2). */
  assert_int_equal(parse(&o, "echo ::: a b c :::+ 1 2"), 0);
  expect_gen(&o, 2, "a,1;b,2");
  run_opts_free(&o);
  /* --link: the shorter wraps (parallel: a 1, b 2, c 1). */
  assert_int_equal(parse(&o, "--link echo ::: a b c ::: 1 2"), 0);
  expect_gen(&o, 3, "a,1;b,2;c,1");
  run_opts_free(&o);
  assert_int_equal(parse(&o, "echo ::: a b ::: x :::+ 1 2 ::: p q"), 0);
  expect_gen(&o, 4, "a,x,1,p;a,x,1,q;b,x,1,p;b,x,1,q");
  run_opts_free(&o);
  assert_int_equal(parse(&o, "echo ::: a b :::"), 0); /* an empty source: no jobs */
  expect_gen(&o, 0, "");
  run_opts_free(&o);
  /* --shuf: every combination exactly once. */
  assert_int_equal(parse(&o, "--shuf echo ::: 1 2 3 4 5 6 7 8 9 ::: a b"), 0);
  run_gen g;
  assert_ok(run_gen_init(&g, &o));
  int seen[10][2] = {{0}};
  run_job *j;
  while (run_gen_next(&g, &j) == 1) {
    seen[atoi(j->args[0])][j->args[1][0] - 'a']++;
    free(j);
  }
  for (int i = 1; i <= 9; i++) assert_true(seen[i][0] == 1 && seen[i][1] == 1);
  run_gen_free(&g);
  run_opts_free(&o);
}

static void expect_cols(const char *line, const char *sep, unsigned n, const char *want) {
  run_job *j = run_job_colsep(job_of(1, 1, line), sep);
  assert_non_null(j);
  assert_int_equal(j->nargs, n);
  run_buf got = {0};
  run_buf_add(&got, "", 0);
  for (unsigned i = 0; i < j->nargs; i++) {
    if (i) run_buf_addc(&got, '|');
    run_buf_add(&got, j->args[i], strlen(j->args[i]));
  }
  assert_string_equal(got.p, want);
  run_buf_free(&got);
  free(j);
}

static void test_colsep(void **state) {
  (void)state;
  expect_cols("a,b,,c", ",", 4, "a|b||c");
  expect_cols("a\tb", "\\t", 2, "a|b");
  expect_cols("a  b c", " +", 3, "a|b|c");
  expect_cols("a1b22c", "[0-9]+", 3, "a|b|c");
  expect_cols("plain", ",", 1, "plain");
}

static void test_median(void **state) {
  (void)state;
  run_median m = {0};
  assert_true(run_median_get(&m) == 0);
  double vals[] = {5, 1, 9, 3, 7, 2, 8};
  double want[] = {5, 3, 5, 4, 5, 4, 5};
  for (int i = 0; i < 7; i++) {
    assert_ok(run_median_add(&m, vals[i]));
    assert_true(run_median_get(&m) == want[i]);
  }
  for (int i = 0; i < 10000; i++) assert_ok(run_median_add(&m, 100 + i % 2));
  assert_int_equal(run_median_count(&m), 10007);
  assert_true(run_median_get(&m) >= 100 && run_median_get(&m) <= 101);
  run_median_free(&m);
}

/* ---- whole runs, stdout into a file ---- */

typedef struct captured {
  int rc;
  char out[65536];
} captured;

static char tmpdir[] = "/tmp/weft-test-run-XXXXXX";

/* Runs `weft run <line>` (words split at spaces; '~' stands for a space
 * inside a word) with stdout in a file. */
static void run_line(captured *c, const char *line) {
  static char copy[4096];
  static char *argv[256];
  snprintf(copy, sizeof copy, "run %s", line);
  int n = 0;
  for (char *save, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    for (char *p = w; *p; p++)
      if (*p == '~') *p = ' ';
    argv[n++] = w;
  }
  argv[n] = NULL;
  char path[128];
  snprintf(path, sizeof path, "%s/out", tmpdir);
  fflush(stdout);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  int saved = dup(1);
  dup2(fd, 1);
  c->rc = weft_cli_run(n, argv);
  dup2(saved, 1);
  close(saved);
  ssize_t got = pread(fd, c->out, sizeof c->out - 1, 0);
  c->out[got > 0 ? got : 0] = '\0';
  close(fd);
}

static void test_run_basic(void **state) {
  (void)state;
  captured *c = malloc(sizeof *c);
  /* libuv opens its process-wide signal pipe on first use, for good. */
  run_line(c, "true ::: warm-up");
  int fds = open_fd_count();
  run_line(c, "-k -j3 echo {#} {} ::: a b c d e");
  assert_int_equal(c->rc, 0);
  assert_string_equal(c->out, "1 a\n2 b\n3 c\n4 d\n5 e\n");
  run_line(c, "-k echo ::: a b ::: x y");
  assert_string_equal(c->out, "a x\na y\nb x\nb y\n");
  /* Injection-shaped inputs are single arguments, exec'ed or quoted. */
  run_line(c, "-k echo ::: a;~echo~pwned $(echo~pwned) `id` it's");
  assert_int_equal(c->rc, 0);
  assert_string_equal(c->out, "a; echo pwned\n$(echo pwned)\n`id`\nit's\n");
  run_line(c, "-k printf~'[%s]\\n'~{}~|~cat ::: a;~echo~pwned $(echo~pwned)");
  assert_string_equal(c->out, "[a; echo pwned]\n[$(echo pwned)]\n");
  /* Exit status: the number of failed jobs. */
  run_line(c, "-j2 exit~{} ::: 0 1 2 3 0");
  assert_int_equal(c->rc, 3);
  /* Grouped output: each job's lines stay together. */
  run_line(c, "-j4 echo~{};sleep~0.0{};echo~{} ::: 3 1 2 4");
  for (const char *p = c->out; *p; p += 4) assert_true(p[0] == p[2] && p[1] == '\n');
  assert_int_equal(strlen(c->out), 16);
  /* --tag, --dry-run */
  run_line(c, "-k --tag echo {1} ::: a b ::: x");
  assert_string_equal(c->out, "a x\ta\nb x\tb\n");
  run_line(c, "--dry-run -k echo~{}~>~{}.out ::: a~b c");
  assert_string_equal(c->out, "echo 'a b' > 'a b'.out\necho c > c.out\n");
  run_line(c, "-k --colsep , echo {2}{1} ::: a,b c,d");
  assert_string_equal(c->out, "ba\ndc\n");
  run_line(c, "-k -j1 echo~$PARALLEL_SEQ-$PARALLEL_JOBSLOT:{} ::: a b");
  assert_string_equal(c->out, "1-1:a\n2-1:b\n");
  run_line(c, "-k -v echo ::: a b~c");
  assert_string_equal(c->out, "echo a\na\necho 'b c'\nb c\n");
  run_line(c, "--bogus echo");
  assert_int_equal(c->rc, RUN_EXIT_USAGE);
  free(c);
  assert_int_equal(open_fd_count(), fds);
}

/* Our living children (every thread's), from /proc. */
static int children_count(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[128];
    snprintf(path, sizeof path, "/proc/self/task/%.20s/children", e->d_name);
    FILE *f = fopen(path, "r");
    for (int pid; f && fscanf(f, "%d", &pid) == 1;) n++;
    if (f) fclose(f);
  }
  if (d) closedir(d);
  return n;
}

static void test_run_halt_retries_timeout(void **state) {
  (void)state;
  captured *c = malloc(sizeof *c);
  /* parallel -j1 --halt now,fail=1 'exit {}' ::: 0 3 0 5 → 3, two jobs ran */
  run_line(c, "-j1 --halt now,fail=1 echo~{};exit~{} ::: 0 3 0 5");
  assert_int_equal(c->rc, 3);
  assert_string_equal(c->out, "0\n3\n");
  run_line(c, "-j1 --halt now,done=2 true ::: 1 2 3 4"); /* parallel: 101 */
  assert_int_equal(c->rc, 101);
  run_line(c, "-j1 --halt now,fail=50% exit ::: 3 0 4 5");
  assert_int_equal(c->rc, 50);
  run_line(c, "-j1 --halt now,success=1 exit ::: 3 0 4");
  assert_int_equal(c->rc, 0);
  /* --retries 3: three tries, only the last one's output. */
  char path[128];
  snprintf(path, sizeof path, "%s/count", tmpdir);
  char line[512];
  snprintf(line, sizeof line, "--retries 3 echo~x>>%s;echo~try;false~{} ::: 1", path);
  run_line(c, line);
  assert_int_equal(c->rc, 1);
  assert_string_equal(c->out, "try\n");
  FILE *f = fopen(path, "r");
  int lines = 0;
  for (int ch; (ch = fgetc(f)) != EOF;) lines += ch == '\n';
  fclose(f);
  assert_int_equal(lines, 3);
  /* --timeout: killed (TERM) and counted as failed; the fast one is fine.
   * As a subreaper we would inherit anything the killed shell left behind
   * (its `sleep 5`): nothing may be left. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  uint64_t t0 = weft_now_ns();
  run_line(c, "-k --timeout 0.3 sleep~{};echo~{} ::: 0.01 5");
  assert_int_equal(c->rc, 1);
  assert_string_equal(c->out, "0.01\n");
  assert_true(weft_now_ns() - t0 < 4000 * WEFT_MS);
  int left = -1;
  for (int i = 0; i < 100 && left != 0; i++) { /* reap what was killed */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    left = children_count();
    if (left) usleep(10000);
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  assert_int_equal(left, 0);
  free(c);
}

static void test_run_joblog_resume(void **state) {
  (void)state;
  captured *c = malloc(sizeof *c);
  char log[128], line[512];
  snprintf(log, sizeof log, "%s/joblog", tmpdir);
  unlink(log);
  snprintf(line, sizeof line, "-j1 --joblog %s echo~{};exit~{} ::: 0 1 0 2", log);
  run_line(c, line);
  assert_int_equal(c->rc, 2);
  FILE *f = fopen(log, "r");
  assert_non_null(f);
  char buf[512];
  assert_non_null(fgets(buf, sizeof buf, f));
  assert_string_equal(buf, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n");
  for (int i = 1; i <= 4; i++) {
    assert_non_null(fgets(buf, sizeof buf, f));
    unsigned seq, recv;
    double start, rt;
    int ex, sig, send;
    char host[8], cmd[128];
    assert_int_equal(sscanf(buf, "%u\t%7[^\t]\t%lf\t%lf\t%d\t%u\t%d\t%d\t%127[^\n]", &seq, host,
                            &start, &rt, &send, &recv, &ex, &sig, cmd), 9);
    assert_int_equal(seq, i);
    assert_string_equal(host, ":");
    assert_int_equal(recv, 2);
    static const int codes[] = {0, 1, 0, 2};
    assert_int_equal(ex, codes[i - 1]);
    assert_int_equal(sig, 0);
    assert_true(start > 1.6e9);
    assert_non_null(strstr(buf, "\t     0.")); /* %10.3f runtime */
  }
  assert_null(fgets(buf, sizeof buf, f));
  fclose(f);
  /* --resume-failed reruns 2 and 4 only, appending. */
  snprintf(line, sizeof line, "-j1 --joblog %s --resume-failed echo~{};exit~{} ::: 0 1 0 2",
           log);
  run_line(c, line);
  assert_int_equal(c->rc, 2);
  assert_string_equal(c->out, "1\n2\n");
  /* --resume: nothing left to run. */
  snprintf(line, sizeof line, "-j1 --joblog %s --resume echo~{};exit~{} ::: 0 1 0 2", log);
  run_line(c, line);
  assert_int_equal(c->rc, 0);
  assert_string_equal(c->out, "");
  free(c);
}

/* Stdin: lines are fed by a thread, slowly at first; jobs must start
 * before the input ends. */
typedef struct feeder {
  int fd;
  size_t lines;
  char marker[128];
  bool started_early;
} feeder;

static void *feed(void *arg) {
  feeder *f = arg;
  char line[32];
  for (size_t i = 1; i <= f->lines; i++) {
    int n = snprintf(line, sizeof line, "%zu\n", i);
    if (write(f->fd, line, (size_t)n) != n) break;
    if (i == 10) { /* wait (up to 10 s) until a job of the first ten ran */
      for (int k = 0; k < 1000 && access(f->marker, F_OK) != 0; k++) usleep(10000);
      f->started_early = access(f->marker, F_OK) == 0;
    }
  }
  close(f->fd);
  return NULL;
}

static void test_run_stdin_stream(void **state) {
  (void)state;
  int fds = open_fd_count();
  captured *c = malloc(sizeof *c);
  feeder f = {.lines = scaled(3000, 300)};
  snprintf(f.marker, sizeof f.marker, "%s/marker", tmpdir);
  unlink(f.marker);
  int p[2];
  assert_int_equal(pipe(p), 0);
  f.fd = p[1];
  int saved = dup(0);
  dup2(p[0], 0);
  close(p[0]);
  pthread_t th;
  pthread_create(&th, NULL, feed, &f);
  char line[256];
  snprintf(line, sizeof line, "-k -j4 touch~%s;echo", f.marker);
  run_line(c, line);
  pthread_join(th, NULL);
  dup2(saved, 0);
  close(saved);
  assert_int_equal(c->rc, 0);
  assert_true(f.started_early);
  /* Every line once, in order (-k). */
  const char *q = c->out;
  size_t n = 0;
  for (size_t i = 1; i <= f.lines && *q; i++, n++) {
    char *end;
    assert_int_equal(strtoull(q, &end, 10), i);
    q = end + 1;
  }
  assert_int_equal(n, f.lines);
  free(c);
  assert_int_equal(open_fd_count(), fds);
}

/* SIGINT from a thread while jobs run: the first one lets the running jobs
 * finish and starts no more; a second one kills them. */
typedef struct interrupter {
  int count;
  unsigned delay_ms;
} interrupter;

static void *interrupt(void *arg) {
  interrupter *in = arg;
  for (int i = 0; i < in->count; i++) {
    usleep(in->delay_ms * 1000);
    kill(getpid(), SIGINT);
  }
  return NULL;
}

static void test_run_sigint(void **state) {
  (void)state;
  captured *c = malloc(sizeof *c);
  char log[128], line[512];
  snprintf(log, sizeof log, "%s/joblog-int", tmpdir);
  /* One SIGINT: jobs 1 and 2 finish and print; 3..6 never start. */
  interrupter one = {1, 300};
  pthread_t th;
  pthread_create(&th, NULL, interrupt, &one);
  snprintf(line, sizeof line, "-k -j2 --joblog %s sleep~1;echo~{} ::: 1 2 3 4 5 6", log);
  run_line(c, line);
  pthread_join(th, NULL);
  assert_int_equal(c->rc, 255); /* GNU parallel's status after a signal */
  assert_string_equal(c->out, "1\n2\n");
  FILE *f = fopen(log, "r");
  int rows = 0;
  for (int ch; (ch = fgetc(f)) != EOF;) rows += ch == '\n';
  fclose(f);
  assert_int_equal(rows, 1 + 2);
  /* Two: the running jobs are killed at once. */
  interrupter two = {2, 200};
  pthread_create(&th, NULL, interrupt, &two);
  uint64_t t0 = weft_now_ns();
  run_line(c, "-j2 sleep ::: 20 20 20");
  pthread_join(th, NULL);
  assert_int_equal(c->rc, 255);
  assert_true(weft_now_ns() - t0 < 10000 * WEFT_MS);
  free(c);
}

/* The contents of tmpdir/rel (at most 255 bytes), "" if missing. */
static const char *file_text(const char *rel) {
  static char buf[256];
  char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
  buf[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return buf;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* --results DIR: GNU parallel's layout, one directory per argument value;
 * --timeout N%: a job far slower than the median of those before it is
 * killed; --eta / --bar off a terminal: one summary line on stderr. */
static void test_run_results_pct_progress(void **state) {
  (void)state;
  captured *c = malloc(sizeof *c);
  char line[512];
  snprintf(line, sizeof line,
           "-k --results %s/res echo~out{};echo~err{}~>&2;exit~{} ::: 0 3 a/b", tmpdir);
  run_line(c, line);
  assert_int_equal(c->rc, 2); /* 3 and a/b fail ("exit a/b" is an error) */
  assert_string_equal(c->out, ""); /* the output goes to the files only */
  assert_string_equal(file_text("res/1/0/stdout"), "out0\n");
  assert_string_equal(file_text("res/1/0/stderr"), "err0\n");
  assert_string_equal(file_text("res/1/0/exitval"), "0");
  assert_string_equal(file_text("res/1/3/exitval"), "3");
  assert_string_equal(file_text("res/1/3/seq"), "2");
  assert_string_equal(file_text("res/1/a\\_b/stdout"), "outa/b\n");

  /* Three jobs of 200 ms make the median (the timeout starts with three);
   * 200% of it kills the fourth, which would otherwise sleep 30 s and
   * succeed. */
  char log[128];
  snprintf(log, sizeof log, "%s/joblog-pct", tmpdir);
  unlink(log);
  snprintf(line, sizeof line, "-j1 --joblog %s --timeout 200%% sleep ::: 0.2 0.2 0.2 30",
           log);
  run_line(c, line);
  assert_int_equal(c->rc, 1);
  FILE *f = fopen(log, "r");
  assert_non_null(f);
  char buf[512];
  int killed = 0;
  while (fgets(buf, sizeof buf, f))
    if (strstr(buf, "sleep 30")) killed = strstr(buf, "\t-1\t15\t") != NULL;
  fclose(f);
  assert_true(killed);

  /* Not a terminal: no redraws, one final line. */
  char err[128];
  snprintf(err, sizeof err, "%s/stderr", tmpdir);
  int fd = open(err, O_RDWR | O_CREAT | O_TRUNC, 0600), saved = dup(2);
  dup2(fd, 2);
  run_line(c, "--bar --eta true ::: 1 2 3 4");
  dup2(saved, 2);
  close(saved);
  close(fd);
  assert_int_equal(c->rc, 0);
  const char *t = file_text("stderr");
  assert_non_null(strstr(t, "100% 4/4 done, 0 running, 0 failed"));
  assert_null(strchr(t, '\r'));
  assert_int_equal(strchr(t, '\n') - t + 1, (long)strlen(t)); /* one line */
  free(c);
}

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(tmpdir)) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quote),
      cmocka_unit_test(test_mods),
      cmocka_unit_test(test_shell_line),
      cmocka_unit_test(test_argv),
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_jobs),
      cmocka_unit_test(test_reader),
      cmocka_unit_test(test_gen),
      cmocka_unit_test(test_colsep),
      cmocka_unit_test(test_median),
      cmocka_unit_test(test_run_basic),
      cmocka_unit_test(test_run_halt_retries_timeout),
      cmocka_unit_test(test_run_joblog_resume),
      cmocka_unit_test(test_run_stdin_stream),
      cmocka_unit_test(test_run_sigint),
      cmocka_unit_test(test_run_results_pct_progress),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
