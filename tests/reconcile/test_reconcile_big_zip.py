"""Multi-MiB zip files: aliasd streams the request body (base64 while sending),
signed with SigV4 (the emulator checks the signature over the body it got),
and a retried upload sends the whole body again."""
import os

import pytest

from emulator import Emulator
from test_reconcile_lib import b64sha, commit_all, counts, diff, init_repo, manifest, run, versions, write

RETRY_ENV = {"ALIASD_AWS_RETRY_BASE_MS": "5", "ALIASD_AWS_RETRY_AFTER_MAX_MS": "20"}


def bigzip(size):
    """A stored zip of about `size` bytes of random data (incompressible)."""
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("blob.bin", date_time=(1980, 1, 1, 0, 0, 0)), os.urandom(size))
    return buf.getvalue()


@pytest.fixture
def emu():
    with Emulator(update_delay=0) as e:
        yield e


def test_big_zips_upload_and_retry(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    repo = init_repo(tmp_path / "repo")
    one, two = bigzip((6 << 20) + 1), bigzip((5 << 20) + 3)
    assert sorted([len(one) % 3, len(two) % 3]) == [1, 2]  # both base64 paddings ("==" and "=")
    write(repo, "code/one.zip", one)
    write(repo, "big.yaml", manifest("big", [("r1", "{code: {zipFile: code/one.zip}}")], [("Prod", "r1")]))
    commit_all(repo, "r1")

    # CreateFunction: the first attempt's connection is reset after the body arrived
    emu.inject("reset", operation="CreateFunction", count=1)
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", env_extra=RETRY_ENV)
    assert p.returncode == 0, p.stdout + p.stderr
    d = diff(before, counts(emu))
    assert d.get("CreateFunction") == 2, d
    stats = emu.stats()
    assert stats["faults"].get("scripted", 0) + stats["faults"].get("reset", 0) >= 1, stats["faults"]
    assert stats["signature_failures"] == 0
    cfg = lam.get_function_configuration(FunctionName="big")
    assert cfg["CodeSha256"] == b64sha(one)
    assert cfg["CodeSize"] == len(one)

    # UpdateFunctionCode: two resets, then a 500, then it goes through
    write(repo, "code/two.zip", two)
    write(repo, "big.yaml", manifest("big", [("r1", "{code: {zipFile: code/one.zip}}"),
                                             ("r2", "{code: {zipFile: code/two.zip}}")], [("Prod", "r2")]))
    commit_all(repo, "r2")
    emu.inject("reset", operation="UpdateFunctionCode", count=2)
    emu.inject("error", operation="UpdateFunctionCode", count=1, status=500, code="ServiceException",
               message="try again")
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", env_extra=RETRY_ENV)
    assert p.returncode == 0, p.stdout + p.stderr
    d = diff(before, counts(emu))
    assert d.get("UpdateFunctionCode") == 4, d
    assert emu.stats()["signature_failures"] == 0
    vs = {v["Version"]: v["CodeSha256"] for v in versions(lam, "big")}
    assert vs["1"] == b64sha(one)
    assert vs["2"] == b64sha(two)
    assert lam.get_alias(FunctionName="big", Name="Prod")["FunctionVersion"] == "2"
