#include <errno.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "util/codec.h"

TEST(hex_digits)
{
	static const struct {
		int c, v;
	} cases[] = {
	    {'0', 0},  {'9', 9},  {'a', 10}, {'f', 15}, {'A', 10},  {'F', 15}, {'g', -1}, {'G', -1},
	    {'/', -1}, {':', -1}, {'@', -1}, {'`', -1}, {'\0', -1}, {' ', -1}, {-1, -1},  {0xe9, -1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(codec_hex_digit(cases[i].c), cases[i].v);
}

TEST(hex_decode)
{
	unsigned char out[4] = {1, 2, 3, 4};

	CHECK_INT(codec_hex_decode(out, 4, "DEADbeefXX"), 0);
	CHECK(out[0] == 0xde && out[1] == 0xad && out[2] == 0xbe && out[3] == 0xef);
	/* ret untouched on failure, short input stops at the NUL */
	CHECK_INT(codec_hex_decode(out, 4, "0011223z"), -EINVAL);
	CHECK_INT(codec_hex_decode(out, 4, "00"), -EINVAL);
	CHECK(out[0] == 0xde && out[3] == 0xef);
	CHECK_INT(codec_hex_decode(out, 0, ""), 0);
}

TEST(hex_encode)
{
	static const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(in) + 1];
	unsigned char back[sizeof(in)];

	memset(out, 'x', sizeof(out));
	codec_hex_encode(out, in, sizeof(in));
	CHECK_STR(out, "00017f80abff");
	REQUIRE(codec_hex_decode(back, sizeof(back), out) == 0);
	CHECK(memcmp(back, in, sizeof(in)) == 0);
	codec_hex_encode(out, in, 0);
	CHECK_STR(out, "");
}

TEST(base64_digits)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (int c = -1; c < 256; c++) {
		const char *p = c > 0 ? strchr(alphabet, c) : NULL;

		CHECK_INT(codec_base64_digit(c), p ? p - alphabet : -1);
	}
	CHECK_INT(codec_base64_digit('='), -1);
	CHECK_INT(codec_base64_digit('/'), 63);
}

TEST(digest_base64)
{
	/* SHA-256 of "": e3b0c442...b855 */
	unsigned char md[32];
	char out[CODEC_SHA256_B64_LEN + 1];

	memset(out, 'x', sizeof(out));
	REQUIRE(codec_hex_decode(md, 32,
	                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	codec_digest_base64(out, md);
	CHECK_STR(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	memset(md, 0xff, sizeof(md));
	codec_digest_base64(out, md);
	CHECK_STR(out, "//////////////////////////////////////////8=");
}

TEST(sha256_normalise)
{
	static const char b64[] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	char out[CODEC_SHA256_B64_SIZE] = "untouched";
	unsigned char md[32];

	CHECK_INT(
	    codec_sha256_normalise(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	    0);
	CHECK_STR(out, b64);
	CHECK_INT(
	    codec_sha256_normalise(out, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
	    0);
	CHECK_STR(out, b64);
	CHECK_INT(codec_sha256_normalise(out, b64), 0);
	CHECK_STR(out, b64);
	strcpy(out, "untouched");
	/* the last digit's two unused bits set: decodes to the same bytes, but no encoder writes it */
	CHECK_INT(codec_sha256_normalise(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV="), -EINVAL);
	CHECK_INT(codec_sha256_normalise(out, "47DEQpj8HBSa"), -EINVAL);
	CHECK_INT(codec_sha256_normalise(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"), -EINVAL);
	CHECK_INT(codec_sha256_normalise(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu=U="), -EINVAL);
	CHECK_INT(
	    codec_sha256_normalise(out, "zz3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	    -EINVAL);
	CHECK_INT(
	    codec_sha256_normalise(out, "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	    -EINVAL);
	CHECK_INT(codec_sha256_normalise(out, NULL), -EINVAL);
	CHECK_INT(codec_sha256_normalise(out, ""), -EINVAL);
	CHECK_STR(out, "untouched");
	REQUIRE(codec_digest_base64_decode(md, b64) == 0);
	CHECK(md[0] == 0xe3 && md[1] == 0xb0 && md[31] == 0x55);
}

TEST_MAIN(hex_digits, hex_decode, hex_encode, base64_digits, digest_base64, sha256_normalise)
