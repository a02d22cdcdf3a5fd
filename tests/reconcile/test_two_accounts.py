"""Many accounts from one aliasd (issue 12): aws.roles / --role ACCOUNT=ARN.

The emulator holds three accounts: the home account 111111111111 (the only
static access key) and two target accounts reachable only through STS
AssumeRole of a role that trusts the home account.  Each function named by an
ARN in a target account must be written with that account's temporary
credentials (the emulator records which access key wrote which function), a
role that STS refuses fails that account's functions only, with STS's reason,
an ARN in an account with no role fails with the fix named, and credentials
about to expire are assumed again.
"""
import os
import sys
import time

import pytest

from emulator import Emulator
from test_reconcile_lib import commit_all, init_repo, manifest, mkzip, run, write

HOME = "111111111111"
A, B, C = "222222222222", "333333333333", "444444444444"
HOME_KEY = "AKIAHOMEEXAMPLE00001"
HOME_SECRET = "homesecretEXAMPLEKEYhomesecretEXAMPLEKEY"
ROLE_A = "arn:aws:iam::%s:role/aliasd" % A
ROLE_B = "arn:aws:iam::%s:role/ops/aliasd-deployer" % B
REGION = "us-east-1"


def arn(account, name):
    return "arn:aws:lambda:%s:%s:function:%s" % (REGION, account, name)


@pytest.fixture
def emu():
    with Emulator(update_delay=0.05, credentials=["%s:%s:%s" % (HOME_KEY, HOME_SECRET, HOME)]) as e:
        e.admin("POST", "sts", {"roles": {
            ROLE_A: {"trust": [HOME]},
            ROLE_B: {"trust": [HOME], "externalId": "ext-b"},
        }})
        yield e


def repo_with(tmp_path, names):
    r = init_repo(tmp_path / "repo")
    write(r, "a/one.zip", mkzip("one"))
    for i, n in enumerate(names):
        write(r, "f%d.yaml" % i, manifest(n, [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    commit_all(r, "functions in several accounts")
    return r


def sts_env(emu):
    return {"AWS_ENDPOINT_URL_STS": emu.endpoint}


def sts(emu):
    return emu.admin("GET", "sts")


def functions_by_account(emu):
    return {(f["account"], f["name"]): f for f in emu.state()["functions"]}


def issued_keys(emu, account):
    return {c["access_key"] for c in sts(emu)["issued"] if c["account"] == account}


def test_each_account_written_with_its_own_role(aliasd_bin, emu, tmp_path):
    repo = repo_with(tmp_path, ["home-fn", arn(A, "pay"), arn(B, "ship"), arn(A, "bill")])
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main",
            "--role", "%s=%s" % (A, ROLE_A), "--role", "%s=%s,externalId=ext-b" % (B, ROLE_B),
            env_extra=sts_env(emu))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    fns = functions_by_account(emu)
    assert set(fns) == {(HOME, "home-fn"), (A, "pay"), (A, "bill"), (B, "ship")}, fns
    for (acct, name), f in fns.items():
        assert f["aliases"] and f["aliases"][0]["Name"] == "Prod", f
    st = sts(emu)
    writers = st["writers"]
    # the home function with the home key; each target with a key STS issued for its account
    assert writers["%s/%s/home-fn" % (HOME, REGION)] == [HOME_KEY], writers
    keys_a, keys_b = issued_keys(emu, A), issued_keys(emu, B)
    assert keys_a and keys_b and not keys_a & keys_b
    for name in ("pay", "bill"):
        w = writers["%s/%s/%s" % (A, REGION, name)]
        assert w and set(w) <= keys_a, (w, keys_a)
    w = writers["%s/%s/ship" % (B, REGION)]
    assert w and set(w) <= keys_b, (w, keys_b)
    # one AssumeRole per account (cached across its functions), signed by the home key
    assumed = [c for c in st["calls"] if c["action"] == "AssumeRole"]
    assert sorted(c["role"] for c in assumed) == sorted([ROLE_A, ROLE_B]), assumed
    assert all(c["access_key"] == HOME_KEY and c["outcome"] == "ok" for c in assumed), assumed
    assert {c["session"] for c in st["issued"]} == {"aliasd"}
    assert {c["source_account"] for c in st["issued"]} == {HOME}

    # a second run is in sync: no write, in any account
    before = dict(emu.stats()["applied"])
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main",
            "--role", "%s=%s" % (A, ROLE_A), "--role", "%s=%s,externalId=ext-b" % (B, ROLE_B),
            env_extra=sts_env(emu))
    assert p.returncode == 0, p.stdout + p.stderr
    assert dict(emu.stats()["applied"]) == before


def test_refused_role_fails_only_its_account(aliasd_bin, emu, tmp_path):
    # B's role wants an external id that we do not send: STS says AccessDenied
    repo = repo_with(tmp_path, ["home-fn", arn(A, "pay"), arn(B, "ship")])
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main",
            "--role", "%s=%s" % (A, ROLE_A), "--role", "%s=%s" % (B, ROLE_B), env_extra=sts_env(emu))
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    fns = functions_by_account(emu)
    assert (HOME, "home-fn") in fns and (A, "pay") in fns, fns
    assert (B, "ship") not in fns, fns
    bad = [l for l in out.splitlines() if "AccessDenied" in l]
    assert bad and all(arn(B, "ship") in l for l in bad), out
    assert any(ROLE_B in l for l in bad), out
    assert "Apply: 2 functions changed" in p.stdout, out


