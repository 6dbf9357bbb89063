/* src/cli/trace_report.c — `weft trace report a.json [b.json] -o report.html`:
 * one self-contained HTML page (inline CSS, SVG and a few lines of JS; no
 * network): summary, per-track timeline, utilisation over time, task
 * durations, slowest tasks, per-worker figures, the graph's critical path
 * (when the trace has graph nodes), and with two traces an Amdahl panel.
 *
 * Amdahl: with the same work traced at N1 and N2 workers (N1 < N2), the
 * speedup S = T1 / T2 of the task windows, and Karp and Flatt's estimate of
 * the serial fraction, f = (1/S - 1/p) / (1 - 1/p) with p = N2 / N1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/trace_cli.h"

/* Scripts: the first line counts errors (load errors, console.error) into
 * data-errors on <html>, so a headless check can read them from the DOM. */
static const char head_js[] =
  "<script>window.__errs=0;function __bump(){window.__errs++;"
  "document.documentElement.setAttribute('data-errors',String(window.__errs));}"
  "window.addEventListener('error',__bump);"
  "(function(){var e=console.error;console.error=function(){__bump();"
  "e.apply(console,arguments);};})();</script>\n";
static const char tail_js[] =
  "<script>(function(){var t=document.querySelectorAll('#timeline g.track');"
  "var w=document.querySelectorAll('#timeline g.track[data-role=\"worker\"]').length;"
  "document.getElementById('status').textContent=t.length+' tracks, '+w+' worker tracks';"
  "t.forEach(function(g){g.addEventListener('mouseenter',function(){g.classList.add('hot');});"
  "g.addEventListener('mouseleave',function(){g.classList.remove('hot');});});"
  "document.documentElement.setAttribute('data-errors',String(window.__errs));"
  "document.body.setAttribute('data-ready','1');})();</script>\n";
static const char css[] =
  "<style>body{font:14px system-ui,sans-serif;margin:20px;color:#222}"
  "h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
  "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}"
  "td:first-child,th:first-child{text-align:left}.axis{font-size:10px;fill:#666}"
  ".label{font-size:11px;fill:#333}g.track.hot rect{stroke:#000;stroke-width:0.3}"
  ".note{color:#666;font-size:12px}#status{color:#666}</style>\n";

static void summary(FILE *f, const tr_model *m, const char *path) {
  double a, z;
  tr_task_window(m, &a, &z);
  fputs("<table>", f);
  fputs("<tr><td>trace</td><td>", f);
  rep_html_str(f, path);
  fprintf(f, "</td></tr><tr><td>producer</td><td>%s</td></tr>",
          m->producer[0] ? m->producer : "?");
  fprintf(f, "<tr><td>events</td><td>%llu</td></tr><tr><td>tasks</td><td>%llu</td></tr>"
          "<tr><td>tracks / worker tracks</td><td>%zu / %zu</td></tr>"
          "<tr><td>task window</td><td>%.3f ms</td></tr><tr><td>trace span</td><td>%.3f ms</td></tr>"
          "<tr><td>dropped events</td><td>%llu</td></tr></table>\n",
          (unsigned long long)m->events, (unsigned long long)tr_task_count(m), m->ntracks,
          tr_worker_count(m), (z - a) / 1000.0, (m->t1 - m->t0) / 1000.0,
          (unsigned long long)m->dropped);
}

static void slowest(FILE *f, const tr_model *m) {
  size_t *idx;
  size_t k = tr_slowest(m, 20, &idx);
  fputs("<table><tr><th>task</th><th>track</th><th>start ms</th><th>wall us</th><th>cpu us</th>"
        "<th>rss KiB</th></tr>\n", f);
  for (size_t i = 0; i < k; i++) {
    const tr_span *s = &m->spans[idx[i]];
    fputs("<tr><td>", f);
    rep_html_str(f, m->fns[s->fn].name);
    fputs("</td><td>", f);
    rep_html_str(f, m->tracks[s->track].name);
    fprintf(f, "</td><td>%.3f</td><td>%.3f</td>", (s->ts - m->t0) / 1000.0,
            s->count > 1 ? s->busy / s->count : s->dur);
    if (s->cpu >= 0) fprintf(f, "<td>%.3f</td>", s->cpu);
    else fputs("<td>-</td>", f);
    if (s->rss_kb > 0) fprintf(f, "<td>%.0f</td></tr>\n", s->rss_kb);
    else fputs("<td>-</td></tr>\n", f);
  }
  fputs("</table>\n", f);
  free(idx);
}

