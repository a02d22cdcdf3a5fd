/*
 * repo.h - the manifest repository: a Git remote (through libgit2) or a folder.
 *
 * Where manifests come from, as a `struct manifest_source` (manifest/source.h):
 *
 *  - a local folder (plain, or a Git working tree) with no ref: the folder as
 *    it is on disk, uncommitted files included (manifest_source_dir_open).
 *  - anything else is Git: a local bare repository, a working tree with a ref,
 *    file://, https://, http://, git://, ssh:// or scp-like user@host:path.
 *    The remote is fetched into a bare cache clone under the state directory
 *    and a snapshot is the tree of one commit, read straight from the object
 *    store (no checkout), so it is always consistent.
 *
 * Ref resolution (`ref`, against the remote's advertised refs):
 *   NULL or "HEAD"  the remote's HEAD;
 *   "refs/..."      that exact ref;
 *   "X"             refs/heads/X, else refs/tags/X (annotated tags peeled);
 *   4..40 hex       a commit id, full or abbreviated (when no ref of that name
 *                   exists): every branch and tag is fetched, then the id is
 *                   looked up in the cache; it must name a commit, uniquely.
 *
 * The cache clone is <state_dir>/git/<name>-<sha256 of the URL>.git (the URL
 * without its userinfo; <name> its last path component, for humans);
 * remote refs are stored as refs/aliasd/<remote ref name>.  Several processes
 * may share a state directory (ref updates are atomic in libgit2).
 *
 * Authentication and trust:
 *  - HTTP(S): `token` (or $GIT_TOKEN when `token` is NULL) is sent as HTTP
 *    basic auth, user `token_user` (default "x-access-token", as GitHub and
 *    Gitea accept; GitLab accepts any user with a token).  Exactly one attempt:
 *    a refused token fails at once with -EACCES.  The token never appears in
 *    an error message, a description, or the cache's name; a URL's userinfo is
 *    shown as "***@" in messages.
 *  - HTTPS certificates are always verified (the system CAs, and `ca_file`
 *    when given).  `ca_file` goes through GIT_OPT_SET_SSL_CERT_LOCATIONS,
 *    which is GLOBAL to the process: libgit2 keeps one TLS configuration, so
 *    the CA, once given, is trusted for every HTTPS remote of the process.
 *    (With Debian's libgit2, built on mbedTLS, that option replaces the CA
 *    list: aliasd passes the file together with /etc/ssl/certs so the system
 *    CAs stay trusted; a later, different ca_file replaces the earlier one.)
 *  - SSH: the private key `ssh_key_file` (no passphrase; public key derived),
 *    user from the URL (default "git").  The server's host key must be listed
 *    in `ssh_known_hosts_file` (OpenSSH format; hashed names, "[host]:port",
 *    patterns with * and ?, negation, @revoked understood; @cert-authority lines
 *    are ignored); an unknown or changed host key is refused with -EACCES.
 *    NULL = ~/.ssh/known_hosts.
 *    libgit2 1.5 picks the host key TYPE it asks the server for from
 *    ~/.ssh/known_hosts (not from `ssh_known_hosts_file`; without that file
 *    libssh2 picks), so `ssh_known_hosts_file` must hold the key of the type
 *    the server actually offers: with a server that has several host keys,
 *    list them all (a refusal names the type offered).
 *
 * Timeouts: libgit2 1.5 has none, so aliasd installs its own socket stream
 * (process-wide, at the first use of this module): connecting, and every read
 * or write, fails after `timeout_ms` without progress, and one
 * remote_head/fetch after 15 minutes in all.  That covers git://, http(s)://
 * and ssh://: SSH I/O is done by libssh2 on the raw socket, so during an SSH
 * operation a watchdog thread (one per remote_head/fetch, joined before it
 * returns) shuts the socket down when neither direction has carried data for
 * `timeout_ms` (handshake included; data received but not yet read counts as
 * progress) or the 15 minutes are over.  A timeout is -ETIMEDOUT ("no data
 * from ssh://host:port for 30 s").
 *
 * Errors are negative errnos with the detail in `err` (libgit2's message kept,
 * secrets removed): -EINVAL bad URL/ref/option, -ENOENT ref or commit not
 * found, -EACCES authentication refused or host/certificate not trusted,
 * -ETIMEDOUT the server stopped answering, -E2BIG a download over 2 GiB,
 * -EIO anything else the network or the repository did (retry later).
 *
 * Threads: libgit2 is initialised once (thread-safe).  A `struct manifest_repo`
 * must be used by one thread at a time; sources are independent of it (each
 * holds its own repository handle) and may outlive it.
 */
#ifndef ALIASD_MANIFEST_REPO_H
#define ALIASD_MANIFEST_REPO_H

#include <stdint.h>

#include "manifest/source.h"
#include "util/error.h"

struct manifest_repo_options {
	const char *url;                  /* required: see above */
	const char *ref;                  /* NULL = remote HEAD */
	const char *state_dir;            /* NULL = $XDG_CACHE_HOME/aliasd, else ~/.cache/aliasd */
	const char *token;                /* HTTP(S) token; NULL = $GIT_TOKEN (unset = none) */
	const char *token_user;           /* basic-auth user for the token; NULL = "x-access-token" */
	const char *ssh_key_file;         /* SSH private key; NULL = ~/.ssh/id_ed25519, then id_rsa */
	const char *ssh_known_hosts_file; /* NULL = ~/.ssh/known_hosts */
	const char *ca_file;              /* extra CA bundle for HTTPS (global, see above); NULL = none */
	unsigned timeout_ms;              /* network inactivity limit (connect, read/write, SSH); 0 = 30 s */
};

