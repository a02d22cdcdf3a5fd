"""prune.keepHistory on the real binary (issue 16, DESIGN §9).

Releases r1..r5 in a real Git repository, one commit each declaring only its
own release; the last commit adds `keepVersions: 1, keepHistory: 3`.  Its
plan names r1's and r2's versions with their trace and size, the apply leaves
exactly r3, r4 and r5, and `git revert` of that commit is then exactly one
UpdateAlias.  A version that only an alias's weight references is never
pruned, and a folder (no Git history) says that keepHistory counts as 0.
"""
import pytest

from emulator import Emulator
from test_reconcile_lib import (WRITE_OPS, aliases, alias_target, commit_all, counts, diff, git, init_repo,
                                manifest, mkzip, run, versions, write)

PRUNE = {"keepVersions": 1, "keepHistory": 3}


@pytest.fixture
def emu():
    with Emulator(update_delay=0) as e:
        yield e


def size_label(n):
    """What aliasd prints for a size (util/parse.c size_format)."""
    if n < 1024:
        return "%d B" % n
    return "%.1f KiB" % (n / 1024.0)


def release_zip(k):
    # a few KiB, different per release
    return mkzip("".join("print(%d, %d)\n" % (k, i) for i in range(200)))


def commit_release(r, k, prune=None):
    write(r, "artifacts/r%d.zip" % k, release_zip(k))
    write(r, "fn.yaml", manifest("fn", [("r%d" % k, "{code: {zipFile: artifacts/r%d.zip}}" % k)],
                                 [("Prod", "r%d" % k)], prune=prune))
    return commit_all(r, "release r%d" % k)


def apply(aliasd_bin, emu, r, *extra):
    p = run(aliasd_bin, emu, "apply", "--repo", str(r), "--ref", "main", *extra)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def test_keep_history_keeps_what_a_revert_needs(aliasd_bin, emu, tmp_path):
    r = init_repo(tmp_path / "repo")
    lam = emu.client()
    commits = {}
    for k in range(1, 5):
        commits[k] = commit_release(r, k)
        apply(aliasd_bin, emu, r)
    assert [v["Version"] for v in versions(lam, "fn")] == ["1", "2", "3", "4"]
    sizes = {int(v["Version"]): v["CodeSize"] for v in versions(lam, "fn")}
    assert sizes[1] == len(release_zip(1))

    commits[5] = commit_release(r, 5, prune=PRUNE)
    before = counts(emu)
    p = run(aliasd_bin, emu, "plan", "--repo", str(r), "--ref", "main")
    assert p.returncode == 2, p.stdout + p.stderr  # changes pending
    d = diff(before, counts(emu))
    assert not [k for k in d if k in WRITE_OPS], d  # a plan writes nothing
    out = p.stdout
    for k in (1, 2):
        line = "- version %d (r%d @%s, %s)" % (k, k, commits[k][:7], size_label(sizes[k]))
        assert line in out, out
    assert "- version 3" not in out and "- version 4" not in out, out

    p = apply(aliasd_bin, emu, r)
    assert [v["Version"] for v in versions(lam, "fn")] == ["3", "4", "5"], p.stdout
    assert alias_target(aliases(lam, "fn")["Prod"]) == ("5", {})
    # again: in sync, nothing more to delete
    before = counts(emu)
    apply(aliasd_bin, emu, r)
    d = diff(before, counts(emu))
    assert not [k for k in d if k in WRITE_OPS], d

    # revert the last commit: r4 is still there, so one UpdateAlias and nothing else
    git(r, "revert", "--no-edit", "HEAD")
    before = counts(emu)
    p = apply(aliasd_bin, emu, r)
    d = diff(before, counts(emu))
    assert {k: v for k, v in d.items() if k in WRITE_OPS} == {"UpdateAlias": 1}, (d, p.stdout)
    assert alias_target(aliases(lam, "fn")["Prod"]) == ("4", {})
    assert [v["Version"] for v in versions(lam, "fn")] == ["3", "4", "5"]


def test_weight_only_reference_is_never_pruned(aliasd_bin, emu, tmp_path):
    r = init_repo(tmp_path / "repo")
    lam = emu.client()
    for k in range(1, 4):
        commit_release(r, k)
        apply(aliasd_bin, emu, r)
    # a human's canary: primary 3, 10% on version 1 (no manifest declares it)
    lam.create_alias(FunctionName="fn", Name="Canary", FunctionVersion="3",
                     RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}})
    commit_release(r, 4, prune={"keepVersions": 0})
    p = run(aliasd_bin, emu, "plan", "--repo", str(r), "--ref", "main")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "- version 2 (" in p.stdout, p.stdout
    assert "- version 1" not in p.stdout and "- version 3" not in p.stdout, p.stdout
    apply(aliasd_bin, emu, r)
    assert [v["Version"] for v in versions(lam, "fn")] == ["1", "3", "4"]
    assert alias_target(aliases(lam, "fn")["Canary"]) == ("3", {"1": 0.1})


def test_folder_has_no_history(aliasd_bin, emu, tmp_path):
    r = init_repo(tmp_path / "repo")
    for k in range(1, 3):
        commit_release(r, k)
        apply(aliasd_bin, emu, r)
    commit_release(r, 3, prune=PRUNE)
    p = run(aliasd_bin, emu, "plan", "--repo", str(r))
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.count("prune.keepHistory counts as 0") == 1, p.stderr
    # without history only keepVersions counts: both older versions go
    assert "- version 1 (r1 @" in p.stdout and "- version 2 (r2 @" in p.stdout, p.stdout


def test_keep_history_without_keep_versions_is_an_error(aliasd_bin, emu, tmp_path):
    r = init_repo(tmp_path / "repo")
    commit_release(r, 1, prune={"keepHistory": 3})
    p = run(aliasd_bin, emu, "plan", "--repo", str(r), "--ref", "main")
    assert p.returncode not in (0, 2), p.stdout + p.stderr
    assert "fn.yaml:14:3: prune.keepHistory needs keepVersions" in p.stderr, p.stderr


def test_deletions_wait_for_the_alias_moves(aliasd_bin, emu, tmp_path):
    r = init_repo(tmp_path / "repo")
    lam = emu.client()
    for k in range(1, 4):
        commit_release(r, k)
        apply(aliasd_bin, emu, r)
    commit_release(r, 4, prune={"keepVersions": 1})
    # Prod cannot move (denied): the pass ends there, no version is deleted
    emu.inject("error", operation="UpdateAlias", count=10, status=403, code="AccessDeniedException",
               message="not allowed")
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(r), "--ref", "main")
    assert p.returncode == 1, p.stdout + p.stderr
    d = diff(before, counts(emu))
    assert d.get("DeleteFunction", 0) == 0, (d, p.stdout)
    assert [v["Version"] for v in versions(lam, "fn")] == ["1", "2", "3", "4"]
    emu.clear_faults()

    # a version someone else deleted meanwhile (404) counts as done: no second pass
    emu.inject("error", operation="DeleteFunction", count=1, status=404, code="ResourceNotFoundException",
               message="Function not found: fn:1")
    p = apply(aliasd_bin, emu, r)
    assert "already deleted" in p.stdout and "observing again" not in p.stdout, p.stdout
    assert alias_target(aliases(lam, "fn")["Prod"]) == ("4", {})
    # the injected 404 left version 1 in place: the next apply deletes it
    assert [v["Version"] for v in versions(lam, "fn")] == ["1", "4"]
    apply(aliasd_bin, emu, r)
    assert [v["Version"] for v in versions(lam, "fn")] == ["4"]
