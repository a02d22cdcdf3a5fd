/*
 * aws_lambda_call - run one Lambda operation through aws/lambda and print the
 * typed result back as JSON (for the integration tests).
 *
 *   aws_lambda_call [--control-rate N] [--get-rate N] [--min-rate N] OPERATION 'JSON ARGS'
 *   aws_lambda_call --threads T --repeat N [rates] GetFunction|ListVersionsByFunction|ListAliases 'JSON'
 *
 * OPERATION is the AWS name (GetFunction, ListVersionsByFunction, ...); the
 * arguments use the AWS request field names (FunctionName, Qualifier, Name,
 * FunctionVersion, RoutingConfig, RevisionId, ZipFile as base64, ...).
 * Invoke: FunctionName, Qualifier, Payload (a string is sent as is, any
 * other JSON value as its JSON text), TimeoutMs; the result is
 * {"StatusCode", "FunctionError", "ExecutedVersion", "Payload", "PayloadTruncated"}.
 * Success: exit 0, stdout {"Result": ..., "Stats": {...}}.  Failure: exit 1,
 * stdout {"Error": {"Errno", "Status", "Code", "Message", "Text", "Attempts"}}.
 * Endpoint, region and credentials come from the environment.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/lambda.h"

static const char *str(const cJSON *args, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int num(const cJSON *args, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	return cJSON_IsNumber(v) ? v->valueint : 0;
}

static unsigned char *zip_decode(const char *b64, size_t *ret_len)
{
	size_t n = strlen(b64);
	unsigned char *out = malloc(n / 4 * 3 + 4);
	int len;

	if (!out)
		return NULL;
	len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	while (n > 0 && b64[n - 1] == '=') { /* EVP_DecodeBlock keeps the padding bytes */
		len--;
		n--;
	}
	*ret_len = (size_t)len;
	return out;
}

/* Code fields from obj (the args or args.Code). The zip buffer is returned for freeing. */
static void code_from(const cJSON *obj, struct lambda_code *code, unsigned char **zip)
{
	const char *z = str(obj, "ZipFile");

	memset(code, 0, sizeof(*code));
	if (z) {
		*zip = zip_decode(z, &code->zip_len);
		code->zip = *zip;
	}
	code->s3_bucket = str(obj, "S3Bucket");
	code->s3_key = str(obj, "S3Key");
	code->s3_object_version = str(obj, "S3ObjectVersion");
	code->image_uri = str(obj, "ImageUri");
}

#define MAX_ENV 64
struct config_storage {
	struct lambda_env_input env[MAX_ENV];
	const char *layers[16];
};

static void config_from(const cJSON *args, struct lambda_config_input *c, struct config_storage *st)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(args, "Environment");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(args, "Layers");

	memset(c, 0, sizeof(*c));
	c->runtime = str(args, "Runtime");
	c->role = str(args, "Role");
	c->handler = str(args, "Handler");
	c->description = str(args, "Description");
	c->timeout = num(args, "Timeout");
	c->memory_size = num(args, "MemorySize");
	c->revision_id = str(args, "RevisionId");
	if (cJSON_IsObject(env)) {
		const cJSON *vars = cJSON_GetObjectItemCaseSensitive(env, "Variables");

		c->set_environment = true;
		c->env = st->env;
		for (const cJSON *v = vars ? vars->child : NULL; v && c->n_env < MAX_ENV; v = v->next) {
			st->env[c->n_env].name = v->string;
			st->env[c->n_env].value = cJSON_IsString(v) ? v->valuestring : "";
			c->n_env++;
		}
	}
	if (cJSON_IsArray(layers)) {
		c->set_layers = true;
		c->layers = st->layers;
		for (const cJSON *v = layers->child; v && c->n_layers < 16; v = v->next)
			if (cJSON_IsString(v))
				st->layers[c->n_layers++] = v->valuestring;
	}
}

