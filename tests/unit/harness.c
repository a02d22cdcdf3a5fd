#include "harness.h"

int harness_failed_checks;
jmp_buf harness_abort;

/* setjmp lives here, away from the loop's variables (-Wclobbered) */
static void run_one(const struct harness_test *t)
{
	if (setjmp(harness_abort) == 0)
		t->fn();
}

int harness_run(const char *file, const struct harness_test *tests, size_t n, int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		int before = harness_failed_checks;

		/* a name on the command line runs just that test */
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		run_one(&tests[i]);
		if (harness_failed_checks != before) {
			failed++;
			fprintf(stderr, "FAIL %s: %s\n", file, tests[i].name);
		} else {
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
