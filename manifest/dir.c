/*
 * dir.c - a folder on disk as a manifest source (see manifest/source.h).
 *
 * Every path is resolved component by component from the root's descriptor
 * with O_NOFOLLOW, so a symlink anywhere in a path is never followed: the
 * snapshot can never reach outside the folder.  The last few folders read
 * from stay open (below): a folder renamed or replaced while a source is
 * open is still read where it was when the source first opened it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/source.h"
#include "util/file.h"

#define DIR_MAX_DEPTH   64
#define DIR_MAX_ENTRIES 1000000
#define PATH_MAX_LEN    4096

/*
 * The directories files were last read from stay open (a validate of 10,000
 * manifests reads 20,000 files from 100 folders): a file below one of them
 * is opened with one openat() instead of one per path component.  Slots in
 * use by a caller (refs) are never closed; sources are read from several
 * threads at once (an apply's workers read zips), hence the lock.
 */
#define DIR_FD_SLOTS 8

struct dir_slot {
	char *path; /* the directory, relative to the root; NULL: a free slot */
	int fd;
	unsigned refs;     /* callers holding fd now */
	unsigned long use; /* last use, the least recent is evicted */
};

struct dir_impl {
	int rootfd;
	pthread_mutex_t lock;
	struct dir_slot slots[DIR_FD_SLOTS];
	unsigned long tick;
};

/* A directory descriptor from open_parent(): give it back with parent_put(). */
struct parent {
	int fd;
	struct dir_slot *slot; /* the cache's (not closed by the caller), or NULL */
	bool owned;            /* fd is the caller's to close */
};

void manifest_paths_free(char **paths, size_t n)
{
	if (!paths)
		return;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int manifest_path_valid(const char *path)
{
	const char *p = path, *comp;
	size_t len;

	if (!path)
		return 0;
	len = strlen(path);
	if (!len)
		return 1;
	if (len > PATH_MAX_LEN || path[0] == '/')
		return 0;
	while (*p) {
		size_t n;

		comp = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - comp);
		if (n == 0 || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
			return 0;
		if (*p == '/') {
			p++;
			if (!*p)
				return 0; /* trailing slash */
		}
	}
	return 1;
}

/*
 * Open directory `dir` (`len` bytes of a valid path; 0: the root) from the
 * root, component by component (every one a real directory, no symlink
 * followed) into *ret_fd (the caller's when *ret_owned).  -ENOENT if a
 * component is missing, -ELOOP if one is a symlink, -ENOTDIR if one is not
 * a directory.
 */
static int open_dir_path(struct dir_impl *d, const char *dir, size_t len, int *ret_fd, bool *ret_owned)
{
	const char *p = dir, *end = dir + len;
	bool owned = false;
	int fd = d->rootfd;

	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
		char comp[256];
		int nfd;

		if (n >= sizeof(comp)) {
			if (owned)
				close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int e = errno;
			struct stat st;

			if ((e == ENOTDIR || e == ELOOP) && !fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) &&
			    S_ISLNK(st.st_mode))
				e = ELOOP;
			if (owned)
				close(fd);
			return -e;
		}
		if (owned)
			close(fd);
		fd = nfd;
		owned = true;
		p += n + 1;
	}
	*ret_fd = fd;
	*ret_owned = owned;
	return 0;
}

static struct dir_slot *slot_find(struct dir_impl *d, const char *dir, size_t len)
{
	for (size_t i = 0; i < DIR_FD_SLOTS; i++) {
		struct dir_slot *s = &d->slots[i];

		if (s->path && !strncmp(s->path, dir, len) && !s->path[len])
			return s;
	}
	return NULL;
}

/* Keep `fd` (directory `dir`) in a slot: the slot (fd is then the cache's), or NULL (still the caller's). */
static struct dir_slot *slot_keep(struct dir_impl *d, const char *dir, size_t len, int fd)
{
	struct dir_slot *victim = NULL;
	char *copy;

	if (slot_find(d, dir, len))
		return NULL; /* another thread was faster */
	for (size_t i = 0; i < DIR_FD_SLOTS; i++) {
		struct dir_slot *s = &d->slots[i];

		if (!s->refs && (!victim || !s->path || (victim->path && s->use < victim->use)))
			victim = s;
	}
	if (!victim || !(copy = strndup(dir, len)))
		return NULL;
	if (victim->path) {
		close(victim->fd);
		free(victim->path);
	}
	victim->path = copy;
	victim->fd = fd;
	victim->refs = 1;
	victim->use = ++d->tick;
	return victim;
}

/*
 * The parent directory of `path` into *ret (give it back with parent_put())
 * and *ret_name the last component.  For "" the root itself is returned with
 * name "".  Errors as open_dir_path().
 */
