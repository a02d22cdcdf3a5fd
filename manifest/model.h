/*
 * model.h - the desired state that manifests declare (DESIGN.md §1).
 *
 * One struct manifest_function per `kind: Function` document.  Everything in
 * the model has been validated by manifest_load() (manifest/load.h): a
 * function with `n_errors == 0` is complete and consistent, so reconcile/ can
 * trust it without checking again:
 *  - names match Lambda's patterns, numbers are in Lambda's ranges;
 *  - releases are in declared order, names unique, never all digits;
 *  - every alias targets a declared release or a positive version number, its
 *    weighted entry (if any) differs from the primary and 0 < weight < 1;
 *  - an alias's rollout (if any) passed rollout_spec_check(), its alarm
 *    names are unique, 1..255 characters without control characters, its
 *    preTraffic a function name or a full function ARN; the alias then has
 *    neither weights nor a description;
 *  - zip code has its SHA-256 computed (base64, as Lambda's CodeSha256), s3
 *    code carries the declared sha256 normalised to base64, image code carries
 *    the digest of its pinned imageUri.
 *
 * A function with `n_errors > 0` has only `name`, `region`, `account` and its
 * position filled reliably; the rest is partial and must not be acted upon.
 *
 * Configuration fields that a manifest does not name are not managed: the
 * `set` bit mask says which fields of struct manifest_config were given.  A
 * release's `config:` overrides the function's field by field; an overriding
 * `environment` replaces the whole map (it is not merged).
 *
 * Ownership: everything a function points to lives in the arena of the
 * manifest file that declared it (manifest/load.h: units), owned by the
 * enclosing struct manifest_set and freed with it by manifest_set_free(),
 * never one by one.  Strings and arrays are shared: a release's effective
 * `config` points at the function's strings and env array where it does not
 * override them, an alias's target `release` is the release's `name`, short
 * values many functions repeat (a region, a runtime, an env name) are one
 * copy for the whole set, and a function of an unchanged file may be the
 * same memory in several sets (reloads).  Treat the whole model as
 * read-only; compare strings with strcmp, never by pointer.
 */
#ifndef ALIASD_MANIFEST_MODEL_H
#define ALIASD_MANIFEST_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest/rollout.h"

/* Lambda limits that manifests are checked against. */
#define MANIFEST_MEMORY_MIN       128
#define MANIFEST_MEMORY_MAX       10240
#define MANIFEST_TIMEOUT_MIN      1
#define MANIFEST_TIMEOUT_MAX      900
#define MANIFEST_EPHEMERAL_MIN    512
#define MANIFEST_EPHEMERAL_MAX    10240
#define MANIFEST_DESCRIPTION_MAX  256
#define MANIFEST_ENV_MAX_BYTES    4096                 /* all keys and values together */
#define MANIFEST_ZIP_MAX          ((uint64_t)50 << 20) /* direct upload limit: 50 MiB */
#define MANIFEST_KEEP_HISTORY_MAX 100                  /* prune.keepHistory: commits */
#define MANIFEST_FILE_MAX         ((size_t)4 << 20)    /* one YAML file */

/* A SHA-256 as base64 (44 characters, as Lambda's CodeSha256) and a NUL. */
#define MANIFEST_SHA256_B64_SIZE 45
/* The longest expected CodeSha256: an image digest's 64 hex digits and a NUL. */
#define MANIFEST_CODE_SHA_SIZE 65

enum manifest_config_field {
	MANIFEST_CFG_RUNTIME = 1u << 0,
	MANIFEST_CFG_HANDLER = 1u << 1,
	MANIFEST_CFG_ROLE = 1u << 2,
	MANIFEST_CFG_MEMORY = 1u << 3,
	MANIFEST_CFG_TIMEOUT = 1u << 4,
	MANIFEST_CFG_ENVIRONMENT = 1u << 5,
	MANIFEST_CFG_DESCRIPTION = 1u << 6,
	MANIFEST_CFG_EPHEMERAL = 1u << 7,
};

struct manifest_env_var {
	char *name;
	char *value;
};

