/* src/cli/trace.c — `weft trace`: what to do with a trace file.
 *
 *   weft trace report a.json [b.json] [-o report.html]   (trace_report.c)
 *   weft trace top out.json [-n N]                       (trace_top.c)
 *   weft trace check out.json                            (validate: parse it
 *       back and print what it holds; exit 1 if it is not a trace)
 *
 * A trace comes from running any weft program with WEFT_TRACE=out.json. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/trace_cli.h"
#include "cli/trace_model.h"

static void usage(FILE *to) {
  fprintf(to,
          "usage: weft trace report a.json [b.json] [-o report.html]\n"
          "       weft trace top out.json [-n N]\n"
          "       weft trace check out.json\n"
          "\n"
          "Record a trace with WEFT_TRACE=out.json <program> (any weft program, no\n"
          "code change); it opens in https://ui.perfetto.dev too.\n"
          "  report  one self-contained HTML page: timeline, utilisation, task\n"
          "          durations, slowest tasks, per-worker steals and idle time, the\n"
          "          graph's critical path; with b.json (the same work at another\n"
          "          worker count) an Amdahl panel: speedup and serial fraction.\n"
          "          Default output: report.html\n"
          "  top     functions by total time and the N (default 10) slowest tasks\n"
          "  check   read the file back and print its counts (exit 1 if invalid)\n"
          "Recording: WEFT_TRACE_CPU=all (CPU time of every task), WEFT_TRACE_MERGE=0\n"
          "(no merging of tiny tasks), WEFT_TRACE_SUBMIT=1 (submit events),\n"
          "WEFT_TRACE_LIMIT_MB (default 512). Logging: WEFT_LOG=error|warn|info|debug.\n");
}

static int run_check(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "weft trace check: expected one trace file\n");
    return 2;
  }
  tr_model m = {0};
  char err[256];
  if (tr_load(&m, argv[1], err, sizeof err) != 0) {
    fprintf(stderr, "weft trace check: %s\n", err);
    tr_free(&m);
    return 1;
  }
  size_t kinds[TR_NKINDS] = {0};
  for (size_t i = 0; i < m.nspans; i++) kinds[m.spans[i].kind]++;
  printf("events %llu\ntracks %zu\nworkers %zu\ntasks %llu\nspans %zu\n"
         "idle %zu\nnodes %zu\nedges %zu\ndropped %llu\n",
         (unsigned long long)m.events, m.ntracks, tr_worker_count(&m),
         (unsigned long long)tr_task_count(&m), m.nspans, kinds[TR_IDLE], kinds[TR_NODE],
         m.nedges, (unsigned long long)m.dropped);
  tr_free(&m);
  return 0;
}

int weft_cli_trace(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "report") == 0) return weft_trace_report_main(argc - 1, argv + 1);
  if (strcmp(sub, "top") == 0) return weft_trace_top_main(argc - 1, argv + 1);
  if (strcmp(sub, "check") == 0) return run_check(argc - 1, argv + 1);
  if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "weft trace: unknown subcommand '%s'\n", sub);
  usage(stderr);
  return 2;
}
