/*
 * test_reconcile_desired.c - the two conversions around the planner agree.
 *
 * A manifest (loaded by manifest_load from an in-memory source) becomes a
 * plan_desired; a Lambda answer (parsed by aws/lambda's parser) becomes a
 * plan_version.  When Lambda holds exactly what the manifest declares, the
 * release must resolve to that version (else every run would republish):
 * numbers, environment (any key order), absent-vs-empty fields, and a
 * version Description that is aliasd's trace, not the function description.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda.h"
#include "aws/lambda_wire.h"
#include "manifest/load.h"
#include "reconcile/internal.h"
#include "reconcile/reconcile.h"
#include "tests/unit/harness.h"

static const char zip_bytes[] = "PK\x05\x06not really a zip but bytes are bytes";

static const char manifest_yaml[] = "apiVersion: aliasd/v1\n"
                                    "kind: Function\n"
                                    "name: orders\n"
                                    "region: eu-west-1\n"
                                    "config:\n"
                                    "  runtime: python3.12\n"
                                    "  handler: app.handler\n"
                                    "  role: arn:aws:iam::123456789012:role/r\n"
                                    "  memorySize: 256\n"
                                    "  timeout: 30\n"
                                    "  description: the orders service\n"
                                    "  environment: {ZED: last, ALPHA: first}\n"
                                    "releases:\n"
                                    "  v1:\n"
                                    "    code: {zipFile: a/one.zip}\n"
                                    "    description: first\n"
                                    "  v2:\n"
                                    "    code: {zipFile: a/one.zip}\n"
                                    "    config: {memorySize: 512}\n"
                                    "  legacy:\n"
                                    "    version: 3\n"
                                    "aliases:\n"
                                    "  Prod: v1\n"
                                    "  Pinned: 7\n"
                                    "  Canary:\n"
                                    "    release: v1\n"
                                    "    weights: {v2: 0.25}\n"
                                    "    description: canary\n"
                                    "prune:\n"
                                    "  aliases: true\n"
                                    "  keepVersions: 4\n";

static int load(struct manifest_set **set, struct manifest_source **src)
{
	struct manifest_mem_file files[] = {
	    {"fn.yaml", manifest_yaml, sizeof(manifest_yaml) - 1, false},
	    {"a/one.zip", zip_bytes, sizeof(zip_bytes) - 1, false},
	};
	struct error err = ERROR_INIT;
	int r = manifest_source_mem_open(src, files, 2, &err);

	if (r < 0)
		return r;
	r = manifest_load(set, *src, NULL, &err);
	if (r < 0)
		fprintf(stderr, "load: %s\n", err.msg);
	return r;
}

TEST(desired_from_manifest)
{
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct plan_desired d = {0};
	struct error err = ERROR_INIT;
	char sha[45];

	REQUIRE(load(&set, &src) == 0);
	REQUIRE(set->n_functions == 1);
	for (size_t i = 0; i < set->errors.len; i++)
		fprintf(stderr, "manifest error: %s\n", set->errors.items[i].msg);
	REQUIRE(set->functions[0].n_errors == 0);
	CHECK_INT(reconcile_desired_from_manifest(&d, &set->functions[0],
	                                          "0123456789abcdef0123456789abcdef01234567", &err),
	          0);
	CHECK_STR(d.function, "orders");
	CHECK_STR(d.commit, "0123456789abcdef0123456789abcdef01234567");
	REQUIRE(d.n_releases == 3);
	manifest_sha256_base64(zip_bytes, sizeof(zip_bytes) - 1, sha);
	CHECK_STR(d.releases[0].code.sha256, sha);
	CHECK_INT(d.releases[0].code.kind, PLAN_CODE_ZIP);
	CHECK_STR(d.releases[0].code.zip_path, "a/one.zip");
	CHECK_STR(d.releases[0].config.val[PLAN_CFG_MEMORY_SIZE], "256");
	CHECK_STR(d.releases[1].config.val[PLAN_CFG_MEMORY_SIZE], "512");
	CHECK_STR(d.releases[0].config.val[PLAN_CFG_TIMEOUT], "30");
	CHECK_STR(d.releases[0].config.val[PLAN_CFG_ENVIRONMENT], "{\"ALPHA\":\"first\",\"ZED\":\"last\"}");
	CHECK_STR(d.releases[0].config.val[PLAN_CFG_DESCRIPTION], "the orders service");
	CHECK(!(d.releases[0].config.mask & (1u << PLAN_CFG_EPHEMERAL_STORAGE)));
	CHECK_STR(d.releases[0].description, "first");
	CHECK_INT(d.releases[2].pin, 3);
	CHECK_INT(d.releases[2].code.kind, PLAN_CODE_NONE);
	REQUIRE(d.n_aliases == 3);
	CHECK_STR(d.aliases[0].name, "Prod");
	CHECK_INT(d.aliases[0].primary.release, 0);
	CHECK_INT(d.aliases[1].primary.release, -1);
	CHECK_INT(d.aliases[1].primary.version, 7);
	CHECK(d.aliases[2].weighted);
	CHECK_INT(d.aliases[2].extra.release, 1);
	CHECK(d.aliases[2].weight > 0.2499 && d.aliases[2].weight < 0.2501);
	CHECK_STR(d.aliases[2].description, "canary");
	CHECK(d.prune_aliases);
	CHECK_INT(d.keep_versions, 4);
	plan_desired_release(&d);
	manifest_set_free(set);
	manifest_source_free(src);
}

/* A version as Lambda would list it, after aliasd published release v1. */
static const char version_json_fmt[] =
    "{\"FunctionName\":\"orders\",\"Version\":\"%s\",\"Runtime\":\"python3.12\","
    "\"Role\":\"arn:aws:iam::123456789012:role/r\",\"Handler\":\"app.handler\","
    "\"CodeSha256\":\"%s\",\"CodeSize\":10,\"Description\":\"%s\",\"Timeout\":30,"
    "\"MemorySize\":%d,\"Environment\":{\"Variables\":{\"ZED\":\"last\",\"ALPHA\":\"first\"}},"
    "\"EphemeralStorage\":{\"Size\":512},\"RevisionId\":\"r-1\",\"TracingConfig\":{\"Mode\":\"PassThrough\"}"
    "}";