static int open_parent(struct dir_impl *d, const char *path, struct parent *ret, const char **ret_name)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	struct dir_slot *s;
	bool owned;
	int fd, r;

	*ret_name = slash ? slash + 1 : path;
	*ret = (struct parent){d->rootfd, NULL, false};
	if (!len)
		return 0;
	pthread_mutex_lock(&d->lock);
	s = slot_find(d, path, len);
	if (s) {
		s->refs++;
		s->use = ++d->tick;
	}
	pthread_mutex_unlock(&d->lock);
	if (s) {
		*ret = (struct parent){s->fd, s, false};
		return 0;
	}
	r = open_dir_path(d, path, len, &fd, &owned);
	if (r < 0)
		return r;
	pthread_mutex_lock(&d->lock);
	s = slot_keep(d, path, len, fd);
	pthread_mutex_unlock(&d->lock);
	*ret = (struct parent){fd, s, !s};
	return 0;
}

static void parent_put(struct dir_impl *d, struct parent *p)
{
	if (p->slot) {
		pthread_mutex_lock(&d->lock);
		p->slot->refs--;
		pthread_mutex_unlock(&d->lock);
	} else if (p->owned) {
		close(p->fd);
	}
	*p = (struct parent){-1, NULL, false};
}

static int dir_stat(struct manifest_source *src, const char *path, enum source_type *ret_type,
                    uint64_t *ret_size, struct error *err)
{
	struct dir_impl *d = src->impl;
	struct parent pd;
	const char *name;
	struct stat st;
	int r;

	if (!manifest_path_valid(path))
		return error_set(err, -EINVAL, "invalid path \"%s\"", path);
	r = open_parent(d, path, &pd, &name);
	if (r == -ENOENT || r == -ENOTDIR) {
		*ret_type = SOURCE_MISSING;
		*ret_size = 0;
		return 0;
	}
	if (r == -ELOOP) {
		/* a symlinked directory on the way: the path is behind a symlink */
		*ret_type = SOURCE_SYMLINK;
		*ret_size = 0;
		return 0;
	}
	if (r < 0)
		return error_set(err, r, "%s: %s", path, strerror(-r));
	if (!*name)
		r = fstat(pd.fd, &st);
	else
		r = fstatat(pd.fd, name, &st, AT_SYMLINK_NOFOLLOW);
	if (r < 0) {
		r = -errno;
		parent_put(d, &pd);
		if (r == -ENOENT || r == -ENOTDIR) {
			*ret_type = SOURCE_MISSING;
			*ret_size = 0;
			return 0;
		}
		return error_set(err, r, "%s: %s", path, strerror(-r));
	}
	parent_put(d, &pd);
	if (S_ISREG(st.st_mode)) {
		*ret_type = SOURCE_FILE;
		*ret_size = (uint64_t)st.st_size;
	} else {
		*ret_type = S_ISDIR(st.st_mode)   ? SOURCE_DIR
		            : S_ISLNK(st.st_mode) ? SOURCE_SYMLINK
		                                  : SOURCE_OTHER;
		*ret_size = 0;
	}
	return 0;
}

/* Open regular file `path` of at most `max` bytes for reading: its descriptor (the caller closes it) and
 * stat. */
static int dir_open_file(struct dir_impl *d, const char *path, size_t max, struct stat *ret_st,
                         struct error *err)
{
	struct parent pd;
	const char *name;
	struct stat st;
	int fd = -1, r;

