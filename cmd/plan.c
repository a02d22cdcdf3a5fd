/*
 * plan.c - `aliasd plan`: what apply would change, without a single write.
 */
#include "cmd/cmd.h"
#include "cmd/oneshot.h"

static const char usage[] = "usage: aliasd plan [--repo URL|DIR] [--ref REF] [--path SUBDIR] [--json]\n"
                            "                   [--concurrency N] [--rate N] [--function NAME]\n"
                            "                   [--region REGION] [--listing auto|fleet|per-function]\n"
                            "\n"
                            "Show what `aliasd apply` would change, per function, Terraform-style:\n"
                            "\n"
                            "  my-lambda-function:\n"
                            "    + publish release v2 (code 3f9a1b2c..., from artifacts/Version2.zip)\n"
                            "    ~ alias Prod: v1 (1) -> v2 (2)\n"
                            "    - alias Old (v0 (3))\n"
                            "  Plan: 1 function to change (2 steps), 0 in sync, 0 failed.\n"
                            "\n"
                            "It reads Lambda (the versions of a region's functions by ListFunctions\n"
                            "pages or ListVersionsByFunction, see --listing; ListAliases per function)\n"
                            "and makes no write call.\n"
                            "\n"
                            "  --repo URL|DIR   the manifest repository (default: the current folder, as\n"
                            "                   it is on disk); a Git URL or, with --ref, a local Git\n"
                            "                   repository is read from the commit's tree\n"
                            "  --ref REF        branch, tag or commit (default: the remote's HEAD)\n"
                            "  --path SUBDIR    only manifests under this folder\n"
                            "  --json           print one JSON document (functions, steps, summary,\n"
                            "                   reads: how each region was read)\n"
                            "  --concurrency N  functions read in parallel (default 8, at most 64)\n"
                            "  --rate N         control-plane requests per second (default 10; Lambda's\n"
                            "                   quota is 15 per account and region)\n"
                            "  --function NAME  only this function\n"
                            "  --region REGION  default region for manifests that name none (else\n"
                            "                   AWS_REGION, AWS_DEFAULT_REGION, the profile's region)\n"
                            "  --listing HOW    how versions are read: fleet = ListFunctions\n"
                            "                   (FunctionVersion=ALL) pages for a whole region, 50\n"
                            "                   versions a call; per-function = ListVersionsByFunction\n"
                            "                   for each; auto (default) = fleet for a region with 2 or\n"
                            "                   more functions unless its listing would take more than\n"
                            "                   half as many pages as functions (--json says which)\n"
                            "\n"
                            "AWS settings come from the usual AWS_* variables and ~/.aws files.\n"
                            "\n"
                            "Exit status: 0 everything in sync, 2 changes pending, 1 errors (manifest\n"
                            "errors, no credentials, or Lambda could not be read), 64 usage error\n"
                            "(unknown option, missing or extra argument).\n";

int cmd_plan(int argc, char **argv)
{
	return cmd_oneshot("plan", argc, argv, false, usage);
}
