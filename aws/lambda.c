/*
 * lambda.c - Lambda operations: typed requests, cJSON builders and strict
 * response parsers (see lambda.h).
 *
 * cJSON ownership: cJSON_Delete frees a whole tree; cJSON_AddItemToObject /
 * cJSON_AddItemToArray take the item (on failure we delete it ourselves);
 * every cJSON_Get* result is type-checked before use.
 */
#include "aws/lambda.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 128

/* ---- release ------------------------------------------------------------- */

static void free_secret_str(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

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
		free_secret_str(c->env[i].value);
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

/* ---- builders --------------------------------------------------------------- */

/* A builder that remembers whether any allocation failed. */
struct jb {
	bool oom;
};

static cJSON *jb_add(struct jb *b, cJSON *obj, const char *key, cJSON *item)
{
	if (!obj || !item) {
		cJSON_Delete(item);
		b->oom = true;
		return NULL;
	}
	if (!cJSON_AddItemToObject(obj, key, item)) { /* takes the item on success only */
		cJSON_Delete(item);
		b->oom = true;
		return NULL;
	}
	return item;
}

static void jb_str(struct jb *b, cJSON *obj, const char *key, const char *val)
{
	if (val)
		jb_add(b, obj, key, cJSON_CreateString(val));
}

static void jb_num(struct jb *b, cJSON *obj, const char *key, double val)
{
	jb_add(b, obj, key, cJSON_CreateNumber(val));
}

static void jb_bool(struct jb *b, cJSON *obj, const char *key, bool val)
{
	jb_add(b, obj, key, cJSON_CreateBool(val));
}

static void jb_arr_str(struct jb *b, cJSON *arr, const char *val)
{
	cJSON *s = cJSON_CreateString(val);

	if (!arr || !s || !cJSON_AddItemToArray(arr, s)) {
		cJSON_Delete(s);
		b->oom = true;
	}
}

/* Print `root` (deleted here) into out. */
static int jb_finish(struct jb *b, cJSON *root, struct buf *out, struct error *err)
{
	char *s = NULL;
	int r = 0;

	if (!root || b->oom) {
		r = error_set(err, -ENOMEM, "out of memory building a request");
		goto out;
	}
	s = cJSON_PrintUnformatted(root);
	if (!s) {
		r = error_set(err, -ENOMEM, "out of memory building a request");
		goto out;
	}
	r = buf_puts(out, s);
	if (r < 0)
		error_set(err, r, "request body too large");
out:
	if (s) {
		OPENSSL_cleanse(s, strlen(s)); /* may hold environment secrets */
		free(s);
	}
	cJSON_Delete(root);
	return r;
}

static int base64_encode(const void *data, size_t len, char **ret, struct error *err)
{
	size_t outlen;
	char *s;

	if (len > LAMBDA_MAX_ZIP_BYTES)
		return error_set(err, -E2BIG, "zip file of %zu bytes is over the %u byte direct-upload limit",
		                 len, LAMBDA_MAX_ZIP_BYTES);
	outlen = 4 * ((len + 2) / 3) + 1;
	s = malloc(outlen);
	if (!s)
		return error_set(err, -ENOMEM, "out of memory encoding the zip file");
	EVP_EncodeBlock((unsigned char *)s, data, (int)len);
	*ret = s;
	return 0;
}

static int code_sources(const struct lambda_code *code)
{
	return (code->zip != NULL) + (code->s3_bucket || code->s3_key) + (code->image_uri != NULL);
}

/* Adds the code fields to obj. */
static int add_code(struct jb *b, cJSON *obj, const struct lambda_code *code, struct error *err)
{
	char *zip = NULL;
	int r;

	if (code_sources(code) != 1)
		return error_set(err, -EINVAL,
		                 "code: exactly one of zip file, S3 object or image URI is required");
	if ((code->s3_bucket || code->s3_key) && !(code->s3_bucket && code->s3_key))
		return error_set(err, -EINVAL, "code: S3 needs both bucket and key");
	if (code->zip) {
		r = base64_encode(code->zip, code->zip_len, &zip, err);
		if (r < 0)
			return r;
		jb_str(b, obj, "ZipFile", zip);
		free(zip);
	}
	jb_str(b, obj, "S3Bucket", code->s3_bucket);
	jb_str(b, obj, "S3Key", code->s3_key);
	if (code->s3_bucket)
		jb_str(b, obj, "S3ObjectVersion", code->s3_object_version);
	jb_str(b, obj, "ImageUri", code->image_uri);
	return 0;
}

static void add_config(struct jb *b, cJSON *obj, const struct lambda_config_input *in)
{
	jb_str(b, obj, "Runtime", in->runtime);
	jb_str(b, obj, "Role", in->role);
	jb_str(b, obj, "Handler", in->handler);
	jb_str(b, obj, "Description", in->description);
	if (in->timeout > 0)
		jb_num(b, obj, "Timeout", in->timeout);
	if (in->memory_size > 0)
		jb_num(b, obj, "MemorySize", in->memory_size);
	if (in->ephemeral_storage > 0) {
		cJSON *e = jb_add(b, obj, "EphemeralStorage", cJSON_CreateObject());

		if (e)
			jb_num(b, e, "Size", in->ephemeral_storage);
	}
	if (in->set_environment) {
		cJSON *e = jb_add(b, obj, "Environment", cJSON_CreateObject());
		cJSON *vars = e ? jb_add(b, e, "Variables", cJSON_CreateObject()) : NULL;

		for (size_t i = 0; vars && i < in->n_env; i++)
			jb_str(b, vars, in->env[i].name, in->env[i].value ? in->env[i].value : "");
	}
	if (in->set_layers) {
		cJSON *l = jb_add(b, obj, "Layers", cJSON_CreateArray());

		for (size_t i = 0; l && i < in->n_layers; i++)
			jb_arr_str(b, l, in->layers[i]);
	}
}

int lambda_create_body(struct buf *out, const struct lambda_create_input *in, struct error *err)
{
	struct jb b = {false};
	cJSON *root;
	int r;

	if (!in->function_name || !*in->function_name)
		return error_set(err, -EINVAL, "CreateFunction: a function name is required");
	if (!in->config.role)
		return error_set(err, -EINVAL, "CreateFunction: a role is required");
	root = cJSON_CreateObject();
	jb_str(&b, root, "FunctionName", in->function_name);
	add_config(&b, root, &in->config);
	if (root) {
		cJSON *code = jb_add(&b, root, "Code", cJSON_CreateObject());

		if (code) {
			r = add_code(&b, code, &in->code, err);
			if (r < 0) {
				cJSON_Delete(root);
				return error_prefix(err, "CreateFunction");
			}
		}
	}
	jb_str(&b, root, "PackageType", in->package_type);
	if (in->architecture) {
		cJSON *a = jb_add(&b, root, "Architectures", cJSON_CreateArray());

		jb_arr_str(&b, a, in->architecture);
	}
	jb_bool(&b, root, "Publish", in->publish);
	return jb_finish(&b, root, out, err);
}

int lambda_code_body(struct buf *out, const struct lambda_code_input *in, struct error *err)
{
	struct jb b = {false};
	cJSON *root = cJSON_CreateObject();
	int r;

	if (root) {
		r = add_code(&b, root, &in->code, err);
		if (r < 0) {
			cJSON_Delete(root);
			return error_prefix(err, "UpdateFunctionCode");
		}
	}
	jb_str(&b, root, "RevisionId", in->revision_id);
	jb_bool(&b, root, "Publish", in->publish);
	return jb_finish(&b, root, out, err);
}

int lambda_config_body(struct buf *out, const struct lambda_config_input *in, struct error *err)
{
	struct jb b = {false};
	cJSON *root = cJSON_CreateObject();

	add_config(&b, root, in);
	jb_str(&b, root, "RevisionId", in->revision_id);
	return jb_finish(&b, root, out, err);
}

int lambda_publish_body(struct buf *out, const char *code_sha256, const char *revision_id,
                        const char *description, struct error *err)
{
	struct jb b = {false};
	cJSON *root;

	if (description && strlen(description) > 256)
		return error_set(err, -EINVAL, "PublishVersion: description longer than 256 characters");
	root = cJSON_CreateObject();
	jb_str(&b, root, "CodeSha256", code_sha256);
	jb_str(&b, root, "RevisionId", revision_id);
	jb_str(&b, root, "Description", description);
	return jb_finish(&b, root, out, err);
}

int lambda_alias_body(struct buf *out, const char *alias_name, const struct lambda_alias_input *in,
                      struct error *err)
{
	const char *op = alias_name ? "CreateAlias" : "UpdateAlias";
	struct jb b = {false};
	cJSON *root, *rc, *w;

	if (alias_name && !in->function_version)
		return error_set(err, -EINVAL, "%s: a function version is required", op);
	if (in->weight_version &&
	    (!*in->weight_version || !isfinite(in->weight) || in->weight < 0 || in->weight > 1))
		return error_set(err, -EINVAL, "%s: weight %g for version %s is not between 0 and 1", op,
		                 in->weight, in->weight_version);
	root = cJSON_CreateObject();
	jb_str(&b, root, "Name", alias_name);
	jb_str(&b, root, "FunctionVersion", in->function_version);
	jb_str(&b, root, "Description", in->description);
	/* always sent: an empty map clears the weights */
	rc = jb_add(&b, root, "RoutingConfig", cJSON_CreateObject());
	w = rc ? jb_add(&b, rc, "AdditionalVersionWeights", cJSON_CreateObject()) : NULL;
	if (w && in->weight_version)
		jb_num(&b, w, in->weight_version, in->weight);
	if (!alias_name)
		jb_str(&b, root, "RevisionId", in->revision_id);
	return jb_finish(&b, root, out, err);
}

/* ---- results as JSON ----------------------------------------------------------- */

cJSON *lambda_function_config_to_json(const struct lambda_function_config *c, bool with_env_values)
{
	struct jb b = {false};
	cJSON *o = cJSON_CreateObject();

	jb_str(&b, o, "FunctionName", c->function_name);
	jb_str(&b, o, "FunctionArn", c->function_arn);
	jb_str(&b, o, "Runtime", c->runtime);
	jb_str(&b, o, "Role", c->role);
	jb_str(&b, o, "Handler", c->handler);
	jb_num(&b, o, "CodeSize", (double)c->code_size);
	jb_str(&b, o, "Description", c->description);
	if (c->timeout)
		jb_num(&b, o, "Timeout", c->timeout);
	if (c->memory_size)
		jb_num(&b, o, "MemorySize", c->memory_size);
	jb_str(&b, o, "LastModified", c->last_modified);
	jb_str(&b, o, "CodeSha256", c->code_sha256);
	jb_str(&b, o, "Version", c->version);
	if (c->has_environment) {
		cJSON *e = jb_add(&b, o, "Environment", cJSON_CreateObject());
		cJSON *vars = e ? jb_add(&b, e, "Variables", cJSON_CreateObject()) : NULL;

		for (size_t i = 0; vars && i < c->n_env; i++)
			jb_str(&b, vars, c->env[i].name, with_env_values ? c->env[i].value : "***");
	}
	jb_str(&b, o, "KMSKeyArn", c->kms_key_arn);
	if (c->tracing_mode) {
		cJSON *t = jb_add(&b, o, "TracingConfig", cJSON_CreateObject());

		jb_str(&b, t, "Mode", c->tracing_mode);
	}
	jb_str(&b, o, "MasterArn", c->master_arn);
	jb_str(&b, o, "RevisionId", c->revision_id);
	if (c->n_layers) {
		cJSON *l = jb_add(&b, o, "Layers", cJSON_CreateArray());

		for (size_t i = 0; l && i < c->n_layers; i++) {
			cJSON *x = cJSON_CreateObject();

			jb_str(&b, x, "Arn", c->layers[i].arn);
			jb_num(&b, x, "CodeSize", (double)c->layers[i].code_size);
			if (!x || !cJSON_AddItemToArray(l, x)) {
				cJSON_Delete(x);
				b.oom = true;
			}
		}
	}
	jb_str(&b, o, "State", c->state);
	jb_str(&b, o, "StateReason", c->state_reason);
	jb_str(&b, o, "StateReasonCode", c->state_reason_code);
	jb_str(&b, o, "LastUpdateStatus", c->last_update_status);
	jb_str(&b, o, "LastUpdateStatusReason", c->last_update_status_reason);
	jb_str(&b, o, "LastUpdateStatusReasonCode", c->last_update_status_reason_code);
	jb_str(&b, o, "PackageType", c->package_type);
	if (c->n_architectures) {
		cJSON *a = jb_add(&b, o, "Architectures", cJSON_CreateArray());

		for (size_t i = 0; a && i < c->n_architectures; i++)
			jb_arr_str(&b, a, c->architectures[i]);
	}
	if (c->ephemeral_storage) {
		cJSON *e = jb_add(&b, o, "EphemeralStorage", cJSON_CreateObject());

		jb_num(&b, e, "Size", c->ephemeral_storage);
	}
	if (b.oom) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *lambda_function_to_json(const struct lambda_function *f, bool with_env_values)
{
	struct jb b = {false};
	cJSON *o = cJSON_CreateObject(), *code;

	jb_add(&b, o, "Configuration", lambda_function_config_to_json(&f->config, with_env_values));
	code = jb_add(&b, o, "Code", cJSON_CreateObject());
	jb_str(&b, code, "RepositoryType", f->code_repository_type);
	jb_str(&b, code, "Location", f->code_location);
	jb_str(&b, code, "ImageUri", f->image_uri);
	jb_str(&b, code, "ResolvedImageUri", f->resolved_image_uri);
	if (b.oom) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *lambda_alias_to_json(const struct lambda_alias *a)
{
	struct jb b = {false};
	cJSON *o = cJSON_CreateObject(), *rc, *w;

	jb_str(&b, o, "AliasArn", a->alias_arn);
	jb_str(&b, o, "Name", a->name);
	jb_str(&b, o, "FunctionVersion", a->function_version);
	jb_str(&b, o, "Description", a->description);
	jb_str(&b, o, "RevisionId", a->revision_id);
	rc = jb_add(&b, o, "RoutingConfig", cJSON_CreateObject());
	w = rc ? jb_add(&b, rc, "AdditionalVersionWeights", cJSON_CreateObject()) : NULL;
	for (size_t i = 0; w && i < a->n_weights; i++)
		jb_num(&b, w, a->weights[i].version, a->weights[i].weight);
	if (b.oom) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

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
	struct buf body = BUF_INIT; /* environment values: wiped */
	struct error e = ERROR_INIT;
	struct aws_request req = {
	    .operation = "CreateFunction",
	    .method = "POST",
	    .segments = {"functions"},
	    .n_segments = 1,
	    .quota = AWS_QUOTA_CONTROL,
	};
	int r;

	r = set_body(&req, &body, lambda_create_body(&body, in, &e), &e, err);
	if (r >= 0)
		r = call(c, &req, answer_config, ret, err);
	buf_release_secret(&body);
	return r;
}

int lambda_function_code_update(struct aws_client *c, const char *fn, const struct lambda_code_input *in,
                                struct lambda_function_config *ret, struct aws_error *err)
{
	struct buf body = BUF_INIT;
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
		r = set_body(&req, &body, lambda_code_body(&body, in, &e), &e, err);
	if (r >= 0)
		r = call(c, &req, answer_config, ret, err);
	buf_release(&body);
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
                      void *list, unsigned *pages, struct aws_error *aerr)
{
	struct markers seen = {0};
	struct buf body = BUF_INIT;
	struct error e = ERROR_INIT;
	const char *marker = NULL;
	int r = 0;

	for (;;) {
		char *next = NULL;

		if (*pages >= LAMBDA_MAX_PAGES) {
			r = aws_error_set(aerr, -E2BIG, req->operation, "%s: more than %d pages",
			                  req->operation, LAMBDA_MAX_PAGES);
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
static int list_configs(struct aws_client *c, struct aws_request *req, const char *key,
                        struct lambda_config_list *ret, struct aws_error *aerr)
{
	struct lambda_config_list list = {0};
	int r = call_pages(c, req, page_configs, key, &list, &list.pages, aerr);

	if (r < 0) {
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

	return r < 0 ? r : list_configs(c, &req, "Versions", ret, err);
}

int lambda_functions_list(struct aws_client *c, bool all_versions, struct lambda_config_list *ret,
                          struct aws_error *err)
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

	return list_configs(c, &req, "Functions", ret, err);
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
	r = call_pages(c, &req, page_aliases, NULL, &list, &list.pages, err);
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
