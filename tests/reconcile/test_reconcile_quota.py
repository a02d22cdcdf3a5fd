"""Quota-frugal one-shot reconcile (issue 12): fleet reads, free waits, publish with create.

Counted calls are every Lambda call but GetFunction (and Invoke): the 15/s
account quota.  Each test counts them on the emulator.
"""
import json

import pytest

from emulator import Emulator
from test_reconcile_lib import (ROLE, aliases, b64sha, commit_all, counts, diff, init_repo, manifest, mkzip,
                                run, versions, write, writes)

FNS = ("q-a", "q-b", "q-c")
ONE, TWO = mkzip("one"), mkzip("two")


def counted(d):
    return sum(v for k, v in d.items() if k not in ("GetFunction", "Invoke"))


def lambda_counted(d):
    return {k: v for k, v in d.items() if k not in ("GetFunction", "Invoke")}



@pytest.fixture
def emu():
    with Emulator(update_delay=0.05) as e:
        yield e


# keepVersions makes a function's versions needed in full: auto reads those by the fleet listing
PRUNE = {"keepVersions": 5}


def fleet_repo(tmp_path, fns=FNS, prod="v1", config=None, prune=None):
    r = init_repo(tmp_path / "repo")
    write(r, "a/one.zip", ONE)
    write(r, "a/two.zip", TWO)
    for fn in fns:
        write(r, fn + ".yaml", manifest(fn, [("v1", "{code: {zipFile: a/one.zip}, description: first}"),
                                             ("v2", "{code: {zipFile: a/two.zip}}")],
                                        [("Prod", prod), ("Test", "v2")], config=config, prune=prune))
    commit_all(r, "fleet")
    return r


def apply_json(aliasd_bin, emu, repo, *extra):
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", "--json", *extra)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout)


def promote_all(repo, prune=None, prod="v2"):
    """Every function's Prod on release `prod` (Test on v2), committed."""
    for fn in FNS:
        write(repo, fn + ".yaml", manifest(fn, [("v1", "{code: {zipFile: a/one.zip}, description: first}"),
                                                ("v2", "{code: {zipFile: a/two.zip}}")],
                                           [("Prod", prod), ("Test", "v2")], prune=prune))
    commit_all(repo, "Prod on " + prod)


def test_functions_read_from_their_aliases(aliasd_bin, emu, tmp_path):
    """auto, no pruning: no listing; a missing function costs no read, in sync 1, a promotion 2."""
    repo = fleet_repo(tmp_path)
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    r = out["reads"][0]
    assert (r["strategy"], r["functions"], r["from_aliases"], r["list_pages"]) == ("aliases", 3, 3, 0), out
    assert "read from its aliases" in r["why"], r
    # GetFunction says each is missing: CreateFunction (publishing v1), UpdateFunctionCode,
    # PublishVersion (v2), CreateAlias x2
    assert "ListFunctions" not in d and "ListVersionsByFunction" not in d and "ListAliases" not in d, d
    assert d.get("CreateFunction") == 3 and d.get("PublishVersion") == 3 and d.get("CreateAlias") == 6, d
    assert counted(d) == 5 * 3, d
    lam = emu.client()
    for fn in FNS:
        vs = versions(lam, fn)
        assert [(v["Version"], v["CodeSha256"]) for v in vs] == [("1", b64sha(ONE)), ("2", b64sha(TWO))], vs
        assert vs[0]["Description"].startswith("v1 @") and vs[0]["Description"].endswith(": first"), vs

    # in sync: ListAliases per function, GetFunction for $LATEST and the two versions served
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert out["summary"]["in_sync"] == 3 and out["summary"]["changed"] == 0, out
    assert d == {"ListAliases": 3, "GetFunction": 9}, d

    promote_all(repo)
    before = counts(emu)
    apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert d == {"ListAliases": 3, "GetFunction": 9, "UpdateAlias": 3}, d
    for fn in FNS:
        assert aliases(lam, fn)["Prod"]["FunctionVersion"] == "2"

    # the revert: v1 is served by no alias now, so its function's versions are listed
    promote_all(repo, prod="v1")
    before = counts(emu)
    apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert counted(d) == 3 * 3 and d.get("ListVersionsByFunction") == 3 and d.get("UpdateAlias") == 3, d
    for fn in FNS:
        assert aliases(lam, fn)["Prod"]["FunctionVersion"] == "1"
        assert [v["Version"] for v in versions(lam, fn)] == ["1", "2"]


