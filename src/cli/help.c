/* src/cli/help.c — `weft help <command>`: what each command does and takes.
 *
 * Commands with options of their own (run, bench, trace) answer --help
 * themselves, so their text lives beside their parser and cannot drift:
 * help calls them with --help. The small commands' texts are here. The man
 * page (docs/weft.1) says the same at length. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"

static const char info_help[] =
    "usage: weft info\n"
    "\n"
    "Prints what this process may use and how weft sizes its workers from it:\n"
    "  CPUs      online CPUs, the affinity mask (taskset), the cgroup CPU quota\n"
    "            and the usable count = the mask capped by the quota\n"
    "  hardware  packages, physical cores vs hardware threads (SMT), L1d/L2/L3\n"
    "            cache sizes and instances, NUMA nodes (via hwloc, counted over\n"
    "            the allowed CPUs only)\n"
    "  memory    total, available now, the cgroup memory limit\n"
    "  defaults  the worker count of the thread pool, the process pool, weft run\n"
    "            and aio servers, and why (WEFT_THREADS=N overrides them all)\n";

static const char tour_help[] =
    "usage: weft tour\n"
    "\n"
    "Runs every module on built-in data (sync, pool, futures, parallel maps,\n"
    "processes, the process pool, async I/O, graphs) and prints each result\n"
    "with its time and speedup, checked against the expected values.\n";

static const char help_help[] =
    "usage: weft help [command]\n"
    "\n"
    "Without a command: the list of commands. With one: its options.\n"
    "Also: weft --help, weft --version. The manual: man weft.\n";

static const char version_help[] =
    "usage: weft --version\n"
    "\n"
    "Prints the version of the weft library this command runs on.\n";

/* Calls a command's own --help. */
static int own_help(int (*cmd)(int, char **), const char *name) {
  char *argv[] = {(char *)name, (char *)"--help", NULL};
  return cmd(2, argv);
}

int weft_cli_help(const char *command) {
  if (!strcmp(command, "run")) return own_help(weft_cli_run, "run");
  if (!strcmp(command, "bench")) return own_help(weft_cli_bench, "bench");
  if (!strcmp(command, "trace")) return own_help(weft_cli_trace, "trace");
  const char *text = !strcmp(command, "info") ? info_help
                     : !strcmp(command, "tour") ? tour_help
                     : !strcmp(command, "help") ? help_help
                     : !strcmp(command, "--version") || !strcmp(command, "version")
                         ? version_help : NULL;
  if (!text) {
    fprintf(stderr, "weft help: unknown command '%s' (weft help lists them)\n", command);
    return 2;
  }
  fputs(text, stdout);
  return 0;
}
