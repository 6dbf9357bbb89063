/* src/cli/tour_trace.c — the tour's own trace and report (tour_trace.h).
 *
 * Recording costs little next to the steps (tiny tasks are merged into
 * runs, see weft/trace.h), and the page it ends with shows every step's
 * tasks on every worker: the timeline the tour's speedup column sums up. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli/trace_cli.h"
#include "cli/tour_trace.h"
#include "weft/weft.h"

#define TRACE_FILE "tour-trace.json"
#define REPORT_FILE "tour-report.html"

bool tour_trace_begin(void) {
  if (weft_trace_enabled()) return false; /* WEFT_TRACE: keep that session */
  return weft_trace_start() == 0;
}

/* The absolute path of a file just written (or the name as given). */
static void print_path(const char *what, const char *name, const char *hint) {
  char abs[PATH_MAX];
  printf("%s: %s%s\n", what, realpath(name, abs) ? abs : name, hint);
}

void tour_trace_finish(bool started) {
  if (!started && !weft_trace_enabled()) return; /* tracing could not start */
  if (started) weft_trace_stop();
  int rc = weft_trace_write(TRACE_FILE);
  if (rc != 0) {
    printf("\ntrace not written (%s: %s)\n", TRACE_FILE, weft_strerror(rc));
    return;
  }
  printf("\n");
  fflush(stdout);
  char *argv[] = {"report", TRACE_FILE, "-o", REPORT_FILE, NULL};
  rc = weft_trace_report_main(4, argv);
  print_path("trace of this tour", TRACE_FILE, " (open in https://ui.perfetto.dev)");
  if (rc == 0)
    print_path("report", REPORT_FILE, " (timelines per worker, from `weft trace report`)");
}
