/*
 * test_util_secret.c - wiping secrets: every byte zero, NULL accepted, free
 * after wipe (the sanitizer build checks the frees).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "util/secret.h"

TEST(secret_wipe_memory)
{
	unsigned char key[32];
	size_t zero = 0;

	memset(key, 0xa5, sizeof(key));
	secret_wipe(key, 16);
	for (size_t i = 0; i < sizeof(key); i++)
		CHECKF(key[i] == (i < 16 ? 0 : 0xa5), "byte %zu", i);
	secret_wipe(key, sizeof(key));
	for (size_t i = 0; i < sizeof(key); i++)
		zero += key[i] == 0;
	CHECK(zero == sizeof(key));
	secret_wipe(NULL, 10);
	secret_wipe(key, 0);
}

TEST(secret_wipe_string)
{
	char s[] = "wJalrXUtnFEMI/K7MDENG";
	size_t n = strlen(s);

	secret_wipe_str(s);
	for (size_t i = 0; i <= n; i++)
		CHECKF(s[i] == '\0', "byte %zu", i);
	secret_wipe_str(NULL);
}

TEST(secret_free_accepts_all)
{
	char *s = strdup("token-value");
	void *p = malloc(64);

	REQUIRE(s && p);
	memset(p, 1, 64);
	secret_free_str(s);
	secret_free(p, 64);
	secret_free_str(NULL);
	secret_free(NULL, 64);
	CHECK(1);
}

TEST_MAIN(secret_wipe_memory, secret_wipe_string, secret_free_accepts_all)
