/*
 * Unit tests for an alias's `rollout:` (manifest/load_rollout.c, the CodeDeploy
 * names of manifest/rollout.c): what the model holds for each form, and one
 * message with its line and column for every rule.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "manifest/load.h"
#include "manifest/rollout.h"
#include "tests/unit/harness.h"

#define HEAD                                                                                                 \
	"apiVersion: aliasd/v1\n"                                                                            \
	"kind: Function\n"                                                                                   \
	"name: fn\n"                                                                                         \
	"region: eu-west-1\n"                                                                                \
	"releases:\n"                                                                                        \
	"  v1: {version: 3}\n"                                                                               \
	"  v2: {version: 4}\n"                                                                               \
	"aliases:\n"
/* HEAD has 8 lines: the first alias line is 9. */

static struct manifest_set *load_yaml(const char *yaml)
{
	struct manifest_mem_file files[] = {{"fn.yaml", yaml, strlen(yaml), false}};
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;

	REQUIRE(manifest_source_mem_open(&src, files, 1, &err) == 0);
	CHECKF(manifest_load(&set, src, "", &err) == 0, "load: %s", err.msg);
	manifest_source_free(src);
	REQUIRE(set);
	return set;
}

static void dump_errors(const struct manifest_set *set)
{
	char line[1600];

	for (size_t i = 0; i < set->errors.len; i++)
		fprintf(stderr, "  %s\n", error_format(&set->errors.items[i], line, sizeof(line)));
}

/* A valid manifest: its one function's alias `name`. */
static const struct manifest_alias *good_alias(struct manifest_set *set, const char *name)
{
	const struct manifest_function *f;

	if (set->errors.len)
		dump_errors(set);
	REQUIRE(set->errors.len == 0);
	REQUIRE(set->n_functions == 1);
	f = &set->functions[0];
	for (size_t i = 0; i < f->n_aliases; i++)
		if (!strcmp(f->aliases[i].name, name))
			return &f->aliases[i];
	REQUIRE(!"alias not found");
	return NULL;
}

TEST(rollout_codedeploy_names)
{
	static const struct {
		const char *name;
		size_t n_steps;
		unsigned first, last, interval;
	} cases[] = {
	    {"Canary10Percent5Minutes", 1, 10, 10, 300},
	    {"Canary10Percent10Minutes", 1, 10, 10, 600},
	    {"Canary10Percent15Minutes", 1, 10, 10, 900},
	    {"Canary10Percent30Minutes", 1, 10, 10, 1800},
	    {"Linear10PercentEvery1Minute", 9, 10, 90, 60},
	    {"Linear10PercentEvery2Minutes", 9, 10, 90, 120},
	    {"Linear10PercentEvery3Minutes", 9, 10, 90, 180},
	    {"Linear10PercentEvery10Minutes", 9, 10, 90, 600},
	    {"AllAtOnce", 0, 0, 0, 60},
	    {"CodeDeployDefault.LambdaCanary10Percent5Minutes", 1, 10, 10, 300},
	    {"CodeDeployDefault.LambdaLinear10PercentEvery10Minutes", 9, 10, 90, 600},
	    {"CodeDeployDefault.LambdaAllAtOnce", 0, 0, 0, 60},
	};
	static const char *const bad[] = {"canary10percent5minutes",
	                                  "Canary10Percent6Minutes",
	                                  "CodeDeployDefault.Canary10Percent5Minutes",
	                                  "CodeDeployDefault.Lambda",
	                                  "CodeDeployDefault.AllAtOnce", /* EC2's, not Lambda's */
	                                  "CodeDeployDefault.LambdaCanary10Percent6Minutes",
	                                  "",
	                                  "AllAtOnce "};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rollout_spec spec = {0};
		struct error err = ERROR_INIT;

		CHECKF(rollout_spec_codedeploy(cases[i].name, &spec) == 0, "%s", cases[i].name);
		CHECKF(spec.n_steps == cases[i].n_steps, "%s: %zu steps", cases[i].name, spec.n_steps);
		CHECKF(spec.interval_s == cases[i].interval, "%s: %us", cases[i].name, spec.interval_s);
		if (spec.n_steps) {
			CHECKF(spec.steps[0] == cases[i].first, "%s", cases[i].name);
			CHECKF(spec.steps[spec.n_steps - 1] == cases[i].last, "%s", cases[i].name);
		}
		CHECKF(rollout_spec_check(&spec, &err) == 0, "%s: %s", cases[i].name, err.msg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rollout_spec spec = {0};

		CHECKF(rollout_spec_codedeploy(bad[i], &spec) == -ENOENT, "\"%s\"", bad[i]);
	}
	{
		struct rollout_spec spec = {0};

		CHECK_INT(rollout_spec_codedeploy(NULL, &spec), -ENOENT);
	}
	while (rollout_codedeploy_name(n))
		n++;
	CHECK_INT(n, 9);
	CHECK_STR(rollout_codedeploy_name(0), "Canary10Percent5Minutes");
	CHECK_STR(rollout_codedeploy_name(8), "AllAtOnce");
}

