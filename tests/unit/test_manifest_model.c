/*
 * Unit tests for manifest/load.c: YAML -> model, field by field, and the
 * per-function isolation of errors.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "manifest/load.h"
#include "tests/unit/harness.h"

static const char zip_bytes[] = "PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
/* base64(SHA-256(zip_bytes, 22 bytes)) */
#define ZIP_SHA "hznHbmgfkAkjuQDJ3w73XPQh05yrtUZQxLmtGbanbYU="

static const char design_yaml[] =
    "apiVersion: aliasd/v1\n"
    "kind: Function\n"
    "name: my-lambda-function\n"
    "region: us-east-1\n"
    "config:\n"
    "  runtime: python3.12\n"
    "  handler: app.handler\n"
    "  role: arn:aws:iam::123456789012:role/my-lambda-role\n"
    "  memorySize: 128\n"
    "  timeout: 3\n"
    "  environment: {LOG_LEVEL: info, A_B: \"2\"}\n"
    "releases:\n"
    "  v1:\n"
    "    code: {zipFile: artifacts/Version1.zip}\n"
    "    description: first release\n"
    "  v2:\n"
    "    code: {s3: {bucket: acme-artifacts, key: my-fn/2.zip, objectVersion: \"3HL4k\"}}\n"
    "    sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
    "    config: {memorySize: 256, environment: {ONLY: x}}\n"
    "  legacy:\n"
    "    version: 1\n"
    "  img:\n"
    "    code: {imageUri: "
    "\"r/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}\n"
    "aliases:\n"
    "  Prod: v1\n"
    "  Test: v2\n"
    "  Pinned: 3\n"
    "  Canary:\n"
    "    release: v1\n"
    "    weights: {v2: 0.1}\n"
    "    description: canary\n"
    "  Old: {version: 4, weights: {5: 0.5}}\n"
    "prune:\n"
    "  aliases: false\n"
    "  keepVersions: 10\n";

static struct manifest_set *load_mem(const struct manifest_mem_file *files, size_t n)
{
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;

	REQUIRE(manifest_source_mem_open(&src, files, n, &err) == 0);
	CHECKF(manifest_load(&set, src, "", &err) == 0, "load: %s", err.msg);
	manifest_source_free(src);
	REQUIRE(set);
	return set;
}

static void dump_errors(const struct manifest_set *set)
{
	char line[1600];

	for (size_t i = 0; i < set->errors.len; i++)
		fprintf(stderr, "  %s\n", error_format(&set->errors.items[i], line, sizeof(line)));
}

