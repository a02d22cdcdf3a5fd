/*
 * credentials_internal.h - the parsers of the credential chain, exposed for
 * unit tests and fuzzing (tests/unit/test_aws_credentials.c,
 * tests/fuzz/fuzz_aws_credentials_*.c) and used by aws/credentials*.c.
 * Not for other modules: they use credentials.h.
 */
#ifndef ALIASD_AWS_CREDENTIALS_INTERNAL_H
#define ALIASD_AWS_CREDENTIALS_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include "aws/credentials.h"
#include "util/error.h"

/*
 * The AWS shared-file INI dialect, as botocore reads it: "[section]" headers
 * (inner whitespace of "[profile   x]" collapsed), "key = value" lines, '#'
 * and ';' full-line comments (no inline comments: values are taken whole),
 * keys lower-cased.  An indented line after a key with an empty value opens a
 * nested block ("s3 =\n  key = v", stored as "s3.key"); after a key with a
 * value it continues that value (joined with '\n').  Lines before any
 * section are ignored.  Caps:
 * AWS_CREDENTIALS_FILE_MAX bytes, 4096 entries.  `name` is used in messages.
 */
struct aws_ini;
int aws_ini_parse(struct aws_ini **ret, const char *text, size_t len, const char *name, struct error *err);
/* Value of `key` in `section` (exact section text, e.g. "profile dev"); NULL if absent. Last one wins. */
const char *aws_ini_get(const struct aws_ini *ini, const char *section, const char *key);
/* True when the section exists (even empty). */
int aws_ini_has_section(const struct aws_ini *ini, const char *section);
void aws_ini_free(struct aws_ini *ini);

/*
 * Credentials JSON as credential_process (Version 1), ECS and IMDS return:
 * AccessKeyId, SecretAccessKey, Token or SessionToken, Expiration (ISO 8601).
 * `need_version` requires "Version": 1.  `source` is copied into ret->source.
 */
int aws_credentials_parse_json(const char *text, size_t len, int need_version, const char *source,
                               struct aws_credentials *ret, struct error *err);
/*
 * STS AssumeRole / AssumeRoleWithWebIdentity XML answer, read with aws/xml.h:
 * <XResponse><XResult><Credentials> with AccessKeyId, SecretAccessKey,
 * SessionToken and Expiration (all required, trimmed).  -EBADMSG for
 * anything else (malformed XML, a DOCTYPE, another shape), -E2BIG over
 * STS_RESPONSE_MAX.
 */
int aws_credentials_parse_sts_xml(const char *text, size_t len, const char *source,
                                  struct aws_credentials *ret, struct error *err);
/*
 * An STS error answer <ErrorResponse><Error><Code>..</Code><Message>..
 * (a bare <Error> too): code and message, printable, cut to size ("" when
 * absent).  -ENOENT without a Code, -EBADMSG when not XML.
 */
int aws_sts_parse_error(const char *text, size_t len, char *code, size_t codesz, char *msg, size_t msgsz);
/* The 12-digit Account of a GetCallerIdentity answer into out (>= 13 bytes); -EBADMSG otherwise. */
int aws_sts_parse_account(const char *text, size_t len, char *out, size_t outsz);
/* "2026-11-27T10:00:00Z", with optional fraction and "+00:00"/"-hh:mm" offset. */
int aws_time_parse_iso8601(const char *s, time_t *ret);

#endif