def test_new_release_read_from_the_aliases_publishes_once(aliasd_bin, emu, tmp_path):
    """A release no alias serves yet: the version list is read once (fresh), then the publish."""
    repo = fleet_repo(tmp_path, fns=("q-a",))
    apply_json(aliasd_bin, emu, repo)
    write(repo, "a/three.zip", mkzip("three"))
    write(repo, "q-a.yaml", manifest("q-a", [("v1", "{code: {zipFile: a/one.zip}}"),
                                             ("v2", "{code: {zipFile: a/two.zip}}"),
                                             ("v3", "{code: {zipFile: a/three.zip}}")],
                                     [("Prod", "v3"), ("Test", "v2")]))
    commit_all(repo, "v3")
    before = counts(emu)
    apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert {k: v for k, v in d.items() if k != "GetFunction"} == {
        "ListAliases": 1, "ListVersionsByFunction": 1, "UpdateFunctionCode": 1, "PublishVersion": 1,
        "UpdateAlias": 1}, d
    assert [v["Version"] for v in versions(emu.client(), "q-a")] == ["1", "2", "3"]


def test_alias_on_a_copy_of_its_release_stays(aliasd_bin, emu, tmp_path):
    """Someone publishes v2's code again as v3: Prod and Test stay on 2 (no write), as a full read says too."""
    repo = fleet_repo(tmp_path, fns=("q-a",), prod="v2")
    apply_json(aliasd_bin, emu, repo)
    lam = emu.client()
    # a field no manifest manages changes, and $LATEST (v2's code) is published: 3 is a copy of 2
    lam.update_function_configuration(FunctionName="q-a", Timeout=9)
    emu.settle()
    lam.publish_version(FunctionName="q-a")
    assert [v["Version"] for v in versions(lam, "q-a")] == ["1", "2", "3"]
    for listing in ("auto", "per-function", "fleet"):
        before = counts(emu)
        out = apply_json(aliasd_bin, emu, repo, "--listing", listing)
        assert out["summary"]["in_sync"] == 1 and out["summary"]["changed"] == 0, (listing, out)
        assert writes(diff(before, counts(emu))) == 0, listing
    a = aliases(lam, "q-a")
    assert (a["Prod"]["FunctionVersion"], a["Test"]["FunctionVersion"]) == ("2", "2"), a


def test_fleet_cold_in_sync_promote_counted_calls(aliasd_bin, emu, tmp_path):
    """Functions that prune (keepVersions) need every version: auto reads them by the region's listing."""
    repo = fleet_repo(tmp_path, prune=PRUNE)
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert [(r["strategy"], r["functions"], r["list_pages"]) for r in out["reads"]] == [("fleet", 3, 1)], out
    # one listing page, then per function: CreateFunction (publishing v1), UpdateFunctionCode,
    # PublishVersion (v2), CreateAlias x2; waits are GetFunction only
    assert d.get("ListFunctions") == 1 and "ListVersionsByFunction" not in d and "ListAliases" not in d, d
    assert d.get("CreateFunction") == 3 and d.get("PublishVersion") == 3 and d.get("CreateAlias") == 6, d
    assert "GetFunctionConfiguration" not in d, d
    assert counted(d) == 1 + 5 * 3, d

    lam = emu.client()
    for fn in FNS:
        vs = versions(lam, fn)
        assert [(v["Version"], v["CodeSha256"]) for v in vs] == [("1", b64sha(ONE)), ("2", b64sha(TWO))], vs
        # the trace of the release published by CreateFunction is on version 1
        assert vs[0]["Description"].startswith("v1 @") and vs[0]["Description"].endswith(": first"), vs
        assert vs[1]["Description"].startswith("v2 @"), vs
        a = aliases(lam, fn)
        assert (a["Prod"]["FunctionVersion"], a["Test"]["FunctionVersion"]) == ("1", "2"), a

    # in sync: one listing page and one ListAliases per function, nothing else counted
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert out["summary"]["in_sync"] == 3 and out["summary"]["changed"] == 0, out
    assert d == {"ListFunctions": 1, "ListAliases": 3}, d

    # promote every Prod: plus one UpdateAlias each
    promote_all(repo, prune=PRUNE)
    before = counts(emu)
    apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert d == {"ListFunctions": 1, "ListAliases": 3, "UpdateAlias": 3}, d
    for fn in FNS:
        assert aliases(lam, fn)["Prod"]["FunctionVersion"] == "2"


