/*
 * aliasd.c - main: global flags and subcommand dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "manifest/repo.h"

#ifndef ALIASD_VERSION
#define ALIASD_VERSION "unknown"
#endif

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct verb verbs[] = {
    {"validate", cmd_validate, "lint manifests offline (exit 1 on errors)"},
    {"plan", cmd_plan, "show what would change (exit 2 if anything)"},
    {"apply", cmd_apply, "reconcile once (and run rollouts to the end)"},
    {"rollout", cmd_rollout, "promote, abort or retry an alias's rollout"},
    {"run", cmd_run, "run the daemon"},
    {"status", cmd_status, "show what the running daemon reports"},
    {"versions", cmd_versions, "published versions, their releases and aliases"},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: aliasd [--version] [--help] COMMAND [ARGS]\n"
	           "\n"
	           "aliasd makes AWS Lambda versions and aliases match a Git repository of\n"
	           "YAML manifests: merging a pull request promotes, reverting rolls back.\n"
	           "\n"
	           "Commands:\n");
	for (size_t i = 0; i < N_VERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f,
	        "  %-10s %s\n"
	        "\n"
	        "'aliasd help COMMAND' or 'aliasd COMMAND --help' explains a command.\n"
	        "\n"
	        "AWS settings follow the AWS SDK conventions: AWS_REGION, AWS_PROFILE,\n"
	        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, ~/.aws/config,\n"
	        "~/.aws/credentials, AWS_ENDPOINT_URL_LAMBDA, AWS_CA_BUNDLE, AWS_MAX_ATTEMPTS.\n"
	        "\n"
	        "Exit status: 0 success, 1 failure, 64 usage error; plan: 2 changes pending.\n",
	        "help", "explain a command");
}

static const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < N_VERBS; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct verb *v;
	int r;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("aliasd %s\n", ALIASD_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "help")) {
		char help[] = "--help";
		char *hargv[3];

		if (argc == 2) {
			usage(stdout);
			return 0;
		}
		if (argc > 3)
			return cmd_usage_error("help", "expects one command, got %d", argc - 2);
		v = verb_find(argv[2]);
		if (!v)
			return cmd_usage_error("help", "unknown command '%s'", argv[2]);
		hargv[0] = argv[2];
		hargv[1] = help;
		hargv[2] = NULL;
		return v->fn(2, hargv);
	}
	if (argv[1][0] == '-')
		return cmd_usage_error(NULL, "unknown option '%s'", argv[1]);
	v = verb_find(argv[1]);
	if (!v)
		return cmd_usage_error(NULL, "unknown command '%s'", argv[1]);
	r = v->fn(argc - 1, argv + 1);
	/* libgit2's global state, so that the leak checker sees a clean heap */
	manifest_repo_global_shutdown();
	return r;
}
