/*
 * test_reconcile_fleet.c - a region's ListFunctions(FunctionVersion=ALL)
 * listing: sorted, each function's entries found (and only its own), a
 * function the listing does not have observed without a single call, and
 * the batch grouped by (account, region) with each group's decision.
 */
#include <errno.h>
#include <string.h>

#include "reconcile/internal.h"
#include "tests/unit/harness.h"

#define ENTRY(fn, v, sha)                                                                                    \
	{                                                                                                    \
		.function_name = (char *)(fn), .version = (char *)(v), .code_sha256 = (char *)(sha)          \
	}

TEST(listing_sort_and_find)
{
	/* as pages may hand them out: any order */
	struct lambda_function_config items[] = {
	    ENTRY("fn-a", "10", "s10"), ENTRY("fn", "2", "x2"),       ENTRY("fn-a", "$LATEST", "sl"),
	    ENTRY("fn-a", "9", "s9"),   ENTRY("fn", "$LATEST", "xl"), ENTRY("fn-ab", "1", "y1"),
	    ENTRY("fn-a", "1", "s1"),   ENTRY("fn", "1", "x1"),
	};
	size_t n = sizeof(items) / sizeof(items[0]);
	struct reconcile_listed l;

	reconcile_listing_sort(items, n);
	/* by name; $LATEST first, then versions by number (10 after 9, not after 1) */
	CHECK_STR(items[0].function_name, "fn");
	CHECK_STR(items[0].version, "$LATEST");
	CHECK_STR(items[1].version, "1");
	CHECK_STR(items[2].version, "2");
	CHECK_STR(items[3].function_name, "fn-a");
	CHECK_STR(items[3].version, "$LATEST");
	CHECK_STR(items[4].version, "1");
	CHECK_STR(items[5].version, "9");
	CHECK_STR(items[6].version, "10");
	CHECK_STR(items[7].function_name, "fn-ab");

	l = reconcile_listing_find(items, n, "fn-a");
	CHECK_U64(l.n, 4);
	CHECK(l.items == &items[3]);
	for (size_t i = 0; i < l.n; i++)
		CHECK_STR(l.items[i].function_name, "fn-a"); /* never fn or fn-ab */
	l = reconcile_listing_find(items, n, "fn");
	CHECK_U64(l.n, 3);
	CHECK_STR(l.items[2].code_sha256, "x2");
	l = reconcile_listing_find(items, n, "fn-ab");
	CHECK_U64(l.n, 1);
	CHECK_U64(reconcile_listing_find(items, n, "fn-").n, 0);
	CHECK_U64(reconcile_listing_find(items, n, "zzz").n, 0);
	CHECK_U64(reconcile_listing_find(items, n, "").n, 0);
	CHECK_U64(reconcile_listing_find(NULL, 0, "fn").n, 0);
}

TEST(observe_listed_absent_costs_nothing)
{
	struct reconcile_listed none = {NULL, 0};
	struct plan_observed o;
	struct aws_error e = AWS_ERROR_INIT;

	memset(&o, 0xAB, sizeof(o));
	/* no client at all: absent from the listing means no call is made */
	CHECK_INT(reconcile_observe_listed(NULL, "fn", &none, &o, &e), 0);
	CHECK(!o.exists);
	CHECK(o.versions == NULL && o.n_versions == 0 && o.aliases == NULL && o.n_aliases == 0);
	CHECK_INT(e.err.code, 0);
}

TEST(listing_name)
{
	CHECK_STR(reconcile_listing_name("fn"), "fn");
	CHECK_STR(reconcile_listing_name("arn:aws:lambda:us-east-1:222222222222:function:pay"), "pay");
	CHECK(reconcile_listing_name("arn:aws:lambda:us-east-1:222222222222:function:pay:Prod") == NULL);
	CHECK(reconcile_listing_name("arn:aws:lambda:us-east-1:222222222222:layer:x") == NULL);
	CHECK(reconcile_listing_name("arn:aws:lambda:us-east-1") == NULL);
	CHECK(reconcile_listing_name("123456789012:fn") == NULL);
	CHECK(reconcile_listing_name("") == NULL);
	CHECK(reconcile_listing_name(NULL) == NULL);
}

#define OWN                     "111111111111"
#define ROLEA                   "222222222222"
#define OTHER                   "444444444444"
#define ARN(acct, region, name) "arn:aws:lambda:" region ":" acct ":function:" name

static bool role_a(void *arg, const char *account)
{
	(void)arg;
	return !strcmp(account, ROLEA);
}

static bool skip_cached(void *arg, const struct manifest_function *fn)
{
	(void)arg;
	return !strcmp(fn->name, "cached");
}

