/*
 * test_manifest_verify.c - commit signature verification on real signed commits.
 *
 * The fixtures are made by the real tools in a temporary directory that this
 * binary creates and removes: ed25519 keys from ssh-keygen, OpenPGP keys from
 * `gpg --quick-gen-key` in temporary GNUPGHOMEs, commits signed by
 * `git commit -S` (gpg.format=ssh and openpgp), and tampered copies written
 * back with `git hash-object -t commit -w`.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/verify.h"
#include "tests/unit/harness.h"

static char tmp[256];
static char repo[300], bare[300], allowed[300], allowed_other[300], keyring[300], keyring_other[300],
    state[300];
/* commit ids */
static char c_unsigned[64], c_ssh_alice[64], c_ssh_mallory[64], c_ssh_badsig[64], c_ssh_badmsg[64],
    c_gpg_gina[64], c_gpg_otto[64], c_gpg_badmsg[64], c_gpg_badsig[64], c_ssh_big[64];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* The first line `cmd` prints, into out. */
static int capture(char *out, size_t outsz, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	if (!p)
		return -1;
	if (!fgets(out, (int)outsz, p))
		out[0] = '\0';
	pclose(p);
	n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return n ? 0 : -1;
}

static int head_of(char *out, size_t outsz)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "git -C %s rev-parse HEAD", repo);
	return capture(out, outsz, cmd);
}

/*
 * Write a copy of commit `id` with either one base64 character of its
 * signature changed (sig = 1) or its message changed (sig = 0), as a new
 * object; its id into out.
 */
static int tamper(const char *id, int sig, char *out, size_t outsz)
{
	char cmd[1024], path[300], *data = NULL, *end, *p;
	size_t len = 0, cap = 0;
	FILE *f;
	int c;

	snprintf(cmd, sizeof(cmd), "git -C %s cat-file commit %s", repo, id);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF) {
		if (len + 2 > cap) {
			cap = cap ? 2 * cap : 4096;
			data = realloc(data, cap);
			if (!data)
				return -1;
		}
		data[len++] = (char)c;
	}
	pclose(f);
	if (!data)
		return -1;
	data[len] = '\0';
	if (sig) {
		/* the last full line of base64 before the END armor line: the signature bytes themselves */
		end = strstr(data, "\n -----END ");
		if (!end)
			end = strstr(data, "\n =");
		if (!end)
			goto fail;
		p = end - 1;
		while (p > data && *p != '\n')
			p--;
		if (end - p < 12) { /* a short tail line: use the one before */
			end = p;
			p = end - 1;
			while (p > data && *p != '\n')
				p--;
		}
		p += (end - p) / 2;
		*p = *p == 'A' ? 'B' : 'A';
	} else {
		p = strstr(data, "\n\nhello");
		if (!p)
			goto fail;
		p[2] = 'j';
	}
	snprintf(path, sizeof(path), "%s/tampered", tmp);
	f = fopen(path, "w");
	if (!f)
		goto fail;
	fwrite(data, 1, len, f);
	fclose(f);
	free(data);
	snprintf(cmd, sizeof(cmd), "git -C %s hash-object -t commit -w %s", repo, path);
	return capture(out, outsz, cmd);
fail:
	free(data);
	return -1;
}

