/*
 * credentials_parse.c - ISO 8601 times and the credential responses: the JSON
 * of credential_process, ECS and IMDS, and STS's XML answers, read with
 * aws/xml.h (credentials_internal.h).
 */
#include "aws/credentials_chain.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "aws/xml.h"
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

/* ---- STS answers (aws/xml.h) --------------------------------------------- */

/* Limits for an STS answer: small documents, shallow. */
static const struct xml_limits sts_limits = {
    .max_bytes = STS_RESPONSE_MAX, .max_depth = 8, .max_elements = 256};

/* Wipe every node's text (STS answers carry secrets), then free. */
static void sts_doc_free(struct xml_node *n)
{
	for (struct xml_node *c = n; c;) {
		secret_wipe(c->text, c->text_len);
		if (c->first_child) {
			c = c->first_child;
			continue;
		}
		while (c && c != n && !c->next)
			c = c->parent;
		c = c && c != n ? c->next : NULL;
	}
	xml_free(n);
}

/* The <...Result> element of an STS answer <ActionResponse><ActionResult>, NULL if none. */
static const struct xml_node *sts_result(const struct xml_node *doc, const char *want_action)
{
	const struct xml_node *root = xml_child(doc, NULL);
	size_t l;

	if (!root)
		return NULL;
	l = strlen(root->name);
	if (l < 8 || strcmp(root->name + l - 8, "Response"))
		return NULL;
	if (want_action && (l - 8 != strlen(want_action) || strncmp(root->name, want_action, l - 8)))
		return NULL;
	for (const struct xml_node *c = root->first_child; c; c = c->next) {
		size_t cl = strlen(c->name);
		if (cl == l - 2 && !strncmp(c->name, root->name, l - 8) &&
		    !strcmp(c->name + cl - 6, "Result"))
			return c;
	}
	return NULL;
}

/* Trimmed copy of a node's text into out; -EBADMSG when absent, empty, or with a NUL byte. */
static int sts_field(const struct xml_node *parent, const char *name, struct buf *out)
{
	const struct xml_node *n = xml_child(parent, name);

	if (!n || memchr(n->text, '\0', n->text_len))
		return -EBADMSG;
	if (buf_put(out, n->text, n->text_len) < 0)
		return -ENOMEM;
	cred_trim_buf(out);
	return out->len ? 0 : -EBADMSG;
}

int aws_credentials_parse_sts_xml(const char *text, size_t len, const char *source,
                                  struct aws_credentials *ret, struct error *err)
{
	struct buf akid = BUF_INIT_CAP(256), secret = BUF_INIT_CAP(1024), token = BUF_INIT_CAP(16384),
	           exp = BUF_INIT_CAP(64);
	struct xml_node *doc = NULL;
	const struct xml_node *res, *cs;
	struct error xe = ERROR_INIT;
	time_t expiration = 0;
	int r;

	buf_mark_secret(&secret);
	buf_mark_secret(&token);
	if (len > STS_RESPONSE_MAX) {
		r = error_set(err, -E2BIG, "%s: STS response too large", source);
		goto out;
	}
	r = xml_parse(&doc, text, len, &sts_limits, &xe);
	if (r < 0) {
		r = error_set(err, -EBADMSG, "%s: malformed STS response: %s", source, xe.msg);
		goto out;
	}
	res = sts_result(doc, NULL);
	cs = xml_child(res, "Credentials");
	if (!res || !cs) {
		r = error_set(err, -EBADMSG, "%s: no <Credentials> in the STS response", source);
		goto out;
	}
	if ((r = sts_field(cs, "AccessKeyId", &akid)) < 0 ||
	    (r = sts_field(cs, "SecretAccessKey", &secret)) < 0 ||
	    (r = sts_field(cs, "SessionToken", &token)) < 0 || (r = sts_field(cs, "Expiration", &exp)) < 0) {
		r = r == -ENOMEM
		        ? error_set(err, r, "out of memory")
		        : error_set(err, -EBADMSG,
		                    "%s: incomplete or malformed <Credentials> in the STS response", source);
		goto out;
	}
	r = cred_check(akid.ptr, secret.ptr, token.ptr, source, err);
	if (r < 0) {
		r = -EBADMSG;
		if (err)
			err->code = r;
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
	sts_doc_free(doc);
	buf_release(&akid);
	buf_release_secret(&secret);
	buf_release_secret(&token);
	buf_release(&exp);
	return r;
}

int aws_sts_parse_error(const char *text, size_t len, char *code, size_t codesz, char *msg, size_t msgsz)
{
	struct xml_node *doc = NULL;
	const struct xml_node *e;
	const char *c, *m;

	if (codesz)
		code[0] = '\0';
	if (msgsz)
		msg[0] = '\0';
	if (xml_parse(&doc, text, len > STS_RESPONSE_MAX ? STS_RESPONSE_MAX : len, &sts_limits, NULL) < 0)
		return -EBADMSG;
	e = xml_find(doc, "ErrorResponse/Error");
	if (!e)
		e = xml_find(doc, "Error"); /* some endpoints answer a bare <Error> */
	c = xml_text(e, "Code");
	m = xml_text(e, "Message");
	if (c)
		cred_sanitize_copy(code, codesz, c, strlen(c));
	if (m)
		cred_sanitize_copy(msg, msgsz, m, strlen(m));
	xml_free(doc);
	return c ? 0 : -ENOENT;
}

int aws_sts_parse_account(const char *text, size_t len, char *out, size_t outsz)
{
	struct xml_node *doc = NULL;
	const char *a;
	int r = -EBADMSG;

	if (outsz)
		out[0] = '\0';
	if (xml_parse(&doc, text, len > STS_RESPONSE_MAX ? STS_RESPONSE_MAX : len, &sts_limits, NULL) < 0)
		return -EBADMSG;
	a = xml_text(sts_result(doc, "GetCallerIdentity"), "Account");
	if (a && strlen(a) == 12 && strspn(a, "0123456789") == 12 && outsz > 12) {
		memcpy(out, a, 13);
		r = 0;
	}
	xml_free(doc);
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
