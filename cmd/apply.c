/*
 * apply.c - `aliasd apply`: reconcile every function once.
 */
#include "cmd/cmd.h"
#include "cmd/oneshot.h"

static const char usage[] = "usage: aliasd apply [--repo URL|DIR] [--ref REF] [--path SUBDIR] [--json]\n"
                            "                    [--concurrency N] [--rate N] [--function NAME]\n"
                            "                    [--region REGION] [--listing auto|fleet|per-function]\n"
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
                            "  --repo URL|DIR   the manifest repository (default: the current folder, as\n"
                            "                   it is on disk); a Git URL or, with --ref, a local Git\n"
                            "                   repository is read from the commit's tree\n"
                            "  --ref REF        branch, tag or commit (default: the remote's HEAD)\n"
                            "  --path SUBDIR    only manifests under this folder\n"
                            "  --json           print one JSON document at the end instead of progress\n"
                            "                   (with reads: how each region was read)\n"
                            "  --concurrency N  functions reconciled in parallel (default 8, at most 64)\n"
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
                            "SIGTERM / Ctrl-C: the call in flight finishes, nothing new starts; the\n"
                            "next apply finishes the job (no duplicate versions, whatever the moment).\n"
                            "\n"
                            "Exit status: 0 every function converged, 1 any function failed (no\n"
                            "credentials, AWS errors) or any manifest has errors, 64 usage error.\n";

int cmd_apply(int argc, char **argv)
{
	return cmd_oneshot("apply", argc, argv, true, usage);
}
