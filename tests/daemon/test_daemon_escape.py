"""Hostile file names (issue 15 finding 5): a manifest file name with a byte
that is not UTF-8 and a newline is escaped in every output format: /status
is strict UTF-8 JSON, every JSON log line parses on its own, and the
`aliasd status` table keeps one line per function (no fake extra line)."""
import json
import os
import subprocess

import pytest

from daemon_helpers import World, function_manifest

OK_NAME = b"functions/ok\nINJECTED \xff.yaml"
BAD_NAME = b"functions/bad\nFAKE Synced \xfe.yaml"


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def write_bytes_name(work, name, text):
    path = os.path.join(os.fsencode(work), name)
    with open(path, "wb") as f:
        f.write(text.encode())


def test_hostile_file_names_are_escaped(world):
    write_bytes_name(world.repo.work, OK_NAME, function_manifest("hostile"))
    write_bytes_name(world.repo.work, BAD_NAME, function_manifest("broken", prod="v9"))
    world.repo.commit("hostile file names")
    world.configure(interval="1s")
    with open(world.config) as f:
        text = f.read().replace("format: text", "format: json")
    with open(world.config, "w") as f:
        f.write(text)
    d = world.start()
    world.wait_aliases("hostile", {"Prod": "1", "Test": "2"}, timeout=20)
    world.wait_state("hostile", "Synced")

    # /status: the raw bytes are strict UTF-8 and strict JSON
    import urllib.request
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(d.url("/status"), timeout=10) as r:
        raw = r.read()
    st = json.loads(raw.decode("utf-8", errors="strict"))
    names = {f["name"]: f for f in st["functions"]}
    assert names["hostile"]["file"] == "functions/ok\nINJECTED \\xff.yaml", names["hostile"]["file"]
    assert names["broken"]["state"] == "Failed"
    assert "\\xfe" in names["broken"]["manifestError"], names["broken"]
    assert any("\\xfe" in e for e in st["errors"]), st["errors"]

    # JSON logs: every line parses on its own, strictly
    raw_log = open(d.log_path, "rb").read()
    lines = raw_log.decode("utf-8", errors="strict").splitlines()
    assert lines
    for line in lines:
        json.loads(line)
    assert any("\\\\xfe" in line for line in lines), "the broken file's error is logged"

    # the status table: one line per function, names escaped
    r = subprocess.run([world.binary, "status", "--url", "http://127.0.0.1:%d" % world.port],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8", errors="strict")
    for line in out.splitlines():
        assert not line.startswith("INJECTED") and not line.startswith("FAKE"), out
    assert "\\n" in out and "\\xfe" in out, out
    rows = [line for line in out.splitlines() if line.split()[:1] in (["hostile"], ["broken"])]
    assert len(rows) == 2, out
    rc, _ = d.stop()
    assert rc == 0
