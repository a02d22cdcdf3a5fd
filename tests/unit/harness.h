/*
 * harness.h - aliasd's small unit-test harness.
 *
 * A test file defines functions with TEST(name) and lists them in
 * TEST_MAIN(name, name, ...).  Checks record a failure and go on (so one run
 * shows every broken case); REQUIRE stops the current test.  The binary prints
 * one line per failed check, then "N passed, N failed" (counting tests) and
 * exits 1 if any test failed.  Table-driven tests loop over a static array and
 * use CHECKF with the case's name in the message.
 *
 *   TEST(buf_cap) { struct buf b = BUF_INIT_CAP(4); CHECK_INT(buf_puts(&b, "hello"), -E2BIG); }
 *   TEST_MAIN(buf_cap)
 */
#ifndef ALIASD_TESTS_HARNESS_H
#define ALIASD_TESTS_HARNESS_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct harness_test {
	const char *name;
	void (*fn)(void);
};

extern int harness_failed_checks;
extern jmp_buf harness_abort;

#define TEST(name) static void test_##name(void)

#define HARNESS_FAIL(...)                                                                                    \
	do {                                                                                                 \
		harness_failed_checks++;                                                                     \
		fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);                                \
		fprintf(stderr, __VA_ARGS__);                                                                \
		fputc('\n', stderr);                                                                         \
	} while (0)

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			HARNESS_FAIL("%s", #cond);                                                           \
	} while (0)

#define CHECKF(cond, ...)                                                                                    \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			HARNESS_FAIL(__VA_ARGS__);                                                           \
	} while (0)

#define REQUIRE(cond)                                                                                        \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			HARNESS_FAIL("%s (required)", #cond);                                                \
			longjmp(harness_abort, 1);                                                           \
		}                                                                                            \
	} while (0)

#define CHECK_INT(a, b)                                                                                      \
	do {                                                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);                                          \
		if (a_ != b_)                                                                                \
			HARNESS_FAIL("%s == %lld, expected %s == %lld", #a, a_, #b, b_);                     \
	} while (0)

#define CHECK_U64(a, b)                                                                                      \
	do {                                                                                                 \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                             \
		if (a_ != b_)                                                                                \
			HARNESS_FAIL("%s == %" PRIu64 ", expected %" PRIu64, #a, a_, b_);                    \
	} while (0)

#define CHECK_STR(a, b)                                                                                      \
	do {                                                                                                 \
		const char *a_ = (a), *b_ = (b);                                                             \
		if (!a_ || !b_ || strcmp(a_, b_))                                                            \
			HARNESS_FAIL("%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)",                \
			             b_ ? b_ : "(null)");                                                    \
	} while (0)

int harness_run(const char *file, const struct harness_test *tests, size_t n, int argc, char **argv);

#define TEST_ENTRY(name) {#name, test_##name},
#define HARNESS_MAP(...) HARNESS_MAP_(__VA_ARGS__)

/* TEST_MAIN(a, b, c): up to 64 tests per file, via the FOREACH trick below. */
#define TEST_MAIN(...)                                                                                       \
	static const struct harness_test harness_tests[] = {HARNESS_FOREACH(TEST_ENTRY, __VA_ARGS__)};       \
	int main(int argc, char **argv)                                                                      \
	{                                                                                                    \
		return harness_run(__FILE__, harness_tests,                                                  \
		                   sizeof(harness_tests) / sizeof(harness_tests[0]), argc, argv);            \
	}

/* Applies M to each argument (at most 64). */
#define HARNESS_EXPAND(x)        x
#define HARNESS_FE_1(M, x)       M(x)
#define HARNESS_FE_2(M, x, ...)  M(x) HARNESS_EXPAND(HARNESS_FE_1(M, __VA_ARGS__))
#define HARNESS_FE_3(M, x, ...)  M(x) HARNESS_EXPAND(HARNESS_FE_2(M, __VA_ARGS__))
#define HARNESS_FE_4(M, x, ...)  M(x) HARNESS_EXPAND(HARNESS_FE_3(M, __VA_ARGS__))
#define HARNESS_FE_5(M, x, ...)  M(x) HARNESS_EXPAND(HARNESS_FE_4(M, __VA_ARGS__))
#define HARNESS_FE_6(M, x, ...)  M(x) HARNESS_EXPAND(HARNESS_FE_5(M, __VA_ARGS__))
#define HARNESS_FE_7(M, x, ...)  M(x) HARNESS_EXPAND(HARNESS_FE_6(M, __VA_ARGS__))
#define HARNESS_FE_8(M, x, ...)  M(x) HARNESS_EXPAND(HARNESS_FE_7(M, __VA_ARGS__))
#define HARNESS_FE_9(M, x, ...)  M(x) HARNESS_EXPAND(HARNESS_FE_8(M, __VA_ARGS__))
#define HARNESS_FE_10(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_9(M, __VA_ARGS__))
#define HARNESS_FE_11(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_10(M, __VA_ARGS__))
#define HARNESS_FE_12(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_11(M, __VA_ARGS__))
#define HARNESS_FE_13(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_12(M, __VA_ARGS__))
#define HARNESS_FE_14(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_13(M, __VA_ARGS__))
#define HARNESS_FE_15(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_14(M, __VA_ARGS__))
#define HARNESS_FE_16(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_15(M, __VA_ARGS__))
#define HARNESS_FE_17(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_16(M, __VA_ARGS__))
#define HARNESS_FE_18(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_17(M, __VA_ARGS__))
#define HARNESS_FE_19(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_18(M, __VA_ARGS__))
#define HARNESS_FE_20(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_19(M, __VA_ARGS__))
#define HARNESS_FE_21(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_20(M, __VA_ARGS__))
#define HARNESS_FE_22(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_21(M, __VA_ARGS__))
#define HARNESS_FE_23(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_22(M, __VA_ARGS__))
#define HARNESS_FE_24(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_23(M, __VA_ARGS__))
#define HARNESS_FE_25(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_24(M, __VA_ARGS__))
#define HARNESS_FE_26(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_25(M, __VA_ARGS__))
#define HARNESS_FE_27(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_26(M, __VA_ARGS__))
#define HARNESS_FE_28(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_27(M, __VA_ARGS__))
#define HARNESS_FE_29(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_28(M, __VA_ARGS__))
#define HARNESS_FE_30(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_29(M, __VA_ARGS__))
#define HARNESS_FE_31(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_30(M, __VA_ARGS__))
#define HARNESS_FE_32(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_31(M, __VA_ARGS__))
#define HARNESS_FE_33(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_32(M, __VA_ARGS__))
#define HARNESS_FE_34(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_33(M, __VA_ARGS__))
#define HARNESS_FE_35(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_34(M, __VA_ARGS__))
#define HARNESS_FE_36(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_35(M, __VA_ARGS__))
#define HARNESS_FE_37(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_36(M, __VA_ARGS__))
#define HARNESS_FE_38(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_37(M, __VA_ARGS__))
#define HARNESS_FE_39(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_38(M, __VA_ARGS__))
#define HARNESS_FE_40(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_39(M, __VA_ARGS__))
#define HARNESS_FE_41(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_40(M, __VA_ARGS__))
#define HARNESS_FE_42(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_41(M, __VA_ARGS__))
#define HARNESS_FE_43(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_42(M, __VA_ARGS__))
#define HARNESS_FE_44(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_43(M, __VA_ARGS__))
#define HARNESS_FE_45(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_44(M, __VA_ARGS__))
#define HARNESS_FE_46(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_45(M, __VA_ARGS__))
#define HARNESS_FE_47(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_46(M, __VA_ARGS__))
#define HARNESS_FE_48(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_47(M, __VA_ARGS__))
#define HARNESS_FE_49(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_48(M, __VA_ARGS__))
#define HARNESS_FE_50(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_49(M, __VA_ARGS__))
#define HARNESS_FE_51(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_50(M, __VA_ARGS__))
#define HARNESS_FE_52(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_51(M, __VA_ARGS__))
#define HARNESS_FE_53(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_52(M, __VA_ARGS__))
#define HARNESS_FE_54(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_53(M, __VA_ARGS__))
#define HARNESS_FE_55(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_54(M, __VA_ARGS__))
#define HARNESS_FE_56(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_55(M, __VA_ARGS__))
#define HARNESS_FE_57(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_56(M, __VA_ARGS__))
#define HARNESS_FE_58(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_57(M, __VA_ARGS__))
#define HARNESS_FE_59(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_58(M, __VA_ARGS__))
#define HARNESS_FE_60(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_59(M, __VA_ARGS__))
#define HARNESS_FE_61(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_60(M, __VA_ARGS__))
#define HARNESS_FE_62(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_61(M, __VA_ARGS__))
#define HARNESS_FE_63(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_62(M, __VA_ARGS__))
#define HARNESS_FE_64(M, x, ...) M(x) HARNESS_EXPAND(HARNESS_FE_63(M, __VA_ARGS__))
#define HARNESS_GET(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19,    \
                    _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35, _36,     \
                    _37, _38, _39, _40, _41, _42, _43, _44, _45, _46, _47, _48, _49, _50, _51, _52, _53,     \
                    _54, _55, _56, _57, _58, _59, _60, _61, _62, _63, _64, N, ...)                           \
	N
