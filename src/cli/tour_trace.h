/* src/cli/tour_trace.h — `weft tour` traces itself: the tour starts
 * recording before its first step and ends by writing the trace and its
 * HTML report in the current directory (tour_trace.c). */
#ifndef WEFT_CLI_TOUR_TRACE_H
#define WEFT_CLI_TOUR_TRACE_H

#include <stdbool.h>

/* Starts recording unless something already records (WEFT_TRACE in the
 * environment). Returns whether it started a session. Never fails the
 * tour: without tracing, the tour runs as before. */
bool tour_trace_begin(void);

/* Writes tour-trace.json and tour-report.html in the current directory and
 * prints their absolute paths; prints why instead when it cannot. Stops
 * the session if tour_trace_begin started it (`started`). */
void tour_trace_finish(bool started);

#endif /* WEFT_CLI_TOUR_TRACE_H */
