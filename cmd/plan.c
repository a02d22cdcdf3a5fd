/*
 * plan.c - `aliasd plan`: what apply would change, without a single write.
 */
#include "cmd/cmd.h"
#include "cmd/oneshot.h"

/* one line of --help per line of source */
/* clang-format off */
static const char usage[] =
    "usage: aliasd plan [--repo URL|DIR] [--ref REF] [--path SUBDIR]\n"
    "                   [--format text|json|markdown] [--json]\n"
    "                   [--concurrency N] [--rate N] [--function NAME]\n"
    "                   [--region REGION] [--listing auto|fleet|per-function]\n"
    "                   [--role ACCOUNT=ROLE_ARN[,externalId=ID]]...\n"
    "                   [--verify-ssh FILE | --verify-gpg FILE]\n"
    "\n"
    "Show what `aliasd apply` would change, per function, Terraform-style:\n"
    "\n"
    "  my-lambda-function:\n"
    "    + publish release v2 (code 3f9a1b2c..., from artifacts/Version2.zip)\n"
    "    ~ alias Prod: v1 (1) -> v2 (2)\n"
    "    - alias Old (v0 (3))\n"
    "    - version 2 (beta @9f8e7d6, 12.4 MiB)\n"
    "  Plan: 1 function to change (4 steps), 0 in sync, 0 failed.\n"
    "\n"
    "It reads Lambda (ListAliases per function, and GetFunction for $LATEST\n"
    "and the versions the aliases serve; versions by ListFunctions pages or\n"
    "ListVersionsByFunction where needed, see --listing) and makes no write\n"
    "call.  A deleted version shows its trace and the bytes it frees; with\n"
    "prune.keepHistory the last commits of --ref are read from Git (a folder\n"
    "has no history: keepHistory counts as 0).\n"
    "\n"
    ONESHOT_HELP_SOURCE
    "  --format F       text (default); json: one JSON document (functions,\n"
    "                   steps, summary, reads: how each region was read);\n"
    "                   markdown: a report to post on a pull request (per\n"
    "                   function what moves, with release names and versions)\n"
    "  --json           the same as --format json\n"
    "  --concurrency N  functions read in parallel (default 8, at most 64)\n"
    ONESHOT_HELP_AWS("read")
    ONESHOT_HELP_VERIFY("planned")
    ONESHOT_HELP_LISTING
    "\n"
    "AWS settings come from the usual AWS_* variables and ~/.aws files.\n"
    "\n"
    "Exit status: 0 everything in sync, 2 changes pending, 1 errors (manifest\n"
    "errors, no credentials, or Lambda could not be read), 64 usage error\n"
    "(unknown option, missing or extra argument).\n";
/* clang-format on */

int cmd_plan(int argc, char **argv)
{
	return cmd_oneshot("plan", argc, argv, false, usage);
}
