/*
 * run.c - `aliasd run`: the daemon (cmd/daemon.c), or `-n` to check the config.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/config.h"
#include "cmd/daemon.h"

static const char usage[] =
    "aliasd run [-c FILE] [-n]\n"
    "\n"
    "Run the daemon: poll the manifest repository, reconcile Lambda with it, serve\n"
    "/healthz, /metrics, /status and /hooks/github, talk to systemd (Type=notify).\n"
    "\n"
    "  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
    "  -n, --check        check the configuration (and read its secret files),\n"
    "                     print 'configuration OK' and exit 0, or the errors and exit 1;\n"
    "                     warnings (a non-loopback listen address, a Git token over\n"
    "                     http://, settings this version does not act on yet) are\n"
    "                     printed too, as at every start, without failing\n"
    "  -h, --help         this help\n"
    "\n"
    "Signals: SIGTERM/SIGINT cancel a Git fetch, finish the API calls in flight\n"
    "and exit 0; SIGHUP reloads the configuration (an invalid one is refused, the\n"
    "old one kept; Stalled functions are retried); SIGUSR1 polls Git and\n"
    "reconciles every function now, Stalled ones too.\n"
    "\n"
    "State: STATEDIR/daemon-state.json keeps each function's last good commit, so\n"
    "a restart on a broken commit keeps serving the last good state.\n"
    "\n"
    "Exit status: 0 stopped cleanly (or -n: configuration OK), 1 could not start\n"
    "(or -n: configuration invalid), 64 usage error.\n";

static int check_config(const char *path)
{
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;
	char line[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];
	int r;

	r = config_load(&c, path, &errs);
	errlist_sort(&errs);
	for (size_t i = 0; i < errs.len; i++)
		fprintf(stderr, "%s\n", error_format(&errs.items[i], line, sizeof(line)));
	if (errs.dropped)
		fprintf(stderr, "(%zu more errors)\n", errs.dropped);
	errlist_release(&errs);
	if (r < 0) {
		fprintf(stderr, "aliasd run: %s: configuration invalid\n", path);
		return 1;
	}
	/* allowed but unwise, or parsed but not acted on yet: said, not refused */
	config_warnings(c, &errs);
	for (size_t i = 0; i < errs.len; i++)
		fprintf(stderr, "warning: %s\n", error_format(&errs.items[i], line, sizeof(line)));
	errlist_release(&errs);
	config_free(c);
	printf("configuration OK\n");
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_PATH;
	int check = 0, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cmd_usage_error("run", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error("run", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error("run", "unexpected argument '%s'", argv[optind]);
	if (check)
		return check_config(path);
	return daemon_run(path);
}
