#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/config.h"
#include "tests/unit/harness.h"
#include "util/log.h"

static int parse(const char *text, struct config **ret, struct errlist *errs)
{
	return config_parse(ret, "aliasd.yaml", text, strlen(text), errs);
}

/* All errors joined as "file:line:col: msg\n". */
static void errs_text(const struct errlist *l, char *out, size_t outsz)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < l->len && o < outsz; i++) {
		char line[2048];

		error_format(&l->items[i], line, sizeof(line));
		o += (size_t)snprintf(out + o, outsz - o, "%s\n", line);
	}
}

TEST(config_full)
{
	static const char text[] = "repository:\n"
	                           "  url: https://github.com/acme/lambda-releases.git\n"
	                           "  ref: release\n"
	                           "  path: ./functions/\n"
	                           "  interval: 90s\n"
	                           "aws:\n"
	                           "  region: eu-west-1\n"
	                           "  endpoint: \"http://127.0.0.1:4566\"\n"
	                           "reconcile:\n"
	                           "  resync: 10m\n"
	                           "  concurrency: 4\n"
	                           "  rateLimit: 2.5\n"
	                           "  backoffMax: 30s\n"
	                           "server:\n"
	                           "  listen: \"[::1]:9999\"\n"
	                           "stateDir: /tmp/aliasd-state\n"
	                           "log: {format: json, level: debug}\n";
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;

	REQUIRE(parse(text, &c, &errs) == 0);
	CHECK_INT(errlist_count(&errs), 0);
	CHECK_STR(c->repo_url, "https://github.com/acme/lambda-releases.git");
	CHECK_STR(c->repo_ref, "release");
	CHECK_STR(c->repo_path, "functions");
	CHECK_U64(c->interval_ms, 90000);
	CHECK_STR(c->aws_region, "eu-west-1");
	CHECK_STR(c->aws_endpoint, "http://127.0.0.1:4566");
	CHECK_U64(c->resync_ms, 600000);
	CHECK_INT(c->concurrency, 4);
	CHECK(c->rate_limit == 2.5);
	CHECK_U64(c->backoff_max_ms, 30000);
	CHECK_STR(c->listen_host, "::1");
	CHECK_INT(c->listen_port, 9999);
	CHECK_STR(c->state_dir, "/tmp/aliasd-state");
	CHECK_INT(c->log_format, LOG_FORMAT_JSON);
	CHECK_INT(c->log_level, LOG_DEBUG);
	CHECK(c->token_file == NULL && c->webhook_secret_file == NULL);
	CHECK(c->allow_rewind);
	config_free(c);
	errlist_release(&errs);
}

TEST(config_defaults)
{
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;

	REQUIRE(parse("repository: {url: /srv/git/releases.git}\naws:\n  endpoint: \"\"\n", &c, &errs) == 0);
	CHECK_STR(c->repo_url, "/srv/git/releases.git");
	CHECK_STR(c->repo_ref, "main");
	CHECK_STR(c->repo_path, "");
	CHECK_U64(c->interval_ms, 60000);
	CHECK_U64(c->resync_ms, 600000);
	CHECK_INT(c->concurrency, 8);
	CHECK(c->rate_limit == 10.0);
	CHECK_STR(c->listen, "127.0.0.1:9410");
	CHECK_STR(c->listen_host, "127.0.0.1");
	CHECK_INT(c->listen_port, 9410);
	CHECK_STR(c->state_dir, "/var/lib/aliasd");
	CHECK(c->aws_endpoint == NULL);
	CHECK(c->aws_region == NULL);
	CHECK_INT(c->log_format, LOG_FORMAT_TEXT);
	CHECK_INT(c->log_level, LOG_INFO);
	CHECK(c->allow_rewind == true);
	config_free(c);
	errlist_release(&errs);
}