static void alias_from(const cJSON *args, struct lambda_alias_input *in)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(args, "RoutingConfig");
	const cJSON *w = rc ? cJSON_GetObjectItemCaseSensitive(rc, "AdditionalVersionWeights") : NULL;

	memset(in, 0, sizeof(*in));
	in->function_version = str(args, "FunctionVersion");
	in->description = str(args, "Description");
	in->revision_id = str(args, "RevisionId");
	if (w && w->child && cJSON_IsNumber(w->child)) {
		in->weight_version = w->child->string;
		in->weight = w->child->valuedouble;
	}
}

static cJSON *config_list_json(const struct lambda_config_list *l, const char *key)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, key);

	for (size_t i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, lambda_function_config_to_json(&l->items[i], true));
	cJSON_AddNumberToObject(o, "Pages", l->pages);
	return o;
}

static void print_json(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	printf("%s\n", s ? s : "null");
	free(s);
	cJSON_Delete(o);
}

/* --threads T --repeat N: T threads share one client and each run a read operation N times. */
struct load_arg {
	struct aws_client *c;
	const char *op, *fn;
	int repeat;
	int failures;
	char first_error[ERROR_MSG_MAX];
};

static void *load_worker(void *p)
{
	struct load_arg *a = p;

	for (int k = 0; k < a->repeat; k++) {
		struct aws_error e = AWS_ERROR_INIT;
		int r;

		if (!strcmp(a->op, "GetFunction")) {
			struct lambda_function f;

			r = lambda_function_get(a->c, a->fn, NULL, &f, &e);
			if (r >= 0)
				lambda_function_release(&f);
		} else if (!strcmp(a->op, "ListVersionsByFunction")) {
			struct lambda_config_list l;

			r = lambda_versions_list(a->c, a->fn, &l, &e);
			if (r >= 0)
				lambda_config_list_release(&l);
		} else {
			struct lambda_alias_list l;

			r = lambda_aliases_list(a->c, a->fn, NULL, &l, &e);
			if (r >= 0)
				lambda_alias_list_release(&l);
		}
		if (r < 0 && a->failures++ == 0)
			snprintf(a->first_error, sizeof(a->first_error), "%s", e.err.msg);
	}
	return NULL;
}

