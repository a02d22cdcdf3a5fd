"""The daemon's cache of observed state (issue 12, reconcile/cache.h).

Counted calls are the emulator's API requests but GetFunction and Invoke (the
issue's definition) and GetAccountSettings (the code storage telemetry reads
it once per loaded commit and region, not per function: not reconcile's).
The test's own boto3 reads are made outside the measured windows.
"""
import time

import pytest

from daemon_helpers import World, alias_versions, function_manifest, wait_for

FNS = ("c-a", "c-b", "c-c")
NOT_COUNTED = ("GetFunction", "Invoke", "GetAccountSettings")


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def requests(emu):
    return dict(emu.stats().get("requests", {}))


def counted(before, after):
    return {op: n - before.get(op, 0) for op, n in after.items()
            if op not in NOT_COUNTED and n - before.get(op, 0)}


def synced_at(world, name, rev):
    def ok():
        f = world.daemon.function(name)
        return f and f["state"] == "Synced" and f["lastAppliedRevision"] == rev
    wait_for(ok, 30, what="%s synced at %s" % (name, rev))


def fleet(world, resync, **prod):
    for fn in FNS:
        world.repo.write("functions/%s.yaml" % fn, function_manifest(fn, prod=prod.get(fn, "v1")))
    rev = world.repo.commit("fleet")
    world.start(interval="1s", resync=resync)
    for fn in FNS:
        synced_at(world, fn, rev)
    return rev


def settle(world, seconds=1.5, busy=(), limit=30):
    """Nothing in flight: no job of the daemon still calls Lambda. The counted
    requests (but those named in `busy`, which go on for good) stayed the same
    for `seconds`; a sleep alone is too short on a loaded machine. After
    `limit` seconds it returns anyway: the caller's counts then tell."""
    def snapshot():
        return {op: n for op, n in requests(world.emu).items() if op not in NOT_COUNTED and op not in busy}
    deadline = time.monotonic() + limit
    last, since = snapshot(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = snapshot()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return


def test_warm_promotion_is_one_counted_call(world):
    fleet(world, "10m")
    settle(world)
    before = requests(world.emu)
    world.repo.write("functions/c-b.yaml", function_manifest("c-b", prod="v2"))
    rev = world.repo.commit("promote c-b")
    synced_at(world, "c-b", rev)
    settle(world)
    spent = counted(before, requests(world.emu))
    assert spent == {"UpdateAlias": 1}, spent
    assert alias_versions(world.emu, "c-b") == {"Prod": "2", "Test": "2"}
    # and a second promotion (a rollback) from the entry the first one left
    before = requests(world.emu)
    world.repo.write("functions/c-b.yaml", function_manifest("c-b", prod="v1"))
    rev = world.repo.commit("roll back c-b")
    synced_at(world, "c-b", rev)
    settle(world)
    spent = counted(before, requests(world.emu))
    assert spent == {"UpdateAlias": 1}, spent
    assert alias_versions(world.emu, "c-b") == {"Prod": "1", "Test": "2"}


def test_stale_revision_is_refused_then_observed_again(world):
    fleet(world, "10m")
    # someone else touches c-a's Prod (same version, new description): its
    # RevisionId changes, the cache does not know
    world.emu.client().update_alias(FunctionName="c-a", Name="Prod", FunctionVersion="1",
                                    Description="edited by hand")
    settle(world, 0.5)
    before = world.emu.stats().get("responses", {}).get("UpdateAlias", {})
    world.repo.write("functions/c-a.yaml", function_manifest("c-a", prod="v2"))
    rev = world.repo.commit("promote c-a")
    synced_at(world, "c-a", rev)
    after = world.emu.stats().get("responses", {}).get("UpdateAlias", {})
    # the write planned from the cache carried the old RevisionId: 412; then
    # c-a was observed again and the write repeated with the current one
    assert after.get("412", 0) - before.get("412", 0) == 1, after
    assert after.get("200", 0) - before.get("200", 0) == 1, after
    assert alias_versions(world.emu, "c-a") == {"Prod": "2", "Test": "2"}
    assert "observing again" in world.daemon.log_text()


def test_in_sync_resync_reads_aliases_only(world):
    fleet(world, "2s")
    settle(world, busy=("ListAliases",))
    before = requests(world.emu)
    time.sleep(6)  # about 3 resyncs of each function
    spent = counted(before, requests(world.emu))
    # the versions come from the cache (read again once in ten resyncs)
    assert set(spent) == {"ListAliases"}, spent
    assert len(FNS) <= spent["ListAliases"] <= 5 * len(FNS), spent


def test_drift_is_repaired_at_the_next_resync(world):
    fleet(world, "3s")
    world.emu.client().update_alias(FunctionName="c-c", Name="Prod", FunctionVersion="2")
    # the cache still says Prod -> 1; the resync observes afresh and moves it back
    world.wait_aliases("c-c", {"Prod": "1", "Test": "2"}, timeout=20)
    # and a promotion after resyncs still plans from the cache (entries stay fresh)
    settle(world, 2, busy=("ListAliases",))
    world.repo.write("functions/c-c.yaml", function_manifest("c-c", prod="v2"))
    rev = world.repo.commit("promote c-c")
    synced_at(world, "c-c", rev)
    world.wait_aliases("c-c", {"Prod": "2", "Test": "2"}, timeout=10)


def test_resync_that_cannot_fit_is_spread(world):
    for fn in FNS:
        world.repo.write("functions/%s.yaml" % fn, function_manifest(fn))
    world.repo.commit("fleet")
    world.configure(interval="1s", resync="2s")
    with open(world.config) as f:
        text = f.read()
    assert "rateLimit: 50" in text
    with open(world.config, "w") as f:
        f.write(text.replace("rateLimit: 50", "rateLimit: 0.5"))
    d = world.start()
    # 3 functions x 1.1 calls / (0.5/s x 80%) = 8.25 s > 2 s: spread over 9 s
    st = wait_for(lambda: (lambda s: s if s.get("resync", {}).get("functions") == 3 else None)(d.status()),
                  20, what="3 functions loaded")
    assert st["resync"] == {"periodSeconds": 2, "spreadSeconds": 9, "functions": 3,
                            "callsPerFunction": 1.1, "rate": 0.5}, st["resync"]
    wait_for(lambda: "resync of 3 functions spread over 9s: rate 0.5/s" in d.log_text(), 10,
             what="the spread said in the log")
    assert d.log_text().count("spread over") == 1
