/*
 * credentials_parse.c - ISO 8601 times and the credential responses: the JSON
 * of credential_process, ECS and IMDS, and STS's XML (credentials_internal.h).
 */
#include "aws/credentials_chain.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "util/secret.h"

/* ---- time ---------------------------------------------------------------- */

static int digits(const char **s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return -EINVAL;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*ret = v;
	return 0;
}

int aws_time_parse_iso8601(const char *s, time_t *ret)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	time_t t;

	if (!s)
		return -EINVAL;
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' || digits(&s, 2, &d))
		return -EINVAL;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -EINVAL;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' || digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (int i = 0; isdigit((unsigned char)*s); s++, i++)
			if (i > 12)
				return -EINVAL;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh))
			return -EINVAL;
		if (*s == ':')
			s++;
		if (digits(&s, 2, &om))
			return -EINVAL;
		if (oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	t -= sign * (oh * 3600 + om * 60);
	*ret = t;
	return 0;
}

/* ---- JSON / XML responses ------------------------------------------------ */

const char *cred_json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* cJSON_Delete, after wiping the top-level strings (the secrets are there). Accepts NULL. */
void cred_json_delete_wiped(cJSON *root)
{
	cJSON *it;

	if (!root)
		return;
	cJSON_ArrayForEach(it, root)
	{
		if (cJSON_IsString(it) && it->valuestring)
			secret_wipe(it->valuestring, strlen(it->valuestring));
	}
	cJSON_Delete(root);
}

int aws_credentials_parse_json(const char *text, size_t len, int need_version, const char *source,
                               struct aws_credentials *ret, struct error *err)
{
	cJSON *root;
	const cJSON *ver;
	const char *akid, *secret, *token, *exp;
	time_t expiration = 0;
	int r;

	if (len > PROCESS_OUTPUT_MAX)
		return error_set(err, -E2BIG, "%s: credentials document too large", source);
	root = cJSON_ParseWithLength(text, len);
	if (!root || !cJSON_IsObject(root)) {
		r = error_set(err, -EBADMSG, "%s: credentials are not a JSON object", source);
		goto out;
	}
	if (need_version) {
		ver = cJSON_GetObjectItemCaseSensitive(root, "Version");
		if (!cJSON_IsNumber(ver) || ver->valuedouble != 1) {
			r = error_set(err, -EBADMSG, "%s: \"Version\": 1 required", source);
			goto out;
		}
	}
	akid = cred_json_str(root, "AccessKeyId");
	secret = cred_json_str(root, "SecretAccessKey");
	token = cred_json_str(root, "Token");
	if (!token)
		token = cred_json_str(root, "SessionToken");
	exp = cred_json_str(root, "Expiration");
	r = cred_check(akid, secret, token, source, err);
	if (r < 0)
		goto out;
	if (exp && aws_time_parse_iso8601(exp, &expiration) < 0) {
		r = error_set(err, -EBADMSG, "%s: malformed Expiration", source);
		goto out;
	}
	r = cred_make(ret, akid, secret, token, expiration, source);
	if (r < 0)
		error_set(err, r, "out of memory");
out:
	cred_json_delete_wiped(root);
	return r;
}

/* Decode the five XML entities and numeric references into out. */
static int xml_unescape(struct buf *out, const char *s, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		if (s[i] != '&') {
			r = buf_putc(out, s[i]);
			continue;
		}
		const char *semi = memchr(s + i, ';', n - i);
		size_t l = semi ? (size_t)(semi - (s + i)) + 1 : 0;
		if (!semi || l > 12)
			return -EBADMSG;
		if (l == 5 && !memcmp(s + i, "&amp;", 5))
			r = buf_putc(out, '&');
		else if (l == 4 && !memcmp(s + i, "&lt;", 4))
			r = buf_putc(out, '<');
		else if (l == 4 && !memcmp(s + i, "&gt;", 4))
			r = buf_putc(out, '>');
		else if (l == 6 && !memcmp(s + i, "&quot;", 6))
			r = buf_putc(out, '"');
		else if (l == 6 && !memcmp(s + i, "&apos;", 6))
			r = buf_putc(out, '\'');
		else if (l >= 4 && s[i + 1] == '#') {
			char num[16];
			unsigned long v;
			char *e;
			memcpy(num, s + i + 2, l - 3);
			num[l - 3] = '\0';
			v = (num[0] == 'x' || num[0] == 'X') ? strtoul(num + 1, &e, 16)
			                                     : strtoul(num, &e, 10);
			if (*e || v == 0 || v > 0x7f) /* ASCII only: credentials are ASCII */
				return -EBADMSG;
			r = buf_putc(out, (char)v);
		} else {
			return -EBADMSG;
		}
		i += l - 1;
	}
	return r;
}

