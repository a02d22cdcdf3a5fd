"""The classic walkthrough with `aliasd plan` / `aliasd apply` against the emulator.

create function + publish Version1 + Prod -> 1; add Version2 + Test -> 2;
promote Prod to v2 (exactly one UpdateAlias); git revert (exactly one
UpdateAlias); apply again (zero writes).
"""
import json
import re

import pytest

from emulator import Emulator
from test_reconcile_lib import (EXAMPLES, ROLE, aliases, alias_target, b64sha, commit_all, copy_examples, counts,
                                diff, git, init_repo, run, versions, write, writes)

FN = "my-lambda-function"


@pytest.fixture
def emu():
    with Emulator(update_delay=0.3) as e:
        yield e


def v1_only_manifest():
    with open(EXAMPLES + "/my-lambda-function.yaml") as f:
        text = f.read()
    # drop release v2 and alias Test: the first commit of the walkthrough
    text = re.sub(r"  v2:\n    code: \{zipFile: artifacts/Version2.zip\}\n    description: Version2\n", "", text)
    text = text.replace("  Test: v2\n", "")
    assert "v2" not in text.split("releases:")[1]
    return text


def test_walkthrough(aliasd_bin, emu, tmp_path):
    repo = init_repo(tmp_path / "repo")
    copy_examples(repo)
    write(repo, "my-lambda-function.yaml", v1_only_manifest())
    c1 = commit_all(repo, "my-lambda-function v1 in Prod")
    lam = emu.client()
    zip1 = open(EXAMPLES + "/artifacts/Version1.zip", "rb").read()
    zip2 = open(EXAMPLES + "/artifacts/Version2.zip", "rb").read()

    # 1. plan on nothing: exit 2, says what it will do, no write
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 2, p.stderr
    assert "+ create function my-lambda-function" in p.stdout
    assert "+ publish release v1" in p.stdout
    assert "+ alias Prod: v1 (new)" in p.stdout
    assert writes(counts(emu)) == 0

    # 2. apply: create, publish Version1, Prod -> 1
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    vs = versions(lam, FN)
    assert [v["Version"] for v in vs] == ["1"]
    assert vs[0]["CodeSha256"] == b64sha(zip1)
    assert vs[0]["Description"] == "v1 @%s: Version1" % c1[:7]
    assert alias_target(aliases(lam, FN)["Prod"]) == ("1", {})

    # 3. add Version2 with Test
    copy_examples(repo)
    commit_all(repo, "add v2 in Test")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    vs = versions(lam, FN)
    assert [v["Version"] for v in vs] == ["1", "2"]
    assert vs[1]["CodeSha256"] == b64sha(zip2)
    al = aliases(lam, FN)
    assert alias_target(al["Prod"]) == ("1", {})
    assert alias_target(al["Test"]) == ("2", {})

    # 4. promote: Prod: v2 costs exactly one UpdateAlias
    with open(str(repo / "my-lambda-function.yaml")) as f:
        text = f.read()
    write(repo, "my-lambda-function.yaml", text.replace("Prod: v1", "Prod: v2"))
    commit_all(repo, "promote v2 to Prod")
    before = counts(emu)
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 2
    assert "~ alias Prod: v1 (1) \u2192 v2 (2)" in p.stdout
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    d = diff(before, counts(emu))
    assert d.get("UpdateAlias") == 1, d
    assert writes(d) == 1, d
    assert alias_target(aliases(lam, FN)["Prod"]) == ("2", {})

    # 5. git revert of the promotion: exactly one UpdateAlias, no upload, no publish
    git(repo, "revert", "--no-edit", "HEAD")
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    d = diff(before, counts(emu))
    assert d.get("UpdateAlias") == 1 and writes(d) == 1, d
    assert alias_target(aliases(lam, FN)["Prod"]) == ("1", {})
    assert [v["Version"] for v in versions(lam, FN)] == ["1", "2"]

    # 6. again: zero write calls; plan says in sync with exit 0
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0
    d = diff(before, counts(emu))
    assert writes(d) == 0, d
    # in sync: ListAliases, the one quota-counted read (GetFunction: $LATEST and the versions served)
    assert {k: v for k, v in d.items() if k != "GetFunction"} == {"ListAliases": 1}, d
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["functions"][0]["status"] == "in-sync"
    assert doc["summary"]["in_sync"] == 1


def test_examples_folder_applies_as_is(aliasd_bin, emu):
    """The examples/ folder itself is a ready repository (no Git needed)."""
    p = run(aliasd_bin, emu, "apply", "--repo", EXAMPLES)
    assert p.returncode == 0, p.stdout + p.stderr
    lam = emu.client()
    al = aliases(lam, FN)
    assert alias_target(al["Prod"]) == ("1", {})
    assert alias_target(al["Test"]) == ("2", {})
    cfg = lam.get_function_configuration(FunctionName=FN)
    assert cfg["Role"] == ROLE
    p = run(aliasd_bin, emu, "plan", "--repo", EXAMPLES)
    assert p.returncode == 0 and "in sync" in p.stdout


def test_plan_json_lists_steps(aliasd_bin, emu):
    p = run(aliasd_bin, emu, "plan", "--repo", EXAMPLES, "--json")
    assert p.returncode == 2, p.stderr
    doc = json.loads(p.stdout)
    ops = [s["op"] for s in doc["functions"][0]["steps"]]
    assert ops == ["create-function", "publish", "update-code", "publish", "create-alias", "create-alias"]
    assert doc["summary"]["to_change"] == 1
    assert writes(counts(emu)) == 0
