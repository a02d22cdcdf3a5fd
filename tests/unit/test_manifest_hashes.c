/*
 * test_manifest_hashes.c - zip hashes cached by Git blob id across loads
 * (manifest_load_options.zip_cache): a second load of the same blobs reads no
 * zip at all and gives the same hashes; a changed zip (another blob id) is
 * read and hashed; a source without blob ids (a folder) always reads.
 *
 * The source is the in-memory one with a blob id op added: the id of a file
 * is the SHA-256 of its bytes cut to 40 hex digits (what matters is that it
 * names the contents), and every read of a zip is counted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "manifest/history.h"
#include "manifest/load.h"
#include "tests/unit/harness.h"

static const struct manifest_source_ops *mem_ops;
static struct manifest_source_ops counting_ops;
static int zip_reads;

static int counting_read(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                         struct error *err)
{
	size_t n = strlen(path);

	if (n > 4 && !strcmp(path + n - 4, ".zip"))
		zip_reads++;
	return mem_ops->read(src, path, max, out, err);
}

static int fake_blob_id(struct manifest_source *src, const char *path, char ret[41], struct error *err)
{
	struct buf b = BUF_INIT;
	char sha[MANIFEST_SHA256_B64_SIZE];
	int r = mem_ops->read(src, path, 1 << 20, &b, err);

	if (r < 0) {
		buf_release(&b);
		return r;
	}
	manifest_sha256_base64(b.ptr, b.len, sha);
	buf_release(&b);
	for (int i = 0; i < 40; i++)
		ret[i] = "0123456789abcdef"[(unsigned char)sha[i % 43] % 16];
	ret[40] = '\0';
	return 0;
}

static const char manifest_text[] = "apiVersion: aliasd/v1\n"
                                    "kind: Function\n"
                                    "name: %s\n"
                                    "config: {runtime: python3.12, handler: app.handler, role: "
                                    "\"arn:aws:iam::123456789012:role/r\"}\n"
                                    "releases:\n"
                                    "  v1: {code: {zipFile: z/%s.zip}}\n"
                                    "aliases: {Prod: v1}\n";

/* A snapshot of 3 functions a, b, c; b's zip holds `b_zip`. */
static struct manifest_source *snapshot(const char *b_zip, bool with_ids)
{
	static char yaml[3][512];
	static const char *const names[] = {"a", "b", "c"};
	struct manifest_mem_file files[6];
	struct manifest_source *src = NULL;
	struct error err = ERROR_INIT;

	for (int i = 0; i < 3; i++) {
		static char paths[3][16], zips[3][16];

		snprintf(yaml[i], sizeof(yaml[i]), manifest_text, names[i], names[i]);
		snprintf(paths[i], sizeof(paths[i]), "%s.yaml", names[i]);
		snprintf(zips[i], sizeof(zips[i]), "z/%s.zip", names[i]);
		files[2 * i] = (struct manifest_mem_file){paths[i], yaml[i], strlen(yaml[i]), false};
		files[2 * i + 1] = (struct manifest_mem_file){zips[i], i == 1 ? b_zip : names[i],
		                                              strlen(i == 1 ? b_zip : names[i]), false};
	}
	if (manifest_source_mem_open(&src, files, 6, &err) < 0)
		return NULL;
	mem_ops = src->ops;
	counting_ops = *src->ops;
	counting_ops.read = counting_read;
	counting_ops.blob_id = with_ids ? fake_blob_id : NULL;
	src->ops = &counting_ops;
	return src;
}

static const char *sha_of(const struct manifest_set *set, const char *name)
{
	const struct manifest_function *fn = manifest_set_find(set, name, NULL);

	return fn && fn->n_releases ? fn->releases[0].code.sha256 : "";
}

TEST(second_load_reads_only_changed_zips)
{
	struct manifest_zip_cache *hc;
	struct manifest_load_options lo = {0};
	struct manifest_set *s1 = NULL, *s2 = NULL, *s3 = NULL;
	struct manifest_source *src;
	struct error err = ERROR_INIT;
	char want[MANIFEST_SHA256_B64_SIZE];
	uint64_t hits, misses;

	REQUIRE(manifest_zip_cache_new(&hc, 0) == 0);
	lo.zip_cache = hc;
	REQUIRE((src = snapshot("b-one", true)) != NULL);
	zip_reads = 0;
	REQUIRE(manifest_load_with(&s1, src, NULL, &lo, &err) == 0);
	CHECK_INT(s1->n_valid, 3);
	CHECK_INT(zip_reads, 3); /* first load: every zip read once */
	manifest_sha256_base64("b-one", 5, want);
	CHECK_STR(sha_of(s1, "b"), want);
	manifest_source_free(src);

	/* the same blobs again (another commit that changed no zip): nothing read */
	REQUIRE((src = snapshot("b-one", true)) != NULL);
	zip_reads = 0;
	REQUIRE(manifest_load_with(&s2, src, NULL, &lo, &err) == 0);
	CHECK_INT(zip_reads, 0);
	for (int i = 0; i < 3; i++) {
		const char *name = (const char *[]){"a", "b", "c"}[i];

		CHECK_STR(sha_of(s2, name), sha_of(s1, name));
		CHECK_U64(manifest_set_find(s2, name, NULL)->releases[0].code.zip_size,
		          manifest_set_find(s1, name, NULL)->releases[0].code.zip_size);
	}
	manifest_source_free(src);

	/* b's zip changed: only it is read, and its new hash is right */
	REQUIRE((src = snapshot("b-two!", true)) != NULL);
	zip_reads = 0;
	REQUIRE(manifest_load_with(&s3, src, NULL, &lo, &err) == 0);
	CHECK_INT(zip_reads, 1);
	manifest_sha256_base64("b-two!", 6, want);
	CHECK_STR(sha_of(s3, "b"), want);
	CHECK_U64(manifest_set_find(s3, "b", NULL)->releases[0].code.zip_size, 6);
	CHECK_STR(sha_of(s3, "a"), sha_of(s1, "a"));
	manifest_source_free(src);
	hits = manifest_zip_cache_hits(hc);
	misses = manifest_zip_cache_puts(hc);
	CHECK_U64(hits, 3 + 2);
	CHECK_U64(misses, 3 + 1);
	manifest_set_free(s1);
	manifest_set_free(s2);
	manifest_set_free(s3);
	manifest_zip_cache_free(hc);
}

