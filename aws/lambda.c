/*
 * lambda.c - Lambda operations: each checks its names, builds its body
 * (lambda_body.c), sends it through the client and parses the answer
 * (lambda_parse.c).  See lambda.h.
 */
#include "aws/lambda.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda_wire.h"

/* ---- operations ------------------------------------------------------------------ */

/*
 * Every operation has the same shape: check the names in the path, maybe
 * build a body, send the request, parse the answer.  need_function*() and
 * set_body() are the first two steps, call() the last two; each public
 * function below only fills its aws_request.
 */

static int parse_failed(struct aws_error *aerr, const char *op, const struct error *e)
{
	return aws_error_set(aerr, e->code ? e->code : -EBADMSG, op, "%s", e->msg);
}

static int need_name(struct aws_error *aerr, const char *op, const char *what, const char *v)
{
	if (!v || !*v)
		return aws_error_set(aerr, -EINVAL, op, "%s: %s is required", op, what);
	return 0;
}

static int need_function(struct aws_error *aerr, const char *op, const char *fn)
{
	return need_name(aerr, op, "a function name", fn);
}

static int need_function_alias(struct aws_error *aerr, const char *op, const char *fn, const char *alias)
{
	int r = need_function(aerr, op, fn);

	return r < 0 ? r : need_name(aerr, op, "an alias name", alias);
}

/*
 * Attach `body` to req: `built` is what its builder returned, `e` what the
 * builder said on failure.
 */
static int set_body(struct aws_request *req, const struct buf *body, int built, const struct error *e,
                    struct aws_error *aerr)
{
	if (built < 0)
		return parse_failed(aerr, req->operation, e);
	req->body = body->ptr;
	req->body_len = body->len;
	return 0;
}

/* Attach a streamed body: `built` is what its builder returned, `e` what it said on failure. */
static int set_stream(struct aws_request *req, const struct lambda_body_stream *s, int built,
                      const struct error *e, struct aws_error *aerr)
{
	if (built < 0)
		return parse_failed(aerr, req->operation, e);
	req->body_reader = &s->reader;
	req->body_sha256_hex = s->sha256_hex;
	return 0;
}

/* An answer parser: fills *ret, a struct of the operation's answer type. */
typedef int answer_parse_fn(const char *op, const char *json, size_t len, void *ret, struct error *e);

static int answer_config(const char *op, const char *json, size_t len, void *ret, struct error *e)
{
	return lambda_function_config_parse(op, json, len, ret, e);
}

static int answer_function(const char *op, const char *json, size_t len, void *ret, struct error *e)
{
	return lambda_function_parse(op, json, len, ret, e);
}

static int answer_alias(const char *op, const char *json, size_t len, void *ret, struct error *e)
{
	return lambda_alias_parse(op, json, len, ret, e);
}

static int answer_account_settings(const char *op, const char *json, size_t len, void *ret, struct error *e)
{
	return lambda_account_settings_parse(op, json, len, ret, e);
}

/*
 * Send req and parse the answer with `parse` into ret; with no parser the
 * answer is dropped and the result is 0.  The answer may carry environment
 * values: it is wiped.
 */
static int call(struct aws_client *c, const struct aws_request *req, answer_parse_fn *parse, void *ret,
                struct aws_error *aerr)
{
	struct buf body = BUF_INIT;
	struct error e = ERROR_INIT;
	int r;

	r = aws_client_call(c, req, NULL, &body, aerr);
	if (r < 0)
		goto out;
	if (!parse) {
		r = 0;
		goto out;
	}
	r = parse(req->operation, body.ptr, body.len, ret, &e);
	if (r < 0)
		r = parse_failed(aerr, req->operation, &e);
out:
	buf_release_secret(&body);
	return r;
}

int lambda_function_get(struct aws_client *c, const char *fn, const char *qualifier,
                        struct lambda_function *ret, struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "GetFunction",
	    .method = "GET",
	    .segments = {"functions", fn},
	    .n_segments = 2,
	    .query = {{"Qualifier", qualifier}},
	    .n_query = 1,
	    .quota = AWS_QUOTA_GET_FUNCTION,
	};
	int r = need_function(err, req.operation, fn);

	return r < 0 ? r : call(c, &req, answer_function, ret, err);
}

