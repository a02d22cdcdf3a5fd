"""Failures that know their kind, on the real binary (issue 14).

No credentials, or a credential source that fails: `plan` and `apply` exit 1
with one clear message per function, no planned steps and no call to Lambda at
all.  A terminal answer from Lambda (AccessDenied, a validation error) fails the
function at once, without a second attempt; a 404 that is not
ResourceNotFoundException is never read as "no such function".
"""
import json
import os
import socket
import sys

import pytest

from emulator import Emulator
from test_reconcile_lib import commit_all, counts, diff, init_repo, manifest, mkzip, run, write, writes

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "aws"))
from fake_servers import FakeECS  # noqa: E402

FUNCTIONS = ("fn-a", "fn-b")


@pytest.fixture
def emu():
    with Emulator(update_delay=0.1) as e:
        yield e


@pytest.fixture
def repo(tmp_path):
    r = init_repo(tmp_path / "repo")
    write(r, "a/one.zip", mkzip("one"))
    for fn in FUNCTIONS:
        write(r, fn + ".yaml", manifest(fn, [("v1", "{code: {zipFile: a/one.zip}}")], [("Prod", "v1")]))
    commit_all(r, "two functions")
    return r


def no_credentials(tmp_path, **extra):
    """The emulator's endpoint and region, but no credentials anywhere."""
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
           "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
           "AWS_WEB_IDENTITY_TOKEN_FILE": ""}
    env.update(extra)
    return env


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_one_message_per_function(p, needle, apply):
    """Exit 1, nothing planned or written, the reason once per function (apply: in the Failed list)."""
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert "to create" not in out and "+ create" not in out and "+ publish" not in out, out
    for fn in FUNCTIONS:
        lines = [l for l in out.splitlines() if needle in l]
        mine = [l for l in lines if l.lstrip().startswith(fn + ":")]
        assert len(mine) == 1, (fn, out)
    assert len([l for l in out.splitlines() if needle in l]) == len(FUNCTIONS), out
    assert "observing again" not in out, out
    if apply:
        assert "Apply: 0 functions changed (0 writes), 0 in sync, 2 failed." in p.stdout, out
        assert "Failed:" in p.stderr, out
    else:
        assert "Plan: 0 functions to change (0 steps), 0 in sync, 2 failed." in p.stdout, out


def run_both(aliasd_bin, emu, repo, env, needle):
    before = counts(emu)
    for verb in ("plan", "apply"):
        p = run(aliasd_bin, emu, verb, "--repo", str(repo), "--ref", "main", env_extra=env)
        check_one_message_per_function(p, needle, verb == "apply")
    p = run(aliasd_bin, emu, "plan", "--json", "--repo", str(repo), "--ref", "main", env_extra=env)
    assert p.returncode == 1, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert [f["status"] for f in doc["functions"]] == ["error", "error"], doc
    assert {f["error_kind"] for f in doc["functions"]} == {"credentials"}, doc
    assert all(f["steps"] == [] for f in doc["functions"]), doc
    # not a single request reached Lambda: nothing to sign them with
    assert diff(before, counts(emu)) == {}, diff(before, counts(emu))


def test_no_credentials_anywhere(aliasd_bin, emu, repo, tmp_path):
    run_both(aliasd_bin, emu, repo, no_credentials(tmp_path),
             "no AWS credentials found: set AWS_PROFILE")


