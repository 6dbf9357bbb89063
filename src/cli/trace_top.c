/* src/cli/trace_top.c — `weft trace top out.json [-n N]`: the functions that
 * took the most time, and the slowest single tasks, in the terminal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/trace_cli.h"

static const tr_model *sort_model;

static double each_us(const tr_span *s) {
  return s->count > 1 ? s->busy / s->count : s->dur;
}

static int by_dur(const void *a, const void *b) {
  double x = each_us(&sort_model->spans[*(const size_t *)a]);
  double y = each_us(&sort_model->spans[*(const size_t *)b]);
  return x < y ? 1 : x > y ? -1 : 0;
}

static int by_total(const void *a, const void *b) {
  double x = sort_model->fns[*(const size_t *)a].total_us;
  double y = sort_model->fns[*(const size_t *)b].total_us;
  return x < y ? 1 : x > y ? -1 : 0;
}

static bool is_task(const tr_span *s) {
  return s->kind == TR_TASK || s->kind == TR_PTASK || s->kind == TR_NODE;
}

size_t tr_slowest(const tr_model *m, size_t n, size_t **out) {
  size_t k = 0;
  size_t *idx = malloc((m->nspans ? m->nspans : 1) * sizeof *idx);
  *out = idx;
  if (!idx) return 0;
  for (size_t i = 0; i < m->nspans; i++)
    if (is_task(&m->spans[i])) idx[k++] = i;
  sort_model = m;
  qsort(idx, k, sizeof *idx, by_dur);
  return k < n ? k : n;
}

size_t tr_fns_by_total(const tr_model *m, size_t **out) {
  size_t *idx = malloc((m->nfns ? m->nfns : 1) * sizeof *idx);
  *out = idx;
  if (!idx) return 0;
  size_t k = 0;
  for (size_t i = 0; i < m->nfns; i++)
    if (m->fns[i].count) idx[k++] = i;
  sort_model = m;
  qsort(idx, k, sizeof *idx, by_total);
  return k;
}

static void print_fns(const tr_model *m, size_t n) {
  size_t *idx;
  size_t k = tr_fns_by_total(m, &idx);
  printf("%-32s %10s %12s %11s %11s %12s\n", "function", "tasks", "total ms", "mean us",
         "max us", "cpu/wall");
  for (size_t i = 0; i < k && i < n; i++) {
    const tr_fn *f = &m->fns[idx[i]];
    char ratio[16] = "-";
    /* CPU over wall for the tasks whose CPU time was measured: well under
     * 1 means the tasks waited (I/O, locks, page faults), not computed. */
    if (f->cpu_count && f->count) {
      double wall = 0;
      for (size_t s = 0; s < m->nspans; s++)
        if (m->spans[s].fn == idx[i] && m->spans[s].cpu >= 0) wall += m->spans[s].dur;
      if (wall > 0) snprintf(ratio, sizeof ratio, "%.2f", f->cpu_us / wall);
    }
    printf("%-32.32s %10llu %12.3f %11.3f %11.3f %12s\n", f->name,
           (unsigned long long)f->count, f->total_us / 1000.0, f->total_us / (double)f->count,
           f->max_us, ratio);
  }
  free(idx);
}

static void print_slowest(const tr_model *m, size_t n) {
  size_t *idx;
  size_t k = tr_slowest(m, n, &idx);
  printf("\n%-32s %-16s %12s %11s %11s %10s\n", "slowest tasks", "track", "start ms", "wall us",
         "cpu us", "rss KiB");
  for (size_t i = 0; i < k; i++) {
    const tr_span *s = &m->spans[idx[i]];
    char cpu[24] = "-", rss[24] = "-";
    if (s->cpu >= 0) snprintf(cpu, sizeof cpu, "%.3f", s->cpu);
    if (s->rss_kb > 0) snprintf(rss, sizeof rss, "%.0f", s->rss_kb);
    printf("%-32.32s %-16.16s %12.3f %11.3f %11s %10s\n", m->fns[s->fn].name,
           m->tracks[s->track].name, (s->ts - m->t0) / 1000.0, each_us(s), cpu, rss);
  }
  free(idx);
}

int weft_trace_top_main(int argc, char **argv) {
  const char *path = NULL;
  size_t n = 10;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      n = (size_t)strtoul(argv[++i], NULL, 10);
    } else if (argv[i][0] == '-' || path) {
      fprintf(stderr, "weft trace top: unexpected argument '%s'\n", argv[i]);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    fprintf(stderr, "usage: weft trace top out.json [-n N]\n");
    return 2;
  }
  tr_model m = {0};
  char err[256];
  if (tr_load(&m, path, err, sizeof err) != 0) {
    fprintf(stderr, "weft trace top: %s\n", err);
    tr_free(&m);
    return 1;
  }
  printf("%s: %llu tasks on %zu tracks (%zu workers), %.3f ms\n\n", path,
         (unsigned long long)tr_task_count(&m), m.ntracks, tr_worker_count(&m),
         (m.t1 - m.t0) / 1000.0);
  print_fns(&m, n);
  print_slowest(&m, n);
  tr_free(&m);
  return 0;
}
