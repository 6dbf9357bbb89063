/* src/proc/forkserver.c — the owner's side of the fork server, and the
 * libweft constructor that turns a re-executed program into a fork server
 * or a SPAWN child before main runs.
 *
 * One server per process, started on first use with posix_spawn of
 * /proc/self/exe (the same program, same argv) and WEFT__CHILD=server:<fd>
 * in its environment. Requests are serialized by a mutex: one request, one
 * reply. A process forked from the owner (by weft or by anyone) notices
 * that the server is not its own (owner pid) and starts its own. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/forkserver_internal.h"

extern char **environ;

static pthread_mutex_t fs_mu = PTHREAD_MUTEX_INITIALIZER;
static int fs_fd = -1;
static pid_t fs_pid, fs_owner;

/* argv of this process, from /proc/self/cmdline: one allocation holding the
 * pointer array and the strings. */
static char **read_cmdline(void) {
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  char *data = NULL;
  size_t len = 0, cap = 0;
  if (fd >= 0) {
    for (;;) {
      if (len + 4096 > cap) {
        char *p = realloc(data, cap = cap ? cap * 2 : 8192);
        if (!p) break;
        data = p;
      }
      ssize_t n = read(fd, data + len, cap - len - 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      len += (size_t)n;
    }
    close(fd);
  }
  size_t argc = 0;
  for (size_t i = 0; i < len; i++) argc += data[i] == '\0';
  if (len && data[len - 1] != '\0') argc++;
  char **argv = malloc((argc + 2) * sizeof *argv + len + 1 + sizeof "weft");
  if (!argv) {
    free(data);
    return NULL;
  }
  char *s = (char *)(argv + argc + 2);
  if (len) memcpy(s, data, len);
  s[len] = '\0';
  free(data);
  size_t k = 0;
  for (size_t i = 0; i < len && k < argc; i += strlen(s + i) + 1) argv[k++] = s + i;
  if (k == 0) argv[k++] = strcpy(s + len + 1, "weft");
  argv[k] = NULL;
  return argv;
}

/* environ without any WEFT__CHILD, plus ours. */
static char **server_env(char *ours) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = malloc((n + 2) * sizeof *env);
  if (!env) return NULL;
  size_t k = 0, keylen = strlen(WEFT__CHILD_ENV);
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], WEFT__CHILD_ENV, keylen) != 0 || environ[i][keylen] != '=')
      env[k++] = environ[i];
  env[k++] = ours;
  env[k] = NULL;
  return env;
}

static int server_start(char *err, size_t errlen) {
  int sv[2];
  int rc = weft__ctlreg_socketpair(sv);
  if (rc) return rc;
  char var[64];
  snprintf(var, sizeof var, "%s=server:%d", WEFT__CHILD_ENV, sv[1]);
  char **argv = read_cmdline();
  char **env = server_env(var);
  pid_t pid = -1;
  rc = WEFT_ENOMEM;
  if (argv && env) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    /* dup2 onto itself clears close-on-exec for the server's end only. */
    posix_spawn_file_actions_adddup2(&fa, sv[1], sv[1]);
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    int e = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, env);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
      if (err && errlen) snprintf(err, errlen, "cannot start the fork server: %s", strerror(e));
      rc = WEFT_ESYSTEM;
    } else {
      rc = 0;
    }
  }
  free(argv);
  free(env);
  weft__ctlreg_close(sv[1]);
  if (rc) {
    weft__ctlreg_close(sv[0]);
    return rc;
  }
  fs_fd = sv[0];
  fs_pid = pid;
  fs_owner = getpid();
  return 0;
}

/* The server is gone or broken: forget it (its children die with it). */
static void server_drop(void) {
  if (fs_fd >= 0) weft__ctlreg_close(fs_fd);
  fs_fd = -1;
  if (fs_pid > 0 && fs_owner == getpid()) {
    kill(fs_pid, SIGKILL);
    while (waitpid(fs_pid, NULL, 0) < 0 && errno == EINTR) {}
  }
  fs_pid = 0;
}

