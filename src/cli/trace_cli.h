/* src/cli/trace_cli.h — the parts of `weft trace` (src/cli/trace*.c). */
#ifndef WEFT_CLI_TRACE_CLI_H
#define WEFT_CLI_TRACE_CLI_H

#include <stdio.h>
#include "cli/trace_model.h"

/* argv[0] is "report" / "top". Exit status as weft_cli_*. */
int weft_trace_report_main(int argc, char **argv);
int weft_trace_top_main(int argc, char **argv);

/* The n slowest single tasks (merged runs count as their mean task), as
 * indexes into m->spans, slowest first. *out is malloc'd. Returns how many. */
size_t tr_slowest(const tr_model *m, size_t n, size_t **out);
/* Function indexes sorted by total time, descending. *out is malloc'd. */
size_t tr_fns_by_total(const tr_model *m, size_t **out);

/* The report's parts (trace_report.c, trace_svg.c). */
void rep_timeline(FILE *f, const tr_model *m);
void rep_utilisation(FILE *f, const tr_model *m);
void rep_histogram(FILE *f, const tr_model *m);
void rep_html_str(FILE *f, const char *s);
const char *rep_color(uint32_t fn);
void rep_critical_path(FILE *f, const tr_model *m); /* trace_cpath.c */

#endif /* WEFT_CLI_TRACE_CLI_H */
