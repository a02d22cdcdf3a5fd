"""The Git server goes away for a while (`git daemon` on loopback, stopped and
restarted): aliasd keeps running, reports it, backs off, and recovers without
a restart, applying what was pushed meanwhile."""
import os
import re
import signal
import subprocess
import time

import pytest

from daemon_helpers import World, free_port, function_manifest, wait_for


class GitDaemon:
    def __init__(self, base, port):
        self.base, self.port, self.proc = base, port, None

    def start(self):
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
             "--port=%d" % self.port, "--base-path=%s" % self.base, self.base],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

        def up():
            r = subprocess.run(["git", "ls-remote", self.url], capture_output=True, timeout=10)
            return r.returncode == 0
        wait_for(up, 10, interval=0.1, what="git daemon up")

    @property
    def url(self):
        return "git://127.0.0.1:%d/releases.git" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)   # the daemon and its per-connection children
            self.proc.wait(timeout=10)


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    g = GitDaemon(str(tmp_path), free_port())
    g.start()
    w.git = g
    yield w
    w.close()
    g.stop()


def metric(d, name):
    code, text = d.get("/metrics")
    assert code == 200
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_git_server_down_then_back(world):
    world.repo.write("functions/fn.yaml", function_manifest("search"))
    world.repo.commit("search")
    d = world.start(repo_url=world.git.url, interval="1s", backoff_max="3s")
    world.wait_aliases("search", {"Prod": "1", "Test": "2"}, timeout=20)
    world.wait_state("search", "Synced")
    assert d.status()["git"]["state"] == "ok"

    world.git.stop()
    world.repo.write("functions/fn.yaml", function_manifest("search", prod="v2"))
    head = world.repo.commit("promote while the server is down")   # pushed to the bare repo directly
    st = wait_for(lambda: (lambda s: s if s["git"]["state"] == "error" else None)(d.status()), 5,
                  what="git error reported")
    assert st["git"]["error"].startswith("ls-remote: "), st["git"]["error"]
    assert st["ready"] is True
    assert d.function("search")["state"] == "Synced"       # the last good state stays
    # logged just after the status takes the error: wait for the line
    wait_for(lambda: "repository unavailable" in d.log_text(), 5, what="repository unavailable logged")
    errors0 = metric(d, 'aliasd_git_requests_total{kind="ls-remote",result="error"}')
    time.sleep(6)
    errors1 = metric(d, 'aliasd_git_requests_total{kind="ls-remote",result="error"}')
    # backoff 1 s, 2 s, 3 s, 3 s (+-10%): no hot loop
    assert 1 <= errors1 - errors0 <= 4, (errors0, errors1)
    st = d.status()
    assert st["git"]["consecutiveFailures"] >= 3
    assert d.proc.poll() is None
    assert world._safe_aliases("search") == {"Prod": "1", "Test": "2"}

    world.git.start()
    t0 = time.monotonic()
    world.wait_aliases("search", {"Prod": "2", "Test": "2"}, timeout=3.3 + 1 + 3)
    took = time.monotonic() - t0
    st = wait_for(lambda: (lambda s: s if s["git"]["state"] == "ok" else None)(d.status()), 5, what="git ok")
    assert st["remoteRevision"] == head and st["git"]["consecutiveFailures"] == 0
    wait_for(lambda: d.status()["lastAppliedRevision"] == head, 5, what="applied")
    assert "repository reachable again" in d.log_text()
    assert re.search(r"repository unavailable step=ls-remote", d.log_text())
    rc, _ = d.stop()
    assert rc == 0
    print("recovered %.2fs after the server came back" % took)
