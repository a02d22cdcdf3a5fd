/*
 * repo.c - the manifest repository through libgit2 (see repo.h).
 *
 * libgit2 ownership rules used here: every git_* object is freed with its own
 * _free (git_remote_free, git_repository_free, git_tree_free, ...); the array
 * of git_remote_ls() belongs to the remote and dies with it; git_error_last()
 * is only valid until the next libgit2 call on this thread, so it is copied
 * into our `struct error` at once.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/stream.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "manifest/repo.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/error.h"

/* Limits against hostile repositories and servers. */
#define REPO_TREE_DEPTH_MAX     64                  /* directory nesting in list() */
#define REPO_TREE_VISIT_MAX     1000000             /* tree entries visited by one list() */
#define REPO_LIST_MAX           100000              /* paths returned by one list() */
#define REPO_PATH_MAX           4096                /* bytes in a path */
#define REPO_FETCH_BYTES_MAX    ((uint64_t)2 << 30) /* bytes downloaded by one fetch */
#define REPO_KNOWN_HOSTS_MAX    ((size_t)4 << 20)   /* bytes of a known_hosts file */
#define REPO_REF_MAX            255
#define REPO_NAME_BUF           512   /* buffers holding a ref name */
#define REPO_TIMEOUT_MS_DEFAULT 30000 /* network inactivity */
#define REPO_OP_SECONDS_MAX     900   /* one remote_head/fetch, start to end */
#define REPO_WATCH_TICK_MS      250   /* how often the SSH watchdog looks */

/* ---- libgit2 global state ---------------------------------------------- */

static pthread_once_t repo_git_once = PTHREAD_ONCE_INIT;
static int repo_git_init_rc;
static pthread_mutex_t repo_ca_lock = PTHREAD_MUTEX_INITIALIZER;
static char *repo_ca_current; /* ca_file last given to libgit2 */

/* ---- sockets with timeouts --------------------------------------------- */

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
 * therefore enforced from outside by a watchdog (struct repo_watch, below).
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
	struct repo_watch *watch;            /* SSH operation: the watchdog to register with */
	struct repo_stream *watch_next;      /* in watch->streams, under watch->lock */
	bool watched;                        /* registered (st->s may be shut down by the watchdog) */
	bool shut;                           /* shut down by the watchdog (under watch->lock) */
};

static _Thread_local int repo_tls_timeout_ms;
static _Thread_local struct timespec repo_tls_deadline;
static _Thread_local bool repo_tls_timed_out;
static _Thread_local const volatile sig_atomic_t *repo_tls_cancel; /* of the operation on this thread */
static _Thread_local struct repo_watch *repo_tls_watch; /* the SSH operation running on this thread */

/*
 * The SSH watchdog.  libssh2 waits on the raw socket with poll() and no
 * timeout, so a server that accepts the connection and never speaks (or stops
 * in the middle of a transfer) would block remote_head/fetch forever.  One SSH
 * operation (repo_resolve) owns one `struct repo_watch`; each socket our
 * stream connects during it is registered, and a thread, started at the first
 * registration and joined when the operation ends, looks every
 * REPO_WATCH_TICK_MS at each socket's TCP_INFO: when no data has been received
 * from the server AND none sent to it for the timeout (and no received data is
 * waiting to be read, which would mean that we are the slow side), or when the
 * whole operation passed its deadline, it shuts the socket down
 * (shutdown(SHUT_RDWR)).  That wakes libssh2's poll(): its recv() returns 0,
 * the libgit2 call fails, and repo_net_fail() reports -ETIMEDOUT from the
 * watch's record.  A socket is unregistered, under the lock, before it is
 * closed, so the watchdog never touches a descriptor that was closed and
 * perhaps reused by someone else.
 */
enum repo_watch_fired { REPO_WATCH_NONE, REPO_WATCH_IDLE, REPO_WATCH_DEADLINE, REPO_WATCH_CANCELED };

struct repo_watch {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC; signalled to stop */
	pthread_t thread;
	bool started, stop;
	struct repo_stream *streams; /* registered (connected, not yet closed) */
	int timeout_ms;
	struct timespec deadline;
	const volatile sig_atomic_t *cancel; /* manifest_repo_cancel(): shut everything down */
	enum repo_watch_fired fired;
	char fired_msg[320];
};

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

static void repo_io_begin(int timeout_ms, const volatile sig_atomic_t *cancel)
{
	repo_tls_cancel = cancel;
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

static int repo_stream_new(git_stream **out, const char *host, const char *port)
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
		repo_io_begin(0, NULL);
	st->cancel = repo_tls_cancel;
	st->timeout_ms = repo_tls_timeout_ms;
	st->deadline = repo_tls_deadline;
	st->watch = repo_tls_watch;
	*out = &st->parent;
	return 0;
}

static void repo_git_init_once(void)
{
	git_stream_registration reg = {.version = GIT_STREAM_VERSION, .init = repo_stream_new};

	repo_git_init_rc = git_libgit2_init();
	if (repo_git_init_rc < 0)
		return;
	if (git_stream_register(GIT_STREAM_STANDARD, &reg) < 0) {
		git_libgit2_shutdown();
		repo_git_init_rc = -1;
		return;
	}
#ifdef ALIASD_VERSION
	git_libgit2_opts(GIT_OPT_SET_USER_AGENT, "aliasd/" ALIASD_VERSION);
#endif
}

static int repo_git_init(struct error *err)
{
	pthread_once(&repo_git_once, repo_git_init_once);
	if (repo_git_init_rc < 0)
		return error_set(err, -EIO, "cannot initialise libgit2");
	return 0;
}

void manifest_repo_global_shutdown(void)
{
	pthread_mutex_lock(&repo_ca_lock);
	free(repo_ca_current);
	repo_ca_current = NULL;
	pthread_mutex_unlock(&repo_ca_lock);
	if (repo_git_init_rc > 0) {
		git_libgit2_shutdown();
		repo_git_init_rc = 0;
	}
}

/* ---- messages without secrets ------------------------------------------ */

static size_t repo_append(char *dst, size_t dstsz, size_t at, const char *s, size_t n)
{
	if (at + 1 >= dstsz)
		return at;
	if (n > dstsz - 1 - at)
		n = dstsz - 1 - at;
	memcpy(dst + at, s, n);
	dst[at + n] = '\0';
	return at + n;
}

/*
 * Copy `src` to `dst`, replacing every occurrence of `secret` (when non-empty)
 * by "***" and the userinfo of every URL ("scheme://userinfo@") by "***".
 */
static void repo_redact(char *dst, size_t dstsz, const char *src, const char *secret)
{
	size_t at = 0, slen = secret ? strlen(secret) : 0;

	if (!dstsz)
		return;
	dst[0] = '\0';
	while (*src) {
		if (slen && !strncmp(src, secret, slen)) {
			at = repo_append(dst, dstsz, at, "***", 3);
			src += slen;
			continue;
		}
		if (!strncmp(src, "://", 3)) {
			size_t n = strcspn(src + 3, "/@ \t\r\n'\"?#");

			at = repo_append(dst, dstsz, at, "://", 3);
			src += 3;
			if (src[n] == '@') {
				at = repo_append(dst, dstsz, at, "***@", 4);
				src += n + 1;
			}
			continue;
		}
		at = repo_append(dst, dstsz, at, src, 1);
		src++;
	}
}

