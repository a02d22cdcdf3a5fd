/*
 * lambda_body.c - request bodies for Lambda (cJSON builders) and the typed
 * results back as JSON (see lambda.h and lambda_wire.h).
 *
 * cJSON ownership: cJSON_AddItemToObject / cJSON_AddItemToArray take the
 * item (on failure we delete it ourselves).
 */
#include "aws/lambda_wire.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/secret.h"
#include "util/codec.h"

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

/* Print `root` (deleted here) into a malloc'ed string; NULL on out of memory. */
static char *jb_print(struct jb *b, cJSON *root)
{
	char *s = root && !b->oom ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	return s;
}

/* Print `root` (deleted here) into out. */
static int jb_finish(struct jb *b, cJSON *root, struct buf *out, struct error *err)
{
	char *s = jb_print(b, root);
	int r;

	if (!s)
		return error_set(err, -ENOMEM, "out of memory building a request");
	r = buf_puts(out, s);
	if (r < 0)
		error_set(err, r, "request body too large");
	secret_free_str(s);
	return r;
}

/*
 * Where the zip file goes: a raw JSON item printed as `"<0x01>"`.  cJSON
 * escapes a 0x01 byte in every string and key ("\u0001"), so the one raw
 * 0x01 in the printed body is this placeholder's.
 */
#define ZIP_MARK     '\x01'
#define ZIP_MARK_RAW "\"\x01\""

static int code_sources(const struct lambda_code *code)
{
	return (code->zip != NULL) + (code->s3_bucket || code->s3_key) + (code->image_uri != NULL);
}