static int version_of(struct plan_version *v, const char *number, const char *sha, const char *desc,
                      int memory)
{
	struct lambda_function_config lc = {0};
	struct error err = ERROR_INIT;
	char json[2048];
	int r;

	snprintf(json, sizeof(json), version_json_fmt, number, sha, desc, memory);
	r = lambda_function_config_parse("test", json, strlen(json), &lc, &err);
	if (r < 0) {
		fprintf(stderr, "parse: %s\n", err.msg);
		return r;
	}
	r = reconcile_version_from_lambda(v, &lc);
	lambda_function_config_release(&lc);
	return r;
}

TEST(lambda_version_resolves_the_release)
{
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct plan_desired d = {0};
	struct plan_version v1 = {0}, v2 = {0}, other = {0};
	char sha[45];

	REQUIRE(load(&set, &src) == 0);
	REQUIRE(set->functions[0].n_errors == 0);
	REQUIRE(reconcile_desired_from_manifest(&d, &set->functions[0], NULL, NULL) == 0);
	CHECK(d.commit == NULL);
	manifest_sha256_base64(zip_bytes, sizeof(zip_bytes) - 1, sha);
	/* the version's Description is aliasd's trace: never compared */
	REQUIRE(version_of(&v1, "1", sha, "v1: first", 256) == 0);
	REQUIRE(version_of(&v2, "2", sha, "v2", 512) == 0);
	REQUIRE(version_of(&other, "3", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "v1: first", 256) ==
	        0);
	CHECK_INT(v1.number, 1);
	CHECK_STR(v1.config.val[PLAN_CFG_ENVIRONMENT], "{\"ALPHA\":\"first\",\"ZED\":\"last\"}");
	CHECK_STR(v1.config.val[PLAN_CFG_EPHEMERAL_STORAGE], "512");
	CHECK(plan_version_matches(&v1, &d.releases[0]));
	CHECK(!plan_version_matches(&v1, &d.releases[1])); /* memory 256 != 512 */
	CHECK(plan_version_matches(&v2, &d.releases[1]));
	CHECK(!plan_version_matches(&other, &d.releases[0])); /* other code */
	/* $LATEST check before a publish includes the function description */
	CHECK_INT(plan_config_diff(&v1.config, &d.releases[0].config), 1u << PLAN_CFG_DESCRIPTION);
	plan_version_release(&v1);
	plan_version_release(&v2);
	plan_version_release(&other);
	plan_desired_release(&d);
	manifest_set_free(set);
	manifest_source_free(src);
}

TEST(invalid_function_is_refused)
{
	struct manifest_function fn = {0};
	struct plan_desired d = {0};
	struct error err = ERROR_INIT;

	fn.name = (char *)"broken";
	fn.n_errors = 2;
	CHECK_INT(reconcile_desired_from_manifest(&d, &fn, NULL, &err), -EINVAL);
	CHECK(strstr(err.msg, "broken") != NULL);
}

TEST_MAIN(desired_from_manifest, lambda_version_resolves_the_release, invalid_function_is_refused)
