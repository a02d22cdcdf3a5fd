/*
 * known_hosts.h - OpenSSH known_hosts matching, for the SSH transport of
 * manifest/repo.h (and its unit tests and fuzzer).
 *
 * `host` as libgit2 reports it (name or address), `port` 22 unless given in
 * the URL, `key` the raw host key blob (as in the base64 field of
 * known_hosts).  Hashed names (|1|salt|hash), "[host]:port", patterns with *
 * and ?, negation and @revoked are understood; @cert-authority lines are
 * ignored.  The file is read whole, at most 4 MiB.
 *
 * Returns 0 if a non-revoked line for the host carries this key, -EACCES if
 * the host is listed with other keys only or the key is @revoked (changed
 * host key: refuse), -ENOENT if the host is not listed, -EIO if the file
 * cannot be read; `err` says which.
 */
#ifndef ALIASD_MANIFEST_KNOWN_HOSTS_H
#define ALIASD_MANIFEST_KNOWN_HOSTS_H

#include <stddef.h>

#include "util/error.h"

int manifest_repo_known_hosts_check(const char *known_hosts_file, const char *host, int port,
                                    const unsigned char *key, size_t key_len, struct error *err);

#endif
