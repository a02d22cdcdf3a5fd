/*
 * credentials_metadata.c - the metadata sources: ECS/EKS container
 * credentials and EC2 IMDSv2.
 */
#include "aws/credentials_chain.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "aws/http.h"

/* ---- ECS ----------------------------------------------------------------- */

/* http:// is allowed only to loopback and the ECS/EKS agent addresses. */
static bool ecs_http_host_allowed(const char *hostport)
{
	char host[256];
	const char *e;
	size_t n;
	struct in_addr a4;
	struct in6_addr a6;

	if (hostport[0] == '[') {
		e = strchr(hostport, ']');
		if (!e)
			return false;
		n = (size_t)(e - hostport - 1);
		if (n >= sizeof(host))
			return false;
		memcpy(host, hostport + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return false;
		return IN6_IS_ADDR_LOOPBACK(&a6) || !strcasecmp(host, "fd00:ec2::23");
	}
	n = strcspn(hostport, ":");
	if (n >= sizeof(host))
		return false;
	memcpy(host, hostport, n);
	host[n] = '\0';
	if (!strcasecmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) != 1)
		return false;
	return (ntohl(a4.s_addr) >> 24) == 127 || !strcmp(host, "169.254.170.2") ||
	       !strcmp(host, "169.254.170.23");
}

