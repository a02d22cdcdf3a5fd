/*
 * mem.c - an in-memory manifest source, for unit tests and fuzzing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "manifest/load.h"
#include "util/codec.h"

struct mem_entry {
	char *path;
	char *data;
	size_t len;
	bool symlink;
};

struct mem_impl {
	struct mem_entry *v;
	size_t n;
};

static int under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (!n)
		return 1;
	return !strncmp(path, dir, n) && path[n] == '/';
}

static int yaml_name(const char *p)
{
	size_t n = strlen(p);

	return (n > 5 && !strcmp(p + n - 5, ".yaml")) || (n > 4 && !strcmp(p + n - 4, ".yml"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int mem_is_dir(struct mem_impl *m, const char *path)
{
	if (!*path)
		return 1;
	for (size_t i = 0; i < m->n; i++)
		if (under(path, m->v[i].path))
			return 1;
	return 0;
}

static int mem_list(struct manifest_source *src, const char *dir, char ***ret_paths, size_t *ret_n,
                    struct error *err)
{
	struct mem_impl *m = src->impl;
	char **v;
	size_t n = 0;

	if (!manifest_path_valid(dir))
		return error_set(err, -EINVAL, "invalid path \"%s\"", dir);
	if (!mem_is_dir(m, dir))
		return error_set(err, -ENOENT, "%s: no such directory", dir);
	v = calloc(m->n + 1, sizeof(*v));
	if (!v)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].symlink || !under(dir, m->v[i].path) || !yaml_name(m->v[i].path))
			continue;
		v[n] = strdup(m->v[i].path);
		if (!v[n]) {
			manifest_paths_free(v, n);
			return error_set(err, -ENOMEM, "out of memory");
		}
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*ret_paths = v;
	*ret_n = n;
	return 0;
}

static struct mem_entry *mem_find(struct mem_impl *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].path, path))
			return &m->v[i];
	return NULL;
}

static int mem_stat(struct manifest_source *src, const char *path, enum source_type *ret_type,
                    uint64_t *ret_size, struct error *err)
{
	struct mem_impl *m = src->impl;
	struct mem_entry *e;

	if (!manifest_path_valid(path))
		return error_set(err, -EINVAL, "invalid path \"%s\"", path);
	e = mem_find(m, path);
	if (e) {
		*ret_type = e->symlink ? SOURCE_SYMLINK : SOURCE_FILE;
		*ret_size = e->symlink ? 0 : e->len;
	} else {
		*ret_type = mem_is_dir(m, path) ? SOURCE_DIR : SOURCE_MISSING;
		*ret_size = 0;
	}
	return 0;
}

static int mem_read(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                    struct error *err)
{
	struct mem_impl *m = src->impl;
	struct mem_entry *e;
	int r;

	if (!manifest_path_valid(path) || !*path)
		return error_set(err, -EINVAL, "invalid path \"%s\"", path);
	e = mem_find(m, path);
	if (!e)
		return error_set(err, mem_is_dir(m, path) ? -EISDIR : -ENOENT, "%s: %s", path,
		                 mem_is_dir(m, path) ? "is a directory" : "no such file");
	if (e->symlink)
		return error_set(err, -ELOOP, "%s: is a symbolic link", path);
	if (e->len > max)
		return error_set(err, -E2BIG, "%s: %zu bytes, more than the limit of %zu", path, e->len, max);
	r = buf_put(out, e->data, e->len);
	if (r < 0)
		return error_set(err, r, "%s: out of memory", path);
	return 0;
}

static void mem_free(struct manifest_source *src)
{
	struct mem_impl *m = src->impl;

	if (m) {
		for (size_t i = 0; i < m->n; i++) {
			free(m->v[i].path);
			free(m->v[i].data);
		}
		free(m->v);
		free(m);
	}
	free(src->description);
	free(src);
}

/* The id Git gives the content: SHA-1 of "blob <len>\0" and the bytes. */
static int mem_blob_id(struct manifest_source *src, const char *path, char ret[MANIFEST_OID_HEX_SIZE],
                       struct error *err)
{
	struct mem_impl *m = src->impl;
	struct mem_entry *e;
	unsigned char md[SHA_DIGEST_LENGTH];
	char head[32], *all;
	int hn;

	if (!manifest_path_valid(path) || !*path)
		return error_set(err, -EINVAL, "invalid path \"%s\"", path);
	e = mem_find(m, path);
	if (!e)
		return error_set(err, -ENOENT, "%s: no such file", path);
	if (e->symlink)
		return error_set(err, -EINVAL, "%s: is not a regular file", path);
	hn = snprintf(head, sizeof(head), "blob %zu", e->len);
	all = malloc((size_t)hn + 1 + e->len);
	if (!all)
		return error_set(err, -ENOMEM, "out of memory");
	memcpy(all, head, (size_t)hn + 1);
	memcpy(all + hn + 1, e->data, e->len);
	SHA1((const unsigned char *)all, (size_t)hn + 1 + e->len, md);
	free(all);
	codec_hex_encode(ret, md, SHA_DIGEST_LENGTH);
	return 0;
}

static const struct manifest_source_ops mem_ops = {
    .list = mem_list,
    .stat = mem_stat,
    .read = mem_read,
    .free = mem_free,
};

static const struct manifest_source_ops mem_blob_ops = {
    .list = mem_list,
    .stat = mem_stat,
    .read = mem_read,
    .free = mem_free,
    .blob_id = mem_blob_id,
};

int manifest_source_mem_open_blobs(struct manifest_source **ret, const struct manifest_mem_file *files,
                                   size_t n, struct error *err)
{
	int r = manifest_source_mem_open(ret, files, n, err);

	if (r >= 0)
		(*ret)->ops = &mem_blob_ops;
	return r;
}

int manifest_source_mem_open(struct manifest_source **ret, const struct manifest_mem_file *files, size_t n,
                             struct error *err)
{
	struct manifest_source *src = calloc(1, sizeof(*src));
	struct mem_impl *m = calloc(1, sizeof(*m));

	if (!src || !m)
		goto nomem;
	src->ops = &mem_ops;
	src->impl = m;
	src->description = strdup("(memory)");
	m->v = calloc(n + 1, sizeof(*m->v));
	if (!src->description || !m->v)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		if (!manifest_path_valid(files[i].path) || !*files[i].path) {
			mem_free(src);
			return error_set(err, -EINVAL, "invalid path \"%s\"", files[i].path);
		}
		m->v[i].path = strdup(files[i].path);
		m->v[i].data = malloc(files[i].len + 1);
		m->n = i + 1;
		if (!m->v[i].path || !m->v[i].data)
			goto nomem;
		memcpy(m->v[i].data, files[i].data, files[i].len);
		m->v[i].len = files[i].len;
		m->v[i].symlink = files[i].symlink;
	}
	*ret = src;
	return 0;
nomem:
	if (src && m) {
		mem_free(src);
	} else {
		free(m);
		free(src);
	}
	return error_set(err, -ENOMEM, "out of memory");
}
