"""The daemon's debug "memory" line (cmd/daemon/jobs.c): what the heap holds
once the workers are idle, read by tests/bench/bench_daemon.py to tell its
resident size apart.
"""
import re

import pytest

from daemon_helpers import World, function_manifest, wait_for

FNS = ("m-a", "m-b", "m-c")


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def memory_lines(world):
    out = []
    for line in world.daemon.log_text().splitlines():
        if line.startswith("memory "):
            out.append({k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)})
    return out


def test_memory_line_once_synced(world):
    for fn in FNS:
        world.repo.write("functions/%s.yaml" % fn, function_manifest(fn))
    world.repo.commit("three functions")
    world.start(interval="1s", resync="10m")  # the helpers log at debug

    def synced_line():
        lines = [m for m in memory_lines(world) if m.get("synced") == len(FNS)]
        return lines[-1] if lines else None
    m = wait_for(synced_line, 30, what="a memory line with every function Synced")
    assert m["functions"] == len(FNS)
    assert m["cache_entries"] == len(FNS)  # each function's observation is kept
    assert 100 < m["cache_bytes"] < 1000 * len(FNS)
    assert "heap_free" in m and "heap_mmapped" in m
    if m["heap_in_use"]:  # glibc's malloc; a sanitizer's allocator says 0
        assert m["heap_in_use"] > m["cache_bytes"]
        assert m["heap_mmapped"] <= m["heap_in_use"]
