"""Git transfers and the systemd watchdog (issue 15 finding 3).

Progress comes from libgit2's transfer reports, which it makes once per 100 KB
received: a transfer slower than that per WatchdogSec/2 counts as stalled.: a fetch that
keeps receiving data for longer than WatchdogSec keeps the pings going; one
that stops sending stops them (so systemd can catch a real hang) and still
times out; SIGTERM during a long fetch exits within 5 s."""
import os
import sys
import time

import pytest

from daemon_helpers import Daemon, World, function_manifest, wait_for, write_config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "git"))
from slowgit import SlowGitHttpServer  # noqa: E402

WATCHDOG_USEC = 2000000


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    w.repo.write("functions/a.yaml", function_manifest("slowpoke"))
    # an incompressible blob makes a pack of some 2 MB, sent in 8 KB packets.
    # libgit2 reports transfer progress once per 100 KB received, so the
    # rates here (>= 70 KB/s) give a report at least every 1.5 s.
    with open(os.path.join(w.repo.work, "blob.bin"), "wb") as f:
        f.write(os.urandom(2 * 1024 * 1024))
    w.repo.commit("slowpoke and a big blob")
    yield w
    w.close()


def start(world, server):
    write_config(world.config, server.url("releases.git"), world.state_dir, world.port, interval="1m")
    env = dict(world.emu.env(), WATCHDOG_USEC=str(WATCHDOG_USEC))
    world.daemon = Daemon(world.binary, world.config, world.tmp, env, world.port)
    return world.daemon


def gaps(times, start, end):
    """Largest gap between pings inside [start, end] (the edges count)."""
    inside = [start] + [t for t in times if start <= t <= end] + [end]
    return max(b - a for a, b in zip(inside, inside[1:]))


def test_slow_fetch_keeps_watchdog_fed(world):
    with SlowGitHttpServer(world.tmp, mode="slow", duration=6.0) as server:
        d = start(world, server)
        d.wait_ready(timeout=40)
        wait_for(lambda: len(server.fetches) == 1 and server.fetches[0][1] is not None, 5,
                 what="the slow fetch recorded")
        t0, t1 = server.fetches[0]
        assert t1 - t0 > 2 * WATCHDOG_USEC / 1e6, (t0, t1)  # longer than WatchdogSec
        pings = d.notify.times_of("WATCHDOG=1")
        # pings every WATCHDOG_USEC/2 throughout: never a gap systemd would punish
        worst = gaps(pings, t0 + 0.5, t1)
        assert worst < WATCHDOG_USEC / 1e6 - 0.1, (worst, pings, (t0, t1))
        world.wait_aliases("slowpoke", {"Prod": "1", "Test": "2"}, timeout=20)
        rc, took = d.stop()
        assert rc == 0


def test_stalled_fetch_stops_pings_and_times_out(world):
    with SlowGitHttpServer(world.tmp, mode="stall", duration=3.0, stall=60.0) as server:
        d = start(world, server)
        assert server.stalled.wait(30), "the fetch never started"
        t_stall = time.monotonic()
        # the repository's own inactivity timeout (30 s) ends the fetch
        wait_for(lambda: "repository unavailable" in d.log_text(), 50, interval=0.5,
                 what="fetch timed out")
        t_fail = time.monotonic()
        log = d.log_text()
        assert "step=fetch" in log, log
        assert t_fail - t_stall > 10, (t_stall, t_fail)  # a timeout, not an early error
        pings = d.notify.times_of("WATCHDOG=1")
        # no ping between "no progress for WatchdogSec" and the timeout
        quiet = [t for t in pings if t_stall + WATCHDOG_USEC / 1e6 + 1.0 < t < t_fail - 1.0]
        assert quiet == [], (quiet, t_stall, t_fail)
        assert d.proc.poll() is None  # still running, backing off
        # and once the loop is back it pings again
        wait_for(lambda: any(t > t_fail for t in d.notify.times_of("WATCHDOG=1")), 5,
                 what="pings after the timeout")
        rc, _ = d.stop()
        assert rc == 0


def test_sigterm_during_slow_fetch_exits_fast(world):
    with SlowGitHttpServer(world.tmp, mode="slow", duration=30.0) as server:
        d = start(world, server)
        wait_for(lambda: len(server.fetches) == 1, 20, what="fetch started")
        time.sleep(2)  # well inside the 30 s transfer
        rc, took = d.stop(timeout=10)
        assert rc == 0, d.log_text()
        assert took < 5, took
        assert "stopped" in d.log_text()
