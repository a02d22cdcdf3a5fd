/*
 * lambda_parse.c - strict parsers of Lambda's answers and the release of
 * what they return (see lambda.h and lambda_wire.h).
 *
 * cJSON ownership: cJSON_Delete frees a whole tree; every cJSON_Get* result
 * is type-checked before use.
 */
#include "aws/lambda_wire.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/secret.h"

#define PATH_MAX_LEN 128

/* ---- release ------------------------------------------------------------- */

void lambda_function_config_release(struct lambda_function_config *c)
{
	if (!c)
		return;
	free(c->function_name);
	free(c->function_arn);
	free(c->runtime);
	free(c->role);
	free(c->handler);
	free(c->code_sha256);
	free(c->description);
	for (size_t i = 0; i < c->n_env; i++) {
		free(c->env[i].name);
		secret_free_str(c->env[i].value);
	}
	free(c->env);
	free(c->version);
	free(c->revision_id);
	free(c->state);
	free(c->state_reason);
	free(c->state_reason_code);
	free(c->last_update_status);
	free(c->last_update_status_reason);
	free(c->last_update_status_reason_code);
	free(c->last_modified);
	free(c->package_type);
	free(c->master_arn);
	free(c->kms_key_arn);
	free(c->tracing_mode);
	for (size_t i = 0; i < c->n_architectures; i++)
		free(c->architectures[i]);
	free(c->architectures);
	for (size_t i = 0; i < c->n_layers; i++)
		free(c->layers[i].arn);
	free(c->layers);
	memset(c, 0, sizeof(*c));
}

void lambda_function_release(struct lambda_function *f)
{
	if (!f)
		return;
	lambda_function_config_release(&f->config);
	free(f->code_repository_type);
	free(f->code_location);
	free(f->image_uri);
	free(f->resolved_image_uri);
	memset(f, 0, sizeof(*f));
}

void lambda_alias_release(struct lambda_alias *a)
{
	if (!a)
		return;
	free(a->alias_arn);
	free(a->name);
	free(a->function_version);
	free(a->description);
	free(a->revision_id);
	for (size_t i = 0; i < a->n_weights; i++)
		free(a->weights[i].version);
	free(a->weights);
	memset(a, 0, sizeof(*a));
}

