"""Resyncs paced by what the rate limiter allows now (issue 12, cmd/daemon/core.h).

After 429s the AIMD limiter of an (account, region) is slower than
reconcile.rateLimit: a resync planned after that is spread by the reduced
rate, and /status and the log say which rate was used.  The emulator's quota
switch (2 counted calls/s here) makes the daemon's limiter halve.
"""
import math
import re
import signal

import pytest

from daemon_helpers import World, function_manifest, wait_for

FNS = ("p-a", "p-b", "p-c", "p-d")
CONFIGURED = 20.0


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def set_rate_limit(world, rate):
    with open(world.config) as f:
        text = f.read()
    assert "rateLimit: 50" in text
    with open(world.config, "w") as f:
        f.write(text.replace("rateLimit: 50", "rateLimit: %g" % rate))


def test_resync_spread_by_the_reduced_rate(world):
    emu = world.emu
    for fn in FNS:
        world.repo.write("functions/%s.yaml" % fn, function_manifest(fn))
    world.repo.commit("fleet")
    emu.configure(quota=True, quota_rates={"other": 2})
    world.configure(interval="1s", resync="1h")
    set_rate_limit(world, CONFIGURED)
    d = world.start()
    region = emu.region
    rate_metric = 'aliasd_aws_rate_limit{account="default",region="%s"}' % region

    def throttled():
        try:  # no sample before the first client exists
            return d.metric('aliasd_aws_throttled_total{account="default",region="%s"}' % region) >= 1
        except AssertionError:
            return False
    # the cold creation, at up to 20 calls/s against a 2/s quota: 429s halve the limiter
    wait_for(throttled, 60, interval=0.2, what="the limiter slowed down by 429s")
    assert d.metric(rate_metric) < CONFIGURED
    st = d.status()["resync"]
    assert st["spreadSeconds"] == 0, st  # a 1-hour resync fits at any rate

    # a short resync period, SIGHUP'd: 4 functions x 1.1 / (20/s x 80%) = 0.3 s would fit 2 s at the
    # configured rate; at the reduced rate (below 2.75/s) it does not: spread by the rate used
    world.configure(interval="1s", resync="2s")
    set_rate_limit(world, CONFIGURED)
    d.signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in d.log_text(), 20, what="the reload")

    def spread():
        s = d.status()["resync"]
        return s if s["periodSeconds"] == 2 and s["spreadSeconds"] > 0 and s["functions"] == 4 else None
    st = wait_for(spread, 60, interval=0.1, what="a resync spread by the reduced rate")
    assert st["rate"] < CONFIGURED, st
    # the spread is the one that rate needs (rounded up to a second), not the configured rate's
    need = 4 * 1.1 / (st["rate"] * 0.8)
    assert st["spreadSeconds"] == max(2, math.ceil(need - 1e-9)), (st, need)
    assert st["spreadSeconds"] > 2, st

    # said in the log with the rate used and the configured one
    def said():
        m = re.search(r"resync of 4 functions spread over (\d+)s: rate ([0-9.e-]+)/s "
                      r"\(the limiter's now; configured 20/s\)", d.log_text())
        return m
    m = wait_for(said, 10, what="the spread said in the log")
    assert int(m.group(1)) > 2 and float(m.group(2)) < CONFIGURED, m.group(0)
    rc, _ = d.stop(timeout=10)
    assert rc == 0, d.log_text()[-3000:]
