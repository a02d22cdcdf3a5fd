"""The HTTP endpoint under slow clients (issue 15, finding 2): 64 connections
trickling webhook bodies or headers at 1 byte/s, or 200 connections that never
finish their headers, all from 127.0.0.1 like the health checks, must not lock
/healthz and /metrics out; the slow clients are cut off after the header
deadline (10 s) or the body deadline (10 s after the headers)."""
import select
import socket
import threading
import time

import pytest

from daemon_helpers import World, function_manifest

HEADER_DEADLINE = 10.0
BODY_DEADLINE = 10.0
WEBHOOKS_MAX = 16


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    w.repo.write("functions/fn.yaml", function_manifest("payments"))
    w.repo.commit("payments")
    w.start(interval="60s", log_level="info")
    w.wait_state("payments", "Synced", timeout=30)
    assert w.daemon.get("/healthz") == (200, "ok\n")
    yield w
    w.close()


class Trickler:
    """`n` connections that send `head` at once, then one byte of `drip` per
    second each, reading whatever the server answers, until the server closes
    them or `limit` seconds pass.  Records per connection the first bytes of
    the answer and when the server closed it (seconds after the start)."""

    def __init__(self, port, n, head, drip=b"a", limit=40.0):
        self.t0 = time.monotonic()
        self.socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            self.socks.append(s)
        self.answers = [b""] * n
        self.closed_at = [None] * n
        for i, s in enumerate(self.socks):
            try:
                s.send(head)
            except OSError:  # refused at once (over a limit): recorded as closed at 0 s
                self.closed_at[i] = 0.0
        self.drip = drip
        self.limit = limit
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read(self, i):
        s = self.socks[i]
        try:
            while True:
                data = s.recv(4096)
                if not data:
                    raise ConnectionResetError()
                self.answers[i] += data[:200]
        except BlockingIOError:
            return
        except OSError:
            self.closed_at[i] = time.monotonic() - self.t0

    def _run(self):
        next_drip = self.t0 + 1.0
        while not self.stopped and time.monotonic() - self.t0 < self.limit:
            live = [s for i, s in enumerate(self.socks) if self.closed_at[i] is None]
            if not live:
                return
            ready, _, _ = select.select(live, [], [], 0.1)
            for s in ready:
                self._read(self.socks.index(s))
            if time.monotonic() >= next_drip:
                next_drip += 1.0
                for i, s in enumerate(self.socks):
                    if self.closed_at[i] is not None:
                        continue
                    try:
                        s.send(self.drip)
                    except BlockingIOError:
                        pass
                    except OSError:
                        self._read(i)
                        if self.closed_at[i] is None:
                            self.closed_at[i] = time.monotonic() - self.t0

    def open_count(self):
        return sum(1 for c in self.closed_at if c is None)

    def wait_all_closed(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.open_count():
            time.sleep(0.2)
        return self.open_count() == 0

    def close(self):
        self.stopped = True
        self.thread.join(timeout=5)
        for s in self.socks:
            s.close()


def assert_endpoints_answer(d, rounds=5):
    """/healthz and /metrics answer (within a generous 3 s each), every round."""
    for _ in range(rounds):
        t0 = time.monotonic()
        code, body = d.get("/healthz", timeout=3)
        took = time.monotonic() - t0
        assert (code, body) == (200, "ok\n")
        assert took < 3.0, "/healthz took %.2fs" % took
        code, _ = d.get("/metrics", timeout=3)
        assert code == 200
        time.sleep(0.3)


def get_or_error(d, path):
    try:
        return d.get(path, timeout=3)
    except Exception as e:  # reset, refused, timeout: what today's binary does
        return ("error", repr(e))


def test_slow_webhook_bodies_leave_healthz_alone(world):
    d = world.daemon
    head = (b"POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"X-GitHub-Event: push\r\nContent-Length: 1000\r\n\r\n")
    t = Trickler(world.port, 64, head, drip=b" ")
    try:
        time.sleep(2.5)  # every connection is in, trickling
        results = [get_or_error(d, "/healthz") for _ in range(5)]
        assert results == [(200, "ok\n")] * 5, results
        assert_endpoints_answer(d, rounds=3)
        # beyond WEBHOOKS_MAX bodies at once: 503 at once, connection closed
        busy = [a for a in t.answers if a.startswith(b"HTTP/1.1 503")]
        assert len(busy) == 64 - WEBHOOKS_MAX, [a[:40] for a in t.answers]
        # the admitted ones are cut off after the body deadline, not before
        assert t.wait_all_closed(BODY_DEADLINE + 15), t.closed_at
        slow = [c for a, c in zip(t.answers, t.closed_at) if not a]
        assert len(slow) == WEBHOOKS_MAX, t.closed_at
        assert all(BODY_DEADLINE - 1 <= c <= BODY_DEADLINE + 12 for c in slow), slow
    finally:
        t.close()
    assert_endpoints_answer(d, rounds=1)
    log = d.log_text()
    assert "webhook refused reason=\"too many at once\"" in log or "too many at once" in log
    assert "slow http clients cut off" in log


def test_slow_headers_are_cut_off(world):
    d = world.daemon
    t = Trickler(world.port, 64, b"POST /hooks/github HTTP/1.1\r\nX-Slow: ", drip=b"a")
    try:
        time.sleep(2.5)
        results = [get_or_error(d, "/healthz") for _ in range(5)]
        assert results == [(200, "ok\n")] * 5, results
        assert_endpoints_answer(d, rounds=3)
        assert t.wait_all_closed(HEADER_DEADLINE + 15), t.closed_at
        assert all(HEADER_DEADLINE - 1 <= c <= HEADER_DEADLINE + 12 for c in t.closed_at), t.closed_at
        assert all(a == b"" for a in t.answers)
    finally:
        t.close()
    assert_endpoints_answer(d, rounds=1)


def test_many_idle_connections_from_one_address(world):
    """More header-less connections from 127.0.0.1 than the per-address limit
    (128): a new connection evicts the oldest, so health checks get in."""
    d = world.daemon
    t = Trickler(world.port, 200, b"GET /status HTTP/1.1\r\n", drip=b"", limit=30)
    try:
        time.sleep(2.5)
        results = [get_or_error(d, "/healthz") for _ in range(5)]
        assert results == [(200, "ok\n")] * 5, results
        assert_endpoints_answer(d, rounds=3)
        assert t.wait_all_closed(HEADER_DEADLINE + 15), t.open_count()
    finally:
        t.close()
    assert_endpoints_answer(d, rounds=1)
