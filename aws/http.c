/*
 * http.c - libcurl transport (see http.h).
 */
#include "aws/http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "util/secret.h"
#include "util/codec.h"

#define HTTP_DEFAULT_CONNECT_MS   5000L
#define HTTP_DEFAULT_TOTAL_MS     30000L
#define HTTP_DEFAULT_MAX_RESPONSE ((size_t)16 << 20)

struct http_client {
	CURL *curl;
	long connect_timeout_ms, total_timeout_ms;
	size_t max_response_bytes;
	char *ca_bundle;
	long last_new_connections;
	const atomic_bool *cancel; /* http_client_set_cancel */
};

/* State of one transfer, shared with the callbacks. */
struct transfer {
	struct buf body;
	struct http_header *headers;
	size_t n_headers, header_bytes;
	size_t max_body;
	bool too_big, headers_too_big, oom;
	const struct http_body_reader *reader; /* streamed request body, or NULL */
	size_t sent;                           /* bytes of it handed to libcurl */
	int reader_error;                      /* what the reader said when it failed */
	const atomic_bool *cancel;             /* the client's */
	bool canceled;                         /* on_progress saw it set */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
}

/* ---- percent-encoding ---------------------------------------------------- */

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.' || c == '~';
}

int http_uri_encode(struct buf *out, const char *s, size_t len, bool encode_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = out->len;
	int r = 0;

	for (size_t i = 0; i < len && r >= 0; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (c == '/' && !encode_slash)) {
			r = buf_putc(out, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			r = buf_put(out, e, 3);
		}
	}
	if (r < 0)
		buf_truncate(out, start);
	return r;
}

int http_uri_decode(struct buf *out, const char *s, size_t len)
{
	size_t start = out->len;
	int r = 0;

	for (size_t i = 0; i < len && r >= 0; i++) {
		unsigned char c;

		if (s[i] == '%' && len - i >= 3 && codec_hex_decode(&c, 1, s + i + 1) == 0) {
			r = buf_putc(out, (char)c);
			i += 2;
		} else {
			r = buf_putc(out, s[i]);
		}
	}
	if (r < 0)
		buf_truncate(out, start);
	return r;
}

/* ---- client -------------------------------------------------------------- */

int http_client_new(struct http_client **ret, const struct http_options *opt, struct error *err)
{
	struct http_client *c;
	const char *ca;

	http_global_init();
	c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, -ENOMEM, "http: out of memory");
	c->connect_timeout_ms =
	    opt && opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS;
	c->total_timeout_ms =
	    opt && opt->total_timeout_ms > 0 ? opt->total_timeout_ms : HTTP_DEFAULT_TOTAL_MS;
	c->max_response_bytes =
	    opt && opt->max_response_bytes ? opt->max_response_bytes : HTTP_DEFAULT_MAX_RESPONSE;
	ca = opt && opt->ca_bundle ? opt->ca_bundle : getenv("AWS_CA_BUNDLE");
	if (ca && *ca) {
		c->ca_bundle = strdup(ca);
		if (!c->ca_bundle)
			goto oom;
	}
	c->curl = curl_easy_init();
	if (!c->curl)
		goto oom;
	*ret = c;
	return 0;
oom:
	http_client_free(c);
	return error_set(err, -ENOMEM, "http: out of memory");
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->ca_bundle);
	free(c);
}

void http_client_set_cancel(struct http_client *c, const atomic_bool *flag)
{
	c->cancel = flag;
}

long http_client_last_new_connections(const struct http_client *c)
{
	return c ? c->last_new_connections : 0;
}

