/* examples/shared_counter.c — multiprocessing.Value with its lock: several
 * processes increment one counter in shared memory.
 *
 *   counter = multiprocessing.Value('l', 0)
 *   def work():
 *       for _ in range(N):
 *           with counter.get_lock():
 *               counter.value += 1
 *
 * Processes are started with fork() here; weft's own process objects come
 * with the process pool. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "weft/weft.h"

#define PROCS 4
#define INCREMENTS 25000

static void work(weft_shm_array *counter) {
  long *value = weft_shm_array_data(counter);
  weft_plock *lock = weft_shm_array_lock(counter);
  for (int i = 0; i < INCREMENTS; i++) {
    if (weft_plock_lock(lock) != 0) _exit(1);
    ++*value; /* a read-modify-write: without the lock, updates get lost */
    weft_plock_unlock(lock);
  }
}

int main(void) {
  weft_shm_array *counter;
  int rc = weft_shm_array_create(&counter, sizeof(long), 1); /* Value('l', 0) */
  if (rc) {
    fprintf(stderr, "shm: %s\n", weft_strerror(rc));
    return 1;
  }
  pid_t pids[PROCS];
  for (int p = 0; p < PROCS; p++) {
    pids[p] = fork();
    if (pids[p] == 0) {
      work(counter);
      _exit(0);
    }
  }
  int failed = 0;
  for (int p = 0; p < PROCS; p++) {
    int status;
    if (pids[p] < 0 || waitpid(pids[p], &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
      failed = 1;
  }
  long total = *(long *)weft_shm_array_data(counter);
  printf("%d processes x %d increments under a shared lock\n", PROCS, INCREMENTS);
  printf("counter = %ld (expected %d)\n", total, PROCS * INCREMENTS);
  weft_shm_array_destroy(counter);
  return failed || total != PROCS * INCREMENTS;
}
