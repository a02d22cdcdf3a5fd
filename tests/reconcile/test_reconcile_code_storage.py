"""A region whose code storage is full (issue 16), on the real binary.

The emulator's code storage limit is set just above what is stored: the
function whose new release needs more fails with CodeStorageExceededException,
reported once, as terminal, with the region and the advice to prune; the
other function stays in sync, nothing is retried, and raising the limit lets
the next apply converge.
"""
import json
import os

import pytest

from emulator import Emulator
from test_reconcile_lib import (aliases, alias_target, commit_all, counts, diff, init_repo, manifest, run,
                                versions, write)


def blob(n, seed):
    """A zip of about n incompressible bytes."""
    import io
    import zipfile
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        z.writestr("app.py", os.urandom(n) if seed is None else bytes((i * seed) % 251 for i in range(n)))
    return b.getvalue()


@pytest.fixture
def emu():
    with Emulator(update_delay=0) as e:
        yield e


def test_full_storage_fails_one_function_clearly(aliasd_bin, emu, tmp_path):
    r = init_repo(tmp_path / "repo")
    small, big = blob(2000, 7), blob(20000, 11)
    write(r, "a/small.zip", small)
    write(r, "b/v1.zip", small + b"")  # same bytes: fn-b v1 stores as much as fn-a
    write(r, "fn-a.yaml", manifest("fn-a", [("v1", "{code: {zipFile: a/small.zip}}")], [("Prod", "v1")]))
    write(r, "fn-b.yaml", manifest("fn-b", [("v1", "{code: {zipFile: b/v1.zip}}")], [("Prod", "v1")]))
    commit_all(r, "two functions")
    p = run(aliasd_bin, emu, "apply", "--repo", str(r), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    lam = emu.client()
    used = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]
    assert used == 4 * len(small)  # two $LATEST and two versions

    # fn-b's v2 is 20 kB: its $LATEST grows, then a version of it is stored: over the limit
    emu.configure(code_storage_limit=used + len(big))
    write(r, "b/v2.zip", big)
    write(r, "fn-b.yaml", manifest("fn-b", [("v1", "{code: {zipFile: b/v1.zip}}"),
                                            ("v2", "{code: {zipFile: b/v2.zip}}")], [("Prod", "v2")]))
    commit_all(r, "fn-b v2")
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(r), "--ref", "main")
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert "1 in sync, 1 failed." in p.stdout, out
    # the failed step as it happens, and once in the Failed list: fn-b only
    lines = [l for l in out.splitlines() if "CodeStorageExceededException" in l]
    assert len(lines) == 2 and all(l.lstrip().startswith("fn-b: ") for l in lines), out
    assert "Failed:\n  fn-b: PublishVersion: CodeStorageExceededException" in p.stderr, out
    msg = lines[-1]
    assert "the Lambda code storage of region us-east-1 is full (Code storage limit exceeded.)" in msg, msg
    assert "prune.keepVersions" in msg and "aliasd versions" in msg, msg
    assert "fn-a" not in "\n".join(lines), out
    d = diff(before, counts(emu))
    # terminal: one attempt, no second observe-and-plan pass
    assert d.get("PublishVersion") == 1, d
    assert d.get("ListVersionsByFunction", 0) <= 2, d  # one observe per function
    assert "observing again" not in out, out
    # Prod still serves v1: nothing half-done
    assert alias_target(aliases(lam, "fn-b")["Prod"]) == ("1", {})
    assert [v["Version"] for v in versions(lam, "fn-b")] == ["1"]

    p = run(aliasd_bin, emu, "apply", "--json", "--repo", str(r), "--ref", "main")
    assert p.returncode == 1, p.stdout + p.stderr
    doc = {f["name"]: f for f in json.loads(p.stdout)["functions"]}
    assert doc["fn-b"]["error_kind"] == "terminal", doc
    assert "CodeStorageExceededException" in doc["fn-b"]["error"], doc
    assert doc["fn-a"]["status"] == "in-sync" and "error_kind" not in doc["fn-a"], doc

    # more storage: the next apply converges
    emu.configure(code_storage_limit=0)
    p = run(aliasd_bin, emu, "apply", "--repo", str(r), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    assert alias_target(aliases(lam, "fn-b")["Prod"]) == ("2", {})
