/*
 * oneshot.h - the code `aliasd plan` and `aliasd apply` share (cmd/oneshot.c).
 */
#ifndef ALIASD_CMD_ONESHOT_H
#define ALIASD_CMD_ONESHOT_H

#include <stdbool.h>

/*
 * Parse the options, read the snapshot, reconcile every valid function
 * (dry-run unless `apply`), print the outcome: plan one line per failed
 * function on stderr; apply each step as it completes and the failed
 * functions, once each, in a list on stderr at the end.  Returns the exit
 * status: plan 0 in sync, 2 changes pending, 1 errors; apply 0 converged, 1
 * any failure (manifest errors included); both EXIT_USAGE (64) on a usage
 * error.
 */
int cmd_oneshot(const char *verb, int argc, char **argv, bool apply, const char *usage);

#endif
