/*
 * verify.c - commit signature verification, see verify.h.
 */
#include "manifest/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <gpgme.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/buf.h"
#include "util/file.h"

#define VERIFY_DEFAULT_TIMEOUT_MS 10000u
#define VERIFY_TOOL_OUTPUT_MAX    ((size_t)64 << 10)
#define VERIFY_TRUST_FILE_MAX     ((size_t)1 << 20)
#define VERIFY_PATH_MAX           4096

const char *verify_provider_name(enum verify_provider p)
{
	switch (p) {
	case VERIFY_PROVIDER_SSH:
		return "ssh";
	case VERIFY_PROVIDER_GPG:
		return "gpg";
	}
	return "?";
}

const char *verify_verdict_name(enum verify_verdict v)
{
	switch (v) {
	case VERIFY_TRUSTED:
		return "trusted";
	case VERIFY_UNSIGNED:
		return "unsigned";
	case VERIFY_UNKNOWN_KEY:
		return "unknown key";
	case VERIFY_BAD_SIGNATURE:
		return "bad signature";
	case VERIFY_PROVIDER_MISMATCH:
		return "provider mismatch";
	case VERIFY_EXPIRED_OR_REVOKED:
		return "expired or revoked key";
	}
	return "?";
}

static void result_set(struct verify_result *r, enum verify_verdict v, const char *signer, const char *key,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void result_set(struct verify_result *r, enum verify_verdict v, const char *signer, const char *key,
                       const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	snprintf(r->signer, sizeof(r->signer), "%s", signer ? signer : "");
	snprintf(r->key, sizeof(r->key), "%s", key ? key : "");
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* Which format a signature is in, from its armor line. */
static enum verify_provider sig_format(const char *sig, bool *ret_x509)
{
	*ret_x509 = false;
	if (!strncmp(sig, "-----BEGIN SSH SIGNATURE-----", 29))
		return VERIFY_PROVIDER_SSH;
	if (!strncmp(sig, "-----BEGIN PGP SIGNATURE-----", 29) ||
	    !strncmp(sig, "-----BEGIN PGP MESSAGE-----", 27))
		return VERIFY_PROVIDER_GPG;
	if (!strncmp(sig, "-----BEGIN SIGNED MESSAGE-----", 30))
		*ret_x509 = true;
	return 0;
}

/* ---- running ssh-keygen ---- */

struct tool_run {
	struct buf out, err;
	int status; /* exit status, or 128 + signal */
};

static void tool_run_release(struct tool_run *t)
{
	buf_release(&t->out);
	buf_release(&t->err);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run argv[0] (searched in PATH) with `in` on its stdin, collecting stdout and
 * stderr (each at most VERIFY_TOOL_OUTPUT_MAX), killing it after timeout_ms.
 * 0 when it ran to completion (any exit status), -ETIMEDOUT, -EIO when it
 * could not be started (status 127 is reported as -EIO with stderr).
 */
static int tool_run(struct tool_run *t, char *const argv[], const char *in, size_t inlen, unsigned timeout_ms,
                    struct error *err)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	size_t inoff = 0;
	int64_t deadline = now_ms() + timeout_ms;
	sigset_t pipe_set, old_mask, pending;
	bool pipe_was_pending, epipe = false;
	pid_t pid;
	int r = 0, wstatus = 0;
	bool killed = false;

	/*
	 * A tool that exits without reading its stdin must not kill us with
	 * SIGPIPE (the daemon ignores it, the CLI may not): block it in this
	 * thread while writing, and take back one we caused (as git does).
	 */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
	sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE);

	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
		r = error_set(err, -errno, "%s: pipe: %s", argv[0], strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = error_set(err, -errno, "%s: fork: %s", argv[0], strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* child: only async-signal-safe calls */
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (inlen == 0) {
		close(pin[1]);
		pin[1] = -1;
	}

	while (pout[0] >= 0 || perr[0] >= 0) {
		struct pollfd fds[3];
		int nfds = 0, left = (int)(deadline - now_ms());

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (pin[1] >= 0)
			fds[nfds++] = (struct pollfd){.fd = pin[1], .events = POLLOUT};
		if (pout[0] >= 0)
			fds[nfds++] = (struct pollfd){.fd = pout[0], .events = POLLIN};
		if (perr[0] >= 0)
			fds[nfds++] = (struct pollfd){.fd = perr[0], .events = POLLIN};
		if (poll(fds, (nfds_t)nfds, left) < 0) {
			if (errno == EINTR)
				continue;
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		for (int i = 0; i < nfds; i++) {
			if (!fds[i].revents)
				continue;
			if (fds[i].fd == pin[1]) {
				ssize_t n = write(pin[1], in + inoff, inlen - inoff);

				if (n > 0)
					inoff += (size_t)n;
				if (n < 0 && errno == EPIPE)
					epipe = true;
				if ((n < 0 && errno != EAGAIN && errno != EINTR) || inoff == inlen) {
					close(pin[1]);
					pin[1] = -1;
				}
			} else {
				int *fd = fds[i].fd == pout[0] ? &pout[0] : &perr[0];
				struct buf *b = fds[i].fd == pout[0] ? &t->out : &t->err;
				char chunk[4096];
				ssize_t n = read(*fd, chunk, sizeof(chunk));

				if (n < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				if (n <= 0) {
					close(*fd);
					*fd = -1;
				} else if (b->len + (size_t)n <= VERIFY_TOOL_OUTPUT_MAX) {
					if (buf_put(b, chunk, (size_t)n) < 0) {
						kill(pid, SIGKILL);
						killed = true;
					}
				}
			}
		}
		if (killed)
			break;
	}
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (killed) {
		r = error_set(err, -ETIMEDOUT, "%s: no answer within %u ms", argv[0], timeout_ms);
		error_set_kind(err, ERROR_KIND_TRANSIENT);
		goto out;
	}
	t->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	if (t->status == 127) {
		r = error_set(err, -EIO, "%s: cannot run it (not installed?)", argv[0]);
		error_set_kind(err, ERROR_KIND_TERMINAL);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	if (epipe && !pipe_was_pending) {
		struct timespec zero = {0, 0};

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	return r;
}

/* The first line of s (without control characters), for messages. */
static const char *first_line(const char *s, char *out, size_t outsz)
{
	size_t n = 0;

	while (*s && *s != '\n' && n + 1 < outsz) {
		out[n++] = (unsigned char)*s < 0x20 ? ' ' : *s;
		s++;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return out;
}

/* Copy the "SHA256:..." token that follows "key " in ssh-keygen's "Good" line. */
static void ssh_key_of(const char *out, char *key, size_t keysz)
{
	const char *p = strstr(out, "key SHA256:");
	size_t n = 0;

	key[0] = '\0';
	if (!p)
		return;
	p += 4;
	while (p[n] && p[n] != ' ' && p[n] != '\n' && p[n] != '\r' && n + 1 < keysz)
		n++;
	memcpy(key, p, n);
	key[n] = '\0';
}

static int ssh_verify(struct verify_result *ret, const struct verify_config *cfg, const char *tmpdir,
                      const struct buf *sig, const struct buf *payload, int64_t when, struct error *err)
{
	const char *keygen = cfg->ssh_keygen ? cfg->ssh_keygen : "ssh-keygen";
	unsigned timeout = cfg->timeout_ms ? cfg->timeout_ms : VERIFY_DEFAULT_TIMEOUT_MS;
	char sigpath[VERIFY_PATH_MAX], vtime[64], line[256], key[VERIFY_KEY_MAX];
	struct tool_run fp = {BUF_INIT, BUF_INIT, 0}, nv = {BUF_INIT, BUF_INIT, 0};
	time_t tt = (time_t)when;
	struct tm tm;
	int fd, r;

	if (snprintf(sigpath, sizeof(sigpath), "%s/sig", tmpdir) >= (int)sizeof(sigpath))
		return error_set(err, -ENAMETOOLONG, "%s: path too long", tmpdir);
	fd = open(sigpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, -errno, "%s: %s", sigpath, strerror(errno));
	if (write(fd, sig->ptr, sig->len) != (ssize_t)sig->len) {
		r = error_set(err, -EIO, "%s: short write", sigpath);
		close(fd);
		goto out;
	}
	close(fd);
	/* as git does: check the key's validity (valid-after/valid-before) at the commit's time */
	gmtime_r(&tt, &tm);
	strftime(vtime, sizeof(vtime), "-Overify-time=%Y%m%d%H%M%SZ", &tm);

	{
		char *argv[] = {(char *)keygen,
		                "-Y",
		                "find-principals",
		                "-f",
		                (char *)cfg->allowed_signers_file,
		                "-s",
		                sigpath,
		                vtime,
		                NULL};

		r = tool_run(&fp, argv, NULL, 0, timeout, err);
		if (r < 0)
			goto out;
	}
	if (fp.status == 0 && fp.out.len > 0) {
		/* try each principal the key is allowed for, as git does */
		char *save = NULL, *principal;
		struct tool_run v = {BUF_INIT, BUF_INIT, 0};
		char lastmsg[256] = "";

		for (principal = strtok_r(fp.out.ptr, "\n", &save); principal;
		     principal = strtok_r(NULL, "\n", &save)) {
			char *argv[] = {(char *)keygen,
			                "-Y",
			                "verify",
			                "-n",
			                "git",
			                "-f",
			                (char *)cfg->allowed_signers_file,
			                "-I",
			                principal,
			                "-s",
			                sigpath,
			                vtime,
			                NULL};

			buf_reset(&v.out);
			buf_reset(&v.err);
			r = tool_run(&v, argv, payload->ptr, payload->len, timeout, err);
			if (r < 0) {
				tool_run_release(&v);
				goto out;
			}
			if (v.status == 0 && strstr(v.out.ptr, "Good \"git\" signature")) {
				ssh_key_of(v.out.ptr, key, sizeof(key));
				result_set(ret, VERIFY_TRUSTED, principal, key, "good signature by %s (%s)",
				           principal, key);
				tool_run_release(&v);
				r = 0;
				goto out;
			}
			first_line(v.err.len ? v.err.ptr : v.out.ptr, lastmsg, sizeof(lastmsg));
		}
		tool_run_release(&v);
		result_set(ret, VERIFY_BAD_SIGNATURE, NULL, NULL, "bad signature%s%s", *lastmsg ? ": " : "",
		           lastmsg);
		r = 0;
		goto out;
	}

	/* no trusted principal: is the signature itself good (then the key is unknown)? */
	{
		char *argv[] = {(char *)keygen, "-Y", "check-novalidate", "-n", "git", "-s", sigpath, NULL};

		r = tool_run(&nv, argv, payload->ptr, payload->len, timeout, err);
		if (r < 0)
			goto out;
	}
	if (nv.status == 0 && strstr(nv.out.ptr, "Good \"git\" signature")) {
		ssh_key_of(nv.out.ptr, key, sizeof(key));
		result_set(ret, VERIFY_UNKNOWN_KEY, NULL, key, "signed by unknown key %s",
		           *key ? key : "(unnamed)");
	} else {
		first_line(nv.err.len ? nv.err.ptr : nv.out.ptr, line, sizeof(line));
		result_set(ret, VERIFY_BAD_SIGNATURE, NULL, NULL, "bad signature%s%s", *line ? ": " : "",
		           line);
	}
	r = 0;
out:
	unlink(sigpath);
	tool_run_release(&fp);
	tool_run_release(&nv);
	return r;
}

/* ---- GnuPG through gpgme ---- */

static pthread_once_t gpgme_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t gpg_lock = PTHREAD_MUTEX_INITIALIZER;

static void gpgme_init_once(void)
{
	gpgme_check_version(NULL);
}

static int gpg_error_to(struct error *err, gpgme_error_t ge, const char *what)
{
	error_set(err, -EIO, "gnupg: %s: %s", what, gpgme_strerror(ge));
	return error_set_kind(err, ERROR_KIND_TERMINAL);
}

static int read_file(struct buf *out, const char *path, struct error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return error_set(err, -errno, "%s: %s", path, strerror(errno));
	r = file_read_fd(out, fd, VERIFY_TRUST_FILE_MAX, path, err);
	close(fd);
	return r;
}

static void sha256_hex(const struct buf *b, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(b->ptr, b->len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Make `home` hold exactly the keys of the keyring file (re-imported when the file changed). */
static int gpg_home_sync(gpgme_ctx_t ctx, const char *home, const char *keyring_file, struct error *err)
{
	static const char *const stale[] = {"pubring.kbx", "pubring.kbx~", "pubring.gpg", "pubring.gpg~",
	                                    "trustdb.gpg"};
	struct buf keys = BUF_INIT, stamp = BUF_INIT;
	char path[VERIFY_PATH_MAX], sum[65];
	gpgme_data_t data = NULL;
	gpgme_import_result_t ir;
	gpgme_error_t ge;
	int r, fd;

	r = read_file(&keys, keyring_file, err);
	if (r < 0)
		goto out;
	sha256_hex(&keys, sum);
	if (snprintf(path, sizeof(path), "%s/aliasd-keyring.sha256", home) >= (int)sizeof(path)) {
		r = error_set(err, -ENAMETOOLONG, "%s: path too long", home);
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)file_read_fd(&stamp, fd, 128, path, NULL);
		close(fd);
		if (stamp.len == 64 && !memcmp(stamp.ptr, sum, 64)) {
			r = 0;
			goto out;
		}
	}
	/* changed (or first use): start from an empty public keyring */
	unlink(path);
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		char p[VERIFY_PATH_MAX];

		if (snprintf(p, sizeof(p), "%s/%s", home, stale[i]) >= (int)sizeof(p) ||
		    (unlink(p) < 0 && errno != ENOENT)) {
			r = error_set(err, -errno, "%s: %s", p, strerror(errno));
			goto out;
		}
	}
	ge = gpgme_data_new_from_mem(&data, keys.ptr, keys.len, 0);
	if (ge) {
		r = gpg_error_to(err, ge, "reading keys");
		goto out;
	}
	ge = gpgme_op_import(ctx, data);
	if (ge) {
		r = gpg_error_to(err, ge, keyring_file);
		goto out;
	}
	ir = gpgme_op_import_result(ctx);
	if (!ir || ir->imported + ir->unchanged == 0) {
		r = error_set(err, -EINVAL, "%s: no OpenPGP public key in it (an armored export is expected)",
		              keyring_file);
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, sum, 64) != 64) {
		r = error_set(err, -EIO, "%s: cannot write", path);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	r = 0;
out:
	gpgme_data_release(data);
	buf_release(&keys);
	buf_release(&stamp);
	return r;
}

static int gpg_verify(struct verify_result *ret, const struct verify_config *cfg, const struct buf *sig,
                      const struct buf *payload, struct error *err)
{
	char home[VERIFY_PATH_MAX];
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t dsig = NULL, dpay = NULL;
	gpgme_verify_result_t vr;
	gpgme_signature_t s;
	gpgme_key_t key = NULL;
	gpgme_error_t ge;
	int r;

	if (!cfg->state_dir)
		return error_set(err, -EINVAL, "verify: gpg needs a state directory for its GNUPGHOME");
	pthread_once(&gpgme_once, gpgme_init_once);
	if (snprintf(home, sizeof(home), "%s/gnupg", cfg->state_dir) >= (int)sizeof(home))
		return error_set(err, -ENAMETOOLONG, "%s: path too long", cfg->state_dir);
	if (mkdir(home, 0700) < 0 && errno != EEXIST)
		return error_set(err, -errno, "%s: %s", home, strerror(errno));
	/* never fetch a signer's key from a keyserver or the web: only the keyring file counts */
	{
		char conf[VERIFY_PATH_MAX];
		int fd;

		if (snprintf(conf, sizeof(conf), "%s/gpg.conf", home) >= (int)sizeof(conf))
			return error_set(err, -ENAMETOOLONG, "%s: path too long", home);
		fd = open(conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			static const char text[] = "no-auto-key-retrieve\nno-auto-key-import\nno-autostart\n";
			bool ok = write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1);

			close(fd);
			if (!ok)
				return error_set(err, -EIO, "%s: cannot write", conf);
		} else if (errno != EEXIST) {
			return error_set(err, -errno, "%s: %s", conf, strerror(errno));
		}
	}

	pthread_mutex_lock(&gpg_lock);
	ge = gpgme_new(&ctx);
	if (!ge)
		ge = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home);
	if (ge) {
		r = gpg_error_to(err, ge, "starting");
		goto out;
	}
	r = gpg_home_sync(ctx, home, cfg->keyring_file, err);
	if (r < 0)
		goto out;

	if ((ge = gpgme_data_new_from_mem(&dsig, sig->ptr, sig->len, 0)) ||
	    (ge = gpgme_data_new_from_mem(&dpay, payload->ptr, payload->len, 0))) {
		r = gpg_error_to(err, ge, "buffers");
		goto out;
	}
	ge = gpgme_op_verify(ctx, dsig, dpay, NULL);
	vr = gpgme_op_verify_result(ctx);
	s = vr ? vr->signatures : NULL;
	if (!s) {
		/* unparseable (corrupt armor, CRC) or no signature packet in it */
		result_set(ret, VERIFY_BAD_SIGNATURE, NULL, NULL, "bad signature: %s",
		           ge ? gpgme_strerror(ge) : "no signature in it");
		r = 0;
		goto out;
	}
	switch (gpgme_err_code(s->status)) {
	case GPG_ERR_NO_ERROR:
		if (s->summary &
		    (GPGME_SIGSUM_KEY_REVOKED | GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED)) {
			result_set(ret, VERIFY_EXPIRED_OR_REVOKED, NULL, s->fpr,
			           "signed by expired or revoked key %s", s->fpr ? s->fpr : "?");
			break;
		}
		{
			const char *uid = "";

			if (s->fpr && !gpgme_get_key(ctx, s->fpr, &key, 0) && key && key->uids &&
			    key->uids->uid)
				uid = key->uids->uid;
			result_set(ret, VERIFY_TRUSTED, uid, s->fpr, "good signature by %s%s%s%s", uid,
			           *uid ? " (" : "", s->fpr ? s->fpr : "?", *uid ? ")" : "");
		}
		break;
	case GPG_ERR_NO_PUBKEY:
		result_set(ret, VERIFY_UNKNOWN_KEY, NULL, s->fpr, "signed by unknown key %s",
		           s->fpr ? s->fpr : "?");
		break;
	case GPG_ERR_KEY_EXPIRED:
	case GPG_ERR_SIG_EXPIRED:
	case GPG_ERR_CERT_REVOKED:
		result_set(ret, VERIFY_EXPIRED_OR_REVOKED, NULL, s->fpr,
		           "signed by expired or revoked key %s: %s", s->fpr ? s->fpr : "?",
		           gpgme_strerror(s->status));
		break;
	default:
		result_set(ret, VERIFY_BAD_SIGNATURE, NULL, s->fpr, "bad signature: %s",
		           gpgme_strerror(s->status));
		break;
	}
	r = 0;
out:
	gpgme_key_unref(key);
	gpgme_data_release(dsig);
	gpgme_data_release(dpay);
	gpgme_release(ctx);
	pthread_mutex_unlock(&gpg_lock);
	return r;
}

/* ---- the commit ---- */

static int git_error_to(struct error *err, int grc, const char *what)
{
	const git_error *e = git_error_last();
	int code = grc == GIT_ENOTFOUND ? -ENOENT : -EIO;

	error_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
	return error_set_kind(err, code == -ENOENT ? ERROR_KIND_NOT_FOUND : ERROR_KIND_TERMINAL);
}

static int check_config(const struct verify_config *cfg, struct error *err)
{
	const char *file;

	switch (cfg->provider) {
	case VERIFY_PROVIDER_SSH:
		file = cfg->allowed_signers_file;
		if (!file)
			return error_set(err, -EINVAL, "verify: provider ssh needs an allowed-signers file");
		break;
	case VERIFY_PROVIDER_GPG:
		file = cfg->keyring_file;
		if (!file)
			return error_set(err, -EINVAL, "verify: provider gpg needs a keyring file");
		break;
	default:
		return error_set(err, -EINVAL, "verify: unknown provider %d", (int)cfg->provider);
	}
	if (access(file, R_OK) < 0)
		return error_set(err, -errno, "%s: %s", file, strerror(errno));
	return 0;
}

int manifest_commit_verify(struct verify_result *ret, const char *repo_path, const char *commit,
                           const struct verify_config *cfg, struct error *err)
{
	struct verify_result res = {0};
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_buf gsig = GIT_BUF_INIT, gdata = GIT_BUF_INIT;
	struct buf sig = BUF_INIT, payload = BUF_INIT;
	char tmpdir[VERIFY_PATH_MAX] = "";
	enum verify_provider fmt;
	int64_t when;
	bool x509;
	int r, grc;

	r = check_config(cfg, err);
	if (r < 0)
		return r;
	grc = git_libgit2_init();
	if (grc < 0)
		return git_error_to(err, grc, "libgit2");

	grc = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (grc < 0) {
		r = git_error_to(err, grc, repo_path);
		goto out;
	}
	grc = git_revparse_single(&obj, repo, commit);
	if (grc == 0) {
		git_object *peeled = NULL;

		grc = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
		git_object_free(obj);
		obj = peeled;
	}
	if (grc < 0) {
		r = git_error_to(err, grc, commit);
		goto out;
	}
	when = git_commit_time((git_commit *)obj);

	grc = git_commit_extract_signature(&gsig, &gdata, repo, (git_oid *)git_object_id(obj), NULL);
	if (grc == GIT_ENOTFOUND) {
		result_set(&res, VERIFY_UNSIGNED, NULL, NULL, "unsigned commit");
		goto done;
	}
	if (grc < 0) {
		r = git_error_to(err, grc, "reading the signature");
		goto out;
	}
	if (buf_put(&sig, gsig.ptr, gsig.size) < 0 || buf_put(&payload, gdata.ptr, gdata.size) < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}

	fmt = sig_format(sig.ptr, &x509);
	if (fmt != cfg->provider) {
		result_set(&res, VERIFY_PROVIDER_MISMATCH, NULL, NULL, "signed with %s, but %s is configured",
		           fmt == VERIFY_PROVIDER_GPG   ? "an OpenPGP (gpg) signature"
		           : fmt == VERIFY_PROVIDER_SSH ? "an SSH signature"
		           : x509                       ? "an X.509 signature"
		                                        : "an unknown kind of signature",
		           verify_provider_name(cfg->provider));
		goto done;
	}

	if (cfg->provider == VERIFY_PROVIDER_GPG) {
		r = gpg_verify(&res, cfg, &sig, &payload, err);
		if (r < 0)
			goto out;
		goto done;
	}

	{
		const char *base = cfg->state_dir ? cfg->state_dir : "/tmp";

		if (snprintf(tmpdir, sizeof(tmpdir), "%s/verify-XXXXXX", base) >= (int)sizeof(tmpdir)) {
			r = error_set(err, -ENAMETOOLONG, "%s: path too long", base);
			tmpdir[0] = '\0';
			goto out;
		}
		if (!mkdtemp(tmpdir)) {
			r = error_set(err, -errno, "%s: %s", tmpdir, strerror(errno));
			tmpdir[0] = '\0';
			goto out;
		}
	}
	r = ssh_verify(&res, cfg, tmpdir, &sig, &payload, when, err);
	if (r < 0)
		goto out;
done:
	*ret = res;
	r = 0;
out:
	if (*tmpdir)
		rmdir(tmpdir);
	buf_release(&sig);
	buf_release(&payload);
	git_buf_dispose(&gsig);
	git_buf_dispose(&gdata);
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return r;
}