/*
 * One-shot: fetch `ref` (a Git URL) and return a snapshot of its commit, or a
 * folder as it is on disk.  The caller frees *ret with manifest_source_free().
 */
int manifest_repo_snapshot(struct manifest_source **ret, const struct manifest_repo_options *opt,
                           struct error *err);

/*
 * For the daemon: a long-lived handle on the cache clone.  Opening checks the
 * options and creates/opens the cache, without any network access.  The
 * options' strings are copied.  For a local folder (see above) the handle
 * works too: remote_head and fetch return "" (no revision: re-read the folder
 * each time) and manifest_repo_source() opens the folder.
 */
struct manifest_repo;
int manifest_repo_open(struct manifest_repo **ret, const struct manifest_repo_options *opt,
                       struct error *err);

/*
 * Cheap check (like git ls-remote, no object transfer): the full commit id the
 * remote's ref points at now (a tag is peeled to its commit).  For a commit-id
 * ref the id itself (after one fetch if it is abbreviated and not cached yet).
 */
int manifest_repo_remote_head(struct manifest_repo *r, char ret_oid[MANIFEST_OID_HEX_SIZE],
                              struct error *err);

/*
 * Bring the ref's commit into the cache clone, transferring objects only when
 * the cache lacks them, and write its full id to ret_oid.
 * Returns 1 if objects were downloaded, 0 if the cache already had the commit
 * (which may still be a different commit than last time, e.g. after a branch
 * was reset to an older commit: compare ids, not this flag).
 */
int manifest_repo_fetch(struct manifest_repo *r, char ret_oid[MANIFEST_OID_HEX_SIZE], struct error *err);

/*
 * A consistent snapshot of commit `oid` (full id, as returned above; must be
 * in the cache: fetch first).  For a folder handle `oid` is ignored.
 * The source holds its own repository handle and outlives `r`.
 */
int manifest_repo_source(struct manifest_repo *r, const char *oid, struct manifest_source **ret,
                         struct error *err);

/*
 * Close the cache clone's repository handle and open a fresh one (packs
 * are opened again on the next read): after a fetch the old handle keeps
 * the pack files it read open, mapped and resident.  Memory only; on
 * failure the old handle is kept.  Not while another call uses `r`.
 */
void manifest_repo_trim(struct manifest_repo *r);

/*
 * History, for refusing rewinds: 1 if commit `oid` is `ancestor` or descends
 * from it (git_graph_descendant_of), 0 if not (a force push to an older or
 * unrelated commit), -ENOENT if either commit is not in the cache (fetch it
 * first; a commit that was garbage-collected away counts as absent), -EINVAL
 * for an id that is not 40 hex digits or a folder handle (no history), -EIO
 * when libgit2 fails on the way.  No network access.
 */
int manifest_repo_descends_from(struct manifest_repo *r, const char *oid, const char *ancestor,
                                struct error *err);

/* "URL@ref" for messages and status, userinfo shown as "***" (never a secret). */
const char *manifest_repo_description(const struct manifest_repo *r);
/* Path of the bare cache clone ("" for a folder). */
const char *manifest_repo_cache_path(const struct manifest_repo *r);
/* Number of fetches that actually downloaded objects through this handle (tests, metrics). */
unsigned manifest_repo_download_count(const struct manifest_repo *r);

/*
 * Liveness of a long transfer: `fn(arg, received_bytes)` is called on the
 * thread running remote_head/fetch whenever data arrives: every read that
 * returned bytes over git:// and http(s):// (received_bytes then counts that
 * connection's bytes), and whatever libgit2 reports (objects or bytes
 * received, the server's sideband messages; over ssh:// only these, about
 * every 100 KB).  A watchdog fed from it can tell a slow transfer that still
 * moves from one that stalled.  NULL turns it off.  Set it before the
 * operation starts; `fn` must be cheap and must not call back into r.
 */
typedef void (*manifest_repo_progress_fn)(void *arg, uint64_t received_bytes);
void manifest_repo_set_progress(struct manifest_repo *r, manifest_repo_progress_fn fn, void *arg);

/*
 * Thread-safe and async-signal-safe: the remote_head/fetch running on r (and
 * every later one) fails with -ECANCELED at its next progress report, and
 * within 250 ms when it is waiting on a socket: the socket waits of git://
 * and http(s):// poll in slices of that length, and the SSH watchdog shuts
 * the connection down at its next tick, so a server that sends nothing does
 * not delay the cancel.  (Name resolution, done by getaddrinfo(), cannot be
 * interrupted.)  For shutdown: there is no way to un-cancel a handle.
 */
void manifest_repo_cancel(struct manifest_repo *r);

/* Accepts NULL. */
void manifest_repo_free(struct manifest_repo *r);

/*
 * Release libgit2's global state (tests and tools call it before exit so the
 * leak checker sees a clean heap).  No manifest_repo call may follow.
 */
void manifest_repo_global_shutdown(void);

#endif
