#include "util/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

char buf_empty[1];

static size_t buf_cap(const struct buf *b)
{
	return b->cap ? b->cap : BUF_DEFAULT_CAP;
}

void buf_init(struct buf *b, size_t cap)
{
	b->ptr = buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->secret = false;
}

void buf_mark_secret(struct buf *b)
{
	b->secret = true;
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t need, n;
	char *p;

	if (extra > buf_cap(b) || b->len > buf_cap(b) - extra)
		return -E2BIG;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	if (b->secret && b->alloc) {
		/* never leave a copy of a secret behind in freed memory */
		p = malloc(n);
		if (!p)
			return -ENOMEM;
		memcpy(p, b->ptr, b->len + 1);
		OPENSSL_cleanse(b->ptr, b->alloc);
		free(b->ptr);
	} else {
		p = realloc(b->alloc ? b->ptr : NULL, n);
		if (!p)
			return -ENOMEM;
		if (!b->alloc)
			p[0] = '\0';
	}
	b->ptr = p;
	b->alloc = n;
	return 0;
}

int buf_put(struct buf *b, const void *data, size_t len)
{
	int r;

	if (len == 0)
		return 0;
	r = buf_grow(b, len);
	if (r < 0)
		return r;
	memmove(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	return buf_put(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	r = buf_grow(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int buf_sets(struct buf *b, const char *s)
{
	buf_reset(b);
	return buf_puts(b, s);
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	if (b->secret)
		OPENSSL_cleanse(b->ptr + len, b->len - len);
	b->len = len;
	b->ptr[len] = '\0';
}

char *buf_detach(struct buf *b, size_t *ret_len)
{
	char *s;

	if (!b->alloc) {
		s = strdup("");
		if (!s)
			return NULL;
	} else {
		s = b->ptr;
	}
	if (ret_len)
		*ret_len = b->len;
	b->ptr = buf_empty;
	b->len = 0;
	b->alloc = 0;
	return s;
}

void buf_release(struct buf *b)
{
	if (b->secret) {
		buf_release_secret(b);
		return;
	}
	if (b->alloc)
		free(b->ptr);
	b->ptr = buf_empty;
	b->len = 0;
	b->alloc = 0;
}

void buf_release_secret(struct buf *b)
{
	if (b->alloc) {
		OPENSSL_cleanse(b->ptr, b->alloc);
		free(b->ptr);
	}
	b->ptr = buf_empty;
	b->len = 0;
	b->alloc = 0;
}
