/* src/proc/ppool_worker.c — the process pool's worker: the entry run in each
 * worker process.
 *
 * It receives its INIT (shared memfds and the manager's eventfd) on the
 * control socket, runs the pool's init function, acknowledges, then takes
 * tasks from its ring in order. Before running a task it publishes the
 * task's id (cur_id) so the owner can tell, if the worker dies, which task
 * was running and which were only queued. Inside a task weft__tls.task
 * points at a local record, so weft_task_fail and weft_task_set_result work
 * as in a thread pool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "pool/task.h"
#include "proc/ppool_internal.h"
#include "trace/trace_internal.h"

/* Spins before sleeping on an empty ring: a task that follows closely is
 * taken without a futex wake (microseconds each way). */
#define WK_SPIN_NS 30000u

typedef struct wk {
  int ctl, efd;
  pp_common *cm;
  pp_region *r;
  char *args, *res;
  uint32_t tail, chead;
  uint64_t res_head;
  void *fns[PP_FNS];
  uint64_t ctx_map;  /* the map whose ctx is mapped at ctx */
  void *ctx;
  size_t ctx_size;
} wk;

static void copy_msg(char *dst, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n >= PP_MSG) n = PP_MSG - 1;
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
}

static int resolve(wk *k, uint32_t fn, void **out, pp_cslot *c) {
  if (fn >= PP_FNS) {
    copy_msg(c->msg, "bad function index");
    return WEFT_ENOENT;
  }
  if (!k->fns[fn]) {
    char err[PP_MSG];
    err[0] = '\0';
    int rc = weft__fnref_resolve(&k->cm->fns[fn], &k->fns[fn], err, sizeof err);
    if (rc) {
      k->fns[fn] = NULL;
      copy_msg(c->msg, err);
      return rc;
    }
  }
  *out = k->fns[fn];
  return 0;
}

/* Reserves n bytes for a result: in the arena, or NULL (use a memfd). */
static char *res_alloc(wk *k, size_t n, pp_cslot *c) {
  uint64_t off;
  if (n > PP_LARGE) return NULL;
  if (!pp_arena_alloc(&k->res_head, weft_load_acquire(&k->r->res_tail), PP_ARENA, n, &off))
    return NULL;
  c->off = off;
  c->size = n;
  c->res_end = k->res_head;
  return k->res + off;
}

