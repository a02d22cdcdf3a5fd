/*
 * buf.h - the one growable byte buffer of aliasd.
 *
 * Invariants (git's strbuf is the model):
 *  - `ptr` is never NULL: an empty buffer points at a static "" until it grows.
 *  - the contents are always NUL-terminated: ptr[len] == '\0'.
 *  - `len` never exceeds `cap` (when cap != 0); a write that would is refused
 *    with -E2BIG and the buffer is left as it was.
 *  - the buffer owns its memory; buf_detach() hands it over to the caller.
 *
 * A buffer may hold secrets: buf_release_secret() wipes every byte ever
 * allocated (OPENSSL_cleanse) before freeing.  Growing a buffer that is marked
 * secret (buf_mark_secret) wipes the old allocation when it moves.
 */
#ifndef ALIASD_UTIL_BUF_H
#define ALIASD_UTIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

extern char buf_empty[];

struct buf {
	char *ptr;
	size_t len;
	size_t alloc; /* bytes allocated, 0 while ptr == buf_empty */
	size_t cap;   /* maximum len, 0 = BUF_DEFAULT_CAP */
	bool secret;  /* wipe on realloc and release */
};

/* Default cap for buffers that set none: 256 MiB. */
#define BUF_DEFAULT_CAP ((size_t)256 << 20)

#define BUF_INIT                                                                                             \
	{                                                                                                    \
		.ptr = buf_empty, .len = 0, .alloc = 0, .cap = 0, .secret = false                            \
	}
#define BUF_INIT_CAP(c)                                                                                      \
	{                                                                                                    \
		.ptr = buf_empty, .len = 0, .alloc = 0, .cap = (c), .secret = false                          \
	}

void buf_init(struct buf *b, size_t cap);
/* Wipe and free if secret; afterwards the buffer is empty and reusable. */
void buf_mark_secret(struct buf *b);

/* Make room for `extra` more bytes. -E2BIG past the cap, -ENOMEM. */
int buf_grow(struct buf *b, size_t extra);
int buf_put(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Set contents to exactly `s`. */
int buf_sets(struct buf *b, const char *s);

/* Truncate to `len` (<= b->len); keeps the allocation (wiped tail if secret). */
void buf_truncate(struct buf *b, size_t len);
static inline void buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

/*
 * Hand the contents over: returns a malloc'ed NUL-terminated string (never
 * NULL unless out of memory) and leaves `b` empty. `ret_len` may be NULL.
 */
char *buf_detach(struct buf *b, size_t *ret_len);

/* Free the memory; `b` is empty and reusable afterwards. Accepts an empty buffer. */
void buf_release(struct buf *b);
/* Zero every allocated byte (OPENSSL_cleanse), then free. */
void buf_release_secret(struct buf *b);

#endif
