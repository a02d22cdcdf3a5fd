/*
 * verify.h - is a commit signed by a trusted key?  (DESIGN.md §7)
 *
 * The answer `git verify-commit` would give, from the system's tools, never
 * from hand-written crypto:
 *
 *  - provider ssh: the signature and the signed payload are split out of the
 *    commit with libgit2 (git_commit_extract_signature, header "gpgsig"), then
 *    OpenSSH checks them as git's gpg-interface.c does:
 *        ssh-keygen -Y find-principals -f ALLOWED -s SIG
 *        ssh-keygen -Y verify -f ALLOWED -I PRINCIPAL -n git -s SIG < PAYLOAD
 *    and, when no principal matches, `ssh-keygen -Y check-novalidate -n git`
 *    to tell "signed by an unknown key" (the signature itself is good; the
 *    key is named) from "bad signature".  `ALLOWED` is git's allowed-signers
 *    file (gpg.ssh.allowedSignersFile, see ssh-keygen(1) ALLOWED SIGNERS).
 *    ssh-keygen runs by fork/exec with an argv (no shell), with a timeout,
 *    reading the signature from a file in a private (0700) temporary
 *    directory that is removed afterwards.
 *
 *  - provider gpg: GnuPG through gpgme.  The keys of the armored keyring file
 *    are imported into a private GNUPGHOME, STATE_DIR/gnupg (created 0700).
 *    The home is rebuilt (old public keyring removed, file imported again)
 *    whenever the keyring file's content changes, so a key removed from the
 *    file is no longer trusted.  Trust model: no web of trust and no
 *    ownertrust.  A signature is trusted when GnuPG reports it cryptographically
 *    good (status GPG_ERR_NO_ERROR) and made by a key of that private keyring,
 *    which holds only the keys of the file: putting a key into the file is the
 *    act of trusting it.  Expired or revoked keys and expired signatures are
 *    untrusted.  The home's gpg.conf (written when missing) turns off fetching
 *    keys (no-auto-key-retrieve, no-auto-key-import) and starting gpg-agent
 *    (no-autostart): verifying needs neither.
 *
 * A commit signed in the other format than the configured provider (an
 * OpenPGP signature while ssh is configured, or an SSH or X.509 one with gpg)
 * is untrusted with VERIFY_PROVIDER_MISMATCH.
 *
 * Thread safety: calls may run concurrently for different state dirs; two
 * concurrent gpg calls on the same state dir are serialized inside.
 */
#ifndef ALIASD_MANIFEST_VERIFY_H
#define ALIASD_MANIFEST_VERIFY_H

#include "util/error.h"

enum verify_provider {
	VERIFY_PROVIDER_SSH = 1,
	VERIFY_PROVIDER_GPG,
};

/* "ssh", "gpg"; "?" for anything else. */
const char *verify_provider_name(enum verify_provider p);

enum verify_verdict {
	VERIFY_TRUSTED = 0,        /* a good signature by a trusted key */
	VERIFY_UNSIGNED,           /* the commit has no signature */
	VERIFY_UNKNOWN_KEY,        /* a good signature, by a key that is not trusted (named in `key`);
	                              ssh: also a listed key whose valid-after/valid-before excludes the
	                              commit's time, as git says ("No principal matched") */
	VERIFY_BAD_SIGNATURE,      /* the signature does not match the commit, or is corrupt */
	VERIFY_PROVIDER_MISMATCH,  /* signed in another format than the provider configured */
	VERIFY_EXPIRED_OR_REVOKED, /* gpg: a trusted key, but expired or revoked, or the signature expired */
};

/* "trusted", "unsigned", "unknown key", "bad signature", "provider mismatch", "expired or revoked key". */
const char *verify_verdict_name(enum verify_verdict v);

struct verify_config {
	enum verify_provider provider;
	const char *allowed_signers_file; /* ssh: git's allowed-signers file */
	const char *keyring_file;         /* gpg: armored public keys */
	const char *state_dir;            /* gpg: GNUPGHOME is STATE_DIR/gnupg; ssh: temporary files
	                                     go below it too (NULL = /tmp) */
	const char *ssh_keygen;           /* NULL = "ssh-keygen" from PATH */
	unsigned timeout_ms;              /* per ssh-keygen run; 0 = 10 s */
};

#define VERIFY_SIGNER_MAX 256
#define VERIFY_KEY_MAX    128
#define VERIFY_REASON_MAX 512

struct verify_result {
	enum verify_verdict verdict;
	char signer[VERIFY_SIGNER_MAX]; /* ssh: the allowed-signers principal; gpg: the key's first
	                                   user id; "" when unknown */
	char key[VERIFY_KEY_MAX];       /* ssh: "SHA256:..."; gpg: the key fingerprint (hex), or its
	                                   key id when the key is unknown; "" when unsigned */
	char reason[VERIFY_REASON_MAX]; /* one line for /status, e.g. "signed by unknown key SHA256:..."
	                                   or "good signature by alice@example.com (SHA256:...)" */
};

/*
 * Verify commit `commit` (a full or abbreviated hex id, or any revision
 * libgit2 parses, e.g. "HEAD" or "refs/heads/main") of the Git repository at
 * `repo_path` (bare, like the daemon's cache, or a working repository).
 *
 * Returns 0 with *ret filled when a verdict was reached, trusted or not:
 * callers apply the commit only when ret->verdict == VERIFY_TRUSTED.
 * Returns a negative errno with `err` set when no verdict could be reached
 * (the commit must then not be applied either):
 *   -EINVAL   bad config (missing file for the provider, unknown provider),
 *   -ENOENT   the repository or the commit does not exist, or a trust file is missing,
 *   -ETIMEDOUT ssh-keygen did not finish in time (kind TRANSIENT),
 *   -EIO      ssh-keygen or GnuPG failed in an unexpected way (tool failure), with its message,
 *   -ENOMEM.
 */
int manifest_commit_verify(struct verify_result *ret, const char *repo_path, const char *commit,
                           const struct verify_config *cfg, struct error *err);

#endif
