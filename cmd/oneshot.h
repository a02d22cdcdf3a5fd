/*
 * oneshot.h - the code `aliasd plan` and `aliasd apply` share (cmd/oneshot.c).
 */
#ifndef ALIASD_CMD_ONESHOT_H
#define ALIASD_CMD_ONESHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "manifest/load.h"
#include "reconcile/reconcile.h"

/*
 * Parse the options, read the snapshot, reconcile every valid function
 * (dry-run unless `apply`), print the outcome: plan one line per failed
 * function on stderr; apply each step as it completes and the failed
 * functions, once each, in a list on stderr at the end.  Returns the exit
 * status: plan 0 in sync, 2 changes pending, 1 errors; apply 0 converged, 1
 * any failure (manifest errors included, a rollout that rolled back, a
 * signal while waiting); both EXIT_USAGE (64) on a usage error.
 * apply runs rollouts to the end: while a result has next_check it sleeps
 * until the earliest and reconciles those functions again, printing each
 * step (--no-wait: once, then it prints what is pending).
 */
int cmd_oneshot(const char *verb, int argc, char **argv, bool apply, const char *usage);

/*
 * `aliasd rollout promote|abort|retry FUNCTION ALIAS` (cmd/rollout.c): the
 * same options and snapshot as apply, then one reconcile of FUNCTION with
 * the command for ALIAS (reconcile.h, struct reconcile_rollout_cmd), no
 * waiting.  An unknown function, an alias it does not declare or one
 * without a rollout: 1 with a message, nothing called.
 */
struct oneshot_rollout {
	const char *function;
	const char *alias;
	enum rollout_command command;
};
int cmd_oneshot_rollout(const char *verb, int argc, char **argv, const char *usage,
                        const struct oneshot_rollout *cmd);

/*
 * --format markdown (oneshot_md.c): a comment-ready report for a pull
 * request: a heading with the commit, the summary line in bold, per function
 * that changes a ```diff block of the planner's lines (release names and
 * versions: "~ alias Prod: v1 (1) → v2 (2)"), the failed functions, the
 * manifest errors (file:line:col) and the functions in sync.  Backticks in
 * names become ' so nothing escapes its code span.
 */
void oneshot_print_markdown(FILE *out, const struct manifest_set *set, const struct reconcile_result *res,
                            size_t n, bool apply, size_t n_changed, size_t n_sync, size_t n_failed);

/*
 * The option lines `plan --help` and `apply --help` share (one text, so the
 * two never drift apart).  READ_WHAT: "read" or "read and written";
 * NOTHING_WHAT: what an untrusted head leaves undone ("planned", "applied").
 */
#define ONESHOT_HELP_SOURCE                                                                                  \
	"  --repo URL|DIR   the manifest repository (default: the current folder, as\n"                      \
	"                   it is on disk); a Git URL or, with --ref, a local Git\n"                         \
	"                   repository is read from the commit's tree\n"                                     \
	"  --ref REF        branch, tag or commit (default: the remote's HEAD)\n"                            \
	"  --path SUBDIR    only manifests under this folder\n"
#define ONESHOT_HELP_AWS(READ_WHAT)                                                                          \
	"  --rate N         control-plane requests per second (default 10; Lambda's\n"                       \
	"                   quota is 15 per account and region)\n"                                           \
	"  --function NAME  only this function\n"                                                            \
	"  --region REGION  default region for manifests that name none (else\n"                             \
	"                   AWS_REGION, AWS_DEFAULT_REGION, the profile's region)\n"                         \
	"  --role ACCOUNT=ROLE_ARN  functions named by an ARN in\n"                                          \
	"                   ACCOUNT are " READ_WHAT " with credentials from\n"                               \
	"                   STS AssumeRole of ROLE_ARN, signed with the usual\n"                             \
	"                   credentials (add ,externalId=ID when the role's trust\n"                         \
	"                   policy asks for one); repeatable.  With roles given,\n"                          \
	"                   an ARN in an account that is neither one of theirs\n"                            \
	"                   nor your own fails, naming the fix\n"
#define ONESHOT_HELP_VERIFY(NOTHING_WHAT)                                                                    \
	"  --verify-ssh FILE  only a commit signed by a trusted key is read: FILE is\n"                      \
	"                   git's allowed-signers file (checked by ssh-keygen)\n"                            \
	"  --verify-gpg FILE  the same with OpenPGP: FILE holds armored public keys;\n"                      \
	"                   GnuPG's home is gnupg/ in the state directory beside the\n"                      \
	"                   Git cache ($XDG_CACHE_HOME/aliasd, else ~/.cache/aliasd).\n"                     \
	"                   Either needs a commit (a Git URL, or DIR with --ref); an\n"                      \
	"                   unsigned or untrusted head exits 1 with the reason,\n"                           \
	"                   nothing " NOTHING_WHAT "\n"
#define ONESHOT_HELP_LISTING                                                                                 \
	"  --listing HOW    how versions are read: fleet = ListFunctions\n"                                  \
	"                   (FunctionVersion=ALL) pages for a whole region of an\n"                          \
	"                   account (a --role account's with its role), 50 versions\n"                       \
	"                   a call; per-function = ListVersionsByFunction for each;\n"                       \
	"                   auto (default) = a function that prunes nothing is read\n"                       \
	"                   from its aliases (ListAliases; GetFunction for $LATEST\n"                        \
	"                   and the versions they serve), its version list only\n"                           \
	"                   when its plan needs it; functions that prune are read\n"                         \
	"                   as fleet for an (account, region) with 2 or more of\n"                           \
	"                   them unless its listing would take more than half as\n"                          \
	"                   many pages as functions (--json says which)\n"

#endif
