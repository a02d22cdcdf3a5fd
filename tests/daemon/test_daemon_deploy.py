"""deploy/: the systemd unit passes `systemd-analyze verify`, the IAM policy is
least-privilege, the example config is accepted by `aliasd run -n`."""
import json
import os
import re
import shutil
import subprocess

import pytest

ALIASD_ACTIONS = {
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:ListVersionsByFunction",
    "lambda:ListAliases",
    "lambda:GetAlias",
    "lambda:CreateFunction",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:PublishVersion",
    "lambda:CreateAlias",
    "lambda:UpdateAlias",
    "lambda:DeleteAlias",
    "lambda:DeleteFunction",
    "lambda:ListFunctions",
    "lambda:GetAccountSettings",
    "lambda:InvokeFunction",
    "cloudwatch:DescribeAlarms",
}

FUNCTION_ARN = re.compile(r"^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+\*(:\*)?$")
# rollouts' preTraffic functions: a name pattern that says so, never every function
PRETRAFFIC_ARN = re.compile(r"^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_*-]*pretraffic[A-Za-z0-9_*-]*(:\*)?$")


def _unit_text(root_dir):
    with open(os.path.join(root_dir, "deploy", "aliasd.service")) as f:
        return f.read()


def _directives(text):
    out = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault((section, key), []).append(value)
    return out


def _verify(unit_path, tmp_path):
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="notice")
    return subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit_path)],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)


@pytest.fixture
def unit_copy(root_dir, aliasd_bin, tmp_path):
    """The unit with ExecStart pointing at the binary under test."""
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze missing (Debian package systemd)")
    text = _unit_text(root_dir)
    assert "ExecStart=/usr/local/bin/aliasd run -c /etc/aliasd/aliasd.yaml" in text
    path = tmp_path / "aliasd.service"
    path.write_text(text.replace("/usr/local/bin/aliasd", os.path.abspath(aliasd_bin)))
    return path


def test_unit_verifies(unit_copy, tmp_path):
    r = _verify(unit_copy, tmp_path)
    assert r.returncode == 0, r.stderr
    # systemd-analyze prints warnings (unknown keys, bad values) without failing
    assert "Unknown key" not in r.stderr and "Failed to parse" not in r.stderr, r.stderr


def test_unit_verify_can_fail(root_dir, tmp_path):
    """The check is real: a missing binary or a bad directive is refused."""
    text = _unit_text(root_dir).replace("/usr/local/bin/aliasd", str(tmp_path / "missing" / "aliasd"))
    path = tmp_path / "aliasd.service"
    path.write_text(text)
    r = _verify(path, tmp_path)
    assert r.returncode != 0
    assert "not executable" in r.stderr


