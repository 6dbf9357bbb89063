/* src/proc/ppool_internal.h — the process pool's shared layout and the
 * owner-side bookkeeping, shared by ppool*.c.
 *
 * Each worker has a region (memfd, MAP_SHARED in owner and worker): an SPSC
 * task ring owner -> worker, an SPSC completion ring worker -> owner, an
 * argument arena (allocated by the owner, in FIFO order) and a result arena
 * (allocated by the worker, released by the owner in FIFO order). A worker
 * runs its tasks strictly in ring order, so completions come back in
 * dispatch order and both arenas are plain ring allocators.
 *
 * One pool-wide "common" memfd holds the manager's sleep flag, the table of
 * interned functions and the init argument.
 *
 * Large payloads (arguments, results, a map's ctx) travel as memfds over the
 * worker's control socket, sent before the ring slot that needs them, so the
 * worker reads them in slot order.
 *
 * Everything owner-side is under the pool mutex. The manager thread owns the
 * workers' lifecycle (start, death, replacement: only it unmaps a region);
 * completions are harvested by it, or by a thread waiting in apply
 * (ppool_help.c), always under the mutex. Futures are finished outside the
 * mutex (their callbacks may submit). */
#ifndef WEFT_PPOOL_INTERNAL_H
#define WEFT_PPOOL_INTERNAL_H

#include <pthread.h>
#include "core/internal.h"
#include "proc/launch.h"
#include "weft/future.h"

#define PP_SLOTS 64u                 /* ring slots; in-flight per worker <= this */
#define PP_ARENA ((size_t)1 << 20)   /* bytes per arena */
#define PP_LARGE ((size_t)256 << 10) /* payloads above this go through a memfd */
#define PP_MSG 200                   /* message bytes in a completion */
#define PP_FNS 256                   /* interned functions per pool */
#define PP_PAGE 4096u                /* header page of a result memfd */

/* Control-socket message kinds (ours: below 0x1000). */
enum { PP_MSG_INIT = 1, PP_MSG_ACK = 2, PP_MSG_ARGFD = 3, PP_MSG_RESFD = 4, PP_MSG_CTXFD = 5 };

/* Task slot flags. */
#define PP_T_MAP 1u    /* a map chunk: argument is pp_chunk_hdr + ctx + items */
#define PP_T_MEMFD 2u  /* argument in a memfd sent before, with PP_MSG_ARGFD */
#define PP_T_STOP 4u   /* no task: exit once here */
#define PP_T_CTX 8u    /* a map chunk with ctx: map `map` (PP_MSG_CTXFD when new) */
#define PP_T_TRACE 16u /* the owner traces: report start, CPU time and peak RSS */
/* Completion flags. */
#define PP_C_MEMFD 1u  /* result in a memfd sent before, with PP_MSG_RESFD */
#define PP_C_VALUE 2u  /* a result is present */

typedef struct pp_tslot {
  uint64_t id;
  uint32_t fn, flags;
  uint64_t off, size;
  uint64_t map;        /* map chunks: the map's id (its ctx) */
} pp_tslot;

typedef struct pp_cslot {
  uint64_t id;
  int32_t code;
  uint32_t flags;
  uint64_t off, size;  /* result bytes in the result arena */
  uint64_t res_end;    /* result arena position to release up to */
  uint64_t fail;       /* map chunks: the first failing item */
  uint64_t run_ns;     /* how long it ran */
  uint64_t start_ns;   /* PP_T_TRACE: when it started (monotonic, as the owner's) */
  uint64_t cpu_ns;     /* PP_T_TRACE: its CPU time */
  uint64_t rss_kb;     /* PP_T_TRACE: the worker's peak RSS so far */
  char msg[PP_MSG];
} pp_cslot;

typedef struct pp_region {
  uint32_t t_head WEFT_ALIGNED_CL; /* owner: tasks pushed (the worker's futex) */
  uint32_t t_tail WEFT_ALIGNED_CL; /* worker: tasks taken */
  uint32_t w_sleep;                /* worker: 1 while it may sleep on t_head */
  uint64_t cur_id;                 /* worker: the task it took last */
  uint64_t cur_start;              /* worker: when it took it (monotonic ns) */
  uint32_t c_head WEFT_ALIGNED_CL; /* worker: completions pushed */
  uint64_t res_head;               /* worker: result arena allocation point */
  uint32_t c_tail WEFT_ALIGNED_CL; /* owner: completions harvested */
  uint64_t res_tail;               /* owner: result arena released up to */
  pp_tslot t[PP_SLOTS];
  pp_cslot c[PP_SLOTS];
} pp_region;

