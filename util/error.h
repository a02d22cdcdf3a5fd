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

/*
 * What kind of failure an error is, so that callers decide by kind, never by
 * errno alone or by message text (an -ENOENT from a credential lookup is not
 * a missing function).  Set where the failure is understood (aws/ classifies
 * by AWS error code and HTTP status); ERROR_KIND_UNSPECIFIED means nobody
 * said, and callers treat it as ERROR_KIND_TERMINAL.
 */
enum error_kind {
	ERROR_KIND_UNSPECIFIED = 0,
	ERROR_KIND_NOT_FOUND,   /* the resource does not exist (Lambda's ResourceNotFoundException) */
	ERROR_KIND_CONFLICT,    /* the world moved (409, 412): observe again and re-plan */
	ERROR_KIND_TRANSIENT,   /* throttling, 5xx, network, timeouts: back off and retry */
	ERROR_KIND_CREDENTIALS, /* no credentials, or a source that failed or expired; signing */
	ERROR_KIND_TERMINAL,    /* denied, rejected as invalid, a pinned version that does not exist:
	                           retrying the same request cannot help */
	ERROR_KIND_CANCELED,    /* stopped on request (SIGTERM) */
};

/* "not-found", "conflict", "transient", "credentials", "terminal", "canceled", "unspecified". */
const char *error_kind_name(enum error_kind kind);

struct error {
	int code;                  /* negative errno, 0 = no error */
	enum error_kind kind;      /* set by error_set_kind(); error_set() resets it */
	char msg[ERROR_MSG_MAX];   /* what is wrong, no trailing newline */
	char file[ERROR_FILE_MAX]; /* "" when not about an input file */
	unsigned line, col;        /* 1-based; 0 = unknown */
};

#define ERROR_INIT                                                                                           \
	{                                                                                                    \
		0, ERROR_KIND_UNSPECIFIED, "", "", 0, 0                                                      \
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
/* Say what kind of failure err is; returns err->code (0 when err is NULL). */
int error_set_kind(struct error *err, enum error_kind kind);
/* err's kind; ERROR_KIND_UNSPECIFIED for NULL or no error. */
enum error_kind error_kind_of(const struct error *err);
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
void errlist_release(struct errlist *l);

#endif
