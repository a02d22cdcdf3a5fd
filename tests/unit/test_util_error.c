#include <errno.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "util/error.h"

TEST(kind_set_and_reset)
{
	struct error err = ERROR_INIT;

	CHECK_INT(error_kind_of(&err), ERROR_KIND_UNSPECIFIED);
	CHECK_INT(error_set(&err, -ENOENT, "no such function"), -ENOENT);
	CHECK_INT(error_set_kind(&err, ERROR_KIND_NOT_FOUND), -ENOENT);
	CHECK_INT(error_kind_of(&err), ERROR_KIND_NOT_FOUND);
	/* a new message forgets the old kind: the one who sets it says it again */
	error_set(&err, -ENOENT, "no credentials");
	CHECK_INT(error_kind_of(&err), ERROR_KIND_UNSPECIFIED);
	error_set_kind(&err, ERROR_KIND_CREDENTIALS);
	/* a prefix keeps it */
	error_prefix(&err, "GetFunction");
	CHECK_INT(error_kind_of(&err), ERROR_KIND_CREDENTIALS);
	CHECK_STR(err.msg, "GetFunction: no credentials");
	error_clear(&err);
	CHECK_INT(err.kind, ERROR_KIND_UNSPECIFIED);
	CHECK_INT(error_kind_of(&err), ERROR_KIND_UNSPECIFIED);
}

TEST(kind_null_and_names)
{
	CHECK_INT(error_set_kind(NULL, ERROR_KIND_TERMINAL), 0);
	CHECK_INT(error_kind_of(NULL), ERROR_KIND_UNSPECIFIED);
	CHECK_STR(error_kind_name(ERROR_KIND_NOT_FOUND), "not-found");
	CHECK_STR(error_kind_name(ERROR_KIND_CONFLICT), "conflict");
	CHECK_STR(error_kind_name(ERROR_KIND_TRANSIENT), "transient");
	CHECK_STR(error_kind_name(ERROR_KIND_CREDENTIALS), "credentials");
	CHECK_STR(error_kind_name(ERROR_KIND_TERMINAL), "terminal");
	CHECK_STR(error_kind_name(ERROR_KIND_CANCELED), "canceled");
	CHECK_STR(error_kind_name(ERROR_KIND_UNSPECIFIED), "unspecified");
	CHECK_STR(error_kind_name((enum error_kind)99), "unspecified");
}

TEST_MAIN(kind_set_and_reset, kind_null_and_names)
