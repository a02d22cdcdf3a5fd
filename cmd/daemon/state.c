/*
 * state.c - the durable state file, see state.h.
 */
#include "cmd/daemon/state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/codec.h"
#include "util/file.h"

int state_text_from_core(char **ret_text, const struct core *c)
{
	cJSON *root = cJSON_CreateObject(), *arr; /* freed below with cJSON_Delete */
	char hex[2 * CORE_HASH_LEN + 1];
	char *text;

	if (!root)
		return -ENOMEM;
	cJSON_AddStringToObject(root, "format", STATE_FORMAT);
	arr = cJSON_AddArrayToObject(root, "functions");
	for (size_t i = 0; arr && i < c->n_fns; i++) {
		const struct core_fn *st = c->fns[i];
		cJSON *o;

		if (st->removed || !st->fn || !st->gen || !st->gen->revision[0])
			continue;
		o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddItemToArray(arr, o); /* takes o */
		cJSON_AddStringToObject(o, "name", st->name);
		if (st->region)
			cJSON_AddStringToObject(o, "region", st->region);
		else
			cJSON_AddNullToObject(o, "region");
		cJSON_AddStringToObject(o, "file", st->fn->file ? st->fn->file : "");
		cJSON_AddStringToObject(o, "revision", st->gen->revision);
		codec_hex_encode(hex, st->hash, CORE_HASH_LEN);
		cJSON_AddStringToObject(o, "hash", hex);
	}
	text = arr ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	*ret_text = text;
	return 0;
}

void state_digest(const char *text, unsigned char ret[STATE_DIGEST_LEN])
{
	unsigned int n = STATE_DIGEST_LEN;

	if (!EVP_Digest(text, strlen(text), ret, &n, EVP_sha256(), NULL))
		memset(ret, 0, STATE_DIGEST_LEN); /* never equal to a real digest in practice */
}

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (codec_hex_digit((unsigned char)s[i]) < 0)
			return false;
	return true;
}

static int bad(struct error *err, size_t i, const char *what)
{
	return error_set(err, -EBADMSG, "function %zu: %s", i, what);
}

int state_parse(struct state *ret, const char *text, size_t len, struct error *err)
{
	cJSON *root = cJSON_ParseWithLength(text, len); /* freed at out */
	const cJSON *fmt, *arr, *o;
	struct state s = {NULL, 0};
	size_t i = 0, n;
	int r = 0;

	if (!root || !cJSON_IsObject(root)) {
		r = error_set(err, -EBADMSG, "not a JSON object");
		goto out;
	}
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, STATE_FORMAT)) {
		r = error_set(err, -EBADMSG, "format is not \"%s\"", STATE_FORMAT);
		goto out;
	}
	arr = cJSON_GetObjectItemCaseSensitive(root, "functions");
	if (!cJSON_IsArray(arr)) {
		r = error_set(err, -EBADMSG, "functions is not an array");
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	s.items = calloc(n ? n : 1, sizeof(*s.items));
	if (!s.items) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(o, arr)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
		const cJSON *region = cJSON_GetObjectItemCaseSensitive(o, "region");
		const cJSON *file = cJSON_GetObjectItemCaseSensitive(o, "file");
		const cJSON *rev = cJSON_GetObjectItemCaseSensitive(o, "revision");
		const cJSON *hash = cJSON_GetObjectItemCaseSensitive(o, "hash");
		struct state_entry *e = &s.items[s.n];

		if (!cJSON_IsString(name) || !name->valuestring[0]) {
			r = bad(err, i, "name is not a string");
			goto out;
		}
		if (region && !cJSON_IsNull(region) && !cJSON_IsString(region)) {
			r = bad(err, i, "region is not a string");
			goto out;
		}
		if (!cJSON_IsString(file)) {
			r = bad(err, i, "file is not a string");
			goto out;
		}
		if (!cJSON_IsString(rev) || !is_hex(rev->valuestring, CORE_REV_LEN - 1)) {
			r = bad(err, i, "revision is not a commit id");
			goto out;
		}
		if (!cJSON_IsString(hash) || !is_hex(hash->valuestring, 2 * CORE_HASH_LEN)) {
			r = bad(err, i, "hash is not 64 hex digits");
			goto out;
		}
		e->name = strdup(name->valuestring);
		e->region = cJSON_IsString(region) ? strdup(region->valuestring) : NULL;
		e->file = strdup(file->valuestring);
		s.n++;
		if (!e->name || !e->file || (cJSON_IsString(region) && !e->region)) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		memcpy(e->revision, rev->valuestring, CORE_REV_LEN);
		codec_hex_decode(e->hash, CORE_HASH_LEN, hash->valuestring);
		i++;
	}
	*ret = s;
	s.items = NULL;
	s.n = 0;
out:
	state_release(&s);
	cJSON_Delete(root);
	return r;
}

int state_read(struct state *ret, const char *path, struct error *err)
{
	struct buf text = BUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return error_set(err, -errno, "%s: %s", path, strerror(errno));
	r = file_read_fd(&text, fd, STATE_FILE_MAX, path, err);
	close(fd);
	if (r >= 0) {
		r = state_parse(ret, text.ptr ? text.ptr : "", text.len, err);
		if (r < 0) {
			char msg[ERROR_MSG_MAX];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			error_set(err, r, "%s: %s", path, msg);
		}
	} else if (r == -E2BIG || r == -EFBIG) {
		r = error_set(err, -EBADMSG, "%s: bigger than %zu bytes", path, STATE_FILE_MAX);
	}
	buf_release(&text);
	return r;
}

int state_write(const char *path, const char *text, struct error *err)
{
	struct buf tmp = BUF_INIT, dir = BUF_INIT;
	size_t len = strlen(text), off = 0;
	const char *slash = strrchr(path, '/');
	int fd = -1, r = 0;

	if (buf_printf(&tmp, "%s.tmp", path) < 0 ||
	    buf_put(&dir, path, slash ? (size_t)(slash - path) + (slash == path) : 0) < 0 ||
	    (!slash && buf_puts(&dir, ".") < 0)) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = error_set(err, -errno, "%s: %s", tmp.ptr, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_set(err, -errno, "%s: %s", tmp.ptr, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		r = error_set(err, -errno, "%s: fsync: %s", tmp.ptr, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		r = error_set(err, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = open(dir.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		(void)fsync(fd); /* the rename itself is durable once the directory is */
out:
	if (fd >= 0)
		close(fd);
	if (r < 0 && tmp.ptr)
		unlink(tmp.ptr);
	buf_release(&tmp);
	buf_release(&dir);
	return r;
}

void state_release(struct state *s)
{
	for (size_t i = 0; s->items && i < s->n; i++) {
		free(s->items[i].name);
		free(s->items[i].region);
		free(s->items[i].file);
	}
	free(s->items);
	s->items = NULL;
	s->n = 0;
}