static int run_load(struct aws_client *c, const char *op, const char *fn, int threads, int repeat)
{
	struct load_arg args[64];
	pthread_t t[64];
	struct timespec t0, t1;
	int failures = 0;
	cJSON *out = cJSON_CreateObject(), *res = cJSON_AddObjectToObject(out, "Result");

	if (threads > 64)
		threads = 64;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < threads; k++) {
		args[k] = (struct load_arg){c, op, fn, repeat, 0, ""};
		if (pthread_create(&t[k], NULL, load_worker, &args[k]))
			return 1;
	}
	for (int k = 0; k < threads; k++) {
		pthread_join(t[k], NULL);
		failures += args[k].failures;
		if (args[k].failures)
			fprintf(stderr, "aws_lambda_call: %s\n", args[k].first_error);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cJSON_AddNumberToObject(res, "Calls", threads * repeat);
	cJSON_AddNumberToObject(res, "Failures", failures);
	cJSON_AddNumberToObject(res, "Seconds",
	                        (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	cJSON_AddNumberToObject(res, "Retries", (double)aws_client_retries(c));
	print_json(out);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	int threads = 0, repeat = 1;
	struct aws_client_options opt = {0};
	struct aws_client *c = NULL;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct error err = ERROR_INIT;
	struct config_storage st;
	unsigned char *zip = NULL;
	cJSON *args = NULL, *result = NULL, *out;
	const char *op, *fn;
	int i = 1, r;

	while (i + 1 < argc && !strncmp(argv[i], "--", 2)) {
		if (!strcmp(argv[i], "--control-rate"))
			opt.control_rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--get-rate"))
			opt.get_function_rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--min-rate"))
			opt.min_rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--repeat"))
			repeat = atoi(argv[i + 1]);
		else
			break;
		i += 2;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: aws_lambda_call [--control-rate N] [--get-rate N] [--min-rate N] "
		                "OPERATION JSON\n");
		return 2;
	}
	op = argv[i];
	args = cJSON_Parse(argv[i + 1]);
	if (!cJSON_IsObject(args)) {
		fprintf(stderr, "aws_lambda_call: arguments are not a JSON object\n");
		cJSON_Delete(args);
		return 2;
	}
	fn = str(args, "FunctionName");
	r = aws_client_new(&c, &opt, &err);
	if (r < 0) {
		aws_error_set(&aerr, r, op, "%s", err.msg);
		goto out;
	}
	if (threads > 0) {
		r = run_load(c, op, fn, threads, repeat);
		cJSON_Delete(args);
		aws_client_free(c);
		return r;
	}

	if (!strcmp(op, "GetFunction")) {
		struct lambda_function f;

		r = lambda_function_get(c, fn, str(args, "Qualifier"), &f, &aerr);
		if (r >= 0) {
			result = lambda_function_to_json(&f, true);
			lambda_function_release(&f);
		}
	} else if (!strcmp(op, "GetFunctionConfiguration") || !strcmp(op, "CreateFunction") ||
	           !strcmp(op, "UpdateFunctionCode") || !strcmp(op, "UpdateFunctionConfiguration") ||
	           !strcmp(op, "PublishVersion")) {
		struct lambda_function_config cfg;

		if (!strcmp(op, "GetFunctionConfiguration")) {
			r = lambda_function_config_get(c, fn, str(args, "Qualifier"), &cfg, &aerr);
		} else if (!strcmp(op, "CreateFunction")) {
			struct lambda_create_input in = {0};
			const cJSON *code = cJSON_GetObjectItemCaseSensitive(args, "Code");
			const cJSON *arch = cJSON_GetObjectItemCaseSensitive(args, "Architectures");

			in.function_name = fn;
			config_from(args, &in.config, &st);
			in.config.revision_id = NULL;
			code_from(code ? code : args, &in.code, &zip);
			in.package_type = str(args, "PackageType");
			if (cJSON_IsArray(arch) && cJSON_IsString(arch->child))
				in.architecture = arch->child->valuestring;
			in.publish = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "Publish"));
			r = lambda_function_create(c, &in, &cfg, &aerr);
		} else if (!strcmp(op, "UpdateFunctionCode")) {
			struct lambda_code_input in = {0};

			code_from(args, &in.code, &zip);
			in.revision_id = str(args, "RevisionId");
			in.publish = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "Publish"));
			r = lambda_function_code_update(c, fn, &in, &cfg, &aerr);
		} else if (!strcmp(op, "UpdateFunctionConfiguration")) {
			struct lambda_config_input in;

			config_from(args, &in, &st);
			r = lambda_function_config_update(c, fn, &in, &cfg, &aerr);
		} else {
			r = lambda_version_publish(c, fn, str(args, "CodeSha256"), str(args, "RevisionId"),
			                           str(args, "Description"), &cfg, &aerr);
		}
		if (r >= 0) {
			result = lambda_function_config_to_json(&cfg, true);
			lambda_function_config_release(&cfg);
		}
	} else if (!strcmp(op, "ListVersionsByFunction") || !strcmp(op, "ListFunctions")) {
		struct lambda_config_list l;
		bool versions = !strcmp(op, "ListVersionsByFunction");
		const char *fv = str(args, "FunctionVersion");

		r = versions ? lambda_versions_list(c, fn, &l, &aerr)
		             : lambda_functions_list(c, fv && !strcmp(fv, "ALL"), &l, &aerr);
		if (r >= 0) {
			result = config_list_json(&l, versions ? "Versions" : "Functions");
			lambda_config_list_release(&l);
		}
	} else if (!strcmp(op, "CreateAlias") || !strcmp(op, "GetAlias") || !strcmp(op, "UpdateAlias")) {
		struct lambda_alias a;
		struct lambda_alias_input in;

		alias_from(args, &in);
		if (!strcmp(op, "CreateAlias"))
			r = lambda_alias_create(c, fn, str(args, "Name"), &in, &a, &aerr);
		else if (!strcmp(op, "UpdateAlias"))
			r = lambda_alias_update(c, fn, str(args, "Name"), &in, &a, &aerr);
		else
			r = lambda_alias_get(c, fn, str(args, "Name"), &a, &aerr);
		if (r >= 0) {
			result = lambda_alias_to_json(&a);
			lambda_alias_release(&a);
		}
	} else if (!strcmp(op, "ListAliases")) {
		struct lambda_alias_list l;

		r = lambda_aliases_list(c, fn, str(args, "FunctionVersion"), &l, &aerr);
		if (r >= 0) {
			cJSON *a;

			result = cJSON_CreateObject();
			a = cJSON_AddArrayToObject(result, "Aliases");
			for (size_t k = 0; k < l.n; k++)
				cJSON_AddItemToArray(a, lambda_alias_to_json(&l.items[k]));
			cJSON_AddNumberToObject(result, "Pages", l.pages);
			lambda_alias_list_release(&l);
		}
	} else if (!strcmp(op, "DeleteAlias")) {
		r = lambda_alias_delete(c, fn, str(args, "Name"), &aerr);
		if (r >= 0)
			result = cJSON_CreateObject();
	} else if (!strcmp(op, "Invoke")) {
		struct lambda_invoke_result ir;
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(args, "Payload");
		char *payload = NULL;

		/* Payload: a string is sent as is (it may be no JSON at all), anything else as its JSON */
		if (pl && !cJSON_IsString(pl))
			payload = cJSON_PrintUnformatted(pl);
		r = lambda_invoke(c, fn, str(args, "Qualifier"),
		                  cJSON_IsString(pl) ? pl->valuestring : payload,
		                  (unsigned)num(args, "TimeoutMs"), &ir, &aerr);
		free(payload);
		if (r >= 0) {
			result = lambda_invoke_result_to_json(&ir);
			lambda_invoke_result_release(&ir);
		}
	} else if (!strcmp(op, "DeleteFunction")) {
		r = lambda_function_delete(c, fn, str(args, "Qualifier"), &aerr);
		if (r >= 0)
			result = cJSON_CreateObject();
	} else {
		fprintf(stderr, "aws_lambda_call: unknown operation %s\n", op);
		r = -EINVAL;
		aws_error_set(&aerr, r, op, "unknown operation %s", op);
	}
