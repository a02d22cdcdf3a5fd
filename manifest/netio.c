/*
 * netio.c - the socket stream that gives libgit2 timeouts and cancel, and
 * the SSH watchdog (see repo_internal.h for how remote.c drives it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/stream.h>

#include "manifest/repo_internal.h"

/*
 * libgit2 1.5 has no network timeouts: a server that stops answering would
 * hang the daemon forever.  So aliasd registers its own plain socket stream
 * (used by git://, http:// and, under the TLS layer, https://): connect, read
 * and write wait at most the handle's timeout for progress, and the whole
 * operation at most REPO_OP_SECONDS_MAX.  The settings are per thread, set by
 * repo_resolve() before it calls libgit2 (which runs in the caller's thread).
 *
 * The first members MUST stay laid out like libgit2's git_socket_stream
 * { git_stream parent; char *host; char *port; int s; }: libgit2's SSH
 * transport reads the socket descriptor at that place to hand it to libssh2,
 * which then does all SSH I/O itself (blocking poll() without a timeout, its
 * handshake included), bypassing read/write below.  For SSH the timeouts are
 * therefore enforced from outside by a watchdog (struct repo_watch, in repo_internal.h).
 */
struct repo_watch;

struct repo_stream {
	git_stream parent;
	char *host;
	char *port;
	int s;
	/* ours, after libgit2's layout */
	int timeout_ms;
	struct timespec deadline;
	const volatile sig_atomic_t *cancel; /* the handle's manifest_repo_cancel() flag, or NULL */
	manifest_repo_progress_fn progress;  /* told of every read that returned data, or NULL */
	void *progress_arg;
	uint64_t received;              /* bytes read through this stream */
	struct repo_watch *watch;       /* SSH operation: the watchdog to register with */
	struct repo_stream *watch_next; /* in watch->streams, under watch->lock */
	bool watched;                   /* registered (st->s may be shut down by the watchdog) */
	bool shut;                      /* shut down by the watchdog (under watch->lock) */
};

static _Thread_local int repo_tls_timeout_ms;
static _Thread_local struct timespec repo_tls_deadline;
static _Thread_local bool repo_tls_timed_out;
static _Thread_local const volatile sig_atomic_t *repo_tls_cancel; /* of the operation on this thread */
static _Thread_local manifest_repo_progress_fn repo_tls_progress;
static _Thread_local void *repo_tls_progress_arg;
static _Thread_local struct repo_watch *repo_tls_watch; /* the SSH operation running on this thread */

static long long repo_ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * Milliseconds without traffic on TCP socket `fd` in either direction, or -1
 * when unknown or when received data waits unread (the client is busy, not
 * the server).  From the kernel's TCP_INFO: both counters start at connect.
 */
static long long repo_sock_idle_ms(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int unread = 0;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || len < sizeof(ti))
		return -1;
	if (ioctl(fd, FIONREAD, &unread) == 0 && unread > 0)
		return -1;
	if (ti.tcpi_last_data_recv < ti.tcpi_last_data_sent)
		return ti.tcpi_last_data_recv;
	return ti.tcpi_last_data_sent;
}

/* One look at every registered socket; called with w->lock held. */
static void repo_watch_check(struct repo_watch *w)
{
	bool canceled = w->cancel && *w->cancel;
	bool late = canceled || repo_ms_until(&w->deadline) <= 0;

	for (struct repo_stream *st = w->streams; st; st = st->watch_next) {
		long long idle;
		bool v6;

		if (st->shut || st->s < 0)
			continue;
		idle = late ? -1 : repo_sock_idle_ms(st->s);
		if (!late && idle < w->timeout_ms)
			continue;
		st->shut = true;
		if (w->fired == REPO_WATCH_NONE) {
			v6 = strchr(st->host, ':') != NULL;
			w->fired = canceled ? REPO_WATCH_CANCELED
			           : late   ? REPO_WATCH_DEADLINE
			                    : REPO_WATCH_IDLE;
			if (canceled)
				snprintf(w->fired_msg, sizeof(w->fired_msg), "canceled");
			else if (late)
				snprintf(w->fired_msg, sizeof(w->fired_msg),
				         "the operation took longer than %d s in all", REPO_OP_SECONDS_MAX);
			else
				snprintf(w->fired_msg, sizeof(w->fired_msg),
				         "no data from ssh://%s%.256s%s:%.16s for %.3g s", v6 ? "[" : "",
				         st->host, v6 ? "]" : "", st->port, w->timeout_ms / 1000.0);
		}
		shutdown(st->s, SHUT_RDWR); /* wakes libssh2's poll(); the fd stays ours until close */
	}
}

