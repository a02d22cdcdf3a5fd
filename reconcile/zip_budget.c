/*
 * zip_budget.c - the process-wide budget of zip bytes in memory (see zip_budget.h).
 */
#include "reconcile/zip_budget.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t budget_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t budget_cond = PTHREAD_COND_INITIALIZER;
static uint64_t budget_used;

int zip_budget_reserve(const atomic_int *stopped, uint64_t *n)
{
	int r = 0;

	if (*n > ZIP_BUDGET_BYTES)
		*n = ZIP_BUDGET_BYTES;
	pthread_mutex_lock(&budget_lock);
	while (budget_used && budget_used + *n > ZIP_BUDGET_BYTES) {
		struct timespec t;

		if (stopped && atomic_load(stopped)) {
			r = -ECANCELED;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 200 * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&budget_cond, &budget_lock, &t);
	}
	if (r >= 0)
		budget_used += *n;
	pthread_mutex_unlock(&budget_lock);
	return r;
}

void zip_budget_release(uint64_t *held, uint64_t n)
{
	if (n > *held)
		n = *held;
	if (!n)
		return;
	pthread_mutex_lock(&budget_lock);
	budget_used -= n;
	pthread_cond_broadcast(&budget_cond);
	pthread_mutex_unlock(&budget_lock);
	*held -= n;
}

uint64_t zip_budget_used(void)
{
	uint64_t n;

	pthread_mutex_lock(&budget_lock);
	n = budget_used;
	pthread_mutex_unlock(&budget_lock);
	return n;
}