/* Sends a result of n bytes through a memfd (data after the header page). */
static int res_memfd(wk *k, const void *data, size_t n, pp_cslot *c) {
  int fd = -1;
  int rc = pp_memfd("weft-ppool-res", PP_PAGE + n, &fd, NULL);
  size_t done = 0;
  while (rc == 0 && done < n) {
    ssize_t w = pwrite(fd, (const char *)data + done, n - done, (off_t)(PP_PAGE + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) rc = WEFT_EIO;
    else done += (size_t)w;
  }
  if (rc == 0) rc = weft__ctl_send(k->ctl, PP_MSG_RESFD, &c->id, sizeof c->id, &fd, 1);
  if (fd >= 0) close(fd);
  if (rc) return rc;
  c->flags |= PP_C_MEMFD;
  c->size = n;
  c->res_end = k->res_head;
  return 0;
}

static void put_result(wk *k, pp_cslot *c, const void *v, size_t n) {
  c->flags |= PP_C_VALUE;
  char *dst = res_alloc(k, n, c);
  if (dst) {
    if (n) memcpy(dst, v, n);
    return;
  }
  int rc = res_memfd(k, v, n, c);
  if (rc) {
    c->flags = 0;
    c->code = rc;
    snprintf(c->msg, PP_MSG, "the result (%zu bytes) could not be returned: %s", n,
             weft_strerror(rc));
  }
}

/* The argument of slot s: in the arena, or a memfd received now. */
static const char *get_arg(wk *k, const pp_tslot *s, void **map) {
  *map = NULL;
  if (!(s->flags & PP_T_MEMFD)) return k->args + s->off;
  for (;;) {
    uint32_t kind;
    uint64_t id;
    size_t len, nfds = 1;
    int fd = -1;
    int rc = weft__ctl_recv(k->ctl, &kind, &id, sizeof id, &len, &fd, &nfds, WEFT_FOREVER);
    if (rc == WEFT_ECLOSED) _exit(0); /* the owner is gone */
    if (rc) continue;
    /* A stale one (its task failed before reading it) is skipped. */
    if (kind != PP_MSG_ARGFD || nfds != 1 || len != sizeof id || id != s->id) {
      if (nfds == 1) close(fd);
      continue;
    }
    void *m = s->size ? mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (m == MAP_FAILED) return NULL;
    *map = m;
    return m;
  }
}

/* The ctx of map `id`: the one mapped already, or the memfd that the owner
 * sent before this chunk, with its id and size (older ones are skipped). */
static void *get_ctx(wk *k, uint64_t id) {
  if (k->ctx_map == id) return k->ctx;
  if (k->ctx) munmap(k->ctx, k->ctx_size);
  k->ctx = NULL;
  k->ctx_map = 0;
  for (;;) {
    uint32_t kind;
    uint64_t got[2];
    size_t len, nfds = 1;
    int fd = -1;
    int rc = weft__ctl_recv(k->ctl, &kind, got, sizeof got, &len, &fd, &nfds, WEFT_FOREVER);
    if (rc == WEFT_ECLOSED) _exit(0); /* the owner is gone */
    if (rc) continue;
    if (nfds != 1) continue;
    if (kind != PP_MSG_CTXFD || len != sizeof got || got[0] != id || !got[1]) {
      close(fd);
      continue;
    }
    size_t size = got[1];
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return NULL;
    k->ctx = m;
    k->ctx_size = size;
    k->ctx_map = id;
    return m;
  }
}

static int task_code(int rc, weft__task *t, pp_cslot *c, bool keep_msg) {
  if (rc > 0) rc = WEFT_ETASK;
  if (rc && keep_msg) copy_msg(c->msg, t->msg);
  free(t->msg);
  t->msg = NULL;
  return rc;
}

static void run_single(wk *k, const pp_tslot *s, pp_cslot *c) {
  void *fn = NULL, *map = NULL;
  int rc = resolve(k, s->fn, &fn, c);
  if (rc) {
    c->code = rc;
    return;
  }
  const char *arg = get_arg(k, s, &map);
  if (!arg && s->size) {
    c->code = WEFT_ENOMEM;
    copy_msg(c->msg, "could not map the task's argument");
    return;
  }
  weft__task t;
  memset(&t, 0, sizeof t);
  weft__tls.task = &t;
  rc = ((weft_proc_fn)fn)(arg, s->size);
  weft__tls.task = NULL;
  if (map) munmap(map, s->size);
  c->code = task_code(rc, &t, c, true);
  if (t.value || t.size) {
    put_result(k, c, t.value, t.size);
    if (t.value && t.value_free) t.value_free(t.value);
  }
}

static void run_chunk(wk *k, const pp_tslot *s, pp_cslot *c) {
  void *fn = NULL, *map = NULL, *ctx = NULL;
  int rc = resolve(k, s->fn, &fn, c);
  /* The ctx message came before the argument's: read it first. */
  if (s->flags & PP_T_CTX) ctx = get_ctx(k, s->map);
  if (rc) {
    c->code = rc;
    return;
  }
  const char *arg = get_arg(k, s, &map);
  if (!arg) {
    c->code = WEFT_ENOMEM;
    copy_msg(c->msg, "could not map the chunk");
    return;
  }
  pp_chunk_hdr h;
  memcpy(&h, arg, sizeof h);
  const char *in = arg + sizeof h;
  if (!h.ctx_size) ctx = NULL;
  else if (ctx && k->ctx_size != h.ctx_size) ctx = NULL;
  if (h.ctx_size && !ctx) {
    c->code = WEFT_ENOMEM;
    copy_msg(c->msg, "could not map the map's ctx");
    if (map) munmap(map, s->size);
    return;
  }
  size_t osz = h.has_out ? h.count * h.out_size : 0;
  size_t rsize = osz + (h.all ? h.count * sizeof(int32_t) : 0);
  char *out = rsize ? res_alloc(k, rsize, c) : NULL;
  bool heap = rsize && !out;
  if (heap && !(out = calloc(1, rsize))) {
    c->code = WEFT_ENOMEM;
    copy_msg(c->msg, "no memory for the chunk's results");
    if (map) munmap(map, s->size);
    return;
  }
  c->fail = UINT64_MAX;
  for (size_t i = 0; i < h.count; i++) {
    weft__task t;
    memset(&t, 0, sizeof t);
    weft__tls.task = &t;
    rc = ((weft_map_fn)fn)(in + i * h.in_size, h.has_out ? out + i * h.out_size : NULL, ctx);
    weft__tls.task = NULL;
    if (t.value && t.value_free) t.value_free(t.value);
    bool first = rc && c->fail == UINT64_MAX;
    rc = task_code(rc, &t, c, first);
    if (h.all) memcpy(out + osz + i * sizeof(int32_t), &(int32_t){rc}, sizeof(int32_t));
    if (first) {
      c->fail = h.begin + i;
      c->code = rc;
      if (!h.all) break;
    }
  }
  if (map) munmap(map, s->size);
  c->flags |= rsize ? PP_C_VALUE : 0;
  if (heap) {
    int e = res_memfd(k, out, rsize, c);
    free(out);
    if (e) {
      c->flags = 0;
      c->code = e;
      copy_msg(c->msg, "the chunk's results could not be returned");
    }
  }
}

/* Waits for the next slot; false when the ring holds a STOP. */
static bool next_slot(wk *k, pp_tslot *s) {
  pp_region *r = k->r;
  uint32_t head = weft_load_acquire(&r->t_head);
  if (head == k->tail) {
    uint64_t until = weft_now_ns() + WK_SPIN_NS;
    for (unsigned i = 1; head == k->tail; i++) {
      weft_cpu_relax();
      head = weft_load_acquire(&r->t_head);
      if ((i & 63) == 0) {
        if (weft_now_ns() > until) break;
        /* On a crowded machine the manager that would refill this ring
         * may be waiting for this very CPU. */
        sched_yield();
      }
    }
    while (head == k->tail) {
      /* Dekker with the owner's push: it stores t_head then reads w_sleep. */
      __atomic_store_n(&r->w_sleep, 1, __ATOMIC_SEQ_CST);
      head = __atomic_load_n(&r->t_head, __ATOMIC_SEQ_CST);
      if (head == k->tail) weft__futex_wait_shared(&r->t_head, k->tail, WEFT_FOREVER);
      __atomic_store_n(&r->w_sleep, 0, __ATOMIC_RELAXED);
      head = weft_load_acquire(&r->t_head);
    }
  }
  *s = r->t[k->tail % PP_SLOTS];
  if (s->flags & PP_T_STOP) return false;
  /* Published before the slot is released: a death after this line is
   * blamed on this task, a death before it leaves the task queued. */
  __atomic_store_n(&r->cur_start, weft_now_ns(), __ATOMIC_RELAXED);
  weft_store_release(&r->cur_id, s->id);
  k->tail++;
  weft_store_release(&r->t_tail, k->tail);
  return true;
}

static void push_completion(wk *k, const pp_cslot *c) {
  pp_region *r = k->r;
  r->c[k->chead % PP_SLOTS] = *c;
  k->chead++;
  __atomic_store_n(&r->c_head, k->chead, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&k->cm->mgr_sleep, __ATOMIC_SEQ_CST)) {
    uint64_t one = 1;
    ssize_t w = write(k->efd, &one, sizeof one);
    (void)w; /* a full counter already wakes the manager */
  }
}

