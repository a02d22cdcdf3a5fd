/*
 * test_reconcile_zip_budget.c - the process-wide budget of zip bytes held by
 * uploads: reservations wait while the budget is used up, are cut to the
 * budget, and give up on stop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "reconcile/zip_budget.h"
#include "tests/unit/harness.h"

struct waiter {
	atomic_int stopped;
	atomic_int done;
	uint64_t n;
	int r;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->r = zip_budget_reserve(&w->stopped, &w->n);
	atomic_store(&w->done, 1);
	return NULL;
}

TEST(reserve_wait_release)
{
	struct waiter w = {.n = 100u << 20};
	atomic_int running = 0;
	uint64_t a = 100u << 20, held;
	pthread_t t;

	CHECK_U64(zip_budget_used(), 0);
	REQUIRE(zip_budget_reserve(&running, &a) == 0);
	CHECK_U64(a, 100u << 20);
	held = a;
	CHECK_U64(zip_budget_used(), 100u << 20);
	REQUIRE(pthread_create(&t, NULL, waiter_main, &w) == 0);
	usleep(300 * 1000);
	CHECK_INT(atomic_load(&w.done), 0); /* 100 + 100 MiB is over the budget: it waits */
	zip_budget_release(&held, 60u << 20);
	CHECK_U64(held, 40u << 20);
	usleep(300 * 1000);
	CHECK_INT(atomic_load(&w.done), 0); /* 40 + 100 MiB: still over */
	zip_budget_release(&held, held);
	CHECK_U64(held, 0);
	pthread_join(t, NULL); /* bounded: the budget is free now */
	CHECK_INT(w.r, 0);
	CHECK_U64(zip_budget_used(), 100u << 20);
	held = w.n;
	zip_budget_release(&held, held);
	CHECK_U64(zip_budget_used(), 0);
}

TEST(cut_and_stop)
{
	atomic_int running = 0;
	struct waiter w = {.n = 1};
	uint64_t big = ZIP_BUDGET_BYTES * 3, held;
	pthread_t t;

	/* larger than the budget: cut to it, and granted when nothing else is held */
	REQUIRE(zip_budget_reserve(&running, &big) == 0);
	CHECK_U64(big, ZIP_BUDGET_BYTES);
	held = big;
	/* a waiter gives up once stopped */
	REQUIRE(pthread_create(&t, NULL, waiter_main, &w) == 0);
	usleep(100 * 1000);
	atomic_store(&w.stopped, 1);
	pthread_join(t, NULL); /* bounded: it looks at the flag every 200 ms */
	CHECK_INT(w.r, -ECANCELED);
	CHECK_U64(zip_budget_used(), ZIP_BUDGET_BYTES);
	/* releasing more than held gives back only what is held */
	zip_budget_release(&held, held + 5);
	CHECK_U64(held, 0);
	CHECK_U64(zip_budget_used(), 0);
}

TEST_MAIN(reserve_wait_release, cut_and_stop)