static void functions(FILE *f, const tr_model *m) {
  size_t *idx;
  size_t k = tr_fns_by_total(m, &idx);
  fputs("<table><tr><th>function</th><th>tasks</th><th>total ms</th><th>mean us</th>"
        "<th>max us</th></tr>\n", f);
  for (size_t i = 0; i < k && i < 15; i++) {
    const tr_fn *fn = &m->fns[idx[i]];
    fprintf(f, "<tr><td><span style=\"color:%s\">&#9632;</span> ", rep_color((uint32_t)idx[i]));
    rep_html_str(f, fn->name);
    fprintf(f, "</td><td>%llu</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>\n",
            (unsigned long long)fn->count, fn->total_us / 1000.0,
            fn->total_us / (double)fn->count, fn->max_us);
  }
  fputs("</table>\n", f);
  free(idx);
}

static void workers(FILE *f, const tr_model *m) {
  fputs("<table><tr><th>track</th><th>role</th><th>tasks</th><th>busy ms</th><th>idle ms</th>"
        "<th>parked ms</th><th>busy %</th><th>steals</th><th>wake-ups sent</th></tr>\n", f);
  double a, z;
  tr_task_window(m, &a, &z);
  static const char *const roles[] = {"worker", "process", "loop", "thread"};
  for (size_t i = 0; i < m->ntracks; i++) {
    const tr_track *t = &m->tracks[i];
    if (!t->tasks && !t->idle_us && !t->steals && !t->wakes) continue;
    fputs("<tr><td>", f);
    rep_html_str(f, t->name);
    fprintf(f, "</td><td>%s</td><td>%llu</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>"
            "<td>%.1f</td><td>%llu</td><td>%llu</td></tr>\n", roles[t->role],
            (unsigned long long)t->tasks, t->busy_us / 1000.0, t->idle_us / 1000.0,
            t->park_us / 1000.0, z > a ? 100.0 * t->busy_us / (z - a) : 0,
            (unsigned long long)t->steals, (unsigned long long)t->wakes);
  }
  fputs("</table>\n", f);
}

static double karp_flatt(double s, double p) {
  return p > 1 ? (1 / s - 1 / p) / (1 - 1 / p) : 0;
}

static void amdahl(FILE *f, const tr_model *a, const char *pa, const tr_model *b, const char *pb) {
  double a0, a1, b0, b1;
  tr_task_window(a, &a0, &a1);
  tr_task_window(b, &b0, &b1);
  size_t na = tr_worker_count(a), nb = tr_worker_count(b);
  na = na ? na : 1, nb = nb ? nb : 1;
  if (na > nb) { /* the run with fewer workers is the baseline */
    const tr_model *t = a; a = b; b = t;
    const char *tp = pa; pa = pb; pb = tp;
    size_t tn = na; na = nb; nb = tn;
    double x = a0; a0 = b0; b0 = x;
    x = a1; a1 = b1; b1 = x;
  }
  double t1 = a1 - a0, tn = b1 - b0;
  double s = tn > 0 ? t1 / tn : 0, p = (double)nb / (double)na;
  double fser = karp_flatt(s, p);
  char limit[96];
  if (s <= 1) snprintf(limit, sizeof limit, "none: no speedup measured (more workers were not faster)");
  else if (fser <= 0.0001) snprintf(limit, sizeof limit, "unbounded (no serial part measured)");
  else snprintf(limit, sizeof limit, "%.3g x", 1 / fser);
  /* Outside [0, 1] the estimate means the runs did not do the same work, or
   * contention (more workers than CPUs) slowed the larger run down. */
  bool odd = fser < 0 || fser > 1;
  if (fser < 0) fser = 0;
  if (fser > 1) fser = 1;
  fputs("<div id=\"amdahl\"><table>", f);
  fputs("<tr><td>baseline</td><td>", f);
  rep_html_str(f, pa);
  fprintf(f, " (%zu workers): %.3f ms</td></tr><tr><td>compared</td><td>", na, t1 / 1000);
  rep_html_str(f, pb);
  fprintf(f, " (%zu workers): %.3f ms</td></tr>"
          "<tr><td>speedup</td><td class=\"speedup\">%.3f x on %.3g x the workers</td></tr>"
          "<tr><td>parallel efficiency</td><td>%.1f %%</td></tr>"
          "<tr><td>estimated serial fraction (Karp-Flatt)</td><td class=\"serial\">%.4f</td></tr>"
          "<tr><td>Amdahl limit 1/f</td><td>%s</td></tr></table>\n",
          nb, tn / 1000, s, p, p > 0 ? 100 * s / p : 0, fser, limit);
  if (odd)
    fputs("<p class=\"note\">The raw estimate fell outside 0..1 (clamped): the two runs did "
          "not do the same work, or the larger one had more workers than free CPUs.</p>\n", f);
  if (p <= 1) {
    fputs("<p class=\"note\">Both traces have the same number of workers: no serial fraction.</p>", f);
  } else {
    /* The law's curve for the estimated fraction, the ideal line, the measurement. */
    double W = 500, H = 200, nmax = p * 4 < 8 ? 8 : p * 4;
    fprintf(f, "<svg id=\"amdahl-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
            "height=\"%.0f\"><rect x=\"40\" y=\"10\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" "
            "stroke=\"#ccc\"/><polyline fill=\"none\" stroke=\"#ccc\" points=\"", W + 60, H + 40, W, H);
    for (int i = 0; i <= 50; i++) {
      double n = 1 + (nmax - 1) * i / 50, y = n / nmax;
      fprintf(f, "%.1f,%.1f ", 40 + W * (n - 1) / (nmax - 1), 10 + H * (1 - (y > 1 ? 1 : y)));
    }
    fputs("\"/><polyline fill=\"none\" stroke=\"#e15759\" stroke-width=\"2\" points=\"", f);
    for (int i = 0; i <= 50; i++) {
      double n = 1 + (nmax - 1) * i / 50;
      double sp = 1 / (fser + (1 - fser) / n);
      fprintf(f, "%.1f,%.1f ", 40 + W * (n - 1) / (nmax - 1), 10 + H * (1 - sp / nmax));
    }
    fprintf(f, "\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#4e79a7\"><title>measured: "
            "%.3f x</title></circle><text x=\"44\" y=\"24\" class=\"axis\">speedup (max %.3g)</text>"
            "<text x=\"%.0f\" y=\"%.0f\" class=\"axis\">workers (x baseline) up to %.3g</text></svg>\n",
            40 + W * (p - 1) / (nmax - 1), 10 + H * (1 - (s / nmax > 1 ? 1 : s / nmax)), s, nmax,
            W - 120, H + 30, nmax);
  }
  fputs("</div>\n", f);
}

