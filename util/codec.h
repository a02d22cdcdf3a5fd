/*
 * codec.h - hex digits and the base64 form of SHA-256 digests.
 *
 * Pure functions, no allocation.  Base64 is the standard alphabet with '='
 * padding (RFC 4648 section 4), the form Lambda uses for CodeSha256.
 */
#ifndef ALIASD_UTIL_CODEC_H
#define ALIASD_UTIL_CODEC_H

#include <stddef.h>

/* Length of a SHA-256 digest in base64, without the NUL. */
#define CODEC_SHA256_B64_LEN 44
/* Sizes of the two text forms of a SHA-256 digest, NUL included. */
#define CODEC_SHA256_B64_SIZE (CODEC_SHA256_B64_LEN + 1)
#define CODEC_SHA256_HEX_SIZE 65

/* The value 0..15 of the hex digit `c` (either case), or -1. */
int codec_hex_digit(int c);

/*
 * Decode exactly 2 * n hex digits from `hex` into n bytes.  Returns 0, or
 * -EINVAL (ret untouched) if any of those characters is not a hex digit.
 * `hex` must hold at least 2 * n characters; what follows is not looked at.
 */
int codec_hex_decode(unsigned char *ret, size_t n, const char *hex);

/* `len` bytes as 2 * len lower-case hex digits plus NUL in out. */
void codec_hex_encode(char *out, const unsigned char *in, size_t len);

/* The value 0..63 of the base64 character `c` (standard alphabet), or -1 ('=' too). */
int codec_base64_digit(int c);

/* A 32-byte digest as 44 base64 characters plus NUL in out. */
void codec_digest_base64(char out[CODEC_SHA256_B64_SIZE], const unsigned char md[32]);

/*
 * The 32 bytes of a digest written as exactly 44 base64 characters ending in
 * one '=', canonical (the unused low bits zero, as every encoder writes them).
 * 0, or -EINVAL with md untouched.
 */
int codec_digest_base64_decode(unsigned char md[32], const char *b64);

/*
 * A SHA-256 as people and APIs write it, 64 hex digits (either case) or 44
 * canonical base64 characters, to the base64 form Lambda reports
 * (CodeSha256).  0, or -EINVAL with ret untouched (NULL in too).
 */
int codec_sha256_normalise(char ret[CODEC_SHA256_B64_SIZE], const char *in);

#endif
