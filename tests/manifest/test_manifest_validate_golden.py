"""Golden tests for `aliasd validate`.

Each folder tests/manifests/bad/<case>/ is a small repository of broken
manifests; <case>/expected.txt holds the exact stderr of `aliasd validate`
run inside a copy of that folder (every error line, sorted, then "N errors").
A few cases are completed at run time (symlinks, a 50 MiB zip, a 4 MiB YAML
file) so that nothing large or odd is committed: see SETUP below.

Each folder tests/manifests/good/<case>/ must validate with exit 0 and print
<case>/expected.txt on stdout.

Regenerate after an intended message change (then review the diff!):
    UPDATE_GOLDEN=1 /usr/bin/python3 -m pytest tests/manifest/test_manifest_validate_golden.py
"""
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "manifests")
HDR = "apiVersion: aliasd/v1\nkind: Function\nname: f\n"


def _setup_zip_symlink(d):
    os.symlink("real.zip", os.path.join(d, "link.zip"))
    os.symlink("dir", os.path.join(d, "linkdir"))


def _setup_zip_oversize(d):
    with open(os.path.join(d, "big.zip"), "wb") as f:
        f.truncate(50 * 1024 * 1024 + 1)  # sparse: costs no disk


def _setup_too_many_nodes(d):
    with open(os.path.join(d, "fn.yaml"), "w") as f:
        f.write(HDR + "releases:\n  v1:\n    code: {imageUri: 'r@sha256:" + "0" * 64 + "'}\n")
        f.write("config:\n  description: [" + "0," * 200001 + "0]\n")


def _setup_file_oversize(d):
    with open(os.path.join(d, "fn.yaml"), "w") as f:
        f.write(HDR)
        f.write(("#" * 1023 + "\n") * 4096)


SETUP = {
    "zip-symlink": _setup_zip_symlink,
    "zip-oversize": _setup_zip_oversize,
    "yaml-too-many-nodes": _setup_too_many_nodes,
    "file-oversize": _setup_file_oversize,
}


def _cases(kind):
    root = os.path.join(CORPUS, kind)
    return sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))


def _run(aliasd_bin, src, tmp_path, name):
    work = tmp_path / name
    shutil.copytree(src, work, symlinks=True)
    expected_path = os.path.join(src, "expected.txt")
    os.unlink(work / "expected.txt") if (work / "expected.txt").exists() else None
    if name in SETUP:
        SETUP[name](str(work))
    p = subprocess.run([os.path.abspath(aliasd_bin), "validate"], cwd=work, capture_output=True, text=True,
                       errors="replace", timeout=60)
    return p, expected_path


def _golden(expected_path, actual):
    """The expected output; with UPDATE_GOLDEN set, `actual` is written there first."""
    if os.environ.get("UPDATE_GOLDEN"):
        with open(expected_path, "w") as f:
            f.write(actual)
    with open(expected_path) as f:
        return f.read()


def test_corpus_is_big_enough():
    assert len(_cases("bad")) >= 40
    assert len(_cases("good")) >= 3


@pytest.mark.parametrize("name", _cases("bad"))
def test_bad_manifest(aliasd_bin, tmp_path, name):
    src = os.path.join(CORPUS, "bad", name)
    p, expected_path = _run(aliasd_bin, src, tmp_path, name)
    expected = _golden(expected_path, p.stderr)
    assert p.stdout == ""
    assert p.returncode == 1, p.stderr
    assert p.stderr == expected
    # every line but the summary is "file:line[:col]: message" or "file: message"
    lines = p.stderr.splitlines()
    assert lines[-1].endswith(" error") or lines[-1].endswith(" errors")
    assert int(lines[-1].split()[0]) == len(lines) - 1
    for line in lines[:-1]:
        assert ": " in line and not line.startswith("aliasd"), line


@pytest.mark.parametrize("name", _cases("good"))
def test_good_manifest(aliasd_bin, tmp_path, name):
    src = os.path.join(CORPUS, "good", name)
    p, expected_path = _run(aliasd_bin, src, tmp_path, name)
    expected = _golden(expected_path, p.stdout)
    assert p.stderr == ""
    assert p.returncode == 0
    assert p.stdout == expected


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}


@pytest.mark.parametrize("name", _cases("bad"))
def test_bad_manifest_same_from_git_commit(aliasd_bin, tmp_path, name):
    """A commit tree (--repo) gives exactly the same errors as the folder."""
    src = os.path.join(CORPUS, "bad", name)
    work = tmp_path / name
    shutil.copytree(src, work, symlinks=True)
    os.unlink(work / "expected.txt")
    if name in SETUP:
        SETUP[name](str(work))
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), HOME=str(tmp_path), **GIT_ENV)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "case"], check=True, env=env)
    p = subprocess.run([os.path.abspath(aliasd_bin), "validate", "--repo", "file://" + str(work), "--ref", "main"],
                       capture_output=True, text=True, errors="replace", timeout=60, env=env)
    with open(os.path.join(src, "expected.txt")) as f:
        expected = f.read()
    assert p.returncode == 1
    assert p.stderr == expected