TEST(rollout_forms_fill_the_model)
{
	static const char yaml[] =
	    HEAD "  Short: v1\n"
	         "  Plain: {release: v1}\n"
	         "  Prod:\n"
	         "    release: v2\n"
	         "    rollout: Canary10Percent5Minutes\n"
	         "  Live:\n"
	         "    release: v2\n"
	         "    rollout:\n"
	         "      steps: [10, 50]\n"
	         "      interval: 1h30m\n"
	         "      alarms: [errors, p99]\n"
	         "      preTraffic: smoke-test\n"
	         "  Other:\n"
	         "    version: 7\n"
	         "    rollout: {type: CodeDeployDefault.LambdaLinear10PercentEvery1Minute,\n"
	         "              alarms: [errors], preTraffic: "
	         "\"arn:aws:lambda:eu-west-1:123456789012:function:smoke\"}\n"
	         "  Now: {release: v1, rollout: {steps: []}}\n"
	         "  Null: {release: v1, rollout: null, weights: {v2: 0.5}}\n";
	struct manifest_set *set = load_yaml(yaml);
	const struct manifest_alias *a;
	const struct manifest_rollout *r;

	CHECK(good_alias(set, "Short")->rollout == NULL);
	CHECK(good_alias(set, "Plain")->rollout == NULL);

	r = good_alias(set, "Prod")->rollout;
	REQUIRE(r);
	CHECK_STR(r->codedeploy, "Canary10Percent5Minutes");
	CHECK_INT(r->line, 13);
	CHECK_INT(r->col, 5);
	CHECK_INT(r->spec.n_steps, 1);
	CHECK_INT(r->spec.steps[0], 10);
	CHECK_INT(r->spec.interval_s, 300);
	CHECK_INT(r->spec.n_alarms, 0);
	CHECK(!r->spec.pre_traffic);
	CHECK(r->alarms == NULL && r->pre_traffic == NULL);

	a = good_alias(set, "Live");
	CHECK(a->description == NULL && !a->has_weight);
	CHECK_STR(a->primary.release, "v2");
	r = a->rollout;
	REQUIRE(r);
	CHECK(r->codedeploy == NULL);
	CHECK_INT(r->spec.n_steps, 2);
	CHECK_INT(r->spec.steps[0], 10);
	CHECK_INT(r->spec.steps[1], 50);
	CHECK_INT(r->spec.interval_s, 5400);
	REQUIRE(r->spec.n_alarms == 2);
	CHECK_STR(r->alarms[0], "errors");
	CHECK_STR(r->alarms[1], "p99");
	CHECK(r->spec.pre_traffic);
	CHECK_STR(r->pre_traffic, "smoke-test");

	a = good_alias(set, "Other");
	CHECK_INT(a->primary.version, 7);
	r = a->rollout;
	REQUIRE(r);
	CHECK_STR(r->codedeploy, "CodeDeployDefault.LambdaLinear10PercentEvery1Minute");
	CHECK_INT(r->spec.n_steps, 9);
	CHECK_INT(r->spec.steps[8], 90);
	CHECK_INT(r->spec.interval_s, 60);
	REQUIRE(r->spec.n_alarms == 1);
	CHECK_STR(r->alarms[0], "errors");
	CHECK_STR(r->pre_traffic, "arn:aws:lambda:eu-west-1:123456789012:function:smoke");

	r = good_alias(set, "Now")->rollout;
	REQUIRE(r);
	CHECK_INT(r->spec.n_steps, 0);
	CHECK_INT(r->spec.interval_s, 60);

	a = good_alias(set, "Null");
	CHECK(a->rollout == NULL && a->has_weight);
	manifest_set_free(set);
}

