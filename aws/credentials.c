/*
 * credentials.c - the AWS SDK default credential chain (see credentials.h):
 * credentials copy/release, the provider, the environment source, the chain
 * and its cache.  The other sources live in credentials_*.c
 * (credentials_chain.h is what they share).
 */
#include "aws/credentials_chain.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/http.h"
#include "util/file.h"
#include "util/secret.h"

/* ---- small helpers ------------------------------------------------------- */

/* getenv, but an empty value counts as unset. */
const char *cred_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

void aws_credentials_release(struct aws_credentials *c)
{
	if (!c)
		return;
	secret_free_str(c->access_key_id);
	secret_free_str(c->secret_access_key);
	secret_free_str(c->session_token);
	c->access_key_id = c->secret_access_key = c->session_token = NULL;
	c->expiration = 0;
	c->source[0] = '\0';
}

int aws_credentials_copy(struct aws_credentials *ret, const struct aws_credentials *src)
{
	struct aws_credentials c = {0};

	c.access_key_id = src->access_key_id ? strdup(src->access_key_id) : NULL;
	c.secret_access_key = src->secret_access_key ? strdup(src->secret_access_key) : NULL;
	c.session_token = src->session_token ? strdup(src->session_token) : NULL;
	if ((src->access_key_id && !c.access_key_id) || (src->secret_access_key && !c.secret_access_key) ||
	    (src->session_token && !c.session_token)) {
		aws_credentials_release(&c);
		return -ENOMEM;
	}
	c.expiration = src->expiration;
	memcpy(c.source, src->source, sizeof(c.source));
	c.source[sizeof(c.source) - 1] = '\0';
	*ret = c;
	return 0;
}

/* Fill *ret from borrowed strings (copied). */
int cred_make(struct aws_credentials *ret, const char *akid, const char *secret, const char *token,
              time_t expiration, const char *source)
{
	struct aws_credentials src = {.access_key_id = (char *)akid,
	                              .secret_access_key = (char *)secret,
	                              .session_token = (char *)(token && *token ? token : NULL),
	                              .expiration = expiration};

	size_t n = strlen(source);
	if (n >= sizeof(src.source))
		n = sizeof(src.source) - 1; /* "profile:<long name>" is cut, on purpose */
	memcpy(src.source, source, n);
	src.source[n] = '\0';
	return aws_credentials_copy(ret, &src);
}

/* An access key id is printable, no spaces; checked so it can go into headers and messages. */
static bool akid_valid(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if (!isalnum((unsigned char)*s))
			return false;
	return n >= 4 && n <= 128;
}

static bool secret_valid(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return n >= 1 && n <= 1024;
}

bool cred_token_valid(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return n <= 16384;
}

/* Check a set of credentials from outside; message names `what`, never the values. */
int cred_check(const char *akid, const char *secret, const char *token, const char *what, struct error *err)
{
	if (!akid || !*akid)
		return error_set(err, -EBADMSG, "%s: no access key id", what);
	if (!secret || !*secret)
		return error_set(err, -EBADMSG, "%s: no secret access key", what);
	if (!akid_valid(akid))
		return error_set(err, -EBADMSG, "%s: malformed access key id", what);
	if (!secret_valid(secret))
		return error_set(err, -EBADMSG, "%s: malformed secret access key", what);
	if (token && !cred_token_valid(token))
		return error_set(err, -EBADMSG, "%s: malformed session token", what);
	return 0;
}

/* Read a whole (small) file: file_read_fd's codes, -ENOENT when missing. */
int cred_file_read(const char *path, size_t max, struct buf *out, struct error *err)
{
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, "%s: %s", path, strerror(errno));
	r = file_read_fd(out, fd, max, path, err);
	close(fd);
	return r;
}

void cred_trim_buf(struct buf *b)
{
	size_t s = 0, e = b->len;

	while (s < e && isspace((unsigned char)b->ptr[s]))
		s++;
	while (e > s && isspace((unsigned char)b->ptr[e - 1]))
		e--;
	if (s)
		memmove(b->ptr, b->ptr + s, e - s);
	buf_truncate(b, e - s);
}

/* ---- the provider -------------------------------------------------------- */