#define PP_ARG_OFF (((sizeof(pp_region) + PP_PAGE - 1) / PP_PAGE) * PP_PAGE)
#define PP_RES_OFF (PP_ARG_OFF + PP_ARENA)
#define PP_REGION_SIZE (PP_RES_OFF + PP_ARENA)

typedef struct pp_common {
  uint32_t mgr_sleep WEFT_ALIGNED_CL; /* manager: 1 while it may sleep in poll */
  uint32_t has_init;
  uint64_t init_size;
  weft__fnref init_ref;
  weft__fnref fns[PP_FNS];
} pp_common;
#define PP_INIT_OFF (((sizeof(pp_common) + PP_PAGE - 1) / PP_PAGE) * PP_PAGE)

/* The INIT message (with fds: common, region, eventfd). */
typedef struct pp_init_msg {
  uint32_t index, max_tasks;
  uint64_t common_size;
} pp_init_msg;

typedef struct pp_ack_msg {
  int32_t code;
  char msg[PP_MSG];
} pp_ack_msg;

/* Head of a map chunk's argument; the items follow. The ctx bytes travel
 * once per map and worker, in a memfd (PP_MSG_CTXFD), mapped privately. */
typedef struct pp_chunk_hdr {
  uint64_t begin, count, in_size, out_size, ctx_size;
  uint32_t all, has_out;
} pp_chunk_hdr;

/* Copies a string, truncating to fit cap bytes (NUL included). */
static inline void pp_copy(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  while (src && src[n] && n + 1 < cap) n++;
  if (n) __builtin_memcpy(dst, src, n);
  dst[n] = '\0';
}

static inline size_t pp_align16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Ring allocation of n bytes in an arena of cap bytes, between the released
 * point tail and the allocation point *head (both running totals). A block
 * never wraps: the rest of the arena is skipped instead. */
static inline bool pp_arena_alloc(uint64_t *head, uint64_t tail, size_t cap, size_t n,
                                  uint64_t *off) {
  n = pp_align16(n);
  uint64_t pos = *head % cap, skip = pos + n > cap ? cap - pos : 0;
  if (*head + skip + n - tail > cap) return false;
  *off = skip ? 0 : pos;
  *head += skip + n;
  return true;
}

/* ---- owner side ---- */

typedef struct pp_map pp_map;

enum { PP_SINGLE = 0, PP_CHUNK = 1, PP_GEN = 2 };

typedef struct pp_task {
  struct pp_task *next;
  uint64_t id;
  uint32_t fn;
  uint8_t kind;
  bool idempotent;
  unsigned retries_left;
  uint64_t timeout_ns;
  weft_future *fut;        /* SINGLE: the pool's reference */
  void *arg;               /* SINGLE: owned copy (small) */
  size_t size;             /* argument bytes (as sent) */
  int memfd;               /* large argument, or -1 */
  pp_map *map;             /* CHUNK, GEN */
  size_t begin, end;       /* CHUNK: items */
  uint64_t arg_end;        /* arena position to release at completion */
  uint64_t sent_ns;        /* when dispatched */
  uint64_t fail;           /* CHUNK: the first failing item */
  /* the outcome, filled at completion */
  int code;
  void *value;
  size_t vsize;
  void (*vfree)(void *);
  char msg[PP_MSG + 80];
} pp_task;

enum { W_OFF = 0, W_STARTING = 1, W_READY = 2 };

#define PP_INIT_FAILS_MAX 3u
#define PP_START_FAILS_MAX 20u

typedef struct pp_worker {
  unsigned index;
  int state;
  weft__child child;
  int region_fd;
  pp_region *r;
  pp_task *fl_head, *fl_tail;  /* in flight, in ring order */
  unsigned inflight;
  uint64_t arg_head, arg_tail; /* owner's side of the argument arena */
  unsigned dispatched;         /* tasks given to this instance */
  bool gone;                   /* its control socket said it ended */
  bool killed_timeout;         /* we killed it for the head task's timeout */
  bool killed_cancel;          /* we killed it for a CANCEL shutdown */
  uint64_t kill_id;            /* the task whose timeout killed it */
  uint64_t ctx_map;            /* the map whose ctx it was sent last */
  bool stop_sent;
  bool has_note;
  weft__crash_note note;
  int rfds[PP_SLOTS];          /* received result memfds, FIFO */
  uint64_t rfd_ids[PP_SLOTS];
  unsigned rfd_first, rfd_n;
  unsigned init_failures;       /* init said no (in a row): 3 disable the slot */
  unsigned start_failures;      /* could not start, or died before its ACK
                                   (in a row): 20 disable the slot */
  unsigned start_kills;         /* SIGKILLed before its ACK (in a row): from
                                   outside, so never held against the slot */
  uint64_t restart_at;         /* W_OFF after a failed start: retry time */
} pp_worker;