TEST(config_allow_rewind)
{
	static const struct {
		const char *text, *want; /* want NULL: parses, to `value` */
		bool value;
	} cases[] = {
	    {"repository:\n  url: x\n  allowRewind: false\n", NULL, false},
	    {"repository:\n  url: x\n  allowRewind: true\n", NULL, true},
	    {"repository:\n  url: x\n  allowRewind: ~\n", NULL, true},
	    {"repository:\n  url: x\n  allowRewind: maybe\n",
	     "aliasd.yaml:3:16: repository.allowRewind: expected true or false", false},
	    {"repository:\n  url: x\n  allowRewind: \"false\"\n",
	     "aliasd.yaml:3:16: repository.allowRewind: expected true or false", false},
	    {"repository:\n  url: x\n  allowRewind: [false]\n",
	     "aliasd.yaml:3:16: repository.allowRewind: expected true or false", false},
	    {"repository:\n  url: x\n  allowrewind: false\n",
	     "aliasd.yaml:3:3: repository.allowrewind: unknown key", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct errlist errs = ERRLIST_INIT;
		struct config *c = NULL;
		char all[4096];
		int r = parse(cases[i].text, &c, &errs);

		errs_text(&errs, all, sizeof(all));
		if (!cases[i].want) {
			CHECKF(r == 0, "case %zu: r=%d %s", i, r, all);
			CHECKF(c && c->allow_rewind == cases[i].value, "case %zu", i);
		} else {
			CHECKF(r == -EINVAL, "case %zu: r=%d", i, r);
			CHECKF(strstr(all, cases[i].want) != NULL, "case %zu: want '%s' in:\n%s", i,
			       cases[i].want, all);
		}
		config_free(c);
		errlist_release(&errs);
	}
}

TEST(config_warnings)
{
	static const struct {
		const char *text;
		int n;
		const char *want; /* in the first warning */
	} cases[] = {
	    {"repository: {url: x}\n", 0, NULL},
	    {"repository: {url: x}\nserver: {listen: \"127.0.0.1:80\"}\n", 0, NULL},
	    {"repository: {url: x}\nserver: {listen: \"127.1.2.3:80\"}\n", 0, NULL},
	    {"repository: {url: x}\nserver: {listen: \"[::1]:80\"}\n", 0, NULL},
	    {"repository: {url: x}\nserver: {listen: \"[::ffff:127.0.0.1]:80\"}\n", 0, NULL},
	    {"repository: {url: x}\nserver: {listen: ~}\n", 0, NULL},
	    {"repository: {url: x}\nserver:\n  listen: 0.0.0.0:9410\n", 1,
	     "aliasd.yaml:3:11: server.listen: the HTTP endpoint listens on all interfaces: "
	     "/metrics and /status are readable by anyone who can reach it"},
	    {"repository: {url: x}\nserver: {listen: \"[::]:9410\"}\n", 1, "listens on all interfaces"},
	    {"repository: {url: x}\nserver: {listen: \"10.1.2.3:9410\"}\n", 1,
	     "listens on 10.1.2.3, not on loopback"},
	    {"repository: {url: x}\nserver: {listen: \"[2001:db8::1]:9410\"}\n", 1,
	     "listens on 2001:db8::1, not on loopback"},
	    {"repository: {url: x}\nserver: {listen: \"localhost:9410\"}\n", 0, NULL},
	    {"repository:\n  url: http://git.example.com/r.git\n  tokenFile: /etc/aliasd/token\n", 1,
	     "aliasd.yaml:2:8: repository.url: the Git token is sent unencrypted over http://"},
	    {"repository:\n  url: HTTP://git.example.com/r.git\n  tokenFile: /etc/aliasd/token\n", 1,
	     "the Git token is sent unencrypted"},
	    {"repository:\n  url: https://git.example.com/r.git\n  tokenFile: /etc/aliasd/token\n", 0, NULL},
	    {"repository:\n  url: http://git.example.com/r.git\n", 0, NULL},
	    {"repository:\n  url: http://git.example.com/r.git\n  tokenFile: /t\nserver: {listen: "
	     "0.0.0.0:1}\n",
	     2, "listens on all interfaces"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct errlist errs = ERRLIST_INIT, warns = ERRLIST_INIT;
		struct config *c = NULL;
		char all[4096];

		REQUIRE(parse(cases[i].text, &c, &errs) == 0);
		CHECKF(config_warnings(c, &warns) == cases[i].n, "case %zu", i);
		CHECKF(errlist_count(&warns) == (size_t)cases[i].n, "case %zu: %zu", i,
		       errlist_count(&warns));
		CHECKF(config_warnings(c, NULL) == cases[i].n, "case %zu (NULL list)", i);
		errlist_sort(&warns);
		errs_text(&warns, all, sizeof(all));
		if (cases[i].want)
			CHECKF(strstr(all, cases[i].want) != NULL, "case %zu: want '%s' in:\n%s", i,
			       cases[i].want, all);
		config_free(c);
		errlist_release(&errs);
		errlist_release(&warns);
	}
	CHECK(config_host_is_loopback("127.0.0.1"));
	CHECK(config_host_is_loopback("::1"));
	CHECK(!config_host_is_loopback("128.0.0.1"));
	CHECK(!config_host_is_loopback("::"));
	CHECK(!config_host_is_loopback("localhost"));
}

TEST(config_all_errors_at_once)
{
	static const char text[] = "repository:\n"                  /* 1 */
	                           "  url: [a, b]\n"                /* 2 */
	                           "  interval: 60\n"               /* 3 */
	                           "  colour: blue\n"               /* 4 */
	                           "reconcile:\n"                   /* 5 */
	                           "  resync: 10 minutes\n"         /* 6 */
	                           "  concurrency: 0\n"             /* 7 */
	                           "  rateLimit: fast\n"            /* 8 */
	                           "server:\n"                      /* 9 */
	                           "  listen: localhost\n"          /* 10 */
	                           "log: {format: xml, level: 3}\n" /* 11 */
	                           "stateDir: relative/dir\n"       /* 12 */
	                           "extra: 1\n";                    /* 13 */
	struct errlist errs = ERRLIST_INIT;
	struct config *c = (struct config *)0x1;
	char all[8192];

	CHECK_INT(parse(text, &c, &errs), -EINVAL);
	CHECK(c == (struct config *)0x1); /* not written on failure */
	errlist_sort(&errs);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, "aliasd.yaml:2:8: repository.url: expected a string") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:3:13: repository.interval: ") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:4:3: repository.colour: unknown key") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:6:11: reconcile.resync: ") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:7:16: reconcile.concurrency") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:8:14: reconcile.rateLimit") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:10:11: server.listen: expected address:port") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:11:15: log.format: expected text or json") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:11:27: log.level: expected error") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:12:11: stateDir: must be an absolute path") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:13:1: extra: unknown key") != NULL, "%s", all);
	CHECKF(errlist_count(&errs) == 11, "%zu errors:\n%s", errlist_count(&errs), all);
	errlist_release(&errs);
}