static void headers_free(struct http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;

	if (n > t->max_body || t->body.len > t->max_body - n) {
		t->too_big = true;
		return 0;
	}
	if (buf_put(&t->body, data, n) < 0) {
		t->oom = true;
		return 0;
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nitems, nl, vl;
	const char *colon, *v, *end;
	struct http_header *h;

	t->header_bytes += n;
	if (t->header_bytes > HTTP_MAX_HEADER_BYTES) {
		t->headers_too_big = true;
		return 0;
	}
	if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
		/* a new status line (after 100 Continue, ...): keep the final response's headers only */
		headers_free(t->headers, t->n_headers);
		t->headers = NULL;
		t->n_headers = 0;
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon || colon == data)
		return n; /* blank line at the end, or junk: ignore */
	if (t->n_headers == HTTP_MAX_HEADERS) {
		t->headers_too_big = true;
		return 0;
	}
	nl = (size_t)(colon - data);
	v = colon + 1;
	end = data + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vl = (size_t)(end - v);
	h = realloc(t->headers, (t->n_headers + 1) * sizeof(*h));
	if (!h) {
		t->oom = true;
		return 0;
	}
	t->headers = h;
	h = &t->headers[t->n_headers];
	h->name = strndup(data, nl);
	h->value = strndup(v, vl);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		t->oom = true;
		return 0;
	}
	t->n_headers++;
	return n;
}

/* libcurl wants more of the request body: from the reader, never past its length. */
static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nitems, left = t->reader->len - t->sent;
	long got;

	if (n > left)
		n = left;
	if (!n)
		return 0;
	got = t->reader->read(t->reader->ctx, buf, n);
	if (got < 0 || (size_t)got > n || (got == 0 && left)) {
		t->reader_error = got < 0 ? (int)got : -EPIPE;
		return CURL_READFUNC_ABORT;
	}
	t->sent += (size_t)got;
	return (size_t)got;
}

/* libcurl must send the body again (a redirect, an auth round): only from the start. */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
	struct transfer *t = userdata;
	int r;

	if (offset != 0 || origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	r = t->reader->rewind(t->reader->ctx);
	if (r < 0) {
		t->reader_error = r;
		return CURL_SEEKFUNC_FAIL;
	}
	t->sent = 0;
	return CURL_SEEKFUNC_OK;
}

/* libcurl's progress callback: non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct transfer *t = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (t->cancel && atomic_load(t->cancel)) {
		t->canceled = true;
		return 1;
	}
	return 0;
}

static int map_curl_error(CURLcode cc, const struct transfer *t, const char *errbuf, const char *url,
                          struct error *err)
{
	const char *msg = errbuf && *errbuf ? errbuf : curl_easy_strerror(cc);
	int code;

	if (t->too_big || t->headers_too_big || cc == CURLE_FILESIZE_EXCEEDED)
		return error_set(err, -E2BIG, "http: response from %s over the size cap", url);
	if (t->oom)
		return error_set(err, -ENOMEM, "http: out of memory");
	if (t->canceled)
		return error_set(err, -ECANCELED, "http: %s: canceled", url);
	if (t->reader_error)
		return error_set(err, -EIO, "http: %s: reading the request body: %s", url,
		                 strerror(-t->reader_error));
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		code = -ECONNREFUSED;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		code = -ETIMEDOUT;
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		code = -ECONNRESET;
		break;
	case CURLE_URL_MALFORMAT:
		code = -EINVAL;
		break;
	case CURLE_OUT_OF_MEMORY:
		code = -ENOMEM;
		break;
	default: /* TLS errors, weird server replies (HTTP/0.9 is CURLE_UNSUPPORTED_PROTOCOL), ... */
		code = -EPROTO;
		break;
	}
	return error_set(err, code, "http: %s %s", url, msg);
}

