/*
 * Fuzz the rollout progress record's text form (read back from a durable
 * store that anything may have written): whatever parses must format again
 * and parse back to the same record.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reconcile/rollout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rollout_progress p, q;
	struct error err = ERROR_INIT;
	struct buf b = BUF_INIT;

	if (rollout_progress_parse((const char *)data, size, &p, &err) < 0)
		return 0;
	if (rollout_progress_format(&p, &b) < 0 || rollout_progress_parse(b.ptr, b.len, &q, &err) < 0 ||
	    p.state != q.state || p.from != q.from || p.to != q.to || p.step != q.step ||
	    p.since != q.since || strcmp(p.desired_id, q.desired_id) || strcmp(p.reason, q.reason))
		__builtin_trap();
	buf_release(&b);
	return 0;
}