TEST(config_aws_roles)
{
	static const char ok[] = "repository: {url: https://example.com/r.git}\n"
	                         "aws:\n"
	                         "  roleSessionName: aliasd-prod\n"
	                         "  roles:\n"
	                         "    \"210987654321\": arn:aws:iam::210987654321:role/aliasd\n"
	                         "    012345678901:\n"
	                         "      roleArn: arn:aws-cn:iam::012345678901:role/ops/aliasd\n"
	                         "      externalId: ext-42\n";
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;
	char all[8192];

	REQUIRE(parse(ok, &c, &errs) == 0);
	REQUIRE(c->n_roles == 2);
	CHECK_STR(c->roles[0].account, "210987654321");
	CHECK_STR(c->roles[0].role_arn, "arn:aws:iam::210987654321:role/aliasd");
	CHECK(c->roles[0].external_id == NULL);
	CHECK_STR(c->roles[1].account, "012345678901");
	CHECK_STR(c->roles[1].role_arn, "arn:aws-cn:iam::012345678901:role/ops/aliasd");
	CHECK_STR(c->roles[1].external_id, "ext-42");
	CHECK_STR(c->role_session_name, "aliasd-prod");
	config_free(c);
	c = NULL;

	REQUIRE(parse("repository: {url: https://example.com/r.git}\n", &c, &errs) == 0);
	CHECK_INT(c->n_roles, 0);
	CHECK_STR(c->role_session_name, "aliasd");
	config_free(c);
	c = NULL;

	static const char bad[] =
	    "repository: {url: https://example.com/r.git}\n"                                          /* 1 */
	    "aws:\n"                                                                                  /* 2 */
	    "  roleSessionName: \"a b\"\n"                                                            /* 3 */
	    "  roles:\n"                                                                              /* 4 */
	    "    \"1234\": arn:aws:iam::1234:role/x\n"                                                /* 5 */
	    "    \"111111111111\": arn:aws:iam::222222222222:role/x\n"                                /* 6 */
	    "    \"333333333333\": arn:aws:lambda:us-east-1:333333333333:function:f\n"                /* 7 */
	    "    \"444444444444\": {externalId: abc}\n"                                               /* 8 */
	    "    \"555555555555\": {roleArn: arn:aws:iam::555555555555:role/, colour: 1}\n"           /* 9 */
	    "    \"666666666666\": {roleArn: arn:aws:iam::666666666666:role/r, externalId: \"x\"}\n"; /* 10 */
	CHECK_INT(parse(bad, &c, &errs), -EINVAL);
	errlist_sort(&errs);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, "aliasd.yaml:3:20: aws.roleSessionName: 2..64 characters") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:5:5: aws.roles.1234: expected a 12-digit AWS account id") != NULL,
	       "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:6:21: aws.roles.111111111111: the role ARN "
	                   "arn:aws:iam::222222222222:role/x is not in account 111111111111") != NULL,
	       "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:7:21: aws.roles.333333333333: expected a role ARN such as "
	                   "arn:aws:iam::333333333333:role/aliasd") != NULL,
	       "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:8:21: aws.roles.444444444444: roleArn is required") != NULL, "%s",
	       all);
	CHECKF(strstr(all, "aliasd.yaml:9:31: aws.roles.555555555555: the role ARN") != NULL, "%s", all);
	CHECKF(strstr(all, "aws.roles.555555555555.colour: unknown key") != NULL, "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:10:31: aws.roles.666666666666: externalId: 2..1224") != NULL, "%s",
	       all);
	CHECKF(errlist_count(&errs) == 8, "%zu errors:\n%s", errlist_count(&errs), all);
	errlist_release(&errs);

	struct error e = ERROR_INIT;
	CHECK_INT(config_role_check("210987654321", "arn:aws:iam::210987654321:role/a", NULL, &e), 0);
	CHECK_INT(config_role_check("210987654321", "arn:aws:iam::210987654321:user/a", NULL, &e), -EINVAL);
	CHECK_INT(config_role_check("210987654321", "arn::iam::210987654321:role/a", NULL, &e), -EINVAL);
	CHECK_INT(config_role_check("210987654321", "arn:aws:iam::210987654321:role/a b", NULL, &e), -EINVAL);
	CHECK(config_role_session_valid("aliasd"));
	CHECK(!config_role_session_valid("a"));
}

