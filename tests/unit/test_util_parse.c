#include <errno.h>
#include <stdint.h>

#include "tests/unit/harness.h"
#include "util/parse.h"

struct dur_case {
	const char *in;
	int ret;
	uint64_t ms;
};

TEST(durations)
{
	static const struct dur_case cases[] = {
	    {"500ms", 0, 500},
	    {"30s", 0, 30000},
	    {"5m", 0, 300000},
	    {"1h", 0, 3600000},
	    {"2d", 0, 172800000},
	    {"1h30m", 0, 5400000},
	    {"1m30s500ms", 0, 90500},
	    {"0s", 0, 0},
	    {"", -EINVAL, 0},
	    {"30", -EINVAL, 0}, /* bare number: ambiguous */
	    {"s", -EINVAL, 0},
	    {"-5s", -EINVAL, 0},
	    {"+5s", -EINVAL, 0},
	    {" 5s", -EINVAL, 0},
	    {"5s ", -EINVAL, 0},
	    {"5 s", -EINVAL, 0},
	    {"1.5s", -EINVAL, 0},
	    {"5sec", -EINVAL, 0},
	    {"5S", -EINVAL, 0},
	    {"5w", -EINVAL, 0},
	    {"1h30", -EINVAL, 0},
	    {"99999999999999999999s", -ERANGE, 0},
	    {"9999999999999999d", -ERANGE, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = ERROR_INIT;
		uint64_t ms = 12345;
		int r = parse_duration_ms(cases[i].in, &ms, &err);

		CHECKF(r == cases[i].ret, "duration \"%s\": got %d, want %d", cases[i].in, r, cases[i].ret);
		if (cases[i].ret == 0)
			CHECKF(ms == cases[i].ms, "duration \"%s\": got %llu ms", cases[i].in,
			       (unsigned long long)ms);
		else {
			CHECKF(ms == 12345, "duration \"%s\": output written on error", cases[i].in);
			CHECKF(err.msg[0] != '\0', "duration \"%s\": no message", cases[i].in);
		}
	}
}

struct size_case {
	const char *in;
	int ret;
	uint64_t bytes;
};

TEST(sizes)
{
	static const struct size_case cases[] = {
	    {"0", 0, 0},
	    {"512", 0, 512},
	    {"512B", 0, 512},
	    {"4KiB", 0, 4096},
	    {"50MiB", 0, 50ULL << 20},
	    {"2GiB", 0, 2ULL << 30},
	    {"1TiB", 0, 1ULL << 40},
	    {"10kB", 0, 10000},
	    {"10KB", 0, 10000},
	    {"3MB", 0, 3000000},
	    {"1GB", 0, 1000000000},
	    {"", -EINVAL, 0},
	    {"MiB", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {"1.5MiB", -EINVAL, 0},
	    {"50mib", -EINVAL, 0},
	    {"50 MiB", -EINVAL, 0},
	    {"50M", -EINVAL, 0},
	    {"0x10", -EINVAL, 0},
	    {"18446744073709551616", -ERANGE, 0},
	    {"17179869184GiB", -ERANGE, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = ERROR_INIT;
		uint64_t v = 777;
		int r = parse_size(cases[i].in, &v, &err);

		CHECKF(r == cases[i].ret, "size \"%s\": got %d, want %d", cases[i].in, r, cases[i].ret);
		if (cases[i].ret == 0)
			CHECKF(v == cases[i].bytes, "size \"%s\": got %llu", cases[i].in,
			       (unsigned long long)v);
		else
			CHECKF(v == 777 && err.msg[0], "size \"%s\": output written or no message",
			       cases[i].in);
	}
}

TEST(unsigned_numbers)
{
	struct error err = ERROR_INIT;
	uint64_t v = 0;

	CHECK_INT(parse_u64("0", 0, 10, &v, &err), 0);
	CHECK_U64(v, 0);
	CHECK_INT(parse_u64("18446744073709551615", 0, UINT64_MAX, &v, &err), 0);
	CHECK_U64(v, UINT64_MAX);
	CHECK_INT(parse_u64("18446744073709551616", 0, UINT64_MAX, &v, &err), -ERANGE);
	CHECK_INT(parse_u64("11", 0, 10, &v, &err), -ERANGE);
	CHECK(strstr(err.msg, "out of range") != NULL);
	CHECK_INT(parse_u64("0", 1, 10, &v, &err), -ERANGE);
	CHECK_INT(parse_u64("", 0, 10, &v, &err), -EINVAL);
	CHECK_INT(parse_u64("-1", 0, 10, &v, &err), -EINVAL);
	CHECK_INT(parse_u64("+1", 0, 10, &v, &err), -EINVAL);
	CHECK_INT(parse_u64(" 1", 0, 10, &v, &err), -EINVAL);
	CHECK_INT(parse_u64("1 ", 0, 10, &v, &err), -EINVAL);
	CHECK_INT(parse_u64("1e3", 0, 10000, &v, &err), -EINVAL);
	CHECK_INT(parse_u64("0x1", 0, 10, &v, &err), -EINVAL);
	CHECK_U64(v, UINT64_MAX); /* untouched by the failures */
}

TEST(signed_numbers)
{
	struct error err = ERROR_INIT;
	int64_t v = 0;
	int i = 0;

	CHECK_INT(parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v, &err), 0);
	CHECK(v == INT64_MIN);
	CHECK_INT(parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v, &err), 0);
	CHECK(v == INT64_MAX);
	CHECK_INT(parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v, &err), -ERANGE);
	CHECK_INT(parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v, &err), -ERANGE);
	CHECK_INT(parse_i64("-", INT64_MIN, INT64_MAX, &v, &err), -EINVAL);
	CHECK_INT(parse_int("128", 128, 10240, &i, &err), 0);
	CHECK_INT(i, 128);
	CHECK_INT(parse_int("127", 128, 10240, &i, &err), -ERANGE);
	CHECK_INT(parse_int("3.0", 1, 900, &i, &err), -EINVAL);
	CHECK_INT(parse_int("-0", -5, 5, &i, &err), 0);
	CHECK_INT(i, 0);
}