int cred_tried_add(struct chain *ch, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (ch->tried.len)
		buf_puts(&ch->tried, "; ");
	va_start(ap, fmt);
	r = buf_vprintf(&ch->tried, fmt, ap);
	va_end(ap);
	return r;
}

int aws_credentials_provider_new(struct aws_credentials_provider **ret,
                                 const struct aws_credentials_options *opt, struct error *err)
{
	struct aws_credentials_provider *p = calloc(1, sizeof(*p));

	if (!p)
		return error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	p->process_timeout_ms =
	    opt && opt->process_timeout_ms > 0 ? opt->process_timeout_ms : AWS_PROCESS_TIMEOUT_S * 1000L;
	if (opt && opt->profile && !(p->profile = strdup(opt->profile)))
		goto oom;
	if (opt && opt->sts_endpoint && !(p->sts_endpoint = strdup(opt->sts_endpoint)))
		goto oom;
	if (opt && opt->role_arn) {
		if (!opt->role_source) {
			aws_credentials_provider_free(p);
			return error_set(err, -EINVAL, "assume role %s: no source credentials",
			                 opt->role_arn);
		}
		p->role_source = opt->role_source;
		if (!(p->role_arn = strdup(opt->role_arn)) ||
		    !(p->role_session = strdup(opt->role_session_name ? opt->role_session_name : "aliasd")) ||
		    (opt->role_external_id && !(p->role_external_id = strdup(opt->role_external_id))) ||
		    (opt->role_region && !(p->role_region = strdup(opt->role_region))))
			goto oom;
	}
	*ret = p;
	return 0;
oom:
	aws_credentials_provider_free(p);
	return error_set(err, -ENOMEM, "out of memory");
}

void aws_credentials_provider_free(struct aws_credentials_provider *p)
{
	if (!p)
		return;
	aws_credentials_release(&p->cached);
	http_client_free(p->sts_http);
	http_client_free(p->meta_http);
	free(p->profile);
	free(p->sts_endpoint);
	free(p->role_arn);
	free(p->role_external_id);
	free(p->role_session);
	free(p->role_region);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- HTTP helpers -------------------------------------------------------- */

/* The client in *slot, made with `o` on first use (kept for the provider's life). */
static int cached_client(struct http_client **slot, const struct http_options *o, struct http_client **ret,
                         struct error *err)
{
	int r;

	if (!*slot) {
		r = http_client_new(slot, o, err);
		if (r < 0)
			return r;
	}
	*ret = *slot;
	return 0;
}

int cred_meta_client(struct aws_credentials_provider *p, struct http_client **ret, struct error *err)
{
	struct http_options o = {.connect_timeout_ms = 1000,
	                         .total_timeout_ms = 3000,
	                         .max_response_bytes = METADATA_RESPONSE_MAX};

	return cached_client(&p->meta_http, &o, ret, err);
}

int cred_sts_client(struct aws_credentials_provider *p, struct http_client **ret, struct error *err)
{
	struct http_options o = {
	    .connect_timeout_ms = 5000, .total_timeout_ms = 15000, .max_response_bytes = STS_RESPONSE_MAX};

	return cached_client(&p->sts_http, &o, ret, err);
}

/* host[:port] of an http(s) URL into out (at most outsz-1 bytes). */
int cred_url_host(const char *url, char *out, size_t outsz)
{
	const char *h = strstr(url, "://"), *e;
	size_t n;

	if (!h)
		return -EINVAL;
	h += 3;
	e = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(e - h)))
		return -EINVAL; /* no userinfo */
	n = (size_t)(e - h);
	if (n == 0 || n >= outsz)
		return -EINVAL;
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

/* ---- source: environment ------------------------------------------------- */

int cred_source_env(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *akid = cred_env("AWS_ACCESS_KEY_ID"), *secret = cred_env("AWS_SECRET_ACCESS_KEY"),
	           *token = cred_env("AWS_SESSION_TOKEN");
	int r;

	if (!akid && !secret) {
		cred_tried_add(ch, "environment: AWS_ACCESS_KEY_ID not set");
		return SOURCE_SKIP;
	}
	if (!akid)
		return error_set(
		    err, -EINVAL,
		    "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is missing");
	if (!secret)
		return error_set(
		    err, -EINVAL,
		    "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing");
	r = cred_check(akid, secret, token, "environment", err);
	if (r < 0)
		return r;
	r = cred_make(ret, akid, secret, token, 0, "environment");
	return r < 0 ? error_set(err, r, "out of memory") : 0;
}