static int repo_fail(struct error *err, int code, const char *secret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int repo_fail(struct error *err, int code, const char *secret, const char *fmt, ...)
{
	char raw[ERROR_MSG_MAX], clean[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	repo_redact(clean, sizeof(clean), raw, secret);
	return error_set(err, code, "%s", clean);
}

static int repo_git_code(int gitrc)
{
	switch (gitrc) {
	case GIT_ENOTFOUND:
	case GIT_EUNBORNBRANCH:
		return -ENOENT;
	case GIT_EAUTH:
	case GIT_ECERTIFICATE:
	case GIT_EOWNER:
		return -EACCES;
	case GIT_EAMBIGUOUS:
	case GIT_EINVALIDSPEC:
	case GIT_EINVALID:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Translate a libgit2 failure, keeping libgit2's message. */
static int repo_git_fail(struct error *err, int gitrc, const char *secret, const char *what)
{
	const git_error *e = git_error_last();

	return repo_fail(err, repo_git_code(gitrc), secret, "%s: %s", what,
	                 e && e->message && *e->message ? e->message : "libgit2 error");
}

/* ---- small helpers ----------------------------------------------------- */

static char *repo_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void repo_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static bool repo_is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "mkdir -p" with mode for the components it creates. */
static int repo_mkdirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* True if `path` is a valid source path (manifest/source.h). */
static bool repo_path_ok(const char *path)
{
	const char *p = path;
	size_t n = strlen(path);

	if (n > REPO_PATH_MAX)
		return false;
	if (n == 0)
		return true;
	if (path[0] == '/' || path[n - 1] == '/')
		return false;
	while (*p) {
		size_t c = strcspn(p, "/");

		if (c == 0 || (c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += c;
		if (*p == '/')
			p++;
	}
	return true;
}

/* ---- URLs -------------------------------------------------------------- */

enum repo_url_kind { REPO_URL_LOCAL, REPO_URL_FILE, REPO_URL_HTTP, REPO_URL_GIT, REPO_URL_SSH };

static enum repo_url_kind repo_url_kind(const char *url)
{
	const char *colon, *slash;

	if (!strncmp(url, "file://", 7))
		return REPO_URL_FILE;
	if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))
		return REPO_URL_HTTP;
	if (!strncmp(url, "git://", 6))
		return REPO_URL_GIT;
	if (!strncmp(url, "ssh://", 6) || !strncmp(url, "git+ssh://", 10) || !strncmp(url, "ssh+git://", 10))
		return REPO_URL_SSH;
	if (strstr(url, "://"))
		return REPO_URL_SSH; /* unknown scheme: libgit2 refuses it with its message */
	/* scp-like "[user@]host:path": a colon before any slash */
	colon = strchr(url, ':');
	slash = strchr(url, '/');
	if (colon && colon != url && (!slash || colon < slash))
		return REPO_URL_SSH;
	return REPO_URL_LOCAL;
}

/*
 * The URL with its userinfo removed ("https://tok@host/x" -> "https://host/x"),
 * malloc'ed.  Used to name the cache and in descriptions.
 */
static char *repo_url_strip(const char *url)
{
	const char *sep = strstr(url, "://");
	struct buf b = BUF_INIT;

	if (sep) {
		const char *host = sep + 3;
		size_t n = strcspn(host, "/@");

		if (host[n] == '@') {
			if (buf_put(&b, url, (size_t)(host - url)) < 0 || buf_puts(&b, host + n + 1) < 0)
				goto fail;
			return buf_detach(&b, NULL);
		}
	}
	if (buf_puts(&b, url) < 0)
		goto fail;
	return buf_detach(&b, NULL);
fail:
	buf_release(&b);
	return NULL;
}

/*
 * Host and port of an SSH URL ("ssh://[user@]host[:port]/p",
 * "[user@]host:path"), for known_hosts.
 */
static int repo_url_ssh_host(const char *url, char **ret_host, int *ret_port)
{
	const char *p = url, *end;
	int port = 22;
	char *host;

	if (strstr(url, "://")) {
		p = strstr(url, "://") + 3;
		end = p + strcspn(p, "/");
		for (const char *at = p; at < end; at++)
			if (*at == '@')
				p = at + 1;
		if (*p == '[') {
			const char *close = memchr(p, ']', (size_t)(end - p));

			if (!close)
				return -EINVAL;
			host = strndup(p + 1, (size_t)(close - p - 1));
			p = close + 1;
		} else {
			size_t n = strcspn(p, ":/");

			host = strndup(p, n);
			p += n;
		}
		if (!host)
			return -ENOMEM;
		if (*p == ':' && p + 1 < end) {
			char *e;
			long v = strtol(p + 1, &e, 10);

			if (e != end || v < 1 || v > 65535) {
				free(host);
				return -EINVAL;
			}
			port = (int)v;
		}
	} else {
		const char *colon = strchr(url, ':');
		const char *at = memchr(url, '@', (size_t)(colon - url));

		if (at)
			p = at + 1;
		if (*p == '[') { /* "[::1]:path" */
			const char *close = strchr(p, ']');

			if (!close || close[1] != ':')
				return -EINVAL;
			host = strndup(p + 1, (size_t)(close - p - 1));
		} else {
			host = strndup(p, (size_t)(colon - p));
		}
		if (!host)
			return -ENOMEM;
	}
	if (!*host) {
		free(host);
		return -EINVAL;
	}
	*ret_host = host;
	*ret_port = port;
	return 0;
}

/* ---- known_hosts ------------------------------------------------------- */

static int repo_b64_decode(const char *in, size_t inlen, unsigned char **ret, size_t *ret_len)
{
	unsigned char *out;
	int n, pad = 0;

	if (inlen == 0 || inlen % 4 || inlen > INT_MAX)
		return -EINVAL;
	/*
	 * Padding only at the end ("x=" or "=="): EVP_DecodeBlock reads a '='
	 * elsewhere as zero bits, so "A=AA" would decode like "AAAA" where
	 * OpenSSH rejects the line (found by fuzz_manifest_known_hosts).
	 */
	for (size_t i = 0; i < inlen; i++)
		if (in[i] == '=' && (i < inlen - 2 || (i == inlen - 2 && in[inlen - 1] != '=')))
			return -EINVAL;
	out = malloc(inlen / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)inlen);
	if (n < 0) {
		free(out);
		return -EINVAL;
	}
	if (in[inlen - 1] == '=')
		pad++;
	if (in[inlen - 2] == '=')
		pad++;
	*ret = out;
	*ret_len = (size_t)n - (size_t)pad;
	return 0;
}

/*
 * OpenSSH-style wildcard match (* and ?), case-insensitive.
 * Iterative, backtracking only to the last '*' seen: at worst
 * O(plen * strlen(s)).  (It used to recurse at each character and at each
 * '*', which took exponential time on a known_hosts pattern like
 * "*a*a*a*a*a*b" and stack depth proportional to the pattern's length:
 * found by tests/fuzz/fuzz_manifest_known_hosts.c.)
 */
static bool repo_wildmatch(const char *pat, size_t plen, const char *s)
{
	size_t p = 0, star_p = 0;
	const char *star_s = NULL; /* where the last '*' started matching; NULL: no '*' yet */

	while (*s) {
		if (p < plen && pat[p] == '*') {
			star_p = ++p;
			star_s = s;
		} else if (p < plen &&
		           (pat[p] == '?' || tolower((unsigned char)pat[p]) == tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star_s) {
			/* let the last '*' absorb one more character, retry after it */
			p = star_p;
			s = ++star_s;
		} else {
			return false;
		}
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

/* "|1|salt|hash": HMAC-SHA1(salt, name) == hash. */
static bool repo_hashed_match(const char *field, size_t flen, const char *name)
{
	const char *salt = field + 3, *sep, *end = field + flen;
	unsigned char *rawsalt = NULL, *rawhash = NULL, mac[EVP_MAX_MD_SIZE];
	size_t saltlen, hashlen;
	unsigned maclen = 0;
	bool ok = false;

	sep = memchr(salt, '|', (size_t)(end - salt));
	if (!sep)
		return false;
	if (repo_b64_decode(salt, (size_t)(sep - salt), &rawsalt, &saltlen) < 0)
		goto out;
	if (repo_b64_decode(sep + 1, (size_t)(end - sep - 1), &rawhash, &hashlen) < 0)
		goto out;
	if (!HMAC(EVP_sha1(), rawsalt, (int)saltlen, (const unsigned char *)name, strlen(name), mac, &maclen))
		goto out;
	ok = hashlen == maclen && CRYPTO_memcmp(mac, rawhash, maclen) == 0;
out:
	free(rawsalt);
	free(rawhash);
	return ok;
}

/* Does the host-pattern list `field` (comma-separated) match `name`? */
static bool repo_hosts_match(const char *field, size_t flen, const char *name)
{
	bool matched = false;
	const char *p = field, *end = field + flen;

	if (flen > 3 && !strncmp(field, "|1|", 3))
		return repo_hashed_match(field, flen, name);
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
		bool neg = n > 0 && *p == '!';

		if (neg ? repo_wildmatch(p + 1, n - 1, name) : repo_wildmatch(p, n, name)) {
			if (neg)
				return false; /* a negated match excludes the line */
			matched = true;
		}
		p += n + (comma ? 1 : 0);
	}
	return matched;
}

/*
 * The key type named inside a raw SSH key blob (uint32 length, then the name,
 * e.g. "ssh-ed25519"), or NULL when the blob does not start with a plausible
 * name.  Only [a-z0-9@.-] is accepted, so the name can go into a message.
 */
static const char *repo_key_blob_type(const unsigned char *key, size_t key_len, size_t *ret_len)
{
	size_t n;

	if (key_len < 4)
		return NULL;
	n = (size_t)key[0] << 24 | (size_t)key[1] << 16 | (size_t)key[2] << 8 | (size_t)key[3];
	if (n == 0 || n > 64 || n > key_len - 4)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = key[4 + i];

		if (!(islower(c) || isdigit(c) || c == '@' || c == '.' || c == '-'))
			return NULL;
	}
	*ret_len = n;
	return (const char *)key + 4;
}

static const char *repo_field(const char **pp, size_t *ret_len)
{
	const char *p = *pp, *start;

	while (*p == ' ' || *p == '\t')
		p++;
	start = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	*ret_len = (size_t)(p - start);
	*pp = p;
	return *ret_len ? start : NULL;
}

int manifest_repo_known_hosts_check(const char *known_hosts_file, const char *host, int port,
                                    const unsigned char *key, size_t key_len, struct error *err)
{
	struct buf content = BUF_INIT_CAP(REPO_KNOWN_HOSTS_MAX);
	char name[1100], chunk[8192];
	bool listed = false, good = false, revoked = false, listed_same_type = false;
	const char *line, *key_type;
	size_t key_type_len = 0;
	int fd = -1, rc;

	if (!known_hosts_file || !host || !*host || strlen(host) > 1024 || !key || !key_len)
		return error_set(err, -EINVAL, "known_hosts check: bad arguments");
	key_type = repo_key_blob_type(key, key_len, &key_type_len);
	if (port == 22 || port <= 0)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);

	fd = open(known_hosts_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = error_set(err, -EIO, "cannot read known_hosts file %s: %s", known_hosts_file,
		               strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(err, -EIO, "cannot read known_hosts file %s: %s", known_hosts_file,
			               strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_put(&content, chunk, (size_t)n) < 0) {
			rc = error_set(err, -EIO, "known_hosts file %s is larger than %zu bytes",
			               known_hosts_file, REPO_KNOWN_HOSTS_MAX);
			goto out;
		}
	}

	for (line = content.ptr; *line; line += strcspn(line, "\n"), line += *line == '\n') {
		const char *p = line, *f, *hosts, *ktype, *b64;
		size_t flen, hlen, tlen, blen;
		unsigned char *blob = NULL;
		size_t bloblen = 0;
		bool is_revoked = false;

		f = repo_field(&p, &flen);
		if (!f || *f == '#')
			continue;
		if (*f == '@') {
			if (flen == 8 && !strncmp(f, "@revoked", 8))
				is_revoked = true;
			else
				continue; /* @cert-authority: certificates are not supported */
			f = repo_field(&p, &flen);
			if (!f)
				continue;
		}
		hosts = f;
		hlen = flen;
		ktype = repo_field(&p, &tlen);
		if (!ktype)
			continue;
		b64 = repo_field(&p, &blen);
		if (!b64)
			continue;
		if (!is_revoked && !repo_hosts_match(hosts, hlen, name))
			continue;
		if (repo_b64_decode(b64, blen, &blob, &bloblen) < 0)
			continue;
		if (bloblen == key_len && !memcmp(blob, key, key_len)) {
			if (is_revoked)
				revoked = true;
			else
				good = true;
		}
		if (!is_revoked) {
			listed = true;
			if (key_type && tlen == key_type_len && !memcmp(ktype, key_type, tlen))
				listed_same_type = true;
		}
		free(blob);
	}

	if (revoked)
		rc = error_set(err, -EACCES, "the host key of %s is marked @revoked in %s", name,
		               known_hosts_file);
	else if (good)
		rc = 0;
	else if (listed && key_type && !listed_same_type)
		/*
		 * Not necessarily a changed key: a server with several host keys
		 * (ed25519, ecdsa, rsa) shows the one libssh2 negotiates, and
		 * libgit2 1.5 asks for the types listed in ~/.ssh/known_hosts, not
		 * in this file (OpenSSH asks for the types it knows).  Refused all
		 * the same, but say what to add instead of crying "attacker".
		 */
		rc = error_set(err, -EACCES,
		               "the host key of %s does not match %s: the server offered its %.*s key "
		               "and only other key types are listed for this host (libgit2 picks the "
		               "type from ~/.ssh/known_hosts, not from this file): add the server's "
		               "%.*s key",
		               name, known_hosts_file, (int)key_type_len, key_type, (int)key_type_len,
		               key_type);
	else if (listed)
		rc = error_set(err, -EACCES,
		               "the host key of %s does not match %s (host key changed, or an attacker)",
		               name, known_hosts_file);
	else
		rc = error_set(err, -ENOENT, "host %s is not in %s: unknown host keys are refused", name,
		               known_hosts_file);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&content);
	return rc;
}

/* ---- the handle -------------------------------------------------------- */

struct manifest_repo {
	bool folder; /* a local folder read as it is on disk */
	enum repo_url_kind kind;
	char *url;   /* what libgit2 connects to (may hold userinfo) */
	char *ref;   /* NULL = HEAD */
	char *token; /* secret */
	char *token_user;
	char *ssh_key_file;
	char *known_hosts;
	char *ssh_host; /* for known_hosts */
	int ssh_port;
	char *cache_path;  /* "" for a folder */
	char *description; /* redacted */
	git_repository *cache;
	unsigned downloads;
	int timeout_ms;
	manifest_repo_progress_fn progress;
	void *progress_arg;
	volatile sig_atomic_t canceled; /* manifest_repo_cancel() */
};

/* State of one network operation, given to libgit2's callbacks. */
struct repo_cb {
	struct manifest_repo *r;
	unsigned userpass_tries, key_tries, username_tries;
	bool auth_refused;   /* the server refused what we sent */
	bool no_credentials; /* the server asked and we have nothing to send */
	bool trust_refused;  /* host key / certificate refused */
	bool too_big;
	bool canceled;
	int key_errno; /* the SSH key file cannot be read (errno) */
	struct error trust_err;
};

static const char *repo_home(void)
{
	const char *h = getenv("HOME");

	return h && *h == '/' ? h : NULL;
}

/* The "host[:port]" part of a scheme://[userinfo@]host[:port]/... URL, or "". */
static void repo_url_authority(const char *url, char *out, size_t outsz)
{
	const char *p = strstr(url, "://"), *end, *at;
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	n = (size_t)(end - p);
	if (n >= outsz)
		n = outsz - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
}

static int repo_cb_credentials(git_credential **out, const char *url, const char *username_from_url,
                               unsigned int allowed, void *payload)
{
	struct repo_cb *cb = payload;
	struct manifest_repo *r = cb->r;
	const char *user = username_from_url && *username_from_url ? username_from_url : "git";

	/* the token is for HTTP(S) only: never offered as an SSH password */
	if (r->kind == REPO_URL_HTTP && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		if (!r->token || !*r->token) {
			cb->no_credentials = true;
			git_error_set_str(GIT_ERROR_NET, "authentication required: no token given");
			return GIT_EAUTH;
		}
		{
			/* never hand the token to another server (a redirect) */
			char want[300], asked[300];

			repo_url_authority(r->url, want, sizeof(want));
			repo_url_authority(url ? url : "", asked, sizeof(asked));
			if (strcmp(want, asked)) {
				cb->no_credentials = true;
				git_error_set_str(GIT_ERROR_NET,
				                  "refusing to send the token to another server");
				return GIT_EAUTH;
			}
		}
		if (cb->userpass_tries++) {
			cb->auth_refused = true;
			git_error_set_str(GIT_ERROR_NET, "the token was refused");
			return GIT_EAUTH;
		}
		return git_credential_userpass_plaintext_new(
		    out, r->token_user ? r->token_user : "x-access-token", r->token);
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		char def[PATH_MAX];
		const char *key = r->ssh_key_file;

		if (cb->key_tries++) {
			cb->auth_refused = true;
			git_error_set_str(GIT_ERROR_NET, "the SSH key was refused");
			return GIT_EAUTH;
		}
		if (!key && repo_home()) {
			snprintf(def, sizeof(def), "%s/.ssh/id_ed25519", repo_home());
			if (access(def, R_OK) < 0)
				snprintf(def, sizeof(def), "%s/.ssh/id_rsa", repo_home());
			if (access(def, R_OK) == 0)
				key = def;
		}
		if (!key) {
			cb->no_credentials = true;
			git_error_set_str(GIT_ERROR_NET, "authentication required: no SSH key given");
			return GIT_EAUTH;
		}
		/*
		 * A key file that cannot be read is a configuration error: checked
		 * here, else libssh2's failure to open it comes back as a plain
		 * libgit2 error (-EIO, "retry later").
		 */
		if (access(key, R_OK) < 0) {
			cb->key_errno = errno ? errno : EACCES;
			git_error_set_str(GIT_ERROR_NET, "the SSH key file cannot be read");
			return GIT_EAUTH;
		}
		return git_credential_ssh_key_new(out, user, NULL, key, NULL);
	}
	if (allowed & GIT_CREDENTIAL_USERNAME) {
		if (cb->username_tries++) {
			cb->auth_refused = true;
			git_error_set_str(GIT_ERROR_NET, "the user name was refused");
			return GIT_EAUTH;
		}
		return git_credential_username_new(out, user);
	}
	cb->no_credentials = true;
	git_error_set_str(GIT_ERROR_NET, "the server asks for an unsupported kind of authentication");
	return GIT_EAUTH;
}

static int repo_cb_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	struct repo_cb *cb = payload;
	struct manifest_repo *r = cb->r;

	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
		const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
		char def[PATH_MAX];
		const char *file = r->known_hosts;
		int rc;

		if (!file) {
			if (!repo_home()) {
				error_set(&cb->trust_err, -EACCES, "no known_hosts file: HOME is not set");
				goto refuse;
			}
			snprintf(def, sizeof(def), "%s/.ssh/known_hosts", repo_home());
			file = def;
		}
		if (!(hk->type & GIT_CERT_SSH_RAW) || !hk->hostkey || !hk->hostkey_len) {
			error_set(&cb->trust_err, -EACCES, "the SSH server's raw host key is not available");
			goto refuse;
		}
		rc = manifest_repo_known_hosts_check(file, r->ssh_host ? r->ssh_host : host, r->ssh_port,
		                                     (const unsigned char *)hk->hostkey, hk->hostkey_len,
		                                     &cb->trust_err);
		if (rc == 0)
			return 0;
		if (rc == -ENOENT)
			cb->trust_err.code = -EACCES;
		goto refuse;
	}
	if (valid)
		return 0;
	{
		/* libgit2's verification result (e.g. "not correctly signed by the trusted CA") */
		const git_error *e = git_error_last();

		error_set(&cb->trust_err, -EACCES, "the TLS certificate of %s is not trusted%s%.300s",
		          host ? host : "?", e && e->message && *e->message ? ": " : "",
		          e && e->message ? e->message : "");
	}
refuse:
	cb->trust_refused = true;
	git_error_set_str(GIT_ERROR_SSL, cb->trust_err.msg);
	return GIT_ECERTIFICATE;
}

/* Progress of any kind: feed the caller's watchdog, honour a cancel. */
static int repo_cb_alive(struct repo_cb *cb, uint64_t received_bytes)
{
	if (cb->r->canceled) {
		cb->canceled = true;
		git_error_set_str(GIT_ERROR_NET, "canceled");
		return -1;
	}
	if (cb->r->progress)
		cb->r->progress(cb->r->progress_arg, received_bytes);
	return 0;
}

static int repo_cb_sideband(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	return repo_cb_alive(payload, 0);
}

static int repo_cb_progress(const git_indexer_progress *stats, void *payload)
{
	struct repo_cb *cb = payload;

	if (repo_cb_alive(cb, stats->received_bytes) < 0)
		return -1;
	if (stats->received_bytes > REPO_FETCH_BYTES_MAX) {
		cb->too_big = true;
		git_error_set_str(GIT_ERROR_NET, "the download exceeds the size limit");
		return -1;
	}
	return 0;
}

static void repo_callbacks(git_remote_callbacks *cbs, struct repo_cb *cb, struct manifest_repo *r)
{
	memset(cb, 0, sizeof(*cb));
	cb->r = r;
	git_remote_init_callbacks(cbs, GIT_REMOTE_CALLBACKS_VERSION);
	cbs->credentials = repo_cb_credentials;
	cbs->certificate_check = repo_cb_certificate;
	cbs->transfer_progress = repo_cb_progress;
	cbs->sideband_progress = repo_cb_sideband;
	cbs->payload = cb;
}

/* Translate the failure of a network operation. */
static int repo_net_fail(struct manifest_repo *r, struct repo_cb *cb, int gitrc, const char *what,
                         struct error *err)
{
	char m[ERROR_MSG_MAX];

	if (cb->canceled || r->canceled)
		return repo_fail(err, -ECANCELED, r->token, "%s %s: canceled", what, r->description);
	if (cb->trust_refused) {
		snprintf(m, sizeof(m), "%s", cb->trust_err.msg);
		return repo_fail(err, -EACCES, r->token, "%s %s: %s", what, r->description, m);
	}
	if (cb->key_errno)
		return repo_fail(err, -EACCES, r->token, "%s %s: cannot read the SSH key file %s: %s", what,
		                 r->description, r->ssh_key_file ? r->ssh_key_file : "?",
		                 strerror(cb->key_errno));
	if (cb->auth_refused)
		return repo_fail(err, -EACCES, r->token, "%s %s: authentication failed (%s)", what,
		                 r->description,
		                 cb->userpass_tries ? "the token was refused" : "the SSH key was refused");
	if (cb->no_credentials)
		return repo_fail(err, -EACCES, r->token, "%s %s: the server requires authentication (%s)",
		                 what, r->description,
		                 r->kind == REPO_URL_HTTP ? "set a token" : "set an SSH key");
	if (repo_watch_fired(repo_tls_watch, m, sizeof(m)))
		return repo_fail(err, -ETIMEDOUT, r->token, "%s %s: %s", what, r->description, m);
	if (repo_tls_timed_out) {
		const git_error *e = git_error_last();

		return repo_fail(err, -ETIMEDOUT, r->token, "%s %s: %s", what, r->description,
		                 e && e->message ? e->message : "timed out");
	}
	if (cb->too_big)
		return repo_fail(err, -E2BIG, r->token, "%s %s: more than %llu bytes to download", what,
		                 r->description, (unsigned long long)REPO_FETCH_BYTES_MAX);
	snprintf(m, sizeof(m), "%s %s", what, r->description);
	return repo_git_fail(err, gitrc, r->token, m);
}

static int repo_ca_set(const char *ca_file, struct error *err)
{
	int rc = 0;

	pthread_mutex_lock(&repo_ca_lock);
	if (!repo_ca_current || strcmp(repo_ca_current, ca_file)) {
		struct stat st;
		/* Keep the system CAs: the file is loaded, then the system directory. */
		const char *sysdir =
		    stat("/etc/ssl/certs", &st) == 0 && S_ISDIR(st.st_mode) ? "/etc/ssl/certs" : NULL;
		int grc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca_file, sysdir);

		if (grc < 0) {
			rc = repo_git_fail(err, grc, NULL, "cannot load CA file");
		} else {
			char *dup = strdup(ca_file);

			if (!dup) {
				rc = error_set(err, -ENOMEM, "out of memory");
			} else {
				free(repo_ca_current);
				repo_ca_current = dup;
			}
		}
	}
	pthread_mutex_unlock(&repo_ca_lock);
	return rc;
}