def test_read_per_function_and_json(aliasd_bin, emu, tmp_path):
    repo = fleet_repo(tmp_path)
    apply_json(aliasd_bin, emu, repo)
    before = counts(emu)
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main", "--json", "--listing", "per-function")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    d = diff(before, counts(emu))
    assert out["reads"][0]["strategy"] == "per-function" and out["reads"][0]["list_pages"] == 0, out
    assert d == {"ListVersionsByFunction": 3, "ListAliases": 3}, d
    # one pruning function by name: per function is the cheaper read
    repo = fleet_repo(tmp_path / "pruning", prune=PRUNE)
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo, "--function", "q-a")
    assert out["reads"][0]["strategy"] == "per-function", out
    assert diff(before, counts(emu)) == {"ListVersionsByFunction": 1, "ListAliases": 1}
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--listing", "sometimes")
    assert p.returncode == 64 and "--listing" in p.stderr, p.stderr


def test_auto_falls_back_when_the_region_is_crowded(aliasd_bin, emu, tmp_path):
    """60 other functions: listing the region would take more pages than it saves."""
    lam = emu.client()
    for i in range(60):
        lam.create_function(FunctionName="other-%02d" % i, Runtime="python3.12", Role=ROLE,
                            Handler="app.handler", Code={"ZipFile": ONE})
    repo = fleet_repo(tmp_path, fns=("q-a", "q-b"), prune=PRUNE)
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    r = out["reads"][0]
    # budget: half as many pages as functions (1): the first page said there are more
    assert (r["strategy"], r["list_pages"]) == ("per-function", 1), out
    assert "more than 1 pages" in r["why"], r
    assert d.get("ListFunctions") == 1 and d.get("ListVersionsByFunction") == 2, d
    # per function, the publish stays a PublishVersion of its own
    assert d.get("PublishVersion") == 4, d
    for fn in ("q-a", "q-b"):
        assert len(versions(lam, fn)) == 2
    # forced: every page
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo, "--listing", "fleet")
    d = diff(before, counts(emu))
    assert out["reads"][0]["strategy"] == "fleet" and out["reads"][0]["list_pages"] == 2, out
    assert d == {"ListFunctions": 2, "ListAliases": 2}, d


def test_managed_description_keeps_publish_version(aliasd_bin, emu, tmp_path):
    """config.description set: version 1 must carry the trace, so CreateFunction does not publish."""
    cfg = {"runtime": "python3.12", "handler": "app.handler", "role": ROLE, "memorySize": 128,
           "description": "managed"}
    repo = fleet_repo(tmp_path, fns=("q-a", "q-b"), config=cfg)
    before = counts(emu)
    apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert d.get("CreateFunction") == 2 and d.get("PublishVersion") == 4, d
    lam = emu.client()
    for fn in ("q-a", "q-b"):
        vs = versions(lam, fn)
        assert [v["Description"][:4] for v in vs] == ["v1 @", "v2 @"], vs
        assert lam.get_function(FunctionName=fn)["Configuration"]["Description"] == "managed"


