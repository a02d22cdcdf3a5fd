/*
 * zip_budget.h - how many bytes of zip files the uploads of this process hold
 * in memory at once.
 *
 * An upload holds its zip file once (aws/lambda base64-encodes it while
 * sending), and twice for a moment while reading it (the Git blob, then the
 * copy): it reserves twice the zip's size to read, gives half back once read,
 * and the rest when sent.  Uploads beyond the budget wait for others to
 * finish, so four 45 MiB zips at --concurrency 4 keep about two zips in
 * memory, while small zips upload in parallel.  A reservation larger than
 * the budget is cut to it (that upload then runs alone).  Thread-safe.
 */
#ifndef ALIASD_RECONCILE_ZIP_BUDGET_H
#define ALIASD_RECONCILE_ZIP_BUDGET_H

#include <stdatomic.h>
#include <stdint.h>

#define ZIP_BUDGET_BYTES ((uint64_t)128 << 20)

/*
 * Reserve *n bytes (cut to the budget: *n is what was reserved), waiting
 * while other reservations leave too little.  -ECANCELED (nothing reserved)
 * if *stopped becomes non-zero while waiting; it is looked at every 200 ms.
 */
int zip_budget_reserve(const atomic_int *stopped, uint64_t *n);

/* Give back n of the *held bytes reserved (at most *held); *held is decreased. */
void zip_budget_release(uint64_t *held, uint64_t n);

/* Bytes reserved now, by every thread (tests). */
uint64_t zip_budget_used(void);

#endif
