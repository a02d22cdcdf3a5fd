/*
 * arena.c - the bump allocator of arena.h.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

struct arena_chunk {
	struct arena_chunk *next;
	uint32_t cap, used; /* a chunk holds less than 4 GiB (arena_get refuses more) */
	alignas(ARENA_ALIGN) unsigned char data[];
};

#define ALIGN ((size_t)ARENA_ALIGN)

void arena_init(struct arena *a, size_t chunk)
{
	a->head = NULL;
	a->chunk = chunk ? chunk : ARENA_CHUNK_DEFAULT;
	a->bytes = 0;
	a->used = 0;
}

static struct arena_chunk *chunk_new(struct arena *a, size_t cap)
{
	struct arena_chunk *c;

	if (cap > UINT32_MAX)
		return NULL;
	c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->next = NULL;
	c->cap = (uint32_t)cap;
	c->used = 0;
	a->bytes += sizeof(*c) + cap;
	return c;
}

/* `n` bytes aligned to `align` (a power of two <= ALIGN), not zeroed. */
static void *arena_get(struct arena *a, size_t n, size_t align)
{
	struct arena_chunk *c = a->head;
	size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
	void *p;

	if (!n)
		n = 1;
	if (!c || at > c->cap || c->cap - at < n) {
		if (n > a->chunk / 4) {
			/* its own chunk, behind the one being filled */
			struct arena_chunk *big = chunk_new(a, n);

			if (!big)
				return NULL;
			big->used = (uint32_t)n;
			a->used += n;
			if (c) {
				big->next = c->next;
				c->next = big;
			} else {
				a->head = big;
			}
			return big->data;
		}
		c = chunk_new(a, a->chunk);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
		at = 0;
	}
	p = c->data + at;
	a->used += at + n - c->used;
	c->used = (uint32_t)(at + n);
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	void *p = arena_get(a, n, ALIGN);

	if (p)
		memset(p, 0, n);
	return p;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return arena_alloc(a, n * size);
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *d = arena_get(a, n, ALIGN);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

char *arena_strdup(struct arena *a, const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = arena_get(a, n, 1); /* bytes need no alignment */
	if (d)
		memcpy(d, s, n);
	return d;
}

void arena_release(struct arena *a)
{
	struct arena_chunk *c = a->head;

	while (c) {
		struct arena_chunk *next = c->next;

		free(c);
		c = next;
	}
	a->head = NULL;
	a->bytes = 0;
	a->used = 0;
}

void arena_reset(struct arena *a)
{
	struct arena_chunk *keep = NULL, *c = a->head;

	while (c) {
		struct arena_chunk *next = c->next;

		if (!keep && c->cap == a->chunk)
			keep = c;
		else
			free(c);
		c = next;
	}
	a->head = keep;
	a->bytes = 0;
	a->used = 0;
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
		a->bytes = sizeof(*keep) + keep->cap;
	}
}

int arena_compact(struct arena *dst, const struct arena *src, uintptr_t *ret_lo, uintptr_t *ret_hi,
                  ptrdiff_t *ret_delta)
{
	const struct arena_chunk *c = src->head;
	struct arena_chunk *n;

	if (!c || c->next)
		return -E2BIG;
	arena_init(dst, src->chunk);
	n = chunk_new(dst, c->used);
	if (!n)
		return -ENOMEM;
	memcpy(n->data, c->data, c->used);
	n->used = c->used;
	dst->head = n;
	dst->used = c->used;
	*ret_lo = (uintptr_t)c->data;
	*ret_hi = (uintptr_t)(c->data + c->used);
	*ret_delta = (ptrdiff_t)((intptr_t)(uintptr_t)n->data - (intptr_t)(uintptr_t)c->data);
	return 0;
}

struct arena_chunk *arena_detach(struct arena *a)
{
	struct arena_chunk *head = a->head;

	a->head = NULL;
	a->bytes = 0;
	a->used = 0;
	return head;
}

void arena_chunks_free(struct arena_chunk *head)
{
	struct arena a = {.head = head};

	arena_release(&a);
}
