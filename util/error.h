/*
 * error.h - error detail carried back to the caller.
 *
 * Library code never prints: it returns a negative errno and fills a
 * caller-supplied `struct error` with a human message and, for input errors,
 * the place (file, 1-based line and column; 0 = unknown).  cmd/ decides what
 * to log.  Functions that find many problems at once (manifest validation)
 * append to a `struct errlist` instead, so all are reported in one run.
 *
 * Every `struct error *` and `struct errlist *` parameter may be NULL: the
 * detail is then dropped.
 */
#ifndef ALIASD_UTIL_ERROR_H
#define ALIASD_UTIL_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#define ERROR_MSG_MAX  1024
#define ERROR_FILE_MAX 512

struct error {
	int code;                  /* negative errno, 0 = no error */
	char msg[ERROR_MSG_MAX];   /* what is wrong, no trailing newline */
	char file[ERROR_FILE_MAX]; /* "" when not about an input file */
	unsigned line, col;        /* 1-based; 0 = unknown */
};

#define ERROR_INIT                                                                                           \
	{                                                                                                    \
		0, "", "", 0, 0                                                                              \
	}

/*
 * Record an error and return `code` (a negative errno), so that callers can
 * write `return error_set(err, -EINVAL, "bad %s", x);`.
 */
int error_set(struct error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int error_setv(struct error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* The same with a place in an input file. */
int error_set_at(struct error *err, int code, const char *file, unsigned line, unsigned col, const char *fmt,
                 ...) __attribute__((format(printf, 6, 7)));
/* Prefix the existing message: "prefix: old message". Returns err->code. */
int error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void error_clear(struct error *err);
/*
 * Format as "file:line:col: msg" (or "file: msg", or "msg") into `out`
 * (always NUL-terminated). Returns `out`.
 */
const char *error_format(const struct error *err, char *out, size_t outsz);

/* A growable list of errors, e.g. every manifest problem of a commit. */
struct errlist {
	struct error *items;
	size_t len, alloc;
	size_t max; /* stop recording after this many (0 = 1000); `dropped` counts the rest */
	size_t dropped;
};

#define ERRLIST_INIT                                                                                         \
	{                                                                                                    \
		NULL, 0, 0, 0, 0                                                                             \
	}

/* Append; returns `code`. On out-of-memory the error is counted as dropped. */
int errlist_add(struct errlist *l, int code, const char *file, unsigned line, unsigned col, const char *fmt,
                ...) __attribute__((format(printf, 6, 7)));
int errlist_addv(struct errlist *l, int code, const char *file, unsigned line, unsigned col, const char *fmt,
                 va_list ap) __attribute__((format(printf, 6, 0)));
int errlist_add_error(struct errlist *l, const struct error *err);
/*
 * Sort by file, line, column (stable), as a compiler would print them, in
 * O(n log n). -ENOMEM leaves the list as it was.
 */
int errlist_sort(struct errlist *l);
size_t errlist_count(const struct errlist *l);
void errlist_free(struct errlist *l);

#endif
