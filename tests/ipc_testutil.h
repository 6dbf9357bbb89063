/* tests/ipc_testutil.h — what the IPC tests (test_ipc.c, test_ipc_robust.c)
 * share: a descriptor-leak check around each test, scratch memory shared
 * with forked children, and forking/reaping children that die with the
 * test. Test bookkeeping only, not code under test. */
#ifndef WEFT_IPC_TESTUTIL_H
#define WEFT_IPC_TESTUTIL_H

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

#define MS 1000000ull

static int fds_at_start;

static inline int setup(void **state) {
  (void)state;
  fds_at_start = open_fd_count();
  return 0;
}

static inline int teardown(void **state) {
  (void)state;
  assert_int_equal(open_fd_count(), fds_at_start);
  return 0;
}

/* Memory shared with forked children. */
static inline void *shared_scratch(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(p != MAP_FAILED);
  return p;
}

typedef int (*child_fn)(int index, void *arg);

/* Forks n children running fn(i, arg); their return value is the exit code.
 * A child dies with the parent, so a failed assertion that leaves children
 * blocked (on a queue nobody will close) cannot leave them running. */
static inline void fork_children(pid_t *pids, int n, child_fn fn, void *arg) {
  pid_t parent = getpid();
  for (int i = 0; i < n; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(99); /* the parent died before prctl */
      _exit(fn(i, arg));
    }
  }
}

/* Reaps every child and checks each exited with code 0. */
static inline void wait_children(const pid_t *pids, int n) {
  for (int i = 0; i < n; i++) {
    int st;
    assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
}

#endif /* WEFT_IPC_TESTUTIL_H */
