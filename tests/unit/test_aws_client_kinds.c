/*
 * test_aws_client_kinds.c - every AWS failure knows its kind (aws/client.h):
 * by AWS error code first, then HTTP status, never by message text; and the
 * kinds aws_client_call() gives local failures (credentials, transport, stop).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aws/client.h"
#include "tests/unit/harness.h"

TEST(kind_by_code)
{
	static const struct {
		long status;
		const char *code;
		enum error_kind kind;
	} cases[] = {
	    {404, "ResourceNotFoundException", ERROR_KIND_NOT_FOUND},
	    {409, "ResourceConflictException", ERROR_KIND_CONFLICT},
	    {412, "PreconditionFailedException", ERROR_KIND_CONFLICT},
	    {412, "PreconditionFailed", ERROR_KIND_CONFLICT},
	    {429, "TooManyRequestsException", ERROR_KIND_TRANSIENT},
	    {400, "Throttling", ERROR_KIND_TRANSIENT},
	    {400, "ThrottlingException", ERROR_KIND_TRANSIENT},
	    {500, "ServiceException", ERROR_KIND_TRANSIENT},
	    {502, "ResourceNotReadyException", ERROR_KIND_TRANSIENT},
	    {403, "ExpiredTokenException", ERROR_KIND_CREDENTIALS},
	    {403, "UnrecognizedClientException", ERROR_KIND_CREDENTIALS},
	    {403, "InvalidSignatureException", ERROR_KIND_CREDENTIALS},
	    {403, "SignatureDoesNotMatch", ERROR_KIND_CREDENTIALS},
	    {403, "AccessDeniedException", ERROR_KIND_TERMINAL},
	    {400, "InvalidParameterValueException", ERROR_KIND_TERMINAL},
	    {400, "CodeStorageExceededException", ERROR_KIND_TERMINAL},
	    {400, "ValidationException", ERROR_KIND_TERMINAL},
	    /* the code wins over the status */
	    {400, "ResourceNotFoundException", ERROR_KIND_NOT_FOUND},
	    /* an unknown code: the status still says what happened */
	    {409, "SomethingNew", ERROR_KIND_CONFLICT},
	    {503, "SomethingNew", ERROR_KIND_TRANSIENT},
	    {429, "SomethingNew", ERROR_KIND_TRANSIENT},
	    {404, "SomethingNew", ERROR_KIND_TERMINAL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECKF(aws_error_kind(cases[i].status, cases[i].code) == cases[i].kind, "%ld %s -> %s",
		       cases[i].status, cases[i].code,
		       error_kind_name(aws_error_kind(cases[i].status, cases[i].code)));
}

TEST(kind_by_status)
{
	/* a 404 without ResourceNotFoundException (a wrong endpoint) is no missing function */
	CHECK(aws_error_kind(404, "") == ERROR_KIND_TERMINAL);
	CHECK(aws_error_kind(404, NULL) == ERROR_KIND_TERMINAL);
	CHECK(aws_error_kind(409, "") == ERROR_KIND_CONFLICT);
	CHECK(aws_error_kind(412, "") == ERROR_KIND_CONFLICT);
	CHECK(aws_error_kind(429, "") == ERROR_KIND_TRANSIENT);
	CHECK(aws_error_kind(500, "") == ERROR_KIND_TRANSIENT);
	CHECK(aws_error_kind(504, NULL) == ERROR_KIND_TRANSIENT);
	CHECK(aws_error_kind(400, "") == ERROR_KIND_TERMINAL);
	CHECK(aws_error_kind(403, "") == ERROR_KIND_TERMINAL);
	CHECK(aws_error_kind(418, "") == ERROR_KIND_TERMINAL);
}

