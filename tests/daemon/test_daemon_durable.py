"""The last good state survives a restart (DESIGN §3, issue 14): stopped,
then restarted on a commit that breaks a function, the daemon keeps that
function on its last good state (read back through stateDir/daemon-state.json
and the cache clone), shows it as such with the manifest error beside it (not
Failed), writes nothing to Lambda for it, and applies the fixing commit.  A
corrupt state file is a warning and a fresh start."""
import json
import os

import pytest

from daemon_helpers import World, function_manifest, wait_for

WRITES = ("CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishVersion",
          "CreateAlias", "UpdateAlias", "DeleteAlias", "DeleteFunction")


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def writes(emu):
    applied = emu.stats().get("applied", {})
    return {op: applied.get(op, 0) for op in WRITES}


def kept(d, name):
    f = d.function(name)
    return f if f and f["keptLastGood"] and f["state"] == "Synced" else None


def test_restart_on_broken_commit_keeps_last_good(world):
    world.repo.write("functions/a.yaml", function_manifest("alpha"))
    world.repo.write("functions/b.yaml", function_manifest("beta"))
    good = world.repo.commit("alpha and beta")
    d = world.start(interval="1s")
    world.wait_aliases("alpha", {"Prod": "1", "Test": "2"}, timeout=20)
    world.wait_state("alpha", "Synced")
    world.wait_state("beta", "Synced")
    rc, _ = d.stop()
    assert rc == 0
    state = json.load(open(os.path.join(world.state_dir, "daemon-state.json")))
    assert state["format"] == "aliasd-state/1"
    assert {f["name"]: f["revision"] for f in state["functions"]} == {"alpha": good, "beta": good}

    # while it is down: both manifests break (Prod -> an undeclared release)
    world.repo.write("functions/a.yaml", function_manifest("alpha", prod="v9"))
    world.repo.write("functions/b.yaml", function_manifest("beta", test="v8"))
    bad = world.repo.commit("break alpha and beta")
    before = writes(world.emu)
    d = world.start()
    f = wait_for(lambda: kept(d, "alpha"), 20, what="alpha on its last good state")
    assert f["restored"] is True
    assert f["desired"] == {"Prod": "v1", "Test": "v2"}
    assert f["desiredRevision"] == good
    assert f["manifestError"].startswith("functions/a.yaml:") and "v9" in f["manifestError"], f
    assert f["lastError"] == f["manifestError"]
    assert f["actual"] == {"Prod": "1", "Test": "2"}
    st = d.status()
    assert st["lastAttemptedRevision"] == bad
    assert st["summary"]["Failed"] == 0
    b = wait_for(lambda: kept(d, "beta"), 10, what="beta on its last good state")
    assert b["restored"] is True and b["desired"] == {"Prod": "v1", "Test": "v2"}
    assert "v8" in b["manifestError"]
    assert writes(world.emu) == before  # Lambda untouched
    assert "last good state restored function=alpha" in d.log_text()
    assert "last good state restored function=beta" in d.log_text()

    # a YAML syntax error on a restart: the file's function is not even declared
    rc, _ = d.stop()
    assert rc == 0
    world.repo.write("functions/a.yaml", "apiVersion: aliasd/v1\nkind: Function\nname: alpha\naliases: [\n")
    world.repo.commit("alpha: syntax error")
    d = world.start()
    f = wait_for(lambda: kept(d, "alpha"), 20, what="alpha kept across a syntax error")
    assert f["desired"] == {"Prod": "v1", "Test": "v2"} and f["desiredRevision"] == good
    assert writes(world.emu) == before

    # the fixing commit applies at once
    world.repo.write("functions/a.yaml", function_manifest("alpha", prod="v2"))
    world.repo.write("functions/b.yaml", function_manifest("beta"))
    fixed = world.repo.commit("fix alpha (promote v2) and beta")
    world.wait_aliases("alpha", {"Prod": "2", "Test": "2"}, timeout=15)
    f = world.wait_state("alpha", "Synced")
    wait_for(lambda: d.status()["lastAppliedRevision"] == fixed, 10, what="fixed commit applied")
    f = d.function("alpha")
    assert f["keptLastGood"] is False and f["manifestError"] is None
    rc, _ = d.stop()
    assert rc == 0
    state = json.load(open(os.path.join(world.state_dir, "daemon-state.json")))
    assert {f["name"]: f["revision"] for f in state["functions"]} == {"alpha": fixed, "beta": fixed}


@pytest.mark.parametrize("content", [b"", b"{\"format\": \"aliasd-state/1\", \"functions\": [",
                                     b"\x00\xffgarbage", b"{\"format\": \"other\"}"])
def test_corrupt_state_file_is_a_fresh_start(world, content):
    world.repo.write("functions/a.yaml", function_manifest("alpha", prod="v9"))
    world.repo.commit("alpha broken from the start")
    os.makedirs(world.state_dir, exist_ok=True)
    with open(os.path.join(world.state_dir, "daemon-state.json"), "wb") as f:
        f.write(content)
    d = world.start()
    f = world.wait_state("alpha", "Failed")  # nothing good to keep
    assert f["keptLastGood"] is False and f["desired"] == {}
    assert "state file unreadable, starting afresh" in d.log_text()
    assert d.proc.poll() is None
    rc, _ = d.stop()
    assert rc == 0