TEST(model_design_example)
{
	struct manifest_mem_file files[] = {
	    {"fns/fn.yaml", design_yaml, sizeof(design_yaml) - 1, false},
	    {"artifacts/Version1.zip", zip_bytes, sizeof(zip_bytes) - 1, false},
	};
	struct manifest_set *set = load_mem(files, 2);
	const struct manifest_function *f;
	const struct manifest_release *r;
	const struct manifest_alias *a;

	dump_errors(set);
	CHECK_INT(manifest_set_error_count(set), 0);
	REQUIRE(set->n_functions == 1);
	CHECK_INT(set->n_valid, 1);
	CHECK_INT(set->n_releases, 4);
	CHECK_INT(set->n_aliases, 5);
	CHECK_INT(set->n_files, 1);
	CHECK_STR(set->files[0].path, "fns/fn.yaml");
	CHECK(!set->files[0].broken);
	f = &set->functions[0];
	CHECK_STR(f->name, "my-lambda-function");
	CHECK_STR(f->region, "us-east-1");
	CHECK_STR(f->file, "fns/fn.yaml");
	CHECK_INT(f->line, 3);
	CHECK_INT(f->col, 7);
	CHECK_INT(f->n_errors, 0);
	CHECK_STR(f->config.runtime, "python3.12");
	CHECK_STR(f->config.handler, "app.handler");
	CHECK_STR(f->config.role, "arn:aws:iam::123456789012:role/my-lambda-role");
	CHECK_INT(f->config.memory_size, 128);
	CHECK_INT(f->config.timeout, 3);
	CHECK_INT(f->config.set, MANIFEST_CFG_RUNTIME | MANIFEST_CFG_HANDLER | MANIFEST_CFG_ROLE |
	                             MANIFEST_CFG_MEMORY | MANIFEST_CFG_TIMEOUT | MANIFEST_CFG_ENVIRONMENT);
	REQUIRE(f->config.n_env == 2);
	CHECK_STR(f->config.env[0].name, "A_B"); /* sorted */
	CHECK_STR(f->config.env[0].value, "2");
	CHECK_STR(f->config.env[1].name, "LOG_LEVEL");
	CHECK_STR(f->config.env[1].value, "info");

	REQUIRE(f->n_releases == 4);
	r = &f->releases[0];
	CHECK_STR(r->name, "v1");
	CHECK_INT(r->code.kind, MANIFEST_CODE_ZIP);
	CHECK_STR(r->code.zip_path, "artifacts/Version1.zip");
	CHECK_U64(r->code.zip_size, 22);
	CHECK_STR(r->code.sha256, ZIP_SHA);
	CHECK_STR(r->description, "first release");
	CHECK_INT(r->config.memory_size, 128);
	CHECK_STR(r->config.runtime, "python3.12");
	r = &f->releases[1];
	CHECK_STR(r->name, "v2");
	CHECK_INT(r->code.kind, MANIFEST_CODE_S3);
	CHECK_STR(r->code.s3_bucket, "acme-artifacts");
	CHECK_STR(r->code.s3_key, "my-fn/2.zip");
	CHECK_STR(r->code.s3_object_version, "3HL4k");
	CHECK_STR(r->code.sha256, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="); /* hex normalised */
	CHECK_INT(r->config.memory_size, 256);                                     /* override */
	CHECK_INT(r->config.timeout, 3);                                           /* inherited */
	REQUIRE(r->config.n_env == 1);                                             /* replaced */
	CHECK_STR(r->config.env[0].name, "ONLY");
	CHECK(r->description == NULL);
	r = &f->releases[2];
	CHECK_STR(r->name, "legacy");
	CHECK_INT(r->version, 1);
	CHECK_INT(r->code.kind, MANIFEST_CODE_NONE);
	r = &f->releases[3];
	CHECK_INT(r->code.kind, MANIFEST_CODE_IMAGE);
	CHECK_STR(r->code.sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

	REQUIRE(f->n_aliases == 5);
	a = &f->aliases[0];
	CHECK_STR(a->name, "Prod");
	CHECK_STR(a->primary.release, "v1");
	CHECK_INT(a->primary.release_index, 0);
	CHECK(!a->has_weight);
	a = &f->aliases[1];
	CHECK_STR(a->primary.release, "v2");
	CHECK_INT(a->primary.release_index, 1);
	a = &f->aliases[2];
	CHECK_STR(a->name, "Pinned");
	CHECK(a->primary.release == NULL);
	CHECK_INT(a->primary.version, 3);
	a = &f->aliases[3];
	CHECK_STR(a->name, "Canary");
	CHECK_STR(a->primary.release, "v1");
	CHECK(a->has_weight);
	CHECK_STR(a->weighted.release, "v2");
	CHECK(a->weight > 0.0999 && a->weight < 0.1001);
	CHECK_STR(a->description, "canary");
	a = &f->aliases[4];
	CHECK_INT(a->primary.version, 4);
	CHECK_INT(a->weighted.version, 5);
	CHECK(a->weight == 0.5);

	CHECK(!f->prune.aliases);
	CHECK_INT(f->prune.keep_versions, 10);
	CHECK(manifest_set_find(set, "my-lambda-function", "us-east-1") == f);
	CHECK(manifest_set_find(set, "my-lambda-function", NULL) == NULL);
	manifest_set_free(set);
}

TEST(model_per_function_isolation)
{
	static const char a[] =
	    "apiVersion: aliasd/v1\nkind: Function\nname: good\nreleases: {v1: {version: 1}}\n"
	    "---\n"
	    "apiVersion: aliasd/v1\nkind: Function\nname: bad\nreleases: {v1: {version: 0}}\n";
	static const char b[] = "apiVersion: aliasd/v1\nkind: Function\nname: early\naliases: {Prod: 1}\n"
	                        "---\n"
	                        "name: [unclosed\n";
	static const char c[] = "apiVersion: aliasd/v1\nkind: Function\naliases: {Prod: 1}\n";
	struct manifest_mem_file files[] = {
	    {"a.yaml", a, sizeof(a) - 1, false},
	    {"b.yaml", b, sizeof(b) - 1, false},
	    {"c.yml", c, sizeof(c) - 1, false},
	};
	struct manifest_set *set = load_mem(files, 3);
	const struct manifest_function *f;
	const char **names = NULL;
	size_t n = 0;

	CHECK_INT(set->n_functions, 3);
	CHECK_INT(set->n_valid, 2);
	f = manifest_set_find(set, "good", NULL);
	REQUIRE(f);
	CHECK_INT(f->n_errors, 0);
	f = manifest_set_find(set, "bad", NULL);
	REQUIRE(f);
	CHECK_INT(f->n_errors, 1);
	CHECK_INT(f->doc_index, 1);
	f = manifest_set_find(set, "early", NULL);
	REQUIRE(f);
	CHECK_INT(f->n_errors, 0);
	REQUIRE(set->n_files == 3);
	CHECK_STR(set->files[0].path, "a.yaml");
	CHECK(!set->files[0].broken);
	CHECK_INT(set->files[0].n_errors, 1);
	CHECK_STR(set->files[1].path, "b.yaml");
	CHECK(set->files[1].broken); /* syntax error in document 2 */
	CHECK_INT(set->files[1].n_documents, 1);
	CHECK_STR(set->files[2].path, "c.yml");
	CHECK(set->files[2].broken); /* a document without a name */
	CHECK_INT(manifest_set_error_count(set), 3);
	CHECK_INT(manifest_set_file_functions(set, "a.yaml", &names, &n), 0);
	REQUIRE(n == 2);
	CHECK_STR(names[0], "good");
	CHECK_STR(names[1], "bad");
	free(names);
	manifest_set_free(set);
}

TEST(model_duplicate_function_invalid_everywhere)
{
	static const char a[] = "apiVersion: aliasd/v1\nkind: Function\nname: f\naliases: {Prod: 1}\n";
	static const char b[] =
	    "apiVersion: aliasd/v1\nkind: Function\nname: f\naliases: {Prod: 2}\n---\n"
	    "apiVersion: aliasd/v1\nkind: Function\nname: f\nregion: eu-west-1\naliases: {Prod: 2}\n";
	struct manifest_mem_file files[] = {
	    {"a.yaml", a, sizeof(a) - 1, false},
	    {"b.yaml", b, sizeof(b) - 1, false},
	};
	/* the default region is known: eu-west-1 is another function (tests/unit/test_manifest_twins.c) */
	struct manifest_load_options opt = {.default_region = "us-east-1"};
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;
	char line[1600];

	REQUIRE(manifest_source_mem_open(&src, files, 2, &err) == 0);
	REQUIRE(manifest_load_with(&set, src, "", &opt, &err) == 0);
	manifest_source_free(src);
	REQUIRE(set->n_functions == 3);
	CHECK_INT(set->functions[0].n_errors, 1);
	CHECK_INT(set->functions[1].n_errors, 1);
	CHECK_INT(set->functions[2].n_errors, 0); /* other region: another function */
	REQUIRE(set->errors.len == 2);
	CHECK_STR(error_format(&set->errors.items[0], line, sizeof(line)),
	          "a.yaml:3:7: name: function \"f\" is declared more than once (also at b.yaml:3:7)");
	manifest_set_free(set);
}

TEST(model_zip_rules_via_source)
{
	static const char y[] = "apiVersion: aliasd/v1\nkind: Function\nname: f\nreleases:\n"
	                        "  a: {code: {zipFile: link.zip}}\n"
	                        "  b: {code: {zipFile: ./z/../x.zip}}\n"
	                        "  c: {code: {zipFile: z/ok.zip}, sha256: " ZIP_SHA "}\n"
	                        "  d: {code: {zipFile: z//ok.zip}}\n";
	struct manifest_mem_file files[] = {
	    {"f.yaml", y, sizeof(y) - 1, false},
	    {"link.zip", "", 0, true},
	    {"z/ok.zip", zip_bytes, sizeof(zip_bytes) - 1, false},
	};
	struct manifest_set *set = load_mem(files, 3);

	REQUIRE(set->n_functions == 1);
	CHECK_INT(set->functions[0].n_errors, 2);
	REQUIRE(set->errors.len == 2);
	CHECK(strstr(set->errors.items[0].msg, "symbolic link") != NULL);
	CHECK(strstr(set->errors.items[1].msg, "\"..\"") != NULL);
	CHECK_STR(set->functions[0].releases[2].code.sha256, ZIP_SHA);
	CHECK_STR(set->functions[0].releases[3].code.zip_path, "z/ok.zip");
	manifest_set_free(set);
}

TEST(model_read_zip_checks_hash)
{
	struct manifest_mem_file files[] = {
	    {"z.zip", zip_bytes, sizeof(zip_bytes) - 1, false},
	};
	struct manifest_source *src = NULL;
	struct manifest_code code = {0};
	struct error err = ERROR_INIT;
	struct buf out = BUF_INIT;
	char path[] = "z.zip";

	REQUIRE(manifest_source_mem_open(&src, files, 1, &err) == 0);
	code.kind = MANIFEST_CODE_ZIP;
	code.zip_path = path;
	strcpy(code.sha256, ZIP_SHA);
	CHECK_INT(manifest_code_read_zip(src, &code, &out, &err), 0);
	CHECK_INT(out.len, 22);
	buf_reset(&out);
	code.sha256[0] = 'X';
	CHECK_INT(manifest_code_read_zip(src, &code, &out, &err), -EBADMSG);
	CHECK_INT(out.len, 0);
	code.kind = MANIFEST_CODE_S3;
	CHECK_INT(manifest_code_read_zip(src, &code, &out, &err), -EINVAL);
	buf_release(&out);
	manifest_source_free(src);
}

TEST(model_subdir_and_hidden)
{
	static const char y[] = "apiVersion: aliasd/v1\nkind: Function\nname: f\naliases: {Prod: 1}\n";
	static const char junk[] = "on: push\n";
	struct manifest_mem_file files[] = {
	    {".github/workflows/ci.yml", junk, sizeof(junk) - 1, false},
	    {"m/f.yaml", y, sizeof(y) - 1, false},
	    {"other/junk.yaml", junk, sizeof(junk) - 1, false},
	};
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;

	REQUIRE(manifest_source_mem_open(&src, files, 3, &err) == 0);
	CHECK_INT(manifest_load(&set, src, "./m/", &err), 0);
	REQUIRE(set);
	CHECK_INT(set->n_functions, 1);
	CHECK_INT(manifest_set_error_count(set), 0);
	manifest_set_free(set);
	set = NULL;
	CHECK_INT(manifest_load(&set, src, "", &err), 0);
	REQUIRE(set);
	CHECK_INT(set->n_files, 2);                  /* .github skipped */
	CHECK_INT(manifest_set_error_count(set), 4); /* other/junk.yaml: on, apiVersion, kind, name */
	manifest_set_free(set);
	set = NULL;
	CHECK_INT(manifest_load(&set, src, "nope", &err), -ENOENT);
	CHECK(set == NULL);
	CHECK_INT(manifest_load(&set, src, "../x", &err), -EINVAL);
	manifest_source_free(src);
}

TEST(model_good_corpus_loads)
{
	static const char *const dirs[] = {
	    "tests/manifests/good/design-example", "tests/manifests/good/arn-and-image",
	    "tests/manifests/good/anchors", "tests/manifests/good/nested-and-hidden"};
	static const size_t expect_functions[] = {1, 2, 2, 1};

	if (access("tests/manifests/good", F_OK) != 0) {
		fprintf(stderr, "model_good_corpus_loads: run from the repository root\n");
		CHECK(0);
		return;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct manifest_source *src = NULL;
		struct manifest_set *set = NULL;
		struct error err = ERROR_INIT;

		REQUIRE(manifest_source_dir_open(&src, dirs[i], &err) == 0);
		CHECKF(manifest_load(&set, src, NULL, &err) == 0, "%s: %s", dirs[i], err.msg);
		if (set) {
			dump_errors(set);
			CHECKF(manifest_set_error_count(set) == 0, "%s has errors", dirs[i]);
			CHECKF(set->n_functions == expect_functions[i], "%s: %zu functions", dirs[i],
			       set->n_functions);
			CHECKF(set->n_valid == set->n_functions, "%s", dirs[i]);
		}
		if (i == 1 && set && set->n_functions == 2) {
			const struct manifest_function *f = &set->functions[0];
			CHECK_STR(f->name, "arn:aws:lambda:eu-west-1:123456789012:function:image-fn");
			CHECK_STR(f->region, "eu-west-1"); /* from the ARN */
			CHECK_INT(f->config.ephemeral_storage, 10240);
			CHECK_STR(f->releases[0].name, "2024.05.01");
			CHECK_INT(f->releases[1].config.memory_size, 4096);
			CHECK(f->prune.aliases);
			CHECK_INT(f->prune.keep_versions, 0);
			CHECK_STR(set->functions[1].releases[0].code.sha256,
			          "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
		}
		if (i == 2 && set && set->n_functions == 2) {
			const struct manifest_function *f = &set->functions[1];
			REQUIRE(f->n_releases == 3);
			CHECK_STR(f->releases[2].code.s3_bucket, "bucket-a"); /* through an alias */
			CHECK_INT(f->releases[2].config.memory_size, 1024);
			CHECK_INT(set->functions[0].prune.keep_versions, -1);
			CHECK_STR(set->functions[0].config.env[1].value, "8080");
		}
		manifest_set_free(set);
		manifest_source_free(src);
	}
}

/* A source wrapping the memory source: "sub/x.zip" is a submodule path and
 * "eio.yaml" fails to read, to reach the branches a folder cannot produce. */
static struct manifest_source *wrapped;

static int wrap_list(struct manifest_source *src, const char *dir, char ***ret_paths, size_t *ret_n,
                     struct error *err)
{
	(void)src;
	return wrapped->ops->list(wrapped, dir, ret_paths, ret_n, err);
}

static int wrap_stat(struct manifest_source *src, const char *path, enum source_type *ret_type,
                     uint64_t *ret_size, struct error *err)
{
	(void)src;
	if (!strcmp(path, "sub/x.zip") || !strcmp(path, "sub")) {
		*ret_type = SOURCE_SUBMODULE;
		*ret_size = 0;
		return 0;
	}
	return wrapped->ops->stat(wrapped, path, ret_type, ret_size, err);
}

static int wrap_read(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                     struct error *err)
{
	(void)src;
	if (!strcmp(path, "eio.yaml"))
		return error_set(err, -EIO, "%s: input/output error", path);
	return wrapped->ops->read(wrapped, path, max, out, err);
}

static void wrap_free(struct manifest_source *src)
{
	(void)src;
}

TEST(model_source_failures)
{
	static const char y[] = "apiVersion: aliasd/v1\nkind: Function\nname: f\nreleases:\n"
	                        "  a: {code: {zipFile: sub/x.zip}}\n";
	static const char e[] = "apiVersion: aliasd/v1\nkind: Function\nname: g\naliases: {Prod: 1}\n";
	struct manifest_mem_file files[] = {
	    {"f.yaml", y, sizeof(y) - 1, false},
	    {"eio.yaml", e, sizeof(e) - 1, false},
	};
	static const struct manifest_source_ops ops = {wrap_list, wrap_stat, wrap_read,
	                                               wrap_free, NULL,      NULL};
	struct manifest_source src = {&ops, "", NULL, NULL};
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;
	char line[1600];

	REQUIRE(manifest_source_mem_open(&wrapped, files, 2, &err) == 0);
	CHECK_INT(manifest_load(&set, &src, NULL, &err), 0);
	REQUIRE(set);
	REQUIRE(set->errors.len == 2);
	CHECK_STR(error_format(&set->errors.items[0], line, sizeof(line)),
	          "eio.yaml: cannot read: eio.yaml: input/output error");
	CHECK_STR(error_format(&set->errors.items[1], line, sizeof(line)),
	          "f.yaml:5:23: releases.a.code.zipFile: sub/x.zip is a Git submodule (submodules are never "
	          "followed)");
	REQUIRE(set->n_files == 2);
	CHECK_STR(set->files[0].path, "eio.yaml");
	CHECK(set->files[0].broken);
	CHECK(!set->files[1].broken);
	CHECK_INT(set->n_functions, 1);
	CHECK_INT(set->n_valid, 0);
	manifest_set_free(set);
	manifest_source_free(wrapped);
}

TEST_MAIN(model_design_example, model_per_function_isolation, model_duplicate_function_invalid_everywhere,
          model_zip_rules_via_source, model_read_zip_checks_hash, model_subdir_and_hidden,
          model_good_corpus_loads, model_source_failures)
