/* sentstatus.c - the last commit status sent, kept across restarts (see sentstatus.h). */
#include "cmd/daemon/sentstatus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/daemon/state.h"
#include "util/buf.h"
#include "util/file.h"

#define SENT_STATUS_FILE_MAX 4096

int sent_status_text(char **ret_text, const struct sent_status *s)
{
	struct buf b = BUF_INIT;

	if (buf_printf(&b, "%s\n%s\n%s\n%s\n", SENT_STATUS_FORMAT, s->rev, notify_state_name(s->state),
	               s->desc) < 0) {
		buf_release(&b);
		return -ENOMEM;
	}
	*ret_text = buf_detach(&b, NULL);
	return *ret_text ? 0 : -ENOMEM;
}

/* The next line of [*p, end) into out (NUL-terminated, without the newline); false if none or too long. */
static bool next_line(const char **p, const char *end, char *out, size_t outsz)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;

	if (!nl)
		return false;
	n = (size_t)(nl - *p);
	if (n >= outsz || memchr(*p, '\0', n))
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nl + 1;
	return true;
}

int sent_status_parse(struct sent_status *ret, const char *text, size_t len)
{
	static const enum notify_state states[] = {NOTIFY_PENDING, NOTIFY_SUCCESS, NOTIFY_FAILURE,
	                                           NOTIFY_ERROR};
	const char *p = text, *end = text + len;
	char format[64], state[16];
	struct sent_status s;
	bool known = false;

	memset(&s, 0, sizeof(s));
	if (!next_line(&p, end, format, sizeof(format)) || strcmp(format, SENT_STATUS_FORMAT) ||
	    !next_line(&p, end, s.rev, sizeof(s.rev)) || strlen(s.rev) != CORE_REV_LEN - 1 ||
	    strspn(s.rev, "0123456789abcdef") != CORE_REV_LEN - 1 ||
	    !next_line(&p, end, state, sizeof(state)) || !next_line(&p, end, s.desc, sizeof(s.desc)) ||
	    p != end)
		return -EBADMSG;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		if (!strcmp(state, notify_state_name(states[i]))) {
			s.state = states[i];
			known = true;
		}
	}
	if (!known)
		return -EBADMSG;
	*ret = s;
	return 0;
}

int sent_status_read(struct sent_status *ret, const char *path, struct error *err)
{
	struct buf b = BUF_INIT;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return error_set(err, -errno, "%s: %s", path, strerror(errno));
	}
	r = file_read_fd(&b, fd, SENT_STATUS_FILE_MAX, path, err);
	close(fd);
	if (r >= 0) {
		r = sent_status_parse(ret, b.ptr ? b.ptr : "", b.len);
		if (r < 0)
			error_set(err, r, "%s: not a %s file", path, SENT_STATUS_FORMAT);
	}
	buf_release(&b);
	return r;
}

int sent_status_write(const char *path, const struct sent_status *s, struct error *err)
{
	char *text = NULL;
	int r;

	if (sent_status_text(&text, s) < 0)
		return error_set(err, -ENOMEM, "out of memory");
	r = state_write(path, text, err);
	free(text);
	return r;
}
