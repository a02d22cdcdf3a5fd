/*
 * test_cmd_daemon_storage.c - the code storage thresholds of the daemon's
 * telemetry (cmd/daemon/storage.h): 80% and 90% of the limit, exactly at the
 * boundary, no limit, sizes up to AWS's largest.
 */
#include <stdint.h>

#include "cmd/daemon/storage.h"
#include "tests/unit/harness.h"

TEST(thresholds)
{
	CHECK_INT(storage_threshold(0, 100), 0);
	CHECK_INT(storage_threshold(79, 100), 0);
	CHECK_INT(storage_threshold(80, 100), 80);
	CHECK_INT(storage_threshold(89, 100), 80);
	CHECK_INT(storage_threshold(90, 100), 90);
	CHECK_INT(storage_threshold(100, 100), 90);
	CHECK_INT(storage_threshold(150, 100), 90); /* over the limit: still the top threshold */
}

TEST(no_limit_or_nonsense)
{
	CHECK_INT(storage_threshold(100, 0), 0); /* no limit (the emulator's 0) */
	CHECK_INT(storage_threshold(-5, 100), 0);
	CHECK_INT(storage_threshold(5, -100), 0);
}

TEST(large_sizes)
{
	const int64_t gib75 = (int64_t)75 << 30;

	CHECK_INT(storage_threshold(gib75 / 10 * 8 - 1, gib75), 0);
	CHECK_INT(storage_threshold(gib75 / 10 * 8, gib75), 80);
	CHECK_INT(storage_threshold(gib75 / 10 * 9, gib75), 90);
	CHECK_INT(storage_threshold((int64_t)1 << 53, (int64_t)1 << 53), 90);
}

TEST_MAIN(thresholds, no_limit_or_nonsense, large_sizes)
