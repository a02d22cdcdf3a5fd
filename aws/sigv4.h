/*
 * sigv4.h - AWS Signature Version 4 (pure: OpenSSL only, the clock is a parameter).
 *
 * The stages are exposed so that each is tested on its own (aws-c-auth's
 * layout): canonical request -> string to sign -> signature -> Authorization.
 *
 * Canonicalisation rules (what AWS and botocore do):
 *  - path: as sent on the wire, already percent-encoded once.  With
 *    double_encode_path (every service but s3) each segment is encoded again
 *    ("%3A" -> "%253A") after the path is normalised as AWS and botocore do
 *    ("." and ".." segments removed, runs of '/' collapsed); an empty path
 *    is "/".  Without it (s3) the path is signed exactly as given.
 *  - query: the wire query (encoded, without '?') is split on '&', each name
 *    and value is percent-decoded and re-encoded with the RFC 3986 unreserved
 *    set, pairs are sorted by name then value; empty values appear as "name=".
 *  - headers: names lower-cased and sorted; values trimmed, inner runs of
 *    spaces collapsed to one; x-amz-date (and x-amz-security-token when a
 *    session token is given) are signed.  A header named twice is one line
 *    with the values joined by ','.  user-agent, expect and x-amzn-trace-id
 *    are never signed (botocore's list: proxies rewrite them).
 *  - payload: hex SHA-256 of the body (empty body: e3b0c442...).
 *
 * Secrets: the signing key and the secret never leave this module except in
 * the Authorization value, which is in a buffer marked secret.
 */
#ifndef ALIASD_AWS_SIGV4_H
#define ALIASD_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/http.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/error.h"

/* Credentials, as aws/credentials.h resolves them; a deep copy owns its strings. */
struct aws_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token; /* may be NULL */
	time_t expiration;   /* 0 = never */
	char source[32];     /* "environment", "profile:NAME", "web-identity", "ecs", "imds", "process",
	                        "assume-role" */
};

struct sigv4_params {
	const char *method;
	const char *path;                  /* as sent on the wire, already percent-encoded once, e.g.
	                                      /2015-03-31/functions/arn%3Aaws%3Alambda%3A.../aliases */
	const char *query;                 /* as sent on the wire (encoded), without '?', may be NULL */
	const struct http_header *headers; /* headers to sign (host required) */
	size_t n_headers;
	const void *payload; /* may be NULL when payload_len == 0 */
	size_t payload_len;
	const char *payload_sha256_hex; /* precomputed lower-case hex SHA-256 of a streamed body; payload is
	                                   then not read.  NULL = hash payload */
	const char *region;
	const char *service;
	time_t now;
	bool double_encode_path; /* true for every service but s3 */
};

/* Caps on what we sign (a request beyond them is -E2BIG). */
#define SIGV4_MAX_HEADERS      64
#define SIGV4_MAX_QUERY_PARAMS 256

/* "YYYYMMDDTHHMMSSZ" (UTC) for `now`; ret has room for 17 bytes. -EOVERFLOW if unrepresentable. */
int sigv4_amz_date(time_t now, char ret[17]);

/*
 * The canonical request (appended to ret_canonical) and the signed-headers
 * list ("host;x-amz-date", appended to ret_signed_headers).  `amz_date` (may
 * be NULL) is signed as x-amz-date unless p->headers already carries one;
 * `session_token` (may be NULL) likewise as x-amz-security-token.
 * -EINVAL: no host header, bad method/path, a header name or value with
 * control characters; -E2BIG: too many headers/params.
 */
int sigv4_canonical_request(const struct sigv4_params *p, const char *amz_date, const char *session_token,
                            struct buf *ret_canonical, struct buf *ret_signed_headers, struct error *err);

/*
 * "AWS4-HMAC-SHA256\n" amz_date "\n" scope "\n" hex(sha256(canonical_request)),
 * appended to `out`.  scope is "date8/region/service/aws4_request".
 */
int sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request,
                         struct buf *out);

/* Hex HMAC-SHA256 signature of string_to_sign with the derived key (wiped after use). */
int sigv4_signature(const char *secret, const char *date8, const char *region, const char *service,
                    const char *string_to_sign, char ret_hex[CODEC_SHA256_HEX_SIZE]);

/*
 * Everything.  The caller adds to the request:
 *   X-Amz-Date: ret->amz_date
 *   Authorization: ret->authorization.ptr
 *   X-Amz-Security-Token: creds->session_token   (when not NULL)
 * (X-Amz-Content-Sha256 is not needed for lambda/sts.)
 */
struct sigv4_result {
	char amz_date[17];
	struct buf authorization; /* secret-marked */
};

#define SIGV4_RESULT_INIT                                                                                    \
	{                                                                                                    \
		"", BUF_INIT                                                                                 \
	}

/* *ret is overwritten on success (not released first): pass a fresh or released one. */
int sigv4_sign(const struct sigv4_params *p, const struct aws_credentials *creds, struct sigv4_result *ret,
               struct error *err);
/* Wipes and frees; accepts a released or zeroed result. */
void sigv4_result_release(struct sigv4_result *r);

/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void sigv4_sha256_hex(const void *data, size_t len, char ret_hex[CODEC_SHA256_HEX_SIZE]);

#endif
