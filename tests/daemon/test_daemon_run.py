"""`aliasd run` end to end: systemd notify, polling promotion, /metrics,
`aliasd status`, SIGTERM, SIGUSR1 (drift repaired at once)."""
import json
import shutil
import signal
import subprocess
import time

import pytest

from daemon_helpers import World, function_manifest, version_descriptions, wait_for


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


@pytest.mark.serial  # serial: a wall-clock bound of interval + 1 s
def test_ready_promote_within_interval_and_stop(world):
    world.repo.write("functions/fn.yaml", function_manifest("orders"))
    first = world.repo.commit("orders: Prod v1, Test v2")
    d = world.start(interval="1s")
    # READY=1 came after the first successful load, with a STATUS= line
    assert d.notify.has("READY=1")
    assert any(m.startswith("STATUS=") for m in d.notify.all())
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=20)
    f = world.wait_state("orders", "Synced")
    assert f["desired"] == {"Prod": "v1", "Test": "v2"}
    assert f["actual"] == {"Prod": "1", "Test": "2"}
    assert f["lastAppliedRevision"] == first
    descs = version_descriptions(world.emu, "orders")
    assert descs == {"1": "v1 @%s: Version1" % first[:7], "2": "v2 @%s: Version2" % first[:7]}

    # promotion: Prod v1 -> v2, live within interval (1 s, +10% jitter) + 1 s
    publishes = world.emu.stats()["requests"].get("PublishVersion", 0)
    world.repo.write("functions/fn.yaml", function_manifest("orders", prod="v2"))
    t0 = time.monotonic()
    second = world.repo.commit("promote orders v2 to Prod")
    world.wait_aliases("orders", {"Prod": "2", "Test": "2"}, timeout=10)
    elapsed = time.monotonic() - t0
    assert elapsed <= 1.1 + 1.0, "promotion took %.2fs" % elapsed
    # a rollout of an already published release publishes nothing
    assert world.emu.stats()["requests"].get("PublishVersion", 0) == publishes
    st = wait_for(lambda: (lambda s: s if s["lastAppliedRevision"] == second else None)(d.status()), 5,
                  what="applied revision")
    assert st["ready"] is True and st["git"]["state"] == "ok"
    assert st["summary"]["Synced"] == 1
    # the journal is the audit trail: every write, as it completed
    log = d.log_text()
    assert 'step applied function=orders step="~ alias Prod: v1 (1) \u2192 v2 (2)"' in log, log[-3000:]
    assert 'step applied function=orders step="+ publish release v2' in log, log[-3000:]

    # systemd: STATUS= tracks progress; SIGTERM exits 0 within 5 s, STOPPING=1 sent
    rc, took = d.stop(timeout=5)
    assert rc == 0, d.log_text()
    assert took < 5
    # sent before the exit; the socket's reader thread may not have taken it in yet
    wait_for(lambda: d.notify.has("STOPPING=1"), 5, what="STOPPING=1")


def test_metrics_pass_promtool(world):
    if not shutil.which("promtool"):
        pytest.fail("promtool missing (Debian package prometheus)")
    world.repo.write("functions/fn.yaml", function_manifest("billing"))
    world.repo.commit("billing")
    d = world.start(interval="1s")
    world.wait_state("billing", "Synced", timeout=20)
    code, text = d.get("/metrics")
    assert code == 200
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr + "\n" + text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    assert samples['aliasd_functions{state="Synced"}'] == 1
    assert samples['aliasd_up'] == 1
    assert samples['aliasd_reconcile_total{result="success"}'] >= 1
    assert samples['aliasd_reconcile_duration_seconds_count'] >= 1
    assert samples['aliasd_git_requests_total{kind="ls-remote",result="ok"}'] >= 1
    assert samples['aliasd_git_requests_total{kind="fetch",result="ok"}'] >= 1
    assert any(k.startswith('aliasd_last_applied_revision_info{revision="') for k in samples)
    assert samples.get('aliasd_aws_requests_total{operation="PublishVersion",code="ok"}') == 2
    for kind in ("# TYPE aliasd_reconcile_duration_seconds histogram", "# HELP aliasd_functions "):
        assert kind in text
    d.stop()