static int write_report(FILE *f, const tr_model *m, const char *pa, const tr_model *b,
                        const char *pb) {
  fputs("<!DOCTYPE html>\n<html lang=\"en\" data-errors=\"0\"><head><meta charset=\"utf-8\">"
        "<title>weft trace report</title>\n", f);
  fputs(head_js, f);
  fputs(css, f);
  fputs("</head><body>\n<h1>weft trace report</h1><p id=\"status\"></p>\n", f);
  summary(f, m, pa);
  fputs("<h2>Timeline</h2><p class=\"note\">One row per track; colour: task function; light "
        "grey: idle; darker grey: parked (asleep). Hover a rectangle for details.</p>\n", f);
  rep_timeline(f, m);
  fputs("<h2>Utilisation over time</h2>\n", f);
  rep_utilisation(f, m);
  fputs("<h2>Task durations</h2><p class=\"note\">Tasks per duration bucket (powers of two, "
        "microseconds); merged runs of tiny tasks count at their mean.</p>\n", f);
  rep_histogram(f, m);
  fputs("<h2>Functions by total time</h2>\n", f);
  functions(f, m);
  fputs("<h2>Slowest tasks</h2>\n", f);
  slowest(f, m);
  fputs("<h2>Workers: busy, idle, steals</h2>\n", f);
  workers(f, m);
  rep_critical_path(f, m);
  if (b) {
    fputs("<h2>Amdahl's law</h2>\n", f);
    amdahl(f, m, pa, b, pb);
  }
  fputs(tail_js, f);
  fputs("</body></html>\n", f);
  return ferror(f) ? -1 : 0;
}

int weft_trace_report_main(int argc, char **argv) {
  const char *in[2] = {NULL, NULL}, *out = "report.html";
  int nin = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
    else if (argv[i][0] != '-' && nin < 2) in[nin++] = argv[i];
    else {
      fprintf(stderr, "weft trace report: unexpected argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (!nin) {
    fprintf(stderr, "usage: weft trace report a.json [b.json] [-o report.html]\n");
    return 2;
  }
  tr_model m[2];
  memset(m, 0, sizeof m);
  char err[256];
  int rc = 0;
  for (int i = 0; i < nin && rc == 0; i++) {
    if (tr_load(&m[i], in[i], err, sizeof err) != 0) {
      fprintf(stderr, "weft trace report: %s\n", err);
      rc = 1;
    }
  }
  FILE *f = rc == 0 ? fopen(out, "w") : NULL;
  if (rc == 0 && !f) {
    perror(out);
    rc = 1;
  }
  if (f) {
    rc = write_report(f, &m[0], in[0], nin > 1 ? &m[1] : NULL, in[1]) != 0;
    if (fclose(f) != 0) rc = 1;
    if (rc) fprintf(stderr, "weft trace report: cannot write %s\n", out);
    else printf("wrote %s\n", out);
  }
  tr_free(&m[0]);
  tr_free(&m[1]);
  return rc;
}
