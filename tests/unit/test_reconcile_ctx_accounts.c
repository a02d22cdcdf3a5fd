/*
 * test_reconcile_ctx_accounts.c - clients keyed by (account, region): a
 * function ARN's account read, an account of aws.roles gets a client (and
 * rate limiter) of its own per region, the default account shares the
 * default clients, and an account that is neither is refused with the fix
 * named.  No network: nothing here sends a request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/internal.h"
#include "tests/unit/harness.h"

TEST(function_account)
{
	struct manifest_function fn = {0};
	char a[13];

	fn.name = (char *)"plain-name";
	CHECK_INT(reconcile_function_account(&fn, a), 0);
	CHECK_STR(a, "");
	fn.name = (char *)"arn:aws:lambda:eu-west-1:210987654321:function:pay";
	CHECK_INT(reconcile_function_account(&fn, a), 0);
	CHECK_STR(a, "210987654321");
	fn.name = (char *)"arn:aws-cn:lambda:cn-north-1:123456789012:function:x:live";
	CHECK_INT(reconcile_function_account(&fn, a), 0);
	CHECK_STR(a, "123456789012");
	fn.name = (char *)"arn:aws:lambda:eu-west-1:2109876543:function:pay"; /* 10 digits */
	CHECK_INT(reconcile_function_account(&fn, a), -EINVAL);
	fn.name = (char *)"arn:aws:lambda:eu-west-1";
	CHECK_INT(reconcile_function_account(&fn, a), -EINVAL);
}

static void count_cb(const char *account, const char *region, struct aws_client *c, void *arg)
{
	size_t *n = arg;

	(void)c;
	if (account && region)
		n[!strcmp(account, "210987654321")]++;
}

TEST(clients_by_account_and_region)
{
	struct reconcile_role roles[] = {
	    {.account = "210987654321", .role_arn = "arn:aws:iam::210987654321:role/aliasd"},
	    {.account = "333333333333", .role_arn = "arn:aws:iam::333333333333:role/x", .external_id = "e"},
	};
	struct reconcile_ctx_options o = {0};
	struct reconcile_ctx *ctx = NULL;
	struct aws_client *def, *def2, *a1, *a1b, *a2, *b1, *x;
	struct error err = ERROR_INIT;
	size_t n[2] = {0, 0};

	o.client.region = "us-east-1";
	o.client.endpoint = "http://127.0.0.1:9";
	o.roles = roles;
	o.n_roles = 2;
	REQUIRE(reconcile_ctx_new(&ctx, &o, &err) == 0);

	REQUIRE(reconcile_ctx_client(ctx, NULL, &def, &err) == 0);
	REQUIRE(reconcile_ctx_account_client(ctx, "", "us-east-1", &def2, &err) == 0);
	CHECK(def == def2); /* the default account and region: one client */
	REQUIRE(reconcile_ctx_account_client(ctx, "210987654321", NULL, &a1, &err) == 0);
	REQUIRE(reconcile_ctx_account_client(ctx, "210987654321", "us-east-1", &a1b, &err) == 0);
	CHECK(a1 == a1b);
	CHECK(a1 != def); /* own client, own rate limiter */
	REQUIRE(reconcile_ctx_account_client(ctx, "210987654321", "eu-west-1", &a2, &err) == 0);
	CHECK(a2 != a1);
	CHECK_STR(aws_client_region(a2), "eu-west-1");
	REQUIRE(reconcile_ctx_account_client(ctx, "333333333333", NULL, &b1, &err) == 0);
	CHECK(b1 != a1 && b1 != def);
	/* one assume-role provider per account, shared by its regions */
	CHECK(ctx->roles[0].provider != NULL);
	CHECK(ctx->roles[1].provider != NULL);
	CHECK(ctx->roles[0].provider != ctx->roles[1].provider);

	reconcile_ctx_clients_foreach(ctx, count_cb, n);
	CHECK_INT(n[0], 2); /* default us-east-1, 333.. us-east-1 */
	CHECK_INT(n[1], 2); /* 210.. in two regions */

	/* an account with no role: the daemon's own is fine, another is refused */
	memcpy(ctx->own_account, "111111111111", 13); /* as GetCallerIdentity would have said */
	REQUIRE(reconcile_ctx_account_client(ctx, "111111111111", NULL, &x, &err) == 0);
	CHECK(x == def);
	err = (struct error)ERROR_INIT;
	CHECK_INT(reconcile_ctx_account_client(ctx, "444444444444", NULL, &x, &err), -EACCES);
	CHECK_INT(error_kind_of(&err), ERROR_KIND_TERMINAL);
	CHECK(strstr(err.msg, "add aws.roles.444444444444") != NULL);
	CHECK(strstr(err.msg, "111111111111") != NULL);
	reconcile_ctx_free(ctx);
}

TEST(no_roles_means_default)
{
	struct reconcile_ctx_options o = {0};
	struct reconcile_ctx *ctx = NULL;
	struct aws_client *def, *x;
	struct error err = ERROR_INIT;

	o.client.region = "us-east-1";
	o.client.endpoint = "http://127.0.0.1:9";
	REQUIRE(reconcile_ctx_new(&ctx, &o, &err) == 0);
	REQUIRE(reconcile_ctx_client(ctx, NULL, &def, &err) == 0);
	/* no aws.roles: every ARN uses the default credentials, no STS call */
	REQUIRE(reconcile_ctx_account_client(ctx, "444444444444", NULL, &x, &err) == 0);
	CHECK(x == def);
	CHECK_STR(ctx->own_account, "");
	reconcile_ctx_free(ctx);
}

TEST(bad_roles_refused)
{
	struct reconcile_role roles[] = {{.account = "12345", .role_arn = "arn:aws:iam::12345:role/x"}};
	struct reconcile_ctx_options o = {0};
	struct reconcile_ctx *ctx = NULL;
	struct error err = ERROR_INIT;

	o.roles = roles;
	o.n_roles = 1;
	CHECK_INT(reconcile_ctx_new(&ctx, &o, &err), -EINVAL);
	CHECK(ctx == NULL);
}

TEST_MAIN(function_account, clients_by_account_and_region, no_roles_means_default, bad_roles_refused)