static bool header_valid(const struct http_header *h)
{
	if (!h->name || !*h->name || !h->value)
		return false;
	for (const char *s = h->name; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == ':' || (unsigned char)*s >= 0x7f)
			return false;
	for (const char *s = h->value; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

int http_client_send(struct http_client *c, const struct http_request *req, struct http_response *ret,
                     struct error *err)
{
	struct transfer t = {.body = BUF_INIT, .max_body = c->max_response_bytes};
	struct curl_slist *hl = NULL, *tmp;
	struct buf line = BUF_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	bool have_ctype = false, is_get, is_head;
	CURLcode cc;
	CURL *h = c->curl;
	long status = 0, nconn = 0;
	int r = 0;

	buf_mark_secret(&line);   /* header lines carry Authorization */
	buf_mark_secret(&t.body); /* answers carry credentials and environment values */
	if (!req || !req->method || !*req->method || !req->url)
		return error_set(err, -EINVAL, "http: incomplete request");
	if (strncasecmp(req->url, "http://", 7) && strncasecmp(req->url, "https://", 8))
		return error_set(err, -EINVAL, "http: only http:// and https:// URLs are supported");
	for (const char *s = req->method; *s; s++)
		if (!isupper((unsigned char)*s))
			return error_set(err, -EINVAL, "http: bad method");
	if (req->body_len && !req->body)
		return error_set(err, -EINVAL, "http: body_len without body");
	if (req->body_reader &&
	    (req->body || req->body_len || !req->body_reader->read || !req->body_reader->rewind))
		return error_set(err, -EINVAL, "http: a body reader needs read and rewind, and no body");
	if (req->body_reader) {
		r = req->body_reader->rewind(req->body_reader->ctx);
		if (r < 0)
			return error_set(err, -EIO, "http: %s: rewinding the request body: %s", req->url,
			                 strerror(-r));
		t.reader = req->body_reader;
	}
	if (c->cancel && atomic_load(c->cancel))
		return error_set(err, -ECANCELED, "http: %s: canceled", req->url);
	t.cancel = c->cancel;
	/* the body buffer's own cap must not be hit before ours (which is what we report) */
	t.body.cap = c->max_response_bytes + 1;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *x = &req->headers[i];

		if (!header_valid(x)) {
			r = error_set(err, -EINVAL, "http: invalid request header");
			goto out;
		}
		if (!strcasecmp(x->name, "content-type"))
			have_ctype = true;
		buf_reset(&line);
		r = *x->value ? buf_printf(&line, "%s: %s", x->name, x->value)
		              : buf_printf(&line, "%s;", x->name);
		if (r < 0)
			goto oom;
		tmp = curl_slist_append(hl, line.ptr);
		if (!tmp)
			goto oom;
		hl = tmp;
	}
	/* no 100-continue round trip; no form content type that nobody asked for */
	tmp = curl_slist_append(hl, "Expect:");
	if (!tmp)
		goto oom;
	hl = tmp;
	if (!have_ctype) {
		tmp = curl_slist_append(hl, "Content-Type:");
		if (!tmp)
			goto oom;
		hl = tmp;
	}

	curl_easy_reset(h); /* keeps live connections, DNS and TLS session caches */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_bundle)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->total_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response_bytes);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
	if (t.cancel) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}

	is_get = !strcmp(req->method, "GET");
	is_head = !strcmp(req->method, "HEAD");
	if (is_head) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (t.reader) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t.reader->len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &t);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
		if (strcmp(req->method, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	} else if (is_get && !req->body_len) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (req->body_len || !strcmp(req->method, "POST") || !strcmp(req->method, "PUT") ||
	           !strcmp(req->method, "PATCH")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body_len ? req->body : (const void *)"");
		if (strcmp(req->method, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}

	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
	c->last_new_connections = nconn;
	if (cc != CURLE_OK) {
		r = map_curl_error(cc, &t, errbuf, req->url, err);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 100 || status > 599) {
		r = error_set(err, -EPROTO, "http: %s: malformed status %ld", req->url, status);
		goto out;
	}
	ret->status = status;
	ret->body = t.body;
	ret->body.cap = 0;
	ret->headers = t.headers;
	ret->n_headers = t.n_headers;
	t.body = (struct buf)BUF_INIT;
	t.headers = NULL;
	t.n_headers = 0;
	r = 0;
	goto out;
oom:
	r = error_set(err, -ENOMEM, "http: out of memory");
out:
	/* drop references to our stack before returning */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_READDATA, NULL);
	curl_easy_setopt(h, CURLOPT_SEEKDATA, NULL);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, NULL);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
	for (tmp = hl; tmp; tmp = tmp->next) /* the Authorization line is in there */
		secret_wipe_str(tmp->data);
	curl_slist_free_all(hl);
	buf_release_secret(&line);
	buf_release(&t.body);
	headers_free(t.headers, t.n_headers);
	return r;
}

const char *http_response_header(const struct http_response *r, const char *name)
{
	for (size_t i = 0; r && i < r->n_headers; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

void http_response_release(struct http_response *r)
{
	if (!r)
		return;
	buf_release(&r->body);
	headers_free(r->headers, r->n_headers);
	r->headers = NULL;
	r->n_headers = 0;
	r->status = 0;
}
