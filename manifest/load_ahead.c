/*
 * load_ahead.c - manifest files read and parsed ahead of the loader: the
 * loading thread reads the next files (the source is only ever read from
 * it) and one helper thread turns them into YAML trees while the loader
 * validates the file before; the loader takes the parses in file order.
 *
 * The result is the same as parsing each file when its turn comes: a parse
 * is a pure function of the file's bytes (manifest/yaml.h: no global
 * state), its errors go to a list of the file's own that becomes the unit's
 * list before anything else is added to it, and the loader still does
 * everything else (documents, zips, the set) alone and in order.  When the
 * helper is late (a busy machine), the loader parses the file it needs
 * itself; while the helper parses that one, it parses a later one rather
 * than wait, and when there is none it waits 0.1 ms at most before parsing
 * the file too (the helper's parse is then thrown away): a helper that a
 * busy machine does not run never holds the loader up.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manifest/load_internal.h"

/* Files read ahead of the one the loader takes: bounds the memory held (a parse each). */
#define AHEAD_WINDOW 16
/* How long the loader waits for the helper's parse of the file it needs before parsing it too. */
#define AHEAD_WAIT_NS 100000

enum slot_state {
	SLOT_EMPTY = 0,
	SLOT_READ,    /* bytes (or a read error) in, to be parsed */
	SLOT_PARSING, /* by the helper or the loader */
	SLOT_DONE,
};

struct slot {
	enum slot_state state;
	/*
	 * The loader stopped waiting for the helper's parse and parsed the
	 * file itself: the helper throws its result away and empties the slot.
	 */
	bool abandoned;
	const char *path;
	struct buf data;
	struct load_parsed out;
};

struct load_ahead {
	struct manifest_source *src;
	const char *const *paths;
	size_t n;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* any change of state */
	pthread_t thread;
	bool started, stop;
	long wait_ns; /* AHEAD_WAIT_NS, or a test's */
	size_t taken; /* files the loader has taken: paths[0..taken) */
	size_t read;  /* files read: paths[0..read) */
	struct slot slots[AHEAD_WINDOW];
};

/* Parse the slot's bytes into `out` (the bytes are only read: two threads may parse them at once). */
static void slot_parse(const struct slot *s, struct load_parsed *out)
{
	struct yaml_limits lim = YAML_LIMITS_MANIFEST;

	out->errs.max = LOAD_UNIT_ERRORS_MAX;
	out->parse_r = yaml_stream_parse(&out->stream, s->path, s->data.ptr, s->data.len, &lim, &out->errs);
}