TEST(doubles)
{
	struct error err = ERROR_INIT;
	double d = -1;

	CHECK_INT(parse_double("0.1", 0, 1, &d, &err), 0);
	CHECK(d > 0.0999 && d < 0.1001);
	CHECK_INT(parse_double("1e-2", 0, 1, &d, &err), 0);
	CHECK_INT(parse_double("1.5", 0, 1, &d, &err), -ERANGE);
	CHECK_INT(parse_double("nan", 0, 1, &d, &err), -EINVAL);
	CHECK_INT(parse_double("inf", 0, 1, &d, &err), -EINVAL);
	CHECK_INT(parse_double("0x1p-3", 0, 1, &d, &err), -EINVAL);
	CHECK_INT(parse_double(" 0.5", 0, 1, &d, &err), -EINVAL);
	CHECK_INT(parse_double("0.5x", 0, 1, &d, &err), -EINVAL);
	CHECK_INT(parse_double("", 0, 1, &d, &err), -EINVAL);
	CHECK_INT(parse_double("1e999", 0, 1, &d, &err), -ERANGE);
}

TEST(booleans)
{
	struct error err = ERROR_INIT;
	int b = -1;

	CHECK_INT(parse_bool("true", &b, &err), 0);
	CHECK_INT(b, 1);
	CHECK_INT(parse_bool("false", &b, &err), 0);
	CHECK_INT(b, 0);
	CHECK_INT(parse_bool("yes", &b, &err), 0);
	CHECK_INT(b, 1);
	CHECK_INT(parse_bool("1", &b, &err), -EINVAL);
	CHECK_INT(parse_bool("", &b, &err), -EINVAL);
	CHECK(strstr(err.msg, "boolean") != NULL);
}

TEST(error_detail_is_optional)
{
	uint64_t v;

	/* a NULL error struct is allowed everywhere */
	CHECK_INT(parse_duration_ms("bogus", &v, NULL), -EINVAL);
	CHECK_INT(parse_size("bogus", &v, NULL), -EINVAL);
	CHECK_INT(parse_u64("bogus", 0, 1, &v, NULL), -EINVAL);
}

TEST(size_formatting)
{
	char b[SIZE_FORMAT_MAX];

	CHECK_STR(size_format(0, b, sizeof(b)), "0 B");
	CHECK_STR(size_format(1023, b, sizeof(b)), "1023 B");
	CHECK_STR(size_format(1024, b, sizeof(b)), "1.0 KiB");
	CHECK_STR(size_format(1536, b, sizeof(b)), "1.5 KiB");
	CHECK_STR(size_format(13002342, b, sizeof(b)), "12.4 MiB");
	CHECK_STR(size_format((uint64_t)1 << 20, b, sizeof(b)), "1.0 MiB");
	CHECK_STR(size_format(((uint64_t)1 << 20) - 1, b, sizeof(b)), "1.0 MiB");
	CHECK_STR(size_format((uint64_t)75 << 30, b, sizeof(b)), "75.0 GiB");
	CHECK_STR(size_format(UINT64_MAX, b, sizeof(b)), "16.0 EiB");
	CHECK_STR(size_format(13002342, b, 5), "12.4");
}

TEST_MAIN(size_formatting, durations, sizes, unsigned_numbers, signed_numbers, doubles, booleans,
          error_detail_is_optional)