static int run_init(wk *k, pp_ack_msg *ack) {
  pp_common *cm = k->cm;
  if (!cm->has_init) return 0;
  void *fn;
  char err[PP_MSG] = "";
  int rc = weft__fnref_resolve(&cm->init_ref, &fn, err, sizeof err);
  if (rc) {
    copy_msg(ack->msg, err);
    return rc;
  }
  weft__task t;
  memset(&t, 0, sizeof t);
  weft__tls.task = &t;
  rc = ((weft_proc_fn)fn)((const char *)cm + PP_INIT_OFF, cm->init_size);
  weft__tls.task = NULL;
  if (t.value && t.value_free) t.value_free(t.value);
  if (rc > 0) rc = WEFT_ETASK;
  if (rc) copy_msg(ack->msg, t.msg ? t.msg : "");
  free(t.msg);
  return rc;
}

static int setup(wk *k, pp_init_msg *im) {
  uint32_t kind;
  size_t len, nfds = 3;
  int fds[3] = {-1, -1, -1};
  int rc = weft__ctl_recv(k->ctl, &kind, im, sizeof *im, &len, fds, &nfds, WEFT_FOREVER);
  if (rc || kind != PP_MSG_INIT || nfds != 3 || len != sizeof *im) {
    for (size_t i = 0; i < nfds && i < 3; i++) close(fds[i]);
    return WEFT_EIO;
  }
  k->cm = mmap(NULL, im->common_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
  k->r = mmap(NULL, PP_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
  close(fds[0]);
  close(fds[1]);
  k->efd = fds[2];
  if (k->cm == MAP_FAILED || k->r == MAP_FAILED) return WEFT_ENOMEM;
  k->args = (char *)k->r + PP_ARG_OFF;
  k->res = (char *)k->r + PP_RES_OFF;
  return 0;
}

static void trace_figures(pp_cslot *c, uint64_t t0, uint64_t cpu0) {
  c->start_ns = t0;
  c->cpu_ns = weft__trace_thread_cpu_ns() - cpu0;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) c->rss_kb = (uint64_t)ru.ru_maxrss; /* KiB on Linux */
}

int pp_worker_main(const void *arg, size_t size) {
  (void)arg;
  (void)size;
  wk k;
  memset(&k, 0, sizeof k);
  k.ctl = weft__child_ctl();
  pp_init_msg im;
  if (setup(&k, &im)) return 70;
  pp_ack_msg ack;
  memset(&ack, 0, sizeof ack);
  ack.code = run_init(&k, &ack);
  weft__ctl_send(k.ctl, PP_MSG_ACK, &ack, sizeof ack, NULL, 0);
  if (ack.code) return 71;
  unsigned done = 0;
  pp_tslot s;
  while (next_slot(&k, &s)) {
    pp_cslot c;
    memset(&c, 0, offsetof(pp_cslot, msg));
    c.msg[0] = '\0';
    c.id = s.id;
    uint64_t t0 = weft_load_relaxed(&k.r->cur_start);
    /* Profiling for the owner's trace: only asked for while it records. */
    bool traced = s.flags & PP_T_TRACE;
    uint64_t cpu0 = traced ? weft__trace_thread_cpu_ns() : 0;
    if (s.flags & PP_T_MAP) run_chunk(&k, &s, &c);
    else run_single(&k, &s, &c);
    c.run_ns = weft_now_ns() - t0;
    if (traced) trace_figures(&c, t0, cpu0);
    /* Completions are harvested in order: release everything so far. */
    c.res_end = k.res_head;
    push_completion(&k, &c);
    if (im.max_tasks && ++done >= im.max_tasks) break;
  }
  return 0;
}
