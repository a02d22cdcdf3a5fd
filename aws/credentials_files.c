/*
 * credentials_files.c - ~/.aws/credentials and ~/.aws/config: the region, and
 * the profile source (static keys, role_arn + source_profile /
 * credential_source / web_identity_token_file, credential_process).
 */
#include "aws/credentials_chain.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- shared files -------------------------------------------------------- */

static int home_path(char **ret, const char *rel)
{
	const char *home = cred_env("HOME");
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (!home) {
		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) || !res || !res->pw_dir)
			return -ENOENT;
		home = res->pw_dir;
	}
	return asprintf(ret, "%s/%s", home, rel) < 0 ? -ENOMEM : 0;
}

static int expand_tilde(char **ret, const char *path)
{
	if (path[0] == '~' && (path[1] == '/' || !path[1]))
		return home_path(ret, path[1] ? path + 2 : "");
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

/* Load one shared file; a missing file is an empty one. */
static int ini_load(struct aws_ini **ret, const char *path, struct error *err)
{
	struct buf b = BUF_INIT;
	int r;

	buf_mark_secret(&b);
	r = cred_file_read(path, AWS_CREDENTIALS_FILE_MAX, &b, err);
	if (r == -ENOENT || r == -ENOTDIR) {
		error_clear(err);
		r = aws_ini_parse(ret, "", 0, path, err);
	} else if (r >= 0) {
		r = aws_ini_parse(ret, b.ptr, b.len, path, err);
	}
	buf_release_secret(&b);
	return r;
}

static int files_paths(char **ret_cred, char **ret_conf)
{
	const char *c = cred_env("AWS_SHARED_CREDENTIALS_FILE"), *f = cred_env("AWS_CONFIG_FILE");
	int r;

	r = c ? expand_tilde(ret_cred, c) : home_path(ret_cred, ".aws/credentials");
	if (r < 0)
		return r;
	r = f ? expand_tilde(ret_conf, f) : home_path(ret_conf, ".aws/config");
	if (r < 0) {
		free(*ret_cred);
		*ret_cred = NULL;
	}
	return r;
}

static int chain_load_files(struct chain *ch, struct error *err)
{
	int r;

	if (ch->files_loaded)
		return 0;
	r = files_paths(&ch->cred_path, &ch->conf_path);
	if (r < 0)
		return error_set(err, r, "cannot locate ~/.aws: HOME not set");
	r = ini_load(&ch->cred_ini, ch->cred_path, err);
	if (r >= 0)
		r = ini_load(&ch->conf_ini, ch->conf_path, err);
	if (r >= 0)
		ch->files_loaded = true;
	return r;
}

/* A profile's key: the credentials file first, then the config file. */
static const char *profile_get(const struct chain *ch, const char *profile, const char *key)
{
	char sect[300];
	const char *v = aws_ini_get(ch->cred_ini, profile, key);

	if (v)
		return v;
	snprintf(sect, sizeof(sect), "profile %s", profile);
	v = aws_ini_get(ch->conf_ini, sect, key);
	if (!v && !strcmp(profile, "default"))
		v = aws_ini_get(ch->conf_ini, "default", key);
	return v;
}

static bool profile_exists(const struct chain *ch, const char *profile)
{
	char sect[300];

	snprintf(sect, sizeof(sect), "profile %s", profile);
	return aws_ini_has_section(ch->cred_ini, profile) || aws_ini_has_section(ch->conf_ini, sect) ||
	       (!strcmp(profile, "default") && aws_ini_has_section(ch->conf_ini, "default"));
}

const char *cred_profile_region(const struct chain *ch, const char *profile)
{
	char sect[300];
	const char *v;

	snprintf(sect, sizeof(sect), "profile %s", profile);
	v = aws_ini_get(ch->conf_ini, sect, "region");
	if (!v && !strcmp(profile, "default"))
		v = aws_ini_get(ch->conf_ini, "default", "region");
	return v && *v ? v : NULL;
}

int aws_region_resolve(const char *profile, char **ret_region, struct error *err)
{
	struct chain ch = {0};
	const char *v = cred_env("AWS_REGION");
	char *s;
	int r;

	if (!v)
		v = cred_env("AWS_DEFAULT_REGION");
	if (v) {
		s = strdup(v);
		if (!s)
			return error_set(err, -ENOMEM, "out of memory");
		*ret_region = s;
		return 0;
	}
	if (!profile)
		profile = cred_env("AWS_PROFILE");
	if (!profile)
		profile = "default";
	r = chain_load_files(&ch, err);
	if (r >= 0) {
		v = cred_profile_region(&ch, profile);
		if (!v) {
			r = error_set(err, -ENOENT,
			              "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, or region in "
			              "profile %s of %s",
			              profile, ch.conf_path);
		} else if (!(s = strdup(v))) {
			r = error_set(err, -ENOMEM, "out of memory");
		} else {
			*ret_region = s;
		}
	}
	aws_ini_free(ch.cred_ini);
	aws_ini_free(ch.conf_ini);
	free(ch.cred_path);
	free(ch.conf_path);
	return r;
}

/* ---- profiles ------------------------------------------------------------ */

static int profile_resolve(struct chain *ch, const char *name, const char **visited, int depth,
                           struct aws_credentials *ret, struct error *err);

static int profile_static(struct chain *ch, const char *name, struct aws_credentials *ret, struct error *err)
{
	const char *akid = profile_get(ch, name, "aws_access_key_id"),
	           *secret = profile_get(ch, name, "aws_secret_access_key"),
	           *token = profile_get(ch, name, "aws_session_token");
	char what[300], src[64];
	int r;

	snprintf(what, sizeof(what), "profile %s", name);
	if (!akid || !*akid)
		return error_set(err, -EINVAL, "%s: aws_access_key_id missing (aws_secret_access_key is set)",
		                 what);
	if (!secret || !*secret)
		return error_set(err, -EINVAL, "%s: aws_secret_access_key missing (aws_access_key_id is set)",
		                 what);
	r = cred_check(akid, secret, token && *token ? token : NULL, what, err);
	if (r < 0)
		return r;
	snprintf(src, sizeof(src), "profile:%s", name);
	r = cred_make(ret, akid, secret, token, 0, src);
	return r < 0 ? error_set(err, r, "out of memory") : 0;
}

static int profile_assume_role(struct chain *ch, const char *name, const char *role_arn, const char **visited,
                               int depth, struct aws_credentials *ret, struct error *err)
{
	const char *source = profile_get(ch, name, "source_profile"),
	           *csrc = profile_get(ch, name, "credential_source"),
	           *wif = profile_get(ch, name, "web_identity_token_file"),
	           *session = profile_get(ch, name, "role_session_name"),
	           *external = profile_get(ch, name, "external_id"),
	           *duration = profile_get(ch, name, "duration_seconds");
	const char *region = cred_chain_region(ch, name);
	struct aws_credentials base = {0};
	struct buf form = BUF_INIT;
	char what[300], sess[64];
	int r;

	snprintf(what, sizeof(what), "profile %s", name);
	if (wif && *wif && !(source && *source))
		return cred_web_identity(ch, wif, role_arn, session, region, what, ret, err);
	if (source && *source) {
		if (!strcmp(source, name)) {
			/* a profile that is its own source: its static keys sign the AssumeRole */
			r = profile_static(ch, name, &base, err);
		} else {
			r = profile_resolve(ch, source, visited, depth + 1, &base, err);
			if (r == SOURCE_SKIP)
				r = error_set(err, -EINVAL, "%s: source_profile %s has no credentials", what,
				              source);
		}
	} else if (csrc && *csrc) {
		if (!strcmp(csrc, "Environment"))
			r = cred_source_env(ch, &base, err);
		else if (!strcmp(csrc, "EcsContainer"))
			r = cred_source_ecs(ch, &base, err);
		else if (!strcmp(csrc, "Ec2InstanceMetadata"))
			r = cred_source_imds(ch, &base, err);
		else
			return error_set(err, -EINVAL, "%s: unknown credential_source %s", what, csrc);
		if (r == SOURCE_SKIP)
			r = error_set(err, -EINVAL, "%s: credential_source %s is not available", what, csrc);
	} else {
		return error_set(err, -EINVAL,
		                 "%s: role_arn needs cred_source_profile, credential_source or "
		                 "web_identity_token_file",
		                 what);
	}
	if (r < 0)
		goto out;
	if (base.expiration && base.expiration <= ch->now) {
		r = error_set(err, -EINVAL, "%s: the source credentials are expired", what);
		goto out;
	}
	if (!session) {
		cred_default_session_name(sess, sizeof(sess), ch->now);
		session = sess;
	}
	if ((r = cred_assume_role_form(&form, role_arn, session, external)) < 0) {
		r = error_set(err, r, "out of memory");
		goto out;
	}
	if (duration && *duration) {
		char *e;
		long d = strtol(duration, &e, 10);
		if (*e || d < 900 || d > 43200) {
			r = error_set(err, -EINVAL, "%s: duration_seconds must be 900..43200", what);
			goto out;
		}
		r = cred_form_add(&form, "DurationSeconds", duration);
		if (r < 0)
			goto out;
	}
	r = cred_sts_call(ch, region, &form, &base, "assume-role", what, ret, err);
out:
	aws_credentials_release(&base);
	buf_release(&form);
	return r;
}

/*
 * Credentials of one profile: 0, SOURCE_SKIP (the profile exists but holds no
 * credentials, or does not exist), or an error.
 */
static int profile_resolve(struct chain *ch, const char *name, const char **visited, int depth,
                           struct aws_credentials *ret, struct error *err)
{
	const char *role, *akid, *secret, *proc;
	char what[300];

	snprintf(what, sizeof(what), "profile %s", name);
	if (depth >= AWS_MAX_ROLE_CHAIN)
		return error_set(err, -ELOOP, "%s: source_profile chain longer than %d", what,
		                 AWS_MAX_ROLE_CHAIN);
	for (int i = 0; i < depth; i++)
		if (!strcmp(visited[i], name))
			return error_set(err, -ELOOP, "%s: source_profile loop", what);
	visited[depth] = name;
	if (!profile_exists(ch, name)) {
		if (depth > 0)
			return error_set(err, -ENOENT, "source profile %s not found in %s or %s", name,
			                 ch->cred_path, ch->conf_path);
		return SOURCE_SKIP;
	}
	role = profile_get(ch, name, "role_arn");
	akid = profile_get(ch, name, "aws_access_key_id");
	secret = profile_get(ch, name, "aws_secret_access_key");
	proc = profile_get(ch, name, "credential_process");
	if (role && *role)
		return profile_assume_role(ch, name, role, visited, depth, ret, err);
	if ((akid && *akid) || (secret && *secret))
		return profile_static(ch, name, ret, err);
	if (proc && *proc)
		return cred_process(ch, proc, what, ret, err);
	if (profile_get(ch, name, "sso_start_url") || profile_get(ch, name, "sso_session"))
		return error_set(
		    err, -EINVAL,
		    "%s: AWS IAM Identity Center (SSO) profiles are not supported; use credential_process "
		    "= aws configure export-credentials --profile %s --format process",
		    what, name);
	if (depth > 0)
		return error_set(err, -EINVAL, "%s: no credentials in the profile", what);
	return SOURCE_SKIP;
}

int cred_source_profile(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *visited[AWS_MAX_ROLE_CHAIN + 1];
	int r;

	r = chain_load_files(ch, err);
	if (r < 0)
		return r;
	r = profile_resolve(ch, ch->profile, visited, 0, ret, err);
	if (r == SOURCE_SKIP) {
		if (ch->profile_explicit && !profile_exists(ch, ch->profile))
			return error_set(err, -ENOENT, "profile %s: not found in %s or %s", ch->profile,
			                 ch->cred_path, ch->conf_path);
		cred_tried_add(ch, "profile %s: %s in %s or %s", ch->profile,
		               profile_exists(ch, ch->profile) ? "no credentials" : "not found",
		               ch->cred_path, ch->conf_path);
	}
	return r;
}
