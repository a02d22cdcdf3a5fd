/*
 * test_cmd_daemon_sentstatus.c - the last commit status sent, kept across
 * restarts (cmd/daemon/sentstatus.h): it round-trips through the file, a
 * missing file is -ENOENT, anything this version did not write is -EBADMSG.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/daemon/sentstatus.h"
#include "tests/unit/harness.h"

#define REV1 "0123456789abcdef0123456789abcdef01234567"

TEST(text_round_trips_every_state)
{
	static const enum notify_state states[] = {NOTIFY_PENDING, NOTIFY_SUCCESS, NOTIFY_FAILURE,
	                                           NOTIFY_ERROR};

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct sent_status s = {REV1, states[i], "rollout orders/Prod 50% (step 1/2)"}, back;
		char *text = NULL;

		REQUIRE(sent_status_text(&text, &s) == 0);
		CHECK_INT(sent_status_parse(&back, text, strlen(text)), 0);
		CHECK_STR(back.rev, REV1);
		CHECK_INT((int)back.state, (int)states[i]);
		CHECK_STR(back.desc, s.desc);
		free(text);
	}
}

TEST(foreign_text_is_rejected)
{
	static const char *const bad[] = {
	    "",
	    "aliasd-github-status/1\n",
	    "aliasd-github-status/2\n" REV1 "\nsuccess\n1 function in sync\n",
	    "aliasd-github-status/1\n0123\nsuccess\nshort revision\n",
	    "aliasd-github-status/1\n0123456789ABCDEF0123456789ABCDEF01234567\nsuccess\nupper case\n",
	    "aliasd-github-status/1\n" REV1 "\nsucceeded\nunknown state\n",
	    "aliasd-github-status/1\n" REV1 "\nsuccess\nno final newline",
	    "aliasd-github-status/1\n" REV1 "\nsuccess\ntrailing\nline\n",
	};
	struct sent_status s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(sent_status_parse(&s, bad[i], strlen(bad[i])) == -EBADMSG, "accepted: %s", bad[i]);
	/* a NUL inside a line (the description "a\0b": all four lines present otherwise) */
	static const char nul[] = "aliasd-github-status/1\n" REV1 "\nsuccess\na\0b\n";
	CHECK_INT(sent_status_parse(&s, nul, sizeof(nul) - 1), -EBADMSG);
	CHECK_INT(sent_status_parse(&s, nul, sizeof(nul) - 5), -EBADMSG); /* and without it: 3 lines */
}

TEST(file_round_trips_and_missing_is_enoent)
{
	char dir[] = "/tmp/aliasd-sentstatus-XXXXXX", path[64];
	struct sent_status s = {REV1, NOTIFY_SUCCESS, "2 functions in sync"}, back;
	struct error err = ERROR_INIT;
	FILE *f;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, SENT_STATUS_FILE_NAME);
	CHECK_INT(sent_status_read(&back, path, &err), -ENOENT);
	CHECK_INT(sent_status_write(path, &s, &err), 0);
	CHECK_INT(sent_status_read(&back, path, &err), 0);
	CHECK_STR(back.rev, REV1);
	CHECK_INT((int)back.state, (int)NOTIFY_SUCCESS);
	CHECK_STR(back.desc, "2 functions in sync");
	/* corrupt: -EBADMSG with the path in the message */
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fputs("garbage\n", f);
	fclose(f);
	CHECK_INT(sent_status_read(&back, path, &err), -EBADMSG);
	CHECKF(strstr(err.msg, path) != NULL, "message: %s", err.msg);
	unlink(path);
	rmdir(dir);
}

TEST_MAIN(text_round_trips_every_state, foreign_text_is_rejected, file_round_trips_and_missing_is_enoent)