static void *repo_watch_main(void *arg)
{
	struct repo_watch *w = arg;
	/* at most REPO_WATCH_TICK_MS: a cancel is noticed within that, whatever the timeout */
	int tick = w->timeout_ms / 4 < REPO_WATCH_TICK_MS ? w->timeout_ms / 4 : REPO_WATCH_TICK_MS;

	if (tick < 10)
		tick = 10;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct timespec t;

		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += (long)tick * 1000000;
		t.tv_sec += t.tv_nsec / 1000000000;
		t.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&w->cond, &w->lock, &t);
		if (!w->stop)
			repo_watch_check(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Prepare a watch for one operation (no thread yet); 0 or -errno. */
static int repo_watch_init(struct repo_watch *w, int timeout_ms, const struct timespec *deadline,
                           const volatile sig_atomic_t *cancel)
{
	pthread_condattr_t ca;
	int e;

	memset(w, 0, sizeof(*w));
	w->timeout_ms = timeout_ms;
	w->deadline = *deadline;
	w->cancel = cancel;
	e = pthread_mutex_init(&w->lock, NULL);
	if (e)
		return -e;
	e = pthread_condattr_init(&ca);
	if (!e) {
		e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (!e)
			e = pthread_cond_init(&w->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (e) {
		pthread_mutex_destroy(&w->lock);
		return -e;
	}
	return 0;
}

/* Register a connected stream, starting the thread if needed; -1 with a libgit2 error. */
static int repo_watch_add(struct repo_watch *w, struct repo_stream *st)
{
	int e = 0;

	pthread_mutex_lock(&w->lock);
	if (!w->started) {
		sigset_t all, old;

		/* the watchdog takes no signals: they stay for the threads that expect them */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		e = pthread_create(&w->thread, NULL, repo_watch_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		w->started = e == 0;
	}
	if (!e) {
		st->watch_next = w->streams;
		w->streams = st;
		st->watched = true;
	}
	pthread_mutex_unlock(&w->lock);
	if (e) {
		char m[128];

		snprintf(m, sizeof(m), "cannot start the SSH timeout watchdog: %s", strerror(e));
		git_error_set_str(GIT_ERROR_OS, m);
		return -1;
	}
	return 0;
}

/* Unregister before the descriptor is closed (idempotent). */
static void repo_watch_remove(struct repo_stream *st)
{
	struct repo_watch *w = st->watch;

	if (!w || !st->watched)
		return;
	pthread_mutex_lock(&w->lock);
	for (struct repo_stream **pp = &w->streams; *pp; pp = &(*pp)->watch_next) {
		if (*pp == st) {
			*pp = st->watch_next;
			break;
		}
	}
	st->watch_next = NULL;
	st->watched = false;
	pthread_mutex_unlock(&w->lock);
}

/* The watchdog's verdict: true (and its message) if it shut a socket down. */
static bool repo_watch_fired(struct repo_watch *w, char *msg, size_t msgsz)
{
	bool fired;

	if (!w)
		return false;
	pthread_mutex_lock(&w->lock);
	fired = w->fired != REPO_WATCH_NONE;
	if (fired)
		snprintf(msg, msgsz, "%s", w->fired_msg);
	pthread_mutex_unlock(&w->lock);
	return fired;
}

/* End of the operation: stop and join the thread, detach what is left. */
static void repo_watch_end(struct repo_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	/* streams libgit2 did not free (none expected) must not point here any more */
	for (struct repo_stream *st = w->streams, *next; st; st = next) {
		next = st->watch_next;
		st->watch_next = NULL;
		st->watched = false;
		st->watch = NULL;
	}
	w->streams = NULL;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	if (repo_tls_watch == w)
		repo_tls_watch = NULL;
}

void repo_io_begin(int timeout_ms, const volatile sig_atomic_t *cancel, manifest_repo_progress_fn progress,
                   void *progress_arg)
{
	repo_tls_cancel = cancel;
	repo_tls_progress = progress;
	repo_tls_progress_arg = progress_arg;
	repo_tls_timeout_ms = timeout_ms > 0 ? timeout_ms : REPO_TIMEOUT_MS_DEFAULT;
	clock_gettime(CLOCK_MONOTONIC, &repo_tls_deadline);
	repo_tls_deadline.tv_sec += REPO_OP_SECONDS_MAX;
	repo_tls_timed_out = false;
}

/*
 * Wait until the socket is ready for `events`; -1 with a libgit2 error on
 * timeout or cancel.  The wait is cut in slices of REPO_WATCH_TICK_MS so that
 * manifest_repo_cancel() is noticed while a server stays silent.
 */
static int repo_stream_wait(struct repo_stream *st, short events)
{
	struct timespec idle_end;

	clock_gettime(CLOCK_MONOTONIC, &idle_end);
	idle_end.tv_sec += st->timeout_ms / 1000;
	idle_end.tv_nsec += (long)(st->timeout_ms % 1000) * 1000000;
	idle_end.tv_sec += idle_end.tv_nsec / 1000000000;
	idle_end.tv_nsec %= 1000000000;
	for (;;) {
		struct pollfd pfd = {.fd = st->s, .events = events};
		long long left_ms = repo_ms_until(&st->deadline), idle_ms = repo_ms_until(&idle_end);
		int wait_ms, n;

		if (st->cancel && *st->cancel) {
			git_error_set_str(GIT_ERROR_NET, "canceled");
			return -1;
		}
		if (left_ms <= 0) {
			repo_tls_timed_out = true;
			git_error_set_str(GIT_ERROR_NET, "the operation took too long");
			return -1;
		}
		if (idle_ms <= 0) {
			char m[96];

			repo_tls_timed_out = true;
			snprintf(m, sizeof(m), "no answer from the server for %d ms", st->timeout_ms);
			git_error_set_str(GIT_ERROR_NET, m);
			return -1;
		}
		wait_ms = (int)(left_ms < idle_ms ? left_ms : idle_ms);
		if (wait_ms > REPO_WATCH_TICK_MS)
			wait_ms = REPO_WATCH_TICK_MS;
		n = poll(&pfd, 1, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			git_error_set_str(GIT_ERROR_NET, strerror(errno));
			return -1;
		}
		if (n > 0)
			return 0;
	}
}

/*
 * The socket is connected: for an SSH operation, hand it to the watchdog
 * before libgit2 gives it to libssh2 (so the SSH handshake is covered too).
 */
static int repo_stream_connected(struct repo_stream *st)
{
	if (st->watch && repo_watch_add(st->watch, st) < 0) {
		close(st->s);
		st->s = -1;
		return -1;
	}
	return 0;
}

static int repo_stream_connect(git_stream *stream)
{
	struct repo_stream *st = (struct repo_stream *)stream;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	struct addrinfo *info = NULL;
	char m[600];
	int grc, last = 0;

	grc = getaddrinfo(st->host, st->port, &hints, &info);
	if (grc != 0) {
		snprintf(m, sizeof(m), "failed to resolve address for %.256s: %s", st->host,
		         gai_strerror(grc));
		git_error_set_str(GIT_ERROR_NET, m);
		return -1;
	}
	for (struct addrinfo *p = info; p; p = p->ai_next) {
		int s = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (s < 0) {
			last = errno;
			continue;
		}
		st->s = s;
		if (connect(s, p->ai_addr, p->ai_addrlen) == 0) {
			freeaddrinfo(info);
			return repo_stream_connected(st);
		}
		if (errno == EINPROGRESS) {
			if (repo_stream_wait(st, POLLOUT) < 0) {
				close(s);
				st->s = -1;
				freeaddrinfo(info);
				return -1; /* timed out: do not try every other address for as long */
			}
			if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
				freeaddrinfo(info);
				return repo_stream_connected(st);
			}
			last = soerr;
		} else {
			last = errno;
		}
		close(s);
		st->s = -1;
	}
	freeaddrinfo(info);
	snprintf(m, sizeof(m), "failed to connect to %.256s port %.16s: %s", st->host, st->port,
	         strerror(last ? last : ECONNREFUSED));
	git_error_set_str(GIT_ERROR_NET, m);
	return -1;
}

static ssize_t repo_stream_read(git_stream *stream, void *data, size_t len)
{
	struct repo_stream *st = (struct repo_stream *)stream;

	for (;;) {
		ssize_t n = recv(st->s, data, len, 0);

		if (n > 0 && st->progress) {
			/* byte-level liveness: libgit2 itself reports only every ~100 KB */
			st->received += (uint64_t)n;
			st->progress(st->progress_arg, st->received);
		}
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			char m[128];

			snprintf(m, sizeof(m), "error receiving data from socket: %s", strerror(errno));
			git_error_set_str(GIT_ERROR_NET, m);
			return -1;
		}
		if (repo_stream_wait(st, POLLIN) < 0)
			return -1;
	}
}

static ssize_t repo_stream_write(git_stream *stream, const char *data, size_t len, int flags)
{
	struct repo_stream *st = (struct repo_stream *)stream;

	(void)flags;
	for (;;) {
		ssize_t n = send(st->s, data, len, MSG_NOSIGNAL);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			char m[128];

			snprintf(m, sizeof(m), "error sending data to socket: %s", strerror(errno));
			git_error_set_str(GIT_ERROR_NET, m);
			return -1;
		}
		if (repo_stream_wait(st, POLLOUT) < 0)
			return -1;
	}
}

static int repo_stream_close(git_stream *stream)
{
	struct repo_stream *st = (struct repo_stream *)stream;
	int rc = 0;

	repo_watch_remove(st);
	if (st->s >= 0)
		rc = close(st->s);
	st->s = -1;
	return rc;
}

static void repo_stream_free(git_stream *stream)
{
	struct repo_stream *st = (struct repo_stream *)stream;

	repo_watch_remove(st);
	if (st->s >= 0)
		close(st->s);
	free(st->host);
	free(st->port);
	free(st);
}

int repo_stream_new(git_stream **out, const char *host, const char *port)
{
	struct repo_stream *st = calloc(1, sizeof(*st));

	if (!st || !(st->host = strdup(host)) || !(st->port = strdup(port ? port : ""))) {
		if (st)
			free(st->host);
		free(st);
		git_error_set_str(GIT_ERROR_NET, "out of memory");
		return -1;
	}
	st->parent.version = GIT_STREAM_VERSION;
	st->parent.connect = repo_stream_connect;
	st->parent.read = repo_stream_read;
	st->parent.write = repo_stream_write;
	st->parent.close = repo_stream_close;
	st->parent.free = repo_stream_free;
	st->s = -1;
	if (repo_tls_timeout_ms <= 0) /* a thread that did not go through repo_resolve() */
		repo_io_begin(0, NULL, NULL, NULL);
	st->cancel = repo_tls_cancel;
	st->progress = repo_tls_progress;
	st->progress_arg = repo_tls_progress_arg;
	st->timeout_ms = repo_tls_timeout_ms;
	st->deadline = repo_tls_deadline;
	st->watch = repo_tls_watch;
	*out = &st->parent;
	return 0;
}

int repo_io_watch_begin(struct repo_watch *w)
{
	int rc = repo_watch_init(w, repo_tls_timeout_ms, &repo_tls_deadline, repo_tls_cancel);

	if (rc == 0)
		repo_tls_watch = w;
	return rc;
}

void repo_io_watch_end(struct repo_watch *w)
{
	repo_watch_end(w);
}

bool repo_io_watch_fired(char *msg, size_t msgsz)
{
	return repo_watch_fired(repo_tls_watch, msg, msgsz);
}

bool repo_io_timed_out(void)
{
	return repo_tls_timed_out;
}

void repo_io_end(void)
{
	repo_tls_cancel = NULL; /* the handle may be freed before this thread's next operation */
	repo_tls_progress = NULL;
	repo_tls_progress_arg = NULL;
}
