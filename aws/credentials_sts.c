/*
 * credentials_sts.c - STS AssumeRole / AssumeRoleWithWebIdentity and the web
 * identity source (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN).
 */
#include "aws/credentials_chain.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/http.h"
#include "aws/sigv4.h"

/* ---- STS ----------------------------------------------------------------- */

int cred_sts_endpoint(struct chain *ch, const char *region, char **ret)
{
	const char *e = ch->p->sts_endpoint;

	if (!e)
		e = cred_env("AWS_ENDPOINT_URL_STS");
	if (!e)
		e = cred_env("AWS_ENDPOINT_URL");
	if (e) {
		size_t n = strlen(e);
		while (n && e[n - 1] == '/')
			n--;
		*ret = strndup(e, n);
		return *ret ? 0 : -ENOMEM;
	}
	return asprintf(ret, "https://sts.%s.amazonaws.com%s", region,
	                !strncmp(region, "cn-", 3) ? ".cn" : "") < 0
	           ? -ENOMEM
	           : 0;
}

const char *cred_chain_region(struct chain *ch, const char *profile)
{
	const char *r = cred_env("AWS_REGION");

	if (!r)
		r = cred_env("AWS_DEFAULT_REGION");
	if (!r && profile && ch->files_loaded)
		r = cred_profile_region(ch, profile);
	return r ? r : "us-east-1";
}

int cred_form_add(struct buf *b, const char *name, const char *value)
{
	int r = buf_printf(b, "%s%s=", b->len ? "&" : "", name);

	return r < 0 ? r : http_uri_encode(b, value, strlen(value), true);
}

/*
 * POST an STS query-API call; `signer` NULL = unsigned (web identity).  On a
 * 200 answer its body is in *resp (the caller releases it); any other status
 * is an error naming STS's code and message.
 */
static int sts_post(struct chain *ch, const char *region, const struct buf *form,
                    const struct aws_credentials *signer, const char *what, struct http_response *resp,
                    struct error *err)
{
	struct http_client *http;
	struct sigv4_result sig = SIGV4_RESULT_INIT;
	struct http_header h[5];
	size_t nh = 0;
	char *endpoint = NULL, *url = NULL, host[256];
	int r;

	r = cred_sts_endpoint(ch, region, &endpoint);
	if (r < 0)
		return error_set(err, r, "out of memory");
	if (cred_url_host(endpoint, host, sizeof(host)) < 0) {
		r = error_set(err, -EINVAL, "%s: bad STS endpoint %s", what, endpoint);
		goto out;
	}
	if (asprintf(&url, "%s/", endpoint) < 0) {
		url = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = cred_sts_client(ch->p, &http, err);
	if (r < 0)
		goto out;
	h[nh++] = (struct http_header){(char *)"Host", host};
	h[nh++] = (struct http_header){(char *)"Content-Type",
	                               (char *)"application/x-www-form-urlencoded; charset=utf-8"};
	if (signer) {
		struct sigv4_params sp = {.method = "POST",
		                          .path = "/",
		                          .headers = h,
		                          .n_headers = nh,
		                          .payload = form->ptr,
		                          .payload_len = form->len,
		                          .region = region,
		                          .service = "sts",
		                          .now = time(NULL),
		                          .double_encode_path = true};
		r = sigv4_sign(&sp, signer, &sig, err);
		if (r < 0)
			goto out;
		h[nh++] = (struct http_header){(char *)"X-Amz-Date", sig.amz_date};
		h[nh++] = (struct http_header){(char *)"Authorization", sig.authorization.ptr};
		if (signer->session_token)
			h[nh++] = (struct http_header){(char *)"X-Amz-Security-Token", signer->session_token};
	}
	struct http_request req = {.method = "POST",
	                           .url = url,
	                           .headers = h,
	                           .n_headers = nh,
	                           .body = form->ptr,
	                           .body_len = form->len};
	r = http_client_send(http, &req, resp, err);
	if (r < 0) {
		error_prefix(err, "%s", what);
		goto out;
	}
	if (resp->status != 200) {
		char c[130], m[300];
		aws_sts_parse_error(resp->body.ptr, resp->body.len, c, sizeof(c), m, sizeof(m));
		r = resp->status == 403 || resp->status == 401   ? -EACCES
		    : resp->status >= 500 || resp->status == 429 ? -EAGAIN
		                                                 : -EIO;
		error_set(err, r, "%s: STS %s returned HTTP %ld%s%s%s%s", what, endpoint, resp->status,
		          *c ? " " : "", c, *m ? ": " : "", m);
		goto out;
	}
out:
	sigv4_result_release(&sig);
	free(endpoint);
	free(url);
	return r;
}

int cred_assume_role_form(struct buf *form, const char *role_arn, const char *session,
                          const char *external_id)
{
	int r;

	if ((r = cred_form_add(form, "Action", "AssumeRole")) < 0 ||
	    (r = cred_form_add(form, "Version", "2011-06-15")) < 0 ||
	    (r = cred_form_add(form, "RoleArn", role_arn)) < 0 ||
	    (r = cred_form_add(form, "RoleSessionName", session)) < 0 ||
	    (external_id && *external_id && (r = cred_form_add(form, "ExternalId", external_id)) < 0))
		return r;
	return 0;
}

int cred_sts_call(struct chain *ch, const char *region, const struct buf *form,
                  const struct aws_credentials *signer, const char *source, const char *what,
                  struct aws_credentials *ret, struct error *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	int r;

	r = sts_post(ch, region, form, signer, what, &resp, err);
	if (r >= 0) {
		r = aws_credentials_parse_sts_xml(resp.body.ptr, resp.body.len, source, ret, err);
		if (r < 0)
			error_prefix(err, "%s", what);
	}
	buf_release_secret(&resp.body);
	http_response_release(&resp);
	return r;
}

int cred_source_role(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	struct aws_credentials_provider *p = ch->p;
	struct aws_credentials base = {0};
	struct buf form = BUF_INIT;
	const char *region = p->role_region ? p->role_region : cred_chain_region(ch, NULL);
	char what[300];
	int r;

	snprintf(what, sizeof(what), "assume role %s", p->role_arn);
	r = aws_credentials_get(p->role_source, ch->now, &base, err);
	if (r < 0)
		return error_prefix(err, "%s: no source credentials", what);
	if ((r = cred_assume_role_form(&form, p->role_arn, p->role_session, p->role_external_id)) < 0) {
		r = error_set(err, r, "out of memory");
		goto out;
	}
	r = cred_sts_call(ch, region, &form, &base, "assume-role", what, ret, err);
out:
	aws_credentials_release(&base);
	buf_release(&form);
	return r;
}

int aws_credentials_account(struct aws_credentials_provider *p, time_t now, char *out, size_t outsz,
                            struct error *err)
{
	struct chain ch = {.p = p, .now = now};
	struct aws_credentials c = {0};
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf form = BUF_INIT;
	int r;

