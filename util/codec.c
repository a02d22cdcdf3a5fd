#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/codec.h"

int codec_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int codec_hex_decode(unsigned char *ret, size_t n, const char *hex)
{
	for (size_t i = 0; i < 2 * n; i++)
		if (codec_hex_digit(hex[i]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < n; i++)
		ret[i] = (unsigned char)(codec_hex_digit(hex[2 * i]) << 4 | codec_hex_digit(hex[2 * i + 1]));
	return 0;
}

void codec_hex_encode(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int codec_base64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void codec_digest_base64(char out[CODEC_SHA256_B64_SIZE], const unsigned char md[32])
{
	/* EVP_EncodeBlock writes 44 characters and a NUL */
	EVP_EncodeBlock((unsigned char *)out, md, 32);
	out[CODEC_SHA256_B64_LEN] = '\0';
}

int codec_digest_base64_decode(unsigned char md[32], const char *b64)
{
	unsigned char raw[32];
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (strlen(b64) != CODEC_SHA256_B64_LEN || b64[43] != '=')
		return -EINVAL;
	for (size_t i = 0; i < 43; i++) {
		int v = codec_base64_digit((unsigned char)b64[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* 43 digits carry 258 bits: 256 of the digest and 2 that must be zero */
	if (n != 32 || acc != 0)
		return -EINVAL;
	memcpy(md, raw, sizeof(raw));
	return 0;
}

int codec_sha256_normalise(char ret[CODEC_SHA256_B64_SIZE], const char *in)
{
	unsigned char md[32];

	if (!in)
		return -EINVAL;
	if (strlen(in) == 64) {
		if (codec_hex_decode(md, sizeof(md), in) < 0)
			return -EINVAL;
	} else if (codec_digest_base64_decode(md, in) < 0) {
		return -EINVAL;
	}
	codec_digest_base64(ret, md);
	return 0;
}
