/*
 * credentials_process.c - credential_process: run with /bin/sh -c in its own
 * process group, stdout capped, killed after the time limit.
 */
#include "aws/credentials_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/secret.h"

extern char **environ;

/* ---- credential_process -------------------------------------------------- */

static int run_process(const char *cmd, long timeout_ms, const char *what, struct buf *out, struct error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int pipefd[2], status = 0, r = 0;
	pid_t pid;
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)cmd, NULL};
	uint64_t start;
	bool exited = false;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return error_set(err, -errno, "%s: pipe: %s", what, strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	if (r) {
		close(pipefd[0]);
		return error_set(err, -r, "%s: cannot run /bin/sh: %s", what, strerror(r));
	}
	start = clock_monotonic_ms();
	for (;;) {
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		long elapsed_ms;
		char chunk[4096];
		ssize_t n;

		elapsed_ms = (long)clock_elapsed_ms(start);
		if (elapsed_ms >= timeout_ms) {
			r = error_set(err, -ETIMEDOUT, "%s: credential_process did not finish within %.1f s",
			              what, timeout_ms / 1000.0);
			break;
		}
		int pr = poll(&pfd, 1, (int)(timeout_ms - elapsed_ms));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* timeout is checked at the top */
		n = read(pipefd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF: the process closed stdout */
		if (out->len + (size_t)n > PROCESS_OUTPUT_MAX) {
			r = error_set(err, -E2BIG, "%s: credential_process output over %d bytes", what,
			              PROCESS_OUTPUT_MAX);
			secret_wipe(chunk, sizeof(chunk));
			break;
		}
		if (buf_put(out, chunk, (size_t)n) < 0) {
			r = error_set(err, -ENOMEM, "out of memory");
			break;
		}
		secret_wipe(chunk, sizeof(chunk));
	}
	close(pipefd[0]);
	if (r < 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	} else {
		/* stdout closed: give the process the rest of its time to exit */
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid) {
				exited = true;
				break;
			}
			if (w < 0 && errno != EINTR)
				break;
			if ((long)clock_elapsed_ms(start) >= timeout_ms) {
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				r = error_set(err, -ETIMEDOUT,
				              "%s: credential_process did not exit within %.1f s", what,
				              timeout_ms / 1000.0);
				break;
			}
			usleep(5000);
		}
	}
	if (!exited)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (r >= 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		if (WIFEXITED(status))
			r = error_set(err, -EIO, "%s: credential_process exited with status %d", what,
			              WEXITSTATUS(status));
		else
			r = error_set(err, -EIO, "%s: credential_process killed by signal %d", what,
			              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	return r;
}

int cred_process(struct chain *ch, const char *cmd, const char *what, struct aws_credentials *ret,
                 struct error *err)
{
	struct buf out = BUF_INIT;
	char *line;
	int r;

	/* a value continued on indented lines is one command line (botocore splits it with shlex) */
	line = strdup(cmd);
	if (!line)
		return error_set(err, -ENOMEM, "out of memory");
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	buf_mark_secret(&out);
	r = run_process(line, ch->p->process_timeout_ms, what, &out, err);
	free(line);
	if (r >= 0) {
		r = aws_credentials_parse_json(out.ptr, out.len, 1, "process", ret, err);
		if (r < 0)
			error_prefix(err, "%s: credential_process output", what);
	}
	buf_release_secret(&out);
	return r;
}
