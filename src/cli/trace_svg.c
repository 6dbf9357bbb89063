/* src/cli/trace_svg.c — the report's drawings, as inline SVG: the timeline
 * (one row per track), utilisation over time, the task-duration histogram.
 *
 * Sizes stay bounded whatever the trace holds: a track with more spans than
 * MAX_RECTS is drawn as PLOT_W columns (each coloured by the function that
 * ran longest in it, its opacity the busy fraction) instead of one
 * rectangle per span. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli/trace_cli.h"

#define PLOT_W 1000.0
#define LABEL_W 170.0
#define ROW_H 18.0
#define MAX_RECTS 4000

void rep_html_str(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

const char *rep_color(uint32_t fn) {
  static const char *const pal[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6"};
  return pal[fn % (sizeof pal / sizeof pal[0])];
}

static const char *role_name(int r) {
  static const char *const n[] = {"worker", "process", "loop", "thread"};
  return n[r];
}

/* Tracks in drawing order: workers, processes, loops, then other threads
 * that have spans. */
static size_t track_order(const tr_model *m, size_t *order, size_t *nspans) {
  size_t k = 0;
  for (int role = ROLE_WORKER; role <= ROLE_THREAD; role++)
    for (size_t i = 0; i < m->ntracks; i++)
      if (m->tracks[i].role == role && (role != ROLE_THREAD || nspans[i])) order[k++] = i;
  return k;
}

static double xof(const tr_model *m, double ts) {
  double w = m->t1 > m->t0 ? m->t1 - m->t0 : 1;
  return LABEL_W + (ts - m->t0) / w * PLOT_W;
}

static void span_rect(FILE *f, const tr_model *m, const tr_span *s, double y) {
  double x0 = xof(m, s->ts), x1 = xof(m, s->ts + s->dur);
  double w = x1 - x0 < 0.3 ? 0.3 : x1 - x0;
  const char *fill = s->kind == TR_IDLE ? "#e8e8e8" : s->kind == TR_PARK ? "#c8c8c8"
                     : s->kind == TR_IO ? "#bab0ac" : rep_color(s->fn);
  double h = s->kind == TR_IDLE || s->kind == TR_PARK ? ROW_H * 0.35 : ROW_H - 4;
  double yy = s->kind == TR_IDLE || s->kind == TR_PARK ? y + ROW_H - 2 - h : y + 2;
  fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"><title>",
          x0, yy, w, h, fill);
  rep_html_str(f, s->kind == TR_IDLE ? "idle" : s->kind == TR_PARK ? "parked" : m->fns[s->fn].name);
  fprintf(f, " %.3f us", s->dur);
  if (s->count > 1) fprintf(f, " (%u tasks)", s->count);
  if (s->cpu >= 0) fprintf(f, ", cpu %.3f us", s->cpu);
  fputs("</title></rect>\n", f);
}

/* One track drawn as columns (too many spans for one rectangle each). */
static void binned_track(FILE *f, const tr_model *m, size_t track, double y) {
  enum { NB = (int)PLOT_W };
  double *busy = calloc(NB, sizeof *busy), *best = calloc(NB, sizeof *best);
  uint32_t *fn = calloc(NB, sizeof *fn);
  double bw = (m->t1 > m->t0 ? m->t1 - m->t0 : 1) / NB;
  for (size_t i = 0; busy && best && fn && i < m->nspans; i++) {
    const tr_span *s = &m->spans[i];
    if (s->track != track || s->nested ||
        (s->kind != TR_TASK && s->kind != TR_PTASK && s->kind != TR_CORO && s->kind != TR_SPAN))
      continue;
    double frac = s->dur > 0 ? s->busy / s->dur : 1; /* merged runs: spread evenly */
    int b0 = (int)((s->ts - m->t0) / bw), b1 = (int)((s->ts + s->dur - m->t0) / bw);
    for (int b = b0 < 0 ? 0 : b0; b <= b1 && b < NB; b++) {
      double lo = m->t0 + b * bw, hi = lo + bw;
      double a = s->ts > lo ? s->ts : lo, z = s->ts + s->dur < hi ? s->ts + s->dur : hi;
      if (z <= a) continue;
      busy[b] += (z - a) * frac;
      if ((z - a) > best[b]) best[b] = z - a, fn[b] = s->fn;
    }
  }
  for (int b = 0; busy && best && fn && b < NB; b++) {
    if (busy[b] <= 0) continue;
    double op = busy[b] / bw;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"1\" height=\"%.1f\" fill=\"%s\" "
            "fill-opacity=\"%.2f\"/>\n", LABEL_W + b, y + 2, ROW_H - 4, rep_color(fn[b]),
            op > 1 ? 1 : op < 0.15 ? 0.15 : op);
  }
  free(busy);
  free(best);
  free(fn);
}