def test_account_without_role_names_the_fix(aliasd_bin, emu, tmp_path):
    repo = repo_with(tmp_path, ["home-fn", arn(HOME, "own-by-arn"), arn(C, "stranger")])
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main",
            "--role", "%s=%s" % (A, ROLE_A), env_extra=sts_env(emu))
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    fns = functions_by_account(emu)
    # the daemon's own account by ARN is fine (GetCallerIdentity says whose it is)
    assert (HOME, "home-fn") in fns and (HOME, "own-by-arn") in fns, fns
    assert not [k for k in fns if k[0] == C], fns
    lines = [l for l in out.splitlines() if "add aws.roles.%s" % C in l]
    assert lines and all("stranger" in l for l in lines), out
    assert any(HOME in l for l in lines), out
    assert [c["action"] for c in sts(emu)["calls"]].count("GetCallerIdentity") == 1


def test_credentials_refreshed_before_expiry(aliasd_bin, emu, tmp_path):
    # Issued credentials live 302 s, so they are inside the 5-minute refresh
    # margin 2 s after they were issued; with 0.8 s per Lambda call one apply
    # of one function (5 calls or more) lasts longer than that: the role is
    # assumed again in the same process, before the credentials expire, and
    # the run goes on with the new ones.
    emu.admin("POST", "sts", {"duration_seconds": 302})
    emu.configure(latency_ms=800)
    repo = repo_with(tmp_path, [arn(A, "pay")])
    t0 = time.monotonic()
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main",
            "--role", "%s=%s" % (A, ROLE_A), env_extra=sts_env(emu))
    elapsed = time.monotonic() - t0
    assert p.returncode == 0, p.stdout + p.stderr
    keys = issued_keys(emu, A)
    assert elapsed > 3, elapsed
    assert len(keys) >= 2, (keys, elapsed)
    st = sts(emu)
    assert all(c["outcome"] == "ok" for c in st["calls"]), st["calls"]
    w = set(st["writers"]["%s/%s/pay" % (A, REGION)])
    assert w <= keys and len(w) >= 1, (w, keys)
    # no call was refused for expired or unknown credentials
    assert not emu.stats().get("auth_failures"), emu.stats()


def test_sts_emulator_answers_botocore(emu):
    """The emulator's STS is what botocore expects (and signs as botocore does)."""
    import boto3
    s = boto3.session.Session(aws_access_key_id=HOME_KEY, aws_secret_access_key=HOME_SECRET,
                              region_name=REGION)
    client = s.client("sts", endpoint_url=emu.endpoint)
    assert client.get_caller_identity()["Account"] == HOME
    c = client.assume_role(RoleArn=ROLE_A, RoleSessionName="t1")["Credentials"]
    sa = boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                               aws_session_token=c["SessionToken"], region_name=REGION)
    assert sa.client("sts", endpoint_url=emu.endpoint).get_caller_identity()["Account"] == A
    lam = sa.client("lambda", endpoint_url=emu.endpoint)
    assert lam.list_functions()["Functions"] == []
    import botocore.exceptions
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.assume_role(RoleArn=ROLE_B, RoleSessionName="t1")  # no external id
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # the session token is part of the credentials
    bad = boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                region_name=REGION)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bad.client("lambda", endpoint_url=emu.endpoint).list_functions()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_daemon_aws_roles_and_rate_per_account(aliasd_bin, emu, tmp_path):
    """`aliasd run` with aws.roles: functions land in their accounts, written with
    their roles' keys, and /metrics shows one adaptive rate per (account, region)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "daemon"))
    from daemon_helpers import Daemon, Repo, free_port, function_manifest, wait_for, write_config

    repo = Repo(str(tmp_path))
    repo.write("functions/home.yaml", function_manifest("home-fn"))
    repo.write("functions/pay.yaml", function_manifest(arn(A, "pay")))
    repo.write("functions/ship.yaml", function_manifest(arn(B, "ship")))
    repo.commit("three functions, three accounts")
    port = free_port()
    config = str(tmp_path / "aliasd.yaml")
    write_config(config, repo.url, str(tmp_path / "state"), port)
    with open(config, "a") as f:
        f.write("aws:\n"
                "  roleSessionName: aliasd-test\n"
                "  roles:\n"
                "    \"%s\": %s\n"
                "    \"%s\": {roleArn: %s, externalId: ext-b}\n" % (A, ROLE_A, B, ROLE_B))
    d = Daemon(aliasd_bin, config, str(tmp_path), emu.env(), port, extra_env=sts_env(emu))
    try:
        d.wait_ready()

        def all_there():
            fns = functions_by_account(emu)
            want = {(HOME, "home-fn"), (A, "pay"), (B, "ship")}
            return want <= set(fns) and all(len(fns[k]["aliases"]) == 2 for k in want)
        wait_for(all_there, 30, what="three functions with two aliases each")
        st = sts(emu)
        assert {c["session"] for c in st["issued"]} == {"aliasd-test"}
        assert st["writers"]["%s/%s/pay" % (A, REGION)][0] in issued_keys(emu, A)
        assert st["writers"]["%s/%s/ship" % (B, REGION)][0] in issued_keys(emu, B)
        assert st["writers"]["%s/%s/home-fn" % (HOME, REGION)] == [HOME_KEY]
        # rateLimit 50 in write_config: every limiter starts at the share, none above it
        for acct in ("default", A, B):
            v = d.metric('aliasd_aws_rate_limit{account="%s",region="%s"}' % (acct, REGION))
            assert 0 < v <= 50, (acct, v)
            assert d.metric('aliasd_aws_throttled_total{account="%s",region="%s"}' % (acct, REGION)) == 0
        # the request counters cover every account's clients: one creation each
        assert d.metric('aliasd_aws_requests_total{operation="CreateFunction",code="ok"}') == 3
        rc, _ = d.stop(timeout=5)
        assert rc == 0, d.log_text()
    finally:
        d.close()
