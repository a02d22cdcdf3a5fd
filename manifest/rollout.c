/*
 * rollout.c - a rollout's declaration: CodeDeploy names and bounds (see rollout.h).
 */
#include "manifest/rollout.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned first, every; /* first step and increment, percent; every = 0: one step */
	unsigned interval_s;
} codedeploy[] = {
    {"Canary10Percent5Minutes", 10, 0, 5 * 60},
    {"Canary10Percent10Minutes", 10, 0, 10 * 60},
    {"Canary10Percent15Minutes", 10, 0, 15 * 60},
    {"Canary10Percent30Minutes", 10, 0, 30 * 60},
    {"Linear10PercentEvery1Minute", 10, 10, 60},
    {"Linear10PercentEvery2Minutes", 10, 10, 2 * 60},
    {"Linear10PercentEvery3Minutes", 10, 10, 3 * 60},
    {"Linear10PercentEvery10Minutes", 10, 10, 10 * 60},
    {"AllAtOnce", 0, 0, 60},
};

int rollout_spec_codedeploy(const char *name, struct rollout_spec *spec)
{
	static const char *const prefixes[] = {"CodeDeployDefault.Lambda", ""};

	if (!name)
		return -ENOENT;
	for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		size_t plen = strlen(prefixes[p]);
		const char *n;

		if (strncmp(name, prefixes[p], plen))
			continue;
		n = name + plen;
		for (size_t i = 0; i < sizeof(codedeploy) / sizeof(codedeploy[0]); i++) {
			if (strcmp(n, codedeploy[i].name))
				continue;
			spec->n_steps = 0;
			if (codedeploy[i].first) {
				unsigned pct = codedeploy[i].first;

				do {
					spec->steps[spec->n_steps++] = pct;
					pct += codedeploy[i].every;
				} while (codedeploy[i].every && pct < 100 &&
				         spec->n_steps < ROLLOUT_MAX_STEPS);
			}
			spec->interval_s = codedeploy[i].interval_s;
			return 0;
		}
	}
	return -ENOENT;
}

const char *rollout_codedeploy_name(size_t i)
{
	return i < sizeof(codedeploy) / sizeof(codedeploy[0]) ? codedeploy[i].name : NULL;
}

int rollout_spec_check(const struct rollout_spec *spec, struct error *err)
{
	if (!spec)
		return error_set(err, -EINVAL, "no rollout spec");
	if (spec->n_steps > ROLLOUT_MAX_STEPS)
		return error_set(err, -EINVAL, "rollout: %zu steps, at most %d", spec->n_steps,
		                 ROLLOUT_MAX_STEPS);
	for (size_t i = 0; i < spec->n_steps; i++) {
		if (spec->steps[i] < 1 || spec->steps[i] > 99)
			return error_set(err, -EINVAL, "rollout: step %zu is %u%%, must be 1..99", i + 1,
			                 spec->steps[i]);
		if (i && spec->steps[i] <= spec->steps[i - 1])
			return error_set(err, -EINVAL, "rollout: steps must increase (%u%% after %u%%)",
			                 spec->steps[i], spec->steps[i - 1]);
	}
	if (spec->interval_s < ROLLOUT_MIN_INTERVAL || spec->interval_s > ROLLOUT_MAX_INTERVAL)
		return error_set(err, -EINVAL, "rollout: interval %us is outside 1s..24h", spec->interval_s);
	if (spec->n_alarms > ROLLOUT_MAX_ALARMS)
		return error_set(err, -EINVAL, "rollout: %zu alarms, at most %d", spec->n_alarms,
		                 ROLLOUT_MAX_ALARMS);
	return 0;
}
