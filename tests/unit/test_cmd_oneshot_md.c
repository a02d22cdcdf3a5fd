/* `aliasd plan --format markdown`: the comment-ready report (cmd/oneshot_md.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/oneshot.h"
#include "harness.h"

static char *render(const struct manifest_set *set, const struct reconcile_result *res, size_t n, bool apply,
                    size_t changed, size_t sync, size_t failed)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	oneshot_print_markdown(f, set, res, n, apply, changed, sync, failed);
	fclose(f);
	return text;
}

TEST(plan_changes_failed_in_sync)
{
	struct reconcile_step_info steps[] = {
	    {PLAN_STEP_PUBLISH,
	     (char *)"+ publish release v2 (code 3f9a1b2c..., from artifacts/Version2.zip)"},
	    {PLAN_STEP_UPDATE_ALIAS, (char *)"~ alias Prod: v1 (1) \xe2\x86\x92 v2 (2)"},
	};
	struct reconcile_result res[3];
	struct manifest_set set;
	char *md;

	memset(res, 0, sizeof(res));
	memset(&set, 0, sizeof(set));
	snprintf(set.revision, sizeof(set.revision), "%s", "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d");
	res[0].function = (char *)"orders";
	res[0].planned = steps;
	res[0].n_planned = 2;
	res[1].function = (char *)"bad`name";
	res[1].region = (char *)"eu-west-1";
	res[1].status = -13;
	error_set(&res[1].err, -13, "AccessDeniedException: not\nallowed");
	res[2].function = (char *)"users";
	md = render(&set, res, 3, false, 1, 1, 1);
	REQUIRE(md != NULL);
	CHECKF(!strncmp(md, "### aliasd plan at `1a2b3c4`\n\n", 30), "%s", md);
	CHECKF(strstr(md, "**Plan: 1 function to change (2 steps), 1 in sync, 1 failed.**\n") != NULL, "%s",
	       md);
	CHECKF(strstr(md, "#### `orders`\n\n```diff\n+ publish release v2 (code 3f9a1b2c..., from "
	                  "artifacts/Version2.zip)\n~ alias Prod: v1 (1) \xe2\x86\x92 v2 (2)\n```\n") != NULL,
	       "%s", md);
	/* a backtick cannot end the code span; a newline cannot break the list */
	CHECKF(
	    strstr(md, "#### Failed\n\n- `bad'name` (eu-west-1): `AccessDeniedException: not allowed`\n") !=
	        NULL,
	    "%s", md);
	CHECKF(strstr(md, "\nIn sync: `users`.\n") != NULL, "%s", md);
	CHECK(strstr(md, "Manifest errors") == NULL);
	free(md);
}

TEST(manifest_errors_and_apply)
{
	struct manifest_set set;
	struct reconcile_result res[1];
	char *md;

	memset(&set, 0, sizeof(set));
	memset(res, 0, sizeof(res));
	errlist_add(&set.errors, -EINVAL, "fn.yaml", 21, 9, "aliases.Prod: release \"v9\" is not declared");
	md = render(&set, res, 0, false, 0, 0, 0);
	REQUIRE(md != NULL);
	CHECKF(!strncmp(md,
	                "### aliasd plan\n\n**Plan: 0 functions to change (0 steps), 0 in sync, 0 failed, 1 "
	                "manifest error.**\n",
	                87),
	       "%s", md);
	CHECKF(
	    strstr(
	        md,
	        "#### Manifest errors\n\n- `fn.yaml:21:9: aliases.Prod: release \"v9\" is not declared`\n") !=
	        NULL,
	    "%s", md);
	free(md);

	res[0].function = (char *)"orders";
	res[0].changed = true;
	res[0].writes = 1;
	md = render(NULL, res, 1, true, 1, 0, 0);
	REQUIRE(md != NULL);
	CHECKF(
	    strstr(md,
	           "### aliasd apply\n\n**Apply: 1 function changed (1 write), 0 in sync, 0 failed.**\n") ==
	        md,
	    "%s", md);
	free(md);
	errlist_release(&set.errors);
}

TEST_MAIN(plan_changes_failed_in_sync, manifest_errors_and_apply)
