/*
 * test_util_clock.c - the monotonic clock never goes back and agrees with itself.
 */
#include <time.h>

#include "tests/unit/harness.h"
#include "util/clock.h"

TEST(clock_monotonic)
{
	uint64_t a = clock_monotonic_ns(), b, ms0 = clock_monotonic_ms(), ms1;

	for (int i = 0; i < 1000; i++) {
		b = clock_monotonic_ns();
		CHECK(b >= a);
		a = b;
	}
	ms1 = clock_monotonic_ms();
	CHECK(ms1 >= ms0);
	/* the same clock in two units */
	CHECK(clock_monotonic_ns() / 1000000ull >= ms1);
}

TEST(clock_elapsed)
{
	struct timespec ts = {0, 20 * 1000000L};
	uint64_t start = clock_monotonic_ms();

	nanosleep(&ts, NULL);
	/* at least the sleep; no upper bound (a loaded machine may be slow) */
	CHECK(clock_elapsed_ms(start) >= 20);
	/* a start in the future is 0, not a huge unsigned number */
	CHECK_U64(clock_elapsed_ms(clock_monotonic_ms() + 100000), 0);
}

TEST_MAIN(clock_monotonic, clock_elapsed)
