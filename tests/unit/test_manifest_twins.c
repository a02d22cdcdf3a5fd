/*
 * Unit tests for the duplicate check of manifest/load.c: one function
 * declared under two spellings (bare name, ARN, explicit or default region)
 * is refused in both places; two functions that only look alike are not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load.h"
#include "util/buf.h"
#include "tests/unit/harness.h"

#define ARN(region, account, name) "arn:aws:lambda:" region ":" account ":function:" name

/* A document naming `name` (with `region:` when region is not NULL). */
static char *doc(const char *name, const char *region)
{
	char *s = NULL;

	if (region)
		REQUIRE(
		    asprintf(
		        &s,
		        "apiVersion: aliasd/v1\nkind: Function\nname: %s\nregion: %s\naliases: {Prod: 1}\n",
		        name, region) > 0);
	else
		REQUIRE(asprintf(&s, "apiVersion: aliasd/v1\nkind: Function\nname: %s\naliases: {Prod: 1}\n",
		                 name) > 0);
	return s;
}

/* Load one file per declaration (f0.yaml, f1.yaml, ...). */
static struct manifest_set *load_decls(const char *const *names, const char *const *regions, size_t n,
                                       const struct manifest_load_options *opt)
{
	struct manifest_mem_file files[16];
	char *texts[16], paths[16][16];
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;

	REQUIRE(n <= 16);
	for (size_t i = 0; i < n; i++) {
		texts[i] = doc(names[i], regions ? regions[i] : NULL);
		snprintf(paths[i], sizeof(paths[i]), "f%zu.yaml", i);
		files[i] = (struct manifest_mem_file){paths[i], texts[i], strlen(texts[i]), false};
	}
	REQUIRE(manifest_source_mem_open(&src, files, n, &err) == 0);
	CHECKF(manifest_load_with(&set, src, "", opt, &err) == 0, "load: %s", err.msg);
	manifest_source_free(src);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	REQUIRE(set && set->n_functions == n);
	return set;
}

/* Two declarations: are they refused as one function (both, or neither)? */
static void pair(const char *a, const char *ra, const char *b, const char *rb,
                 const struct manifest_load_options *opt, bool twins)
{
	const char *names[] = {a, b}, *regions[] = {ra, rb};
	struct manifest_set *set = load_decls(names, regions, 2, opt);
	size_t want = twins ? 1 : 0;

	CHECKF(set->functions[0].n_errors == want && set->functions[1].n_errors == want,
	       "%s (%s) / %s (%s), default %s/%s: errors %zu and %zu, expected %zu each", a, ra ? ra : "-", b,
	       rb ? rb : "-", opt && opt->default_region ? opt->default_region : "-",
	       opt && opt->default_account ? opt->default_account : "-", set->functions[0].n_errors,
	       set->functions[1].n_errors, want);
	CHECK_INT(manifest_set_error_count(set), twins ? 2 : 0);
	manifest_set_free(set);
}

static const struct manifest_load_options none = {0};
static const struct manifest_load_options east = {.default_region = "us-east-1"};
static const struct manifest_load_options west = {.default_region = "eu-west-1"};
static const struct manifest_load_options acct1 = {.default_account = "123456789012"};
static const struct manifest_load_options acct2 = {.default_account = "999999999999"};
static const struct manifest_load_options both = {.default_region = "us-east-1",
                                                  .default_account = "123456789012"};

TEST(twins_plain_name_twice)
{
	pair("fn", NULL, "fn", NULL, NULL, true);
	pair("fn", NULL, "fn", NULL, &both, true);
	pair("fn", "us-east-1", "fn", "us-east-1", &none, true);
	pair("fn", NULL, "fn2", NULL, &none, false);
}

TEST(twins_name_and_arn)
{
	const char *arn = ARN("us-east-1", "123456789012", "fn");

	pair("fn", NULL, arn, NULL, NULL, true);   /* region and account unknown: may be the same */
	pair(arn, NULL, "fn", NULL, NULL, true);   /* either order */
	pair("fn", NULL, arn, NULL, &east, true);  /* default region is the ARN's */
	pair("fn", NULL, arn, NULL, &acct1, true); /* account is the ARN's */
	pair("fn", NULL, arn, NULL, &both, true);
	pair("fn", NULL, arn, NULL, &west, false);  /* the plain name lands in eu-west-1 */
	pair("fn", NULL, arn, NULL, &acct2, false); /* the ARN is another account's */
	pair("fn", "us-east-1", arn, NULL, NULL, true);
	pair("fn", "us-east-1", arn, NULL, &acct2, false);
	pair("fn", "eu-west-1", arn, NULL, NULL, false);
	pair("fn", NULL, ARN("us-east-1", "123456789012", "fn2"), NULL, NULL, false);
}

TEST(twins_default_region_and_explicit_region)
{
	pair("fn", NULL, "fn", "us-east-1", NULL, true); /* offline: may be the same */
	pair("fn", "us-east-1", "fn", NULL, NULL, true);
	pair("fn", NULL, "fn", "us-east-1", &east, true);
	pair("fn", NULL, "fn", "us-east-1", &west, false);
	pair("fn", "eu-west-1", "fn", "us-east-1", NULL, false);
}

