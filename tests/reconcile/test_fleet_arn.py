"""Bulk version listings for functions named by an ARN (issue 12, reconcile/fleet.c).

ARNs in the default credentials' own account share that account's listing of
the region with the functions by plain name; ARNs in an account of aws.roles
(--role) share a listing of (that account, region) made with its role.  The
emulator holds the home account and two role accounts (as in
test_two_accounts.py); its call counters show which reads were made: a
listing per (account, region) group, no ListVersionsByFunction at all.
"""
import json

import pytest

from emulator import Emulator
from test_reconcile_lib import commit_all, counts, diff, init_repo, manifest, mkzip, run, write

HOME = "111111111111"
A, B = "222222222222", "333333333333"
HOME_KEY = "AKIAHOMEEXAMPLE00001"
HOME_SECRET = "homesecretEXAMPLEKEYhomesecretEXAMPLEKEY"
ROLE_A = "arn:aws:iam::%s:role/aliasd" % A
ROLE_B = "arn:aws:iam::%s:role/aliasd" % B
REGION = "us-east-1"
WRITES = ("CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishVersion",
          "CreateAlias", "UpdateAlias", "DeleteAlias", "DeleteFunction")


def arn(account, name):
    return "arn:aws:lambda:%s:%s:function:%s" % (REGION, account, name)


NAMES = ["home-a", "home-b", arn(HOME, "home-c"), arn(A, "pay"), arn(A, "bill"), arn(B, "ship"),
         arn(B, "track")]
ROLES = ["--role", "%s=%s" % (A, ROLE_A), "--role", "%s=%s" % (B, ROLE_B)]


@pytest.fixture
def emu():
    with Emulator(update_delay=0.05, credentials=["%s:%s:%s" % (HOME_KEY, HOME_SECRET, HOME)]) as e:
        e.admin("POST", "sts", {"roles": {ROLE_A: {"trust": [HOME]}, ROLE_B: {"trust": [HOME]}}})
        yield e


# pruning functions need every version: auto reads those in bulk (the others from their aliases)
PRUNE = {"keepVersions": 5}


def fleet_repo(tmp_path, prod="v1", r=None):
    if r is None:
        r = init_repo(tmp_path / "repo")
        write(r, "a/one.zip", mkzip("one"))
        write(r, "a/two.zip", mkzip("two"))
    for i, n in enumerate(NAMES):
        write(r, "f%d.yaml" % i, manifest(n, [("v1", "{code: {zipFile: a/one.zip}}"),
                                             ("v2", "{code: {zipFile: a/two.zip}}")],
                                          [("Prod", prod), ("Test", "v2")],
                                          prune=PRUNE))
    commit_all(r, "prod " + prod)
    return r


def apply_json(aliasd_bin, emu, repo, *extra, roles=True):
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", "--json",
            *(ROLES if roles else []), *extra, env_extra={"AWS_ENDPOINT_URL_STS": emu.endpoint})
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout)


def lambda_counted(d):
    """The quota-counted Lambda calls (not GetFunction/Invoke, not STS)."""
    return {k: v for k, v in d.items() if k not in ("GetFunction", "Invoke", "AssumeRole", "GetCallerIdentity")}


def reads(out):
    return sorted((r["account"], r["strategy"], r["functions"], r["list_pages"]) for r in out["reads"])