	r = aws_credentials_get(p, now, &c, err);
	if (r < 0)
		return r;
	r = cred_form_add(&form, "Action", "GetCallerIdentity");
	if (r >= 0)
		r = cred_form_add(&form, "Version", "2011-06-15");
	if (r < 0) {
		r = error_set(err, r, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&p->lock); /* the STS client is the provider's */
	r = sts_post(&ch, p->role_region ? p->role_region : cred_chain_region(&ch, NULL), &form, &c,
	             "GetCallerIdentity", &resp, err);
	pthread_mutex_unlock(&p->lock);
	if (r >= 0 && aws_sts_parse_account(resp.body.ptr, resp.body.len, out, outsz) < 0)
		r = error_set(err, -EBADMSG, "GetCallerIdentity: no 12-digit <Account> in the STS answer");
out:
	http_response_release(&resp);
	buf_release(&form);
	aws_credentials_release(&c);
	return r < 0 ? r : 0;
}

void cred_default_session_name(char *out, size_t outsz, time_t now)
{
	snprintf(out, outsz, "aliasd-%lld", (long long)now);
}

int cred_read_token_file(const char *path, struct buf *out, const char *what, struct error *err)
{
	int r;

	r = cred_file_read(path, TOKEN_FILE_MAX, out, err);
	if (r < 0)
		return error_prefix(err, "%s: cannot read the token file", what);
	cred_trim_buf(out);
	if (!out->len)
		return error_set(err, -EINVAL, "%s: token file %s is empty", what, path);
	return 0;
}

int cred_web_identity(struct chain *ch, const char *token_file, const char *role_arn, const char *session,
                      const char *region, const char *what, struct aws_credentials *ret, struct error *err)
{
	struct buf token = BUF_INIT, form = BUF_INIT;
	char sess[64];
	int r;

	buf_mark_secret(&token);
	buf_mark_secret(&form);
	if (!session) {
		cred_default_session_name(sess, sizeof(sess), ch->now);
		session = sess;
	}
	r = cred_read_token_file(token_file, &token, what, err);
	if (r < 0)
		goto out;
	if ((r = cred_form_add(&form, "Action", "AssumeRoleWithWebIdentity")) < 0 ||
	    (r = cred_form_add(&form, "Version", "2011-06-15")) < 0 ||
	    (r = cred_form_add(&form, "RoleArn", role_arn)) < 0 ||
	    (r = cred_form_add(&form, "RoleSessionName", session)) < 0 ||
	    (r = cred_form_add(&form, "WebIdentityToken", token.ptr)) < 0) {
		r = error_set(err, r, "%s: cannot build the request", what);
		goto out;
	}
	r = cred_sts_call(ch, region, &form, NULL, "web-identity", what, ret, err);
out:
	buf_release_secret(&token);
	buf_release_secret(&form);
	return r;
}

int cred_source_web_identity_env(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *file = cred_env("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = cred_env("AWS_ROLE_ARN");

	/* as botocore: AWS_ROLE_ARN alone is not a web identity configuration */
	if (!file) {
		cred_tried_add(ch, "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not set");
		return SOURCE_SKIP;
	}
	if (!role)
		return error_set(
		    err, -EINVAL,
		    "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is missing");
	return cred_web_identity(ch, file, role, cred_env("AWS_ROLE_SESSION_NAME"),
	                         cred_chain_region(ch, NULL), "web-identity", ret, err);
}
