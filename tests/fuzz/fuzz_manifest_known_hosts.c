/*
 * fuzz_manifest_known_hosts.c - libFuzzer target over known_hosts parsing
 * (manifest_repo_known_hosts_check in manifest/repo.c).
 *
 * The input is the whole known_hosts file: it is written to a memfd and read
 * back through /proc/self/fd/N, so no file touches the disk.  Each input is
 * checked three ways: a host on port 22, a host on a port (the "[host]:port"
 * name), and a key of another type than the lines of the seeds (the "other
 * key types listed" message).  The seeds (tests/fuzz/corpus/
 * manifest_known_hosts/) hold lines for exactly these hosts and keys: plain,
 * hashed |1|salt|hash, [host]:port, @revoked, @cert-authority, wildcards,
 * negation, junk and CRLF.
 *
 * Invariants checked beyond the sanitizers:
 *  - the result is 0, -EACCES, -ENOENT or -EIO, with a message on failure;
 *  - a key is only accepted when the input holds its base64 text: every full
 *    4-character group of the encoding decodes to 3 fixed bytes, so all but
 *    the last group must appear verbatim.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "manifest/known_hosts.h"
#include "manifest/repo.h"
#include "util/error.h"

/* The keys the seeds use (public halves of throwaway keys). */
static const char key_ed25519_b64[] = "AAAAC3NzaC1lZDI1NTE5AAAAIFyT8jyGXy0jDIc/kHb6pk6tZMuLEG0CYBF0DvV1tEGi";
static const char key_ecdsa_b64[] =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBL8pNTb00nv8BNVYaeZ57mRqKOL+oUYP7D+wecv0"
    "8JJlsq+C9VI0uPKA/QQPoWep6/fNojHsiNphUZAUUWrKijY=";

struct fuzz_key {
	const char *b64;
	unsigned char blob[256];
	size_t len;
};

static struct fuzz_key key_ed25519 = {key_ed25519_b64, {0}, 0};
static struct fuzz_key key_ecdsa = {key_ecdsa_b64, {0}, 0};
static int memfd = -1;
static char memfd_path[64];

static void key_decode(struct fuzz_key *k)
{
	size_t n = strlen(k->b64);
	int len = EVP_DecodeBlock(k->blob, (const unsigned char *)k->b64, (int)n);

	if (len < 0 || (size_t)len > sizeof(k->blob))
		abort();
	if (k->b64[n - 1] == '=')
		len--;
	if (k->b64[n - 2] == '=')
		len--;
	k->len = (size_t)len;
}

static void setup(void)
{
	key_decode(&key_ed25519);
	key_decode(&key_ecdsa);
	memfd = memfd_create("known_hosts", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
}

static void check(const uint8_t *data, size_t size, const char *host, int port, const struct fuzz_key *k)
{
	struct error err = ERROR_INIT;
	int rc = manifest_repo_known_hosts_check(memfd_path, host, port, k->blob, k->len, &err);

	if (rc != 0 && rc != -EACCES && rc != -ENOENT && rc != -EIO)
		abort();
	if (rc < 0 && err.msg[0] == '\0')
		abort();
	if (rc == 0) {
		/* all full groups but the last are fixed text */
		size_t fixed = (strlen(k->b64) / 4 - 1) * 4;

		if (!memmem(data, size, k->b64, fixed))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memfd < 0)
		setup();
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();

	check(data, size, "git.example.com", 22, &key_ed25519);
	check(data, size, "127.0.0.1", 2222, &key_ed25519);
	check(data, size, "127.0.0.1", 2222, &key_ecdsa);
	return 0;
}
