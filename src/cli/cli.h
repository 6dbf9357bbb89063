/* src/cli/cli.h — the subcommands of the weft command. Each returns the
 * process exit status (0 success, 1 failure, 2 usage error). */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

int weft_cli_tour(int argc, char **argv);   /* src/cli/tour.c */
int weft_cli_info(int argc, char **argv);   /* src/cli/info.c */
int weft_cli_run(int argc, char **argv);    /* src/cli/run.c: exit status as GNU parallel */
int weft_cli_bench(int argc, char **argv);  /* src/cli/bench.c: weft bench pool [--json] [--quick] */
int weft_cli_trace(int argc, char **argv);  /* src/cli/trace.c: weft trace report|top|check */

#endif /* WEFT_CLI_H */
