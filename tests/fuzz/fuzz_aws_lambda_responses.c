/*
 * fuzz_aws_lambda_responses.c - every Lambda response parser of aws/lambda
 * and the error-code extraction of aws/client.  The first byte picks the
 * parser; the rest is the response body.  Successful parses are turned back
 * into JSON and parsed again (round trip must succeed).  A first byte of 0xff
 * builds a streamed CreateFunction body instead (name NUL value NUL zip): the
 * zip must come back out of its JSON, and the stream read in small pieces
 * must equal the whole body.
 */
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/lambda.h"
#include "aws/lambda_wire.h"

static void roundtrip_config(const struct lambda_function_config *c)
{
	cJSON *j = lambda_function_config_to_json(c, true);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	struct lambda_function_config again = {0};

	if (s && lambda_function_config_parse("roundtrip", s, strlen(s), &again, NULL) < 0)
		abort();
	lambda_function_config_release(&again);
	free(s);
	cJSON_Delete(j);
}

static void body_stream(const char *in, size_t len)
{
	const char *name = in, *value, *zip;
	const char *nul1 = memchr(in, '\0', len), *nul2;
	struct lambda_env_input env[1];
	struct lambda_create_input ci = {.function_name = "f",
	                                 .config = {.role = "r", .set_environment = true}};
	struct lambda_body_stream s = {.head = BUF_INIT, .tail = BUF_INIT};
	struct buf whole = BUF_INIT, pieces = BUF_INIT;
	struct error err = ERROR_INIT;
	cJSON *j = NULL;
	const cJSON *z;
	char piece[7];
	size_t got;

	if (!nul1 || !(nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - in))))
		return;
	value = nul1 + 1;
	zip = nul2 + 1;
	env[0] = (struct lambda_env_input){name, value};
	ci.config.env = env;
	ci.config.n_env = *name ? 1 : 0;
	ci.code.zip = zip;
	ci.code.zip_len = len - (size_t)(zip - in);
	if (lambda_create_body(&whole, &ci, &err) < 0)
		goto out;
	if (lambda_create_body_stream(&s, &ci, &err) < 0)
		abort();
	while ((got = lambda_body_stream_read(&s, piece, 1 + pieces.len % sizeof(piece))) > 0)
		if (buf_put(&pieces, piece, got) < 0)
			abort();
	if (pieces.len != whole.len || memcmp(pieces.ptr, whole.ptr, whole.len) || s.len != whole.len)
		abort();
	j = cJSON_ParseWithLength(whole.ptr, whole.len);
	z = j ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Code"), "ZipFile")
	      : NULL;
	if (j && (!cJSON_IsString(z) || strlen(z->valuestring) != s.b64_len))
		abort();
	if (z && ci.code.zip_len) {
		unsigned char *dec = malloc(s.b64_len);
		int n =
		    dec ? EVP_DecodeBlock(dec, (const unsigned char *)z->valuestring, (int)s.b64_len) : -1;

		/* EVP_DecodeBlock keeps the padding's zero bytes */
		if (n < 0 || (size_t)n < ci.code.zip_len || memcmp(dec, zip, ci.code.zip_len))
			abort();
		free(dec);
	}
out:
	cJSON_Delete(j);
	lambda_body_stream_release(&s);
	buf_release(&whole);
	buf_release(&pieces);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body;
	size_t len;
	struct error err = ERROR_INIT;
	char *marker = NULL;

	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	if (data[0] == 0xff) {
		body_stream(body, len);
		return 0;
	}
	if (data[0] == 0xfe) {
		struct lambda_account_settings a = {0};

		if (lambda_account_settings_parse("GetAccountSettings", body, len, &a, &err) == 0 &&
		    (a.code_storage_limit < 0 || a.code_storage_used < 0))
			abort();
		return 0;
	}
	switch (data[0] % 7) {
	case 0: {
		struct lambda_function_config c = {0};

		if (lambda_function_config_parse("GetFunctionConfiguration", body, len, &c, &err) == 0)
			roundtrip_config(&c);
		lambda_function_config_release(&c);
		break;
	}
	case 1: {
		struct lambda_function f = {0};

		if (lambda_function_parse("GetFunction", body, len, &f, &err) == 0) {
			cJSON *j = lambda_function_to_json(&f, false);

			cJSON_Delete(j);
			roundtrip_config(&f.config);
		}
		lambda_function_release(&f);
		break;
	}
	case 2: {
		struct lambda_alias a = {0};

		if (lambda_alias_parse("GetAlias", body, len, &a, &err) == 0) {
			cJSON *j = lambda_alias_to_json(&a);
			char *s = j ? cJSON_PrintUnformatted(j) : NULL;
			struct lambda_alias again = {0};

			if (s && lambda_alias_parse("roundtrip", s, strlen(s), &again, NULL) < 0)
				abort();
			lambda_alias_release(&again);
			free(s);
			cJSON_Delete(j);
		}
		lambda_alias_release(&a);
		break;
	}
	case 3:
	case 4: {
		struct lambda_config_list l = {0};
		const char *key = data[0] % 7 == 3 ? "Versions" : "Functions";

		/* twice: the second page appends */
		if (lambda_versions_page_parse("ListVersionsByFunction", body, len, key, &l, &marker, &err) ==
		    0) {
			free(marker);
			marker = NULL;
			lambda_versions_page_parse("ListVersionsByFunction", body, len, key, &l, &marker,
			                           &err);
		}
		free(marker);
		lambda_config_list_release(&l);
		break;
	}
	case 5: {
		struct lambda_alias_list l = {0};

		if (lambda_aliases_page_parse("ListAliases", body, len, &l, &marker, &err) == 0) {
			free(marker);
			marker = NULL;
			lambda_aliases_page_parse("ListAliases", body, len, &l, &marker, &err);
		}
		free(marker);
		lambda_alias_list_release(&l);
		break;
	}
	case 6: {
		/* header = up to the first newline, body = the rest */
		const char *nl = memchr(body, '\n', len);
		size_t hlen = nl ? (size_t)(nl - body) : 0;
		char *header = strndup(body, hlen);
		char code[64], msg[128];

		if (!header)
			return 0;
		aws_error_parse(nl ? header : NULL, nl ? nl + 1 : body, nl ? len - hlen - 1 : len, code,
		                sizeof(code), msg, sizeof(msg));
		if (strlen(code) >= sizeof(code) || strlen(msg) >= sizeof(msg))
			abort();
		free(header);
		break;
	}
	}
	return 0;
}
