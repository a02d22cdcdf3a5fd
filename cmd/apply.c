/*
 * apply.c - `aliasd apply`: reconcile every function once.
 */
#include "cmd/cmd.h"
#include "cmd/oneshot.h"

/* one line of --help per line of source */
/* clang-format off */
static const char usage[] =
    "usage: aliasd apply [--repo URL|DIR] [--ref REF] [--path SUBDIR]\n"
    "                    [--format text|json|markdown] [--json]\n"
    "                    [--concurrency N] [--rate N] [--function NAME]\n"
    "                    [--region REGION] [--listing auto|fleet|per-function]\n"
    "                    [--role ACCOUNT=ROLE_ARN[,externalId=ID]]...\n"
    "                    [--verify-ssh FILE | --verify-gpg FILE] [--no-wait]\n"
    "\n"
    "Make Lambda match the manifests, once: create missing functions, publish\n"
    "each release that has no published version yet (exactly once, guarded by\n"
    "CodeSha256 and RevisionId), point every alias at its release, and prune\n"
    "when the manifest asks for it.  Each step is printed as it completes:\n"
    "\n"
    "  my-lambda-function: + publish release v2 (code 3f9a1b2c..., ...): version 2\n"
    "  my-lambda-function: ~ alias Prod: v1 (1) -> v2 (2)\n"
    "  Apply: 1 function changed (2 writes), 0 in sync, 0 failed.\n"
    "\n"
    "Functions are reconciled in parallel; one failing function never stops\n"
    "the others (and a broken manifest only blocks the functions it declares).\n"
    "The failing functions and why are listed at the end.  Running apply again\n"
    "right after makes no write call.\n"
    "\n"
    "An alias with a `rollout` moves its traffic in steps guarded by CloudWatch\n"
    "alarms (see README \"Rollouts\"); apply runs each rollout to the end,\n"
    "printing every step as it happens and when the next one is due:\n"
    "\n"
    "  my-lambda-function: ~ rollout Prod: 10% on v2 (2), step 1 of 2\n"
    "  my-lambda-function: rollout Prod: 10% on 2 (step 1 of 2); next check at 07:05:00 UTC\n"
    "\n"
    "An alarm in ALARM rolls the alias back at once (exit 1, the alarm named).\n"
    "Ctrl-C while waiting leaves each rollout at its step; the next apply (or\n"
    "the daemon) continues it, never from scratch and never jumping to 100%.\n"
    "\n"
    ONESHOT_HELP_SOURCE
    "  --format F       text (default: progress as it happens); json: one JSON\n"
    "                   document at the end (with reads: how each region was\n"
    "                   read); markdown: a report to post on a pull request\n"
    "  --json           the same as --format json\n"
    "  --concurrency N  functions reconciled in parallel (default 8, at most 64)\n"
    ONESHOT_HELP_AWS
    (
    "read and written")
    ONESHOT_HELP_VERIFY("applied")
    ONESHOT_HELP_LISTING
    "  --no-wait        start or advance the rollouts that are due, print what is\n"
    "                   pending and exit (0); a later apply continues them\n"
    "\n"
    "SIGTERM / Ctrl-C: the call in flight finishes, nothing new starts; the\n"
    "next apply finishes the job (no duplicate versions, whatever the moment).\n"
    "\n"
    "Exit status: 0 every function converged, 1 any function failed (no\n"
    "credentials, AWS errors), a rollout rolled back, or any manifest has\n"
    "errors, 64 usage error.\n";
/* clang-format on */

int cmd_apply(int argc, char **argv)
{
	return cmd_oneshot("apply", argc, argv, true, usage);
}