TEST(groups_by_account_and_region)
{
	struct manifest_function f[] = {
	    {.name = "a"},
	    {.name = "b", .region = "us-east-1"}, /* the default region by name: the same group */
	    {.name = ARN(OWN, "us-east-1", "own")},
	    {.name = ARN(ROLEA, "us-east-1", "pay")},
	    {.name = ARN(ROLEA, "us-east-1", "bill")},
	    {.name = ARN(ROLEA, "eu-west-1", "far")},
	    {.name = ARN(OTHER, "us-east-1", "stranger")},
	    {.name = "c", .region = "eu-west-1"},
	    {.name = "cached"},
	    {.name = "arn:aws:lambda:us-east-1:12:function:bad"},
	};
	const size_t n = sizeof(f) / sizeof(f[0]);
	const struct manifest_function *fns[sizeof(f) / sizeof(f[0])];
	struct reconcile_group_of of[sizeof(f) / sizeof(f[0])];
	static struct reconcile_groups g;
	struct reconcile_groups_in in = {OWN, "us-east-1", role_a, skip_cached, NULL};

	for (size_t i = 0; i < n; i++)
		fns[i] = &f[i];
	memset(&g, 0, sizeof(g));
	reconcile_groups_plan(&g, fns, n, &in, of);
	REQUIRE(g.n == 4);
	/* ("", default): a, b, own (the own account by ARN), stranger (no role: not counted), cached */
	CHECK_STR(g.groups[0].info.account, "");
	CHECK_STR(g.groups[0].info.region, "");
	CHECK_U64(g.groups[0].info.functions, 5);
	CHECK_U64(g.groups[0].listable, 3);
	/* (ROLEA, us-east-1): pay and bill, a listing with its role */
	CHECK_STR(g.groups[1].info.account, ROLEA);
	CHECK_STR(g.groups[1].info.region, ""); /* the default region, as for the default credentials */
	CHECK_U64(g.groups[1].listable, 2);
	CHECK_STR(g.groups[2].info.account, ROLEA);
	CHECK_STR(g.groups[2].info.region, "eu-west-1");
	CHECK_U64(g.groups[2].listable, 1);
	CHECK_STR(g.groups[3].info.account, "");
	CHECK_STR(g.groups[3].info.region, "eu-west-1");
	CHECK_U64(g.groups[3].listable, 1);
	CHECK_INT(of[0].group, 0);
	CHECK_INT(of[1].group, 0);
	CHECK_INT(of[2].group, 0);
	CHECK_STR(of[2].listing_name, "own");
	CHECK_STR(of[2].account, OWN);
	CHECK_INT(of[3].group, 1);
	CHECK_STR(of[3].listing_name, "pay");
	CHECK_INT(of[5].group, 2);
	CHECK_INT(of[6].group, 0);
	CHECK(of[6].listing_name == NULL); /* another account without a role: per function */
	CHECK_INT(of[7].group, 3);
	CHECK_STR(of[8].listing_name, "cached"); /* not counted (the cache serves it), yet listable */
	CHECK_INT(of[9].group, -1);              /* malformed: reconcile_function says why */

	/* membership once listed: the own account's listing serves the own ARN, never another's */
	g.groups[0].info.fleet = true;
	snprintf(g.groups[0].own, sizeof(g.groups[0].own), "%s", OWN);
	CHECK(reconcile_group_member(&g.groups[0], &of[0], fns[0]));
	CHECK(reconcile_group_member(&g.groups[0], &of[2], fns[2]));
	CHECK(!reconcile_group_member(&g.groups[0], &of[6], fns[6]));
	CHECK(!reconcile_group_member(&g.groups[1], &of[3], fns[3])); /* not listed */
	g.groups[1].info.fleet = true;
	CHECK(reconcile_group_member(&g.groups[1], &of[3], fns[3]));
}

/* Without roles the own account is not asked: own ARNs join once the listing shows the account. */
TEST(groups_own_account_from_the_listing)
{
	struct manifest_function f[] = {{.name = "a"}, {.name = "b"}, {.name = ARN(OWN, "us-east-1", "own")}};
	const struct manifest_function *fns[] = {&f[0], &f[1], &f[2]};
	struct reconcile_group_of of[3];
	static struct reconcile_groups g;
	struct reconcile_groups_in in = {NULL, "us-east-1", NULL, NULL, NULL};

	memset(&g, 0, sizeof(g));
	reconcile_groups_plan(&g, fns, 3, &in, of);
	REQUIRE(g.n == 1);
	CHECK_U64(g.groups[0].info.functions, 3);
	CHECK_U64(g.groups[0].listable, 2); /* its account is not known yet: not counted */
	g.groups[0].info.fleet = true;
	CHECK(!reconcile_group_member(&g.groups[0], &of[2], fns[2])); /* the listing showed no account */
	/* the listing's FunctionArns say whose it is */
	{
		struct lambda_function_config items[] = {
		    {.function_name = "a", .function_arn = ARN(OWN, "us-east-1", "a")},
		    {.function_name = "a", .function_arn = ARN(OWN, "us-east-1", "a") ":1"},
		};
		struct lambda_config_list ls = {items, 2, 1};

		reconcile_listing_account(&ls, g.groups[0].own);
	}
	CHECK_STR(g.groups[0].own, OWN);
	CHECK(reconcile_group_member(&g.groups[0], &of[2], fns[2]));
	CHECK(reconcile_group_member(&g.groups[0], &of[0], fns[0]));
}

TEST(read_decision)
{
	unsigned budget = 99;
	char why[320];

	CHECK(!reconcile_read_decide(RECONCILE_READ_PER_FUNCTION, 10, &budget, why, sizeof(why)));
	CHECK_STR(why, "per-function listing asked for");
	CHECK(!reconcile_read_decide(RECONCILE_READ_AUTO, 1, &budget, why, sizeof(why)));
	CHECK(strstr(why, "1 function(s)") != NULL);
	CHECK(!reconcile_read_decide(RECONCILE_READ_FLEET, 0, &budget, why, sizeof(why)));
	CHECK(reconcile_read_decide(RECONCILE_READ_FLEET, 1, &budget, why, sizeof(why)));
	CHECK_U64(budget, 0); /* every page */
	CHECK(reconcile_read_decide(RECONCILE_READ_AUTO, 2, &budget, why, sizeof(why)));
	CHECK_U64(budget, 1);
	CHECK(reconcile_read_decide(RECONCILE_READ_AUTO, 41, &budget, why, sizeof(why)));
	CHECK_U64(budget, 20);
}

TEST_MAIN(listing_sort_and_find, observe_listed_absent_costs_nothing, listing_name,
          groups_by_account_and_region, groups_own_account_from_the_listing, read_decision)
