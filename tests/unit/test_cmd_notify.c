#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd/notify.h"
#include "tests/unit/harness.h"

/* Bind a datagram socket at `path` ("/..." or "@..."); returns the fd. */
static int bind_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@') {
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int recv_msg(int fd, char *out, size_t outsz)
{
	ssize_t n = recv(fd, out, outsz - 1, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	out[n] = '\0';
	return (int)n;
}

TEST(notify_path_socket)
{
	char dir[] = "/tmp/test_notify.XXXXXX", path[128], got[256];
	int fd;

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_socket(path);
	REQUIRE(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_INT(notify_send("READY=1"), 1);
	CHECK_INT(recv_msg(fd, got, sizeof(got)), 7);
	CHECK_STR(got, "READY=1");
	CHECK_INT(notify_status("synced %d functions\nrev=%s", 3, "abc"), 1);
	CHECK(recv_msg(fd, got, sizeof(got)) > 0);
	CHECK_STR(got, "STATUS=synced 3 functions rev=abc");
	CHECK_INT(notify_send("WATCHDOG=1"), 1);
	CHECK(recv_msg(fd, got, sizeof(got)) > 0);
	CHECK_STR(got, "WATCHDOG=1");
	/* nothing else queued */
	CHECK_INT(recv_msg(fd, got, sizeof(got)), -EAGAIN);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);
	rmdir(dir);
}

TEST(notify_abstract_socket)
{
	char name[64], got[256];
	int fd;

	snprintf(name, sizeof(name), "@aliasd-test-notify-%ld", (long)getpid());
	fd = bind_socket(name);
	REQUIRE(fd >= 0);
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK_INT(notify_send("STOPPING=1"), 1);
	CHECK(recv_msg(fd, got, sizeof(got)) > 0);
	CHECK_STR(got, "STOPPING=1");
	CHECK_INT(notify_send("RELOADING=1\nSTATUS=reloading"), 1);
	CHECK(recv_msg(fd, got, sizeof(got)) > 0);
	CHECK_STR(got, "RELOADING=1\nSTATUS=reloading");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

TEST(notify_unset_is_noop)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK_INT(notify_send("READY=1"), 0);
	CHECK_INT(notify_status("x"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CHECK_INT(notify_send("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}

TEST(notify_errors)
{
	struct error err = ERROR_INIT;
	char longpath[200];

	CHECK_INT(notify_socket_send("relative/path", "READY=1", &err), -EINVAL);
	CHECK(strstr(err.msg, "absolute") != NULL);
	CHECK_INT(notify_socket_send("@", "READY=1", NULL), -EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_INT(notify_socket_send(longpath, "READY=1", NULL), -EINVAL);
	CHECK_INT(notify_socket_send("/tmp/no-such-dir-aliasd/sock", "READY=1", NULL), -ENOENT);
	CHECK_INT(notify_socket_send("/tmp/x", "", NULL), -EINVAL);
}

TEST(notify_watchdog)
{
	uint64_t usec = 0;
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	CHECK_INT(notify_watchdog_usec(&usec), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	CHECK_INT(notify_watchdog_usec(&usec), 1);
	CHECK_U64(usec, 30000000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	usec = 0;
	CHECK_INT(notify_watchdog_usec(&usec), 1);
	CHECK_U64(usec, 30000000);
	setenv("WATCHDOG_PID", "1", 1); /* someone else's */
	usec = 7;
	CHECK_INT(notify_watchdog_usec(&usec), 0);
	CHECK_U64(usec, 7);
	setenv("WATCHDOG_USEC", "soon", 1);
	unsetenv("WATCHDOG_PID");
	CHECK_INT(notify_watchdog_usec(&usec), -EINVAL);
	unsetenv("WATCHDOG_USEC");
}

TEST_MAIN(notify_path_socket, notify_abstract_socket, notify_unset_is_noop, notify_errors, notify_watchdog)
