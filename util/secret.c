/*
 * secret.c - wiping secrets (see secret.h).
 */
#include "util/secret.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void secret_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void secret_wipe_str(char *s)
{
	if (s)
		OPENSSL_cleanse(s, strlen(s));
}

void secret_free_str(char *s)
{
	secret_wipe_str(s);
	free(s);
}

void secret_free(void *p, size_t n)
{
	secret_wipe(p, n);
	free(p);
}