/* A duration in microseconds as people read it: "850 us", "12.5 ms",
 * "2.41 s" (not "1.07e+03 ms"). */
static const char *human_us(char *buf, size_t n, double us) {
  if (us < 1000) snprintf(buf, n, "%.3g us", us);
  else if (us < 1e6) snprintf(buf, n, "%.3g ms", us / 1000);
  else snprintf(buf, n, "%.3g s", us / 1e6);
  return buf;
}

void rep_timeline(FILE *f, const tr_model *m) {
  size_t *nsp = calloc(m->ntracks + 1, sizeof *nsp), *order = calloc(m->ntracks + 1, sizeof *order);
  if (!nsp || !order) goto out;
  for (size_t i = 0; i < m->nspans; i++) nsp[m->spans[i].track]++;
  size_t k = track_order(m, order, nsp);
  double h = 24 + k * ROW_H;
  fprintf(f, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n", LABEL_W + PLOT_W + 10, h,
          LABEL_W + PLOT_W + 10, h);
  for (int t = 0; t <= 10; t++) { /* time axis */
    double x = LABEL_W + PLOT_W * t / 10;
    char when[32];
    fprintf(f, "<line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#eee\"/>"
            "<text x=\"%.1f\" y=\"11\" class=\"axis\">%s</text>\n",
            x, x, h, x - 10, t ? human_us(when, sizeof when, (m->t1 - m->t0) * t / 10) : "0");
  }
  for (size_t r = 0; r < k; r++) {
    size_t i = order[r];
    const tr_track *t = &m->tracks[i];
    double y = 18 + r * ROW_H;
    fprintf(f, "<g class=\"track\" data-role=\"%s\" data-name=\"", role_name(t->role));
    rep_html_str(f, t->name);
    fprintf(f, "\">\n<text x=\"4\" y=\"%.1f\" class=\"label\">", y + ROW_H - 5);
    rep_html_str(f, t->name);
    /* Pools created one after another reuse worker names: the tid tells. */
    if (t->role != ROLE_PROCESS) fprintf(f, " <tspan class=\"axis\">%d</tspan>", t->tid);
    fputs("</text>\n", f);
    if (nsp[i] > MAX_RECTS) {
      binned_track(f, m, i, y);
    } else {
      for (size_t s = 0; s < m->nspans; s++)
        if (m->spans[s].track == i && m->spans[s].kind != TR_NODE) span_rect(f, m, &m->spans[s], y);
    }
    fputs("</g>\n", f);
  }
  fputs("</svg>\n", f);
out:
  free(nsp);
  free(order);
}

/* Lanes per bin: the worker tracks alive in it (first to last span), so
 * pools created one after another do not dilute each other. */
static void alive_lanes(const tr_model *m, double *lanes, int nb, double bw, bool workers) {
  double *first = malloc(m->ntracks * sizeof *first), *last = malloc(m->ntracks * sizeof *last);
  if (!first || !last) goto out;
  for (size_t i = 0; i < m->ntracks; i++) first[i] = 1e300, last[i] = -1e300;
  for (size_t i = 0; i < m->nspans; i++) {
    const tr_span *s = &m->spans[i];
    if (s->ts < first[s->track]) first[s->track] = s->ts;
    if (s->ts + s->dur > last[s->track]) last[s->track] = s->ts + s->dur;
  }
  for (size_t i = 0; i < m->ntracks; i++) {
    const tr_track *t = &m->tracks[i];
    if (workers ? t->role != ROLE_WORKER : !t->tasks) continue;
    if (first[i] > last[i]) continue;
    int b0 = (int)((first[i] - m->t0) / bw), b1 = (int)((last[i] - m->t0) / bw);
    for (int b = b0 < 0 ? 0 : b0; b <= b1 && b < nb; b++) lanes[b] += 1;
  }
out:
  free(first);
  free(last);
}

