/* src/cli/tour_proc.c — the tour's subprocess step: the seeds' "call
 * external programs with os.system / subprocess and collect the results
 * afterwards", as one bounded parallel run whose outputs are checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/tour.h"

#define TOUR_PROCS 40

typedef struct procs_run {
  weft_subprocess_opts cmds[TOUR_PROCS];
  char lines[TOUR_PROCS][32];
  /* sh -c 'echo "$1"' sh <line>: the line travels as an argument, never
   * spliced into the command line. */
  const char *argv[TOUR_PROCS][4];
  size_t parallel;
} procs_run;

/* Runs every command with the given bound; checks each printed its own line. */
static int run_all(void *ctx) {
  procs_run *r = ctx;
  weft_subprocess_result res[TOUR_PROCS];
  int rc = weft_subprocess_run_many(r->cmds, TOUR_PROCS, r->parallel, res, NULL, NULL);
  for (size_t i = 0; i < TOUR_PROCS; i++) {
    char want[40];
    snprintf(want, sizeof want, "%s\n", r->lines[i]);
    if (rc == 0 && (res[i].exit_code != 0 || !res[i].out || strcmp(res[i].out, want) != 0))
      rc = 1;
    weft_subprocess_result_free(&res[i]);
  }
  return rc;
}

int tour_subprocess(tour_out *out) {
  procs_run *r = calloc(1, sizeof *r);
  if (!r) return WEFT_ENOMEM;
  for (size_t i = 0; i < TOUR_PROCS; i++) {
    snprintf(r->lines[i], sizeof r->lines[i], "job %zu", i);
    const char **a = r->argv[i];
    a[0] = "echo \"$1\"";
    a[1] = "sh";
    a[2] = r->lines[i];
    a[3] = NULL;
    r->cmds[i] = (weft_subprocess_opts){
        .argv = a, .shell = true, .stdout_mode = WEFT_SUBPROCESS_CAPTURE};
  }
  r->parallel = 1;
  int rc = tour_time_best(run_all, r, 3, &out->serial_ns);
  r->parallel = 0; /* 0: as many at once as there are usable CPUs */
  if (rc == 0) rc = tour_time_best(run_all, r, 3, &out->ns);
  if (rc == 0)
    tour_result(out, "%d programs, outputs in order", TOUR_PROCS);
  else
    tour_result(out, "a program failed or printed the wrong line");
  free(r);
  return rc;
}
