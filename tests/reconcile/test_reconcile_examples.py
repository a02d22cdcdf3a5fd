"""examples/: reproducible zips, a valid manifest, and a walkthrough that works from a fresh clone."""
import hashlib
import os
import shutil
import subprocess

from test_reconcile_lib import EXAMPLES, commit_all, git, init_repo


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_zips_are_reproducible(tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("__pycache__"))
    committed = {z: sha(os.path.join(copy, "artifacts", z)) for z in ("Version1.zip", "Version2.zip")}
    assert committed["Version1.zip"] != committed["Version2.zip"]
    for z in committed:
        os.remove(os.path.join(copy, "artifacts", z))
    p = subprocess.run(["make", "-C", str(copy)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert {z: sha(os.path.join(copy, "artifacts", z)) for z in committed} == committed
    # touching a source and rebuilding gives the same bytes again
    os.utime(os.path.join(copy, "src", "v1", "app.py"))
    p = subprocess.run(["make", "-C", str(copy), "all", "verify"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "reproducible" in p.stdout, p.stdout + p.stderr
    # clean keeps the committed zips
    subprocess.run(["make", "-C", str(copy), "clean"], check=True, capture_output=True, timeout=60)
    assert sha(os.path.join(copy, "artifacts", "Version1.zip")) == committed["Version1.zip"]


def test_fresh_clone_validates(aliasd_bin, tmp_path):
    src = init_repo(tmp_path / "src")
    shutil.copytree(EXAMPLES, src, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    commit_all(src, "examples")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(src), str(clone)], check=True, capture_output=True, timeout=60)
    p = subprocess.run([aliasd_bin, "validate", "--repo", str(clone), "--ref", "main"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 function, 2 releases, 2 aliases: ok" in p.stdout
    assert git(clone, "ls-files", "artifacts").split() == ["artifacts/Version1.zip", "artifacts/Version2.zip"]