TEST(config_structure_errors)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"", "empty configuration"},
	    {"# only a comment\n", "empty configuration"},
	    {"- a\n- b\n", "aliasd.yaml:1:1: configuration: expected a mapping"},
	    {"aws: {region: us-east-1}\n", "repository: required"},
	    {"repository: {ref: main}\n", "aliasd.yaml:1:13: repository.url: required"},
	    {"repository: {url: x}\n---\nrepository: {url: y}\n", "expected one YAML document"},
	    {"repository: {url: x, url: y}\n", "aliasd.yaml:1:22: duplicate key"},
	    {"repository: {url: x\n", "aliasd.yaml:"},
	    {"repository: &a {url: x}\naws: *a\n", "aliasd.yaml:1:13: anchors"},
	    {"repository: {url: x, path: ../etc}\n", "repository.path: must be a relative path"},
	    {"repository: {url: x, interval: 50ms}\n", "repository.interval: 50ms is out of range"},
	    {"repository: {url: x, interval: 2d}\n", "repository.interval: 2d is out of range"},
	    {"repository: {url: x, tokenFile: t, sshKeyFile: /k}\n", "must be an absolute path"},
	    {"repository: {url: x, tokenFile: /t, sshKeyFile: /k}\n", "not both"},
	    {"repository: {url: x, knownHostsFile: /k}\n", "only used with sshKeyFile"},
	    {"repository: {url: x}\naws: {region: US_EAST}\n", "aws.region: expected a region name"},
	    {"repository: {url: x}\naws: {endpoint: ftp://x}\n", "aws.endpoint: expected an http"},
	    {"repository: {url: x}\naws: [1]\n", "aliasd.yaml:2:6: aws: expected a mapping"},
	    {"repository: {url: x}\nreconcile: {concurrency: 65}\n", "reconcile.concurrency"},
	    {"repository: {url: x}\nreconcile: {concurrency: \"4\"}\n", "reconcile.concurrency"},
	    {"repository: {url: x}\nreconcile: {rateLimit: 101}\n", "reconcile.rateLimit"},
	    {"repository: {url: x}\nserver: {listen: \"127.0.0.1:70000\"}\n", "server.listen: port"},
	    {"repository: {url: x}\nserver: {listen: \"::1:80\"}\n", "needs brackets"},
	    {"repository: {url: x}\nserver: {listen: \":80\"}\n", "address missing"},
	    {"repository: {url: x}\nserver: {webhookSecretFile: /a/$HOME/b}\n", "only a leading"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct errlist errs = ERRLIST_INIT;
		struct config *c = NULL;
		char all[4096];
		int r = parse(cases[i].text, &c, &errs);

		errs_text(&errs, all, sizeof(all));
		CHECKF(r == -EINVAL, "case %zu: r=%d", i, r);
		CHECKF(strstr(all, cases[i].want) != NULL, "case %zu: want '%s' in:\n%s", i, cases[i].want,
		       all);
		config_free(c);
		errlist_release(&errs);
	}
}

