/*
 * notify.h - the sd_notify protocol, spoken directly (no libsystemd).
 *
 * systemd (Type=notify) passes the path of a datagram socket in $NOTIFY_SOCKET:
 * a file system path ("/run/systemd/notify") or, with a leading '@', a Linux
 * abstract socket name.  Each state change is one datagram of newline-separated
 * VAR=value assignments: READY=1, RELOADING=1, STOPPING=1, STATUS=<one line>,
 * WATCHDOG=1 (at least every WATCHDOG_USEC/2 when the unit sets WatchdogSec=).
 *
 * When $NOTIFY_SOCKET is unset (not started by systemd) every call is a no-op
 * that returns 0.  Nothing here allocates; all calls are thread-safe.
 */
#ifndef ALIASD_CMD_NOTIFY_H
#define ALIASD_CMD_NOTIFY_H

#include <stdint.h>

#include "util/error.h"

/* The longest message notify_send() accepts (bytes, without the NUL). */
#define NOTIFY_MSG_MAX 4096

/*
 * Send `msg` to the socket at `path` ("/abs/path" or "@abstract").
 * Returns 1 when sent; -EINVAL for a malformed path or message too long,
 * or the negative errno of socket()/sendmsg() (e.g. -ECONNREFUSED, -ENOENT).
 */
int notify_socket_send(const char *path, const char *msg, struct error *err);

/*
 * Send `msg` to $NOTIFY_SOCKET: 1 sent, 0 when the variable is unset,
 * negative errno as above.
 */
int notify_send(const char *msg);

/*
 * Send "STATUS=<text>": printf-style; newlines and other control characters
 * are replaced by spaces so the status stays one line; truncated to 200 bytes.
 */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The watchdog interval requested by systemd, in microseconds: reads
 * $WATCHDOG_USEC (and $WATCHDOG_PID, which must be ours when set).
 * Returns 1 and writes *ret_usec when the watchdog is on, 0 when off,
 * -EINVAL when the variables are malformed.
 */
int notify_watchdog_usec(uint64_t *ret_usec);

#endif
