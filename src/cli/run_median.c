/* src/cli/run_median.c — the running median of finished jobs' runtimes
 * for `weft run --timeout N%`: a max-heap of the lower half and a min-heap
 * of the upper half, O(log n) per job and exact. */
#include <stdlib.h>
#include <string.h>
#include "weft/core.h"
#include "cli/run.h"

static bool heap_push(double **h, size_t *n, size_t *cap, double v, bool max) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    double *nh = realloc(*h, nc * sizeof *nh);
    if (!nh) return false;
    *h = nh;
    *cap = nc;
  }
  double *a = *h;
  size_t i = (*n)++;
  a[i] = v;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (max ? a[p] >= a[i] : a[p] <= a[i]) break;
    double t = a[p];
    a[p] = a[i];
    a[i] = t;
    i = p;
  }
  return true;
}

static double heap_pop(double *a, size_t *n, bool max) {
  double top = a[0];
  a[0] = a[--*n];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, b = i;
    if (l < *n && (max ? a[l] > a[b] : a[l] < a[b])) b = l;
    if (r < *n && (max ? a[r] > a[b] : a[r] < a[b])) b = r;
    if (b == i) break;
    double t = a[b];
    a[b] = a[i];
    a[i] = t;
    i = b;
  }
  return top;
}

int run_median_add(run_median *m, double v) {
  bool ok = (m->nlo == 0 || v <= m->lo[0]) ? heap_push(&m->lo, &m->nlo, &m->caplo, v, true)
                                           : heap_push(&m->hi, &m->nhi, &m->caphi, v, false);
  if (!ok) return WEFT_ENOMEM;
  /* Rebalance: lo holds as many as hi, or one more. */
  if (m->nlo > m->nhi + 1) {
    if (!heap_push(&m->hi, &m->nhi, &m->caphi, m->lo[0], false)) return WEFT_ENOMEM;
    heap_pop(m->lo, &m->nlo, true);
  } else if (m->nhi > m->nlo) {
    if (!heap_push(&m->lo, &m->nlo, &m->caplo, m->hi[0], true)) return WEFT_ENOMEM;
    heap_pop(m->hi, &m->nhi, false);
  }
  return 0;
}

double run_median_get(const run_median *m) {
  if (m->nlo == 0) return 0;
  if (m->nlo > m->nhi) return m->lo[0];
  return (m->lo[0] + m->hi[0]) / 2;
}

size_t run_median_count(const run_median *m) { return m->nlo + m->nhi; }

void run_median_free(run_median *m) {
  free(m->lo);
  free(m->hi);
  memset(m, 0, sizeof *m);
}

