"""Adoption, drift, weights, prune, broken manifests, configuration changes."""
import json

import pytest

from emulator import Emulator
from test_reconcile_lib import (ROLE, aliases, alias_target, b64sha, commit_all, counts, diff, init_repo, manifest,
                                mkzip, run, versions, write, writes)


@pytest.fixture
def emu():
    with Emulator(update_delay=0.1) as e:
        yield e


def by_hand(lam, fn, codes):
    """Create fn and publish one version per code text (as a human would, with boto3)."""
    lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": mkzip(codes[0])}, MemorySize=128)
    lam.get_waiter("function_active_v2").wait(FunctionName=fn, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    out = []
    for i, text in enumerate(codes):
        if i:
            lam.update_function_code(FunctionName=fn, ZipFile=mkzip(text))
            lam.get_waiter("function_updated_v2").wait(FunctionName=fn, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        out.append(lam.publish_version(FunctionName=fn, Description="by hand %d" % i)["Version"])
    return out


def test_adoption_with_version_pins_writes_nothing(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    vs = by_hand(lam, "legacy", ["one", "two", "three"])
    assert vs == ["1", "2", "3"]
    lam.create_alias(FunctionName="legacy", Name="Prod", FunctionVersion="1")
    lam.create_alias(FunctionName="legacy", Name="Test", FunctionVersion="2",
                     RoutingConfig={"AdditionalVersionWeights": {"3": 0.25}})
    repo = init_repo(tmp_path / "repo")
    write(repo, "legacy.yaml", manifest("legacy", [("old", "{version: 1}"), ("new", "{version: 2}")],
                                        [("Prod", "old"), ("Test", "{release: new, weights: {3: 0.25}}")]))
    commit_all(repo, "adopt")
    before = counts(emu)
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    d = diff(before, counts(emu))
    assert writes(d) == 0, d
    assert [v["Version"] for v in versions(lam, "legacy")] == ["1", "2", "3"]


def test_drift_is_moved_back(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    write(repo, "a/two.zip", mkzip("two"))
    write(repo, "fn.yaml", manifest("drifty", [("v1", "{code: {zipFile: a/one.zip}}"),
                                               ("v2", "{code: {zipFile: a/two.zip}}")],
                                    [("Prod", "v1"), ("Test", "v2")]))
    commit_all(repo, "init")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    # a human moves Prod to 2 in the console
    lam.update_alias(FunctionName="drifty", Name="Prod", FunctionVersion="2")
    before = counts(emu)
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 2 and "~ alias Prod: v2 (2) \u2192 v1 (1)" in p.stdout, p.stdout
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0
    d = diff(before, counts(emu))
    assert d.get("UpdateAlias") == 1 and writes(d) == 1, d
    assert alias_target(aliases(lam, "drifty")["Prod"]) == ("1", {})


def test_weights_set_changed_and_cleared(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    write(repo, "a/two.zip", mkzip("two"))
    rel = [("v1", "{code: {zipFile: a/one.zip}}"), ("v2", "{code: {zipFile: a/two.zip}}")]

    def step(alias_body):
        write(repo, "fn.yaml", manifest("canary", rel, [("Canary", alias_body)]))
        commit_all(repo, "x")
        p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
        assert p.returncode == 0, p.stdout + p.stderr
        return alias_target(aliases(lam, "canary")["Canary"])

    assert step("{release: v1, weights: {v2: 0.1}}") == ("1", {"2": 0.1})
    # --json reports the aliases as Lambda has them after the run (no extra observe)
    write(repo, "fn.yaml", manifest("canary", rel, [("Canary", "{release: v2, weights: {v1: 0.3}}"), ("Prod", "v1")]))
    commit_all(repo, "json")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["functions"][0]["aliases"] == {"Canary": {"version": 2, "extra_version": 1, "weight": 0.3},
                                              "Prod": {"version": 1}}, doc
    assert doc["functions"][0]["writes"] == 2
    assert step("{release: v1, weights: {v2: 0.1}}") == ("1", {"2": 0.1})
    assert step("{release: v1, weights: {v2: 0.5}}") == ("1", {"2": 0.5})
    assert step("{release: v2, weights: {v1: 0.2}, description: canary}") == ("2", {"1": 0.2})
    assert aliases(lam, "canary")["Canary"]["Description"] == "canary"
    assert step("v2") == ("2", {})
    before = counts(emu)
    assert step("v2") == ("2", {})
    assert writes(diff(before, counts(emu))) == 0


def test_prune_never_deletes_a_referenced_version(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    repo = init_repo(tmp_path / "repo")
    for i in range(1, 4):
        write(repo, "a/%d.zip" % i, mkzip("code %d" % i))
    rel = [("r%d" % i, "{code: {zipFile: a/%d.zip}}" % i) for i in range(1, 4)]
    write(repo, "fn.yaml", manifest("prunable", rel, [("Prod", "r1"), ("Test", "r3")]))
    commit_all(repo, "init")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    assert [v["Version"] for v in versions(lam, "prunable")] == ["1", "2", "3"]
    # a human publishes three more versions; an undeclared alias refers to version 4 (weighted: 5)
    waiter = lam.get_waiter("function_updated_v2")
    for text in ("human 4", "human 5", "human 6"):
        lam.update_function_code(FunctionName="prunable", ZipFile=mkzip(text))
        waiter.wait(FunctionName="prunable", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        lam.publish_version(FunctionName="prunable")
    lam.create_alias(FunctionName="prunable", Name="Human", FunctionVersion="4",
                     RoutingConfig={"AdditionalVersionWeights": {"5": 0.5}})
    # keepVersions 0: only references protect; r1..r3 resolve, 4 and 5 are Human's, 6 goes
    write(repo, "fn.yaml", manifest("prunable", rel, [("Prod", "r1"), ("Test", "r3")],
                                    prune={"keepVersions": 0}))
    commit_all(repo, "prune versions")
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 2 and "- version 6" in p.stdout, p.stdout
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    assert [v["Version"] for v in versions(lam, "prunable")] == ["1", "2", "3", "4", "5"]
    # now prune the undeclared alias too: Human goes, then 4 and 5
    write(repo, "fn.yaml", manifest("prunable", rel, [("Prod", "r1"), ("Test", "r3")],
                                    prune={"keepVersions": 0, "aliases": "true"}))
    commit_all(repo, "prune aliases")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(aliases(lam, "prunable")) == ["Prod", "Test"]
    assert [v["Version"] for v in versions(lam, "prunable")] == ["1", "2", "3"]
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0 and writes(diff(before, counts(emu))) == 0


def test_broken_manifest_beside_a_good_one(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    write(repo, "good.yaml", manifest("good-fn", [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    write(repo, "bad.yaml", manifest("bad-fn", [("v1", "{code: {zipFile: a/missing.zip}}")], [("Prod", "v9")]))
    commit_all(repo, "one good, one bad")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "bad.yaml" in p.stderr
    assert "bad-fn" in p.stderr.split("Failed:")[1]  # listed among the failures at the end
    assert alias_target(aliases(lam, "good-fn")["Prod"]) == ("1", {})
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="bad-fn")
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 1


def test_config_change_publishes_a_new_version(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    cfg = {"runtime": "python3.12", "handler": "app.handler", "role": ROLE, "memorySize": 128,
           "environment": "{LOG_LEVEL: info}"}
    write(repo, "fn.yaml", manifest("cfg-fn", [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")], config=cfg))
    commit_all(repo, "init")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    # same code, more memory: a new release v2 = UpdateFunctionConfiguration + publish, no upload
    write(repo, "fn.yaml", manifest("cfg-fn", [("v1", "{code: {zipFile: a/one.zip}}"),
                                               ("v2", "{code: {zipFile: a/one.zip}, config: {memorySize: 256}}")],
                                    [("Prod", "v2")], config=cfg))
    commit_all(repo, "more memory")
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0, p.stdout + p.stderr
    d = diff(before, counts(emu))
    assert d.get("UpdateFunctionConfiguration") == 1 and d.get("PublishVersion") == 1, d
    assert "UpdateFunctionCode" not in d, d
    vs = versions(lam, "cfg-fn")
    assert [(v["Version"], v["MemorySize"]) for v in vs] == [("1", 128), ("2", 256)]
    assert vs[1]["Environment"]["Variables"] == {"LOG_LEVEL": "info"}
    assert vs[1]["CodeSha256"] == b64sha(mkzip("one"))
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main")
    assert p.returncode == 0 and writes(diff(before, counts(emu))) == 0


def test_failure_in_one_function_does_not_stop_others(aliasd_bin, emu, tmp_path):
    lam = emu.client()
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    # "pinned" adopts version 7, which does not exist: that function fails, the others apply
    write(repo, "pinned.yaml", manifest("pinned", [("old", "{version: 7}")], [("Prod", "old")]))
    for i in range(5):
        write(repo, "f%d.yaml" % i, manifest("fn-%d" % i, [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    commit_all(repo, "six functions")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", "--concurrency", "3")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "pinned" in p.stderr.split("Failed:")[1]
    for i in range(5):
        assert alias_target(aliases(lam, "fn-%d" % i)["Prod"]) == ("1", {})


def test_function_named_by_arn(aliasd_bin, emu, tmp_path):
    """A full ARN as the name: its region picks the client; the function is found by ARN."""
    lam = emu.client()
    arn = "arn:aws:lambda:us-east-1:123456789012:function:by-arn"
    vs = by_hand(lam, "by-arn", ["one"])
    repo = init_repo(tmp_path / "repo")
    write(repo, "a/one.zip", mkzip("one"))
    write(repo, "fn.yaml", manifest(arn, [("v1", "{code: {zipFile: a/one.zip}}"), ("old", "{version: %s}" % vs[0])],
                                    [("Prod", "v1"), ("Old", "old")]))
    commit_all(repo, "by arn")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", env_extra={"AWS_REGION": "eu-west-3"})
    assert p.returncode == 0, p.stdout + p.stderr
    al = aliases(lam, "by-arn")
    assert alias_target(al["Prod"]) == ("1", {})  # mkzip("one") is version 1's code: adopted, not republished
    assert alias_target(al["Old"]) == ("1", {})
    assert [v["Version"] for v in versions(lam, "by-arn")] == ["1"]
