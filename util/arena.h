/*
 * arena.h - a bump allocator: many small allocations freed at once.
 *
 * Memory comes from malloc'ed chunks of `chunk` bytes (arena_init); an
 * allocation larger than a quarter of that gets a chunk of its own, so a
 * chunk never wastes more than a quarter of itself when the next one starts.
 * Every allocation is aligned for any type (max_align_t) but a string
 * (arena_strdup), which is packed byte by byte.  Nothing is freed
 * one by one: arena_release() frees every chunk.  There is no per-allocation
 * header, so an arena of many short strings costs far less than malloc'ing
 * each (glibc rounds each to 32 bytes with its header).
 *
 * Not thread-safe: one owner allocates; once filled, any thread may read.
 */
#ifndef ALIASD_UTIL_ARENA_H
#define ALIASD_UTIL_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* the chunk being filled (others follow) */
	size_t chunk;             /* bytes of a regular chunk */
	size_t bytes;             /* malloc'ed in all chunks (headers included) */
	size_t used;              /* handed out (alignment included) */
};

#define ARENA_CHUNK_DEFAULT 1024

/* An empty arena whose regular chunks hold `chunk` bytes (0: ARENA_CHUNK_DEFAULT).  Allocates nothing. */
void arena_init(struct arena *a, size_t chunk);
/* `n` zeroed bytes (n == 0 gives a valid unique pointer), or NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t n);
/* `n` elements of `size` bytes, zeroed; NULL on overflow or out of memory. */
void *arena_calloc(struct arena *a, size_t n, size_t size);
/* A copy of `s` (NULL gives NULL: check `s` before treating NULL as out of memory). */
char *arena_strdup(struct arena *a, const char *s);
void *arena_memdup(struct arena *a, const void *p, size_t n);
/* Free every chunk; the arena is empty again (and may be reused). */
void arena_release(struct arena *a);

#endif