int lambda_function_config_get(struct aws_client *c, const char *fn, const char *qualifier,
                               struct lambda_function_config *ret, struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "GetFunctionConfiguration",
	    .method = "GET",
	    .segments = {"functions", fn, "configuration"},
	    .n_segments = 3,
	    .query = {{"Qualifier", qualifier}},
	    .n_query = 1,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function(err, req.operation, fn);

	return r < 0 ? r : call(c, &req, answer_config, ret, err);
}

int lambda_function_create(struct aws_client *c, const struct lambda_create_input *in,
                           struct lambda_function_config *ret, struct aws_error *err)
{
	struct lambda_body_stream body = {.head = BUF_INIT, .tail = BUF_INIT}; /* wiped on release */
	struct error e = ERROR_INIT;
	struct aws_request req = {
	    .operation = "CreateFunction",
	    .method = "POST",
	    .segments = {"functions"},
	    .n_segments = 1,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r;

	r = set_stream(&req, &body, lambda_create_body_stream(&body, in, &e), &e, err);
	if (r >= 0)
		r = call(c, &req, answer_config, ret, err);
	lambda_body_stream_release(&body);
	return r;
}

int lambda_function_code_update(struct aws_client *c, const char *fn, const struct lambda_code_input *in,
                                struct lambda_function_config *ret, struct aws_error *err)
{
	struct lambda_body_stream body = {.head = BUF_INIT, .tail = BUF_INIT};
	struct error e = ERROR_INIT;
	struct aws_request req = {
	    .operation = "UpdateFunctionCode",
	    .method = "PUT",
	    .segments = {"functions", fn, "code"},
	    .n_segments = 3,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function(err, req.operation, fn);

	if (r >= 0)
		r = set_stream(&req, &body, lambda_code_body_stream(&body, in, &e), &e, err);
	if (r >= 0)
		r = call(c, &req, answer_config, ret, err);
	lambda_body_stream_release(&body);
	return r;
}

int lambda_function_config_update(struct aws_client *c, const char *fn, const struct lambda_config_input *in,
                                  struct lambda_function_config *ret, struct aws_error *err)
{
	struct buf body = BUF_INIT; /* environment values: wiped */
	struct error e = ERROR_INIT;
	struct aws_request req = {
	    .operation = "UpdateFunctionConfiguration",
	    .method = "PUT",
	    .segments = {"functions", fn, "configuration"},
	    .n_segments = 3,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function(err, req.operation, fn);

	if (r >= 0)
		r = set_body(&req, &body, lambda_config_body(&body, in, &e), &e, err);
	if (r >= 0)
		r = call(c, &req, answer_config, ret, err);
	buf_release_secret(&body);
	return r;
}

int lambda_version_publish(struct aws_client *c, const char *fn, const char *code_sha256,
                           const char *revision_id, const char *description,
                           struct lambda_function_config *ret, struct aws_error *err)
{
	struct buf body = BUF_INIT;
	struct error e = ERROR_INIT;
	struct aws_request req = {
	    .operation = "PublishVersion",
	    .method = "POST",
	    .segments = {"functions", fn, "versions"},
	    .n_segments = 3,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function(err, req.operation, fn);

