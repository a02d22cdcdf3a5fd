/*
 * known_hosts.c - OpenSSH known_hosts matching (see known_hosts.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "manifest/known_hosts.h"
#include "util/buf.h"
#include "util/error.h"

/* Bytes of a known_hosts file. */
#define REPO_KNOWN_HOSTS_MAX ((size_t)4 << 20)

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