/* Each case: the alias lines after HEAD, and the one error expected ("line:col: message" suffix). */
static const struct {
	const char *name, *yaml, *want;
} bad_cases[] = {
    {"unknown name", "  Prod: {release: v2, rollout: Canary5}\n",
     "fn.yaml:9:32: aliases.Prod.rollout: unknown rollout \"Canary5\" (CodeDeploy's predefined "
     "Lambda configurations are Canary10Percent5Minutes, Canary10Percent10Minutes, "
     "Canary10Percent15Minutes, Canary10Percent30Minutes, Linear10PercentEvery1Minute, "
     "Linear10PercentEvery2Minutes, Linear10PercentEvery3Minutes, Linear10PercentEvery10Minutes, "
     "AllAtOnce, also as CodeDeployDefault.Lambda<name>; or a mapping with steps and interval)"},
    {"unknown type", "  Prod: {release: v2, rollout: {type: Blue}}\n",
     "fn.yaml:9:39: aliases.Prod.rollout.type: unknown rollout \"Blue\""},
    {"list", "  Prod: {release: v2, rollout: [10]}\n",
     "fn.yaml:9:32: aliases.Prod.rollout: expected a CodeDeploy name or a mapping, got a list"},
    {"unknown key", "  Prod: {release: v2, rollout: {steps: [10], interval: 1m, alarm: [x]}}\n",
     "fn.yaml:9:60: aliases.Prod.rollout.alarm: unknown key"},
    {"type and steps", "  Prod: {release: v2, rollout: {type: AllAtOnce, steps: [10]}}\n",
     "fn.yaml:9:50: aliases.Prod.rollout.steps: give type, or steps and interval, not both"},
    {"type and interval", "  Prod: {release: v2, rollout: {type: AllAtOnce, interval: 1m}}\n",
     "fn.yaml:9:50: aliases.Prod.rollout.interval: give type, or steps and interval, not both"},
    {"no steps", "  Prod: {release: v2, rollout: {interval: 1m}}\n",
     "fn.yaml:9:32: aliases.Prod.rollout: missing required key \"steps\" (or \"type\""},
    {"no interval", "  Prod:\n    release: v2\n    rollout:\n      steps: [10]\n",
     "fn.yaml:12:7: aliases.Prod.rollout: missing required key \"interval\""},
    {"steps not a list", "  Prod: {release: v2, rollout: {steps: 10, interval: 1m}}\n",
     "fn.yaml:9:40: aliases.Prod.rollout.steps: expected a list, got an integer"},
    {"step zero", "  Prod: {release: v2, rollout: {steps: [0], interval: 1m}}\n",
     "fn.yaml:9:41: aliases.Prod.rollout.steps[0]: must be between 1 and 99, got 0"},
    {"step 100", "  Prod: {release: v2, rollout: {steps: [10, 100], interval: 1m}}\n",
     "fn.yaml:9:45: aliases.Prod.rollout.steps[1]: must be between 1 and 99, got 100"},
    {"step fraction", "  Prod: {release: v2, rollout: {steps: [12.5], interval: 1m}}\n",
     "fn.yaml:9:41: aliases.Prod.rollout.steps[0]: expected an integer"},
    {"steps equal", "  Prod: {release: v2, rollout: {steps: [50, 50], interval: 1m}}\n",
     "fn.yaml:9:45: aliases.Prod.rollout.steps[1]: steps must increase (50 after 50)"},
    {"steps decreasing", "  Prod: {release: v2, rollout: {steps: [10, 50, 20], interval: 1m}}\n",
     "fn.yaml:9:49: aliases.Prod.rollout.steps[2]: steps must increase (20 after 50)"},
    {"eleven steps",
     "  Prod: {release: v2, rollout: {steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], interval: 1m}}\n",
     "fn.yaml:9:72: aliases.Prod.rollout.steps[10]: at most 10 steps"},
    {"interval no unit", "  Prod: {release: v2, rollout: {steps: [10], interval: 300}}\n",
     "fn.yaml:9:56: aliases.Prod.rollout.interval: duration \"300\" needs a unit"},
    {"interval bad", "  Prod: {release: v2, rollout: {steps: [10], interval: 5 min}}\n",
     "fn.yaml:9:56: aliases.Prod.rollout.interval: duration \"5 min\" needs a unit"},
    {"interval zero", "  Prod: {release: v2, rollout: {steps: [10], interval: 0s}}\n",
     "fn.yaml:9:56: aliases.Prod.rollout.interval: must be between 1s and 24h, got 0s"},
    {"interval 25h", "  Prod: {release: v2, rollout: {steps: [10], interval: 24h1s}}\n",
     "fn.yaml:9:56: aliases.Prod.rollout.interval: must be between 1s and 24h, got 24h1s"},
    {"interval ms", "  Prod: {release: v2, rollout: {steps: [10], interval: 1500ms}}\n",
     "fn.yaml:9:56: aliases.Prod.rollout.interval: must be whole seconds, got 1500ms"},
    {"alarms not a list", "  Prod: {release: v2, rollout: {type: AllAtOnce, alarms: errors}}\n",
     "fn.yaml:9:58: aliases.Prod.rollout.alarms: expected a list, got a string"},
    {"alarm empty", "  Prod: {release: v2, rollout: {type: AllAtOnce, alarms: [a, \"\"]}}\n",
     "fn.yaml:9:62: aliases.Prod.rollout.alarms[1]: alarm names are 1 to 255 characters, got 0"},
    {"alarm control", "  Prod: {release: v2, rollout: {type: AllAtOnce, alarms: [\"a\\tb\"]}}\n",
     "fn.yaml:9:59: aliases.Prod.rollout.alarms[0]: alarm names cannot contain control "
     "characters, got \"a\\x09b\""},
    {"alarm twice", "  Prod: {release: v2, rollout: {type: AllAtOnce, alarms: [a, b, a]}}\n",
     "fn.yaml:9:65: aliases.Prod.rollout.alarms[2]: alarm \"a\" is listed twice"},
    {"alarm a mapping", "  Prod: {release: v2, rollout: {type: AllAtOnce, alarms: [{a: 1}]}}\n",
     "fn.yaml:9:59: aliases.Prod.rollout.alarms[0]: expected a string, got a mapping"},
    {"eleven alarms",
     "  Prod: {release: v2, rollout: {type: AllAtOnce, alarms: [a, b, c, d, e, f, g, h, i, j, k]}}\n",
     "fn.yaml:9:89: aliases.Prod.rollout.alarms[10]: at most 10 alarms"},
    {"preTraffic qualified", "  Prod: {release: v2, rollout: {type: AllAtOnce, preTraffic: smoke:live}}\n",
     "fn.yaml:9:62: aliases.Prod.rollout.preTraffic: \"smoke:live\" is a partial ARN or a qualified "
     "name"},
    {"preTraffic bad name", "  Prod: {release: v2, rollout: {type: AllAtOnce, preTraffic: \"smoke test\"}}\n",
     "fn.yaml:9:62: aliases.Prod.rollout.preTraffic: invalid function name \"smoke test\""},
    {"preTraffic bad ARN",
     "  Prod: {release: v2, rollout: {type: AllAtOnce, preTraffic: "
     "\"arn:aws:lambda:eu-west-1:1234:function:x\"}}\n",
     "fn.yaml:9:62: aliases.Prod.rollout.preTraffic: \"arn:aws:lambda:eu-west-1:1234:function:x\" "
     "has an invalid account id"},
    {"preTraffic other region",
     "  Prod: {release: v2, rollout: {type: AllAtOnce, preTraffic: "
     "\"arn:aws:lambda:us-east-1:123456789012:function:x\"}}\n",
     "fn.yaml:9:62: aliases.Prod.rollout.preTraffic: the function is in us-east-1, not in the "
     "function's region eu-west-1"},
    {"weights", "  Prod:\n    release: v2\n    weights: {v1: 0.5}\n    rollout: AllAtOnce\n",
     "fn.yaml:11:5: aliases.Prod.weights: an alias with weights cannot declare a rollout: the "
     "rollout sets the weights"},
    {"description", "  Prod:\n    release: v2\n    description: hi\n    rollout: AllAtOnce\n",
     "fn.yaml:11:5: aliases.Prod.description: not allowed with rollout: the description of a "
     "rollout alias records its progress (README, Rollouts)"},
    {"version target", "  Prod: {version: 4, rollout: {steps: [], interval: 25h}}\n",
     "fn.yaml:9:53: aliases.Prod.rollout.interval: must be between 1s and 24h, got 25h"},
};

