#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"

int file_read_fd(struct buf *out, int fd, size_t max, const char *path, struct error *err)
{
	char chunk[65536];
	size_t start = out->len, touched = 0; /* bytes of chunk that ever held data */
	ssize_t n;
	int r = 0;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_set(err, -errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if ((size_t)n > touched)
			touched = (size_t)n;
		if (out->len - start + (size_t)n > max) {
			r = error_set(err, -E2BIG, "%s: larger than %zu bytes", path, max);
			goto out;
		}
		r = buf_put(out, chunk, (size_t)n);
		if (r < 0) {
			error_set(err, r, "%s: out of memory", path);
			goto out;
		}
	}
out:
	/* only what was read: wiping all 64 KiB was a quarter of validating 10,000 small manifests */
	explicit_bzero(chunk, touched);
	if (r < 0)
		buf_truncate(out, start);
	return r;
}

int file_read_fd_sized(struct buf *out, int fd, size_t max, size_t size, const char *path, struct error *err)
{
	size_t start = out->len;
	ssize_t n;
	int r;

	if (size >= max || buf_grow(out, size + 1) < 0)
		return file_read_fd(out, fd, max, path, err);
	do
		n = read(fd, out->ptr + out->len, size + 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_set(err, -errno, "%s: %s", path, strerror(errno));
	out->len += (size_t)n;
	out->ptr[out->len] = '\0';
	if ((size_t)n == size)
		return 0; /* one byte short of what was asked: the end */
	/* the file changed size since it was measured: read on until the end */
	r = file_read_fd(out, fd, max - (size_t)n, path, err);
	if (r == -E2BIG)
		error_set(err, r, "%s: larger than %zu bytes", path, max);
	if (r < 0)
		buf_truncate(out, start);
	return r;
}