def test_unreachable_imds(aliasd_bin, emu, repo, tmp_path):
    env = no_credentials(tmp_path, AWS_EC2_METADATA_DISABLED="false",
                         AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:%d" % closed_port())
    run_both(aliasd_bin, emu, repo, env, "imds:")


def test_expired_container_credentials(aliasd_bin, emu, repo, tmp_path):
    with FakeECS(path="/creds") as ecs:
        ecs.expires_in = -3600  # an Expiration in the past
        env = no_credentials(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/creds")
        run_both(aliasd_bin, emu, repo, env, "expired")
        assert ecs.calls, "the container endpoint was asked"


def test_failing_credential_process(aliasd_bin, emu, repo, tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("[profile broken]\ncredential_process = /bin/false\n")
    env = no_credentials(tmp_path, AWS_PROFILE="broken", AWS_CONFIG_FILE=str(cfg))
    run_both(aliasd_bin, emu, repo, env, "credential_process")


def test_access_denied_is_not_retried(aliasd_bin, emu, repo):
    """A terminal answer to a write: one attempt, no re-plan, the function fails at once."""
    emu.inject("error", operation="CreateFunction", count=10, status=403, code="AccessDeniedException",
               message="not allowed")
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", "--function", "fn-a")
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    d = diff(before, counts(emu))
    assert d.get("CreateFunction") == 1 and writes(d) == 1, d
    assert "ListVersionsByFunction" not in d, d  # observed once (from its aliases): no second pass
    assert "observing again" not in out, out
    assert out.count("not allowed") == 2, out  # the failed step as it happens, and the Failed list


def test_validation_error_is_not_retried(aliasd_bin, emu, repo):
    emu.inject("error", operation="CreateFunction", count=10, status=400,
               code="InvalidParameterValueException", message="bad role")
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", "--function", "fn-b", "--json")
    assert p.returncode == 1, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["functions"][0]["error_kind"] == "terminal", doc
    assert diff(before, counts(emu)).get("CreateFunction") == 1


def test_throttling_is_retried(aliasd_bin, emu, repo):
    """Transient: the client retries, then reconcile re-plans; the function converges."""
    emu.inject("error", operation="ListAliases", count=4, status=429, code="TooManyRequestsException",
               message="slow down")
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", "--function", "fn-a",
            env_extra={"AWS_MAX_ATTEMPTS": "2", "ALIASD_AWS_RETRY_BASE_MS": "1"})
    assert p.returncode == 0, p.stdout + p.stderr


def test_404_without_resource_not_found_is_not_a_missing_function(aliasd_bin, emu, repo):
    """A wrong endpoint path answers 404 with no AWS code: that is no "create the function"."""
    for op in ("GetFunction", "ListVersionsByFunction"):  # the first read of auto, of per-function
        emu.inject("error", operation=op, count=10, status=404, code="", message="no such path")
    before = counts(emu)
    p = run(aliasd_bin, emu, "plan", "--repo", str(repo), "--ref", "main", "--function", "fn-a")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "create function" not in p.stdout, p.stdout
    assert writes(diff(before, counts(emu))) == 0


def test_pinned_version_that_does_not_exist_is_terminal(aliasd_bin, emu, tmp_path):
    r = init_repo(tmp_path / "pinned")
    write(r, "pinned.yaml", manifest("pinned", [("old", "{version: 7}")], [("Prod", "old")]))
    commit_all(r, "pin a version that is not there")
    lam = emu.client()
    lam.create_function(FunctionName="pinned", Runtime="python3.12", Role="arn:aws:iam::123456789012:role/r",
                        Handler="app.handler", Code={"ZipFile": mkzip("x")})
    emu.settle()
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--json", "--repo", str(r), "--ref", "main")
    assert p.returncode == 1, p.stdout + p.stderr
    f = json.loads(p.stdout)["functions"][0]
    assert f["error_kind"] == "terminal" and "not published" in f["error"], f
    d = diff(before, counts(emu))
    assert d.get("ListVersionsByFunction") == 1 and writes(d) == 0, d  # one pass, no retry


@pytest.mark.parametrize("status,code", [(409, "ResourceConflictException"), (412, "PreconditionFailedException")])
def test_conflict_observes_again_and_converges(aliasd_bin, emu, repo, status, code):
    emu.inject("error", operation="CreateAlias", count=1, status=status, code=code, message="moved")
    before = counts(emu)
    p = run(aliasd_bin, emu, "apply", "--repo", str(repo), "--ref", "main", "--function", "fn-a")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "observing again" in p.stdout, p.stdout
    d = diff(before, counts(emu))
    # the first pass saw no function (GetFunction) and created it with its publish; the second one
    # read its versions
    assert d.get("ListVersionsByFunction") == 1 and d.get("CreateAlias") == 2, d
    assert d.get("CreateFunction") == 1 and "PublishVersion" not in d, d