static int repo_state_dir(const struct manifest_repo_options *opt, struct buf *out, struct error *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME");

	if (opt->state_dir && *opt->state_dir)
		return buf_sets(out, opt->state_dir) < 0 ? error_set(err, -ENOMEM, "out of memory") : 0;
	if (xdg && *xdg == '/')
		return buf_printf(out, "%s/aliasd", xdg) < 0 ? error_set(err, -ENOMEM, "out of memory") : 0;
	if (repo_home())
		return buf_printf(out, "%s/.cache/aliasd", repo_home()) < 0
		           ? error_set(err, -ENOMEM, "out of memory")
		           : 0;
	return error_set(err, -EINVAL, "no state directory: set one, or HOME or XDG_CACHE_HOME");
}

/* <state>/git/<name>-<sha256(url)[:40]>.git */
static int repo_cache_name(const char *state, const char *stripped, struct buf *out, struct error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char label[33], hex[41];
	size_t n = 0, len = strlen(stripped);
	const char *base;

	if (!EVP_Digest(stripped, len, md, &mdlen, EVP_sha256(), NULL))
		return error_set(err, -EIO, "sha256 failed");
	/* a readable label: the last path component without .git */
	while (len > 1 && (stripped[len - 1] == '/'))
		len--;
	base = stripped + len;
	while (base > stripped && base[-1] != '/' && base[-1] != ':')
		base--;
	if (len - (size_t)(base - stripped) > 4 && !strncmp(stripped + len - 4, ".git", 4))
		len -= 4;
	for (const char *p = base; p < stripped + len && n < sizeof(label) - 1; p++)
		if (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.')
			label[n++] = *p;
	label[n] = '\0';
	codec_hex_encode(hex, md, 20); /* mdlen is 32 */
	if (buf_printf(out, "%s/git/%s%s%s.git", state, label, n ? "-" : "", hex) < 0)
		return error_set(err, -ENOMEM, "out of memory");
	return 0;
}

static int repo_ref_check(const char *ref, struct error *err)
{
	char full[REPO_REF_MAX + 32];
	int valid = 0;

	if (!*ref || strlen(ref) > REPO_REF_MAX)
		return error_set(err, -EINVAL, "invalid ref \"%.64s\"", ref);
	if (!strcmp(ref, "HEAD"))
		return 0;
	snprintf(full, sizeof(full), "%s%s", strncmp(ref, "refs/", 5) ? "refs/heads/" : "", ref);
	if (git_reference_name_is_valid(&valid, full) < 0 || !valid)
		return error_set(err, -EINVAL, "invalid ref \"%.64s\"", ref);
	return 0;
}

/*
 * Is the local path `path` read as a folder (true) or as a Git repository?
 * A bare repository is Git; a working tree or plain folder is a folder unless
 * a ref is given.
 */
static int repo_local_kind(const char *path, const char *ref, bool *ret_folder, struct error *err)
{
	git_repository *repo = NULL;
	struct stat st;
	int grc;

	if (stat(path, &st) < 0)
		return error_set(err, -errno, "repository %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return error_set(err, -ENOTDIR, "repository %s: not a directory", path);
	grc = git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (grc == GIT_ENOTFOUND) {
		if (ref)
			return error_set(err, -EINVAL,
			                 "repository %s: a ref is given but it is not a Git repository",
			                 path);
		*ret_folder = true;
		return 0;
	}
	if (grc < 0)
		return repo_git_fail(err, grc, NULL, path);
	*ret_folder = !git_repository_is_bare(repo) && !ref;
	git_repository_free(repo);
	return 0;
}

static int repo_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/*
 * Create the bare cache clone at `path`, atomically: it is initialised under
 * a temporary name and renamed into place, so a concurrent process either
 * sees no repository or a complete one (the loser of a race discards its own).
 */
static int repo_cache_create(const char *path, struct error *err)
{
	struct buf tmp = BUF_INIT;
	git_repository *repo = NULL;
	unsigned char rnd[8];
	int rc, grc;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	if (buf_printf(&tmp, "%s.tmp-%ld-%02x%02x%02x%02x", path, (long)getpid(), rnd[0], rnd[1], rnd[2],
	               rnd[3]) < 0) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	grc = git_repository_init(&repo, tmp.ptr, 1);
	git_repository_free(repo);
	if (grc < 0) {
		rc = repo_git_fail(err, grc, NULL, "cannot create the cache clone");
		goto out;
	}
	if (rename(tmp.ptr, path) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		rc = error_set(err, -errno, "cannot create the cache clone %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (tmp.len)
		nftw(tmp.ptr, repo_rm_entry, 16, FTW_DEPTH | FTW_PHYS); /* gone if renamed */
	buf_release(&tmp);
	return rc;
}

void manifest_repo_free(struct manifest_repo *r)
{
	if (!r)
		return;
	git_repository_free(r->cache);
	free(r->url);
	free(r->ref);
	repo_free_secret(r->token);
	free(r->token_user);
	free(r->ssh_key_file);
	free(r->known_hosts);
	free(r->ssh_host);
	free(r->cache_path);
	free(r->description);
	free(r);
}

int manifest_repo_open(struct manifest_repo **ret, const struct manifest_repo_options *opt, struct error *err)
{
	struct manifest_repo *r = NULL;
	struct buf state = BUF_INIT, cache = BUF_INIT, desc = BUF_INIT;
	char *stripped = NULL, *abs = NULL;
	const char *token;
	int rc, grc;

	if (!opt || !opt->url || !*opt->url)
		return error_set(err, -EINVAL, "no repository URL given");
	if (strlen(opt->url) > REPO_PATH_MAX)
		return error_set(err, -EINVAL, "repository URL too long");
	rc = repo_git_init(err);
	if (rc < 0)
		return rc;
	if (opt->ref) {
		rc = repo_ref_check(opt->ref, err);
		if (rc < 0)
			return rc;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return error_set(err, -ENOMEM, "out of memory");
	token = opt->token ? opt->token : getenv("GIT_TOKEN");
	r->kind = repo_url_kind(opt->url);
	r->ssh_port = 22;
	r->timeout_ms = opt->timeout_ms > 0 && opt->timeout_ms < INT_MAX ? (int)opt->timeout_ms : 0;
	if (r->kind == REPO_URL_LOCAL) {
		abs = realpath(opt->url, NULL);
		if (!abs) {
			rc = error_set(err, -errno, "repository %s: %s", opt->url, strerror(errno));
			goto out;
		}
		rc = repo_local_kind(abs, opt->ref, &r->folder, err);
		if (rc < 0)
			goto out;
		r->url = abs;
		abs = NULL;
	} else {
		r->url = strdup(opt->url);
	}
	r->ref = repo_strdup(opt->ref);
	r->token = repo_strdup(token && *token ? token : NULL);
	r->token_user = repo_strdup(opt->token_user);
	r->ssh_key_file = repo_strdup(opt->ssh_key_file);
	r->known_hosts = repo_strdup(opt->ssh_known_hosts_file);
	stripped = repo_url_strip(r->url ? r->url : "");
	if (!r->url || (opt->ref && !r->ref) || (token && *token && !r->token) ||
	    (opt->token_user && !r->token_user) || (opt->ssh_key_file && !r->ssh_key_file) ||
	    (opt->ssh_known_hosts_file && !r->known_hosts) || !stripped) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (r->kind == REPO_URL_SSH) {
		rc = repo_url_ssh_host(r->url, &r->ssh_host, &r->ssh_port);
		if (rc < 0) {
			rc = repo_fail(err, rc == -ENOMEM ? rc : -EINVAL, r->token, "invalid SSH URL %s",
			               stripped);
			goto out;
		}
	}

	if (r->folder) {
		r->cache_path = strdup("");
		r->description = strdup(r->url);
		if (!r->cache_path || !r->description) {
			rc = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		*ret = r;
		r = NULL;
		rc = 0;
		goto out;
	}

	if (opt->ca_file && *opt->ca_file) {
		rc = repo_ca_set(opt->ca_file, err);
		if (rc < 0)
			goto out;
	}
	{
		char clean[ERROR_MSG_MAX];

		repo_redact(clean, sizeof(clean), r->url, r->token);
		if (buf_printf(&desc, "%s@%s", clean, r->ref ? r->ref : "HEAD") < 0) {
			rc = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		r->description = buf_detach(&desc, NULL);
	}
	rc = repo_state_dir(opt, &state, err);
	if (rc < 0)
		goto out;
	rc = repo_cache_name(state.ptr, stripped, &cache, err);
	if (rc < 0)
		goto out;
	{
		char *slash = strrchr(cache.ptr, '/');

		*slash = '\0';
		rc = repo_mkdirs(cache.ptr, 0700);
		*slash = '/';
		if (rc < 0) {
			rc = error_set(err, rc, "cannot create state directory %s: %s", state.ptr,
			               strerror(-rc));
			goto out;
		}
	}
	grc = git_repository_open_bare(&r->cache, cache.ptr);
	if (grc == GIT_ENOTFOUND) {
		rc = repo_cache_create(cache.ptr, err);
		if (rc < 0)
			goto out;
		grc = git_repository_open_bare(&r->cache, cache.ptr);
	}
	if (grc < 0) {
		rc = repo_git_fail(err, grc, r->token, "cannot open the cache clone");
		goto out;
	}
	r->cache_path = buf_detach(&cache, NULL);
	if (!r->description || !r->cache_path) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	*ret = r;
	r = NULL;
	rc = 0;
out:
	manifest_repo_free(r);
	free(stripped);
	free(abs);
	buf_release(&state);
	buf_release(&cache);
	buf_release(&desc);
	return rc;
}

void manifest_repo_set_progress(struct manifest_repo *r, manifest_repo_progress_fn fn, void *arg)
{
	r->progress = fn;
	r->progress_arg = arg;
}

void manifest_repo_cancel(struct manifest_repo *r)
{
	if (r)
		r->canceled = 1;
}

const char *manifest_repo_description(const struct manifest_repo *r)
{
	return r->description;
}

const char *manifest_repo_cache_path(const struct manifest_repo *r)
{
	return r->cache_path;
}

unsigned manifest_repo_download_count(const struct manifest_repo *r)
{
	return r->downloads;
}

/* ---- remote refs ------------------------------------------------------- */

/* What the ref resolved to on the remote. */
struct repo_target {
	char name[REPO_NAME_BUF]; /* remote ref name, e.g. "refs/heads/main" or "HEAD"; "" = commit id */
	git_oid raw;              /* what the ref points at (a tag object for annotated tags) */
	git_oid peeled;           /* its commit, when advertised */
	bool has_peeled;
};

static const git_remote_head *repo_head_find(const git_remote_head **heads, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(heads[i]->name, name))
			return heads[i];
	return NULL;
}

/* Match the configured ref against the advertised refs; -ENOENT if none. */
static int repo_target_match(const struct manifest_repo *r, const git_remote_head **heads, size_t n,
                             struct repo_target *t)
{
	char cands[2][REPO_NAME_BUF];
	char peel[REPO_NAME_BUF + 8];
	int nc = 0;

	if (!r->ref || !strcmp(r->ref, "HEAD")) {
		snprintf(cands[nc++], sizeof(cands[0]), "HEAD");
	} else if (!strncmp(r->ref, "refs/", 5)) {
		snprintf(cands[nc++], sizeof(cands[0]), "%s", r->ref);
	} else {
		snprintf(cands[nc++], sizeof(cands[0]), "refs/heads/%s", r->ref);
		snprintf(cands[nc++], sizeof(cands[0]), "refs/tags/%s", r->ref);
	}
	for (int i = 0; i < nc; i++) {
		const git_remote_head *h = repo_head_find(heads, n, cands[i]), *p;

		if (!h)
			continue;
		size_t len = strnlen(cands[i], sizeof(cands[i]) - 1);

		memcpy(t->name, cands[i], len);
		t->name[len] = '\0';
		git_oid_cpy(&t->raw, &h->oid);
		memcpy(peel, cands[i], len);
		memcpy(peel + len, "^{}", 4);
		p = repo_head_find(heads, n, peel);
		t->has_peeled = p != NULL;
		if (p)
			git_oid_cpy(&t->peeled, &p->oid);
		return 0;
	}
	return -ENOENT;
}

static int repo_connect(struct manifest_repo *r, git_remote **ret, struct repo_cb *cb,
                        git_remote_callbacks *cbs, struct error *err)
{
	git_remote_create_options copts;
	git_remote *remote = NULL;
	int grc;

	repo_callbacks(cbs, cb, r);
	/*
	 * No url.<base>.insteadOf rewriting: the cache's config is ours, and
	 * libgit2 1.5's config regex matching leaks pcre2 match data per entry
	 * (fixed upstream in libgit2 PR 6382), which a daemon would pay per poll.
	 */
	git_remote_create_options_init(&copts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	copts.repository = r->cache;
	copts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	grc = git_remote_create_with_opts(&remote, r->url, &copts);
	if (grc < 0)
		return repo_git_fail(err, grc, r->token, "invalid repository URL");
	grc = git_remote_connect(remote, GIT_DIRECTION_FETCH, cbs, NULL, NULL);
	if (grc < 0) {
		int rc = repo_net_fail(r, cb, grc, "cannot connect to", err);

		git_remote_free(remote);
		return rc;
	}
	*ret = remote;
	return 0;
}

/* Look up a commit id (full or abbreviated) in the cache; -ENOENT if absent. */
static int repo_commit_local(struct manifest_repo *r, const char *hex, git_oid *ret, struct error *err)
{
	git_oid prefix;
	git_object *obj = NULL, *commit = NULL;
	size_t len = strlen(hex);
	int grc, rc;

	grc = git_oid_fromstrn(&prefix, hex, len);
	if (grc < 0)
		return repo_git_fail(err, grc, NULL, "invalid commit id");
	grc = git_object_lookup_prefix(&obj, r->cache, &prefix, len, GIT_OBJECT_ANY);
	if (grc == GIT_ENOTFOUND)
		return error_set(err, -ENOENT, "commit %s not found in %s", hex, r->description);
	if (grc == GIT_EAMBIGUOUS)
		return error_set(err, -EINVAL, "commit id %s is ambiguous in %s", hex, r->description);
	if (grc < 0)
		return repo_git_fail(err, grc, r->token, "cannot look up commit");
	grc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	if (grc < 0) {
		rc = error_set(err, -EINVAL, "%s does not name a commit in %s", hex, r->description);
		goto out;
	}
	git_oid_cpy(ret, git_object_id(commit));
	rc = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	return rc;
}

static bool repo_has_object(struct manifest_repo *r, const git_oid *oid)
{
	git_odb *odb = NULL;
	bool has = false;

	if (git_repository_odb(&odb, r->cache) == 0)
		has = git_odb_exists(odb, oid) == 1;
	git_odb_free(odb);
	return has;
}

/*
 * Download with `refspecs` on a connected remote and update the cache's refs.
 */
static int repo_download(struct manifest_repo *r, git_remote *remote, struct repo_cb *cb,
                         git_remote_callbacks *cbs, char **specs, size_t nspecs, bool update_tips,
                         struct error *err)
{
	git_fetch_options fo;
	git_strarray arr = {specs, nspecs};
	int grc;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks = *cbs;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
	grc = git_remote_download(remote, &arr, &fo);
	if (grc < 0)
		return repo_net_fail(r, cb, grc, "cannot fetch", err);
	r->downloads++;
	/*
	 * The refs only anchor what was fetched; the caller looks objects up by
	 * id.  Another process updating the same refs (a lock) is no failure.
	 */
	if (update_tips)
		(void)git_remote_update_tips(remote, cbs, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, "aliasd fetch");
	return 1;
}

/*
 * Point the cache's ref `name` at `oid`, waiting (bounded) while another
 * process holds the ref's lock.
 */
static int repo_ref_set(struct manifest_repo *r, const char *name, const git_oid *oid, struct error *err)
{
	for (int attempt = 0;; attempt++) {
		git_reference *ref = NULL;
		git_oid cur;
		int grc;

		if (git_reference_name_to_id(&cur, r->cache, name) == 0 && git_oid_equal(&cur, oid))
			return 0;
		grc = git_reference_create(&ref, r->cache, name, oid, 1, "aliasd fetch");
		git_reference_free(ref);
		if (grc == 0)
			return 0;
		if (grc != GIT_ELOCKED || attempt >= 200)
			return repo_git_fail(err, grc, r->token, "cannot update the cache's ref");
		nanosleep(&(struct timespec){.tv_nsec = 5000000 + (attempt % 7) * 1000000}, NULL);
	}
}

/* Peel `oid` (a commit or a tag) in the cache to its commit. */
static int repo_peel_commit(struct manifest_repo *r, const git_oid *oid, git_oid *ret, struct error *err)
{
	git_object *obj = NULL, *commit = NULL;
	char hex[41];
	int grc, rc;

	git_oid_tostr(hex, sizeof(hex), oid);
	grc = git_object_lookup(&obj, r->cache, oid, GIT_OBJECT_ANY);
	if (grc < 0)
		return repo_fail(err, -EIO, r->token, "%s: object %s missing after the fetch", r->description,
		                 hex);
	grc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	if (grc < 0) {
		rc = repo_fail(err, -EINVAL, r->token, "%s: %s does not point to a commit", r->description,
		               hex);
		goto out;
	}
	git_oid_cpy(ret, git_object_id(commit));
	rc = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	return rc;
}

/*
 * The core of remote_head and fetch: list the remote's refs, resolve the ref,
 * and (fetch) make sure the commit is in the cache.  Returns 1 if objects
 * were downloaded, else 0.
 */
static int repo_resolve(struct manifest_repo *r, bool fetch, char ret_oid[41], struct error *err)
{
	git_remote *remote = NULL;
	git_remote_callbacks cbs;
	struct repo_cb cb;
	struct repo_target t;
	const git_remote_head **heads = NULL;
	size_t nheads = 0;
	git_oid result;
	bool hexref = r->ref && repo_is_hex(r->ref, 4, 40);
	struct repo_watch watch;
	bool watching = false;
	int rc, grc, downloaded = 0;

	memset(&t, 0, sizeof(t));
	if (r->folder) {
		ret_oid[0] = '\0';
		return 0;
	}
	if (r->canceled)
		return repo_fail(err, -ECANCELED, r->token, "%s: canceled", r->description);
	/* A full commit id already in the cache: no network at all. */
	if (hexref && strlen(r->ref) == 40) {
		rc = repo_commit_local(r, r->ref, &result, NULL);
		if (rc == 0)
			goto done;
	}
	repo_io_begin(r->timeout_ms, &r->canceled);
	if (r->kind == REPO_URL_SSH) {
		/* libssh2 does the SSH I/O: the timeouts and the cancel come from the watchdog */
		rc = repo_watch_init(&watch, repo_tls_timeout_ms, &repo_tls_deadline, &r->canceled);
		if (rc < 0)
			return error_set(err, -EIO, "cannot set up the SSH timeout watchdog: %s",
			                 strerror(-rc));
		watching = true;
		repo_tls_watch = &watch;
	}
	rc = repo_connect(r, &remote, &cb, &cbs, err);
	if (rc < 0)
		goto out;
	grc = git_remote_ls(&heads, &nheads, remote);
	if (grc < 0) {
		rc = repo_net_fail(r, &cb, grc, "cannot list refs of", err);
		goto out;
	}
	rc = (hexref && strlen(r->ref) == 40) ? -ENOENT : repo_target_match(r, heads, nheads, &t);
	if (rc == -ENOENT && hexref) {
		/* a commit id: in the cache already, or fetch every branch and tag */
		char *specs[] = {"+refs/heads/*:refs/aliasd/refs/heads/*",
		                 "+refs/tags/*:refs/aliasd/refs/tags/*"};

		rc = repo_commit_local(r, r->ref, &result, NULL);
		if (rc == 0)
			goto done;
		rc = repo_download(r, remote, &cb, &cbs, specs, 2, true, err);
		if (rc < 0)
			goto out;
		downloaded = 1;
		rc = repo_commit_local(r, r->ref, &result, err);
		if (rc < 0) {
			if (rc == -ENOENT)
				rc = error_set(err, -ENOENT,
				               "commit %s not found on %s (no branch or tag reaches it)",
				               r->ref, r->description);
			goto out;
		}
		goto done;
	}
	if (rc == -ENOENT) {
		if (!r->ref || !strcmp(r->ref, "HEAD"))
			rc = repo_fail(err, -ENOENT, r->token,
			               "%s: the remote has no HEAD (empty repository?)", r->description);
		else
			rc = repo_fail(err, -ENOENT, r->token, "%s: no branch, tag or ref named \"%s\"",
			               r->description, r->ref);
		goto out;
	}

	if (!fetch) {
		/* ls-remote only: the advertised commit, or peel locally if we can */
		if (t.has_peeled) {
			git_oid_cpy(&result, &t.peeled);
		} else {
			git_object *obj = NULL, *commit = NULL;

			git_oid_cpy(&result, &t.raw);
			if (git_object_lookup(&obj, r->cache, &t.raw, GIT_OBJECT_ANY) == 0 &&
			    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) == 0)
				git_oid_cpy(&result, git_object_id(commit));
			git_object_free(commit);
			git_object_free(obj);
		}
		goto done;
	}

	{
		char local[REPO_NAME_BUF + 16], spec[2 * REPO_NAME_BUF + 40];
		char *specs[1] = {spec};

		snprintf(local, sizeof(local), "refs/aliasd/%s", t.name);
		if (!repo_has_object(r, &t.raw) || (t.has_peeled && !repo_has_object(r, &t.peeled))) {
			snprintf(spec, sizeof(spec), "+%s:%s", t.name, local);
			rc = repo_download(r, remote, &cb, &cbs, specs, 1, false, err);
			if (rc < 0)
				goto out;
			downloaded = 1;
		}
		rc = repo_peel_commit(r, &t.raw, &result, err);
		if (rc < 0)
			goto out;
		rc = repo_ref_set(r, local, &t.raw, err);
		if (rc < 0)
			goto out;
	}
done:
	git_oid_tostr(ret_oid, 41, &result);
	rc = downloaded;
out:
	if (remote) {
		git_remote_disconnect(remote);
		git_remote_free(remote);
	}
	if (watching)
		repo_watch_end(&watch); /* after git_remote_free: the streams are gone */
	repo_tls_cancel = NULL;         /* r may be freed before this thread's next operation */
	return rc;
}

int manifest_repo_remote_head(struct manifest_repo *r, char ret_oid[41], struct error *err)
{
	char oid[41];
	int rc = repo_resolve(r, false, oid, err);

	if (rc < 0)
		return rc;
	memcpy(ret_oid, oid, sizeof(oid));
	return 0;
}

int manifest_repo_fetch(struct manifest_repo *r, char ret_oid[41], struct error *err)
{
	char oid[41];
	int rc = repo_resolve(r, true, oid, err);

	if (rc < 0)
		return rc;
	memcpy(ret_oid, oid, sizeof(oid));
	return rc;
}

/* A full commit id that the cache holds, as a commit: 0, -EINVAL or -ENOENT. */
static int repo_commit_known(struct manifest_repo *r, const char *hex, const char *what, git_oid *ret,
                             struct error *err)
{
	git_commit *commit = NULL;
	int grc;

	if (!hex || !repo_is_hex(hex, 40, 40))
		return error_set(err, -EINVAL, "%s: a full commit id is required, not \"%.64s\"", what,
		                 hex ? hex : "(null)");
	git_oid_fromstr(ret, hex);
	grc = git_commit_lookup(&commit, r->cache, ret);
	git_commit_free(commit);
	if (grc == GIT_ENOTFOUND || grc == GIT_EINVALIDSPEC)
		return error_set(err, -ENOENT, "%s commit %s is not in the cache of %s", what, hex,
		                 r->description);
	if (grc < 0)
		return repo_git_fail(err, grc, r->token, "cannot look up a commit");
	return 0;
}

int manifest_repo_descends_from(struct manifest_repo *r, const char *oid, const char *ancestor,
                                struct error *err)
{
	git_oid a, b;
	int rc, grc;

	if (r->folder)
		return error_set(err, -EINVAL, "%s is a folder: it has no history", r->description);
	rc = repo_commit_known(r, oid, "new", &a, err);
	if (rc < 0)
		return rc;
	rc = repo_commit_known(r, ancestor, "old", &b, err);
	if (rc < 0)
		return rc;
	if (git_oid_equal(&a, &b))
		return 1;
	grc = git_graph_descendant_of(r->cache, &a, &b);
	if (grc < 0) /* a commit reachable from `oid` is missing (shallow or broken cache) */
		return repo_git_fail(err, grc, r->token, "cannot walk the history");
	return grc ? 1 : 0;
}

/* ---- the tree source --------------------------------------------------- */

struct repo_tree {
	git_repository *repo;
	git_tree *root;
};

static struct repo_tree *repo_tree_of(struct manifest_source *src)
{
	return src->impl;
}

static bool repo_yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static bool repo_entry_name_ok(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

struct repo_list {
	git_repository *repo;
	struct buf path;
	char **items;
	size_t n, alloc;
	size_t visited;
	struct error *err;
};

static int repo_list_add(struct repo_list *l)
{
	char *dup;

	if (l->n >= REPO_LIST_MAX)
		return error_set(l->err, -E2BIG, "more than %d manifest files", REPO_LIST_MAX);
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 16;
		char **ni = realloc(l->items, na * sizeof(*ni));

		if (!ni)
			return error_set(l->err, -ENOMEM, "out of memory");
		l->items = ni;
		l->alloc = na;
	}
	dup = strdup(l->path.ptr);
	if (!dup)
		return error_set(l->err, -ENOMEM, "out of memory");
	l->items[l->n++] = dup;
	return 0;
}

static int repo_list_walk(struct repo_list *l, const git_tree *tree, unsigned depth)
{
	size_t count = git_tree_entrycount(tree), base = l->path.len;
	int rc = 0;

	if (depth > REPO_TREE_DEPTH_MAX)
		return error_set(l->err, -E2BIG, "directories nested deeper than %d levels",
		                 REPO_TREE_DEPTH_MAX);
	for (size_t i = 0; i < count && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);

		if (++l->visited > REPO_TREE_VISIT_MAX)
			return error_set(l->err, -E2BIG, "more than %d tree entries", REPO_TREE_VISIT_MAX);
		if (!repo_entry_name_ok(name))
			return error_set(l->err, -EBADMSG, "invalid name in Git tree: \"%.64s\"", name);
		buf_truncate(&l->path, base);
		if ((base && buf_putc(&l->path, '/') < 0) || buf_puts(&l->path, name) < 0)
			return error_set(l->err, -E2BIG, "path too long");
		if (l->path.len > REPO_PATH_MAX)
			return error_set(l->err, -E2BIG, "path too long: %.64s...", l->path.ptr);
		if (mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;
			int grc = git_tree_lookup(&sub, l->repo, git_tree_entry_id(e));

			if (grc < 0)
				return repo_git_fail(l->err, grc, NULL, "cannot read tree");
			rc = repo_list_walk(l, sub, depth + 1);
			git_tree_free(sub);
		} else if ((mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE) &&
		           repo_yaml_name(name)) {
			rc = repo_list_add(l);
		}
	}
	buf_truncate(&l->path, base);
	return rc;
}

static int repo_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Find `path` ("" = root). -EINVAL bad path, -ENOENT missing (no message). */
static int repo_tree_entry(struct repo_tree *t, const char *path, git_tree_entry **ret, struct error *err)
{
	int grc;

	if (!repo_path_ok(path))
		return error_set(err, -EINVAL, "invalid path \"%.128s\"", path);
	grc = git_tree_entry_bypath(ret, t->root, path);
	if (grc == GIT_ENOTFOUND)
		return -ENOENT;
	if (grc < 0)
		return repo_git_fail(err, grc, NULL, path);
	return 0;
}

/*
 * `path` was not found: is a symlink or a submodule in the way?  Returns the
 * filemode of the first such component, 0 if none.
 */
static git_filemode_t repo_tree_blocker(struct repo_tree *t, const char *path)
{
	char prefix[REPO_PATH_MAX + 1];
	const char *slash = path;
	git_filemode_t mode = 0;

	while ((slash = strchr(slash, '/'))) {
		git_tree_entry *e = NULL;
		size_t n = (size_t)(slash - path);

		memcpy(prefix, path, n);
		prefix[n] = '\0';
		slash++;
		if (git_tree_entry_bypath(&e, t->root, prefix) < 0)
			break;
		mode = git_tree_entry_filemode(e);
		git_tree_entry_free(e);
		if (mode != GIT_FILEMODE_TREE)
			return mode == GIT_FILEMODE_LINK || mode == GIT_FILEMODE_COMMIT ? mode : 0;
	}
	return 0;
}

static int repo_src_list(struct manifest_source *src, const char *dir, char ***ret_paths, size_t *ret_n,
                         struct error *err)
{
	struct repo_tree *t = repo_tree_of(src);
	struct repo_list l = {.repo = t->repo, .path = BUF_INIT_CAP(REPO_PATH_MAX + 256), .err = err};
	git_tree_entry *e = NULL;
	git_tree *tree = NULL;
	const git_tree *start = t->root;
	int rc, grc;

	if (!dir)
		dir = "";
	if (*dir) {
		rc = repo_tree_entry(t, dir, &e, err);
		if (rc == -ENOENT || (rc == 0 && git_tree_entry_filemode(e) != GIT_FILEMODE_TREE)) {
			rc = error_set(err, -ENOENT, "%s: no such directory in %s", dir, src->description);
			goto out;
		}
		if (rc < 0)
			goto out;
		grc = git_tree_lookup(&tree, t->repo, git_tree_entry_id(e));
		if (grc < 0) {
			rc = repo_git_fail(err, grc, NULL, dir);
			goto out;
		}
		start = tree;
		if (buf_puts(&l.path, dir) < 0) {
			rc = error_set(err, -E2BIG, "path too long");
			goto out;
		}
	}
	rc = repo_list_walk(&l, start, 0);
	if (rc < 0)
		goto out;
	if (l.n)
		qsort(l.items, l.n, sizeof(*l.items), repo_cmp_str);
	*ret_paths = l.items;
	*ret_n = l.n;
	l.items = NULL;
	l.n = 0;
	rc = 0;
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.items[i]);
	free(l.items);
	buf_release(&l.path);
	git_tree_free(tree);
	git_tree_entry_free(e);
	return rc;
}

static int repo_blob_size(struct repo_tree *t, const git_oid *id, uint64_t *ret, struct error *err)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t len = 0;
	int grc;

	grc = git_repository_odb(&odb, t->repo);
	if (grc == 0)
		grc = git_odb_read_header(&len, &type, odb, id);
	git_odb_free(odb);
	if (grc < 0)
		return repo_git_fail(err, grc, NULL, "cannot read object header");
	if (type != GIT_OBJECT_BLOB)
		return error_set(err, -EBADMSG, "object is not a blob");
	*ret = len;
	return 0;
}

static int repo_src_stat(struct manifest_source *src, const char *path, enum source_type *ret_type,
                         uint64_t *ret_size, struct error *err)
{
	struct repo_tree *t = repo_tree_of(src);
	git_tree_entry *e = NULL;
	enum source_type type;
	uint64_t size = 0;
	int rc;

	if (path && !*path) {
		*ret_type = SOURCE_DIR;
		*ret_size = 0;
		return 0;
	}
	rc = repo_tree_entry(t, path ? path : "", &e, err);
	if (rc == -ENOENT) {
		/* like the folder source: a path behind a symlink reports the symlink */
		switch (repo_tree_blocker(t, path)) {
		case GIT_FILEMODE_LINK:
			*ret_type = SOURCE_SYMLINK;
			break;
		case GIT_FILEMODE_COMMIT:
			*ret_type = SOURCE_SUBMODULE;
			break;
		default:
			*ret_type = SOURCE_MISSING;
			break;
		}
		*ret_size = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_TREE:
		type = SOURCE_DIR;
		break;
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		type = SOURCE_FILE;
		rc = repo_blob_size(t, git_tree_entry_id(e), &size, err);
		break;
	case GIT_FILEMODE_LINK:
		type = SOURCE_SYMLINK;
		break;
	case GIT_FILEMODE_COMMIT:
		type = SOURCE_SUBMODULE;
		break;
	default:
		type = SOURCE_OTHER;
		break;
	}
	git_tree_entry_free(e);
	if (rc < 0)
		return rc;
	*ret_type = type;
	*ret_size = size;
	return 0;
}

static int repo_src_read(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                         struct error *err)
{
	struct repo_tree *t = repo_tree_of(src);
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	uint64_t size = 0;
	int rc, grc;

	if (!path)
		return error_set(err, -EINVAL, "no path");
	if (!*path)
		return error_set(err, -EISDIR, "the repository root is a directory");
	rc = repo_tree_entry(t, path, &e, err);
	if (rc == -ENOENT) {
		switch (repo_tree_blocker(t, path)) {
		case GIT_FILEMODE_LINK:
			return error_set(err, -ELOOP, "%s: a symbolic link is in the way (not followed)",
			                 path);
		case GIT_FILEMODE_COMMIT:
			return error_set(err, -EINVAL, "%s: a submodule is in the way (not followed)", path);
		default:
			return error_set(err, -ENOENT, "%s: no such file in %s", path, src->description);
		}
	}
	if (rc < 0)
		return rc;
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		break;
	case GIT_FILEMODE_TREE:
		rc = error_set(err, -EISDIR, "%s: is a directory", path);
		goto out;
	case GIT_FILEMODE_LINK:
		rc = error_set(err, -ELOOP, "%s: is a symbolic link (not followed)", path);
		goto out;
	case GIT_FILEMODE_COMMIT:
		rc = error_set(err, -EINVAL, "%s: is a submodule (not followed)", path);
		goto out;
	default:
		rc = error_set(err, -EINVAL, "%s: is not a regular file", path);
		goto out;
	}
	rc = repo_blob_size(t, git_tree_entry_id(e), &size, err);
	if (rc < 0)
		goto out;
	if (size > max) {
		rc = error_set(err, -E2BIG, "%s: %llu bytes, more than the limit of %zu", path,
		               (unsigned long long)size, max);
		goto out;
	}
	grc = git_blob_lookup(&blob, t->repo, git_tree_entry_id(e));
	if (grc < 0) {
		rc = repo_git_fail(err, grc, NULL, path);
		goto out;
	}
	if ((uint64_t)git_blob_rawsize(blob) != size) {
		rc = error_set(err, -EBADMSG, "%s: blob size changed while reading", path);
		goto out;
	}
	rc = buf_put(out, git_blob_rawcontent(blob), (size_t)size);
	if (rc < 0) {
		rc = error_set(err, rc, "%s: %s", path,
		               rc == -E2BIG ? "too large for the buffer" : "out of memory");
		goto out;
	}
	rc = 0;
out:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return rc;
}

static void repo_src_free(struct manifest_source *src)
{
	struct repo_tree *t;

	if (!src)
		return;
	t = repo_tree_of(src);
	if (t) {
		git_tree_free(t->root);
		git_repository_free(t->repo);
		free(t);
	}
	free(src->description);
	free(src);
}

static const struct manifest_source_ops repo_source_ops = {
    .list = repo_src_list,
    .stat = repo_src_stat,
    .read = repo_src_read,
    .free = repo_src_free,
};

int manifest_repo_source(struct manifest_repo *r, const char *oid, struct manifest_source **ret,
                         struct error *err)
{
	struct manifest_source *src = NULL;
	struct repo_tree *t = NULL;
	git_oid id;
	git_commit *commit = NULL;
	int rc, grc;

	if (r->folder)
		return manifest_source_dir_open(ret, r->url, err);
	if (!oid || !repo_is_hex(oid, 40, 40))
		return error_set(err, -EINVAL, "a full commit id is required, not \"%.64s\"",
		                 oid ? oid : "(null)");
	src = calloc(1, sizeof(*src));
	t = calloc(1, sizeof(*t));
	if (!src || !t) {
		free(src);
		free(t);
		return error_set(err, -ENOMEM, "out of memory");
	}
	src->ops = &repo_source_ops;
	src->impl = t;
	src->description = strdup(r->description);
	if (!src->description) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	grc = git_repository_open_bare(&t->repo, r->cache_path);
	if (grc < 0) {
		rc = repo_git_fail(err, grc, r->token, "cannot open the cache clone");
		goto out;
	}
	git_oid_fromstr(&id, oid);
	grc = git_commit_lookup(&commit, t->repo, &id);
	if (grc == GIT_ENOTFOUND) {
		rc = error_set(err, -ENOENT, "commit %s is not in the cache of %s (fetch first)", oid,
		               r->description);
		goto out;
	}
	if (grc < 0) {
		rc = repo_git_fail(err, grc, r->token, oid);
		goto out;
	}
	grc = git_commit_tree(&t->root, commit);
	if (grc < 0) {
		rc = repo_git_fail(err, grc, r->token, oid);
		goto out;
	}
	git_oid_tostr(src->revision, sizeof(src->revision), &id);
	*ret = src;
	src = NULL;
	rc = 0;
out:
	git_commit_free(commit);
	repo_src_free(src);
	return rc;
}

int manifest_repo_snapshot(struct manifest_source **ret, const struct manifest_repo_options *opt,
                           struct error *err)
{
	struct manifest_repo *r = NULL;
	char oid[41];
	int rc;

	rc = manifest_repo_open(&r, opt, err);
	if (rc < 0)
		return rc;
	rc = manifest_repo_fetch(r, oid, err);
	if (rc >= 0)
		rc = manifest_repo_source(r, oid, ret, err);
	manifest_repo_free(r);
	return rc < 0 ? rc : 0;
}
