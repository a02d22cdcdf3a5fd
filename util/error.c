#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int error_setv(struct error *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	err->kind = ERROR_KIND_UNSPECIFIED;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	err->file[0] = '\0';
	err->line = err->col = 0;
	return code;
}

int error_set(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_setv(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int error_set_at(struct error *err, int code, const char *file, unsigned line, unsigned col, const char *fmt,
                 ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_setv(err, code, fmt, ap);
	va_end(ap);
	if (err) {
		snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
		err->line = line;
		err->col = col;
	}
	return code;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
	char prefix[ERROR_MSG_MAX], old[ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* build by hand: snprintf of two full-size strings trips -Wformat-truncation */
	size_t n = strlen(prefix);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	size_t m = strlen(old);
	if (m > sizeof(err->msg) - n - 3)
		m = sizeof(err->msg) - n - 3;
	memcpy(err->msg + n + 2, old, m);
	err->msg[n + 2 + m] = '\0';
	return err->code;
}

void error_clear(struct error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->kind = ERROR_KIND_UNSPECIFIED;
	err->msg[0] = '\0';
	err->file[0] = '\0';
	err->line = err->col = 0;
}

const char *error_format(const struct error *err, char *out, size_t outsz)
{
	if (!outsz)
		return out;
	if (!err->file[0])
		snprintf(out, outsz, "%s", err->msg);
	else if (!err->line)
		snprintf(out, outsz, "%s: %s", err->file, err->msg);
	else if (!err->col)
		snprintf(out, outsz, "%s:%u: %s", err->file, err->line, err->msg);
	else
		snprintf(out, outsz, "%s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	return out;
}

int errlist_addv(struct errlist *l, int code, const char *file, unsigned line, unsigned col, const char *fmt,
                 va_list ap)
{
	size_t max;
	struct error *e;

	if (!l)
		return code;
	max = l->max ? l->max : 1000;
	if (l->len >= max) {
		l->dropped++;
		return code;
	}
	if (l->len == l->alloc) {
		size_t n = l->alloc ? l->alloc * 2 : 8;
		struct error *p = realloc(l->items, n * sizeof(*p));
		if (!p) {
			l->dropped++;
			return code;
		}
		l->items = p;
		l->alloc = n;
	}
	e = &l->items[l->len++];
	error_setv(e, code, fmt, ap);
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
	e->line = line;
	e->col = col;
	return code;
}

int errlist_add(struct errlist *l, int code, const char *file, unsigned line, unsigned col, const char *fmt,
                ...)
{
	va_list ap;

	va_start(ap, fmt);
	errlist_addv(l, code, file, line, col, fmt, ap);
	va_end(ap);
	return code;
}

int errlist_add_error(struct errlist *l, const struct error *err)
{
	return errlist_add(l, err->code, err->file, err->line, err->col, "%s", err->msg);
}

static int error_order(const void *pa, const void *pb)
{
	const struct error *a = *(const struct error *const *)pa, *b = *(const struct error *const *)pb;
	int c = strcmp(a->file, b->file);

	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a < b ? -1 : a > b; /* stable: keep the order of discovery */
}

int errlist_sort(struct errlist *l)
{
	struct error **order, *items;

	if (!l || l->len < 2)
		return 0;
	/* sort pointers, then move each (large) struct once: O(n log n) */
	order = malloc(l->len * sizeof(*order));
	items = malloc(l->alloc * sizeof(*items));
	if (!order || !items) {
		free(order);
		free(items);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->len; i++)
		order[i] = &l->items[i];
	qsort(order, l->len, sizeof(*order), error_order);
	for (size_t i = 0; i < l->len; i++)
		items[i] = *order[i];
	free(order);
	free(l->items);
	l->items = items;
	return 0;
}

size_t errlist_count(const struct errlist *l)
{
	if (!l)
		return 0;
	return l->len + l->dropped;
}

void errlist_release(struct errlist *l)
{
	if (!l)
		return;
	free(l->items);
	l->items = NULL;
	l->len = l->alloc = l->dropped = 0;
}

int error_set_kind(struct error *err, enum error_kind kind)
{
	if (!err)
		return 0;
	err->kind = kind;
	return err->code;
}

enum error_kind error_kind_of(const struct error *err)
{
	if (!err || err->code == 0)
		return ERROR_KIND_UNSPECIFIED;
	return err->kind;
}

const char *error_kind_name(enum error_kind kind)
{
	switch (kind) {
	case ERROR_KIND_NOT_FOUND:
		return "not-found";
	case ERROR_KIND_CONFLICT:
		return "conflict";
	case ERROR_KIND_TRANSIENT:
		return "transient";
	case ERROR_KIND_CREDENTIALS:
		return "credentials";
	case ERROR_KIND_TERMINAL:
		return "terminal";
	case ERROR_KIND_CANCELED:
		return "canceled";
	case ERROR_KIND_UNSPECIFIED:
		break;
	}
	return "unspecified";
}