static int server_ensure(char *err, size_t errlen) {
  if (fs_fd >= 0 && fs_owner != getpid()) {
    /* Inherited through a plain fork(): the server belongs to our parent. */
    weft__ctlreg_close(fs_fd);
    fs_fd = -1;
    fs_pid = 0;
  }
  return fs_fd >= 0 ? 0 : server_start(err, errlen);
}

static int server_call(const weft__fs_req *req, uint32_t kind, int fd, int32_t *reply) {
  int rc = weft__ctl_send(fs_fd, kind, req, sizeof *req, fd >= 0 ? &fd : NULL, fd >= 0);
  if (rc) return rc;
  uint32_t k;
  size_t len;
  rc = weft__ctl_recv(fs_fd, &k, reply, sizeof *reply, &len, NULL, NULL, WEFT_FOREVER);
  if (rc == 0 && (k != WEFT__FS_REPLY || len != sizeof *reply)) rc = WEFT_EIO;
  return rc == WEFT_ECLOSED ? WEFT_ESYSTEM : rc; /* ECLOSED only for a failed send */
}

int weft__fs_fork(int method, int cend, pid_t *pid, char *err, size_t errlen) {
  weft__fs_req req = {.method = method};
  int32_t reply = 0;
  pthread_mutex_lock(&fs_mu);
  int rc = server_ensure(err, errlen);
  if (!rc) {
    rc = server_call(&req, WEFT__FS_FORK, cend, &reply);
    if (rc == WEFT_ECLOSED) {
      /* The server had died before this request: nothing was started. */
      server_drop();
      rc = server_ensure(err, errlen);
      if (!rc) rc = server_call(&req, WEFT__FS_FORK, cend, &reply);
    }
    if (rc) {
      server_drop();
      if (err && errlen && !err[0]) snprintf(err, errlen, "the fork server died");
      rc = WEFT_ESYSTEM;
    }
  }
  pthread_mutex_unlock(&fs_mu);
  if (rc) return rc;
  if (reply < 0) return reply == -ENOMEM ? WEFT_ENOMEM : reply == -EAGAIN ? WEFT_EAGAIN : reply;
  *pid = (pid_t)reply;
  return 0;
}

int weft__fs_signal(pid_t pid, int sig) {
  weft__fs_req req = {.pid = pid, .sig = sig};
  int32_t reply = WEFT_EALREADY;
  pthread_mutex_lock(&fs_mu);
  if (fs_fd >= 0 && fs_owner == getpid()) {
    if (server_call(&req, WEFT__FS_SIGNAL, -1, &reply) != 0) {
      server_drop(); /* and with it every child it had */
      reply = WEFT_EALREADY;
    }
  }
  pthread_mutex_unlock(&fs_mu);
  return reply;
}

void weft__fs_forget(void) {
  pthread_mutex_init(&fs_mu, NULL); /* another thread of the parent may have held it */
  fs_fd = -1;
  fs_pid = 0;
  fs_owner = 0;
}

/* Before main: a re-executed copy of the program that is a fork server or
 * a SPAWN child never returns from here. */
__attribute__((constructor)) static void weft__child_ctor(int argc, char **argv, char **envp) {
  (void)argc;
  (void)envp;
  const char *v = getenv(WEFT__CHILD_ENV);
  if (!v) return;
  char val[32];
  snprintf(val, sizeof val, "%s", v);
  unsetenv(WEFT__CHILD_ENV);
  bool server = strncmp(val, "server:", 7) == 0, exec = strncmp(val, "exec:", 5) == 0;
  if (!server && !exec) return;
  int fd = atoi(val + (server ? 7 : 5));
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) return; /* not ours after all */
  if (server) weft__fs_server_main(fd, argv);
  weft__child_main(fd);
}
