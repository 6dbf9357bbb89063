/* src/aio/aio_spawn.c — starting a child cheaply: posix_spawn, pipes made
 * by us and handed over with file actions, and a pidfd to learn of its
 * exit from the event loop.
 *
 * Why not uv_spawn: libuv forks, and fork copies the page tables of the
 * whole parent (a process with many coroutine stacks, buffers and threads
 * pays for each mapping on every job). glibc's posix_spawn is a
 * clone(CLONE_VM|CLONE_VFORK): the parent's memory is shared, not copied,
 * until the exec a few microseconds later, and exec failures (ENOENT,
 * EACCES, a bad cwd) come back as its return value.
 *
 * Exits are watched through a pidfd (Linux >= 5.3), which polls readable
 * once the child has ended; libuv watches it like a socket. Where the
 * kernel or a seccomp filter refuses pidfd_open, weft__spawn_has_pidfd says
 * so and aio_process.c uses uv_spawn and its SIGCHLD handling instead.
 * WEFT_AIO_SPAWN=uv in the environment forces that path (for tests).
 *
 * The child gets what uv_spawn gave it: an empty signal mask, every signal
 * at its default action, and, with new_group, a session and process group
 * of its own (setsid), so that a signal to the group reaches everything it
 * starts and a Ctrl-C at our terminal does not. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "aio/aio_spawn.h"

extern char **environ;

static int pidfd_open(int pid) {
#ifdef SYS_pidfd_open
  long fd = syscall(SYS_pidfd_open, pid, 0);
  return fd >= 0 ? (int)fd : -errno;
#else
  (void)pid;
  return -ENOSYS;
#endif
}

bool weft__spawn_has_pidfd(void) {
  static atomic_int known; /* 0 = not probed, 1 = yes, -1 = no */
  int k = atomic_load_explicit(&known, memory_order_relaxed);
  if (k == 0) {
    const char *force = getenv("WEFT_AIO_SPAWN");
    int fd = force && strcmp(force, "uv") == 0 ? -ENOSYS : pidfd_open((int)getpid());
    if (fd >= 0) close(fd);
    k = fd >= 0 ? 1 : -1;
    atomic_store_explicit(&known, k, memory_order_relaxed);
  }
  return k > 0;
}

/* An fd numbered 0..2 (our own standard stream was closed) would be
 * overwritten by the child's dup2 onto that number: move it above 2. */
static int lift_fd(int fd) {
  if (fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = moved < 0 ? -errno : 0;
  close(fd);
  return err ? err : moved;
}

int weft__spawn_pipe(int which, int *parent, int *child) {
  int p[2];
  int rc = which == 0 ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p)
                      : pipe2(p, O_CLOEXEC);
  if (rc != 0) return -errno;
  /* pipe2: p[0] reads. The child reads its stdin and writes the others. */
  int mine = which == 0 ? p[1] : p[0], theirs = which == 0 ? p[0] : p[1];
  mine = lift_fd(mine);
  theirs = lift_fd(theirs);
  if (mine < 0 || theirs < 0) {
    if (mine >= 0) close(mine);
    if (theirs >= 0) close(theirs);
    return mine < 0 ? mine : theirs;
  }
  *parent = mine;
  *child = theirs;
  return 0;
}

/* ---- PATH lookups, once per program ----
 *
 * posix_spawnp walks PATH in the child, one execve per directory until one
 * works, and the parent waits for all of them (vfork): with a PATH of ten
 * directories, most of a job's start. The first spawn of a name looks it up
 * here instead, as execvp would (the first regular file we may execute);
 * later spawns of the same name under the same PATH exec the found path at
 * once. Should that file have gone, the spawn falls back to the walk, as
 * it does when PATH has a relative entry (which depends on the child's
 * cwd). Per thread: each loop has its own. */

enum { PATHS = 4, PATH_LEN = 256 };

static _Thread_local struct path_cache {
  char name[64];
  char path[PATH_LEN];
  unsigned long path_hash; /* of $PATH when it was found */
  unsigned used;           /* for replacing the least recently used */
} paths[PATHS];
static _Thread_local unsigned path_clock;

static unsigned long hash_str(const char *s) {
  unsigned long h = 5381;
  for (; s && *s; s++) h = h * 33 + (unsigned char)*s;
  return h;
}