out:
	out = cJSON_CreateObject();
	if (r >= 0) {
		cJSON *stats = cJSON_CreateObject();

		cJSON_AddItemToObject(out, "Result", result ? result : cJSON_CreateNull());
		cJSON_AddNumberToObject(stats, "Retries", (double)aws_client_retries(c));
		cJSON_AddNumberToObject(stats, "Throttles", (double)aws_client_throttles(c));
		cJSON_AddNumberToObject(stats, "Attempts", aerr.attempts);
		cJSON_AddItemToObject(out, "Stats", stats);
	} else {
		cJSON *e = cJSON_AddObjectToObject(out, "Error");

		cJSON_AddNumberToObject(e, "Errno", -r);
		cJSON_AddNumberToObject(e, "Status", (double)aerr.status);
		cJSON_AddStringToObject(e, "Code", aerr.code);
		cJSON_AddStringToObject(e, "Message", aerr.message);
		cJSON_AddStringToObject(e, "Text", aerr.err.msg);
		cJSON_AddNumberToObject(e, "Attempts", aerr.attempts);
		cJSON_AddStringToObject(e, "Kind", error_kind_name(aerr.err.kind));
		cJSON_AddNumberToObject(e, "Retries", c ? (double)aws_client_retries(c) : 0);
		fprintf(stderr, "aws_lambda_call: %s\n", aerr.err.msg);
	}
	print_json(out);
	free(zip);
	cJSON_Delete(args);
	aws_client_free(c);
	return r >= 0 ? 0 : 1;
}