void lambda_config_list_release(struct lambda_config_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		lambda_function_config_release(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void lambda_alias_list_release(struct lambda_alias_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		lambda_alias_release(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* ---- UTF-8 ----------------------------------------------------------------- */

bool lambda_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- parsing helpers ------------------------------------------------------ */

static int bad(struct error *err, const char *op, const char *prefix, const char *key, const char *what)
{
	return error_set(err, -EBADMSG, "%s: response field %s%s %s", op, prefix, key, what);
}

/* Parse the document; the root must be an object. */
static int doc_parse(const char *op, const char *json, size_t len, cJSON **ret, struct error *err)
{
	const char *end = NULL;
	cJSON *root;

	if (!json)
		return error_set(err, -EBADMSG, "%s: empty response", op);
	if (len > LAMBDA_MAX_RESPONSE)
		return error_set(err, -E2BIG, "%s: response of %zu bytes is over the %u byte limit", op, len,
		                 LAMBDA_MAX_RESPONSE);
	if (!lambda_utf8_valid(json, len))
		return error_set(err, -EBADMSG, "%s: response is not valid UTF-8", op);
	if (memchr(json, '\0', len))
		return error_set(err, -EBADMSG, "%s: response contains a NUL byte", op);
	root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!root)
		return error_set(err, -EBADMSG, "%s: response is not valid JSON", op);
	while (end && end < json + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!end || end != json + len) {
		cJSON_Delete(root);
		return error_set(err, -EBADMSG, "%s: response has data after the JSON value", op);
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return error_set(err, -EBADMSG, "%s: response is not a JSON object", op);
	}
	*ret = root;
	return 0;
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNull(v) ? NULL : v;
}

/* Optional string: absent or null leaves *ret NULL. */
static int get_str(const char *op, const cJSON *obj, const char *prefix, const char *key, char **ret,
                   struct error *err)
{
	const cJSON *v = field(obj, key);
	char *s;

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return bad(err, op, prefix, key, "is not a string");
	s = strdup(v->valuestring);
	if (!s)
		return error_set(err, -ENOMEM, "%s: out of memory", op);
	free(*ret);
	*ret = s;
	return 0;
}

static int get_req_str(const char *op, const cJSON *obj, const char *prefix, const char *key, char **ret,
                       struct error *err)
{
	int r = get_str(op, obj, prefix, key, ret, err);

	if (r < 0)
		return r;
	if (!*ret)
		return bad(err, op, prefix, key, "is missing");
	return 0;
}

static int get_int64(const char *op, const cJSON *obj, const char *prefix, const char *key, int64_t min,
                     int64_t max, int64_t *ret, struct error *err)
{
	const cJSON *v = field(obj, key);
	double d;

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return bad(err, op, prefix, key, "is not a number");
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return bad(err, op, prefix, key, "is not an integer");
	if (d < (double)min || d > (double)max)
		return bad(err, op, prefix, key, "is out of range");
	*ret = (int64_t)d;
	return 0;
}

static int get_int(const char *op, const cJSON *obj, const char *prefix, const char *key, int *ret,
                   struct error *err)
{
	int64_t v = *ret;
	int r = get_int64(op, obj, prefix, key, 0, INT_MAX, &v, err);

	if (r == 0)
		*ret = (int)v;
	return r;
}

static int get_object(const char *op, const cJSON *obj, const char *prefix, const char *key,
                      const cJSON **ret, struct error *err)
{
	const cJSON *v = field(obj, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return bad(err, op, prefix, key, "is not an object");
	*ret = v;
	return 0;
}

static int get_array(const char *op, const cJSON *obj, const char *prefix, const char *key, const cJSON **ret,
                     struct error *err)
{
	const cJSON *v = field(obj, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return bad(err, op, prefix, key, "is not an array");
	*ret = v;
	return 0;
}

static size_t count_children(const cJSON *v)
{
	size_t n = 0;

	for (const cJSON *c = v ? v->child : NULL; c; c = c->next)
		n++;
	return n;
}

static int parse_env(const char *op, const cJSON *vars, const char *prefix, struct lambda_function_config *c,
                     struct error *err)
{
	size_t n = count_children(vars), i = 0;
	char path[PATH_MAX_LEN];

	if (n > LAMBDA_MAX_ENV_VARS)
		return error_set(err, -E2BIG,
		                 "%s: response field %sEnvironment.Variables has %zu entries (limit %d)", op,
		                 prefix, n, LAMBDA_MAX_ENV_VARS);
	c->has_environment = true;
	if (n == 0)
		return 0;
	c->env = calloc(n, sizeof(*c->env));
	if (!c->env)
		return error_set(err, -ENOMEM, "%s: out of memory", op);
	snprintf(path, sizeof(path), "%sEnvironment.Variables.", prefix);
	for (const cJSON *v = vars->child; v; v = v->next, i++) {
		if (!v->string)
			return bad(err, op, path, "?", "has no name");
		if (!cJSON_IsString(v) || !v->valuestring)
			return bad(err, op, path, v->string, "is not a string");
		c->env[i].name = strdup(v->string);
		c->env[i].value = strdup(v->valuestring);
		c->n_env = i + 1;
		if (!c->env[i].name || !c->env[i].value)
			return error_set(err, -ENOMEM, "%s: out of memory", op);
	}
	return 0;
}

/* Parse a FunctionConfiguration object into *c (zeroed by the caller; released by the caller on error). */
static int parse_config_obj(const char *op, const cJSON *obj, const char *prefix,
                            struct lambda_function_config *c, struct error *err)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
#define S(k, f) {k, offsetof(struct lambda_function_config, f)}
	    S("FunctionName", function_name),
	    S("FunctionArn", function_arn),
	    S("Runtime", runtime),
	    S("Role", role),
	    S("Handler", handler),
	    S("CodeSha256", code_sha256),
	    S("Description", description),
	    S("Version", version),
	    S("RevisionId", revision_id),
	    S("State", state),
	    S("StateReason", state_reason),
	    S("StateReasonCode", state_reason_code),
	    S("LastUpdateStatus", last_update_status),
	    S("LastUpdateStatusReason", last_update_status_reason),
	    S("LastUpdateStatusReasonCode", last_update_status_reason_code),
	    S("LastModified", last_modified),
	    S("PackageType", package_type),
	    S("MasterArn", master_arn),
	    S("KMSKeyArn", kms_key_arn),
#undef S
	};
	const cJSON *o, *a;
	char path[PATH_MAX_LEN];
	int r;

	if (!cJSON_IsObject(obj))
		return error_set(err, -EBADMSG, "%s: response field %s is not an object", op,
		                 *prefix ? prefix : "(root)");
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		r = get_str(op, obj, prefix, strs[i].key, (char **)((char *)c + strs[i].off), err);
		if (r < 0)
			return r;
	}
	r = get_int64(op, obj, prefix, "CodeSize", 0, (int64_t)1 << 53, &c->code_size, err);
	if (r < 0)
		return r;
	r = get_int(op, obj, prefix, "Timeout", &c->timeout, err);
	if (r < 0)
		return r;
	r = get_int(op, obj, prefix, "MemorySize", &c->memory_size, err);
	if (r < 0)
		return r;

	r = get_object(op, obj, prefix, "Environment", &o, err);
	if (r < 0)
		return r;
	if (o) {
		const cJSON *vars;

		snprintf(path, sizeof(path), "%sEnvironment.", prefix);
		r = get_object(op, o, path, "Variables", &vars, err);
		if (r < 0)
			return r;
		if (vars) {
			r = parse_env(op, vars, prefix, c, err);
			if (r < 0)
				return r;
		} else {
			c->has_environment = true;
		}
	}

	r = get_object(op, obj, prefix, "TracingConfig", &o, err);
	if (r < 0)
		return r;
	if (o) {
		snprintf(path, sizeof(path), "%sTracingConfig.", prefix);
		r = get_str(op, o, path, "Mode", &c->tracing_mode, err);
		if (r < 0)
			return r;
	}
	r = get_object(op, obj, prefix, "EphemeralStorage", &o, err);
	if (r < 0)
		return r;
	if (o) {
		snprintf(path, sizeof(path), "%sEphemeralStorage.", prefix);
		r = get_int(op, o, path, "Size", &c->ephemeral_storage, err);
		if (r < 0)
			return r;
	}

	r = get_array(op, obj, prefix, "Architectures", &a, err);
	if (r < 0)
		return r;
	if (a) {
		size_t n = count_children(a), i = 0;

		if (n > 16)
			return bad(err, op, prefix, "Architectures", "has too many entries");
		if (n) {
			c->architectures = calloc(n, sizeof(char *));
			if (!c->architectures)
				return error_set(err, -ENOMEM, "%s: out of memory", op);
		}
		for (const cJSON *v = a->child; v; v = v->next, i++) {
			if (!cJSON_IsString(v) || !v->valuestring) {
				snprintf(path, sizeof(path), "Architectures[%zu]", i);
				return bad(err, op, prefix, path, "is not a string");
			}
			c->architectures[i] = strdup(v->valuestring);
			if (!c->architectures[i])
				return error_set(err, -ENOMEM, "%s: out of memory", op);
			c->n_architectures = i + 1;
		}
	}

	r = get_array(op, obj, prefix, "Layers", &a, err);
	if (r < 0)
		return r;
	if (a) {
		size_t n = count_children(a), i = 0;

		if (n > 64)
			return bad(err, op, prefix, "Layers", "has too many entries");
		if (n) {
			c->layers = calloc(n, sizeof(*c->layers));
			if (!c->layers)
				return error_set(err, -ENOMEM, "%s: out of memory", op);
		}
		for (const cJSON *v = a->child; v; v = v->next, i++) {
			snprintf(path, sizeof(path), "%sLayers[%zu]", prefix, i);
			if (!cJSON_IsObject(v))
				return bad(err, op, path, "", "is not an object");
			c->n_layers = i + 1;
			snprintf(path, sizeof(path), "%sLayers[%zu].", prefix, i);
			r = get_req_str(op, v, path, "Arn", &c->layers[i].arn, err);
			if (r < 0)
				return r;
			r = get_int64(op, v, path, "CodeSize", 0, (int64_t)1 << 53, &c->layers[i].code_size,
			              err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int parse_alias_obj(const char *op, const cJSON *obj, const char *prefix, struct lambda_alias *a,
                           struct error *err)
{
	const cJSON *rc, *w;
	char path[PATH_MAX_LEN];
	int r;

	if (!cJSON_IsObject(obj))
		return error_set(err, -EBADMSG, "%s: response field %s is not an object", op,
		                 *prefix ? prefix : "(root)");
	if ((r = get_str(op, obj, prefix, "AliasArn", &a->alias_arn, err)) < 0 ||
	    (r = get_req_str(op, obj, prefix, "Name", &a->name, err)) < 0 ||
	    (r = get_req_str(op, obj, prefix, "FunctionVersion", &a->function_version, err)) < 0 ||
	    (r = get_str(op, obj, prefix, "Description", &a->description, err)) < 0 ||
	    (r = get_str(op, obj, prefix, "RevisionId", &a->revision_id, err)) < 0)
		return r;
	r = get_object(op, obj, prefix, "RoutingConfig", &rc, err);
	if (r < 0 || !rc)
		return r;
	snprintf(path, sizeof(path), "%sRoutingConfig.", prefix);
	r = get_object(op, rc, path, "AdditionalVersionWeights", &w, err);
	if (r < 0 || !w)
		return r;
	snprintf(path, sizeof(path), "%sRoutingConfig.AdditionalVersionWeights.", prefix);
	size_t n = count_children(w), i = 0;

	if (n > LAMBDA_MAX_WEIGHTS)
		return bad(err, op, path, "", "has too many entries");
	if (n) {
		a->weights = calloc(n, sizeof(*a->weights));
		if (!a->weights)
			return error_set(err, -ENOMEM, "%s: out of memory", op);
	}
	for (const cJSON *v = w->child; v; v = v->next, i++) {
		if (!v->string || !*v->string)
			return bad(err, op, path, "?", "has no version");
		if (!cJSON_IsNumber(v))
			return bad(err, op, path, v->string, "is not a number");
		if (!isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1)
			return bad(err, op, path, v->string, "is not a weight between 0 and 1");
		a->weights[i].version = strdup(v->string);
		if (!a->weights[i].version)
			return error_set(err, -ENOMEM, "%s: out of memory", op);
		a->weights[i].weight = v->valuedouble;
		a->n_weights = i + 1;
	}
	return 0;
}

/* ---- public parsers ---------------------------------------------------------- */

int lambda_function_config_parse(const char *op, const char *json, size_t len,
                                 struct lambda_function_config *ret, struct error *err)
{
	struct lambda_function_config c = {0};
	cJSON *root = NULL;
	int r;

	r = doc_parse(op, json, len, &root, err);
	if (r < 0)
		return r;
	r = parse_config_obj(op, root, "", &c, err);
	cJSON_Delete(root);
	if (r < 0) {
		lambda_function_config_release(&c);
		return r;
	}
	*ret = c;
	return 0;
}

int lambda_function_parse(const char *op, const char *json, size_t len, struct lambda_function *ret,
                          struct error *err)
{
	struct lambda_function f = {0};
	const cJSON *cfg, *code;
	cJSON *root = NULL;
	int r;

	r = doc_parse(op, json, len, &root, err);
	if (r < 0)
		return r;
	r = get_object(op, root, "", "Configuration", &cfg, err);
	if (r < 0)
		goto out;
	if (!cfg) {
		r = bad(err, op, "", "Configuration", "is missing");
		goto out;
	}
	r = parse_config_obj(op, cfg, "Configuration.", &f.config, err);
	if (r < 0)
		goto out;
	r = get_object(op, root, "", "Code", &code, err);
	if (r < 0)
		goto out;
	if (code) {
		if ((r = get_str(op, code, "Code.", "RepositoryType", &f.code_repository_type, err)) < 0 ||
		    (r = get_str(op, code, "Code.", "Location", &f.code_location, err)) < 0 ||
		    (r = get_str(op, code, "Code.", "ImageUri", &f.image_uri, err)) < 0 ||
		    (r = get_str(op, code, "Code.", "ResolvedImageUri", &f.resolved_image_uri, err)) < 0)
			goto out;
	}
out:
	cJSON_Delete(root);
	if (r < 0) {
		lambda_function_release(&f);
		return r;
	}
	*ret = f;
	return 0;
}

int lambda_alias_parse(const char *op, const char *json, size_t len, struct lambda_alias *ret,
                       struct error *err)
{
	struct lambda_alias a = {0};
	cJSON *root = NULL;
	int r;

	r = doc_parse(op, json, len, &root, err);
	if (r < 0)
		return r;
	r = parse_alias_obj(op, root, "", &a, err);
	cJSON_Delete(root);
	if (r < 0) {
		lambda_alias_release(&a);
		return r;
	}
	*ret = a;
	return 0;
}

int lambda_account_settings_parse(const char *op, const char *json, size_t len,
                                  struct lambda_account_settings *ret, struct error *err)
{
	struct lambda_account_settings a = {-1, -1, 0, 0};
	const cJSON *limit, *usage;
	cJSON *root = NULL;
	int r;

	r = doc_parse(op, json, len, &root, err);
	if (r < 0)
		return r;
	if ((r = get_object(op, root, "", "AccountLimit", &limit, err)) < 0 ||
	    (r = get_object(op, root, "", "AccountUsage", &usage, err)) < 0)
		goto out;
	if (!limit || !usage) {
		r = bad(err, op, "", limit ? "AccountUsage" : "AccountLimit", "is missing");
		goto out;
	}
	if ((r = get_int64(op, limit, "AccountLimit.", "TotalCodeSize", 0, (int64_t)1 << 53,
	                   &a.code_storage_limit, err)) < 0 ||
	    (r = get_int64(op, limit, "AccountLimit.", "ConcurrentExecutions", 0, INT_MAX,
	                   &a.concurrent_executions, err)) < 0 ||
	    (r = get_int64(op, usage, "AccountUsage.", "TotalCodeSize", 0, (int64_t)1 << 53,
	                   &a.code_storage_used, err)) < 0 ||
	    (r = get_int64(op, usage, "AccountUsage.", "FunctionCount", 0, (int64_t)1 << 53,
	                   &a.function_count, err)) < 0)
		goto out;
	if (a.code_storage_limit < 0)
		r = bad(err, op, "AccountLimit.", "TotalCodeSize", "is missing");
	else if (a.code_storage_used < 0)
		r = bad(err, op, "AccountUsage.", "TotalCodeSize", "is missing");
	else
		*ret = a;
out:
	cJSON_Delete(root);
	return r;
}

static int get_marker(const char *op, const cJSON *root, char **ret, struct error *err)
{
	char *m = NULL;
	int r = get_str(op, root, "", "NextMarker", &m, err);

	if (r < 0)
		return r;
	if (m && !*m) {
		free(m);
		m = NULL;
	}
	*ret = m;
	return 0;
}

/* What the array of a list page holds, and how to read and release one item. */
struct page_items {
	const char *key; /* the array's name in the page */
	size_t size;     /* of one item */
	int (*parse)(const char *op, const cJSON *obj, const char *prefix, void *item, struct error *err);
	void (*release)(void *item);
};

static int item_config_parse(const char *op, const cJSON *obj, const char *prefix, void *item,
                             struct error *err)
{
	return parse_config_obj(op, obj, prefix, item, err);
}

static void item_config_release(void *item)
{
	lambda_function_config_release(item);
}

static int item_alias_parse(const char *op, const cJSON *obj, const char *prefix, void *item,
                            struct error *err)
{
	return parse_alias_obj(op, obj, prefix, item, err);
}

static void item_alias_release(void *item)
{
	lambda_alias_release(item);
}

/*
 * Parse one page and append its items to the n_in items at `items_in`: on
 * success *ret_items is the (realloc'ed) array, holding *ret_added more items,
 * and *ret_next_marker the next marker (NULL on the last page).  On failure
 * `items_in` is untouched.
 */
static int page_parse(const char *op, const char *json, size_t len, const struct page_items *k,
                      void *items_in, size_t n_in, void **ret_items, size_t *ret_added,
                      char **ret_next_marker, struct error *err)
{
	char *items = NULL; /* n items of k->size bytes */
	const cJSON *arr;
	cJSON *root = NULL;
	char *marker = NULL;
	size_t n, i = 0, done = 0;
	char prefix[PATH_MAX_LEN];
	int r;

	r = doc_parse(op, json, len, &root, err);
	if (r < 0)
		return r;
	r = get_array(op, root, "", k->key, &arr, err);
	if (r < 0)
		goto out;
	n = count_children(arr);
	if (n > LAMBDA_MAX_LIST_ITEMS || n_in + n > LAMBDA_MAX_LIST_ITEMS) {
		r = error_set(err, -E2BIG, "%s: more than %d items listed", op, LAMBDA_MAX_LIST_ITEMS);
		goto out;
	}
	r = get_marker(op, root, &marker, err);
	if (r < 0)
		goto out;
	if (n) {
		items = calloc(n, k->size);
		if (!items) {
			r = error_set(err, -ENOMEM, "%s: out of memory", op);
			goto out;
		}
	}
	for (const cJSON *v = arr ? arr->child : NULL; v; v = v->next, i++) {
		done = i + 1;
		if (!cJSON_IsObject(v)) {
			snprintf(prefix, sizeof(prefix), "%s[%zu]", k->key, n_in + i);
			r = error_set(err, -EBADMSG, "%s: response field %s is not an object", op, prefix);
			goto out;
		}
		snprintf(prefix, sizeof(prefix), "%s[%zu].", k->key, n_in + i);
		r = k->parse(op, v, prefix, items + i * k->size, err);
		if (r < 0)
			goto out;
	}
	if (n) {
		char *grown = realloc(items_in, (n_in + n) * k->size);

		if (!grown) {
			r = error_set(err, -ENOMEM, "%s: out of memory", op);
			goto out;
		}
		memcpy(grown + n_in * k->size, items, n * k->size);
		items_in = grown;
		free(items);
		items = NULL;
		done = 0;
	}
	*ret_items = items_in;
	*ret_added = n;
	*ret_next_marker = marker;
	marker = NULL;
out:
	for (size_t j = 0; j < done; j++)
		k->release(items + j * k->size);
	free(items);
	free(marker);
	cJSON_Delete(root);
	return r;
}

int lambda_versions_page_parse(const char *op, const char *json, size_t len, const char *key,
                               struct lambda_config_list *list, char **ret_next_marker, struct error *err)
{
	const struct page_items k = {key, sizeof(*list->items), item_config_parse, item_config_release};
	void *items;
	size_t added;
	int r = page_parse(op, json, len, &k, list->items, list->n, &items, &added, ret_next_marker, err);

	if (r >= 0) {
		list->items = items;
		list->n += added;
	}
	return r;
}

int lambda_aliases_page_parse(const char *op, const char *json, size_t len, struct lambda_alias_list *list,
                              char **ret_next_marker, struct error *err)
{
	const struct page_items k = {"Aliases", sizeof(*list->items), item_alias_parse, item_alias_release};
	void *items;
	size_t added;
	int r = page_parse(op, json, len, &k, list->items, list->n, &items, &added, ret_next_marker, err);

	if (r >= 0) {
		list->items = items;
		list->n += added;
	}
	return r;
}
