#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "util/buf.h"

TEST(empty_buffer_is_terminated)
{
	struct buf b = BUF_INIT;

	CHECK(b.ptr != NULL);
	CHECK_INT(b.len, 0);
	CHECK_STR(b.ptr, "");
	buf_release(&b);
	CHECK_STR(b.ptr, "");
}

TEST(put_printf_detach)
{
	struct buf b = BUF_INIT;
	size_t len = 0;
	char *s;

	CHECK_INT(buf_puts(&b, "alias "), 0);
	CHECK_INT(buf_printf(&b, "%s=%d", "to", 42), 0);
	CHECK_INT(buf_putc(&b, '!'), 0);
	CHECK_STR(b.ptr, "alias to=42!");
	CHECK_INT(b.len, 12);
	s = buf_detach(&b, &len);
	CHECK_STR(s, "alias to=42!");
	CHECK_INT(len, 12);
	CHECK_STR(b.ptr, "");
	CHECK_INT(b.len, 0);
	free(s);
	/* detaching an empty buffer still gives a string the caller frees */
	s = buf_detach(&b, NULL);
	REQUIRE(s != NULL);
	CHECK_STR(s, "");
	free(s);
}

TEST(grows_across_many_appends)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < 10000; i++)
		REQUIRE(buf_putc(&b, (char)('a' + i % 26)) == 0);
	CHECK_INT(b.len, 10000);
	CHECK_INT(b.ptr[10000], 0);
	CHECK_INT(b.ptr[9999], 'a' + 9999 % 26);
	buf_release(&b);
}

TEST(cap_refuses_and_leaves_buffer_unchanged)
{
	struct buf b = BUF_INIT_CAP(8);

	CHECK_INT(buf_puts(&b, "12345"), 0);
	CHECK_INT(buf_puts(&b, "6789"), -E2BIG);
	CHECK_STR(b.ptr, "12345");
	CHECK_INT(buf_puts(&b, "678"), 0);
	CHECK_STR(b.ptr, "12345678");
	CHECK_INT(buf_putc(&b, 'x'), -E2BIG);
	CHECK_INT(buf_printf(&b, "%d", 1), -E2BIG);
	CHECK_INT(b.len, 8);
	/* a huge request does not overflow the size arithmetic */
	CHECK_INT(buf_grow(&b, SIZE_MAX), -E2BIG);
	CHECK_INT(buf_grow(&b, SIZE_MAX - 4), -E2BIG);
	buf_release(&b);
}

TEST(cap_exact_boundary_printf)
{
	struct buf b = BUF_INIT_CAP(4);

	CHECK_INT(buf_printf(&b, "%04d", 7), 0);
	CHECK_STR(b.ptr, "0007");
	buf_reset(&b);
	CHECK_INT(buf_printf(&b, "%05d", 7), -E2BIG);
	CHECK_STR(b.ptr, "");
	buf_release(&b);
}

TEST(truncate_and_sets)
{
	struct buf b = BUF_INIT;

	CHECK_INT(buf_sets(&b, "hello world"), 0);
	buf_truncate(&b, 5);
	CHECK_STR(b.ptr, "hello");
	buf_truncate(&b, 50); /* longer than len: no-op */
	CHECK_STR(b.ptr, "hello");
	CHECK_INT(buf_sets(&b, "x"), 0);
	CHECK_STR(b.ptr, "x");
	buf_release(&b);
}

TEST(put_self_overlap)
{
	struct buf b = BUF_INIT;

	CHECK_INT(buf_puts(&b, "abc"), 0);
	/* appending a buffer's own bytes must survive the realloc */
	CHECK_INT(buf_grow(&b, 1000), 0);
	CHECK_INT(buf_put(&b, b.ptr, b.len), 0);
	CHECK_STR(b.ptr, "abcabc");
	buf_release(&b);
}

/*
 * The wiping release must really zero the memory before it is freed. We check
 * through a malloc interposer: free() of a block records whether every byte
 * was zero at that moment.
 */
static void *watched;
static size_t watched_len;
static int watched_was_zero = -1;

static void note_free(const volatile void *p)
{
	if (p && p == watched) {
		const volatile unsigned char *c = p;
		watched_was_zero = 1;
		for (size_t i = 0; i < watched_len; i++)
			if (c[i]) {
				watched_was_zero = 0;
				break;
			}
		watched = NULL;
	}
}

#if defined(__SANITIZE_ADDRESS__)
/* under ASan, its allocator calls this hook before a block is freed */
void __sanitizer_free_hook(const volatile void *p);
void __sanitizer_free_hook(const volatile void *p)
{
	note_free(p);
}
#else
/* glibc: interpose free() and look at the block just before it goes */
extern void __libc_free(void *);
void free(void *p)
{
	note_free(p);
	__libc_free(p);
}
#endif

TEST(secret_release_zeroes_memory)
{
	struct buf b = BUF_INIT;

	REQUIRE(buf_puts(&b, "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") == 0);
	watched = b.ptr;
	watched_len = b.alloc;
	watched_was_zero = -1;
	buf_release_secret(&b);
	CHECK_INT(watched_was_zero, 1);
	CHECK_STR(b.ptr, "");
	CHECK_INT(b.alloc, 0);
}

TEST(plain_release_does_not_wipe)
{
	/* proves the check above can fail: a plain release leaves the bytes */
	struct buf b = BUF_INIT;

	REQUIRE(buf_puts(&b, "not a secret") == 0);
	watched = b.ptr;
	watched_len = b.len;
	watched_was_zero = -1;
	buf_release(&b);
	CHECK_INT(watched_was_zero, 0);
}

TEST(secret_buffer_wipes_on_growth)
{
	struct buf b = BUF_INIT;

	buf_mark_secret(&b);
	REQUIRE(buf_puts(&b, "secret-part-one") == 0);
	watched = b.ptr;
	watched_len = b.alloc;
	watched_was_zero = -1;
	/* force a move to a bigger block: the old one must be wiped */
	for (int i = 0; i < 200; i++)
		REQUIRE(buf_puts(&b, "more secret bytes ") == 0);
	CHECK_INT(watched_was_zero, 1);
	watched = b.ptr;
	watched_len = b.alloc;
	watched_was_zero = -1;
	buf_release(&b); /* a secret buffer wipes on plain release too */
	CHECK_INT(watched_was_zero, 1);
}

TEST(secret_truncate_wipes_tail)
{
	struct buf b = BUF_INIT;

	buf_mark_secret(&b);
	REQUIRE(buf_puts(&b, "keep-SECRET") == 0);
	buf_truncate(&b, 4);
	CHECK_STR(b.ptr, "keep");
	for (size_t i = 4; i < 11; i++)
		CHECKF(b.ptr[i] == 0, "byte %zu not wiped", i);
	buf_release_secret(&b);
}

TEST_MAIN(empty_buffer_is_terminated, put_printf_detach, grows_across_many_appends,
          cap_refuses_and_leaves_buffer_unchanged, cap_exact_boundary_printf, truncate_and_sets,
          put_self_overlap, secret_release_zeroes_memory, plain_release_does_not_wipe,
          secret_buffer_wipes_on_growth, secret_truncate_wipes_tail)