TEST(twins_arn_and_arn)
{
	const char *e1 = ARN("us-east-1", "123456789012", "fn");

	pair(e1, NULL, e1, NULL, NULL, true);
	pair(e1, NULL, e1, "us-east-1", NULL, true); /* `region:` agreeing with the ARN */
	pair(e1, NULL, ARN("eu-west-1", "123456789012", "fn"), NULL, NULL, false);
	pair(e1, NULL, ARN("us-east-1", "999999999999", "fn"), NULL, NULL, false); /* cross-account */
	pair(e1, NULL, "arn:aws-us-gov:lambda:us-east-1:123456789012:function:fn", NULL, NULL, true);
}

TEST(twins_messages_name_both_places)
{
	const char *names[] = {"fn-twin", ARN("us-east-1", "123456789012", "fn-twin")};
	struct manifest_set *set = load_decls(names, NULL, 2, NULL);
	char line[1600];

	REQUIRE(set->errors.len == 2);
	CHECK_STR(
	    error_format(&set->errors.items[0], line, sizeof(line)),
	    "f0.yaml:3:7: name: function \"fn-twin\" is declared more than once (also at f1.yaml:3:7 as "
	    "\"arn:aws:lambda:us-east-1:123456789012:function:fn-twin\" in us-east-1; this one gives no "
	    "region and the default region may be us-east-1: give the region in both)");
	CHECK_STR(
	    error_format(&set->errors.items[1], line, sizeof(line)),
	    "f1.yaml:3:7: name: function \"arn:aws:lambda:us-east-1:123456789012:function:fn-twin\" is "
	    "declared more than once (also at f0.yaml:3:7 as \"fn-twin\"; that one gives no region and the "
	    "default region may be us-east-1: give the region in both)");
	manifest_set_free(set);
}

TEST(twins_not_transitive)
{
	/* the default-region declaration may be either of the others: all three are refused */
	const char *names[] = {"fn", "fn", "fn"}, *regions[] = {"eu-west-1", "us-east-1", NULL};
	struct manifest_set *set = load_decls(names, regions, 3, NULL);

	for (size_t i = 0; i < 3; i++)
		CHECK_INT(set->functions[i].n_errors, 1);
	manifest_set_free(set);
	set = load_decls(names, regions, 3, &east);
	CHECK_INT(set->functions[0].n_errors, 0);
	CHECK_INT(set->functions[1].n_errors, 1);
	CHECK_INT(set->functions[2].n_errors, 1);
	manifest_set_free(set);

	/* two accounts' ARNs and a plain name: the plain name may be either */
	const char *n2[] = {ARN("us-east-1", "111111111111", "fn"), ARN("us-east-1", "222222222222", "fn"),
	                    "fn"};
	struct manifest_load_options o = {.default_region = "us-east-1", .default_account = "111111111111"};
	set = load_decls(n2, NULL, 3, NULL);
	for (size_t i = 0; i < 3; i++)
		CHECK_INT(set->functions[i].n_errors, 1);
	manifest_set_free(set);
	set = load_decls(n2, NULL, 3, &o);
	CHECK_INT(set->functions[0].n_errors, 1);
	CHECK_INT(set->functions[1].n_errors, 0);
	CHECK_INT(set->functions[2].n_errors, 1);
	manifest_set_free(set);
}

TEST(twins_partial_and_qualified_names_rejected)
{
	static const char *const bad[] = {
	    "function:fn", "123456789012:function:fn",           "fn:Prod",
	    "fn:7",        "us-east-1:123456789012:function:fn",
	};
	static const char *const bad_arn[] = {
	    ARN("us-east-1", "123456789012", "fn") ":Prod",
	    ARN("us-east-1", "123456789012", "fn") ":7",
	    ARN("us-east-1", "123456789012", "fn") ":$LATEST",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *names[] = {bad[i]};
		struct manifest_set *set = load_decls(names, NULL, 1, NULL);

		CHECKF(set->functions[0].n_errors == 1, "%s accepted", bad[i]);
		REQUIRE(set->errors.len == 1);
		CHECKF(strstr(set->errors.items[0].msg, "is a partial ARN or a qualified name"), "%s: %s",
		       bad[i], set->errors.items[0].msg);
		manifest_set_free(set);
	}
	for (size_t i = 0; i < sizeof(bad_arn) / sizeof(bad_arn[0]); i++) {
		const char *names[] = {bad_arn[i]};
		struct manifest_set *set = load_decls(names, NULL, 1, NULL);

		CHECKF(set->functions[0].n_errors == 1, "%s accepted", bad_arn[i]);
		manifest_set_free(set);
	}
}

TEST(twins_account_in_model)
{
	const char *names[] = {ARN("eu-west-1", "123456789012", "a"), "b"};
	struct manifest_set *set = load_decls(names, NULL, 2, NULL);

	CHECK_STR(set->functions[0].account, "123456789012");
	CHECK_STR(set->functions[0].region, "eu-west-1");
	CHECK(set->functions[1].account == NULL);
	CHECK(set->functions[1].region == NULL);
	manifest_set_free(set);
}

