"""prune.keepHistory and storage warning events in the daemon (issue 16).

The daemon reads the last commits from its cache clone at each new commit:
with `keepVersions: 1, keepHistory: 3` it keeps exactly what the last three
commits declared.  A region whose code storage crosses 80% (then 90%) sends
one storage.warning webhook event per crossing, with the region.
"""
import io
import os
import sys
import zipfile

import pytest

from daemon_helpers import World, function_manifest, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "github"))
from githubfake import WebhookReceiver  # noqa: E402


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


@pytest.fixture
def hook():
    with WebhookReceiver() as h:
        yield h


def release_zip(k):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("app.py", date_time=(1980, 1, 1, 0, 0, 0)), "print(%d)\n" % k)
    return b.getvalue()


def commit_release(world, k, prune=""):
    path = os.path.join(world.repo.work, "artifacts", "r%d.zip" % k)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(release_zip(k))
    world.repo.write("functions/fn.yaml", f"""apiVersion: aliasd/v1
kind: Function
name: fn
config: {{runtime: python3.12, handler: app.handler, role: arn:aws:iam::123456789012:role/r}}
releases:
  r{k}:
    code: {{zipFile: artifacts/r{k}.zip}}
aliases:
  Prod: r{k}
{prune}""")
    return world.repo.commit("release r%d" % k)


def published(emu):
    page = emu.client().list_versions_by_function(FunctionName="fn")
    return [v["Version"] for v in page["Versions"] if v["Version"] != "$LATEST"]


def test_daemon_keeps_the_last_commits(world):
    commit_release(world, 1)
    world.start(interval="1s")
    world.wait_aliases("fn", {"Prod": "1"}, timeout=30)
    for k in range(2, 5):
        commit_release(world, k)
        world.wait_aliases("fn", {"Prod": str(k)}, timeout=30)
    assert published(world.emu) == ["1", "2", "3", "4"]
    commit_release(world, 5, prune="prune: {keepVersions: 1, keepHistory: 3}\n")
    wait_for(lambda: published(world.emu) == ["3", "4", "5"], 30, what="versions 3, 4, 5 only")
    assert world._safe_aliases("fn") == {"Prod": "5"}
    # the next commit derives its history from this one: only itself is read
    commit_release(world, 6, prune="prune: {keepVersions: 1, keepHistory: 3}\n")
    wait_for(lambda: published(world.emu) == ["4", "5", "6"], 30, what="versions 4, 5, 6 only")
    log = world.daemon.log_text()
    reads = [l for l in log.splitlines() if "history read for prune.keepHistory" in l]
    assert len(reads) == 2, reads
    assert "commits=3" in reads[0] and "loaded=2" in reads[0], reads
    assert "commits=3" in reads[1] and "loaded=0" in reads[1], reads
    assert "keepHistory counts as 0" not in log


def test_storage_warning_event_once_per_crossing(world, hook):
    from test_daemon_notify import notify_config
    emu = world.emu
    emu.configure(code_storage_limit=10 ** 9)
    world.repo.write("functions/a.yaml", function_manifest("alpha"))
    world.repo.commit("alpha")
    world.configure(interval="1s", resync="2s")
    notify_config(world, hooks=[(hook.url + "/json", "json", ["storage.warning"])])
    world.start()
    world.wait_aliases("alpha", {"Prod": "1", "Test": "2"}, timeout=30)
    used = emu.client().get_account_settings()["AccountUsage"]["TotalCodeSize"]

    def storage(r):
        return r["body"] and r["body"]["event"] == "storage.warning"

    emu.configure(code_storage_limit=used * 100 // 85)
    hook.wait_for(1, 30, predicate=storage)
    reads = lambda: emu.stats()["requests"].get("GetAccountSettings", 0)  # noqa: E731
    r0 = reads()
    wait_for(lambda: reads() >= r0 + 2, 20, what="two more resync readings")
    events = [r["body"] for r in hook.requests if storage(r)]
    assert len(events) == 1, events
    e = events[0]
    assert e["region"] == "us-east-1" and e["function"] is None, e
    assert "at 80% of its limit" in e["message"] and "prune.keepHistory" in e["message"], e

    emu.configure(code_storage_limit=used * 100 // 95)
    hook.wait_for(2, 30, predicate=storage)
    events = [r["body"] for r in hook.requests if storage(r)]
    assert len(events) == 2 and "at 90% of its limit" in events[1]["message"], events
    # only storage.warning was asked for
    assert all(storage(r) for r in hook.requests), [r["body"] for r in hook.requests]