static int setup(void)
{
	char *home;

	snprintf(tmp, sizeof(tmp), "%s/aliasd-verify-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(repo, sizeof(repo), "%s/repo", tmp);
	snprintf(bare, sizeof(bare), "%s/bare.git", tmp);
	snprintf(allowed, sizeof(allowed), "%s/allowed_signers", tmp);
	snprintf(allowed_other, sizeof(allowed_other), "%s/allowed_signers_other", tmp);
	snprintf(keyring, sizeof(keyring), "%s/trusted.asc", tmp);
	snprintf(keyring_other, sizeof(keyring_other), "%s/other.asc", tmp);
	snprintf(state, sizeof(state), "%s/state", tmp);
	home = tmp; /* git and gpg must not read the user's configuration */
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("GNUPGHOME");

	if (sh("mkdir -p %s && git init -q -b main %s && git -C %s config user.name Test && "
	       "git -C %s config user.email test@example.com",
	       state, repo, repo, repo) ||
	    sh("ssh-keygen -q -t ed25519 -N '' -C alice -f %s/alice && "
	       "ssh-keygen -q -t ed25519 -N '' -C mallory -f %s/mallory",
	       tmp, tmp) ||
	    sh("printf 'alice@example.com %%s\\n' \"$(cat %s/alice.pub)\" > %s && "
	       "printf 'mallory@example.com %%s\\n' \"$(cat %s/mallory.pub)\" > %s",
	       tmp, allowed, tmp, allowed_other))
		return -1;

	if (sh("git -C %s commit -q --allow-empty -m 'hello unsigned'", repo) ||
	    head_of(c_unsigned, sizeof(c_unsigned)))
		return -1;
	if (sh("git -C %s -c gpg.format=ssh -c user.signingkey=%s/alice commit -q -S --allow-empty "
	       "-m 'hello from alice'",
	       repo, tmp) ||
	    head_of(c_ssh_alice, sizeof(c_ssh_alice)))
		return -1;
	if (sh("git -C %s -c gpg.format=ssh -c user.signingkey=%s/mallory commit -q -S --allow-empty "
	       "-m 'hello from mallory'",
	       repo, tmp) ||
	    head_of(c_ssh_mallory, sizeof(c_ssh_mallory)))
		return -1;
	/* a 1 MiB message: more than a pipe holds */
	if (sh("head -c 1048576 /dev/zero | tr '\\0' x > %s/big && git -C %s -c gpg.format=ssh "
	       "-c user.signingkey=%s/alice commit -q -S --allow-empty -F %s/big",
	       tmp, repo, tmp, tmp) ||
	    head_of(c_ssh_big, sizeof(c_ssh_big)))
		return -1;
	if (tamper(c_ssh_alice, 1, c_ssh_badsig, sizeof(c_ssh_badsig)) ||
	    tamper(c_ssh_alice, 0, c_ssh_badmsg, sizeof(c_ssh_badmsg)))
		return -1;

	/* OpenPGP: gina is trusted, otto is not */
	if (sh("mkdir -m 700 %s/g1 %s/g2 && "
	       "GNUPGHOME=%s/g1 gpg -q --batch --passphrase '' --quick-gen-key 'Gina <gina@example.com>' "
	       "ed25519 sign never 2>/dev/null && "
	       "GNUPGHOME=%s/g2 gpg -q --batch --passphrase '' --quick-gen-key 'Otto <otto@example.com>' "
	       "ed25519 sign never 2>/dev/null && "
	       "GNUPGHOME=%s/g1 gpg -q --batch --armor --export > %s && "
	       "GNUPGHOME=%s/g2 gpg -q --batch --armor --export > %s",
	       tmp, tmp, tmp, tmp, tmp, keyring, tmp, keyring_other))
		return -1;
	if (sh("GNUPGHOME=%s/g1 git -C %s -c gpg.format=openpgp -c user.signingkey=gina@example.com "
	       "commit -q -S --allow-empty -m 'hello from gina'",
	       tmp, repo) ||
	    head_of(c_gpg_gina, sizeof(c_gpg_gina)))
		return -1;
	if (sh("GNUPGHOME=%s/g2 git -C %s -c gpg.format=openpgp -c user.signingkey=otto@example.com "
	       "commit -q -S --allow-empty -m 'hello from otto'",
	       tmp, repo) ||
	    head_of(c_gpg_otto, sizeof(c_gpg_otto)))
		return -1;
	if (tamper(c_gpg_gina, 0, c_gpg_badmsg, sizeof(c_gpg_badmsg)) ||
	    tamper(c_gpg_gina, 1, c_gpg_badsig, sizeof(c_gpg_badsig)))
		return -1;
	sh("GNUPGHOME=%s/g1 gpgconf --kill all; GNUPGHOME=%s/g2 gpgconf --kill all", tmp, tmp);

	/* the daemon verifies in its bare cache: every object, tampered ones included */
	if (sh("git clone -q --no-hardlinks --bare %s %s && cp -r %s/.git/objects/. %s/objects/", repo, bare,
	       repo, bare))
		return -1;
	return 0;
}

static void teardown(void)
{
	if (!*tmp)
		return;
	sh("GNUPGHOME=%s/state/gnupg gpgconf --kill all >/dev/null 2>&1; rm -rf %s", tmp, tmp);
}

static struct verify_config ssh_cfg(void)
{
	return (struct verify_config){
	    .provider = VERIFY_PROVIDER_SSH, .allowed_signers_file = allowed, .state_dir = state};
}

static struct verify_config gpg_cfg(void)
{
	return (struct verify_config){
	    .provider = VERIFY_PROVIDER_GPG, .keyring_file = keyring, .state_dir = state};
}

static enum verify_verdict verdict(const char *path, const char *commit, const struct verify_config *cfg,
                                   struct verify_result *res)
{
	struct error err = ERROR_INIT;
	int r;

	memset(res, 0, sizeof(*res));
	res->verdict = (enum verify_verdict) - 1;
	r = manifest_commit_verify(res, path, commit, cfg, &err);
	CHECKF(r == 0, "verify %s: %d %s", commit, r, err.msg);
	return res->verdict;
}

TEST(ssh_trusted)
{
	struct verify_config cfg = ssh_cfg();
	struct verify_result res;

	CHECK_INT(verdict(repo, c_ssh_alice, &cfg, &res), VERIFY_TRUSTED);
	CHECK_STR(res.signer, "alice@example.com");
	CHECK(!strncmp(res.key, "SHA256:", 7) && strlen(res.key) > 20);
	CHECKF(strstr(res.reason, "good signature by alice@example.com (SHA256:"), "%s", res.reason);
	/* the same in the bare cache */
	CHECK_INT(verdict(bare, c_ssh_alice, &cfg, &res), VERIFY_TRUSTED);
	CHECK_STR(res.signer, "alice@example.com");
}

TEST(ssh_unsigned)
{
	struct verify_config cfg = ssh_cfg();
	struct verify_result res;

	CHECK_INT(verdict(bare, c_unsigned, &cfg, &res), VERIFY_UNSIGNED);
	CHECK_STR(res.reason, "unsigned commit");
	CHECK_STR(res.key, "");
}

TEST(ssh_unknown_key_is_named)
{
	struct verify_config cfg = ssh_cfg();
	struct verify_result res, res2;
	char fp[128], cmd[512];

	snprintf(cmd, sizeof(cmd), "ssh-keygen -l -f %s/mallory.pub | cut -d' ' -f2", tmp);
	REQUIRE(capture(fp, sizeof(fp), cmd) == 0);
	CHECK_INT(verdict(bare, c_ssh_mallory, &cfg, &res), VERIFY_UNKNOWN_KEY);
	CHECK_STR(res.key, fp);
	CHECKF(!strncmp(res.reason, "signed by unknown key SHA256:", 29), "%s", res.reason);
	CHECK(strstr(res.reason, fp) != NULL);
	/* and with mallory trusted instead, alice is the unknown one */
	cfg.allowed_signers_file = allowed_other;
	CHECK_INT(verdict(bare, c_ssh_mallory, &cfg, &res2), VERIFY_TRUSTED);
	CHECK_STR(res2.signer, "mallory@example.com");
	CHECK_INT(verdict(bare, c_ssh_alice, &cfg, &res2), VERIFY_UNKNOWN_KEY);
}

TEST(ssh_tampered)
{
	struct verify_config cfg = ssh_cfg();
	struct verify_result res;

	CHECK_INT(verdict(bare, c_ssh_badsig, &cfg, &res), VERIFY_BAD_SIGNATURE);
	CHECKF(!strncmp(res.reason, "bad signature", 13), "%s", res.reason);
	CHECK_INT(verdict(bare, c_ssh_badmsg, &cfg, &res), VERIFY_BAD_SIGNATURE);
	CHECKF(!strncmp(res.reason, "bad signature", 13), "%s", res.reason);
	CHECK_STR(res.signer, "");
}

TEST(provider_mismatch)
{
	struct verify_config s = ssh_cfg(), g = gpg_cfg();
	struct verify_result res;

	CHECK_INT(verdict(bare, c_gpg_gina, &s, &res), VERIFY_PROVIDER_MISMATCH);
	CHECK_STR(res.reason, "signed with an OpenPGP (gpg) signature, but ssh is configured");
	CHECK_INT(verdict(bare, c_ssh_alice, &g, &res), VERIFY_PROVIDER_MISMATCH);
	CHECK_STR(res.reason, "signed with an SSH signature, but gpg is configured");
}

TEST(gpg_trusted_unknown_tampered)
{
	struct verify_config cfg = gpg_cfg();
	struct verify_result res;
	char fpr[128], cmd[512];

	snprintf(cmd, sizeof(cmd),
	         "GNUPGHOME=%s/g1 gpg --batch --with-colons --list-keys gina@example.com 2>/dev/null | "
	         "awk -F: '$1==\"fpr\"{print $10; exit}'",
	         tmp);
	REQUIRE(capture(fpr, sizeof(fpr), cmd) == 0 && strlen(fpr) == 40);

	CHECK_INT(verdict(bare, c_gpg_gina, &cfg, &res), VERIFY_TRUSTED);
	CHECK_STR(res.key, fpr);
	CHECK_STR(res.signer, "Gina <gina@example.com>");
	CHECKF(strstr(res.reason, "good signature by Gina <gina@example.com>"), "%s", res.reason);

	CHECK_INT(verdict(bare, c_gpg_otto, &cfg, &res), VERIFY_UNKNOWN_KEY);
	CHECKF(!strncmp(res.reason, "signed by unknown key ", 22) && strlen(res.key) >= 16, "%s", res.reason);

	CHECK_INT(verdict(bare, c_gpg_badmsg, &cfg, &res), VERIFY_BAD_SIGNATURE);
	CHECKF(!strncmp(res.reason, "bad signature", 13), "%s", res.reason);
	CHECK_INT(verdict(bare, c_gpg_badsig, &cfg, &res), VERIFY_BAD_SIGNATURE);
	CHECKF(!strncmp(res.reason, "bad signature", 13), "%s", res.reason);

	CHECK_INT(verdict(bare, c_unsigned, &cfg, &res), VERIFY_UNSIGNED);
}

TEST(gpg_keyring_change_is_reimported)
{
	struct verify_config cfg = gpg_cfg();
	struct verify_result res;
	char saved[300];

	CHECK_INT(verdict(bare, c_gpg_gina, &cfg, &res), VERIFY_TRUSTED);
	/* the file now holds only otto's key: gina's must no longer be trusted */
	snprintf(saved, sizeof(saved), "%s/saved.asc", tmp);
	REQUIRE(sh("cp %s %s && cp %s %s", keyring, saved, keyring_other, keyring) == 0);
	CHECK_INT(verdict(bare, c_gpg_otto, &cfg, &res), VERIFY_TRUSTED);
	CHECK_STR(res.signer, "Otto <otto@example.com>");
	CHECK_INT(verdict(bare, c_gpg_gina, &cfg, &res), VERIFY_UNKNOWN_KEY);
	REQUIRE(sh("cp %s %s", saved, keyring) == 0);
	CHECK_INT(verdict(bare, c_gpg_gina, &cfg, &res), VERIFY_TRUSTED);
	CHECK_INT(verdict(bare, c_gpg_otto, &cfg, &res), VERIFY_UNKNOWN_KEY);
}

TEST(gpg_keyring_without_keys)
{
	struct verify_config cfg = gpg_cfg();
	struct verify_result res = {.verdict = VERIFY_TRUSTED, .reason = "untouched"};
	struct error err = ERROR_INIT;
	char junk[300];

	snprintf(junk, sizeof(junk), "%s/junk.asc", tmp);
	REQUIRE(sh("echo 'not a key' > %s", junk) == 0);
	cfg.keyring_file = junk;
	CHECK_INT(manifest_commit_verify(&res, bare, c_gpg_gina, &cfg, &err), -EINVAL);
	CHECKF(strstr(err.msg, "no OpenPGP public key"), "%s", err.msg);
	CHECK_STR(res.reason, "untouched");
}

TEST(errors)
{
	struct verify_config cfg = ssh_cfg();
	struct verify_result res = {.verdict = VERIFY_TRUSTED, .reason = "untouched"};
	struct error err = ERROR_INIT;
	char slow[300];

	/* no such commit, no such repository */
	CHECK_INT(manifest_commit_verify(&res, bare, "0123456789abcdef0123456789abcdef01234567", &cfg, &err),
	          -ENOENT);
	CHECK_INT(error_kind_of(&err), ERROR_KIND_NOT_FOUND);
	CHECK(manifest_commit_verify(&res, "/nonexistent/repo.git", c_ssh_alice, &cfg, &err) < 0);
	/* a missing trust file, a provider without its file */
	cfg.allowed_signers_file = "/nonexistent/allowed_signers";
	CHECK_INT(manifest_commit_verify(&res, bare, c_ssh_alice, &cfg, &err), -ENOENT);
	CHECK(strstr(err.msg, "/nonexistent/allowed_signers") != NULL);
	cfg.allowed_signers_file = NULL;
	CHECK_INT(manifest_commit_verify(&res, bare, c_ssh_alice, &cfg, &err), -EINVAL);
	cfg = gpg_cfg();
	cfg.keyring_file = NULL;
	CHECK_INT(manifest_commit_verify(&res, bare, c_gpg_gina, &cfg, &err), -EINVAL);

	/* the tool is missing: a tool failure, not a verdict */
	cfg = ssh_cfg();
	cfg.ssh_keygen = "/nonexistent/ssh-keygen";
	CHECK_INT(manifest_commit_verify(&res, bare, c_ssh_alice, &cfg, &err), -EIO);
	CHECKF(strstr(err.msg, "cannot run"), "%s", err.msg);

	/* the tool hangs: killed after the timeout */
	snprintf(slow, sizeof(slow), "%s/slow-keygen", tmp);
	REQUIRE(sh("printf '#!/bin/sh\\nexec sleep 60\\n' > %s && chmod +x %s", slow, slow) == 0);
	cfg.ssh_keygen = slow;
	cfg.timeout_ms = 300;
	CHECK_INT(manifest_commit_verify(&res, bare, c_ssh_alice, &cfg, &err), -ETIMEDOUT);
	CHECK_INT(error_kind_of(&err), ERROR_KIND_TRANSIENT);
	CHECK_STR(res.reason, "untouched");
}

TEST(tool_that_does_not_read_its_input)
{
	struct verify_config cfg = ssh_cfg();
	struct verify_result res = {.verdict = VERIFY_TRUSTED};
	struct error err = ERROR_INIT;
	char fake[300];

	/* SIGPIPE is at its default here: a write to the closed pipe would kill this binary */
	snprintf(fake, sizeof(fake), "%s/keygen-closes-stdin", tmp);
	REQUIRE(sh("printf '#!/bin/sh\\nexec 0<&-\\nsleep 0.2\\nexit 255\\n' > %s && chmod +x %s", fake,
	           fake) == 0);
	cfg.ssh_keygen = fake;
	CHECK_INT(manifest_commit_verify(&res, bare, c_ssh_big, &cfg, &err), 0);
	CHECK_INT(res.verdict, VERIFY_BAD_SIGNATURE);
	/* and the real one over the same big commit */
	cfg.ssh_keygen = NULL;
	CHECK_INT(verdict(bare, c_ssh_big, &cfg, &res), VERIFY_TRUSTED);
}

struct par {
	const char *commit;
	enum verify_provider provider;
	int rc;
	enum verify_verdict verdict;
};

static void *par_run(void *arg)
{
	struct par *p = arg;
	struct verify_config cfg = p->provider == VERIFY_PROVIDER_GPG ? gpg_cfg() : ssh_cfg();
	struct verify_result res = {.verdict = (enum verify_verdict) - 1};
	struct error err = ERROR_INIT;

	p->rc = manifest_commit_verify(&res, bare, p->commit, &cfg, &err);
	p->verdict = res.verdict;
	return NULL;
}

TEST(concurrent_calls)
{
	struct par ps[8];
	pthread_t th[8];
	char stamp[400];

	/* a fresh import races with the others: the state dir's keyring is rebuilt first */
	snprintf(stamp, sizeof(stamp), "%s/gnupg/aliasd-keyring.sha256", state);
	unlink(stamp);
	for (int i = 0; i < 8; i++) {
		ps[i] = (struct par){i % 2 ? c_gpg_gina : c_ssh_alice,
		                     i % 2 ? VERIFY_PROVIDER_GPG : VERIFY_PROVIDER_SSH, -1,
		                     (enum verify_verdict) - 1};
		if (i == 7)
			ps[i].commit = c_gpg_otto;
		REQUIRE(pthread_create(&th[i], NULL, par_run, &ps[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECKF(ps[i].rc == 0, "thread %d: %d", i, ps[i].rc);
		CHECKF(ps[i].verdict == (i == 7 ? VERIFY_UNKNOWN_KEY : VERIFY_TRUSTED),
		       "thread %d: verdict %d", i, (int)ps[i].verdict);
	}
}

TEST(names)
{
	CHECK_STR(verify_provider_name(VERIFY_PROVIDER_SSH), "ssh");
	CHECK_STR(verify_provider_name(VERIFY_PROVIDER_GPG), "gpg");
	CHECK_STR(verify_verdict_name(VERIFY_TRUSTED), "trusted");
	CHECK_STR(verify_verdict_name(VERIFY_UNKNOWN_KEY), "unknown key");
	CHECK_STR(verify_verdict_name(VERIFY_BAD_SIGNATURE), "bad signature");
}

int run_all(int argc, char **argv);

int main(int argc, char **argv)
{
	int rc;

	if (setup() < 0) {
		fprintf(stderr, "fixture setup failed (needs git, ssh-keygen, gpg)\n");
		teardown();
		printf("0 passed, 1 failed\n");
		return 1;
	}
	rc = run_all(argc, argv);
	teardown();
	return rc;
}

#define main run_all
TEST_MAIN(ssh_trusted, ssh_unsigned, ssh_unknown_key_is_named, ssh_tampered, provider_mismatch,
          gpg_trusted_unknown_tampered, gpg_keyring_change_is_reimported, gpg_keyring_without_keys, errors,
          tool_that_does_not_read_its_input, concurrent_calls, names)
