/* src/cli/bench_peer.c — running the peers (bench/peer_omp, peer_tbb,
 * peer_python.py, and peer_python_start.py for P5) as child processes and
 * reading their JSON lines. A peer named *.py runs under python_path().
 *
 * A peer is found in WEFT_BENCH_DIR, else <dir of the weft binary>/bench (the
 * build tree), else <that dir>/../libexec/weft (installed). A peer that is
 * missing, cannot start or fails is reported as skipped: the run goes on. */
#include <errno.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/bench.h"

extern char **environ;

/* Finds "key": in a JSON line; returns the start of the value or NULL. */
static const char *json_value(const char *line, const char *key) {
  char pat[40];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  return p ? p + strlen(pat) : NULL;
}

static void json_string(const char *line, const char *key, char *out, size_t n) {
  const char *p = json_value(line, key);
  out[0] = '\0';
  if (!p || *p != '"') return;
  p++;
  size_t i = 0;
  while (*p && *p != '"' && i + 1 < n) out[i++] = *p++;
  out[i] = '\0';
}

/* Parses one line of a peer into r; false when it is not a measurement. */
static bool parse_peer_line(const char *line, wb_result *r) {
  const char *threads = json_value(line, "threads"), *value = json_value(line, "value");
  if (line[0] != '{' || !threads || !value) return false;
  memset(r, 0, sizeof *r);
  json_string(line, "bench", r->bench, sizeof r->bench);
  json_string(line, "case", r->kase, sizeof r->kase);
  json_string(line, "impl", r->impl, sizeof r->impl);
  json_string(line, "unit", r->unit, sizeof r->unit);
  json_string(line, "check", r->check, sizeof r->check);
  char better[8];
  json_string(line, "better", better, sizeof better);
  r->higher_better = strcmp(better, "higher") == 0;
  r->threads = atoi(threads);
  r->value = strtod(value, NULL);
  return r->bench[0] && r->impl[0];
}

/* The Python that has dask: Debian's, unless WEFT_BENCH_PYTHON says. */
static const char *python_path(void) {
  const char *env = getenv("WEFT_BENCH_PYTHON");
  if (env && *env) return env;
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Starts argv[0] with stdout into a pipe; returns the read end or -1. */
static int spawn_reader(char *const argv[], pid_t *pid) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  int e = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (e != 0) {
    close(fds[0]);
    errno = e;
    return -1;
  }
  return fds[0];
}

/* Notes a skipped peer once for the footer of the table. */
static void note_skipped(bench_ctx *c, const char *peer) {
  if (strstr(c->skipped, peer)) return;
  size_t len = strlen(c->skipped);
  snprintf(c->skipped + len, sizeof c->skipped - len, "%s%s", len ? ", " : "", peer);
}

int bench_peer(bench_ctx *c, const char *peer, const char *bench, uint64_t size,
               unsigned threads) {
  char path[4300], sz[24], th[16], reps[16];
  snprintf(path, sizeof path, "%s/%s", c->peer_dir, peer);
  if (access(path, R_OK) != 0) {
    bench_progress(c, "%s %s: skipped (%s not found; set WEFT_BENCH_DIR)", bench, peer, path);
    note_skipped(c, peer);
    return 0;
  }
  snprintf(sz, sizeof sz, "%" PRIu64, size);
  snprintf(th, sizeof th, "%u", threads);
  snprintf(reps, sizeof reps, "%d", c->reps);
  bool py = strstr(peer, ".py") != NULL;
  char *argv[] = {py ? (char *)python_path() : path, path, (char *)bench, sz, th, reps, NULL};
  bench_progress(c, "%s %s, %u thread(s), size %" PRIu64, bench, peer, threads, size);

  pid_t pid;
  int fd = spawn_reader(py ? argv : argv + 1, &pid);
  if (fd < 0) {
    bench_progress(c, "%s %s: skipped (cannot start: %s)", bench, peer, strerror(errno));
    note_skipped(c, peer);
    return 0;
  }
  FILE *f = fdopen(fd, "r");
  char *line = NULL;
  size_t cap = 0;
  wb_result r;
  while (f && getline(&line, &cap, f) > 0)
    if (parse_peer_line(line, &r)) bench_add(c, r);
  free(line);
  if (f) fclose(f); else close(fd);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFSIGNALED(status))
    bench_progress(c, "%s %s: killed by signal %d, rows may be missing", bench, peer,
                   WTERMSIG(status));
  else if (WEXITSTATUS(status) != 0)
    bench_progress(c, "%s %s: exit status %d, rows may be missing", bench, peer,
                   WEXITSTATUS(status));
  return 0;
}

/* Where the peers are: WEFT_BENCH_DIR, else <dir of the weft binary>/bench
 * (the build tree), else <dir>/../libexec/weft (installed). */
void bench_find_peer_dir(bench_ctx *c) {
  const char *env = getenv("WEFT_BENCH_DIR");
  if (env && *env) {
    snprintf(c->peer_dir, sizeof c->peer_dir, "%s", env);
    return;
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    snprintf(c->peer_dir, sizeof c->peer_dir, "bench");
    return;
  }
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  struct stat st;
  snprintf(c->peer_dir, sizeof c->peer_dir, "%s/bench", exe);
  if (stat(c->peer_dir, &st) == 0 && S_ISDIR(st.st_mode)) return;
  snprintf(c->peer_dir, sizeof c->peer_dir, "%s/../libexec/weft", exe);
}