TEST(rollout_each_rule_one_error)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char yaml[1024], line[1600];
		struct manifest_set *set;
		const char *got;

		snprintf(yaml, sizeof(yaml), "%s%s", HEAD, bad_cases[i].yaml);
		set = load_yaml(yaml);
		CHECKF(set->errors.len == 1, "%s: %zu errors", bad_cases[i].name, set->errors.len);
		if (set->errors.len != 1)
			dump_errors(set);
		if (set->errors.len) {
			got = error_format(&set->errors.items[0], line, sizeof(line));
			CHECKF(!strncmp(got, bad_cases[i].want, strlen(bad_cases[i].want)),
			       "%s:\n    got  %s\n    want %s", bad_cases[i].name, got, bad_cases[i].want);
		}
		CHECKF(set->n_functions == 1 && set->functions[0].n_errors == 1, "%s: function errors",
		       bad_cases[i].name);
		manifest_set_free(set);
	}
}

TEST(rollout_errors_all_at_once)
{
	/* Every problem of one rollout is reported, and the target's own error too. */
	static const char yaml[] = HEAD "  Prod:\n"
	                                "    release: v9\n"
	                                "    description: x\n"
	                                "    rollout:\n"
	                                "      steps: [50, 10]\n"
	                                "      interval: 2d\n"
	                                "      alarms: [a, a]\n"
	                                "      preTraffic: \"\"\n";
	struct manifest_set *set = load_yaml(yaml);
	char line[1600];
	static const char *const want[] = {
	    "fn.yaml:10:14: aliases.Prod.release: release \"v9\" is not declared",
	    "fn.yaml:11:5: aliases.Prod.description: not allowed with rollout",
	    "fn.yaml:13:19: aliases.Prod.rollout.steps[1]: steps must increase (10 after 50)",
	    "fn.yaml:14:17: aliases.Prod.rollout.interval: must be between 1s and 24h, got 2d",
	    "fn.yaml:15:19: aliases.Prod.rollout.alarms[1]: alarm \"a\" is listed twice",
	    "fn.yaml:16:19: aliases.Prod.rollout.preTraffic: invalid function name \"\"",
	};

	CHECK_INT(set->errors.len, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < set->errors.len && i < sizeof(want) / sizeof(want[0]); i++) {
		const char *got = error_format(&set->errors.items[i], line, sizeof(line));

		CHECKF(!strncmp(got, want[i], strlen(want[i])), "got  %s\n    want %s", got, want[i]);
	}
	manifest_set_free(set);
}

