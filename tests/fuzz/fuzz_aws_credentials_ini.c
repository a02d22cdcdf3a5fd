/* Fuzz the shared-file INI parser (~/.aws/credentials, ~/.aws/config). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_ini *ini = NULL;
	struct error err = ERROR_INIT;

	if (aws_ini_parse(&ini, (const char *)data, size, "fuzz", &err) < 0)
		return 0;
	const char *v = aws_ini_get(ini, "default", "aws_access_key_id");
	if (v)
		(void)strlen(v);
	v = aws_ini_get(ini, "profile dev", "s3.max_concurrent_requests");
	if (v)
		(void)strlen(v);
	(void)aws_ini_has_section(ini, "profile dev");
	aws_ini_free(ini);
	return 0;
}
