/* src/cli/bench_aio_proc.c — the child processes of `weft bench aio`:
 * servers, the load generator, wrk and the Python peer.
 *
 * fork + exec rather than posix_spawn because each child must die with this
 * process (PR_SET_PDEATHSIG: an interrupted benchmark leaves no server
 * behind, not even a Python one). Every wait has a deadline; past it the
 * child is killed and the run goes on without that figure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/bench_aio.h"

int aio_child_start(aio_child *ch, char *const argv[]) {
  int fds[2];
  ch->pid = -1;
  ch->out = -1;
  if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
  pid_t parent = getpid(), pid = fork();
  if (pid < 0) {
    int e = -errno;
    close(fds[0]);
    close(fds[1]);
    return e;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  /* the parent died before prctl */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    dup2(fds[1], STDOUT_FILENO);  /* dup2 clears close-on-exec on the copy */
    execvp(argv[0], argv);
    fprintf(stderr, "weft bench: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  ch->pid = pid;
  ch->out = fds[0];
  return 0;
}

/* Reads what the child writes until EOF, '\n' (stop_at_newline) or the
 * deadline; returns the bytes read, or -1 on timeout. */
static ssize_t read_until(aio_child *ch, char *buf, size_t cap, uint64_t deadline_ns,
                          bool stop_at_newline) {
  size_t len = 0;
  buf[0] = '\0';
  while (len + 1 < cap) {
    uint64_t now = wb_now_ns();
    if (now >= deadline_ns) return -1;
    struct pollfd p = {.fd = ch->out, .events = POLLIN};
    int r = poll(&p, 1, (int)((deadline_ns - now) / 1000000 + 1));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  /* the deadline is checked at the top */
    ssize_t n = read(ch->out, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    buf[len] = '\0';
    if (stop_at_newline && memchr(buf, '\n', len)) break;
  }
  /* output beyond cap is drained and dropped, so the child never blocks */
  char sink[4096];
  while (!stop_at_newline && len + 1 >= cap && wb_now_ns() < deadline_ns) {
    struct pollfd p = {.fd = ch->out, .events = POLLIN};
    if (poll(&p, 1, 100) > 0 && read(ch->out, sink, sizeof sink) <= 0) break;
  }
  return (ssize_t)len;
}

static void close_out(aio_child *ch) {
  if (ch->out >= 0) close(ch->out);
  ch->out = -1;
}

int aio_child_port(aio_child *ch, unsigned timeout_ms) {
  char line[128];
  ssize_t n = read_until(ch, line, sizeof line, wb_now_ns() + timeout_ms * 1000000ull, true);
  close_out(ch);
  int port = -1;
  if (n > 0 && sscanf(line, "PORT %d", &port) == 1 && port > 0 && port < 65536) return port;
  aio_child_stop(ch);
  return -1;
}

/* waitpid with a deadline; true when reaped (status in *status). */
static bool reap_by(pid_t pid, int *status, uint64_t deadline_ns) {
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      *status = 0;
      return true;  /* not our child any more: nothing left to reap */
    }
    if (wb_now_ns() >= deadline_ns) return false;
    usleep(2000);
  }
}

int aio_child_output(aio_child *ch, char *buf, size_t cap, unsigned timeout_ms) {
  uint64_t deadline = wb_now_ns() + timeout_ms * 1000000ull;
  ssize_t n = read_until(ch, buf, cap, deadline, false);
  close_out(ch);
  int status = 0;
  if (n < 0 || !reap_by(ch->pid, &status, deadline + 1000000000ull)) {
    fprintf(stderr, "weft bench: child %d still running after %u ms: killed\n", (int)ch->pid,
            timeout_ms);
    kill(ch->pid, SIGKILL);
    while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR) {}
    ch->pid = -1;
    return -1;
  }
  ch->pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void aio_child_stop(aio_child *ch) {
  close_out(ch);
  if (ch->pid <= 0) return;
  int status;
  kill(ch->pid, SIGTERM);
  if (!reap_by(ch->pid, &status, wb_now_ns() + 1000000000ull)) {
    kill(ch->pid, SIGKILL);
    while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR) {}
  }
  ch->pid = -1;
}

uint64_t aio_cpu_ns(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return 0;
  uint64_t sum = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char file[128];
    snprintf(file, sizeof file, "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
    FILE *f = fopen(file, "r");
    unsigned long long ns = 0;
    if (f && fscanf(f, "%llu", &ns) == 1) sum += ns;
    if (f) fclose(f);
  }
  closedir(d);
  return sum;
}

const char *aio_python(void) {
  const char *env = getenv("WEFT_BENCH_PYTHON");
  if (env && *env) return env;
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

const char *aio_self_exe(void) {
  static char exe[4096];
  if (!exe[0]) {
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(exe + (n > 0 ? n : 0), sizeof exe - (size_t)(n > 0 ? n : 0), "%s",
             n > 0 ? "" : "weft");
  }
  return exe;
}

double aio_json_number(const char *line, const char *key, double def) {
  char pat[48];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  if (!p) return def;
  char *end;
  double v = strtod(p + strlen(pat), &end);
  return end == p + strlen(pat) ? def : v;
}

void aio_json_string(const char *line, const char *key, char *out, size_t n) {
  char pat[48];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *p = strstr(line, pat);
  size_t i = 0;
  if (p)
    for (p += strlen(pat); *p && *p != '"' && i + 1 < n; p++) out[i++] = *p;
  out[i] = '\0';
}
