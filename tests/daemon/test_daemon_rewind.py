"""A force push to an older commit (issue 15 finding 7): by default applied with a warning and a
metric naming both commits; with `repository.allowRewind: false` refused, the last good state kept
and the reason in /status."""
import signal
import time

import pytest

from daemon_helpers import World, function_manifest, wait_for


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def history(world):
    """r1 (Prod v1), then r2 (Prod v2) applied; returns the two commit ids."""
    world.repo.write("functions/a.yaml", function_manifest("alpha", prod="v1"))
    r1 = world.repo.commit("r1")
    world.repo.write("functions/a.yaml", function_manifest("alpha", prod="v2"))
    r2 = world.repo.commit("r2")
    return r1, r2


def force_push(world, commit):
    world.repo.git("reset", "-q", "--hard", commit)
    world.repo.git("push", "-q", "-f", "origin", "main")


def test_rewind_applied_with_a_warning(world):
    r1, r2 = history(world)
    d = world.start(interval="1s")
    world.wait_aliases("alpha", {"Prod": "2", "Test": "2"}, timeout=20)
    assert d.metric('aliasd_git_rewinds_total{result="applied"}') == 0

    force_push(world, r1)
    world.wait_aliases("alpha", {"Prod": "1", "Test": "2"}, timeout=15)
    log = wait_for(lambda: (lambda t: t if "ref rewound" in t else None)(d.log_text()), 10,
                   what="rewind warning")
    line = next(ln for ln in log.splitlines() if "ref rewound" in ln)
    assert "from=" + r2 in line and "to=" + r1 in line, line
    assert d.metric('aliasd_git_rewinds_total{result="applied"}') == 1
    assert d.metric('aliasd_git_rewinds_total{result="refused"}') == 0


def test_rewind_refused_when_not_allowed(world):
    r1, r2 = history(world)
    d = world.start(interval="1s", extra_repo="  allowRewind: false")
    world.wait_aliases("alpha", {"Prod": "2", "Test": "2"}, timeout=20)
    writes = {op: n for op, n in world.emu.stats()["requests"].items() if not op.startswith(("Get", "List"))}

    force_push(world, r1)
    st = wait_for(lambda: (lambda s: s if s["git"].get("error") else None)(d.status()), 15,
                  what="rewind refused in /status")
    err = st["git"]["error"]
    assert "rewind" in err and r1[:12] in err and r2[:12] in err and "allowRewind" in err, err
    assert st["lastAppliedRevision"] == r2
    # several polls later: still on r2's state, refused once in the log and the metric
    d.signal(signal.SIGUSR1)  # reconcile everything: still r2's desired state
    time.sleep(3)  # three more polls, each refusing the same head
    assert world._safe_aliases("alpha") == {"Prod": "2", "Test": "2"}
    assert d.log_text().count("ref rewound: commit refused") == 1, d.log_text()[-3000:]
    assert d.metric('aliasd_git_rewinds_total{result="refused"}') == 1
    # no write call since the refusal, only reads
    assert {op: n for op, n in world.emu.stats()["requests"].items()
            if not op.startswith(("Get", "List"))} == writes

    # a commit on top of r2 again (a descendant): applied, the refusal cleared
    world.repo.git("reset", "-q", "--hard", r2)
    world.repo.write("functions/a.yaml", function_manifest("alpha", prod="v1", test="v1"))
    world.repo.git("add", "-A")
    world.repo.git("commit", "-q", "-m", "r3")
    world.repo.git("push", "-q", "-f", "origin", "main")
    world.wait_aliases("alpha", {"Prod": "1", "Test": "1"}, timeout=15)
    wait_for(lambda: not d.status()["git"].get("error"), 10, what="refusal cleared")