TEST(kind_of_transport)
{
	CHECK(aws_transport_kind(-ECONNREFUSED) == ERROR_KIND_TRANSIENT);
	CHECK(aws_transport_kind(-ECONNRESET) == ERROR_KIND_TRANSIENT);
	CHECK(aws_transport_kind(-ETIMEDOUT) == ERROR_KIND_TRANSIENT);
	CHECK(aws_transport_kind(-ECANCELED) == ERROR_KIND_CANCELED);
	CHECK(aws_transport_kind(-EPROTO) == ERROR_KIND_TERMINAL);
	CHECK(aws_transport_kind(-E2BIG) == ERROR_KIND_TERMINAL);
	CHECK(aws_transport_kind(-EINVAL) == ERROR_KIND_TERMINAL);
}

/* A 127.0.0.1 port nobody listens on. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static const struct aws_request list_req = {
    .operation = "ListVersionsByFunction",
    .method = "GET",
    .segments = {"functions", "f", "versions"},
    .n_segments = 3,
};

TEST(call_transport_failure_is_transient)
{
	struct aws_credentials creds = {0};
	struct retry_policy rp = {1, 1, 1, 1};
	struct aws_client_options o = {.region = "us-east-1", .retry = &rp, .static_credentials = &creds};
	struct aws_client *c = NULL;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct error err = ERROR_INIT;
	char ep[64];
	int port = closed_port();

	REQUIRE(port > 0);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
	o.endpoint = ep;
	creds.access_key_id = (char *)"AKIDEXAMPLE";
	creds.secret_access_key = (char *)"secret";
	unsetenv("AWS_ENDPOINT_URL_LAMBDA");
	unsetenv("AWS_ENDPOINT_URL");
	REQUIRE(aws_client_new(&c, &o, &err) == 0);
	CHECK_INT(aws_client_call(c, &list_req, NULL, NULL, &aerr), -ECONNREFUSED);
	CHECK(aerr.err.kind == ERROR_KIND_TRANSIENT);
	aws_client_stop(c);
	CHECK_INT(aws_client_call(c, &list_req, NULL, NULL, &aerr), -ECANCELED);
	CHECK(aerr.err.kind == ERROR_KIND_CANCELED);
	aws_client_free(c);
}

TEST(call_without_credentials_is_credentials)
{
	struct retry_policy rp = {1, 1, 1, 1};
	struct aws_client_options o = {.region = "us-east-1", .retry = &rp};
	struct aws_client *c = NULL;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct error err = ERROR_INIT;
	char home[] = "/tmp/aliasd-test-kinds-XXXXXX", ep[64];
	static const char *const unset[] = {
	    "AWS_ACCESS_KEY_ID",
	    "AWS_SECRET_ACCESS_KEY",
	    "AWS_SESSION_TOKEN",
	    "AWS_PROFILE",
	    "AWS_CONFIG_FILE",
	    "AWS_SHARED_CREDENTIALS_FILE",
	    "AWS_WEB_IDENTITY_TOKEN_FILE",
	    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	    "AWS_ENDPOINT_URL_LAMBDA",
	    "AWS_ENDPOINT_URL",
	};

	REQUIRE(mkdtemp(home) != NULL);
	for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		unsetenv(unset[i]);
	setenv("HOME", home, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", closed_port());
	o.endpoint = ep;
	REQUIRE(aws_client_new(&c, &o, &err) == 0);
	CHECK(aws_client_call(c, &list_req, NULL, NULL, &aerr) < 0);
	CHECK(aerr.err.kind == ERROR_KIND_CREDENTIALS);
	/* the credential lookup's -ENOENT is no ResourceNotFoundException */
	CHECK(!aws_error_is(&aerr, "ResourceNotFoundException"));
	CHECKF(strstr(aerr.err.msg, "no AWS credentials found: set AWS_PROFILE") != NULL, "%s", aerr.err.msg);
	CHECK(aerr.status == 0);
	aws_client_free(c);
	rmdir(home);
}

TEST_MAIN(kind_by_code, kind_by_status, kind_of_transport, call_transport_failure_is_transient,
          call_without_credentials_is_credentials)
