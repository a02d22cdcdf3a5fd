"""A broken commit: the daemon keeps running, keeps the last good state of the
functions it breaks, applies the rest, shows the error with file:line; the
fixing commit applies."""
import re

import pytest

from daemon_helpers import World, function_manifest, wait_for


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def test_broken_commit_keeps_last_good_state(world):
    world.repo.write("functions/a.yaml", function_manifest("alpha"))
    world.repo.write("functions/b.yaml", function_manifest("beta"))
    first = world.repo.commit("alpha and beta")
    d = world.start(interval="1s")
    world.wait_aliases("alpha", {"Prod": "1", "Test": "2"}, timeout=20)
    world.wait_aliases("beta", {"Prod": "1", "Test": "2"}, timeout=20)
    world.wait_state("alpha", "Synced")
    # applied once beta is Synced too (its aliases can be in place a moment before)
    good = wait_for(lambda: d.status()["lastAppliedRevision"] == first and first, 10,
                    what="the first commit applied")

    # one commit: alpha's manifest breaks (alias to an undeclared release),
    # beta is promoted
    world.repo.write("functions/a.yaml", function_manifest("alpha", prod="v3"))
    world.repo.write("functions/b.yaml", function_manifest("beta", prod="v2"))
    bad = world.repo.commit("promote beta, break alpha")
    world.wait_aliases("beta", {"Prod": "2", "Test": "2"}, timeout=10)
    # kept on its last good state: not Failed, the manifest error beside it
    f = wait_for(lambda: (lambda x: x if x and x["keptLastGood"] else None)(d.function("alpha")), 10,
                 what="alpha kept on its last good state")
    assert f["state"] == "Synced", f
    assert f["manifestError"] == f["lastError"]
    assert re.match(r"^functions/a\.yaml:\d+:\d+: ", f["lastError"]), f["lastError"]
    assert "v3" in f["lastError"]
    assert f["desired"] == {"Prod": "v1", "Test": "v2"}   # the last good state
    assert f["lastAppliedRevision"] == good
    st = d.status()
    assert st["lastAttemptedRevision"] == bad
    assert st["lastAppliedRevision"] == good     # partly applied is not applied
    assert st["errorCount"] >= 1 and any(e.startswith("functions/a.yaml:") for e in st["errors"])
    assert world._safe_aliases("alpha") == {"Prod": "1", "Test": "2"}
    assert d.proc.poll() is None

    # now a YAML syntax error: the file's functions stay on their last good state
    world.repo.write("functions/a.yaml", "apiVersion: aliasd/v1\nkind: Function\nname: alpha\naliases: [\n")
    world.repo.commit("alpha: syntax error")
    wait_for(lambda: d.status()["lastAttemptedRevision"] == world.repo.git("rev-parse", "HEAD"), 10,
             what="syntax error commit loaded")
    f = d.function("alpha")
    assert f is not None and f["state"] == "Synced" and f["keptLastGood"] is True
    assert f["lastError"].startswith("functions/a.yaml:"), f["lastError"]
    assert world._safe_aliases("alpha") == {"Prod": "1", "Test": "2"}

    # the fixing commit applies at once
    world.repo.write("functions/a.yaml", function_manifest("alpha", prod="v2"))
    fixed = world.repo.commit("fix alpha: promote v2")
    world.wait_aliases("alpha", {"Prod": "2", "Test": "2"}, timeout=10)
    f = world.wait_state("alpha", "Synced", timeout=10)
    f = wait_for(lambda: (lambda x: x if x["keptLastGood"] is False else None)(d.function("alpha")), 5,
                 what="alpha no longer on its last good state")
    assert f["lastError"] is None and f["manifestError"] is None
    wait_for(lambda: d.status()["lastAppliedRevision"] == fixed, 10, what="fixed commit applied")
    assert d.status()["errors"] == []
    rc, _ = d.stop()
    assert rc == 0