TEST(config_listen)
{
	char host[64];
	uint16_t port = 1;
	struct error e = ERROR_INIT;

	CHECK_INT(config_listen_parse("127.0.0.1:0", host, sizeof(host), &port, &e), 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_INT(port, 0);
	CHECK_INT(config_listen_parse("[::]:9410", host, sizeof(host), &port, &e), 0);
	CHECK_STR(host, "::");
	CHECK_INT(port, 9410);
	CHECK_INT(config_listen_parse("[::1]9410", host, sizeof(host), &port, &e), -EINVAL);
	CHECK(config_listen_parse("host:-1", host, sizeof(host), &port, &e) < 0);
	CHECK_INT(config_listen_parse("host:", host, sizeof(host), &port, &e), -EINVAL);
	CHECK_INT(port, 9410);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

TEST(config_credentials_and_secrets)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[256], cfg[1024], all[4096];
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/git-token", dir);
	write_file(path, "ghp_secret123\n");
	snprintf(path, sizeof(path), "%s/webhook-secret", dir);
	write_file(path, "hooksecret");
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	snprintf(cfg, sizeof(cfg), "%s/aliasd.yaml", dir);
	write_file(cfg, "repository:\n"
	                "  url: https://example.com/r.git\n"
	                "  tokenFile: ${CREDENTIALS_DIRECTORY}/git-token\n"
	                "server:\n"
	                "  webhookSecretFile: $CREDENTIALS_DIRECTORY/webhook-secret\n");
	REQUIRE(config_load(&c, cfg, &errs) == 0);
	snprintf(path, sizeof(path), "%s/git-token", dir);
	CHECK_STR(c->token_file, path);
	CHECK_STR(c->token.ptr, "ghp_secret123");
	CHECK_STR(c->webhook_secret.ptr, "hooksecret");
	CHECK(c->token.secret && c->webhook_secret.secret);
	config_free(c);
	c = NULL;

	/* an empty secret and a missing one: both reported, at their keys */
	snprintf(path, sizeof(path), "%s/git-token", dir);
	write_file(path, "\n");
	snprintf(path, sizeof(path), "%s/webhook-secret", dir);
	unlink(path);
	CHECK_INT(config_load(&c, cfg, &errs), -EINVAL);
	CHECK(c == NULL);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, ":3:14: repository.tokenFile: ") && strstr(all, "git-token: empty"), "%s", all);
	CHECKF(strstr(all, ":5:22: server.webhookSecretFile: ") && strstr(all, "No such file"), "%s", all);
	CHECK(strstr(all, "ghp_") == NULL);
	errlist_release(&errs);

	/* unset variable */
	unsetenv("CREDENTIALS_DIRECTORY");
	CHECK_INT(config_load(&c, cfg, &errs), -EINVAL);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, ":3:14: repository.tokenFile: uses $CREDENTIALS_DIRECTORY, which is not set"),
	       "%s", all);
	errlist_release(&errs);

	/* missing config file */
	snprintf(path, sizeof(path), "%s/nope.yaml", dir);
	CHECK_INT(config_load(&c, path, &errs), -ENOENT);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, "nope.yaml: No such file or directory") != NULL, "%s", all);
	errlist_release(&errs);

	snprintf(path, sizeof(path), "%s/git-token", dir);
	unlink(path);
	unlink(cfg);
	rmdir(dir);
}