/* Versioned function configuration (applied before publishing). */
/* (Fields ordered to leave no padding: five of these per function.) */
struct manifest_config {
	unsigned set;    /* MANIFEST_CFG_* bits of the fields given */
	int memory_size; /* MB, 128..10240 */
	char *runtime;   /* e.g. "python3.12" */
	char *handler;
	char *role;                   /* IAM role ARN */
	int timeout;                  /* seconds, 1..900 */
	int ephemeral_storage;        /* MB of /tmp, 512..10240 */
	char *description;            /* the function's description, <= 256 */
	struct manifest_env_var *env; /* sorted by name; the whole map is managed */
	size_t n_env;
};

enum manifest_code_kind {
	MANIFEST_CODE_NONE = 0, /* adopted release (`version: N`) */
	MANIFEST_CODE_ZIP,
	MANIFEST_CODE_S3,
	MANIFEST_CODE_IMAGE,
};

struct manifest_code {
	char *zip_path;           /* ZIP: path from the repository root */
	uint64_t zip_size;        /* ZIP: bytes */
	char *s3_bucket, *s3_key; /* S3 */
	char *s3_object_version;  /* S3: NULL if not given */
	char *image_uri;          /* IMAGE: repo@sha256:<64 hex> */
	/*
	 * The expected CodeSha256 as Lambda reports it: base64 of the SHA-256 of
	 * the zip (ZIP, computed; S3, declared and normalised); for IMAGE the 64
	 * hex digits of the image digest.  "" for NONE.
	 */
	char sha256[MANIFEST_CODE_SHA_SIZE];
	enum manifest_code_kind kind; /* last: it fills sha256's padding */
};

struct manifest_release {
	char *name;         /* [A-Za-z0-9._-]{1,64}, not all digits */
	unsigned line, col; /* of the release's key */
	int64_t version;    /* > 0: adopt this published version as-is (no code) */
	struct manifest_code code;
	char *description; /* NULL if none; <= 256 */
	/* Effective configuration: the function's config with this release's overrides. */
	struct manifest_config config;
};

/* Where an alias points: a declared release, or a published version number. */
struct manifest_target {
	char *release;        /* NULL when `version` is used */
	int64_t version;      /* > 0 when `release` is NULL */
	size_t release_index; /* index into function->releases when `release` is set */
};

/*
 * An alias's `rollout:` (DESIGN §6): either a CodeDeploy name (`rollout:
 * Canary10Percent5Minutes`) or a mapping with steps, interval, alarms and
 * preTraffic.  spec.n_alarms is the number of names in `alarms`;
 * spec.pre_traffic is set when `pre_traffic` is.
 */
struct manifest_rollout {
	unsigned line, col;       /* of the `rollout` key */
	char *codedeploy;         /* the name as written when given as a name, else NULL */
	struct rollout_spec spec; /* steps and interval (a name's, or the mapping's) */
	char **alarms;            /* spec.n_alarms CloudWatch alarm names, 1..255 characters */
	char *pre_traffic;        /* function name or ARN to invoke before traffic moves, or NULL */
};

struct manifest_alias {
	char *name; /* (?!^[0-9]+$)[A-Za-z0-9_-]{1,128} */
	unsigned line, col;
	struct manifest_target primary;
	bool has_weight;
	struct manifest_target weighted;  /* the additional version, when has_weight */
	double weight;                    /* 0 < weight < 1, when has_weight */
	char *description;                /* NULL if none */
	struct manifest_rollout *rollout; /* NULL: a change moves all traffic in one UpdateAlias */
};

struct manifest_prune {
	bool aliases;          /* delete aliases that no manifest declares */
	int64_t keep_versions; /* -1: never delete versions; >= 0: keep the newest N unreferenced */
	int64_t keep_history;  /* 0: none; 1..MANIFEST_KEEP_HISTORY_MAX: also keep what the last N commits
	                          declared */
};

struct manifest_function {
	char *name;         /* as written: a name or a full function ARN */
	char *region;       /* `region:`, else the ARN's region, else NULL: the daemon's default */
	char *account;      /* the ARN's 12-digit account id, NULL for a plain name */
	char *file;         /* repository path of the manifest */
	unsigned line, col; /* of the document (its `name` value when present) */
	unsigned doc_index; /* 0-based document number in the file */
	struct manifest_config config;
	struct manifest_release *releases;
	size_t n_releases;
	struct manifest_alias *aliases;
	size_t n_aliases;
	struct manifest_prune prune;
	size_t n_errors; /* 0: valid and complete */
};

#endif