/* Adds the code fields to obj; a zip file as the placeholder. */
static int add_code(struct jb *b, cJSON *obj, const struct lambda_code *code, struct error *err)
{
	if (code_sources(code) != 1)
		return error_set(err, -EINVAL,
		                 "code: exactly one of zip file, S3 object or image URI is required");
	if ((code->s3_bucket || code->s3_key) && !(code->s3_bucket && code->s3_key))
		return error_set(err, -EINVAL, "code: S3 needs both bucket and key");
	if (code->zip) {
		if (code->zip_len > LAMBDA_MAX_ZIP_BYTES)
			return error_set(err, -E2BIG,
			                 "zip file of %zu bytes is over the %u byte direct-upload limit",
			                 code->zip_len, LAMBDA_MAX_ZIP_BYTES);
		jb_add(b, obj, "ZipFile", cJSON_CreateRaw(ZIP_MARK_RAW));
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

/* The CreateFunction tree, zip file as the placeholder. */
static int create_tree(struct jb *b, const struct lambda_create_input *in, cJSON **ret, struct error *err)
{
	cJSON *root;
	int r;

	if (!in->function_name || !*in->function_name)
		return error_set(err, -EINVAL, "CreateFunction: a function name is required");
	if (!in->config.role)
		return error_set(err, -EINVAL, "CreateFunction: a role is required");
	root = cJSON_CreateObject();
	jb_str(b, root, "FunctionName", in->function_name);
	add_config(b, root, &in->config);
	if (root) {
		cJSON *code = jb_add(b, root, "Code", cJSON_CreateObject());

		if (code) {
			r = add_code(b, code, &in->code, err);
			if (r < 0) {
				cJSON_Delete(root);
				return error_prefix(err, "CreateFunction");
			}
		}
	}
	jb_str(b, root, "PackageType", in->package_type);
	if (in->architecture) {
		cJSON *a = jb_add(b, root, "Architectures", cJSON_CreateArray());

		jb_arr_str(b, a, in->architecture);
	}
	jb_bool(b, root, "Publish", in->publish);
	*ret = root;
	return 0;
}

/* The UpdateFunctionCode tree, zip file as the placeholder. */
static int code_tree(struct jb *b, const struct lambda_code_input *in, cJSON **ret, struct error *err)
{
	cJSON *root = cJSON_CreateObject();
	int r;

	if (root) {
		r = add_code(b, root, &in->code, err);
		if (r < 0) {
			cJSON_Delete(root);
			return error_prefix(err, "UpdateFunctionCode");
		}
	}
	jb_str(b, root, "RevisionId", in->revision_id);
	jb_bool(b, root, "Publish", in->publish);
	*ret = root;
	return 0;
}

/* ---- streamed bodies --------------------------------------------------------- */

#define B64_IN_CHUNK (3 * 1024) /* zip bytes encoded at a time */
#define SHA_CHUNK    (64 * 1024)

size_t lambda_body_stream_read(struct lambda_body_stream *s, char *out, size_t n)
{
	unsigned char enc[B64_IN_CHUNK / 3 * 4 + 1];
	size_t done = 0;

	while (done < n) {
		size_t pos = s->pos, k;

		if (pos < s->head.len) {
			k = s->head.len - pos;
			k = k < n - done ? k : n - done;
			memcpy(out + done, s->head.ptr + pos, k);
		} else if (pos - s->head.len < s->b64_len) {
			size_t off = pos - s->head.len, start = off / 4 * 3, skip = off % 4;
			size_t in_len = s->zip_len - start < B64_IN_CHUNK ? s->zip_len - start : B64_IN_CHUNK;
			size_t enc_len = (size_t)EVP_EncodeBlock(enc, s->zip + start, (int)in_len);

			k = enc_len - skip < n - done ? enc_len - skip : n - done;
			memcpy(out + done, enc + skip, k);
		} else if (pos - s->head.len - s->b64_len < s->tail.len) {
			size_t off = pos - s->head.len - s->b64_len;

			k = s->tail.len - off;
			k = k < n - done ? k : n - done;
			memcpy(out + done, s->tail.ptr + off, k);
		} else {
			break;
		}
		s->pos += k;
		done += k;
	}
	return done;
}

static long stream_read(void *ctx, char *buf, size_t n)
{
	return (long)lambda_body_stream_read(ctx, buf, n);
}

static int stream_rewind(void *ctx)
{
	struct lambda_body_stream *s = ctx;

	s->pos = 0;
	return 0;
}

void lambda_body_stream_release(struct lambda_body_stream *s)
{
	if (!s)
		return;
	buf_release_secret(&s->head);
	buf_release_secret(&s->tail);
	memset(s, 0, sizeof(*s));
	s->head = (struct buf)BUF_INIT;
	s->tail = (struct buf)BUF_INIT;
}

/* Split the printed `root` (deleted here) at the placeholder; then hash the whole body. */
static int stream_finish(struct jb *b, cJSON *root, const struct lambda_code *code, const char *op,
                         struct lambda_body_stream *s, struct error *err)
{
	struct lambda_body_stream st = {.head = BUF_INIT, .tail = BUF_INIT};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	char *printed = jb_print(b, root), *mark;
	char *chunk = NULL;
	size_t got;
	int r;

	buf_mark_secret(&st.head);
	buf_mark_secret(&st.tail);
	if (!printed)
		goto oom;
	mark = code->zip ? strchr(printed, ZIP_MARK) : NULL;
	if (code->zip && !mark) {
		r = error_set(err, -EBADMSG, "%s: the zip file's place is missing from the body", op);
		goto out;
	}
	r = buf_put(&st.head, printed, mark ? (size_t)(mark - printed) : strlen(printed));
	if (r >= 0 && mark)
		r = buf_puts(&st.tail, mark + 1);
	if (r < 0)
		goto oom;
	if (code->zip) {
		st.zip = code->zip;
		st.zip_len = code->zip_len;
		st.b64_len = (code->zip_len + 2) / 3 * 4;
	}
	st.len = st.head.len + st.b64_len + st.tail.len;

	ctx = EVP_MD_CTX_new();
	chunk = malloc(SHA_CHUNK);
	if (!ctx || !chunk || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto oom;
	while ((got = lambda_body_stream_read(&st, chunk, SHA_CHUNK)) > 0)
		if (EVP_DigestUpdate(ctx, chunk, got) != 1)
			goto oom;
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto oom;
	codec_hex_encode(st.sha256_hex, md, mdlen);
	st.pos = 0;
	*s = st;
	s->reader = (struct http_body_reader){s->len, stream_read, stream_rewind, s};
	st = (struct lambda_body_stream){.head = BUF_INIT, .tail = BUF_INIT};
	r = 0;
	goto out;
oom:
	r = error_set(err, -ENOMEM, "%s: out of memory building a request", op);
out:
	if (chunk) {
		secret_wipe(chunk, SHA_CHUNK);
		free(chunk);
	}
	EVP_MD_CTX_free(ctx);
	secret_free_str(printed);
	lambda_body_stream_release(&st);
	return r;
}

int lambda_create_body_stream(struct lambda_body_stream *ret, const struct lambda_create_input *in,
                              struct error *err)
{
	struct jb b = {false};
	cJSON *root = NULL;
	int r = create_tree(&b, in, &root, err);

	return r < 0 ? r : stream_finish(&b, root, &in->code, "CreateFunction", ret, err);
}

int lambda_code_body_stream(struct lambda_body_stream *ret, const struct lambda_code_input *in,
                            struct error *err)
{
	struct jb b = {false};
	cJSON *root = NULL;
	int r = code_tree(&b, in, &root, err);

	return r < 0 ? r : stream_finish(&b, root, &in->code, "UpdateFunctionCode", ret, err);
}

/* The whole body of a stream, appended to out. */
static int stream_drain(struct lambda_body_stream *s, struct buf *out, struct error *err)
{
	size_t start = out->len, got;
	int r;

	r = buf_grow(out, s->len);
	while (r >= 0 && (got = lambda_body_stream_read(s, out->ptr + out->len, s->len - (out->len - start))))
		out->len += got;
	if (r >= 0 && out->len - start != s->len)
		r = -EBADMSG;
	if (r < 0) {
		buf_truncate(out, start);
		return error_set(err, r, "request body too large");
	}
	out->ptr[out->len] = '\0';
	return 0;
}

int lambda_create_body(struct buf *out, const struct lambda_create_input *in, struct error *err)
{
	struct lambda_body_stream s = {.head = BUF_INIT, .tail = BUF_INIT};
	int r = lambda_create_body_stream(&s, in, err);

	if (r >= 0)
		r = stream_drain(&s, out, err);
	lambda_body_stream_release(&s);
	return r;
}

int lambda_code_body(struct buf *out, const struct lambda_code_input *in, struct error *err)
{
	struct lambda_body_stream s = {.head = BUF_INIT, .tail = BUF_INIT};
	int r = lambda_code_body_stream(&s, in, err);

	if (r >= 0)
		r = stream_drain(&s, out, err);
	lambda_body_stream_release(&s);
	return r;
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
