#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/harness.h"
#include "util/file.h"

/* A pipe whose read end yields `data` and then end of file. */
static int pipe_with(const char *data, size_t len)
{
	int p[2];

	REQUIRE(pipe(p) == 0);
	REQUIRE(write(p[1], data, len) == (ssize_t)len);
	close(p[1]);
	return p[0];
}

TEST(reads_everything_appending)
{
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	int fd = pipe_with("hello\nworld", 11);

	REQUIRE(buf_puts(&b, ">") == 0);
	CHECK_INT(file_read_fd(&b, fd, 11, "p", &err), 0);
	CHECK_STR(b.ptr, ">hello\nworld");
	CHECK_INT(b.len, 12);
	CHECK_INT(err.code, 0);
	close(fd);
	buf_release(&b);
}

TEST(over_the_limit)
{
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	int fd = pipe_with("0123456789", 10);

	REQUIRE(buf_puts(&b, "keep") == 0);
	CHECK_INT(file_read_fd(&b, fd, 9, "some/file", &err), -E2BIG);
	CHECK_STR(err.msg, "some/file: larger than 9 bytes");
	CHECK_STR(b.ptr, "keep"); /* truncated back */
	close(fd);
	buf_release(&b);
}

TEST(buffer_cap)
{
	struct buf b = BUF_INIT_CAP(4);
	struct error err = ERROR_INIT;
	int fd = pipe_with("0123456789", 10);

	CHECK_INT(file_read_fd(&b, fd, 100, "f", &err), -E2BIG);
	CHECK_STR(err.msg, "f: out of memory");
	CHECK_INT(b.len, 0);
	close(fd);
	buf_release(&b);
}

TEST(read_error)
{
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	int fd = open(".", O_RDONLY | O_DIRECTORY);

	REQUIRE(fd >= 0);
	CHECK_INT(file_read_fd(&b, fd, 100, "dir", &err), -EISDIR);
	CHECK_STR(err.msg, "dir: Is a directory");
	close(fd);
	buf_release(&b);
}

TEST(sized_read_trusts_the_size)
{
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	int p[2];

	/* the writer stays open: a second read would block, so one read must be all */
	REQUIRE(pipe(p) == 0);
	REQUIRE(write(p[1], "hello", 5) == 5);
	REQUIRE(buf_puts(&b, ">") == 0);
	CHECK_INT(file_read_fd_sized(&b, p[0], 100, 5, "p", &err), 0);
	CHECK_STR(b.ptr, ">hello");
	CHECK_INT(b.len, 6);
	close(p[0]);
	close(p[1]);
	buf_release(&b);
}

TEST(sized_read_of_a_file_that_changed_size)
{
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	int fd = pipe_with("0123456789", 10);

	CHECK_INT(file_read_fd_sized(&b, fd, 100, 3, "f", &err), 0); /* grew */
	CHECK_STR(b.ptr, "0123456789");
	close(fd);
	buf_reset(&b);
	fd = pipe_with("0123", 4);
	CHECK_INT(file_read_fd_sized(&b, fd, 100, 8, "f", &err), 0); /* shrank */
	CHECK_STR(b.ptr, "0123");
	close(fd);
	REQUIRE(buf_sets(&b, "keep") == 0);
	fd = pipe_with("0123456789", 10);
	CHECK_INT(file_read_fd_sized(&b, fd, 9, 3, "some/file", &err), -E2BIG);
	CHECK_STR(err.msg, "some/file: larger than 9 bytes");
	CHECK_STR(b.ptr, "keep");
	close(fd);
	fd = pipe_with("0123456789", 10);
	CHECK_INT(file_read_fd_sized(&b, fd, 9, 10, "some/file", &err), -E2BIG); /* size over max */
	CHECK_STR(b.ptr, "keep");
	close(fd);
	buf_release(&b);
}

TEST_MAIN(reads_everything_appending, over_the_limit, buffer_cap, read_error, sized_read_trusts_the_size,
          sized_read_of_a_file_that_changed_size)
