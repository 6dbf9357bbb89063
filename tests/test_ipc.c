/* tests/test_ipc.c — IPC between forked processes: shared memory (anonymous,
 * named, typed arrays), the robust process-shared lock (including a holder
 * that dies), semaphore, event, barrier, framed pipes and the shared queue.
 * What happens when a process dies while using them: test_ipc_robust.c.
 * Children only ever _exit with a code the parent checks through waitpid
 * (or are killed on purpose); no test creates a thread, so fork is safe
 * under ThreadSanitizer too. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "weft/proc.h"

#include "ipc_testutil.h"

/* ---- shared memory ---- */

static void test_shm_named(void **state) {
  (void)state;
  char name[64];
  snprintf(name, sizeof name, "/weft-test-ipc-%d", (int)getpid());
  weft_shm *a, *b, *c;
  assert_ok(weft_shm_create(&a, name, 4096));
  struct stat st;
  assert_int_equal(fstat(weft_shm_fd(a), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(weft_shm_size(a), 4096);
  assert_weft(weft_shm_create(&c, name, 4096), -EEXIST);
  assert_null(c);
  strcpy(weft_shm_ptr(a), "hello");
  assert_ok(weft_shm_open(&b, name));
  assert_int_equal(weft_shm_size(b), 4096);
  assert_string_equal(weft_shm_ptr(b), "hello");
  assert_ok(weft_shm_unlink(name));
  assert_weft(weft_shm_open(&c, name), WEFT_ENOENT);
  assert_weft(weft_shm_unlink(name), WEFT_ENOENT);
  assert_string_equal(weft_shm_ptr(b), "hello"); /* mappings outlive the name */
  weft_shm_destroy(a);
  weft_shm_destroy(b);
  weft_shm_destroy(NULL);
}

static void test_shm_bad_args(void **state) {
  (void)state;
  weft_shm *s;
  assert_weft(weft_shm_create(NULL, NULL, 10), WEFT_EINVAL);
  assert_weft(weft_shm_create(&s, NULL, 0), WEFT_EINVAL);
  assert_weft(weft_shm_create(&s, "noslash", 10), WEFT_EINVAL);
  assert_weft(weft_shm_create(&s, "/a/b", 10), WEFT_EINVAL);
  assert_weft(weft_shm_create(&s, "/", 10), WEFT_EINVAL);
  assert_weft(weft_shm_open(&s, NULL), WEFT_EINVAL);
  assert_weft(weft_shm_from_fd(&s, -1), WEFT_EINVAL);
  assert_weft(weft_shm_unlink("x"), WEFT_EINVAL);
  assert_null(weft_shm_ptr(NULL));
  assert_int_equal(weft_shm_fd(NULL), -1);
}

static int anon_child(int i, void *arg) {
  ((int *)weft_shm_ptr(arg))[i] = 100 + i;
  return 0;
}

static void test_shm_anon_fork_and_fd(void **state) {
  (void)state;
  weft_shm *s, *view;
  assert_ok(weft_shm_create(&s, NULL, 1 << 20));
  assert_int_equal(((int *)weft_shm_ptr(s))[5], 0); /* zero-filled */
  pid_t pids[3];
  fork_children(pids, 3, anon_child, s);
  wait_children(pids, 3);
  assert_ok(weft_shm_from_fd(&view, weft_shm_fd(s)));
  assert_int_equal(weft_shm_size(view), 1 << 20);
  for (int i = 0; i < 3; i++) assert_int_equal(((int *)weft_shm_ptr(view))[i], 100 + i);
  weft_shm_destroy(view);
  weft_shm_destroy(s);
}

/* ---- robust lock ---- */

struct counter_area {
  weft_plock lock;
  long counter;
  long iters;
};

static int counter_child(int i, void *arg) {
  (void)i;
  struct counter_area *c = arg;
  for (long k = 0; k < c->iters; k++) {
    if (weft_plock_lock(&c->lock) != 0) return 1;
    long v = c->counter; /* a non-atomic read-modify-write: the lock protects it */
    c->counter = v + 1;
    if (weft_plock_unlock(&c->lock) != 0) return 2;
  }
  return 0;
}

static void test_plock_counter(void **state) {
  (void)state;
  struct counter_area *c = shared_scratch(sizeof *c);
  assert_ok(weft_plock_init(&c->lock));
  c->iters = (long)scaled(20000, 1000);
  pid_t pids[4];
  fork_children(pids, 4, counter_child, c);
  wait_children(pids, 4);
  assert_int_equal(c->counter, 4 * c->iters);
  weft_plock_destroy(&c->lock);
  munmap(c, sizeof *c);
}

static int die_holding(int i, void *arg) {
  struct counter_area *c = arg;
  if (weft_plock_lock(&c->lock) != 0) return 1;
  c->counter = -1; /* "half-updated" state */
  if (i == 1) raise(SIGKILL);
  return 0; /* _exit with the lock held */
}

static void test_plock_owner_died(void **state) {
  (void)state;
  struct counter_area *c = shared_scratch(sizeof *c);
  assert_ok(weft_plock_init(&c->lock));
  for (int way = 0; way < 2; way++) { /* _exit, then SIGKILL */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(die_holding(way, c));
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_weft(weft_plock_lock_timed(&c->lock, 5000 * MS), WEFT_EOWNERDEAD);
    assert_int_equal(c->counter, -1);
    c->counter = 0; /* repair */
    assert_ok(weft_plock_consistent(&c->lock));
    assert_ok(weft_plock_unlock(&c->lock));
    assert_ok(weft_plock_lock(&c->lock));
    assert_ok(weft_plock_unlock(&c->lock));
  }
  /* Unlocking without consistent leaves the lock unrecoverable. */
  pid_t pid = fork();
  if (pid == 0) _exit(die_holding(0, c));
  wait_children(&pid, 1);
  assert_weft(weft_plock_lock(&c->lock), WEFT_EOWNERDEAD);
  assert_ok(weft_plock_unlock(&c->lock));
  assert_weft(weft_plock_lock(&c->lock), WEFT_EBROKEN);
  weft_plock_destroy(&c->lock);
  munmap(c, sizeof *c);
}

static int busy_child(int i, void *arg) {
  (void)i;
  struct counter_area *c = arg;
  if (weft_plock_trylock(&c->lock) != WEFT_EBUSY) return 1;
  if (weft_plock_lock_timed(&c->lock, 20 * MS) != WEFT_ETIMEDOUT) return 2;
  if (weft_plock_unlock(&c->lock) != WEFT_EPERM) return 3;
  return 0;
}

static void test_plock_busy_and_errors(void **state) {
  (void)state;
  struct counter_area *c = shared_scratch(sizeof *c);
  assert_ok(weft_plock_init(&c->lock));
  assert_ok(weft_plock_lock(&c->lock));
  assert_weft(weft_plock_lock(&c->lock), WEFT_EDEADLK);
  pid_t pid;
  fork_children(&pid, 1, busy_child, c);
  wait_children(&pid, 1);
  assert_weft(weft_plock_consistent(&c->lock), WEFT_EINVAL);
  assert_ok(weft_plock_unlock(&c->lock));
  assert_weft(weft_plock_init(NULL), WEFT_EINVAL);
  assert_weft(weft_plock_lock(NULL), WEFT_EINVAL);
  weft_plock_destroy(&c->lock);
  munmap(c, sizeof *c);
}

/* ---- semaphore, event, barrier ---- */

struct sem_area {
  weft_psem sem;
  weft_pevent ev;
  weft_pbarrier bar;
  int holders, max_holders, serials;
  int arrived[64];
  long iters;
};

static int sem_child(int i, void *arg) {
  (void)i;
  struct sem_area *a = arg;
  for (long k = 0; k < a->iters; k++) {
    if (weft_psem_wait(&a->sem) != 0) return 1;
    int now = __atomic_add_fetch(&a->holders, 1, __ATOMIC_SEQ_CST);
    int max = __atomic_load_n(&a->max_holders, __ATOMIC_SEQ_CST);
    while (now > max && !__atomic_compare_exchange_n(&a->max_holders, &max, now, false,
                                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    if (k % 16 == 0) usleep(50);
    __atomic_sub_fetch(&a->holders, 1, __ATOMIC_SEQ_CST);
    if (weft_psem_post(&a->sem) != 0) return 2;
  }
  return 0;
}

static void test_psem_never_over_admits(void **state) {
  (void)state;
  struct sem_area *a = shared_scratch(sizeof *a);
  assert_ok(weft_psem_init(&a->sem, 2));
  a->iters = (long)scaled(3000, 300);
  pid_t pids[6];
  fork_children(pids, 6, sem_child, a);
  wait_children(pids, 6);
  assert_true(a->max_holders >= 1 && a->max_holders <= 2);
  assert_int_equal(weft_psem_value(&a->sem), 2);
  assert_ok(weft_psem_trywait(&a->sem));
  assert_ok(weft_psem_wait_timed(&a->sem, 0));
  assert_weft(weft_psem_trywait(&a->sem), WEFT_EAGAIN);
  assert_weft(weft_psem_wait_timed(&a->sem, 10 * MS), WEFT_ETIMEDOUT);
  assert_weft(weft_psem_init(&a->sem, 1u << 31), WEFT_EINVAL);
  assert_weft(weft_psem_wait(NULL), WEFT_EINVAL);
  munmap(a, sizeof *a);
}

static int event_child(int i, void *arg) {
  struct sem_area *a = arg;
  __atomic_add_fetch(&a->holders, 1, __ATOMIC_SEQ_CST);
  int rc = i == 0 ? weft_pevent_wait(&a->ev) : weft_pevent_wait_timed(&a->ev, 30000 * MS);
  return rc == 0 && weft_pevent_is_set(&a->ev) ? 0 : 1;
}

static void test_pevent_wakes_children(void **state) {
  (void)state;
  struct sem_area *a = shared_scratch(sizeof *a);
  weft_pevent_init(&a->ev);
  assert_weft(weft_pevent_wait_timed(&a->ev, 10 * MS), WEFT_ETIMEDOUT);
  pid_t pids[3];
  fork_children(pids, 3, event_child, a);
  while (__atomic_load_n(&a->holders, __ATOMIC_SEQ_CST) < 3) usleep(1000);
  usleep(20000); /* most likely asleep by now; correct either way */
  weft_pevent_set(&a->ev);
  wait_children(pids, 3);
  weft_pevent_clear(&a->ev);
  assert_false(weft_pevent_is_set(&a->ev));
  assert_weft(weft_pevent_wait(NULL), WEFT_EINVAL);
  munmap(a, sizeof *a);
}

enum { BAR_GENS = 50 };

static int barrier_party(int i, void *arg) {
  (void)i;
  struct sem_area *a = arg;
  for (int g = 0; g < BAR_GENS; g++) {
    __atomic_add_fetch(&a->arrived[g % 64], 1, __ATOMIC_RELAXED);
    int rc = weft_pbarrier_wait(&a->bar);
    if (rc < 0) return 1;
    if (rc == 1) __atomic_add_fetch(&a->serials, 1, __ATOMIC_RELAXED);
    /* Everyone of this generation arrived before anyone passed. */
    if (__atomic_load_n(&a->arrived[g % 64], __ATOMIC_RELAXED) < 3 * (g / 64 + 1)) return 2;
  }
  return 0;
}

static void test_pbarrier_generations(void **state) {
  (void)state;
  struct sem_area *a = shared_scratch(sizeof *a);
  assert_ok(weft_pbarrier_init(&a->bar, 3));
  pid_t pids[2];
  fork_children(pids, 2, barrier_party, a);
  assert_int_equal(barrier_party(2, a), 0);
  wait_children(pids, 2);
  assert_int_equal(a->serials, BAR_GENS);
  /* A timed-out waiter withdraws: the barrier still needs 3 afterwards. */
  assert_weft(weft_pbarrier_wait_timed(&a->bar, 10 * MS), WEFT_ETIMEDOUT);
  memset(a->arrived, 0, sizeof a->arrived);
  a->serials = 0;
  fork_children(pids, 2, barrier_party, a);
  assert_int_equal(barrier_party(2, a), 0);
  wait_children(pids, 2);
  assert_int_equal(a->serials, BAR_GENS);
  assert_weft(weft_pbarrier_init(&a->bar, 0), WEFT_EINVAL);
  assert_weft(weft_pbarrier_init(&a->bar, 70000), WEFT_EINVAL);
  munmap(a, sizeof *a);
}

/* ---- pipes ---- */

/* Echoes every message back until the parent closes its end. */
static int echo_child(int i, void *arg) {
  (void)i;
  weft_pipe **ends = arg;
  weft_pipe_close(ends[0]);
  for (;;) {
    void *m;
    size_t n;
    int rc = weft_pipe_recv(ends[1], &m, &n, WEFT_FOREVER);
    if (rc == WEFT_ECLOSED) break;
    if (rc != 0) return 1;
    rc = weft_pipe_send(ends[1], m, n);
    free(m);
    if (rc != 0) return 2;
  }
  weft_pipe_close(ends[1]);
  return 0;
}

static void round_trip(weft_pipe *p, const void *msg, size_t n) {
  assert_ok(weft_pipe_send(p, msg, n));
  void *back;
  size_t got;
  assert_ok(weft_pipe_recv(p, &back, &got, 60000 * MS));
  assert_int_equal(got, n);
  if (n) assert_memory_equal(back, msg, n);
  free(back);
}

static void test_pipe_round_trips(void **state) {
  (void)state;
  weft_pipe *ends[2];
  assert_ok(weft_pipe_create(&ends[0], &ends[1]));
  pid_t pid;
  fork_children(&pid, 1, echo_child, ends);
  weft_pipe_close(ends[1]);
  char small[64];
  for (int i = 0; i < (int)scaled(2000, 200); i++) {
    int n = snprintf(small, sizeof small, "message %d", i);
    round_trip(ends[0], small, (size_t)(i % 7 == 0 ? 0 : n));
  }
  size_t big_n = 64u << 20;
  unsigned char *big = malloc(big_n);
  assert_non_null(big);
  for (size_t i = 0; i < big_n; i++) big[i] = (unsigned char)(i * 31 + (i >> 13));
  /* The echo child answers while we still send, so both sides must keep
   * reading: send from here, the child reads all before echoing. */
  round_trip(ends[0], big, big_n);
  free(big);
  void *m;
  size_t n;
  assert_weft(weft_pipe_recv(ends[0], &m, &n, 10 * MS), WEFT_ETIMEDOUT);
  assert_null(m);
  weft_pipe_close(ends[0]);
  wait_children(&pid, 1);
}

static void test_pipe_close_and_errors(void **state) {
  (void)state;
  weft_pipe *a, *b;
  assert_ok(weft_pipe_create(&a, &b));
  assert_ok(weft_pipe_send(a, "x", 1));
  weft_pipe_close(a);
  void *m;
  size_t n;
  assert_ok(weft_pipe_recv(b, &m, &n, 0)); /* queued messages survive the close */
  assert_int_equal(n, 1);
  free(m);
  assert_weft(weft_pipe_recv(b, &m, &n, WEFT_FOREVER), WEFT_ECLOSED);
  assert_weft(weft_pipe_send(b, "y", 1), WEFT_ECLOSED);
  assert_weft(weft_pipe_send(b, NULL, 1), WEFT_EINVAL);
  assert_weft(weft_pipe_send(b, "y", WEFT_PIPE_MAX_MSG + 1), WEFT_ERANGE);
  assert_weft(weft_pipe_recv(NULL, &m, &n, 0), WEFT_EINVAL);
  assert_weft(weft_pipe_create(NULL, &a), WEFT_EINVAL);
  weft_pipe_close(b);
  weft_pipe_close(NULL);
}

/* ---- shared queue ---- */

struct pq_area {
  weft_pqueue *q;
  long per_producer;
  unsigned long long sum_in, sum_out;
  unsigned char seen[];
};

static int producer(int i, void *arg) {
  struct pq_area *a = arg;
  for (long k = 0; k < a->per_producer; k++) {
    uint64_t v = (uint64_t)i * (uint64_t)a->per_producer + (uint64_t)k;
    if (weft_pqueue_send(a->q, &v) != 0) return 1;
    __atomic_add_fetch(&a->sum_in, v, __ATOMIC_RELAXED);
  }
  return 0;
}

static int consumer(int i, void *arg) {
  (void)i;
  struct pq_area *a = arg;
  uint64_t v;
  int rc;
  while ((rc = weft_pqueue_recv(a->q, &v)) == 0) {
    if (v >= 2 * (uint64_t)a->per_producer) return 1;
    __atomic_add_fetch(&a->seen[v], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&a->sum_out, v, __ATOMIC_RELAXED);
  }
  return rc == WEFT_ECLOSED ? 0 : 2;
}

static void test_pqueue_mpmc_processes(void **state) {
  (void)state;
  long per = (long)scaled(50000, 5000);
  size_t area_size = sizeof(struct pq_area) + 2 * (size_t)per;
  struct pq_area *a = shared_scratch(area_size);
  a->per_producer = per;
  assert_ok(weft_pqueue_create(&a->q, sizeof(uint64_t), 64));
  pid_t prod[2], cons[2];
  fork_children(cons, 2, consumer, a);
  fork_children(prod, 2, producer, a);
  wait_children(prod, 2);
  assert_ok(weft_pqueue_close(a->q));
  assert_weft(weft_pqueue_close(a->q), WEFT_EALREADY);
  wait_children(cons, 2);
  for (long v = 0; v < 2 * per; v++)
    if (a->seen[v] != 1) fail_msg("item %ld seen %d times", v, a->seen[v]);
  assert_true(a->sum_in == a->sum_out);
  weft_pqueue_destroy(a->q);
  munmap(a, area_size);
}

static void test_pqueue_semantics(void **state) {
  (void)state;
  weft_pqueue *q, *view;
  int v = 0, out;
  assert_weft(weft_pqueue_create(&q, 0, 4), WEFT_EINVAL);
  assert_weft(weft_pqueue_create(&q, 4, 0), WEFT_EINVAL);
  assert_ok(weft_pqueue_create(&q, sizeof(int), 3)); /* rounded to 4 */
  assert_weft(weft_pqueue_try_recv(q, &out), WEFT_EAGAIN);
  assert_weft(weft_pqueue_recv_timed(q, &out, 10 * MS), WEFT_ETIMEDOUT);
  for (v = 0; v < 4; v++) assert_ok(weft_pqueue_try_send(q, &v));
  assert_weft(weft_pqueue_try_send(q, &v), WEFT_EAGAIN);
  assert_weft(weft_pqueue_send_timed(q, &v, 10 * MS), WEFT_ETIMEDOUT);
  assert_ok(weft_pqueue_attach(&view, weft_pqueue_fd(q)));
  assert_ok(weft_pqueue_recv(view, &out));
  assert_int_equal(out, 0);
  assert_ok(weft_pqueue_send(view, &v));
  assert_ok(weft_pqueue_close(view));
  assert_weft(weft_pqueue_send(q, &v), WEFT_ECLOSED);
  for (int want = 1; want <= 4; want++) {
    assert_ok(weft_pqueue_recv(q, &out));
    assert_int_equal(out, want);
  }
  assert_weft(weft_pqueue_recv(q, &out), WEFT_ECLOSED);
  assert_weft(weft_pqueue_try_recv(q, &out), WEFT_ECLOSED);
  weft_pqueue_destroy(view);
  weft_shm *plain;
  assert_ok(weft_shm_create(&plain, NULL, 4096));
  assert_weft(weft_pqueue_attach(&view, weft_shm_fd(plain)), WEFT_EINVAL);
  weft_shm_destroy(plain);
  assert_weft(weft_pqueue_send(NULL, &v), WEFT_EINVAL);
  weft_pqueue_destroy(q);
}

/* Capacity 1 is rounded to 2 (the ring needs two slots to tell its sides
 * apart); before, a second send overwrote the first item. */
static void test_pqueue_capacity_one(void **state) {
  (void)state;
  weft_pqueue *q;
  int out;
  assert_ok(weft_pqueue_create(&q, sizeof(int), 1));
  for (int v = 1; v <= 2; v++) assert_ok(weft_pqueue_try_send(q, &v));
  assert_weft(weft_pqueue_try_send(q, &out), WEFT_EAGAIN);
  for (int v = 1; v <= 2; v++) {
    assert_ok(weft_pqueue_try_recv(q, &out));
    assert_int_equal(out, v);
  }
  weft_pqueue_destroy(q);
}

/* ---- typed shared arrays (Value / Array) ---- */

static int array_child(int i, void *arg) {
  weft_shm_array *a = arg;
  double *d = weft_shm_array_data(a);
  for (int k = 0; k < 1000; k++) {
    if (weft_plock_lock(weft_shm_array_lock(a)) != 0) return 1;
    d[0] += 1.0;
    d[1 + i] += 0.5;
    weft_plock_unlock(weft_shm_array_lock(a));
  }
  return 0;
}

static void test_shm_array(void **state) {
  (void)state;
  weft_shm_array *a;
  assert_weft(weft_shm_array_create(&a, 0, 1), WEFT_EINVAL);
  assert_weft(weft_shm_array_create(&a, SIZE_MAX / 2, 4), WEFT_EINVAL);
  assert_ok(weft_shm_array_create(&a, sizeof(double), 5));
  assert_int_equal(weft_shm_array_len(a), 5);
  assert_int_equal((uintptr_t)weft_shm_array_data(a) % 64, 0);
  pid_t pids[4];
  fork_children(pids, 4, array_child, a);
  wait_children(pids, 4);
  double *d = weft_shm_array_data(a);
  assert_true(d[0] == 4000.0);
  for (int i = 1; i < 5; i++) assert_true(d[i] == 500.0);
  weft_shm_array_destroy(a);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_shm_named),
      T(test_shm_bad_args),
      T(test_shm_anon_fork_and_fd),
      T(test_plock_counter),
      T(test_plock_owner_died),
      T(test_plock_busy_and_errors),
      T(test_psem_never_over_admits),
      T(test_pevent_wakes_children),
      T(test_pbarrier_generations),
      T(test_pipe_round_trips),
      T(test_pipe_close_and_errors),
      T(test_pqueue_mpmc_processes),
      T(test_pqueue_semantics),
      T(test_pqueue_capacity_one),
      T(test_shm_array),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