TEST(config_path_expand)
{
	char *out = NULL;
	struct error e = ERROR_INIT;

	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/aliasd.service", 1);
	CHECK_INT(config_path_expand("$CREDENTIALS_DIRECTORY/a", &out, &e), 0);
	CHECK_STR(out, "/run/credentials/aliasd.service/a");
	free(out);
	CHECK_INT(config_path_expand("${CREDENTIALS_DIRECTORY}/b", &out, &e), 0);
	CHECK_STR(out, "/run/credentials/aliasd.service/b");
	free(out);
	CHECK_INT(config_path_expand("/etc/aliasd/c", &out, &e), 0);
	CHECK_STR(out, "/etc/aliasd/c");
	free(out);
	out = NULL;
	CHECK_INT(config_path_expand("$CREDENTIALS_DIRECTORYX/a", &out, &e), -EINVAL);
	CHECK_INT(config_path_expand("$HOME/a", &out, &e), -EINVAL);
	CHECK(out == NULL);
	unsetenv("CREDENTIALS_DIRECTORY");
}

TEST(config_verify_and_notify)
{
	static const char text[] = "repository:\n"
	                           "  url: git@github.com:acme/lambda-releases.git\n"
	                           "  verify:\n"
	                           "    provider: ssh\n"
	                           "    allowedSignersFile: /etc/aliasd/allowed_signers\n"
	                           "notify:\n"
	                           "  github:\n"
	                           "    tokenFile: /etc/aliasd/github-token\n"
	                           "  webhooks:\n"
	                           "    - urlFile: /etc/aliasd/slack-url\n"
	                           "      format: slack\n"
	                           "      events: [applied, rolledBack, untrusted]\n"
	                           "    - urlFile: /etc/aliasd/hook-url\n";
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;

	REQUIRE(parse(text, &c, &errs) == 0);
	CHECK_INT(c->verify_provider, 1 /* VERIFY_PROVIDER_SSH */);
	CHECK_STR(c->verify_allowed_signers_file, "/etc/aliasd/allowed_signers");
	CHECK(c->verify_keyring_file == NULL);
	CHECK_INT(c->verify_file_at[0], 5);
	CHECK_STR(c->github_token_file, "/etc/aliasd/github-token");
	CHECK_STR(c->github_repository, "acme/lambda-releases");
	CHECK_STR(c->github_api_url, "https://api.github.com");
	CHECK_STR(c->github_context, "aliasd");
	REQUIRE(c->n_webhooks == 2);
	CHECK_STR(c->webhooks[0].url_file, "/etc/aliasd/slack-url");
	CHECK_INT(c->webhooks[0].format, CONFIG_WEBHOOK_SLACK);
	CHECK_INT(c->webhooks[0].events, 1 | 4 | 16);
	CHECK_INT(c->webhooks[1].format, CONFIG_WEBHOOK_JSON);
	CHECK_INT(c->webhooks[1].events, 0xff);
	/* verify is enforced and notify is sent: neither is a warning */
	CHECK_INT(config_warnings(c, &errs), 0);
	CHECK_INT((int)errs.len, 0);
	errlist_release(&errs);
	config_free(c);
	c = NULL;

	/* gpg, GitHub Enterprise: the repository from the URL on the API's host; explicit context */
	REQUIRE(parse("repository:\n"
	              "  url: https://ghe.example.com/platform/releases\n"
	              "  verify: {provider: gpg, keyringFile: /etc/aliasd/keys.asc}\n"
	              "notify:\n"
	              "  github:\n"
	              "    tokenFile: /etc/t\n"
	              "    apiUrl: http://ghe.example.com/api/v3/\n"
	              "    context: aliasd/prod\n",
	              &c, &errs) == 0);
	CHECK_INT(c->verify_provider, 2 /* VERIFY_PROVIDER_GPG */);
	CHECK_STR(c->verify_keyring_file, "/etc/aliasd/keys.asc");
	CHECK_STR(c->github_repository, "platform/releases");
	CHECK_STR(c->github_api_url, "http://ghe.example.com/api/v3");
	CHECK_STR(c->github_context, "aliasd/prod");
	CHECK_INT(c->n_webhooks, 0);
	CHECK_INT(config_warnings(c, &errs), 1);
	CHECKF(errs.len == 1 &&
	           strstr(errs.items[0].msg, "notify.github.apiUrl: the GitHub token is sent unencrypted") &&
	           errs.items[0].line == 7,
	       "%s", errs.len == 1 ? errs.items[0].msg : "");
	config_free(c);
	errlist_release(&errs);
}

