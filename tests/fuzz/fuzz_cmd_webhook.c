/*
 * fuzz_cmd_webhook.c - the GitHub webhook path on arbitrary bytes: the
 * signature header check and the push payload parser.
 * Input layout: first line = X-Hub-Signature-256 header, the rest = body.
 * Checks: no crash/UB; a wrong signature is never accepted; the right one
 * always is; parsed ref/after are NUL-terminated within their buffers.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char secret[] = "fuzz-secret";
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? size - hlen - 1 : 0;
	char *header = malloc(hlen + 1), good[80], ref[256], after[41];
	unsigned char mac[32];
	unsigned int n = 0;

	if (!header)
		return 0;
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, blen, mac, &n);
	strcpy(good, "sha256=");
	for (int i = 0; i < 32; i++)
		sprintf(good + 7 + 2 * i, "%02x", mac[i]);
	if (httpd_webhook_verify(secret, strlen(secret), body, blen, header) == 0 &&
	    strcasecmp(header, good) != 0)
		abort();
	if (httpd_webhook_verify(secret, strlen(secret), body, blen, good) != 0)
		abort();
	if (httpd_push_parse(body, blen, ref, after) == 0 && (strlen(ref) > 255 || strlen(after) > 40))
		abort();
	free(header);
	return 0;
}