/* ---- the chain ----------------------------------------------------------- */

static int chain_resolve(struct aws_credentials_provider *p, time_t now, struct aws_credentials *ret,
                         struct error *err)
{
	static int (*const sources[])(struct chain *, struct aws_credentials *, struct error *) = {
	    cred_source_env,  cred_source_web_identity_env, cred_source_profile, cred_source_ecs,
	    cred_source_imds,
	};
	struct chain ch = {.p = p, .now = now, .tried = BUF_INIT_CAP(ERROR_MSG_MAX)};
	struct aws_credentials c = {0};
	const char *prof = p->profile;
	int r = SOURCE_SKIP;

	if (prof)
		ch.profile_explicit = true;
	else if ((prof = cred_env("AWS_PROFILE")))
		ch.profile_explicit = true;
	else
		prof = "default";
	ch.profile = strdup(prof);
	if (!ch.profile)
		return error_set(err, -ENOMEM, "out of memory");
	if (p->role_arn)
		r = cred_source_role(&ch, &c, err);
	for (size_t i = 0; !p->role_arn && i < sizeof(sources) / sizeof(sources[0]); i++) {
		r = sources[i](&ch, &c, err);
		if (r != SOURCE_SKIP)
			break;
	}
	if (r == SOURCE_SKIP) {
		r = error_set(err, -ENOENT,
		              "no AWS credentials found: set AWS_PROFILE (a profile of ~/.aws/config), or "
		              "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an IAM role "
		              "(tried %s)",
		              ch.tried.ptr);
	} else if (r < 0) {
		if (ch.tried.len)
			error_prefix(err, "no usable AWS credentials (tried %s)", ch.tried.ptr);
	} else if (c.expiration && c.expiration <= now) {
		r = error_set(err, -EINVAL,
		              "%s: credentials already expired: refresh them (e.g. aws sso login) or "
		              "fix the source",
		              c.source);
		aws_credentials_release(&c);
	} else {
		*ret = c;
	}
	buf_release(&ch.tried);
	free(ch.profile);
	aws_ini_free(ch.cred_ini);
	aws_ini_free(ch.conf_ini);
	free(ch.cred_path);
	free(ch.conf_path);
	return r;
}

int aws_credentials_get(struct aws_credentials_provider *p, time_t now, struct aws_credentials *ret,
                        struct error *err)
{
	struct aws_credentials fresh = {0};
	struct error e = ERROR_INIT;
	int r;

	pthread_mutex_lock(&p->lock);
	if (p->have_cached &&
	    (p->cached.expiration == 0 || now < p->cached.expiration - AWS_CREDENTIALS_REFRESH_S ||
	     (now < p->retry_after && now < p->cached.expiration))) {
		r = aws_credentials_copy(ret, &p->cached);
		if (r < 0)
			error_set(err, r, "out of memory");
		goto out;
	}
	if (p->failure.code < 0 && now >= p->failed_at && now < p->failed_at + AWS_CREDENTIALS_FAIL_CACHE_S) {
		/* the chain failed a moment ago: the same answer, without asking every source again */
		r = p->failure.code;
		if (err)
			*err = p->failure;
		goto out;
	}
	r = chain_resolve(p, now, &fresh, &e);
	if (r < 0) {
		/* refresh failed: the old credentials are still good until they expire */
		if (p->have_cached && now < p->cached.expiration) {
			p->retry_after = now + AWS_CREDENTIALS_RETRY_S;
			error_clear(err);
			r = aws_credentials_copy(ret, &p->cached);
			if (r < 0)
				error_set(err, r, "out of memory");
			goto out;
		}
		if (e.code == 0)
			error_set(&e, r, "credentials: %s", strerror(-r));
		p->failure = e;
		p->failed_at = now;
		if (err)
			*err = e;
		goto out;
	}
	error_clear(&p->failure);
	aws_credentials_release(&p->cached);
	p->cached = fresh;
	p->have_cached = true;
	p->retry_after = 0;
	r = aws_credentials_copy(ret, &p->cached);
	if (r < 0)
		error_set(err, r, "out of memory");
out:
	pthread_mutex_unlock(&p->lock);
	return r < 0 ? r : 0;
}
