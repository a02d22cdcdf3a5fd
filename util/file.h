/*
 * file.h - reading a whole file descriptor into a buffer, with a size cap.
 *
 * Opening is the caller's: each caller has its own rules (O_NOFOLLOW below a
 * directory fd, regular files only, ...).  This only reads.
 */
#ifndef ALIASD_UTIL_FILE_H
#define ALIASD_UTIL_FILE_H

#include <stddef.h>

#include "util/buf.h"
#include "util/error.h"

/*
 * Append everything `fd` yields until end of file to `out`, at most `max`
 * bytes (counted from out->len on entry); EINTR is retried.  `path` names the
 * file in messages.  Returns 0; on error sets `err` and returns
 *  -E2BIG   the file holds more than `max` bytes ("PATH: larger than MAX bytes"),
 *  -errno   read(2) failed ("PATH: strerror"),
 *  buf_put's code when `out` cannot grow ("PATH: out of memory"),
 * and truncates `out` back to its length on entry.  The stack buffer that
 * passed the bytes is wiped, so secrets may be read this way (mark `out`
 * secret first).  `fd` stays open.
 */
int file_read_fd(struct buf *out, int fd, size_t max, const char *path, struct error *err);

/*
 * The same for a regular file that fstat() said holds `size` bytes: read
 * straight into `out` with one read(2) asking for size + 1 bytes, and a
 * read that returns exactly `size` bytes is taken as the end (a regular
 * file is read short only at its end); a file that changed size meanwhile is
 * read on to its end as above.  Nothing passes through the stack, so there
 * is nothing to wipe (mark `out` secret for secrets).
 */
int file_read_fd_sized(struct buf *out, int fd, size_t max, size_t size, const char *path, struct error *err);

#endif