def test_arn_functions_read_from_their_accounts_listings(aliasd_bin, emu, tmp_path):
    repo = fleet_repo(tmp_path)
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    # one listing per (account, region): the home one serves the plain names and the own ARN
    assert reads(out) == [(A, "fleet", 2, 1), (B, "fleet", 2, 1), ("default", "fleet", 3, 1)], out["reads"]
    assert d.get("ListFunctions") == 3, d
    assert "ListVersionsByFunction" not in d and "ListAliases" not in d, d
    # created where they belong, each with its publish (a fleet read: quota-frugal writes)
    fns = {(f["account"], f["name"]) for f in emu.state()["functions"]}
    assert fns == {(HOME, "home-a"), (HOME, "home-b"), (HOME, "home-c"), (A, "pay"), (A, "bill"),
                   (B, "ship"), (B, "track")}, fns
    assert d.get("CreateFunction") == 7 and d.get("PublishVersion") == 7 and d.get("CreateAlias") == 14, d

    # in sync: the three listings and one ListAliases per function, nothing else; a listing
    # made with the wrong account's credentials would miss the functions (and create them again)
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    assert reads(out) == [(A, "fleet", 2, 1), (B, "fleet", 2, 1), ("default", "fleet", 3, 1)], out["reads"]
    counted = lambda_counted(d)
    assert counted == {"ListFunctions": 3, "ListAliases": 7}, d
    # STS: a role per account, and the own account asked once (an ARN names it)
    assert d.get("AssumeRole") == 2 and d.get("GetCallerIdentity") == 1, d
    assert not any(op in d for op in WRITES), d

    # promote every Prod: still listings, then one UpdateAlias each
    fleet_repo(tmp_path, prod="v2", r=repo)
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, repo)
    d = diff(before, counts(emu))
    counted = lambda_counted(d)
    assert counted == {"ListFunctions": 3, "ListAliases": 7, "UpdateAlias": 7}, d
    # each account's aliases written with its own role's keys
    writers = emu.admin("GET", "sts")["writers"]
    assert writers["%s/%s/home-c" % (HOME, REGION)] == [HOME_KEY], writers
    assert HOME_KEY not in writers["%s/%s/pay" % (A, REGION)], writers
    assert HOME_KEY not in writers["%s/%s/ship" % (B, REGION)], writers


def test_one_arn_per_account_reads_per_function(aliasd_bin, emu, tmp_path):
    # auto: a group of one function reads it per function (cheaper than a listing)
    r = init_repo(tmp_path / "repo")
    write(r, "a/one.zip", mkzip("one"))
    for i, n in enumerate(["home-a", "home-b", arn(A, "pay")]):
        write(r, "f%d.yaml" % i, manifest(n, [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")], prune=PRUNE))
    commit_all(r, "three")
    apply_json(aliasd_bin, emu, r)
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, r)
    d = diff(before, counts(emu))
    assert reads(out) == [(A, "per-function", 1, 0), ("default", "fleet", 2, 1)], out["reads"]
    assert d.get("ListFunctions") == 1 and d.get("ListVersionsByFunction") == 1, d
    # --listing fleet lists that group too
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, r, "--listing", "fleet")
    d = diff(before, counts(emu))
    assert reads(out) == [(A, "fleet", 1, 1), ("default", "fleet", 2, 1)], out["reads"]
    assert d.get("ListFunctions") == 2 and "ListVersionsByFunction" not in d, d


def test_own_arn_without_roles_learnt_from_the_listing(aliasd_bin, emu, tmp_path):
    # no roles: STS is not asked; the listing's FunctionArns say whose account it lists
    r = init_repo(tmp_path / "repo")
    write(r, "a/one.zip", mkzip("one"))
    for i, n in enumerate(["home-a", "home-b", arn(HOME, "home-c")]):
        write(r, "f%d.yaml" % i, manifest(n, [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")], prune=PRUNE))
    commit_all(r, "three")
    before = counts(emu)
    apply_json(aliasd_bin, emu, r, roles=False)
    d = diff(before, counts(emu))
    # cold: the listing is empty, so it cannot say whose it is: home-c is read by itself
    assert d.get("ListFunctions") == 1 and d.get("ListVersionsByFunction") == 1, d
    before = counts(emu)
    out = apply_json(aliasd_bin, emu, r, roles=False)
    d = diff(before, counts(emu))
    assert reads(out) == [("default", "fleet", 3, 1)], out["reads"]
    assert lambda_counted(d) == {"ListFunctions": 1, "ListAliases": 3}, d
    assert "GetCallerIdentity" not in d and "AssumeRole" not in d, d
