/*
 * test_cmd_daemon_state.c - the durable state file (cmd/daemon/state.h):
 * what the core holds round-trips through the file; a missing file is
 * -ENOENT, and a corrupt one (truncated, garbage, wrong format, bad fields)
 * is -EBADMSG with a message, never a crash; writing replaces atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/daemon/state.h"
#include "manifest/load.h"
#include "tests/unit/harness.h"

#define REV1 "1111111111111111111111111111111111111111"

static const char zip_bytes[] = "PK\x05\x06 bytes";
static const char yaml_a[] =
    "apiVersion: aliasd/v1\nkind: Function\nname: alpha\nregion: eu-west-1\n"
    "config: {runtime: python3.12, handler: a.h, role: 'arn:aws:iam::123456789012:role/r'}\n"
    "releases:\n  v1:\n    code: {zipFile: z.zip}\naliases:\n  Prod: v1\n";

static struct core_gen *gen_new(const char *rev)
{
	struct manifest_mem_file files[] = {
	    {"z.zip", zip_bytes, sizeof(zip_bytes) - 1, false},
	    {"fns/a.yaml", yaml_a, sizeof(yaml_a) - 1, false},
	};
	struct error err = ERROR_INIT;
	struct core_gen *g = calloc(1, sizeof(*g));

	if (!g || manifest_source_mem_open(&g->src, files, 2, &err) < 0 ||
	    manifest_load(&g->set, g->src, NULL, &err) < 0) {
		free(g);
		return NULL;
	}
	snprintf(g->revision, sizeof(g->revision), "%s", rev);
	return g;
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char p[128];

	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/aliasd-state-XXXXXX");
		if (!mkdtemp(tmpdir))
			return NULL;
	}
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static void write_raw(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fwrite(text, 1, len, f);
	fclose(f);
}

TEST(state_round_trip)
{
	struct core c;
	struct core_options o = {1000, 5000, 0, 1000, 0};
	struct core_gen *g = gen_new(REV1);
	struct state s = {NULL, 0};
	struct error err = ERROR_INIT;
	const struct core_fn *st;
	char *text = NULL, path[128];

	REQUIRE(g && tmp_path(STATE_FILE_NAME));
	snprintf(path, sizeof(path), "%s", tmp_path(STATE_FILE_NAME));
	core_init(&c, &o);
	REQUIRE(core_load(&c, g, 0, NULL, NULL, NULL) == 0);
	st = core_fn_find(&c, "alpha", "eu-west-1");
	REQUIRE(st && st->fn); /* valid: it has a desired state to remember */
	REQUIRE(state_text_from_core(&text, &c) == 0);
	CHECK(strstr(text, "\"format\":\t\"aliasd-state/1\"") != NULL);
	CHECK_INT(state_write(path, text, &err), 0);
	CHECK(access(tmp_path(STATE_FILE_NAME ".tmp"), F_OK) != 0); /* renamed away */
	{
		struct stat sb;

		CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	}
	CHECK_INT(state_read(&s, path, &err), 0);
	REQUIRE(s.n == 1);
	CHECK_STR(s.items[0].name, "alpha");
	CHECK_STR(s.items[0].region, "eu-west-1");
	CHECK_STR(s.items[0].file, "fns/a.yaml");
	CHECK_STR(s.items[0].revision, REV1);
	CHECK(!memcmp(s.items[0].hash, st->hash, CORE_HASH_LEN));
	state_release(&s);
	CHECK(s.items == NULL && s.n == 0);
	/* a folder source (no commit) is not recorded */
	snprintf(c.gens->revision, sizeof(c.gens->revision), "%s", "");
	free(text);
	REQUIRE(state_text_from_core(&text, &c) == 0);
	CHECK_INT(state_parse(&s, text, strlen(text), &err), 0);
	CHECK_INT((int)s.n, 0);
	state_release(&s);
	free(text);
	core_release(&c);
}

