/*
 * rollout.c - `aliasd rollout promote|abort|retry FUNCTION ALIAS`: act on a
 * rollout now, on Lambda and the record in the alias description (DESIGN §6).
 */
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/oneshot.h"

static const char usage[] =
    "usage: aliasd rollout promote|abort|retry FUNCTION ALIAS\n"
    "                      [--repo URL|DIR] [--ref REF] [--path SUBDIR]\n"
    "                      [--format text|json|markdown] [--json] [--rate N]\n"
    "                      [--region REGION] [--role ACCOUNT=ROLE_ARN[,externalId=ID]]...\n"
    "                      [--verify-ssh FILE | --verify-gpg FILE]\n"
    "\n"
    "Act on the rollout of alias ALIAS of function FUNCTION, as the manifests\n"
    "(read like `aliasd apply` reads them) declare it:\n"
    "\n"
    "  promote  finish the rollout in progress now: the new version gets all\n"
    "           the traffic (one UpdateAlias)\n"
    "  abort    roll the rollout in progress back now: the old version gets all\n"
    "           the traffic; it stays rolled back until the function's declared\n"
    "           state changes or `retry`\n"
    "  retry    start a rolled-back rollout again from its first step\n"
    "\n"
    "The command writes Lambda and the rollout's record (the alias description)\n"
    "directly, in one reconcile of FUNCTION, so it works with or without a\n"
    "running daemon, and a running daemon follows it.  It does not wait for\n"
    "the steps that follow (`aliasd apply` or the daemon runs them).\n"
    "\n"
    "  --repo URL|DIR   the manifest repository (default: the current folder)\n"
    "  --ref REF        branch, tag or commit (default: the remote's HEAD)\n"
    "  --path SUBDIR    only manifests under this folder\n"
    "  --format F       text (default), json (--json) or markdown\n"
    "  --rate N         control-plane requests per second (default 10)\n"
    "  --region REGION  default region for manifests that name none\n"
    "  --role ACCOUNT=ROLE_ARN  the role to assume for functions in ACCOUNT (see\n"
    "                   `aliasd apply --help`); repeatable\n"
    "  --verify-ssh FILE, --verify-gpg FILE  only a trusted commit is read (see\n"
    "                   `aliasd apply --help`)\n"
    "\n"
    "Exit status: 0 done, 1 an unknown function, an alias without a rollout,\n"
    "nothing in progress (promote, abort) or nothing rolled back (retry), AWS\n"
    "errors; 64 usage error.\n";

int cmd_rollout(int argc, char **argv)
{
	struct oneshot_rollout rc = {0};
	char *rest[256];
	int n = 0;

	if (cmd_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 4)
		return cmd_usage_error("rollout", "expects promote|abort|retry FUNCTION ALIAS");
	if (!strcmp(argv[1], "promote"))
		rc.command = ROLLOUT_CMD_PROMOTE;
	else if (!strcmp(argv[1], "abort"))
		rc.command = ROLLOUT_CMD_ABORT;
	else if (!strcmp(argv[1], "retry"))
		rc.command = ROLLOUT_CMD_RETRY;
	else
		return cmd_usage_error("rollout", "unknown action '%s' (promote, abort or retry)", argv[1]);
	if (argv[2][0] == '-' || argv[3][0] == '-')
		return cmd_usage_error("rollout", "expects %s FUNCTION ALIAS before the options", argv[1]);
	rc.function = argv[2];
	rc.alias = argv[3];
	if (argc - 3 > (int)(sizeof(rest) / sizeof(rest[0])) - 1)
		return cmd_usage_error("rollout", "too many arguments");
	rest[n++] = argv[0];
	for (int i = 4; i < argc; i++) {
		/* the remaining arguments are options (a repository is given with --repo) */
		if (argv[i][0] != '-' && (i == 4 || argv[i - 1][0] != '-' || strchr(argv[i - 1], '=')))
			return cmd_usage_error("rollout", "unexpected argument '%s'", argv[i]);
		rest[n++] = argv[i];
	}
	rest[n] = NULL;
	return cmd_oneshot_rollout("rollout", n, rest, usage, &rc);
}