TEST(twins_many_regions_stay_fast)
{
	/* 20,000 declarations of one name in distinct regions (8 files), then one without a region */
	enum { FILES = 8, PER_FILE = 2500, N = FILES * PER_FILE };
	struct manifest_mem_file files[FILES + 1];
	struct buf texts[FILES + 1];
	char paths[FILES + 1][24];
	struct manifest_load_options opt = {.default_region = "us-east-1"};
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;
	size_t errs = 0;

	for (int f = 0; f <= FILES; f++) {
		buf_init(&texts[f], 0);
		for (int i = 0; i < (f < FILES ? PER_FILE : 1); i++) {
			if (f < FILES)
				REQUIRE(buf_printf(&texts[f],
				                   "---\napiVersion: aliasd/v1\nkind: Function\nname: fn\n"
				                   "region: xx-r-%d\naliases: {Prod: 1}\n",
				                   f * PER_FILE + i) >= 0);
			else
				REQUIRE(buf_puts(&texts[f],
				                 "apiVersion: aliasd/v1\nkind: Function\nname: fn\n"
				                 "aliases: {Prod: 1}\n") >= 0);
		}
		snprintf(paths[f], sizeof(paths[f]), "f%d.yaml", f);
		files[f] =
		    (struct manifest_mem_file){paths[f], (const char *)texts[f].ptr, texts[f].len, false};
	}
	REQUIRE(manifest_source_mem_open(&src, files, FILES + 1, &err) == 0);
	REQUIRE(manifest_load_with(&set, src, "", NULL, &err) == 0);
	REQUIRE(set->n_functions == N + 1);
	for (size_t i = 0; i < set->n_functions; i++)
		errs += set->functions[i].n_errors;
	CHECK_INT(errs, N + 1); /* offline, the last may be any of them */
	manifest_set_free(set);
	REQUIRE(manifest_load_with(&set, src, "", &opt, &err) == 0);
	errs = 0;
	for (size_t i = 0; i < set->n_functions; i++)
		errs += set->functions[i].n_errors;
	CHECK_INT(errs, 0); /* us-east-1 is not among them */
	manifest_set_free(set);
	manifest_source_free(src);
	for (int f = 0; f <= FILES; f++)
		buf_release(&texts[f]);
}

TEST(twins_many_accounts_and_plain_names_stay_fast)
{
	/* 12,000 ARNs of one name and region in distinct accounts, 8,000 plain declarations of it */
	enum { FILES = 8, PER_FILE = 2500, ARNS = 12000 };
	struct manifest_mem_file files[FILES];
	struct buf texts[FILES];
	char paths[FILES][24];
	struct manifest_load_options opt = {.default_region = "eu-west-1"};
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;
	size_t errs = 0, arn_errs = 0;

	for (int f = 0; f < FILES; f++) {
		buf_init(&texts[f], 0);
		for (int i = 0; i < PER_FILE; i++) {
			int k = f * PER_FILE + i;

			if (k < ARNS)
				REQUIRE(buf_printf(&texts[f],
				                   "---\napiVersion: aliasd/v1\nkind: Function\n"
				                   "name: arn:aws:lambda:us-east-1:%012d:function:fn\n"
				                   "aliases: {Prod: 1}\n",
				                   k) >= 0);
			else
				REQUIRE(buf_puts(&texts[f],
				                 "---\napiVersion: aliasd/v1\nkind: Function\nname: fn\n"
				                 "aliases: {Prod: 1}\n") >= 0);
		}
		snprintf(paths[f], sizeof(paths[f]), "f%d.yaml", f);
		files[f] =
		    (struct manifest_mem_file){paths[f], (const char *)texts[f].ptr, texts[f].len, false};
	}
	REQUIRE(manifest_source_mem_open(&src, files, FILES, &err) == 0);
	/* the plain names land in eu-west-1: only they are twins (of each other) */
	REQUIRE(manifest_load_with(&set, src, "", &opt, &err) == 0);
	REQUIRE(set->n_functions == FILES * PER_FILE);
	for (size_t i = 0; i < set->n_functions; i++) {
		errs += set->functions[i].n_errors;
		if (set->functions[i].account)
			arn_errs += set->functions[i].n_errors;
	}
	CHECK_INT(arn_errs, 0);
	CHECK_INT(errs, FILES * PER_FILE - ARNS);
	manifest_set_free(set);
	manifest_source_free(src);
	for (int f = 0; f < FILES; f++)
		buf_release(&texts[f]);
}

TEST_MAIN(twins_plain_name_twice, twins_name_and_arn, twins_default_region_and_explicit_region,
          twins_arn_and_arn, twins_messages_name_both_places, twins_not_transitive,
          twins_partial_and_qualified_names_rejected, twins_account_in_model, twins_many_regions_stay_fast,
          twins_many_accounts_and_plain_names_stay_fast)
