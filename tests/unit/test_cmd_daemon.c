#include <string.h>

#include "cmd/daemon/core.h"
#include "tests/unit/harness.h"

TEST(daemon_backoff)
{
	CHECK_U64(daemon_backoff_ms(0, 1000, 300000), 0);
	CHECK_U64(daemon_backoff_ms(1, 1000, 300000), 1000);
	CHECK_U64(daemon_backoff_ms(2, 1000, 300000), 2000);
	CHECK_U64(daemon_backoff_ms(5, 1000, 300000), 16000);
	CHECK_U64(daemon_backoff_ms(9, 1000, 300000), 256000);
	CHECK_U64(daemon_backoff_ms(10, 1000, 300000), 300000);
	CHECK_U64(daemon_backoff_ms(4000000000u, 1000, 300000), 300000); /* no overflow, no long loop */
	CHECK_U64(daemon_backoff_ms(3, 60000, 40000), 40000);            /* cap below base */
}

TEST(daemon_jitter)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (uint32_t r = 0; r < 100000; r += 7) {
		uint64_t v = daemon_jitter_ms(1000, r * 2654435761u);

		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	CHECK_U64(lo, 900);
	CHECK_U64(hi, 1100);
	CHECK_U64(daemon_jitter_ms(60000, 0), 54000);
	CHECK_U64(daemon_jitter_ms(60000, 12000), 66000);
	CHECK_U64(daemon_jitter_ms(4, 3), 4); /* too small to jitter */
}

TEST(daemon_states)
{
	CHECK_STR(daemon_sync_state_name(DAEMON_SYNCED), "Synced");
	CHECK_STR(daemon_sync_state_name(DAEMON_OUT_OF_SYNC), "OutOfSync");
	CHECK_STR(daemon_sync_state_name(DAEMON_PROGRESSING), "Progressing");
	CHECK_STR(daemon_sync_state_name(DAEMON_FAILED), "Failed");
}

TEST(daemon_hash)
{
	struct manifest_release rel[2];
	struct manifest_alias al[1];
	struct manifest_function a, b;
	unsigned char ha[32], hb[32];

	memset(rel, 0, sizeof(rel));
	memset(al, 0, sizeof(al));
	memset(&a, 0, sizeof(a));
	rel[0].name = "v1";
	rel[0].code.kind = MANIFEST_CODE_ZIP;
	rel[0].code.zip_path = "artifacts/Version1.zip";
	strcpy(rel[0].code.sha256, "abc=");
	rel[1].name = "v2";
	rel[1].version = 4;
	al[0].name = "Prod";
	al[0].primary.release = "v1";
	a.name = "fn";
	a.file = "functions/a.yaml";
	a.line = 3;
	a.releases = rel;
	a.n_releases = 2;
	a.aliases = al;
	a.n_aliases = 1;
	a.prune.keep_versions = -1;
	b = a;
	daemon_function_hash(&a, ha);
	/* where it is declared does not matter */
	b.file = "functions/moved.yaml";
	b.line = 10;
	daemon_function_hash(&b, hb);
	CHECK(memcmp(ha, hb, 32) == 0);
	/* what it declares does */
	al[0].primary.release = "v2";
	daemon_function_hash(&a, hb);
	CHECK(memcmp(ha, hb, 32) != 0);
	al[0].primary.release = "v1";
	daemon_function_hash(&a, hb);
	CHECK(memcmp(ha, hb, 32) == 0);
	strcpy(rel[0].code.sha256, "abd=");
	daemon_function_hash(&a, hb);
	CHECK(memcmp(ha, hb, 32) != 0);
	strcpy(rel[0].code.sha256, "abc=");
	a.region = "eu-west-1";
	daemon_function_hash(&a, hb);
	CHECK(memcmp(ha, hb, 32) != 0);
	a.region = NULL;
	a.prune.aliases = true;
	daemon_function_hash(&a, hb);
	CHECK(memcmp(ha, hb, 32) != 0);
	a.prune.aliases = false;
	/* NULL and "" differ: a removed description is a change */
	rel[0].description = "";
	daemon_function_hash(&a, hb);
	CHECK(memcmp(ha, hb, 32) != 0);
	rel[0].description = NULL;
	/* field boundaries: ("ab","c") vs ("a","bc") */
	rel[0].name = "v1a";
	rel[0].code.zip_path = "rtifacts/Version1.zip";
	daemon_function_hash(&a, hb);
	CHECK(memcmp(ha, hb, 32) != 0);
}

TEST_MAIN(daemon_backoff, daemon_jitter, daemon_states, daemon_hash)
