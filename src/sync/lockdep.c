/* src/sync/lockdep.c — lock-order checking for weft_mutex (WEFT_DEBUG=locks).
 *
 * Like the kernel's lockdep, in small: each thread keeps the stack of
 * mutexes it holds, and a global graph records "B was taken while A was
 * held" (A -> B) with both call sites. Before a thread blocks on B while
 * holding A, a new edge A -> B is checked against the graph: if B already
 * reaches A, two threads taking the locks in those orders can deadlock,
 * whether or not they happen to collide this time. The report names both
 * orders with their call sites, once per pair.
 *
 * Locks are identified by address (weft_mutex_destroy forgets one). Off, a
 * lock costs one predictable branch on weft__lockdep_on; on, every lock
 * takes a global pthread mutex: a debugging mode, not a production one. */
#include <dlfcn.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/internal.h"
#include "debug/debug_internal.h"
#include "sync/sync_internal.h"

bool weft__lockdep_on;

enum { MAX_HELD = 48 };

typedef struct held {
  const void *lock;
  const void *site;
} held;

static __thread held held_stack[MAX_HELD];
static __thread int held_depth;

typedef struct edge {
  const void *to;
  const void *site_from, *site_to; /* where `from` was taken, where `to` was */
} edge;

typedef struct node {
  const void *lock;
  edge *edges;
  size_t n, cap;
  unsigned visit; /* DFS mark */
} node;

static pthread_mutex_t graph_mu = PTHREAD_MUTEX_INITIALIZER;
static node *nodes;
static size_t nnodes, nodes_cap;
static unsigned visit_epoch;
static size_t reports;

__attribute__((constructor)) static void read_env(void) {
  if (weft__debug_has("locks")) weft__lockdep_on = true;
}

void weft_lockdep_enable(bool on) {
  __atomic_store_n(&weft__lockdep_on, on, __ATOMIC_RELAXED);
}

size_t weft_lockdep_report_count(void) {
  pthread_mutex_lock(&graph_mu);
  size_t n = reports;
  pthread_mutex_unlock(&graph_mu);
  return n;
}

/* ---- the graph (graph_mu held) ---- */

static node *find(const void *lock) {
  for (size_t i = 0; i < nnodes; i++)
    if (nodes[i].lock == lock) return &nodes[i];
  return NULL;
}

static node *find_or_add(const void *lock) {
  node *n = find(lock);
  if (n) return n;
  if (nnodes == nodes_cap) {
    size_t cap = nodes_cap ? 2 * nodes_cap : 64;
    node *grown = realloc(nodes, cap * sizeof *grown);
    if (!grown) return NULL;
    nodes = grown;
    nodes_cap = cap;
  }
  nodes[nnodes] = (node){.lock = lock};
  return &nodes[nnodes++];
}

static const edge *edge_to(const node *n, const void *to) {
  for (size_t i = 0; i < n->n; i++)
    if (n->edges[i].to == to) return &n->edges[i];
  return NULL;
}

static void add_edge(node *n, edge e) {
  if (n->n == n->cap) {
    size_t cap = n->cap ? 2 * n->cap : 4;
    edge *grown = realloc(n->edges, cap * sizeof *grown);
    if (!grown) return;
    n->edges = grown;
    n->cap = cap;
  }
  n->edges[n->n++] = e;
}

/* Whether `from` reaches `target`; *first gets the first edge of the path. */
static bool reaches(node *from, const void *target, const edge **first, int depth) {
  if (from->visit == visit_epoch || depth > 64) return false;
  from->visit = visit_epoch;
  for (size_t i = 0; i < from->n; i++) {
    const edge *e = &from->edges[i];
    node *next;
    if (e->to == target || ((next = find(e->to)) && reaches(next, target, NULL, depth + 1))) {
      if (first) *first = e;
      return true;
    }
  }
  return false;
}

/* ---- reports ---- */