void rep_utilisation(FILE *f, const tr_model *m) {
  enum { NB = 200 };
  double busy[NB] = {0}, lanes_at[NB] = {0};
  char span[32];
  double bw = (m->t1 > m->t0 ? m->t1 - m->t0 : 1) / NB;
  size_t nw = tr_worker_count(m);
  alive_lanes(m, lanes_at, NB, bw, nw > 0);
  for (size_t i = 0; i < m->nspans; i++) {
    const tr_span *s = &m->spans[i];
    int role = m->tracks[s->track].role;
    if ((s->kind != TR_TASK && s->kind != TR_PTASK) || s->nested) continue;
    if (nw && role != ROLE_WORKER) continue; /* with pool workers: theirs only */
    double frac = s->dur > 0 ? s->busy / s->dur : 1;
    int b0 = (int)((s->ts - m->t0) / bw), b1 = (int)((s->ts + s->dur - m->t0) / bw);
    for (int b = b0 < 0 ? 0 : b0; b <= b1 && b < NB; b++) {
      double lo = m->t0 + b * bw, hi = lo + bw;
      double a = s->ts > lo ? s->ts : lo, z = s->ts + s->dur < hi ? s->ts + s->dur : hi;
      if (z > a) busy[b] += (z - a) * frac;
    }
  }
  double lanes = 0;
  for (int b = 0; b < NB; b++) lanes = lanes_at[b] > lanes ? lanes_at[b] : lanes;
  double W = 800, H = 160;
  fprintf(f, "<svg id=\"utilisation\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\"><rect x=\"40\" y=\"10\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" "
          "stroke=\"#ccc\"/>\n<polygon fill=\"#4e79a7\" fill-opacity=\"0.6\" points=\"40,%.0f ",
          W + 160, H + 40, W, H, H + 10);
  for (int b = 0; b < NB; b++) {
    double u = lanes_at[b] > 0 ? busy[b] / (bw * lanes_at[b]) : 0;
    if (u > 1) u = 1;
    fprintf(f, "%.1f,%.1f %.1f,%.1f ", 40 + W * b / NB, 10 + H * (1 - u), 40 + W * (b + 1) / NB,
            10 + H * (1 - u));
  }
  fprintf(f, "%.0f,%.0f\"/>\n<text x=\"2\" y=\"16\" class=\"axis\">100%%</text>"
          "<text x=\"14\" y=\"%.0f\" class=\"axis\">0%%</text>"
          "<text x=\"40\" y=\"%.0f\" class=\"axis\">0</text>"
          "<text x=\"%.0f\" y=\"%.0f\" class=\"axis\">%s (up to %.0f lanes)</text></svg>\n",
          40 + W, H + 10, H + 12, H + 26, W - 60, H + 26,
          human_us(span, sizeof span, m->t1 - m->t0), lanes);
}

void rep_histogram(FILE *f, const tr_model *m) {
  enum { NB = 26 }; /* 2^-4 .. 2^21 us */
  double cnt[NB] = {0}, maxc = 0;
  for (size_t i = 0; i < m->nspans; i++) {
    const tr_span *s = &m->spans[i];
    if (s->kind != TR_TASK && s->kind != TR_PTASK && s->kind != TR_NODE) continue;
    double each = s->count > 1 ? s->busy / s->count : s->dur;
    int b = each > 0 ? (int)floor(log2(each)) + 4 : 0;
    b = b < 0 ? 0 : b >= NB ? NB - 1 : b;
    cnt[b] += s->count;
  }
  for (int b = 0; b < NB; b++) maxc = cnt[b] > maxc ? cnt[b] : maxc;
  double W = 800, H = 160, bw = W / NB;
  fprintf(f, "<svg id=\"histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\">\n", W + 50, H + 50);
  /* Log scale: a million tiny tasks must not flatten the few slow ones. */
  for (int b = 0; b < NB; b++) {
    double h = maxc > 0 ? H * log10(1 + cnt[b]) / log10(1 + maxc) : 0;
    double lo = pow(2, b - 4);
    fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"#59a14f\"><title>%.3g-%.3g us: %.0f tasks</title></rect>\n",
            40 + b * bw, 10 + H - h, bw - 2, h, lo, lo * 2, cnt[b]);
    char at[32];
    if (b % 4 == 0)
      fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"axis\">%s</text>\n", 40 + b * bw,
              H + 26, human_us(at, sizeof at, lo));
  }
  fprintf(f, "<text x=\"44\" y=\"22\" class=\"axis\">%.0f tasks (log scale)</text></svg>\n", maxc);
}
