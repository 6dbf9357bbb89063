/* src/cli/help.h — `weft help [command]`: per-command help (help.c). */
#ifndef WEFT_CLI_HELP_H
#define WEFT_CLI_HELP_H

/* Prints the help of one command on stdout: run, bench and trace print
 * their own --help text; the others' texts live in help.c. Returns 0, or 2
 * (usage error, said on stderr) for a command that does not exist. */
int weft_cli_help(const char *command);

#endif /* WEFT_CLI_HELP_H */
