/*
 * cmd.h - the subcommands of aliasd.
 *
 * Each verb lives in its own file cmd/<verb>.c and is called with argv[0] set
 * to the verb's name.  It returns the process exit status: 0 success, 1 the
 * operation failed (errors printed), EXIT_USAGE (64, EX_USAGE of sysexits.h)
 * a usage error (unknown option, missing or extra argument, bad option
 * value); `plan` alone also uses 2, for "changes pending".  Every verb
 * accepts --help / -h and prints its usage to stdout.
 */
#ifndef ALIASD_CMD_H
#define ALIASD_CMD_H

#include <stdio.h>

#define EXIT_USAGE 64 /* EX_USAGE */

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_versions(int argc, char **argv);
int cmd_rollout(int argc, char **argv);

/*
 * Print "aliasd VERB: MESSAGE" plus a hint to try --help on stderr and return
 * EXIT_USAGE: one line for every usage error.
 */
int cmd_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True if argv holds --help or -h before any "--". */
int cmd_wants_help(int argc, char **argv);

/*
 * Match argv[*i] against the option NAME that takes a value, written
 * "NAME=VALUE" or "NAME VALUE" (then *i is advanced to VALUE).  Returns 1 and
 * sets *ret (pointing into argv) on a match, 0 if argv[*i] is something else,
 * -1 if NAME is the last argument and has no value.
 */
int cmd_opt_value(int argc, char **argv, int *i, const char *name, const char **ret);

#endif
