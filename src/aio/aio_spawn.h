/* src/aio/aio_spawn.h — internal: starting a child cheaply for
 * aio_process.c (posix_spawn, pipes, pidfd). Loop thread only. */
#ifndef WEFT_AIO_SPAWN_H
#define WEFT_AIO_SPAWN_H

#include <stdbool.h>

typedef struct weft__spawn_req {
  const char *const *argv;  /* argv[0] searched in PATH */
  const char *const *env;   /* NULL = ours */
  const char *cwd;          /* NULL = ours */
  int child_fd[3];          /* the child's fd 0..2, or -1 to inherit ours */
  bool new_group;           /* the child leads a new session and group */
} weft__spawn_req;

/* Whether this kernel gives pidfds (probed once): without them the caller
 * falls back to uv_spawn, which learns of exits through SIGCHLD. */
bool weft__spawn_has_pidfd(void);

/* A pipe for the child's stream `which` (0 = stdin): *parent is our end,
 * *child the end it gets; both close-on-exec and numbered above 2. stdin
 * is a socketpair so that our end can be shut down (libuv's uv_shutdown
 * needs a socket); stdout and stderr are plain pipes. 0 or -errno. */
int weft__spawn_pipe(int which, int *parent, int *child);

/* posix_spawn of r: 0 with *pid and *pidfd (an fd that polls readable when
 * the child has exited), or -errno (nothing left running). */
int weft__spawn(const weft__spawn_req *r, int *pid, int *pidfd);

#endif /* WEFT_AIO_SPAWN_H */