/*
 * Text of the first <tag>...</tag> inside [s, s+n) (no attributes on the tag,
 * as STS writes them), unescaped, into out.  -ENOENT if absent.
 */
int cred_xml_text(const char *s, size_t n, const char *tag, struct buf *out, const char **ret_start,
                  size_t *ret_len)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = memmem(s, n, open, strlen(open));
	if (!a)
		return -ENOENT;
	a += strlen(open);
	b = memmem(a, n - (size_t)(a - s), close, strlen(close));
	if (!b)
		return -EBADMSG;
	if (ret_start)
		*ret_start = a;
	if (ret_len)
		*ret_len = (size_t)(b - a);
	if (!out)
		return 0;
	return xml_unescape(out, a, (size_t)(b - a));
}

int aws_credentials_parse_sts_xml(const char *text, size_t len, const char *source,
                                  struct aws_credentials *ret, struct error *err)
{
	struct buf akid = BUF_INIT_CAP(256), secret = BUF_INIT_CAP(1024), token = BUF_INIT_CAP(16384),
	           exp = BUF_INIT_CAP(64);
	const char *cs;
	size_t cl;
	time_t expiration = 0;
	int r;

	buf_mark_secret(&secret);
	buf_mark_secret(&token);
	if (len > STS_RESPONSE_MAX) {
		r = error_set(err, -E2BIG, "%s: STS response too large", source);
		goto out;
	}
	r = cred_xml_text(text, len, "Credentials", NULL, &cs, &cl);
	if (r < 0) {
		r = error_set(err, -EBADMSG, "%s: no <Credentials> in the STS response", source);
		goto out;
	}
	if (cred_xml_text(cs, cl, "AccessKeyId", &akid, NULL, NULL) < 0 ||
	    cred_xml_text(cs, cl, "SecretAccessKey", &secret, NULL, NULL) < 0 ||
	    cred_xml_text(cs, cl, "SessionToken", &token, NULL, NULL) < 0 ||
	    cred_xml_text(cs, cl, "Expiration", &exp, NULL, NULL) < 0) {
		r = error_set(err, -EBADMSG, "%s: incomplete or malformed <Credentials> in the STS response",
		              source);
		goto out;
	}
	cred_trim_buf(&akid);
	cred_trim_buf(&secret);
	cred_trim_buf(&token);
	cred_trim_buf(&exp);
	r = cred_check(akid.ptr, secret.ptr, token.ptr, source, err);
	if (r < 0)
		goto out;
	if (!token.len) {
		r = error_set(err, -EBADMSG, "%s: no session token in the STS response", source);
		goto out;
	}
	if (aws_time_parse_iso8601(exp.ptr, &expiration) < 0) {
		r = error_set(err, -EBADMSG, "%s: malformed Expiration in the STS response", source);
		goto out;
	}
	r = cred_make(ret, akid.ptr, secret.ptr, token.ptr, expiration, source);
	if (r < 0)
		error_set(err, r, "out of memory");
out:
	buf_release(&akid);
	buf_release_secret(&secret);
	buf_release_secret(&token);
	buf_release(&exp);
	return r;
}

/* A short, printable excerpt of a server's error message (no secrets are in STS errors). */
void cred_sanitize_copy(char *out, size_t outsz, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < outsz; i++)
		out[j++] = (unsigned char)s[i] >= ' ' && (unsigned char)s[i] < 0x7f ? s[i] : ' ';
	out[j] = '\0';
}