def test_unit_directives(root_dir):
    d = _directives(_unit_text(root_dir))
    svc = lambda k: d.get(("Service", k), [])  # noqa: E731
    assert svc("Type") == ["notify"]
    assert svc("NotifyAccess") == ["main"]
    assert svc("ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert svc("Restart") == ["on-failure"]
    assert svc("WatchdogSec") and svc("WatchdogSec")[0] not in ("0", "infinity")
    assert svc("DynamicUser") == ["yes"]
    assert svc("StateDirectory") == ["aliasd"]
    assert svc("ConfigurationDirectory") == ["aliasd"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert svc(key) == ["yes"], key
    assert svc("ProtectSystem") == ["strict"]
    assert svc("RestrictAddressFamilies") == ["AF_UNIX AF_INET AF_INET6"]
    assert "@system-service" in svc("SystemCallFilter")
    assert svc("SystemCallArchitectures") == ["native"]
    creds = {v.split(":", 1)[0] for v in svc("LoadCredential")}
    assert creds == {"git-token", "webhook-secret"}
    assert d.get(("Install", "WantedBy")) == ["multi-user.target"]


def test_iam_policy_least_privilege(root_dir):
    with open(os.path.join(root_dir, "deploy", "iam-policy.json")) as f:
        policy = json.load(f)
    assert policy["Version"] == "2012-10-17"
    assert set(policy) == {"Version", "Statement"}
    stmts = policy["Statement"]
    assert isinstance(stmts, list) and stmts
    sids = [s["Sid"] for s in stmts]
    assert len(set(sids)) == len(sids)
    granted = set()
    for s in stmts:
        assert set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, s
        assert re.fullmatch(r"[A-Za-z0-9]+", s["Sid"]), s["Sid"]
        assert s["Effect"] == "Allow"
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        if actions in (["lambda:ListFunctions"], ["lambda:GetAccountSettings"], ["cloudwatch:DescribeAlarms"]):
            # a list call / an account read: IAM has no resource-level permission for it, so
            # "*" alone, and nothing else in that statement (names, configurations and sizes,
            # never code); DescribeAlarms answers composite alarms only to a grant on "*"
            assert resources == ["*"], s
            granted.add(actions[0])
            continue
        if "lambda:InvokeFunction" in actions:
            # rollouts invoke their preTraffic functions only: a statement of its own
            assert actions == ["lambda:InvokeFunction"], s
            assert resources and all(PRETRAFFIC_ARN.match(r) for r in resources), resources
            assert any(r.endswith(":*") for r in resources), resources  # Invoke with a qualifier
            granted.add(actions[0])
            continue
        assert "*" not in resources, s["Sid"]
        for a in actions:
            assert "*" not in a, a
            service = a.split(":")[0]
            if service == "lambda":
                granted.add(a)
                for r in resources:
                    assert FUNCTION_ARN.match(r), r
                if a == "lambda:DeleteFunction":
                    # pruning deletes versions: only qualified ARNs, never a whole function
                    assert all(r.endswith(":*") for r in resources), resources
            elif a == "iam:PassRole":
                assert s["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
                for r in resources:
                    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]+", r.replace("*", "x")), r
            elif service == "s3":
                assert a in ("s3:GetObject", "s3:GetObjectVersion"), a
                for r in resources:
                    assert r.startswith("arn:aws:s3:::") and "/" in r, r
            else:
                pytest.fail(f"unexpected action {a}")
    assert granted == ALIASD_ACTIONS
    # every managing action covers both the function and its qualified forms
    for s in stmts:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if "lambda:UpdateAlias" in actions:
            assert any(r.endswith(":*") for r in s["Resource"])
            assert any(not r.endswith(":*") for r in s["Resource"])


def _load(root_dir, name):
    with open(os.path.join(root_dir, "deploy", name)) as f:
        policy = json.load(f)
    assert policy["Version"] == "2012-10-17"
    assert set(policy) == {"Version", "Statement"}
    assert isinstance(policy["Statement"], list) and policy["Statement"]
    return policy["Statement"]


def test_iam_many_accounts_both_sides(root_dir):
    """aws.roles (issue 12): the target role trusts only the daemon's home role
    (with an external id), and the home role may assume only the listed roles."""
    role_arn = re.compile(r"arn:aws:iam::(\d{12}):role/[A-Za-z0-9_+=,.@/-]+")
    trust = _load(root_dir, "iam-role-trust.json")
    assert len(trust) == 1
    t = trust[0]
    assert set(t) == {"Sid", "Effect", "Principal", "Action", "Condition"}, t
    assert t["Effect"] == "Allow" and t["Action"] == "sts:AssumeRole"
    # one principal, a role (never an account root or "*")
    assert set(t["Principal"]) == {"AWS"}
    principal = t["Principal"]["AWS"]
    assert isinstance(principal, str) and role_arn.fullmatch(principal), principal
    home = role_arn.fullmatch(principal).group(1)
    assert t["Condition"] == {"StringEquals": {"sts:ExternalId": t["Condition"]["StringEquals"]["sts:ExternalId"]}}
    assert re.fullmatch(r"[\w+=,.@:/-]{2,1224}", t["Condition"]["StringEquals"]["sts:ExternalId"])

    home_side = _load(root_dir, "iam-assume-roles.json")
    assert len(home_side) == 1
    h = home_side[0]
    assert set(h) == {"Sid", "Effect", "Action", "Resource"}, h
    assert h["Effect"] == "Allow" and h["Action"] == "sts:AssumeRole"
    assert isinstance(h["Resource"], list) and h["Resource"]
    for r in h["Resource"]:
        m = role_arn.fullmatch(r)
        assert m and "*" not in r, r
        assert m.group(1) != home, r  # other accounts' roles, never the home account's
