/*
 * test_reconcile_fleet.c - a region's ListFunctions(FunctionVersion=ALL)
 * listing: sorted, each function's entries found (and only its own), and a
 * function the listing does not have observed without a single call.
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

TEST_MAIN(listing_sort_and_find, observe_listed_absent_costs_nothing)
