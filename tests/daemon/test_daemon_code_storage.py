"""Code storage telemetry and a full code storage in the daemon (issue 16).

GetAccountSettings at start and every resync: the bytes and the limit in
/metrics, /status and `aliasd status`; one warning at 80% and one at 90%
(once per crossing); a publish that finds the storage full stalls the
function with the CodeStorageExceeded reason, the others stay Synced.
"""
import io
import os
import re
import subprocess
import zipfile

import pytest

from daemon_helpers import World, function_manifest, wait_for


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def used(emu):
    return emu.client().get_account_settings()["AccountUsage"]["TotalCodeSize"]


def metric(d, name):
    code, body = d.get("/metrics")
    assert code == 200
    m = re.search(r'^%s\{region="us-east-1"\} (\S+)$' % name, body, re.M)
    return float(m.group(1)) if m else None


def reads(emu):
    return emu.stats()["requests"].get("GetAccountSettings", 0)


def test_storage_telemetry_warnings_and_full_storage(world, aliasd_bin):
    emu = world.emu
    emu.configure(code_storage_limit=10 ** 9)
    world.repo.write("functions/a.yaml", function_manifest("alpha"))
    world.repo.write("functions/b.yaml", function_manifest("beta"))
    world.repo.commit("alpha and beta")
    d = world.start(interval="1s", resync="2s")
    world.wait_aliases("alpha", {"Prod": "1", "Test": "2"}, timeout=20)
    world.wait_aliases("beta", {"Prod": "1", "Test": "2"}, timeout=20)
    world.wait_state("alpha", "Synced")
    world.wait_state("beta", "Synced")
    n = used(emu)
    assert n > 0

    # read at start, then at each resync: the metrics and /status follow the usage
    wait_for(lambda: metric(d, "aliasd_code_storage_bytes") == n, 15, what="storage bytes metric")
    assert metric(d, "aliasd_code_storage_limit_bytes") == 10 ** 9
    cs = d.status()["codeStorage"]
    assert set(cs) == {"us-east-1"}, cs
    assert cs["us-east-1"]["used"] == n and cs["us-east-1"]["limit"] == 10 ** 9, cs
    assert cs["us-east-1"]["error"] is None and cs["us-east-1"]["percent"] == pytest.approx(n * 100 / 10 ** 9)
    assert "code storage at" not in d.log_text()

    # 85%: one warning, however many resyncs follow
    emu.configure(code_storage_limit=n * 100 // 85)
    wait_for(lambda: "code storage at 80% of the limit" in d.log_text(), 15, what="80% warning")
    r0 = reads(emu)
    wait_for(lambda: reads(emu) >= r0 + 2, 15, what="two more resync readings")
    log = d.log_text()
    assert log.count("code storage at 80% of the limit") == 1, log[-3000:]
    assert "code storage at 90%" not in log
    line = [l for l in log.splitlines() if "code storage at 80% of the limit" in l][0]
    assert "region=us-east-1" in line and "prune.keepVersions" in line, line
    # `aliasd status` shows it against the limit
    p = subprocess.run([aliasd_bin, "status", "--url", d.url("")], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    st = [l for l in p.stdout.splitlines() if l.startswith("storage:")]
    assert len(st) == 1 and re.match(r"^storage: +us-east-1: \S+ \S+ of \S+ \S+ \(85\.\d%\)$", st[0]), p.stdout

    # 95%: the 90% warning, once
    emu.configure(code_storage_limit=n * 100 // 95)
    wait_for(lambda: "code storage at 90% of the limit" in d.log_text(), 15, what="90% warning")
    r0 = reads(emu)
    wait_for(lambda: reads(emu) >= r0 + 2, 15, what="two more resync readings")
    log = d.log_text()
    assert log.count("code storage at 90% of the limit") == 1 and log.count("at 80% of the limit") == 1
    assert metric(d, "aliasd_code_storage_limit_bytes") == n * 100 // 95

    # beta's next release does not fit: beta stalls with the reason, alpha stays Synced
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        z.writestr("app.py", os.urandom(4096))
    with open(os.path.join(world.repo.work, "artifacts", "big.zip"), "wb") as f:
        f.write(b.getvalue())
    manifest = function_manifest("beta").replace(
        "aliases:", "  v3:\n    code: {zipFile: artifacts/big.zip}\naliases:").replace("Prod: v1", "Prod: v3")
    assert "Prod: v3" in manifest and "big.zip" in manifest
    world.repo.write("functions/b.yaml", manifest)
    world.repo.commit("beta v3, too big for the storage left")
    f = world.wait_state("beta", "Stalled", timeout=20)
    assert f["errorKind"] == "terminal", f
    assert "CodeStorageExceededException" in f["lastError"], f
    assert "code storage of region us-east-1 is full" in f["lastError"], f
    assert "prune.keepVersions" in f["lastError"], f
    assert d.function("alpha")["state"] == "Synced"
    assert world._safe_aliases("beta") == {"Prod": "1", "Test": "2"}
    p = subprocess.run([aliasd_bin, "status", "--url", d.url("")], capture_output=True, text=True, timeout=30)
    assert "stalled (terminal" in p.stdout and "CodeStorageExceededException" in p.stdout, p.stdout
    assert d.proc.poll() is None
