#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "util/arena.h"

TEST(arena_alloc_aligned_zeroed)
{
	struct arena a;

	arena_init(&a, 256);
	CHECK(a.bytes == 0);
	for (size_t i = 1; i < 100; i++) {
		unsigned char *p = arena_alloc(&a, i);

		REQUIRE(p);
		CHECKF((uintptr_t)p % ARENA_ALIGN == 0, "size %zu misaligned", i);
		for (size_t k = 0; k < i; k++)
			CHECKF(p[k] == 0, "size %zu byte %zu not zero", i, k);
		memset(p, 0xab, i);
		/* a string in between leaves the next allocation aligned */
		CHECK(arena_strdup(&a, "x") != NULL);
	}
	CHECK(a.used >= 99 * 100 / 2);
	CHECK(a.bytes >= a.used);
	arena_release(&a);
	CHECK(a.bytes == 0 && a.used == 0 && a.head == NULL);
}

TEST(arena_strings_packed)
{
	struct arena a;
	char *s1, *s2;

	arena_init(&a, 1024);
	s1 = arena_strdup(&a, "abc");
	s2 = arena_strdup(&a, "defgh");
	REQUIRE(s1 && s2);
	CHECK_STR(s1, "abc");
	CHECK_STR(s2, "defgh");
	CHECK(s2 == s1 + 4); /* no padding between strings */
	CHECK(a.used == 4 + 6);
	CHECK(arena_strdup(&a, NULL) == NULL);
	arena_release(&a);
}

TEST(arena_big_own_chunk)
{
	struct arena a;
	char *small1, *big, *small2;

	arena_init(&a, 1024);
	small1 = arena_strdup(&a, "one");
	big = arena_alloc(&a, 5000); /* over a quarter: a chunk of its own */
	small2 = arena_strdup(&a, "two");
	REQUIRE(small1 && big && small2);
	/* the small ones share the first chunk: the big one did not end it */
	CHECK(small2 == small1 + 4);
	memset(big, 1, 5000);
	CHECK_STR(small1, "one");
	CHECK_STR(small2, "two");
	CHECK(a.used == 4 + 5000 + 4 || a.used > 5000);
	arena_release(&a);
}

TEST(arena_many_chunks_memdup)
{
	struct arena a;
	int *v[200];

	arena_init(&a, 0); /* the default size */
	for (int i = 0; i < 200; i++) {
		int x[10];

		for (int k = 0; k < 10; k++)
			x[k] = i * 10 + k;
		v[i] = arena_memdup(&a, x, sizeof(x));
		REQUIRE(v[i]);
	}
	for (int i = 0; i < 200; i++)
		for (int k = 0; k < 10; k++)
			CHECKF(v[i][k] == i * 10 + k, "v[%d][%d] = %d", i, k, v[i][k]);
	CHECK(arena_calloc(&a, SIZE_MAX / 2, 4) == NULL); /* overflow */
	CHECK(arena_alloc(&a, 0) != NULL);
	arena_release(&a);
}

struct node {
	char *name;
	struct node *next;
	const char *outside; /* not in the arena: never moved */
};

TEST(arena_compact_moves_pointers)
{
	static const char outside[] = "static";
	struct arena a, c;
	struct arena_move m;
	struct node *head = NULL, *n;
	size_t used;

	arena_init(&a, 4096);
	for (int i = 0; i < 10; i++) {
		char name[16];

		n = arena_alloc(&a, sizeof(*n));
		snprintf(name, sizeof(name), "n%d", i);
		REQUIRE(n);
		n->name = arena_strdup(&a, name);
		n->next = head;
		n->outside = outside;
		head = n;
	}
	used = a.used;
	REQUIRE(arena_compact(&c, &a, &m.lo, &m.hi, &m.delta) == 0);
	CHECK(c.used == used);
	CHECK(c.bytes < a.bytes); /* exactly what was used, not the chunk */
	head = arena_moved(&m, head);
	for (n = head; n; n = n->next) {
		n->name = arena_moved(&m, n->name);
		n->next = arena_moved(&m, n->next);
	}
	arena_release(&a); /* the copy stands alone */
	n = head;
	for (int i = 9; i >= 0; i--, n = n->next) {
		char name[16];

		REQUIRE(n);
		snprintf(name, sizeof(name), "n%d", i);
		CHECK_STR(n->name, name);
		CHECK(n->outside == outside);
	}
	CHECK(n == NULL);
	arena_release(&c);
}

TEST(arena_compact_refuses_many_chunks_and_reset_keeps_one)
{
	struct arena a, c;
	uintptr_t lo, hi;
	ptrdiff_t delta;

	arena_init(&a, 256);
	for (int i = 0; i < 20; i++)
		REQUIRE(arena_alloc(&a, 40));
	CHECK_INT(arena_compact(&c, &a, &lo, &hi, &delta), -E2BIG);
	arena_reset(&a);
	CHECK(a.used == 0);
	CHECK(a.head != NULL);      /* one chunk kept for the next round */
	CHECK(a.bytes < 256 + 128); /* and only one */
	CHECK(arena_alloc(&a, 40) != NULL);
	CHECK_INT(arena_compact(&c, &a, &lo, &hi, &delta), 0);
	arena_release(&c);
	arena_release(&a);
}

TEST_MAIN(arena_alloc_aligned_zeroed, arena_strings_packed, arena_big_own_chunk, arena_many_chunks_memdup,
          arena_compact_moves_pointers, arena_compact_refuses_many_chunks_and_reset_keeps_one)