def test_status_command(world, aliasd_bin):
    world.repo.write("functions/fn.yaml", function_manifest("inventory"))
    world.repo.commit("inventory")
    d = world.start(interval="1s")
    world.wait_state("inventory", "Synced", timeout=20)
    url = "http://127.0.0.1:%d" % world.port
    r = subprocess.run([aliasd_bin, "status", "--url", url], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("repository: file://")
    row = [l for l in lines if l.startswith("inventory ")]
    assert len(row) == 1, r.stdout
    assert "Synced" in row[0] and "Prod: v1 -> 1" in row[0] and "Test: v2 -> 2" in row[0]
    r = subprocess.run([aliasd_bin, "status", "--json", "--url", url + "/"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0
    st = json.loads(r.stdout)
    assert [f["name"] for f in st["functions"]] == ["inventory"]
    # the address can come from the daemon's configuration file
    r = subprocess.run([aliasd_bin, "status", "--json", "-c", world.config], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["functions"][0]["name"] == "inventory"
    d.stop()
    # nobody listening: exit 1 with a hint
    r = subprocess.run([aliasd_bin, "status", "--url", url], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "is the daemon running" in r.stderr


def test_sigusr1_repairs_drift_now(world):
    world.repo.write("functions/fn.yaml", function_manifest("drifty"))
    world.repo.commit("drifty")
    d = world.start(interval="1m", resync="1h")
    world.wait_aliases("drifty", {"Prod": "1", "Test": "2"}, timeout=20)
    world.wait_state("drifty", "Synced")
    # a human moves Prod by hand: nothing happens until the resync (1 h) ...
    world.emu.client().update_alias(FunctionName="drifty", Name="Prod", FunctionVersion="2")
    time.sleep(1.5)
    assert world._safe_aliases("drifty")["Prod"] == "2"
    # ... or SIGUSR1
    d.signal(signal.SIGUSR1)
    world.wait_aliases("drifty", {"Prod": "1", "Test": "2"}, timeout=5)
    assert "reconcile requested (SIGUSR1)" in d.log_text()
    rc, _ = d.stop()
    assert rc == 0


def test_watchdog_pings(world):
    world.repo.write("functions/fn.yaml", function_manifest("wd"))
    world.repo.commit("wd")
    world.configure(interval="60s")
    from daemon_helpers import Daemon
    d = Daemon(world.binary, world.config, world.tmp, dict(world.emu.env(), WATCHDOG_USEC="400000"), world.port)
    world.daemon = d
    d.wait_ready()
    # counted from READY on: the pings during a slow start are not the idle ones
    t0 = time.monotonic()
    time.sleep(1.5)
    elapsed = time.monotonic() - t0
    pings = [t for t in d.notify.times_of("WATCHDOG=1") if t >= t0]
    # every WATCHDOG_USEC/2 = 0.2 s while idle between 60 s polls (never more often;
    # +3 for pings sent before t0 and taken in after it)
    assert 4 <= len(pings) <= int(elapsed / 0.2) + 3, (len(pings), elapsed)
    rc, _ = d.stop()
    assert rc == 0


def test_sigterm_during_reconcile_exits_cleanly(world):
    # slow Lambda: every call takes 300 ms, so calls are in flight when SIGTERM comes
    world.emu.configure(latency_ms=300)
    for i in range(6):
        world.repo.write("functions/f%d.yaml" % i, function_manifest("slow-%d" % i))
    world.repo.commit("six slow functions")
    d = world.start(interval="1s")
    wait_for(lambda: d.status()["summary"]["Progressing"] > 0, 10, what="reconciles in flight")
    rc, took = d.stop(timeout=5)
    assert rc == 0, d.log_text()[-3000:]
    assert took < 5
    assert "stopped" in d.log_text()
    # nothing half-done is left that a restart would not finish: a new daemon converges
    world.emu.configure(latency_ms=0)
    d2 = world.start(interval="1s")
    for i in range(6):
        world.wait_aliases("slow-%d" % i, {"Prod": "1", "Test": "2"}, timeout=30)
    assert d2.stop()[0] == 0