/* "function+0x12 (file.c:34)" for a code address, as well as we can. */
static void describe(const void *site, char *buf, size_t cap) {
  Dl_info info;
  if (!site || !dladdr(site, &info) || !info.dli_fname) {
    snprintf(buf, cap, "%p", site);
    return;
  }
  uintptr_t off = (uintptr_t)site - (uintptr_t)info.dli_fbase - 1; /* the call, not the return */
  char where[256] = "";
  int fd[2];
  if (pipe(fd) == 0) {
    char addr[32];
    snprintf(addr, sizeof addr, "0x%lx", (unsigned long)off);
    char *argv[] = {"addr2line", "-f", "-s", "-e", (char *)info.dli_fname, addr, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
    pid_t pid;
    extern char **environ;
    if (posix_spawnp(&pid, "addr2line", &fa, NULL, argv, environ) == 0) {
      close(fd[1]);
      fd[1] = -1;
      ssize_t n = read(fd[0], where, sizeof where - 1);
      where[n > 0 ? n : 0] = 0;
      waitpid(pid, NULL, 0);
    }
    posix_spawn_file_actions_destroy(&fa);
    close(fd[0]);
    if (fd[1] >= 0) close(fd[1]);
  }
  char *nl = strchr(where, '\n');
  if (nl && !strstr(where, "??")) { /* "function\nfile:line\n" */
    *nl = 0;
    char *line = nl + 1;
    line[strcspn(line, "\n (")] = 0;
    snprintf(buf, cap, "%s (%s)", where, line);
  } else if (info.dli_sname) {
    snprintf(buf, cap, "%s+0x%lx", info.dli_sname, (unsigned long)((uintptr_t)site - (uintptr_t)info.dli_saddr));
  } else {
    snprintf(buf, cap, "%s+0x%lx", info.dli_fname, (unsigned long)off);
  }
}

static void report_cycle(const held *a, const void *b, const void *site_b, const edge *earlier) {
  char s1[320], s2[320], s3[320], s4[320];
  describe(a->site, s1, sizeof s1);
  describe(site_b, s2, sizeof s2);
  describe(earlier->site_from, s3, sizeof s3);
  describe(earlier->site_to, s4, sizeof s4);
  fprintf(stderr,
          "weft: possible deadlock (lock order, WEFT_DEBUG=locks):\n"
          "  this thread takes mutex %p at %s\n"
          "    while holding mutex %p, taken at %s;\n"
          "  but mutex %p was held (taken at %s)\n"
          "    when mutex %p was taken at %s.\n"
          "  Two threads running these paths at once can each wait for the other.\n",
          b, s2, a->lock, s1, b, s3, earlier->to, s4);
  reports++;
}

static void report_recursive(const held *a, const void *site) {
  char s1[320], s2[320];
  describe(a->site, s1, sizeof s1);
  describe(site, s2, sizeof s2);
  fprintf(stderr,
          "weft: deadlock (WEFT_DEBUG=locks): this thread locks mutex %p at %s\n"
          "  but already holds it (taken at %s); weft_mutex is not recursive.\n",
          a->lock, s2, s1);
  reports++;
}

/* ---- the hooks ---- */

void weft__lockdep_check(const void *lock, const void *site) {
  pthread_mutex_lock(&graph_mu);
  for (int i = 0; i < held_depth; i++) {
    const held *a = &held_stack[i];
    if (a->lock == lock) {
      report_recursive(a, site);
      continue;
    }
    node *from = find_or_add(a->lock), *to = find_or_add(lock);
    if (!from || !to || edge_to(from, lock)) continue;
    const edge *earlier = NULL;
    visit_epoch++;
    if (reaches(to, a->lock, &earlier, 0) && earlier) report_cycle(a, lock, site, earlier);
    add_edge(from, (edge){lock, a->site, site});
  }
  pthread_mutex_unlock(&graph_mu);
}

void weft__lockdep_push(const void *lock, const void *site) {
  if (held_depth < MAX_HELD) held_stack[held_depth] = (held){lock, site};
  held_depth++;
}

void weft__lockdep_pop(const void *lock) {
  int top = held_depth < MAX_HELD ? held_depth : MAX_HELD;
  for (int i = top - 1; i >= 0; i--) {
    if (held_stack[i].lock != lock) continue;
    memmove(&held_stack[i], &held_stack[i + 1], (size_t)(top - 1 - i) * sizeof(held));
    held_depth--;
    return;
  }
  /* not found: taken before checking was turned on */
}

void weft__lockdep_forget(const void *lock) {
  pthread_mutex_lock(&graph_mu);
  for (size_t i = 0; i < nnodes; i++) {
    node *n = &nodes[i];
    for (size_t k = 0; k < n->n;)
      if (n->edges[k].to == lock) n->edges[k] = n->edges[--n->n];
      else k++;
  }
  node *n = find(lock);
  if (n) {
    free(n->edges);
    *n = nodes[--nnodes];
  }
  pthread_mutex_unlock(&graph_mu);
}