TEST(rollout_limits_accepted)
{
	/* The edges that are allowed: 10 steps, 1..99, 1s and 24h, 10 alarms of 255 characters. */
	char yaml[8192], name[256];
	struct manifest_set *set;
	const struct manifest_rollout *r;
	size_t n;

	memset(name, 'x', 255);
	name[255] = '\0';
	n = (size_t)snprintf(yaml, sizeof(yaml),
	                     HEAD "  A: {release: v2, rollout: {steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 99], "
	                          "interval: 1s}}\n"
	                          "  B: {release: v2, rollout: {steps: [99], interval: 24h}}\n"
	                          "  C: {release: v2, rollout: {steps: [50], interval: 1d}}\n"
	                          "  D: {release: v2, rollout: {type: AllAtOnce, alarms: [");
	for (int i = 0; i < 10; i++) {
		name[0] = (char)('a' + i);
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s%s", i ? ", " : "", name);
	}
	snprintf(yaml + n, sizeof(yaml) - n,
	         "], preTraffic: %s}}\n"
	         "  E: {release: v2, rollout: {type: AllAtOnce, alarms: [\"é\"]}}\n",
	         "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij_-12");
	set = load_yaml(yaml);
	r = good_alias(set, "A")->rollout;
	REQUIRE(r);
	CHECK_INT(r->spec.n_steps, 10);
	CHECK_INT(r->spec.steps[9], 99);
	CHECK_INT(r->spec.interval_s, 1);
	CHECK_INT(good_alias(set, "B")->rollout->spec.interval_s, 86400);
	CHECK_INT(good_alias(set, "C")->rollout->spec.interval_s, 86400);
	r = good_alias(set, "D")->rollout;
	REQUIRE(r->spec.n_alarms == 10);
	CHECK_INT(strlen(r->alarms[9]), 255);
	CHECK_INT(r->alarms[9][0], 'j');
	CHECK_INT(strlen(r->pre_traffic), 64);
	CHECK_STR(good_alias(set, "E")->rollout->alarms[0], "é");
	manifest_set_free(set);

	/* 256 characters is one too many; 255 two-byte characters are not. */
	n = (size_t)snprintf(yaml, sizeof(yaml),
	                     HEAD "  A: {release: v2, rollout: {type: AllAtOnce, alarms: [");
	for (int i = 0; i < 256; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "x");
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
	                      "]}}\n  B: {release: v2, rollout: {type: AllAtOnce, "
	                      "alarms: [");
	for (int i = 0; i < 255; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "é");
	snprintf(yaml + n, sizeof(yaml) - n, "]}}\n");
	set = load_yaml(yaml);
	CHECK_INT(set->errors.len, 1);
	if (set->errors.len) {
		error_format(&set->errors.items[0], yaml, sizeof(yaml));
		CHECKF(strstr(yaml, "fn.yaml:9:") &&
		           strstr(yaml, "alarms[0]: alarm names are 1 to 255 characters, got 256"),
		       "%s", yaml);
	}
	manifest_set_free(set);
}

TEST_MAIN(rollout_codedeploy_names, rollout_forms_fill_the_model, rollout_each_rule_one_error,
          rollout_errors_all_at_once, rollout_limits_accepted)