	if (!manifest_path_valid(path) || !*path)
		return error_set(err, -EINVAL, "invalid path \"%s\"", path);
	r = open_parent(d, path, &pd, &name);
	if (r < 0) {
		if (r == -ENOTDIR)
			r = -ENOENT;
		return error_set(err, r, "%s: %s", path, strerror(-r));
	}
	fd = openat(pd.fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP || r == -EMLINK)
			r = -ELOOP;
		error_set(err, r, "%s: %s", path, r == -ELOOP ? "is a symbolic link" : strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = error_set(err, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = error_set(err, -EISDIR, "%s: is a directory", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = error_set(err, -EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = error_set(err, -E2BIG, "%s: %lld bytes, more than the limit of %zu", path,
		              (long long)st.st_size, max);
		goto out;
	}
	*ret_st = st;
	r = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	parent_put(d, &pd);
	return r;
}

static int dir_read(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                    struct error *err)
{
	size_t start = out->len;
	struct stat st;
	int fd, r;

	fd = dir_open_file(src->impl, path, max, &st, err);
	if (fd < 0)
		return fd;
	r = file_read_fd_sized(out, fd, max, (size_t)st.st_size, path, err);
	if (r < 0)
		buf_truncate(out, start);
	close(fd);
	return r;
}

static int dir_check(struct manifest_source *src, const char *path, size_t max, uint64_t *ret_size,
                     struct error *err)
{
	struct stat st;
	int fd = dir_open_file(src->impl, path, max, &st, err);

	if (fd < 0)
		return fd;
	close(fd);
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

struct path_list {
	char **v;
	size_t n, alloc;
};

static int path_list_add(struct path_list *l, const char *prefix, const char *name)
{
	size_t plen = strlen(prefix), nlen = strlen(name);
	char *p;

	if (l->n >= DIR_MAX_ENTRIES)
		return -E2BIG;
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 64;
		char **nv = realloc(l->v, na * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->alloc = na;
	}
	p = malloc(plen + nlen + 2);
	if (!p)
		return -ENOMEM;
	if (plen) {
		memcpy(p, prefix, plen);
		p[plen] = '/';
		memcpy(p + plen + 1, name, nlen + 1);
	} else {
		memcpy(p, name, nlen + 1);
	}
	l->v[l->n++] = p;
	return 0;
}

static int has_yaml_ext(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* List `dirfd` (which is `prefix`), recursing; takes ownership of dirfd. */
static int list_rec(int fd0, const char *prefix, unsigned depth, struct path_list *l)
{
	DIR *dir;
	struct dirent *de;
	int r = 0;

	if (depth > DIR_MAX_DEPTH) {
		close(fd0);
		return -ELOOP;
	}
	dir = fdopendir(fd0);
	if (!dir) {
		r = -errno;
		close(fd0);
		return r;
	}
	while ((errno = 0, de = readdir(dir))) {
		unsigned char type = de->d_type;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (depth == 0 && !*prefix && !strcmp(de->d_name, ".git"))
			continue; /* a working tree's repository: never part of a snapshot */
		if (type == DT_UNKNOWN) {
			if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
		}
		if (type == DT_DIR) {
			char *sub;
			int fd;

			fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (*prefix) {
				if (asprintf(&sub, "%s/%s", prefix, de->d_name) < 0)
					sub = NULL;
			} else {
				sub = strdup(de->d_name);
			}
			if (!sub) {
				close(fd);
				r = -ENOMEM;
				break;
			}
			r = list_rec(fd, sub, depth + 1, l);
			free(sub);
			if (r < 0)
				break;
		} else if (type == DT_REG && has_yaml_ext(de->d_name)) {
			r = path_list_add(l, prefix, de->d_name);
			if (r < 0)
				break;
		}
	}
	if (!r && errno)
		r = -errno;
	closedir(dir);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dir_list(struct manifest_source *src, const char *dir, char ***ret_paths, size_t *ret_n,
                    struct error *err)
{
	struct dir_impl *d = src->impl;
	struct path_list l = {0};
	struct parent pd;
	const char *name;
	int fd, r;

	if (!manifest_path_valid(dir))
		return error_set(err, -EINVAL, "invalid path \"%s\"", dir);
	r = open_parent(d, dir, &pd, &name);
	if (r < 0)
		return error_set(err, -ENOENT, "%s: no such directory", dir);
	if (*name)
		fd = openat(pd.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	else
		fd = dup(pd.fd); /* list_rec() closes it */
	parent_put(d, &pd);
	if (fd < 0)
		return error_set(err, -ENOENT, "%s: no such directory", dir);
	r = list_rec(fd, dir, 0, &l);
	if (r < 0) {
		manifest_paths_free(l.v, l.n);
		if (r == -E2BIG)
			return error_set(err, r, "%s: more than %d files", *dir ? dir : ".", DIR_MAX_ENTRIES);
		return error_set(err, r, "listing %s: %s", *dir ? dir : ".", strerror(-r));
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	*ret_paths = l.v;
	*ret_n = l.n;
	return 0;
}

static void dir_free(struct manifest_source *src)
{
	struct dir_impl *d = src->impl;

	if (d && d->rootfd >= 0)
		close(d->rootfd);
	for (size_t i = 0; d && i < DIR_FD_SLOTS; i++) {
		if (d->slots[i].path) {
			close(d->slots[i].fd);
			free(d->slots[i].path);
		}
	}
	if (d)
		pthread_mutex_destroy(&d->lock);
	free(d);
	free(src->description);
	free(src);
}

static const struct manifest_source_ops dir_ops = {
    .list = dir_list,
    .stat = dir_stat,
    .read = dir_read,
    .check = dir_check,
    .free = dir_free,
};

int manifest_source_dir_open(struct manifest_source **ret, const char *root, struct error *err)
{
	struct manifest_source *src = NULL;
	struct dir_impl *d = NULL;
	int fd, r;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		return error_set(err, r, "%s: %s", root, r == -ENOTDIR ? "not a directory" : strerror(-r));
	}
	src = calloc(1, sizeof(*src));
	d = calloc(1, sizeof(*d));
	if (!src || !d)
		goto nomem;
	src->description = strdup(root);
	if (!src->description)
		goto nomem;
	d->rootfd = fd;
	pthread_mutex_init(&d->lock, NULL);
	src->ops = &dir_ops;
	src->impl = d;
	src->revision[0] = '\0';
	*ret = src;
	return 0;
nomem:
	close(fd);
	free(d);
	if (src)
		free(src->description);
	free(src);
	return error_set(err, -ENOMEM, "out of memory");
}