	if (r >= 0)
		r = set_body(&req, &body,
		             lambda_publish_body(&body, code_sha256, revision_id, description, &e), &e, err);
	if (r >= 0)
		r = call(c, &req, answer_config, ret, err);
	buf_release(&body);
	return r;
}

/* Markers seen so far, to refuse a loop. */
struct markers {
	char **v;
	size_t n;
};

static int markers_add(struct markers *m, const char *op, char *marker, struct aws_error *aerr)
{
	char **grown;

	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i], marker)) {
			free(marker);
			return aws_error_set(aerr, -ELOOP, op,
			                     "%s: pagination marker repeated after %zu pages", op, m->n);
		}
	grown = realloc(m->v, (m->n + 1) * sizeof(*grown));
	if (!grown) {
		free(marker);
		return aws_error_set(aerr, -ENOMEM, op, "%s: out of memory", op);
	}
	m->v = grown;
	m->v[m->n++] = marker;
	return 0;
}

static void markers_free(struct markers *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
}

/* A page parser: appends one page to `list`, hands out the next marker (NULL: last page). */
typedef int page_parse_fn(const char *op, const char *json, size_t len, const char *key, void *list,
                          char **ret_next, struct error *e);

static int page_configs(const char *op, const char *json, size_t len, const char *key, void *list,
                        char **ret_next, struct error *e)
{
	return lambda_versions_page_parse(op, json, len, key, list, ret_next, e);
}

static int page_aliases(const char *op, const char *json, size_t len, const char *key, void *list,
                        char **ret_next, struct error *e)
{
	(void)key;
	return lambda_aliases_page_parse(op, json, len, list, ret_next, e);
}

/*
 * Follow every page of a list operation into `list` (its counter `pages`
 * included); the caller releases `list` on failure.  req->query[0] is Marker
 * (filled here), the caller adds the others.  Pages may carry environment
 * values: each is wiped.
 */
static int call_pages(struct aws_client *c, struct aws_request *req, page_parse_fn *parse, const char *key,
                      void *list, unsigned *pages, unsigned max_pages, struct aws_error *aerr)
{
	struct markers seen = {0};
	struct buf body = BUF_INIT;
	struct error e = ERROR_INIT;
	const char *marker = NULL;
	int r = 0;

	for (;;) {
		char *next = NULL;

		if (*pages >= (max_pages ? max_pages : LAMBDA_MAX_PAGES)) {
			r = aws_error_set(aerr, -E2BIG, req->operation, "%s: more than %u pages",
			                  req->operation, max_pages ? max_pages : LAMBDA_MAX_PAGES);
			goto out;
		}
		req->query[0].value = marker;
		buf_release_secret(&body);
		r = aws_client_call(c, req, NULL, &body, aerr);
		if (r < 0)
			goto out;
		(*pages)++;
		r = parse(req->operation, body.ptr, body.len, key, list, &next, &e);
		if (r < 0) {
			r = parse_failed(aerr, req->operation, &e);
			goto out;
		}
		if (!next)
			break;
		r = markers_add(&seen, req->operation, next, aerr);
		if (r < 0)
			goto out;
		marker = seen.v[seen.n - 1];
	}
out:
	markers_free(&seen);
	buf_release_secret(&body);
	return r;
}

/* Every page of a config list operation; `key` names the array in each page. */
static int list_configs(struct aws_client *c, struct aws_request *req, const char *key, unsigned max_pages,
                        struct lambda_config_list *ret, struct aws_error *aerr)
{
	struct lambda_config_list list = {0};
	int r = call_pages(c, req, page_configs, key, &list, &list.pages, max_pages, aerr);

	if (r < 0) {
		memset(ret, 0, sizeof(*ret));
		ret->pages = list.pages; /* what it cost, also when it failed */
		lambda_config_list_release(&list);
		return r;
	}
	*ret = list;
	return r;
}

int lambda_versions_list(struct aws_client *c, const char *fn, struct lambda_config_list *ret,
                         struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "ListVersionsByFunction",
	    .method = "GET",
	    .segments = {"functions", fn, "versions"},
	    .n_segments = 3,
	    .query = {{"Marker", NULL}, {"MaxItems", "50"}},
	    .n_query = 2,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function(err, req.operation, fn);

	return r < 0 ? r : list_configs(c, &req, "Versions", 0, ret, err);
}

int lambda_functions_list(struct aws_client *c, bool all_versions, struct lambda_config_list *ret,
                          struct aws_error *err)
{
	return lambda_functions_list_bounded(c, all_versions, 0, ret, err);
}

int lambda_functions_list_bounded(struct aws_client *c, bool all_versions, unsigned max_pages,
                                  struct lambda_config_list *ret, struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "ListFunctions",
	    .method = "GET",
	    .segments = {"functions"},
	    .n_segments = 1,
	    .trailing_slash = true,
	    .query = {{"Marker", NULL}, {"MaxItems", "50"}, {"FunctionVersion", all_versions ? "ALL" : NULL}},
	    .n_query = 3,
	    .quota = AWS_QUOTA_CONTROL,
	};

