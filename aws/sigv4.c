/*
 * sigv4.c - AWS Signature Version 4, stage by stage (see sigv4.h).
 */
#include "aws/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "util/codec.h"
#include "util/secret.h"

void sigv4_sha256_hex(const void *data, size_t len, char ret_hex[CODEC_SHA256_HEX_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(len ? data : (const void *)"", len, md);
	codec_hex_encode(ret_hex, md, sizeof(md));
}

int sigv4_amz_date(time_t now, char ret[17])
{
	struct tm tm;

	if (!gmtime_r(&now, &tm) || tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999)
		return -EOVERFLOW;
	if (strftime(ret, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -EOVERFLOW;
	return 0;
}

/* ---- path ---------------------------------------------------------------- */

/*
 * botocore's remove_dot_segments: drop empty and "." segments, ".." pops;
 * keep a leading '/' and, when anything is left, a trailing '/'.
 */
static int path_normalize(struct buf *out, const char *path)
{
	size_t n = strlen(path);
	const char **seg = NULL;
	size_t *seglen = NULL, nseg = 0;
	int r = 0;

	if (n == 0)
		return buf_putc(out, '/');
	/* at most n/2+1 segments */
	seg = calloc(n / 2 + 2, sizeof(*seg));
	seglen = calloc(n / 2 + 2, sizeof(*seglen));
	if (!seg || !seglen) {
		r = -ENOMEM;
		goto out;
	}
	for (const char *p = path; p <= path + n;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == 0 || (l == 1 && p[0] == '.')) {
			/* skip */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg)
				nseg--;
		} else {
			seg[nseg] = p;
			seglen[nseg] = l;
			nseg++;
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (path[0] == '/')
		r = buf_putc(out, '/');
	for (size_t i = 0; r >= 0 && i < nseg; i++) {
		if (i)
			r = buf_putc(out, '/');
		if (r >= 0)
			r = buf_put(out, seg[i], seglen[i]);
	}
	if (r >= 0 && path[n - 1] == '/' && nseg)
		r = buf_putc(out, '/');
out:
	free(seg);
	free(seglen);
	return r;
}

static int canonical_path(struct buf *out, const char *path, bool double_encode)
{
	struct buf norm = BUF_INIT_CAP(64 * 1024);
	int r;

	if (!path || !*path)
		return buf_putc(out, '/');
	if (!double_encode)
		return buf_puts(out, path);
	r = path_normalize(&norm, path);
	if (r >= 0)
		r = http_uri_encode(out, norm.ptr, norm.len, false);
	buf_release(&norm);
	return r;
}

/* ---- query --------------------------------------------------------------- */

struct qparam {
	char *name; /* canonical (encoded) */
	char *value;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static int reencode(char **ret, const char *s, size_t len)
{
	struct buf dec = BUF_INIT, enc = BUF_INIT;
	int r;

	r = http_uri_decode(&dec, s, len);
	if (r >= 0)
		r = http_uri_encode(&enc, dec.ptr, dec.len, true);
	if (r >= 0) {
		*ret = buf_detach(&enc, NULL);
		if (!*ret)
			r = -ENOMEM;
	}
	buf_release(&dec);
	buf_release(&enc);
	return r;
}

static int canonical_query(struct buf *out, const char *query, struct error *err)
{
	struct qparam *params = NULL;
	size_t n = 0;
	int r = 0;

	if (!query || !*query)
		return 0;
	params = calloc(SIGV4_MAX_QUERY_PARAMS, sizeof(*params));
	if (!params)
		return -ENOMEM;
	for (const char *p = query;;) {
		const char *amp = strchr(p, '&');
		size_t l = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', l);

		if (l > 0) { /* "a&&b": empty pieces are dropped */
			if (n == SIGV4_MAX_QUERY_PARAMS) {
				r = error_set(err, -E2BIG, "sigv4: more than %d query parameters",
				              SIGV4_MAX_QUERY_PARAMS);
				goto out;
			}
			r = reencode(&params[n].name, p, eq ? (size_t)(eq - p) : l);
			if (r >= 0)
				r = eq ? reencode(&params[n].value, eq + 1, l - (size_t)(eq - p) - 1)
				       : reencode(&params[n].value, "", 0);
			n++;
			if (r < 0)
				goto out;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	qsort(params, n, sizeof(*params), qparam_cmp);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = buf_printf(out, "%s%s=%s", i ? "&" : "", params[i].name, params[i].value);
out:
	for (size_t i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
	return r;
}

/* ---- headers ------------------------------------------------------------- */

struct hdr {
	char *name; /* lower-cased */
	const char *value;
	size_t order;
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trimall: trim, collapse runs of whitespace to one space. */
static int put_trimall(struct buf *out, const char *v)
{
	bool pending = false, any = false;
	int r = 0;

	for (; *v && r >= 0; v++) {
		if (is_ws(*v)) {
			pending = any;
			continue;
		}
		if (pending)
			r = buf_putc(out, ' ');
		if (r >= 0)
			r = buf_putc(out, *v);
		pending = false;
		any = true;
	}
	return r;
}

static bool header_blacklisted(const char *lname)
{
	return !strcmp(lname, "user-agent") || !strcmp(lname, "expect") || !strcmp(lname, "x-amzn-trace-id");
}

static int check_header(const char *name, const char *value, struct error *err)
{
	if (!name || !*name || !value)
		return error_set(err, -EINVAL, "sigv4: empty header name or value");
	for (const char *s = name; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == ':' || (unsigned char)*s == 0x7f)
			return error_set(err, -EINVAL, "sigv4: bad character in header name");
	for (const char *s = value; *s; s++)
		if (*s == '\r' || *s == '\n' || *s == '\0')
			return error_set(err, -EINVAL, "sigv4: line break in value of header %s", name);
	return 0;
}

int sigv4_canonical_request(const struct sigv4_params *p, const char *amz_date, const char *session_token,
                            struct buf *ret_canonical, struct buf *ret_signed_headers, struct error *err)
{
	struct buf canon = BUF_INIT, signed_h = BUF_INIT;
	struct hdr *hs = NULL;
	size_t n = 0;
	bool have_host = false, have_date = false, have_token = false;
	char payload_hash[CODEC_SHA256_HEX_SIZE];
	int r;

	if (!p || !p->method || !*p->method)
		return error_set(err, -EINVAL, "sigv4: no method");
	for (const char *s = p->method; *s; s++)
		if (!isupper((unsigned char)*s) && *s != '-')
			return error_set(err, -EINVAL, "sigv4: bad method");
	if (p->path && *p->path && p->path[0] != '/')
		return error_set(err, -EINVAL, "sigv4: path must start with '/'");
	if (p->n_headers > SIGV4_MAX_HEADERS)
		return error_set(err, -E2BIG, "sigv4: more than %d headers", SIGV4_MAX_HEADERS);
	if (p->payload_len && !p->payload)
		return error_set(err, -EINVAL, "sigv4: payload_len without payload");

	hs = calloc(p->n_headers + 2, sizeof(*hs));
	if (!hs)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_headers; i++) {
		r = check_header(p->headers[i].name, p->headers[i].value, err);
		if (r < 0)
			goto out;
		char *l = strdup(p->headers[i].name);
		if (!l) {
			r = -ENOMEM;
			goto out;
		}
		for (char *s = l; *s; s++)
			*s = (char)tolower((unsigned char)*s);
		if (header_blacklisted(l)) {
			free(l);
			continue;
		}
		have_host |= !strcmp(l, "host");
		have_date |= !strcmp(l, "x-amz-date");
		have_token |= !strcmp(l, "x-amz-security-token");
		hs[n].name = l;
		hs[n].value = p->headers[i].value;
		hs[n].order = n;
		n++;
	}
	if (!have_host) {
		r = error_set(err, -EINVAL, "sigv4: no host header");
		goto out;
	}
	if (amz_date && !have_date) {
		hs[n].name = strdup("x-amz-date");
		hs[n].value = amz_date;
		hs[n].order = n;
		if (!hs[n++].name) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (session_token && !have_token) {
		r = check_header("x-amz-security-token", session_token, err);
		if (r < 0)
			goto out;
		hs[n].name = strdup("x-amz-security-token");
		hs[n].value = session_token;
		hs[n].order = n;
		if (!hs[n++].name) {
			r = -ENOMEM;
			goto out;
		}
	}
	qsort(hs, n, sizeof(*hs), hdr_cmp);

	/* method, path, query */
	r = buf_puts(&canon, p->method);
	if (r >= 0)
		r = buf_putc(&canon, '\n');
	if (r >= 0)
		r = canonical_path(&canon, p->path, p->double_encode_path);
	if (r >= 0)
		r = buf_putc(&canon, '\n');
	if (r >= 0)
		r = canonical_query(&canon, p->query, err);
	if (r >= 0)
		r = buf_putc(&canon, '\n');
	/* headers: one line per distinct name, values joined by ',' */
	for (size_t i = 0; i < n && r >= 0; i++) {
		bool first = i == 0 || strcmp(hs[i].name, hs[i - 1].name);

		if (first) {
			if (i)
				r = buf_putc(&canon, '\n');
			if (r >= 0)
				r = buf_printf(&canon, "%s:", hs[i].name);
			if (r >= 0)
				r = buf_printf(&signed_h, "%s%s", signed_h.len ? ";" : "", hs[i].name);
		} else {
			r = buf_putc(&canon, ',');
		}
		if (r >= 0)
			r = put_trimall(&canon, hs[i].value);
	}
	if (r < 0)
		goto out;
	if (p->payload_sha256_hex)
		snprintf(payload_hash, sizeof(payload_hash), "%s", p->payload_sha256_hex);
	else
		sigv4_sha256_hex(p->payload, p->payload_len, payload_hash);
	r = buf_printf(&canon, "\n\n%s\n%s", signed_h.ptr, payload_hash);
	if (r < 0)
		goto out;
	r = buf_put(ret_canonical, canon.ptr, canon.len);
	if (r >= 0)
		r = buf_put(ret_signed_headers, signed_h.ptr, signed_h.len);
out:
	if (r < 0 && err && !err->code)
		error_set(err, r, "sigv4: cannot build the canonical request: %s", strerror(-r));
	for (size_t i = 0; i < n; i++)
		free(hs[i].name);
	free(hs);
	buf_release_secret(&canon); /* may hold the session token */
	buf_release(&signed_h);
	return r < 0 ? r : 0;
}

int sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request,
                         struct buf *out)
{
	char h[CODEC_SHA256_HEX_SIZE];

	sigv4_sha256_hex(canonical_request, strlen(canonical_request), h);
	return buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, h);
}

static int hmac(const unsigned char *key, size_t keylen, const char *data, unsigned char out[32])
{
	unsigned int outlen = 32;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, strlen(data), out, &outlen))
		return -EIO;
	return 0;
}

int sigv4_signature(const char *secret, const char *date8, const char *region, const char *service,
                    const char *string_to_sign, char ret_hex[CODEC_SHA256_HEX_SIZE])
{
	struct buf k = BUF_INIT;
	unsigned char a[32], b[32];
	int r;

	buf_mark_secret(&k);
	r = buf_printf(&k, "AWS4%s", secret);
	if (r < 0)
		goto out;
	r = hmac((const unsigned char *)k.ptr, k.len, date8, a);
	if (r >= 0)
		r = hmac(a, 32, region, b);
	if (r >= 0)
		r = hmac(b, 32, service, a);
	if (r >= 0)
		r = hmac(a, 32, "aws4_request", b);
	if (r >= 0)
		r = hmac(b, 32, string_to_sign, a);
	if (r >= 0)
		codec_hex_encode(ret_hex, a, 32);
out:
	secret_wipe(a, sizeof(a));
	secret_wipe(b, sizeof(b));
	buf_release_secret(&k);
	return r;
}

static bool scope_part_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

int sigv4_sign(const struct sigv4_params *p, const struct aws_credentials *creds, struct sigv4_result *ret,
               struct error *err)
{
	struct buf canon = BUF_INIT, signed_h = BUF_INIT, sts = BUF_INIT, scope = BUF_INIT, auth = BUF_INIT;
	char amz_date[17], date8[9], sig[CODEC_SHA256_HEX_SIZE];
	int r;

	buf_mark_secret(&canon);
	buf_mark_secret(&auth);
	if (!creds || !creds->access_key_id || !*creds->access_key_id || !creds->secret_access_key ||
	    !*creds->secret_access_key)
		return error_set(err, -EINVAL, "sigv4: no credentials");
	for (const char *s = creds->access_key_id; *s; s++)
		if (!isalnum((unsigned char)*s))
			return error_set(err, -EINVAL, "sigv4: malformed access key id");
	if (!scope_part_ok(p->region) || !scope_part_ok(p->service))
		return error_set(err, -EINVAL, "sigv4: bad region or service name");
	r = sigv4_amz_date(p->now, amz_date);
	if (r < 0)
		return error_set(err, r, "sigv4: clock out of range");
	memcpy(date8, amz_date, 8);
	date8[8] = '\0';

	r = sigv4_canonical_request(p, amz_date, creds->session_token, &canon, &signed_h, err);
	if (r < 0)
		goto out;
	r = buf_printf(&scope, "%s/%s/%s/aws4_request", date8, p->region, p->service);
	if (r >= 0)
		r = sigv4_string_to_sign(amz_date, scope.ptr, canon.ptr, &sts);
	if (r >= 0)
		r = sigv4_signature(creds->secret_access_key, date8, p->region, p->service, sts.ptr, sig);
	if (r >= 0)
		r = buf_printf(&auth, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		               creds->access_key_id, scope.ptr, signed_h.ptr, sig);
	if (r < 0) {
		error_set(err, r, "sigv4: signing failed: %s", strerror(-r));
		goto out;
	}
	memcpy(ret->amz_date, amz_date, sizeof(amz_date));
	ret->authorization = auth;
	auth = (struct buf)BUF_INIT;
out:
	secret_wipe(sig, sizeof(sig));
	buf_release_secret(&canon);
	buf_release(&signed_h);
	buf_release(&sts);
	buf_release(&scope);
	buf_release_secret(&auth);
	return r < 0 ? r : 0;
}

void sigv4_result_release(struct sigv4_result *r)
{
	if (!r)
		return;
	if (r->authorization.ptr)
		buf_release_secret(&r->authorization);
	else
		r->authorization = (struct buf)BUF_INIT;
	r->authorization.secret = true;
	r->amz_date[0] = '\0';
}