int cred_source_ecs(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *rel = cred_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
	           *full = cred_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tfile = cred_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
	           *tenv = cred_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	struct buf token = BUF_INIT;
	struct http_client *http;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_header h[1];
	size_t nh = 0;
	char *url = NULL, host[256];
	int r;

	buf_mark_secret(&token);
	if (!rel && !full) {
		cred_tried_add(ch, "ecs: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set");
		return SOURCE_SKIP;
	}
	if (rel) {
		const char *override = cred_env("AWS_CONTAINER_CREDENTIALS_HOST_OVERRIDE");
		if (rel[0] != '/') {
			r = error_set(err, -EINVAL,
			              "ecs: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
			goto out;
		}
		if (asprintf(&url, "http://%s%s", override ? override : ECS_DEFAULT_HOST, rel) < 0) {
			url = NULL;
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	} else {
		bool https = !strncasecmp(full, "https://", 8), http_ = !strncasecmp(full, "http://", 7);
		if ((!https && !http_) || cred_url_host(full, host, sizeof(host)) < 0) {
			r = error_set(err, -EINVAL,
			              "ecs: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
			goto out;
		}
		if (http_ && !ecs_http_host_allowed(host)) {
			r = error_set(
			    err, -EINVAL,
			    "ecs: AWS_CONTAINER_CREDENTIALS_FULL_URI over http must point at a loopback or "
			    "ECS/EKS agent address, not %s",
			    host);
			goto out;
		}
		url = strdup(full);
		if (!url) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (tfile) {
		r = cred_read_token_file(tfile, &token, "ecs", err);
		if (r < 0)
			goto out;
	} else if (tenv) {
		r = buf_puts(&token, tenv);
		if (r < 0)
			goto out;
	}
	if (token.len) {
		if (!cred_token_valid(token.ptr)) {
			r = error_set(err, -EINVAL, "ecs: malformed authorization token");
			goto out;
		}
		h[nh++] = (struct http_header){(char *)"Authorization", token.ptr};
	}
	r = cred_meta_client(ch->p, &http, err);
	if (r < 0)
		goto out;
	struct http_request req = {.method = "GET", .url = url, .headers = h, .n_headers = nh};
	r = http_client_send(http, &req, &resp, err);
	if (r < 0) {
		error_prefix(err, "ecs");
		goto out;
	}
	if (resp.status != 200) {
		r = error_set(err, resp.status == 401 || resp.status == 403 ? -EACCES : -EIO,
		              "ecs: %s returned HTTP %ld", url, resp.status);
		goto out;
	}
	r = aws_credentials_parse_json(resp.body.ptr, resp.body.len, 0, "ecs", ret, err);
out:
	http_response_release(&resp);
	buf_release_secret(&token);
	free(url);
	return r;
}

/* ---- IMDSv2 -------------------------------------------------------------- */

static int imds_send(struct http_client *http, const char *method, const char *url,
                     const struct http_header *h, size_t nh, struct http_response *resp, struct error *err)
{
	struct http_request req = {.method = method, .url = url, .headers = h, .n_headers = nh};
	int r = -EIO;

	for (int attempt = 0; attempt < 2; attempt++) {
		r = http_client_send(http, &req, resp, err);
		if (r >= 0 && resp->status >= 500 && attempt == 0) {
			http_response_release(resp);
			continue;
		}
		if (r >= 0 || (r != -ECONNREFUSED && r != -ECONNRESET && r != -ETIMEDOUT))
			break;
	}
	return r;
}

int cred_source_imds(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *dis = cred_env("AWS_EC2_METADATA_DISABLED"),
	           *ep = cred_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct http_client *http;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf token = BUF_INIT, role = BUF_INIT_CAP(256);
	struct http_header h[1];
	char *base = NULL, *url = NULL;
	size_t n;
	int r;

	buf_mark_secret(&token);
	if (dis && !strcasecmp(dis, "true")) {
		cred_tried_add(ch, "imds: disabled by AWS_EC2_METADATA_DISABLED");
		return SOURCE_SKIP;
	}
	if (!ep) {
		const char *mode = cred_env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
		ep = mode && !strcasecmp(mode, "IPv6") ? IMDS_DEFAULT_ENDPOINT_V6 : IMDS_DEFAULT_ENDPOINT;
	}
	n = strlen(ep);
	while (n && ep[n - 1] == '/')
		n--;
	base = strndup(ep, n);
	if (!base)
		return error_set(err, -ENOMEM, "out of memory");
	r = cred_meta_client(ch->p, &http, err);
	if (r < 0)
		goto out;

	/* 1. session token */
	if (asprintf(&url, "%s/latest/api/token", base) < 0) {
		url = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	h[0] = (struct http_header){(char *)"X-aws-ec2-metadata-token-ttl-seconds", (char *)"21600"};
	r = imds_send(http, "PUT", url, h, 1, &resp, err);
	if (r < 0)
		goto fail;
	if (resp.status != 200) {
		r = error_set(err, resp.status == 403 ? -EACCES : -EIO, "PUT %s returned HTTP %ld", url,
		              resp.status);
		goto fail;
	}
	cred_trim_buf(&resp.body);
	if (!resp.body.len || !cred_token_valid(resp.body.ptr) || (r = buf_puts(&token, resp.body.ptr)) < 0) {
		r = error_set(err, -EBADMSG, "malformed session token from %s", url);
		goto fail;
	}
	http_response_release(&resp);
	h[0] = (struct http_header){(char *)"X-aws-ec2-metadata-token", token.ptr};

	/* 2. the role name */
	free(url);
	if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/", base) < 0) {
		url = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = imds_send(http, "GET", url, h, 1, &resp, err);
	if (r < 0)
		goto fail;
	if (resp.status == 404) {
		r = error_set(err, -ENOENT, "no IAM role attached to this instance (%s: HTTP 404)", url);
		goto fail;
	}
	if (resp.status != 200) {
		r = error_set(err, -EIO, "GET %s returned HTTP %ld", url, resp.status);
		goto fail;
	}
	n = strcspn(resp.body.ptr, "\r\n");
	r = buf_put(&role, resp.body.ptr, n);
	cred_trim_buf(&role);
	if (r < 0 || !role.len) {
		r = error_set(err, -EBADMSG, "malformed role name from %s", url);
		goto fail;
	}
	for (const char *c = role.ptr; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("+=,.@_-", *c)) {
			r = error_set(err, -EBADMSG, "malformed role name from %s", url);
			goto fail;
		}
	http_response_release(&resp);

	/* 3. the credentials */
	free(url);
	if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/%s", base, role.ptr) < 0) {
		url = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = imds_send(http, "GET", url, h, 1, &resp, err);
	if (r < 0)
		goto fail;
	if (resp.status != 200) {
		r = error_set(err, -EIO, "GET %s returned HTTP %ld", url, resp.status);
		goto fail;
	}
	{
		cJSON *root = cJSON_ParseWithLength(resp.body.ptr, resp.body.len);
		const char *code = root ? cred_json_str(root, "Code") : NULL;
		bool ok = !code || !strcmp(code, "Success");
		char c[64] = "";
		if (!ok)
			cred_sanitize_copy(c, sizeof(c), code, strlen(code));
		cred_json_delete_wiped(root);
		if (!ok) {
			r = error_set(err, -EIO, "%s: Code %s", url, c);
			goto fail;
		}
	}
	r = aws_credentials_parse_json(resp.body.ptr, resp.body.len, 0, "imds", ret, err);
	goto out;
fail:
	error_prefix(err, "imds");
out:
	http_response_release(&resp);
	buf_release_secret(&token);
	buf_release(&role);
	free(base);
	free(url);
	return r;
}