	return list_configs(c, &req, "Functions", max_pages, ret, err);
}

int lambda_alias_create(struct aws_client *c, const char *fn, const char *alias,
                        const struct lambda_alias_input *in, struct lambda_alias *ret, struct aws_error *err)
{
	struct buf body = BUF_INIT;
	struct error e = ERROR_INIT;
	struct aws_request req = {
	    .operation = "CreateAlias",
	    .method = "POST",
	    .segments = {"functions", fn, "aliases"},
	    .n_segments = 3,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function_alias(err, req.operation, fn, alias);

	if (r >= 0)
		r = set_body(&req, &body, lambda_alias_body(&body, alias, in, &e), &e, err);
	if (r >= 0)
		r = call(c, &req, answer_alias, ret, err);
	buf_release(&body);
	return r;
}

int lambda_alias_get(struct aws_client *c, const char *fn, const char *alias, struct lambda_alias *ret,
                     struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "GetAlias",
	    .method = "GET",
	    .segments = {"functions", fn, "aliases", alias},
	    .n_segments = 4,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function_alias(err, req.operation, fn, alias);

	return r < 0 ? r : call(c, &req, answer_alias, ret, err);
}

int lambda_alias_update(struct aws_client *c, const char *fn, const char *alias,
                        const struct lambda_alias_input *in, struct lambda_alias *ret, struct aws_error *err)
{
	struct buf body = BUF_INIT;
	struct error e = ERROR_INIT;
	struct aws_request req = {
	    .operation = "UpdateAlias",
	    .method = "PUT",
	    .segments = {"functions", fn, "aliases", alias},
	    .n_segments = 4,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function_alias(err, req.operation, fn, alias);

	if (r >= 0)
		r = set_body(&req, &body, lambda_alias_body(&body, NULL, in, &e), &e, err);
	if (r >= 0)
		r = call(c, &req, answer_alias, ret, err);
	buf_release(&body);
	return r;
}

int lambda_alias_delete(struct aws_client *c, const char *fn, const char *alias, struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "DeleteAlias",
	    .method = "DELETE",
	    .segments = {"functions", fn, "aliases", alias},
	    .n_segments = 4,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function_alias(err, req.operation, fn, alias);

	return r < 0 ? r : call(c, &req, NULL, NULL, err);
}

int lambda_aliases_list(struct aws_client *c, const char *fn, const char *function_version,
                        struct lambda_alias_list *ret, struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "ListAliases",
	    .method = "GET",
	    .segments = {"functions", fn, "aliases"},
	    .n_segments = 3,
	    .query = {{"Marker", NULL}, {"MaxItems", "50"}, {"FunctionVersion", function_version}},
	    .n_query = 3,
	    .quota = AWS_QUOTA_CONTROL,
	};
	struct lambda_alias_list list = {0};
	int r = need_function(err, req.operation, fn);

	if (r < 0)
		return r;
	r = call_pages(c, &req, page_aliases, NULL, &list, &list.pages, 0, err);
	if (r < 0) {
		lambda_alias_list_release(&list);
		return r;
	}
	*ret = list;
	return r;
}

int lambda_function_delete(struct aws_client *c, const char *fn, const char *qualifier, struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "DeleteFunction",
	    .method = "DELETE",
	    .segments = {"functions", fn},
	    .n_segments = 2,
	    .query = {{"Qualifier", qualifier}},
	    .n_query = 1,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r = need_function(err, req.operation, fn);

	return r < 0 ? r : call(c, &req, NULL, NULL, err);
}

int lambda_account_settings_get(struct aws_client *c, struct lambda_account_settings *ret,
                                struct aws_error *err)
{
	struct aws_request req = {
	    .operation = "GetAccountSettings",
	    .method = "GET",
	    .api_version = "2016-08-19",
	    .segments = {"account-settings"},
	    .n_segments = 1,
	    .trailing_slash = true,
	    .quota = AWS_QUOTA_CONTROL,
	};

	return call(c, &req, answer_account_settings, ret, err);
}
