/*
 * notify.c - sd_notify over a datagram unix socket, see notify.h.
 */
#include "cmd/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/parse.h"

int notify_socket_send(const char *path, const char *msg, struct error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen, mlen;
	socklen_t salen;
	ssize_t n;
	int fd, r;

	if (!path || !msg)
		return error_set(err, -EINVAL, "notify: no socket or message");
	plen = strlen(path);
	mlen = strlen(msg);
	if (mlen == 0 || mlen > NOTIFY_MSG_MAX)
		return error_set(err, -EINVAL, "notify: message of %zu bytes", mlen);
	if (plen < 2 || (path[0] != '/' && path[0] != '@'))
		return error_set(err, -EINVAL, "notify: NOTIFY_SOCKET must be an absolute path or @name");
	if (plen > sizeof(sa.sun_path) - (path[0] == '/' ? 1 : 0))
		return error_set(err, -EINVAL, "notify: NOTIFY_SOCKET path too long");
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@') {
		sa.sun_path[0] = '\0'; /* abstract namespace: exact length, no NUL */
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	} else {
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
	}

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(err, -errno, "notify: socket: %s", strerror(errno));
	do
		n = sendto(fd, msg, mlen, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = error_set(err, -errno, "notify: send to %s: %s", path, strerror(errno));
		goto out;
	}
	if ((size_t)n != mlen) {
		r = error_set(err, -EIO, "notify: short send");
		goto out;
	}
	r = 1;
out:
	close(fd);
	return r;
}

int notify_send(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");

	if (!path || !*path)
		return 0;
	return notify_socket_send(path, msg, NULL);
}

int notify_status(const char *fmt, ...)
{
	char msg[7 + 201];
	va_list ap;

	memcpy(msg, "STATUS=", 7);
	va_start(ap, fmt);
	vsnprintf(msg + 7, sizeof(msg) - 7, fmt, ap);
	va_end(ap);
	for (char *p = msg + 7; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return notify_send(msg);
}

int notify_watchdog_usec(uint64_t *ret_usec)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t u, p;

	if (!usec || !*usec)
		return 0;
	if (parse_u64(usec, 1, UINT64_MAX, &u, NULL) < 0)
		return -EINVAL;
	if (pid && *pid) {
		if (parse_u64(pid, 1, UINT32_MAX, &p, NULL) < 0)
			return -EINVAL;
		if ((pid_t)p != getpid())
			return 0;
	}
	*ret_usec = u;
	return 1;
}