TEST(no_blob_ids_no_cache)
{
	struct manifest_zip_cache *hc;
	struct manifest_load_options lo = {0};
	struct manifest_set *s = NULL;
	struct manifest_source *src;
	struct error err = ERROR_INIT;

	REQUIRE(manifest_zip_cache_new(&hc, 0) == 0);
	lo.zip_cache = hc;
	for (int round = 0; round < 2; round++) {
		REQUIRE((src = snapshot("b-one", false)) != NULL);
		zip_reads = 0;
		REQUIRE(manifest_load_with(&s, src, NULL, &lo, &err) == 0);
		CHECK_INT(zip_reads, 3); /* a folder: contents have no id, always read */
		manifest_set_free(s);
		manifest_source_free(src);
	}
	/* and without a cache, ids or not, every zip is read */
	REQUIRE((src = snapshot("b-one", true)) != NULL);
	zip_reads = 0;
	REQUIRE(manifest_load(&s, src, NULL, &err) == 0);
	CHECK_INT(zip_reads, 3);
	manifest_set_free(s);
	manifest_source_free(src);
	manifest_zip_cache_free(hc);
}

/* zip_no_hash (aliasd validate): zips read but not hashed, except for a release's `sha256:` check */
TEST(no_hash_checks_the_same)
{
	struct manifest_load_options lo = {.zip_no_hash = true};
	struct manifest_zip_cache *hc;
	struct manifest_set *s = NULL;
	struct manifest_source *src = NULL;
	struct error err = ERROR_INIT;
	char b_sha[MANIFEST_SHA256_B64_SIZE], yaml[512];
	const char *const names[] = {"a", "b", "c"};

	REQUIRE(manifest_zip_cache_new(&hc, 0) == 0);
	lo.zip_cache = hc; /* not used: it would hold no hash */
	REQUIRE((src = snapshot("b-one", true)) != NULL);
	zip_reads = 0;
	REQUIRE(manifest_load_with(&s, src, NULL, &lo, &err) == 0);
	CHECK_INT(s->n_valid, 3);
	CHECK_INT(zip_reads, 3); /* read: readable, size */
	for (int i = 0; i < 3; i++)
		CHECK_STR(sha_of(s, names[i]), "");
	CHECK_U64(manifest_set_find(s, "b", NULL)->releases[0].code.zip_size, 5);
	CHECK_U64(manifest_zip_cache_puts(hc), 0);
	manifest_set_free(s);
	manifest_source_free(src);

	/* a release's sha256: is still compared with the zip's */
	manifest_sha256_base64("zip!", 4, b_sha);
	for (int round = 0; round < 2; round++) {
		struct manifest_mem_file files[2];

		snprintf(yaml, sizeof(yaml),
		         "apiVersion: aliasd/v1\nkind: Function\nname: f\n"
		         "releases:\n  v1: {code: {zipFile: z.zip}, sha256: \"%s\"}\n"
		         "  v2: {code: {zipFile: z.zip}}\naliases: {Prod: v1}\n",
		         round ? b_sha : "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
		files[0] = (struct manifest_mem_file){"f.yaml", yaml, strlen(yaml), false};
		files[1] = (struct manifest_mem_file){"z.zip", "zip!", 4, false};
		REQUIRE(manifest_source_mem_open(&src, files, 2, &err) == 0);
		REQUIRE(manifest_load_with(&s, src, NULL, &lo, &err) == 0);
		if (round == 0) {
			REQUIRE(s->errors.len == 1);
			CHECK(strstr(s->errors.items[0].msg, "does not match z.zip (its SHA-256 is ") !=
			      NULL);
			CHECK(strstr(s->errors.items[0].msg, b_sha) != NULL);
		} else {
			CHECK_INT(s->errors.len, 0);
			CHECK_STR(s->functions[0].releases[0].code.sha256, b_sha);
		}
		manifest_set_free(s);
		manifest_source_free(src);
	}
	manifest_zip_cache_free(hc);
}

TEST_MAIN(second_load_reads_only_changed_zips, no_blob_ids_no_cache, no_hash_checks_the_same)