struct pp_map {
  weft_map *m;
  uint32_t fn;
  bool all, stream, stop, ended, queued, codes_owned;
  int *codes;
  size_t next, chunk, live;
  uint64_t run_avg_ns;         /* moving average of a chunk's run time; 0: none yet */
  uint64_t id;                 /* names its ctx for the workers */
  int ctx_fd;                  /* memfd of the ctx bytes, or -1 */
  int err;                     /* first failure in time (map) */
  bool failed_set;
  weft_future *fut;            /* finished when the map ends */
  pp_task gen;                 /* its node in the pending queue */
  pthread_cond_t cv;           /* stream: ranges or the end */
  size_t (*ranges)[2];
  size_t nranges, rread, rcap;
  int on_chunk_err;
};

struct weft_ppool {
  pthread_mutex_t mu;
  pthread_cond_t cv;           /* outstanding reached 0 */
  weft_ppool_options o;
  char name[32];
  unsigned n;
  pp_worker *w;
  int common_fd;
  pp_common *common;
  size_t common_size;
  int efd;                     /* wakes the manager */
  pthread_t mgr;
  bool mgr_started;
  pp_task *pend_head, *pend_tail;
  uint64_t next_id;
  uint64_t next_map_id;
  size_t outstanding;          /* tasks and maps not yet ended */
  bool shut, cancel, stopping;
  uint32_t helpers;            /* threads in apply harvesting themselves */
  uint32_t mgr_unarmed;        /* manager asleep with mgr_sleep 0 (helpers harvest) */
  bool timed_dirty;            /* a timed task was dispatched outside the manager */
  int fatal;                   /* no worker can start: pending tasks fail */
  char fatal_msg[PP_MSG];
  const void *fn_ptr[PP_FNS];
  unsigned nfns;
  weft_ppool_stats stats;
  pp_task *done;               /* ended, waiting to be finished unlocked */
  size_t done_n;
  void *rbuf;                  /* control message buffer (manager) */
  struct pollfd *pollfds;      /* manager: n + 1 */
  uint64_t ctl_checked;        /* manager: last look at the control sockets */
  uint64_t stop_deadline;      /* stopping workers are killed after this */
  bool init_done;              /* the first workers ran init (or failed) */
  int init_rc;                 /* why they failed */
  char init_msg[PP_MSG];
};

/* ppool_shm.c */
int pp_memfd(const char *name, size_t size, int *fd, void **map);
int pp_memfd_with(const void *data, size_t size, int *fd);
void pp_unmap_value(void *value);
int pp_map_value_fd(int fd, size_t size, void **value);

/* ppool_worker.c */
int pp_worker_main(const void *arg, size_t size);

/* ppool_manager.c */
void *pp_manager(void *arg);
int pp_worker_start(weft_ppool *p, pp_worker *w, char *err, size_t errlen);
void pp_worker_release(weft_ppool *p, pp_worker *w);
void pp_wake_manager(weft_ppool *p);

/* ppool_dispatch.c */
void pp_dispatch(weft_ppool *p);
void pp_push_front(weft_ppool *p, pp_task *t);
void pp_push_back(weft_ppool *p, pp_task *t);
void pp_task_end(weft_ppool *p, pp_task *t);
void pp_finish_done(weft_ppool *p);
void pp_fail_pending(weft_ppool *p, int code, const char *msg);
void pp_task_free(pp_task *t);

/* ppool_map.c */
void pp_chunk_end(weft_ppool *p, pp_task *t, const void *res, size_t rsize);
void pp_map_gen_next(weft_ppool *p, pp_map *mp, pp_task **out);
void pp_map_end(weft_ppool *p, pp_map *mp);
void pp_map_finish(pp_map *mp);

/* ppool_help.c */
void pp_help(weft_ppool *p, weft_future *f);

/* ppool.c */
int pp_intern(weft_ppool *p, const void *fn, uint32_t *idx);

#endif /* WEFT_PPOOL_INTERNAL_H */