TEST(config_verify_and_notify_errors)
{
	static const char text[] = "repository:\n"                          /* 1 */
	                           "  url: https://gitlab.com/acme/r.git\n" /* 2 */
	                           "  verify:\n"                            /* 3 */
	                           "    provider: ssh\n"                    /* 4 */
	                           "    keyringFile: /k.asc\n"              /* 5 */
	                           "    trust: all\n"                       /* 6 */
	                           "notify:\n"                              /* 7 */
	                           "  github:\n"                            /* 8 */
	                           "    apiUrl: ftp://api.github.com\n"     /* 9 */
	                           "    context: ''\n"                      /* 10 */
	                           "  webhooks:\n"                          /* 11 */
	                           "    - urlFile: relative/url\n"          /* 12 */
	                           "      format: teams\n"                  /* 13 */
	                           "      events: [applied, deployed]\n"    /* 14 */
	                           "    - format: json\n"                   /* 15 */
	                           "      events: []\n"                     /* 16 */
	                           "    - 42\n"                             /* 17 */
	                           "  email: ops@example.com\n";            /* 18 */
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;
	char all[8192];

	CHECK_INT(parse(text, &c, &errs), -EINVAL);
	CHECK(c == NULL);
	errlist_sort(&errs);
	errs_text(&errs, all, sizeof(all));
	CHECKF(
	    strstr(all, "aliasd.yaml:4:5: repository.verify.allowedSignersFile: required with provider ssh"),
	    "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:5:5: repository.verify.keyringFile: only used with provider gpg"),
	       "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:6:5: repository.verify.trust: unknown key"), "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:9:5: notify.github.tokenFile: required"), "%s", all);
	CHECKF(strstr(all,
	              "aliasd.yaml:9:5: notify.github.repository: required (repository.url is not a GitHub "
	              "URL)"),
	       "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:9:13: notify.github.apiUrl: expected an http:// or https:// URL"),
	       "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:10:14: notify.github.context: must not be empty"), "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:12:16: notify.webhooks[0].urlFile: must be an absolute path"), "%s",
	       all);
	CHECKF(strstr(all, "aliasd.yaml:13:15: notify.webhooks[0].format: expected slack or json"), "%s",
	       all);
	CHECKF(strstr(all, "aliasd.yaml:14:25: notify.webhooks[0].events: unknown event 'deployed'"), "%s",
	       all);
	CHECKF(strstr(all, "aliasd.yaml:15:7: notify.webhooks[1].urlFile: required"), "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:16:15: notify.webhooks[1].events: name at least one event"), "%s",
	       all);
	CHECKF(strstr(all, "aliasd.yaml:17:7: notify.webhooks[2]: expected a mapping"), "%s", all);
	CHECKF(strstr(all, "aliasd.yaml:18:3: notify.email: unknown key"), "%s", all);
	CHECKF(errlist_count(&errs) == 14, "%zu errors:\n%s", errlist_count(&errs), all);
	errlist_release(&errs);

	/* gpg with the ssh file; an unknown provider; a bad explicit repository */
	CHECK_INT(parse("repository:\n"
	                "  url: https://github.com/a/b\n"
	                "  verify: {provider: gpg, allowedSignersFile: /a}\n"
	                "notify: {github: {tokenFile: /t, repository: 'not a repo'}}\n",
	                &c, &errs),
	          -EINVAL);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, "repository.verify.keyringFile: required with provider gpg"), "%s", all);
	CHECKF(strstr(all, ":3:27: repository.verify.allowedSignersFile: only used with provider ssh"), "%s",
	       all);
	CHECKF(strstr(all, ":4:46: notify.github.repository: expected owner/name"), "%s", all);
	errlist_release(&errs);
	CHECK_INT(
	    parse("repository:\n  url: https://github.com/a/b\n  verify: {provider: x509}\n", &c, &errs),
	    -EINVAL);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, ":3:22: repository.verify.provider: expected ssh or gpg"), "%s", all);
	errlist_release(&errs);
	CHECK_INT(parse("repository:\n  url: https://github.com/a/b\n  verify: {}\n", &c, &errs), -EINVAL);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, "repository.verify.provider: required (ssh or gpg)"), "%s", all);
	errlist_release(&errs);
}

