/*
 * Fuzz the parsers of what credential sources send back: credentials JSON
 * (credential_process with Version 1, ECS/IMDS without), STS XML (credentials,
 * error answers, GetCallerIdentity), ISO 8601.
 * The first byte picks the parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_credentials c = {0};
	struct error err = ERROR_INIT;
	const char *text;
	char *s;
	time_t t;

	if (size < 1)
		return 0;
	text = (const char *)data + 1;
	size--;
	switch (data[0] % 4) {
	case 0:
	case 1:
		if (aws_credentials_parse_json(text, size, data[0] % 2, "fuzz", &c, &err) == 0)
			aws_credentials_release(&c);
		break;
	case 2: {
		char code[64], msg[128], acct[13];

		if (aws_credentials_parse_sts_xml(text, size, "fuzz", &c, &err) == 0)
			aws_credentials_release(&c);
		(void)aws_sts_parse_error(text, size, code, sizeof(code), msg, sizeof(msg));
		(void)aws_sts_parse_account(text, size, acct, sizeof(acct));
		break;
	}
	default:
		s = malloc(size + 1);
		if (!s)
			return 0;
		memcpy(s, text, size);
		s[size] = '\0';
		(void)aws_time_parse_iso8601(s, &t);
		free(s);
		break;
	}
	return 0;
}