static bool executable_file(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

/* The full path of name from the cache or a walk of $PATH; NULL when name
 * has a '/', is long, or is not found (posix_spawnp then reports why). */
static const char *find_in_path(const char *name) {
  size_t nlen = strlen(name);
  const char *env = getenv("PATH");
  if (!env || !*env || strchr(name, '/') || nlen == 0 || nlen >= sizeof paths[0].name) return NULL;
  unsigned long h = hash_str(env);
  struct path_cache *victim = &paths[0];
  for (int i = 0; i < PATHS; i++) {
    if (paths[i].path_hash == h && strcmp(paths[i].name, name) == 0) {
      paths[i].used = ++path_clock;
      return paths[i].path;
    }
    if (paths[i].used < victim->used) victim = &paths[i];
  }
  char cand[PATH_LEN];
  for (const char *dir = env;; dir++) {
    const char *end = strchrnul(dir, ':');
    size_t dlen = (size_t)(end - dir);
    if (dlen == 0 || dir[0] != '/') return NULL; /* relative to the child's cwd */
    if (dlen + 1 + nlen < sizeof cand) {
      memcpy(cand, dir, dlen);
      cand[dlen] = '/';
      memcpy(cand + dlen + 1, name, nlen + 1);
      if (executable_file(cand)) {
        memcpy(victim->name, name, nlen + 1);
        memcpy(victim->path, cand, strlen(cand) + 1);
        victim->path_hash = h;
        victim->used = ++path_clock;
        return victim->path;
      }
    }
    if (!*end) return NULL;
    dir = end;
  }
}

static void forget_path(const char *path) {
  for (int i = 0; i < PATHS; i++)
    if (paths[i].path == path) paths[i] = (struct path_cache){0};
}

static int plan(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr,
                const weft__spawn_req *r) {
  int rc = 0;
  for (int i = 0; i < 3 && !rc; i++)
    if (r->child_fd[i] >= 0) rc = posix_spawn_file_actions_adddup2(fa, r->child_fd[i], i);
  if (!rc && r->cwd) rc = posix_spawn_file_actions_addchdir_np(fa, r->cwd);
  if (rc) return -rc;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  posix_spawnattr_setsigmask(attr, &none);
  posix_spawnattr_setsigdefault(attr, &all);
  if (r->new_group) {
#ifdef POSIX_SPAWN_SETSID
    flags |= POSIX_SPAWN_SETSID;
#else
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(attr, 0);
#endif
  }
  return -posix_spawnattr_setflags(attr, flags);
}

/* An executable file without "#!" is a shell script, as execvp and the
 * shells have it: /bin/sh runs it with the same arguments. */
static int spawn_script(pid_t *child, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, const weft__spawn_req *r,
                        char *const *envp) {
  size_t n = 0;
  while (r->argv[n]) n++;
  const char **v = malloc((n + 2) * sizeof *v);
  if (!v) return -ENOMEM;
  v[0] = "/bin/sh";
  v[1] = file;
  for (size_t i = 1; i <= n; i++) v[i + 1] = r->argv[i]; /* argv[n] is the NULL */
  int rc = -posix_spawn(child, "/bin/sh", fa, attr, (char *const *)v, envp);
  free(v);
  return rc;
}

int weft__spawn(const weft__spawn_req *r, int *pid, int *pidfd) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (posix_spawn_file_actions_init(&fa) != 0) return -ENOMEM;
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return -ENOMEM;
  }
  pid_t child = 0;
  int rc = plan(&fa, &attr, r);
  if (!rc) {
    char *const *envp = r->env ? (char *const *)r->env : environ;
    char *const *argv = (char *const *)r->argv;
    const char *path = find_in_path(r->argv[0]);
    rc = path ? -posix_spawn(&child, path, &fa, &attr, argv, envp) : -ENOENT;
    if (rc == -ENOENT || rc == -EACCES) { /* gone? walk PATH */
      if (path) forget_path(path);
      rc = -posix_spawnp(&child, r->argv[0], &fa, &attr, argv, envp);
    }
    if (rc == -ENOEXEC) rc = spawn_script(&child, path ? path : r->argv[0], &fa, &attr, r, envp);
  }
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return rc;
  /* The child is ours until we reap it, so its pid cannot be reused
   * between the spawn and pidfd_open, even if it has already exited. */
  int fd = pidfd_open(child);
  if (fd < 0) { /* out of descriptors: undo the start */
    kill(child, SIGKILL);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
    }
    return fd;
  }
  *pid = child;
  *pidfd = fd;
  return 0;
}
