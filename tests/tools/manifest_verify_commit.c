/*
 * manifest_verify_commit - drive manifest/verify.c from the command line (tests).
 *
 *   manifest_verify_commit --ssh ALLOWED_SIGNERS | --gpg KEYRING [--state-dir D]
 *       [--ssh-keygen PATH] [--timeout-ms N] REPO COMMIT...
 *
 * For each commit prints one line, tab-separated:
 *   COMMIT <TAB> VERDICT <TAB> SIGNER <TAB> KEY <TAB> REASON
 * with VERDICT one of trusted, unsigned, unknown-key, bad-signature,
 * provider-mismatch, expired-or-revoked.  Exit status 0 when every commit got
 * a verdict; otherwise "error <ERRNO>: <message>" on stderr and exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/verify.h"
#include "util/error.h"

static const char *verdict_word(enum verify_verdict v)
{
	switch (v) {
	case VERIFY_TRUSTED:
		return "trusted";
	case VERIFY_UNSIGNED:
		return "unsigned";
	case VERIFY_UNKNOWN_KEY:
		return "unknown-key";
	case VERIFY_BAD_SIGNATURE:
		return "bad-signature";
	case VERIFY_PROVIDER_MISMATCH:
		return "provider-mismatch";
	case VERIFY_EXPIRED_OR_REVOKED:
		return "expired-or-revoked";
	}
	return "?";
}

static int usage(void)
{
	fprintf(stderr, "usage: manifest_verify_commit --ssh FILE | --gpg FILE [--state-dir D] "
	                "[--ssh-keygen PATH] [--timeout-ms N] REPO COMMIT...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct verify_config cfg = {0};
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--ssh")) {
			cfg.provider = VERIFY_PROVIDER_SSH;
			cfg.allowed_signers_file = argv[i + 1];
		} else if (!strcmp(argv[i], "--gpg")) {
			cfg.provider = VERIFY_PROVIDER_GPG;
			cfg.keyring_file = argv[i + 1];
		} else if (!strcmp(argv[i], "--state-dir")) {
			cfg.state_dir = argv[i + 1];
		} else if (!strcmp(argv[i], "--ssh-keygen")) {
			cfg.ssh_keygen = argv[i + 1];
		} else if (!strcmp(argv[i], "--timeout-ms")) {
			cfg.timeout_ms = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else {
			return usage();
		}
	}
	if (argc - i < 2)
		return usage();
	for (int j = i + 1; j < argc; j++) {
		struct verify_result res;
		struct error err = ERROR_INIT;
		int r = manifest_commit_verify(&res, argv[i], argv[j], &cfg, &err);

		if (r < 0) {
			fprintf(stderr, "error %d: %s\n", -r, err.msg);
			return 1;
		}
		printf("%s\t%s\t%s\t%s\t%s\n", argv[j], verdict_word(res.verdict), res.signer, res.key,
		       res.reason);
		fflush(stdout);
	}
	return 0;
}
