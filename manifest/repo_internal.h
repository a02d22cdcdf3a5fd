/*
 * repo_internal.h - shared by the files of the manifest repository (repo.c,
 * repo_url.c, netio.c, remote.c, tree.c); not a public header: the manual
 * is manifest/repo.h.
 *
 *   repo.c       the handle (open, free, options), libgit2's global set-up,
 *                messages without secrets, snapshot
 *   repo_url.c   URL kinds, the SSH host of a URL, the cache clone's place
 *   netio.c      the socket stream with timeouts and cancel, the SSH watchdog
 *   remote.c     libgit2 callbacks, ref resolution, remote_head/fetch, history
 *   tree.c       the Git tree as a struct manifest_source
 *   known_hosts.c  OpenSSH known_hosts matching (manifest/known_hosts.h)
 */
#ifndef ALIASD_MANIFEST_REPO_INTERNAL_H
#define ALIASD_MANIFEST_REPO_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <git2.h>
#include <git2/sys/stream.h>

#include "manifest/repo.h"
#include "util/buf.h"
#include "util/error.h"

/* Limits against hostile repositories and servers. */
#define REPO_TREE_DEPTH_MAX     64                  /* directory nesting in list() */
#define REPO_TREE_VISIT_MAX     1000000             /* tree entries visited by one list() */
#define REPO_LIST_MAX           100000              /* paths returned by one list() */
#define REPO_PATH_MAX           4096                /* bytes in a path */
#define REPO_FETCH_BYTES_MAX    ((uint64_t)2 << 30) /* bytes downloaded by one fetch */
#define REPO_REF_MAX            255
#define REPO_NAME_BUF           512   /* buffers holding a ref name */
#define REPO_TIMEOUT_MS_DEFAULT 30000 /* network inactivity */
#define REPO_OP_SECONDS_MAX     900   /* one remote_head/fetch, start to end */
#define REPO_WATCH_TICK_MS      250   /* how often the SSH watchdog looks */

enum repo_url_kind { REPO_URL_LOCAL, REPO_URL_FILE, REPO_URL_HTTP, REPO_URL_GIT, REPO_URL_SSH };

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

struct repo_stream;

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
 * whole operation passed its deadline, or the handle was canceled
 * (manifest_repo_cancel()), it shuts the socket down (shutdown(SHUT_RDWR)).  That wakes libssh2's poll(): its
 * recv() returns 0, the libgit2 call fails, and repo_net_fail() reports -ETIMEDOUT from the watch's record
 * (or -ECANCELED).  A socket is unregistered, under the lock, before it is closed, so the watchdog never
 * touches a descriptor that was closed and perhaps reused by someone else.
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

/* repo.c: libgit2 set-up, messages without secrets, small helpers */
int repo_fail(struct error *err, int code, const char *secret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int repo_git_fail(struct error *err, int gitrc, const char *secret, const char *what);
bool repo_is_hex(const char *s, size_t min, size_t max);
bool repo_path_ok(const char *path);

/*
 * netio.c: sockets with timeouts and the SSH watchdog.  One network
 * operation on this thread: repo_io_begin() (its timeout and the handle's
 * cancel flag), for SSH repo_io_watch_begin() .. repo_io_watch_end(), then
 * repo_io_end().  The streams libgit2 opens meanwhile take their settings.
 */
void repo_io_begin(int timeout_ms, const volatile sig_atomic_t *cancel, manifest_repo_progress_fn progress,
                   void *progress_arg);
/* SSH only: the watch lives on the caller's stack until repo_io_watch_end(); 0 or -errno. */
int repo_io_watch_begin(struct repo_watch *w);
void repo_io_watch_end(struct repo_watch *w);
/* The watchdog of this thread's SSH operation shut a socket down: its message. */
bool repo_io_watch_fired(char *msg, size_t msgsz);
/* A socket wait of this thread's operation timed out. */
bool repo_io_timed_out(void);
void repo_io_end(void);
/* libgit2's GIT_STREAM_STANDARD factory (registered by repo.c). */
int repo_stream_new(git_stream **out, const char *host, const char *port);

/* repo_url.c: URLs and the cache clone */
enum repo_url_kind repo_url_kind(const char *url);
char *repo_url_strip(const char *url);
int repo_url_ssh_host(const char *url, char **ret_host, int *ret_port);
const char *repo_home(void);
void repo_url_authority(const char *url, char *out, size_t outsz);
int repo_state_dir(const struct manifest_repo_options *opt, struct buf *out, struct error *err);
int repo_cache_name(const char *state, const char *stripped, struct buf *out, struct error *err);
int repo_local_kind(const char *path, const char *ref, bool *ret_folder, struct error *err);
int repo_cache_create(const char *path, struct error *err);

#endif
