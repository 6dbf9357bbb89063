/* src/cli/main.c — the weft command: a small table of subcommands.
 *
 * Adding a subcommand is one row in `commands` plus its weft_cli_* function
 * (declared in cli.h). Exit status: 0 success, 1 failure, 2 usage error. */
#include <stdio.h>
#include <string.h>
#include "weft/core.h"
#include "cli/cli.h"
#include "cli/help.h"

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);   /* argv[0] is the subcommand name */
  const char *usage;
  const char *summary;
} command;

static int run_help(int argc, char **argv);
static int run_version(int argc, char **argv);

static const command commands[] = {
  {"tour",      weft_cli_tour, "tour",
   "every module on built-in data, with times and speedups"},
  {"info",      weft_cli_info, "info",
   "the CPUs this process may use, and why"},
  {"run",       weft_cli_run, "run [options] CMD [::: ARGS...]",
   "run a command over many inputs in parallel (like GNU parallel)"},
  {"bench",     weft_cli_bench, "bench SUITE [--json] [--quick]",
   "weft and its peers side by side (pool|proc|aio|run|graph|all)"},
  {"trace",     weft_cli_trace, "trace report|top|check FILE",
   "turn a WEFT_TRACE=out.json trace into a report"},
  {"help",      run_help, "help [command]", "this message, or one command's options"},
  {"--help",    run_help, NULL, NULL},
  {"-h",        run_help, NULL, NULL},
  {"--version", run_version, "--version", "print the version"},
  {"version",   run_version, NULL, NULL},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *to) {
  fprintf(to, "usage: weft <command> [options]\n\ncommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (commands[i].usage)  /* aliases have no usage line */
      fprintf(to, "  weft %-31s %s\n", commands[i].usage, commands[i].summary);
}

static int run_help(int argc, char **argv) {
  /* `weft help run`; `weft --help` and `weft -h` take no command */
  if (argc > 1 && strcmp(argv[0], "help") == 0) return weft_cli_help(argv[1]);
  print_usage(stdout);
  printf("\n`weft help <command>` shows a command's options; `man weft` the manual.\n");
  return 0;
}

static int run_version(int argc, char **argv) {
  (void)argc, (void)argv;
  /* The library's run-time version: the one actually linked. */
  printf("weft %s\n", weft_version_string());
  return 0;
}

static const command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const command *c = find_command(argv[1]);
  if (!c) {
    fprintf(stderr, "weft: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return 2;
  }
  return c->run(argc - 1, argv + 1);
}