TEST(state_missing_and_corrupt)
{
	static const char *const bad[] = {
	    "",
	    "garbage \x01\xff",
	    "{\"format\": \"aliasd-state/1\", \"functions\": [{\"name\": \"a\"", /* truncated */
	    "[1, 2]",                                                            /* not an object */
	    "{\"format\": \"aliasd-state/9\", \"functions\": []}",               /* unknown format */
	    "{\"format\": \"aliasd-state/1\"}",                                  /* no functions */
	    "{\"format\": \"aliasd-state/1\", \"functions\": [{\"name\": 7}]}",  /* wrong type */
	    "{\"format\": \"aliasd-state/1\", \"functions\": [{\"name\": \"a\", \"file\": \"f\", "
	    "\"revision\": \"xyz\", \"hash\": \"00\"}]}", /* bad revision */
	    "{\"format\": \"aliasd-state/1\", \"functions\": [{\"name\": \"a\", \"file\": \"f\", "
	    "\"revision\": \"" REV1 "\", \"hash\": \"zz\"}]}", /* bad hash */
	};
	struct state s = {NULL, 0};
	struct error err = ERROR_INIT;
	const char *path;

	path = tmp_path("missing.json");
	REQUIRE(path);
	CHECK_INT(state_read(&s, path, &err), -ENOENT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = tmp_path("bad.json");
		write_raw(path, bad[i], strlen(bad[i]));
		err = (struct error)ERROR_INIT;
		CHECKF(state_read(&s, path, &err) == -EBADMSG, "case %zu", i);
		CHECKF(err.msg[0] != '\0' && strstr(err.msg, "bad.json"), "case %zu: %s", i, err.msg);
		CHECKF(s.items == NULL && s.n == 0, "case %zu", i);
	}
	/* every prefix of a good file is refused cleanly */
	{
		const char good[] =
		    "{\"format\": \"aliasd-state/1\", \"functions\": [{\"name\": \"a\", "
		    "\"region\": null, \"file\": \"f\", \"revision\": \"" REV1 "\", \"hash\": "
		    "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}";
		size_t ok = 0;

		for (size_t n = 0; n < sizeof(good) - 1; n++) {
			if (state_parse(&s, good, n, &err) == 0) {
				ok++;
				state_release(&s);
			}
		}
		CHECK_INT((int)ok, 0);
		CHECK_INT(state_parse(&s, good, sizeof(good) - 1, &err), 0);
		CHECK_INT((int)s.n, 1);
		CHECK(s.items[0].region == NULL);
		state_release(&s);
	}
}

TEST(state_write_replaces)
{
	struct error err = ERROR_INIT;
	const char *path = tmp_path("w.json");
	char buf[64] = "";
	FILE *f;

	REQUIRE(path);
	CHECK_INT(state_write(path, "first", &err), 0);
	CHECK_INT(state_write(path, "second", &err), 0);
	f = fopen(path, "r");
	REQUIRE(f);
	CHECK(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	CHECK_STR(buf, "second");
	CHECK(state_write("/nonexistent-dir/x.json", "x", &err) < 0);
	CHECK(strstr(err.msg, "/nonexistent-dir/x.json") != NULL);
}

static void cleanup(void)
{
	char cmd[128];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
}

/* The daemon keeps a digest of the file's text, not the text: equal texts, equal digests. */
TEST(state_digest_tells_changes)
{
	unsigned char a[STATE_DIGEST_LEN], b[STATE_DIGEST_LEN], c[STATE_DIGEST_LEN];
	static const unsigned char empty_sha256[4] = {0xe3, 0xb0, 0xc4, 0x42};

	state_digest("{\"format\": \"aliasd-state/1\", \"functions\": []}", a);
	state_digest("{\"format\": \"aliasd-state/1\", \"functions\": []}", b);
	state_digest("{\"format\": \"aliasd-state/1\", \"functions\": [{}]}", c);
	CHECK(!memcmp(a, b, sizeof(a)));
	CHECK(memcmp(a, c, sizeof(a)) != 0);
	state_digest("", a);
	CHECK(!memcmp(a, empty_sha256, sizeof(empty_sha256))); /* SHA-256 indeed */
}

TEST(state_cleanup)
{
	cleanup();
	CHECK(access(tmpdir, F_OK) != 0);
}

TEST_MAIN(state_round_trip, state_missing_and_corrupt, state_write_replaces, state_digest_tells_changes,
          state_cleanup)