#define HARNESS_FOREACH(M, ...)                                                                              \
	HARNESS_EXPAND(HARNESS_GET(                                                                          \
	    __VA_ARGS__, HARNESS_FE_64, HARNESS_FE_63, HARNESS_FE_62, HARNESS_FE_61, HARNESS_FE_60,          \
	    HARNESS_FE_59, HARNESS_FE_58, HARNESS_FE_57, HARNESS_FE_56, HARNESS_FE_55, HARNESS_FE_54,        \
	    HARNESS_FE_53, HARNESS_FE_52, HARNESS_FE_51, HARNESS_FE_50, HARNESS_FE_49, HARNESS_FE_48,        \
	    HARNESS_FE_47, HARNESS_FE_46, HARNESS_FE_45, HARNESS_FE_44, HARNESS_FE_43, HARNESS_FE_42,        \
	    HARNESS_FE_41, HARNESS_FE_40, HARNESS_FE_39, HARNESS_FE_38, HARNESS_FE_37, HARNESS_FE_36,        \
	    HARNESS_FE_35, HARNESS_FE_34, HARNESS_FE_33, HARNESS_FE_32, HARNESS_FE_31, HARNESS_FE_30,        \
	    HARNESS_FE_29, HARNESS_FE_28, HARNESS_FE_27, HARNESS_FE_26, HARNESS_FE_25, HARNESS_FE_24,        \
	    HARNESS_FE_23, HARNESS_FE_22, HARNESS_FE_21, HARNESS_FE_20, HARNESS_FE_19, HARNESS_FE_18,        \
	    HARNESS_FE_17, HARNESS_FE_16, HARNESS_FE_15, HARNESS_FE_14, HARNESS_FE_13, HARNESS_FE_12,        \
	    HARNESS_FE_11, HARNESS_FE_10, HARNESS_FE_9, HARNESS_FE_8, HARNESS_FE_7, HARNESS_FE_6,            \
	    HARNESS_FE_5, HARNESS_FE_4, HARNESS_FE_3, HARNESS_FE_2, HARNESS_FE_1)(M, __VA_ARGS__))

#endif
