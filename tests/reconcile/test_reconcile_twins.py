"""One function declared under two spellings (issue 15 finding 1): `apply` refuses both declarations.

Before the fix, `name: fn-twin` and its full ARN (or a name with and without `region:`) were two
functions to the duplicate check, so apply published both and moved Prod back and forth on each run.
"""
import pytest

from emulator import Emulator
from test_reconcile_lib import aliases, alias_target, commit_all, init_repo, manifest, mkzip, run, write

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn-twin"


@pytest.fixture
def emu():
    with Emulator(update_delay=0.1) as e:
        yield e


def test_apply_refuses_both_twins(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    assert emu.region == "us-east-1"
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    write(repo, "a/two.zip", mkzip("two"))
    write(repo, "a.yaml", manifest("fn-twin", [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    write(repo, "b.yaml", manifest(ARN, [("v1", "{code: {zipFile: a/two.zip}}")], [("Prod", "v1")]))
    c = manifest("region-twin", [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")])
    write(repo, "c.yaml", c.replace("name: region-twin\n", "name: region-twin\nregion: us-east-1\n"))
    write(repo, "d.yaml", manifest("region-twin", [("v1", "{code: {zipFile: a/two.zip}}")], [("Prod", "v1")]))
    write(repo, "good.yaml", manifest("good-fn", [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    commit_all(repo, "twins")

    for attempt in range(2):  # the bug showed as Prod flipping on every run
        p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
        assert p.returncode == 1, p.stdout + p.stderr
        for where in ("a.yaml:3:7", "b.yaml:3:7", "c.yaml:3:7", "d.yaml:3:7"):
            assert where + ": name: function" in p.stderr and "declared more than once" in p.stderr, p.stderr
        for fn in ("fn-twin", "region-twin"):
            with pytest.raises(lam.exceptions.ResourceNotFoundException):
                lam.get_function(FunctionName=fn)
        assert alias_target(aliases(lam, "good-fn")["Prod"]) == ("1", {})

    p = run(aliasd_bin, emu, "validate", str(repo))
    assert p.returncode == 1
    for where in ("a.yaml:3:7", "b.yaml:3:7", "c.yaml:3:7", "d.yaml:3:7"):
        assert where in p.stderr, p.stderr


def test_apply_still_applies_one_spelling(aliasd_bin, emu, tmp_path):
    """The full ARN alone is one function, applied as before."""
    lam = emu.client()
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    write(repo, "b.yaml", manifest(ARN, [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    commit_all(repo, "one")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    assert alias_target(aliases(lam, "fn-twin")["Prod"]) == ("1", {})


def test_apply_knows_the_default_region(aliasd_bin, emu, tmp_path):
    """With the region in effect known (--region), a bare name and an ARN in another region are two
    functions: both are applied, each in its own region; in the same region they stay twins."""
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    write(repo, "a.yaml", manifest("fn-twin", [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    write(repo, "b.yaml", manifest(ARN, [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    commit_all(repo, "two regions")

    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main", "--region", "eu-west-1")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "declared more than once" not in p.stderr, p.stderr
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main", "--region", "us-east-1")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "a.yaml:3:7" in p.stderr and "b.yaml:3:7" in p.stderr and "declared more than once" in p.stderr