TEST(config_github_repository)
{
	static const struct {
		const char *url, *api_host, *want;
	} cases[] = {
	    {"https://github.com/acme/lambda-releases.git", NULL, "acme/lambda-releases"},
	    {"https://github.com/acme/lambda-releases", NULL, "acme/lambda-releases"},
	    {"https://x-access-token@GitHub.com/acme/r.v2/", NULL, "acme/r.v2"},
	    {"git@github.com:acme/r.git", NULL, "acme/r"},
	    {"ssh://git@github.com:22/acme/r.git", NULL, "acme/r"},
	    {"https://ghe.corp/acme/r.git", "ghe.corp", "acme/r"},
	    {"https://ghe.corp/acme/r.git", NULL, NULL},
	    {"https://gitlab.com/acme/r.git", NULL, NULL},
	    {"https://github.com/acme/r/tree/main", NULL, NULL},
	    {"https://github.com/acme", NULL, NULL},
	    {"/srv/git/r.git", NULL, NULL},
	    {"file:///srv/git/r.git", NULL, NULL},
	    {"https://github.com/ac_me/r", NULL, NULL},
	    {"https://github.com/acme/..", NULL, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		int r = config_github_repository(cases[i].url, cases[i].api_host, &out);

		if (cases[i].want)
			CHECKF(r == 0 && out && !strcmp(out, cases[i].want), "%s: %d %s", cases[i].url, r,
			       out ? out : "(null)");
		else
			CHECKF(r == -EINVAL && !out, "%s: %d %s", cases[i].url, r, out ? out : "(null)");
		free(out);
	}
}

TEST(config_notify_secrets)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[256], cfg[1024], all[4096];
	struct errlist errs = ERRLIST_INIT;
	struct config *c = NULL;

	REQUIRE(mkdtemp(dir));
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	snprintf(path, sizeof(path), "%s/github-token", dir);
	write_file(path, "ghp_statuses\n");
	snprintf(path, sizeof(path), "%s/slack-url", dir);
	write_file(path, "https://hooks.slack.example/T0/B0/xyz\n");
	snprintf(path, sizeof(path), "%s/allowed", dir);
	write_file(path, "alice@example.com ssh-ed25519 AAAA\n");
	snprintf(cfg, sizeof(cfg), "%s/aliasd.yaml", dir);
	write_file(cfg, "repository:\n"
	                "  url: https://github.com/acme/r.git\n"
	                "  verify:\n"
	                "    provider: ssh\n"
	                "    allowedSignersFile: ${CREDENTIALS_DIRECTORY}/allowed\n"
	                "notify:\n"
	                "  github: {tokenFile: $CREDENTIALS_DIRECTORY/github-token}\n"
	                "  webhooks:\n"
	                "    - urlFile: ${CREDENTIALS_DIRECTORY}/slack-url\n");
	REQUIRE(config_load(&c, cfg, &errs) == 0);
	CHECK_STR(c->github_token.ptr, "ghp_statuses");
	CHECK(c->github_token.secret);
	REQUIRE(c->n_webhooks == 1);
	CHECK_STR(c->webhooks[0].url.ptr, "https://hooks.slack.example/T0/B0/xyz");
	CHECK(c->webhooks[0].url.secret);
	config_free(c);
	c = NULL;

	/* a URL file that holds no URL (its content never shown), a missing allowed-signers file */
	snprintf(path, sizeof(path), "%s/slack-url", dir);
	write_file(path, "hooks.slack.example/secretpart\n");
	snprintf(path, sizeof(path), "%s/allowed", dir);
	unlink(path);
	CHECK_INT(config_load(&c, cfg, &errs), -EINVAL);
	errs_text(&errs, all, sizeof(all));
	CHECKF(strstr(all, ":9:16: notify.webhooks[0].urlFile: ") &&
	           strstr(all, "expected an http:// or https:// URL"),
	       "%s", all);
	CHECKF(strstr(all, ":5:25: repository.verify.allowedSignersFile: ") && strstr(all, "No such file"),
	       "%s", all);
	CHECK(strstr(all, "secretpart") == NULL);
	errlist_release(&errs);

	snprintf(path, sizeof(path), "%s/slack-url", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/github-token", dir);
	unlink(path);
	unlink(cfg);
	rmdir(dir);
	unsetenv("CREDENTIALS_DIRECTORY");
}

TEST_MAIN(config_full, config_aws_roles, config_defaults, config_allow_rewind, config_warnings,
          config_all_errors_at_once, config_structure_errors, config_listen, config_credentials_and_secrets,
          config_path_expand, config_verify_and_notify, config_verify_and_notify_errors,
          config_github_repository, config_notify_secrets)
