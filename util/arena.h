/*
 * arena.h - a bump allocator: many small allocations freed at once.
 *
 * Memory comes from malloc'ed chunks of `chunk` bytes (arena_init); an
 * allocation larger than a quarter of that gets a chunk of its own, so a
 * chunk never wastes more than a quarter of itself when the next one starts.
 * Every allocation is aligned to ARENA_ALIGN (8 bytes: pointers, 64-bit
 * integers and doubles; not long double or SIMD types) but a string
 * (arena_strdup), which is packed byte by byte.  Nothing is freed
 * one by one: arena_release() frees every chunk.  There is no per-allocation
 * header (a chunk holds less than 4 GiB), so an arena of many short strings costs far less than malloc'ing
 * each (glibc rounds each to 32 bytes with its header).
 *
 * Not thread-safe: one owner allocates; once filled, any thread may read.
 */
#ifndef ALIASD_UTIL_ARENA_H
#define ALIASD_UTIL_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct arena_chunk;

#define ARENA_ALIGN 8

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
/* Empty the arena but keep one regular chunk for what comes next (a scratch arena). */
void arena_reset(struct arena *a);
/*
 * Take an arena's chunks (the arena is left empty): an owner that will only
 * ever free them keeps one pointer instead of the struct, and frees them with
 * arena_chunks_free() (accepts NULL).
 */
struct arena_chunk *arena_detach(struct arena *a);
void arena_chunks_free(struct arena_chunk *head);

/*
 * Copy an arena that fits in one chunk into `dst`, one malloc of exactly
 * what it used (no unused tail, one header).  The copy is byte for byte:
 * the caller moves every pointer into the old range [*ret_lo, *ret_hi) by
 * *ret_delta bytes (arena_moved()).  `src` is unchanged.  -E2BIG when it has
 * more than one chunk (nothing done), -ENOMEM.
 */
int arena_compact(struct arena *dst, const struct arena *src, uintptr_t *ret_lo, uintptr_t *ret_hi,
                  ptrdiff_t *ret_delta);

/* A pointer after arena_compact(): moved when it pointed into the old range. */
struct arena_move {
	uintptr_t lo, hi;
	ptrdiff_t delta;
};
static inline void *arena_moved(const struct arena_move *m, const void *p)
{
	uintptr_t u = (uintptr_t)p;

	return (void *)(u >= m->lo && u < m->hi ? (uintptr_t)((intptr_t)u + m->delta) : u);
}

#endif