def test_reconcile_failure_backs_off_and_newer_commit_supersedes(world):
    # Prod: 7 names a published version that does not exist: the function fails
    # (Lambda-side), is retried with backoff, never in a hot loop
    world.repo.write("functions/c.yaml", function_manifest("gamma", prod="7"))
    world.repo.commit("gamma points at a version that is not published")
    d = world.start(interval="1s", backoff_max="2s")
    # Failed and retried with backoff (kind unspecified/transient), or Stalled
    # (terminal: a pinned version that does not exist) and not retried at all
    f = wait_for(lambda: (lambda x: x if x and x["state"] in ("Failed", "Stalled") else None)(
        d.function("gamma")), 20, what="gamma failed")
    assert f["lastError"].startswith("functions/c.yaml:"), f["lastError"]
    assert f["reason"] == f["lastError"] and f["errorKind"], f
    n0 = d.function("gamma")["failures"]
    calls0 = sum(world.emu.stats()["requests"].values())
    import time
    time.sleep(3)
    g = d.function("gamma")
    n1 = g["failures"]
    calls1 = sum(world.emu.stats()["requests"].values())
    if g["state"] == "Stalled":
        assert g["errorKind"] == "terminal" and n1 == n0, g
        assert calls1 - calls0 == 0, calls1 - calls0
    else:
        # backoff 1 s, 2 s, 2 s...: at most a handful of attempts in 3 s
        assert 1 <= n1 - n0 <= 4, (n0, n1)
        assert calls1 - calls0 < 60, calls1 - calls0
    # a newer commit that fixes it applies at once
    world.repo.write("functions/c.yaml", function_manifest("gamma", prod="v2"))
    world.repo.commit("gamma: Prod v2")
    world.wait_aliases("gamma", {"Prod": "2", "Test": "2"}, timeout=6)
    f = world.wait_state("gamma", "Synced")
    assert f["failures"] == 0 and f["lastError"] is None


def test_lambda_unavailable_then_back(world):
    """Every Lambda call fails (HTTP 500): the daemon keeps running, reports the
    failure with the manifest's file:line, backs off, and converges once Lambda
    answers again, without a restart."""
    world.repo.write("functions/d.yaml", function_manifest("delta"))
    world.repo.commit("delta")
    world.emu.configure(error_rate=1.0)
    d = world.start(interval="1s", backoff_max="2s")
    f = world.wait_state("delta", "Failed", timeout=30)
    assert f["lastError"].startswith("functions/d.yaml:"), f["lastError"]
    assert d.status()["ready"] is True
    assert "reconcile failed function=delta" in d.log_text()
    # the reason and its kind, in /status and in the metrics (HTTP 500: transient;
    # "unspecified" where the AWS layer does not classify yet)
    assert f["errorKind"] in ("transient", "unspecified") and f["reason"] == f["lastError"], f
    code, metrics = d.get("/metrics")
    assert code == 200
    info = [l for l in metrics.splitlines() if l.startswith("aliasd_function_error_info{")]
    assert len(info) == 1 and 'function="delta"' in info[0] and 'state="Failed"' in info[0], info
    assert 'kind="%s"' % f["errorKind"] in info[0] and 'reason="functions/d.yaml:' in info[0], info
    assert re.search(r'^aliasd_reconcile_failures_total\{kind="%s"\} [1-9]' % f["errorKind"], metrics,
                     re.M), metrics
    world.emu.configure(error_rate=0)
    world.wait_aliases("delta", {"Prod": "1", "Test": "2"}, timeout=15)
    f = world.wait_state("delta", "Synced", timeout=10)
    assert f["lastError"] is None and f["failures"] == 0 and f["errorKind"] is None
    assert "aliasd_function_error_info{" not in d.get("/metrics")[1]
    assert d.proc.poll() is None
    rc, _ = d.stop()
    assert rc == 0


def test_every_function_broken_then_removed(world):
    world.repo.write("functions/a.yaml", function_manifest("omega"))
    world.repo.write("functions/README.md", "manifests live here\n")
    world.repo.commit("omega")
    d = world.start(interval="1s")
    world.wait_state("omega", "Synced", timeout=20)
    good = d.status()["lastAppliedRevision"]
    # the only function of the commit is broken: nothing valid at all
    world.repo.write("functions/a.yaml", function_manifest("omega", test="v7"))
    bad = world.repo.commit("break the only function")
    wait_for(lambda: d.status()["lastAttemptedRevision"] == bad, 10, what="broken commit loaded")
    f = world.wait_state("omega", "Synced")
    assert f["keptLastGood"] is True
    assert f["desired"] == {"Prod": "v1", "Test": "v2"} and f["lastError"].startswith("functions/a.yaml:")
    assert d.status()["lastAppliedRevision"] == good
    # the manifest is deleted: the function is no longer managed (and left as it is)
    world.repo.git("rm", "-q", "functions/a.yaml")
    gone = world.repo.commit("omega is not ours any more")
    wait_for(lambda: d.status()["lastAttemptedRevision"] == gone, 10, what="deletion loaded")
    st = wait_for(lambda: (lambda s: s if s["functions"] == [] else None)(d.status()), 5, what="no functions")
    assert st["lastAppliedRevision"] == gone and st["errors"] == []
    assert "function no longer managed function=omega" in d.log_text()
    assert world._safe_aliases("omega") == {"Prod": "1", "Test": "2"}
    rc, _ = d.stop()
    assert rc == 0
