/*
 * fuzz_cmd_config.c - the daemon's config parser on arbitrary bytes.
 * Checks: no crash/leak/UB; success implies every required field is set and
 * in range, and config_warnings() lists as many warnings as it counts;
 * failure implies at least one error was reported.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;
	int r;

	unsetenv("CREDENTIALS_DIRECTORY");
	r = config_parse(&c, "fuzz.yaml", (const char *)data, size, &errs);
	if (r == 0) {
		if (!c || !c->repo_url || !c->repo_ref || !c->state_dir || c->concurrency < 1 ||
		    c->concurrency > CONFIG_CONCURRENCY_MAX || c->interval_ms < CONFIG_INTERVAL_MIN_MS ||
		    c->interval_ms > CONFIG_INTERVAL_MAX_MS || c->rate_limit <= 0 || errlist_count(&errs))
			abort();
		if (c->listen && !c->listen_host[0])
			abort();
		/* warnings: counted as listed, each with a message */
		{
			struct errlist w = ERRLIST_INIT;
			int n = config_warnings(c, &w);

			if (n < 0 || n > 2 || (size_t)n != errlist_count(&w) || config_warnings(c, NULL) != n)
				abort();
			for (size_t i = 0; i < w.len; i++)
				if (!w.items[i].msg[0])
					abort();
			errlist_release(&w);
		}
	} else if (r == -EINVAL && errlist_count(&errs) == 0 && errs.dropped == 0) {
		abort();
	}
	config_free(c);
	errlist_release(&errs);
	return 0;
}
