/*
 * manifest_repo_dump - drive manifest/repo.c from the command line (tests).
 *
 *   manifest_repo_dump --url U [--ref R] [--state-dir D] [--token T]
 *       [--token-user U] [--ca F] [--ssh-key F] [--known-hosts F]
 *       [--timeout-ms N] [--max N] [--snapshot] COMMAND...
 *
 * Commands run in order on one handle (stop at the first error):
 *   remote-head       print "remote-head <oid>"
 *   fetch             print "fetch <oid> downloaded=<0|1>"
 *   source            open a source on the last fetched oid (fetch first if none)
 *   revision          print "revision <oid or empty>"
 *   description       print "description <text>" (of the source)
 *   list DIR          print "path <p>" per file ("" = the root)
 *   stat P            print "stat <missing|file|dir|symlink|submodule|other> <size>"
 *   read P            print the contents (raw) of P
 *   info              print "cache <path>", "downloads <n>", "handle <description>"
 * With --snapshot, list/stat/read/revision/description use manifest_repo_snapshot.
 * Errors go to stderr as "error <ERRNO-NAME>: <message>", exit status 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/repo.h"
#include "util/buf.h"
#include "util/error.h"

static const char *errno_name(int code)
{
	switch (-code) {
	case ENOENT:
		return "ENOENT";
	case EINVAL:
		return "EINVAL";
	case EACCES:
		return "EACCES";
	case EIO:
		return "EIO";
	case E2BIG:
		return "E2BIG";
	case EISDIR:
		return "EISDIR";
	case ELOOP:
		return "ELOOP";
	case ENOTDIR:
		return "ENOTDIR";
	case ENOMEM:
		return "ENOMEM";
	case EBADMSG:
		return "EBADMSG";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	default:
		return "E?";
	}
}

static const char *type_name(enum source_type t)
{
	switch (t) {
	case SOURCE_MISSING:
		return "missing";
	case SOURCE_FILE:
		return "file";
	case SOURCE_DIR:
		return "dir";
	case SOURCE_SYMLINK:
		return "symlink";
	case SOURCE_SUBMODULE:
		return "submodule";
	default:
		return "other";
	}
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: manifest_repo_dump --url U [--ref R] [--state-dir D] [--token T] "
	        "[--token-user U] [--ca F] [--ssh-key F] [--known-hosts F] [--timeout-ms N] [--max N] "
	        "[--snapshot] "
	        "COMMAND...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct manifest_repo_options opt = {0};
	struct manifest_repo *repo = NULL;
	struct manifest_source *src = NULL;
	struct error err = ERROR_INIT;
	char oid[41] = "";
	size_t max = 1 << 20;
	int snapshot = 0, rc = 0, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--", 2))
			break;
		if (!strcmp(a, "--snapshot")) {
			snapshot = 1;
			continue;
		}
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(a, "--url"))
			opt.url = argv[++i];
		else if (!strcmp(a, "--ref"))
			opt.ref = argv[++i];
		else if (!strcmp(a, "--state-dir"))
			opt.state_dir = argv[++i];
		else if (!strcmp(a, "--token"))
			opt.token = argv[++i];
		else if (!strcmp(a, "--token-user"))
			opt.token_user = argv[++i];
		else if (!strcmp(a, "--ca"))
			opt.ca_file = argv[++i];
		else if (!strcmp(a, "--ssh-key"))
			opt.ssh_key_file = argv[++i];
		else if (!strcmp(a, "--known-hosts"))
			opt.ssh_known_hosts_file = argv[++i];
		else if (!strcmp(a, "--timeout-ms"))
			opt.timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--max"))
			max = strtoul(argv[++i], NULL, 10);
		else
			return usage();
	}
	if (i >= argc)
		return usage();

	if (snapshot)
		rc = manifest_repo_snapshot(&src, &opt, &err);
	else
		rc = manifest_repo_open(&repo, &opt, &err);

	for (; rc >= 0 && i < argc; i++) {
		const char *cmd = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(cmd, "remote-head") && repo) {
			rc = manifest_repo_remote_head(repo, oid, &err);
			if (rc >= 0)
				printf("remote-head %s\n", oid);
		} else if (!strcmp(cmd, "fetch") && repo) {
			rc = manifest_repo_fetch(repo, oid, &err);
			if (rc >= 0)
				printf("fetch %s downloaded=%d\n", oid, rc);
			manifest_source_free(src);
			src = NULL;
		} else if (!strcmp(cmd, "info") && repo) {
			printf("cache %s\ndownloads %u\nhandle %s\n", manifest_repo_cache_path(repo),
			       manifest_repo_download_count(repo), manifest_repo_description(repo));
		} else if (!strcmp(cmd, "source") || !strcmp(cmd, "list") || !strcmp(cmd, "stat") ||
		           !strcmp(cmd, "read") || !strcmp(cmd, "revision") || !strcmp(cmd, "description")) {
			if (!src) {
				if (!repo) {
					rc = error_set(&err, -EINVAL, "no source");
					break;
				}
				if (!oid[0])
					rc = manifest_repo_fetch(repo, oid, &err);
				if (rc >= 0)
					rc = manifest_repo_source(repo, oid, &src, &err);
				if (rc < 0)
					break;
			}
			if (!strcmp(cmd, "revision")) {
				printf("revision %s\n", src->revision);
			} else if (!strcmp(cmd, "description")) {
				printf("description %s\n", src->description);
			} else if (!strcmp(cmd, "list")) {
				char **paths = NULL;
				size_t n = 0;
				const char *dir = arg ? arg : "";

				if (arg)
					i++;
				rc = manifest_source_list(src, dir, &paths, &n, &err);
				if (rc >= 0) {
					for (size_t k = 0; k < n; k++)
						printf("path %s\n", paths[k]);
					manifest_paths_free(paths, n);
				}
			} else if (!strcmp(cmd, "stat") || !strcmp(cmd, "read")) {
				if (!arg) {
					rc = error_set(&err, -EINVAL, "%s needs a path", cmd);
					break;
				}
				i++;
				if (!strcmp(cmd, "stat")) {
					enum source_type t;
					uint64_t size;

					rc = manifest_source_stat(src, arg, &t, &size, &err);
					if (rc >= 0)
						printf("stat %s %llu\n", type_name(t),
						       (unsigned long long)size);
				} else {
					struct buf b = BUF_INIT;

					rc = manifest_source_read(src, arg, max, &b, &err);
					if (rc >= 0)
						fwrite(b.ptr, 1, b.len, stdout);
					buf_release(&b);
				}
			}
		} else {
			fprintf(stderr, "unknown command %s\n", cmd);
			rc = -EINVAL;
			error_set(&err, rc, "unknown command");
		}
		fflush(stdout);
	}
	if (rc < 0)
		fprintf(stderr, "error %s: %s\n", errno_name(rc), err.msg);
	manifest_source_free(src);
	manifest_repo_free(repo);
	manifest_repo_global_shutdown();
	return rc < 0 ? 1 : 0;
}