def test_existing_function_is_observed_afresh_before_publishing(aliasd_bin, emu, tmp_path):
    """A listing may be old: a new release of an existing function re-reads its versions first."""
    repo = fleet_repo(tmp_path, fns=("q-a", "q-b"), prune=PRUNE)
    apply_json(aliasd_bin, emu, repo)
    write(repo, "a/three.zip", mkzip("three"))
    write(repo, "q-a.yaml", manifest("q-a", [("v1", "{code: {zipFile: a/one.zip}}"),
                                             ("v2", "{code: {zipFile: a/two.zip}}"),
                                             ("v3", "{code: {zipFile: a/three.zip}}")],
                                     [("Prod", "v3"), ("Test", "v2")], prune=PRUNE))
    commit_all(repo, "v3")
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert out["reads"][0]["strategy"] == "fleet", out
    # q-a: listing, then ListAliases, then afresh ListVersionsByFunction + ListAliases; q-b: ListAliases
    assert d.get("ListFunctions") == 1 and d.get("ListVersionsByFunction") == 1, d
    assert d.get("ListAliases") == 3 and d.get("PublishVersion") == 1 and d.get("UpdateAlias") == 1, d
    assert [v["Version"] for v in versions(emu.client(), "q-a")] == ["1", "2", "3"]


@pytest.mark.parametrize("prune,in_sync", [(None, {"ListAliases": 2}),
                                           (PRUNE, {"ListFunctions": 1, "ListAliases": 2})])
def test_lost_create_with_publish_converges_once(aliasd_bin, emu, tmp_path, prune, in_sync):
    """CreateFunction(Publish) applied but its answer lost: the retry meets 409, the re-plan finds version 1."""
    repo = fleet_repo(tmp_path, fns=("q-a", "q-b"), prune=prune)
    emu.inject("lose", operation="CreateFunction", count=1)
    apply_json(aliasd_bin, emu, repo)
    lam = emu.client()
    for fn in ("q-a", "q-b"):
        vs = versions(lam, fn)
        assert [(v["Version"], v["CodeSha256"]) for v in vs] == [("1", b64sha(ONE)), ("2", b64sha(TWO))], vs
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    assert out["summary"]["in_sync"] == 2, out
    assert lambda_counted(diff(before, counts(emu))) == in_sync


def test_function_created_after_the_listing(aliasd_bin, emu, tmp_path):
    """Someone creates the function between the listing and CreateFunction: 409, observe again, converge."""
    repo = fleet_repo(tmp_path, fns=("q-a", "q-b"))
    # the first CreateFunction answers 409 as if the function had appeared meanwhile
    emu.inject("error", operation="CreateFunction", count=1, status=409, code="ResourceConflictException",
               message="Function already exist: q-a")
    out = apply_json(aliasd_bin, emu, repo)
    assert out["summary"]["failed"] == 0, out
    lam = emu.client()
    for fn in ("q-a", "q-b"):
        assert [v["Version"] for v in versions(lam, fn)] == ["1", "2"]


def test_list_functions_denied_falls_back_per_function(aliasd_bin, emu, tmp_path):
    """A policy without lambda:ListFunctions (it needs Resource "*"): read per function, still converge."""
    repo = fleet_repo(tmp_path, fns=("q-a", "q-b"), prune=PRUNE)
    emu.inject("error", operation="ListFunctions", count=1, status=403, code="AccessDeniedException",
               message="not authorized to perform: lambda:ListFunctions")
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    r = out["reads"][0]
    assert r["strategy"] == "per-function" and "ListFunctions failed" in r["why"], r
    assert "lambda:ListFunctions" in r["why"], r
    assert out["summary"]["failed"] == 0 and out["summary"]["changed"] == 2, out
    assert d.get("ListFunctions") == 1 and d.get("ListVersionsByFunction") == 2, d