static void *helper(void *arg)
{
	struct load_ahead *a = arg;
	size_t next = 0;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct slot *s = NULL;

		if (a->stop)
			break;
		if (next < a->taken)
			next = a->taken;
		for (; next < a->read; next++) {
			if (a->slots[next % AHEAD_WINDOW].state == SLOT_READ) {
				s = &a->slots[next % AHEAD_WINDOW];
				break;
			}
		}
		if (!s) {
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		s->state = SLOT_PARSING;
		pthread_mutex_unlock(&a->lock);
		slot_parse(s, &s->out);
		pthread_mutex_lock(&a->lock);
		if (s->abandoned) {
			/* the loader has its own parse of it: ours goes, then the slot is free */
			pthread_mutex_unlock(&a->lock);
			load_parsed_release(&s->out);
			pthread_mutex_lock(&a->lock);
			s->abandoned = false;
			s->state = SLOT_EMPTY;
		} else {
			s->state = SLOT_DONE;
		}
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* May this process run on two CPUs at once? */
static bool two_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return false;
	return CPU_COUNT(&set) >= 2;
}

int load_ahead_start(struct load_ahead **ret, struct manifest_source *src, const char *const *paths, size_t n)
{
	struct load_ahead *a;

	if (!two_cpus())
		return -EAGAIN; /* a helper would only take turns with the loader */
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->src = src;
	a->wait_ns = AHEAD_WAIT_NS;
	a->paths = paths;
	a->n = n;
	for (size_t i = 0; i < AHEAD_WINDOW; i++)
		buf_init(&a->slots[i].data, MANIFEST_FILE_MAX);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (pthread_create(&a->thread, NULL, helper, a) != 0) {
		load_ahead_stop(a);
		return -EAGAIN;
	}
	a->started = true;
	*ret = a;
	return 0;
}

/*
 * Read the files up to a window ahead of the one taken into their slots
 * (the loading thread, outside the lock), then hand them to the helper at
 * once: one wake-up per half window, not per file.
 */
static void read_window(struct load_ahead *a)
{
	size_t from = a->read, to = a->taken + AHEAD_WINDOW;
	struct error e = ERROR_INIT;

	if (to > a->n)
		to = a->n;
	for (size_t i = from; i < to; i++) {
		struct slot *s = &a->slots[i % AHEAD_WINDOW];

		/* a slot the loader abandoned is the helper's until its parse ends (rare) */
		pthread_mutex_lock(&a->lock);
		while (s->state != SLOT_EMPTY)
			pthread_cond_wait(&a->cond, &a->lock);
		pthread_mutex_unlock(&a->lock);
		s->path = a->paths[i];
		memset(&s->out, 0, sizeof(s->out));
		buf_reset(&s->data);
		s->out.read_r = manifest_source_read(a->src, s->path, MANIFEST_FILE_MAX, &s->data, &e);
		if (s->out.read_r < 0 && !(s->out.read_msg = strdup(e.msg)))
			s->out.read_r = -ENOMEM;
	}
	pthread_mutex_lock(&a->lock);
	for (size_t i = from; i < to; i++) {
		struct slot *s = &a->slots[i % AHEAD_WINDOW];

		/* a file that could not be read has nothing to parse */
		s->state = s->out.read_r < 0 ? SLOT_DONE : SLOT_READ;
	}
	a->read = to;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void load_ahead_set_wait(struct load_ahead *a, long ns)
{
	pthread_mutex_lock(&a->lock);
	a->wait_ns = ns;
	pthread_mutex_unlock(&a->lock);
}

int load_ahead_take(struct load_ahead *a, const char *path, struct load_parsed *ret)
{
	struct slot *s;
	bool mine = false, twice = false, waited = false;

	if (a->taken >= a->n || strcmp(a->paths[a->taken], path))
		return -EINVAL; /* not the next file: the caller reads it itself */
	if (a->read < a->n && a->read <= a->taken + AHEAD_WINDOW / 2)
		read_window(a);
	s = &a->slots[a->taken % AHEAD_WINDOW];
	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct slot *other = NULL;

		if (s->state == SLOT_READ) {
			s->state = SLOT_PARSING;
			mine = true;
			break;
		}
		if (s->state == SLOT_DONE)
			break;
		/* the helper is on it: parse a later file meanwhile rather than sleep */
		for (size_t i = a->taken + 1; i < a->read && !other; i++)
			if (a->slots[i % AHEAD_WINDOW].state == SLOT_READ)
				other = &a->slots[i % AHEAD_WINDOW];
		if (!other && !waited && a->wait_ns > 0) {
			/*
			 * Nothing else to do: wait a little (a parse takes tens of
			 * microseconds)...
			 */
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += a->wait_ns;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			waited = true;
			pthread_cond_timedwait(&a->cond, &a->lock, &until);
			continue;
		}
		if (!other) {
			/*
			 * ...but not for a helper the machine does not run now (a
			 * busy machine): parse the file too, and let the helper
			 * throw its parse away.
			 */
			s->abandoned = true;
			twice = true;
			break;
		}
		other->state = SLOT_PARSING;
		pthread_mutex_unlock(&a->lock);
		slot_parse(other, &other->out);
		pthread_mutex_lock(&a->lock);
		other->state = SLOT_DONE;
	}
	pthread_mutex_unlock(&a->lock);
	if (twice) {
		memset(ret, 0, sizeof(*ret)); /* read: only a file that was read is parsed */
		slot_parse(s, ret);
	} else {
		if (mine)
			slot_parse(s, &s->out);
		*ret = s->out;
		memset(&s->out, 0, sizeof(s->out));
	}
	pthread_mutex_lock(&a->lock);
	if (!twice)
		s->state = SLOT_EMPTY;
	a->taken++;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

void load_parsed_release(struct load_parsed *p)
{
	yaml_stream_free(p->stream);
	errlist_release(&p->errs);
	free(p->read_msg);
	memset(p, 0, sizeof(*p));
}

void load_ahead_stop(struct load_ahead *a)
{
	if (!a)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	for (size_t i = 0; i < AHEAD_WINDOW; i++) {
		load_parsed_release(&a->slots[i].out);
		buf_release(&a->slots[i].data);
	}
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
