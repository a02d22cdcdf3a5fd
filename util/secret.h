/*
 * secret.h - wiping secrets (keys, tokens, passwords, environment values)
 * before their memory is reused or freed.
 *
 * OPENSSL_cleanse underneath: the compiler cannot drop the writes as dead
 * stores.  Every function accepts NULL.  Buffers (util/buf.h) have their own
 * buf_release_secret(); these are for plain memory and C strings.
 */
#ifndef ALIASD_UTIL_SECRET_H
#define ALIASD_UTIL_SECRET_H

#include <stddef.h>

/* Overwrite n bytes at p with zeros. */
void secret_wipe(void *p, size_t n);
/* Overwrite the characters of string s (up to its NUL) with zeros. */
void secret_wipe_str(char *s);
/* secret_wipe_str, then free(s). */
void secret_free_str(char *s);
/* secret_wipe(p, n), then free(p). */
void secret_free(void *p, size_t n);

#endif
