"""Two daemons, one repository, one account (issue 14): no duplicate
versions, no alias flapping, both converge; a promotion and a rollback give
exact versions, the alias ends as declared, and each alias is written at most
twice per change (RevisionId preconditions make the loser re-plan, not win)."""
import os
import signal
import time

import pytest

from daemon_helpers import (Daemon, World, alias_versions, free_port, function_manifest,
                            version_descriptions, wait_for, write_config)


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    w.second = None
    yield w
    if w.second:
        w.second.close()
    w.close()


def applied(emu, op):
    return emu.stats().get("applied", {}).get(op, 0)


def synced_at(d, name, rev):
    f = d.function(name)
    return f and f["state"] == "Synced" and f["lastAppliedRevision"] == rev


def both_synced(world, d1, d2, rev, timeout=30):
    for d in (d1, d2):
        wait_for(lambda: synced_at(d, "twin", rev), timeout, what="twin synced at %s" % rev)


def test_two_daemons_converge_without_duplicates_or_flapping(world):
    world.repo.write("functions/twin.yaml", function_manifest("twin"))
    first = world.repo.commit("twin")
    # resync 1m: a daemon that resyncs in the moment between the other one's
    # apply and its own poll of the new commit would revert the alias once
    # (its desired state is older); SIGUSR1 below forces the full passes
    d1 = world.start(interval="1s", resync="1m")
    port2 = free_port()
    cfg2 = os.path.join(world.tmp, "aliasd-2.yaml")
    write_config(cfg2, world.repo.url, os.path.join(world.tmp, "state-2"), port2, interval="1s", resync="1m")
    d2 = world.second = Daemon(world.binary, cfg2, world.tmp, world.emu.env(), port2)
    d2.wait_ready()
    world.wait_aliases("twin", {"Prod": "1", "Test": "2"}, timeout=30)
    both_synced(world, d1, d2, first)
    assert sorted(version_descriptions(world.emu, "twin")) == ["1", "2"]  # no duplicates

    # no flapping: full passes of both (SIGUSR1, twice) write nothing
    w0 = applied(world.emu, "UpdateAlias")
    p0 = applied(world.emu, "PublishVersion")
    for _ in range(2):
        d1.signal(signal.SIGUSR1)
        d2.signal(signal.SIGUSR1)
        time.sleep(1.5)
    both_synced(world, d1, d2, first)
    assert applied(world.emu, "UpdateAlias") == w0
    assert applied(world.emu, "PublishVersion") == p0
    assert alias_versions(world.emu, "twin") == {"Prod": "1", "Test": "2"}

    # promotion: Prod v1 -> v2
    world.repo.write("functions/twin.yaml", function_manifest("twin", prod="v2"))
    promo = world.repo.commit("promote twin")
    world.wait_aliases("twin", {"Prod": "2", "Test": "2"}, timeout=20)
    both_synced(world, d1, d2, promo)
    assert 1 <= applied(world.emu, "UpdateAlias") - w0 <= 2
    assert sorted(version_descriptions(world.emu, "twin")) == ["1", "2"]
    assert applied(world.emu, "PublishVersion") == p0  # a promotion publishes nothing

    # rollback: Prod v2 -> v1
    w1 = applied(world.emu, "UpdateAlias")
    world.repo.write("functions/twin.yaml", function_manifest("twin", prod="v1"))
    back = world.repo.commit("roll twin back")
    world.wait_aliases("twin", {"Prod": "1", "Test": "2"}, timeout=20)
    both_synced(world, d1, d2, back)
    d1.signal(signal.SIGUSR1)
    d2.signal(signal.SIGUSR1)
    time.sleep(2)  # a full pass of each: still as declared, nothing written
    both_synced(world, d1, d2, back)
    assert 1 <= applied(world.emu, "UpdateAlias") - w1 <= 2
    assert alias_versions(world.emu, "twin") == {"Prod": "1", "Test": "2"}
    assert sorted(version_descriptions(world.emu, "twin")) == ["1", "2"]
    assert applied(world.emu, "PublishVersion") == p0
    for d in (d1, d2):
        rc, _ = d.stop()
        assert rc == 0
