"""Every Lambda operation of aws/lambda against the emulator, through the
tests/tools/aws_lambda_call tool, with SigV4 verification on."""
import base64
import errno
import hashlib
import io
import json
import os
import subprocess
import zipfile

import pytest

from emulator import Emulator

ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::%s:role/lambda-role" % ACCOUNT


def mkzip(text):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("app.py", text)
    return b.getvalue()


def sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def tool(build_dir):
    path = os.path.join(build_dir, "tests", "tools", "aws_lambda_call")
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built: run make tests" % path)
    return path


def clean_env(tmp_home, emu, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = tmp_home
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["ALIASD_AWS_RETRY_BASE_MS"] = "5"
    env["ALIASD_AWS_RETRY_AFTER_MAX_MS"] = "20"
    env.update(emu.env())
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Caller:
    def __init__(self, tool, emu, home, rates=(), **env):
        self.tool, self.emu, self.rates = tool, emu, list(rates)
        self.env = clean_env(home, emu, **env)
        self.retries = 0
        self.calls = 0

    def raw(self, op, **args):
        p = subprocess.run([self.tool] + self.rates + [op, json.dumps(args)], env=self.env,
                           capture_output=True, text=True, timeout=120)
        assert p.stdout, "no output from %s: %s" % (op, p.stderr)
        out = json.loads(p.stdout)
        self.calls += 1
        self.retries += out["Stats" if "Stats" in out else "Error"]["Retries"]
        return p.returncode, out

    def ok(self, op, **args):
        rc, out = self.raw(op, **args)
        assert rc == 0, "%s failed: %s" % (op, out)
        return out["Result"]

    def fail(self, op, **args):
        rc, out = self.raw(op, **args)
        assert rc == 1, "%s should fail: %s" % (op, out)
        return out["Error"]


def run_all_operations(c, emu, fn="orders", settle=True):
    """Every operation once (and some twice); returns nothing, asserts throughout."""
    z1, z2 = mkzip("print(1)"), mkzip("print(2)")
    arn = "arn:aws:lambda:us-east-1:%s:function:%s" % (ACCOUNT, fn)

    cfg = c.ok("CreateFunction", FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.handler",
               Timeout=5, MemorySize=256, Description="orders service",
               Environment={"Variables": {"LOG_LEVEL": "info", "EMPTY": ""}},
               Code={"ZipFile": base64.b64encode(z1).decode()})
    assert cfg["FunctionName"] == fn
    assert cfg["FunctionArn"] == arn
    assert cfg["CodeSha256"] == sha(z1)
    assert cfg["CodeSize"] == len(z1)
    assert cfg["Version"] == "$LATEST"
    assert cfg["Timeout"] == 5 and cfg["MemorySize"] == 256
    assert cfg["Environment"]["Variables"] == {"LOG_LEVEL": "info", "EMPTY": ""}
    if settle:
        emu.settle()

    f = c.ok("GetFunction", FunctionName=fn)
    assert f["Configuration"]["Handler"] == "app.handler"
    assert f["Configuration"]["Runtime"] == "python3.12"
    assert f["Configuration"]["Role"] == ROLE
    assert f["Configuration"]["PackageType"] == "Zip"
    assert f["Configuration"]["Architectures"] == ["x86_64"]
    assert f["Configuration"]["State"] == "Active"
    assert f["Configuration"]["RevisionId"]
    assert f["Code"]["RepositoryType"] == "S3"
    # full ARN and partial ARN address the same function
    assert c.ok("GetFunction", FunctionName=arn)["Configuration"]["FunctionArn"] == arn
    partial = "%s:function:%s" % (ACCOUNT, fn)
    assert c.ok("GetFunctionConfiguration", FunctionName=partial)["FunctionName"] == fn

    g = c.ok("GetFunctionConfiguration", FunctionName=fn, Qualifier="$LATEST")
    assert g["Version"] == "$LATEST" and g["CodeSha256"] == sha(z1)

    # UpdateFunctionCode with the current RevisionId
    u = c.ok("UpdateFunctionCode", FunctionName=fn, ZipFile=base64.b64encode(z2).decode(),
             RevisionId=g["RevisionId"])
    assert u["CodeSha256"] == sha(z2)
    if settle:
        emu.settle()
    # a stale RevisionId is 412
    e = c.fail("UpdateFunctionConfiguration", FunctionName=fn, MemorySize=512, RevisionId=g["RevisionId"])
    assert e["Status"] == 412 and e["Code"] == "PreconditionFailedException"
    assert e["Errno"] == errno.ESTALE
    cur = c.ok("GetFunctionConfiguration", FunctionName=arn)
    u = c.ok("UpdateFunctionConfiguration", FunctionName=arn, MemorySize=512, Timeout=7,
             Environment={"Variables": {"LOG_LEVEL": "debug"}}, RevisionId=cur["RevisionId"])
    assert u["MemorySize"] == 512 and u["Timeout"] == 7
    assert u["Environment"]["Variables"] == {"LOG_LEVEL": "debug"}
    assert u["Handler"] == "app.handler"  # fields not sent are unchanged
    if settle:
        emu.settle()

    # PublishVersion: a CodeSha256 that is not $LATEST's is refused
    e = c.fail("PublishVersion", FunctionName=fn, CodeSha256=sha(z1))
    assert e["Status"] == 400 and e["Code"] == "InvalidParameterValueException"
    cur = c.ok("GetFunctionConfiguration", FunctionName=fn)
    v1 = c.ok("PublishVersion", FunctionName=fn, CodeSha256=sha(z2), RevisionId=cur["RevisionId"],
              Description="v1 @0123abc: first release")
    assert v1["Version"] == "1"
    assert v1["Description"] == "v1 @0123abc: first release"
    assert v1["FunctionArn"] == arn + ":1"
    # nothing changed: the same version comes back
    assert c.ok("PublishVersion", FunctionName=fn)["Version"] == "1"
    for i in range(2, 10):
        z = mkzip("print(%d)" % (i + 10))
        c.ok("UpdateFunctionCode", FunctionName=fn, ZipFile=base64.b64encode(z).decode())
        if settle:
            emu.settle()
        v = c.ok("PublishVersion", FunctionName=fn, CodeSha256=sha(z), Description="v%d @%07x: r" % (i, i))
        assert v["Version"] == str(i)
    q = c.ok("GetFunctionConfiguration", FunctionName=fn, Qualifier="3")
    assert q["Version"] == "3" and q["Description"] == "v3 @0000003: r"

    # ListVersionsByFunction: every page, in order
    lv = c.ok("ListVersionsByFunction", FunctionName=fn)
    assert [v["Version"] for v in lv["Versions"]] == ["$LATEST"] + [str(i) for i in range(1, 10)]
    assert lv["Versions"][1]["CodeSha256"] == sha(z2)

    # aliases
    a = c.ok("CreateAlias", FunctionName=fn, Name="Prod", FunctionVersion="1", Description="production")
    assert a["Name"] == "Prod" and a["FunctionVersion"] == "1" and a["Description"] == "production"
    assert a["AliasArn"] == arn + ":Prod"
    assert a["RoutingConfig"]["AdditionalVersionWeights"] == {}
    a = c.ok("CreateAlias", FunctionName=arn, Name="Canary", FunctionVersion="2",
             RoutingConfig={"AdditionalVersionWeights": {"3": 0.25}})
    assert a["RoutingConfig"]["AdditionalVersionWeights"] == {"3": 0.25}
    e = c.fail("CreateAlias", FunctionName=fn, Name="Prod", FunctionVersion="2")
    assert e["Status"] == 409 and e["Code"] == "ResourceConflictException" and e["Errno"] == errno.EBUSY
    g = c.ok("GetAlias", FunctionName=fn, Name="Canary")
    assert g["FunctionVersion"] == "2" and g["RoutingConfig"]["AdditionalVersionWeights"] == {"3": 0.25}
    # UpdateAlias without weights clears them (RoutingConfig {} is always sent)
    u = c.ok("UpdateAlias", FunctionName=fn, Name="Canary", FunctionVersion="4", RevisionId=g["RevisionId"])
    assert u["FunctionVersion"] == "4" and u["RoutingConfig"]["AdditionalVersionWeights"] == {}
    e = c.fail("UpdateAlias", FunctionName=fn, Name="Canary", FunctionVersion="5", RevisionId=g["RevisionId"])
    assert e["Status"] == 412 and e["Errno"] == errno.ESTALE
    u = c.ok("UpdateAlias", FunctionName=arn, Name="Canary", RoutingConfig={"AdditionalVersionWeights": {"5": 0.5}})
    assert u["FunctionVersion"] == "4"  # unchanged when not sent
    assert u["RoutingConfig"]["AdditionalVersionWeights"] == {"5": 0.5}
    for i in range(1, 9):
        c.ok("CreateAlias", FunctionName=fn, Name="a%d" % i, FunctionVersion=str(i))
    la = c.ok("ListAliases", FunctionName=fn)
    assert sorted(x["Name"] for x in la["Aliases"]) == sorted(["Prod", "Canary"] + ["a%d" % i for i in range(1, 9)])
    canary = [x for x in la["Aliases"] if x["Name"] == "Canary"][0]
    assert canary["RoutingConfig"]["AdditionalVersionWeights"] == {"5": 0.5}
    la1 = c.ok("ListAliases", FunctionName=fn, FunctionVersion="1")
    assert sorted(x["Name"] for x in la1["Aliases"]) == ["Prod", "a1"]
    c.ok("DeleteAlias", FunctionName=fn, Name="a8")
    e = c.fail("GetAlias", FunctionName=fn, Name="a8")
    assert e["Status"] == 404 and e["Code"] == "ResourceNotFoundException" and e["Errno"] == errno.ENOENT

    # DeleteFunction with a qualifier deletes one version; a referenced one is refused
    c.ok("DeleteFunction", FunctionName=fn, Qualifier="9")
    e = c.fail("GetFunctionConfiguration", FunctionName=fn, Qualifier="9")
    assert e["Status"] == 404
    e = c.fail("DeleteFunction", FunctionName=fn, Qualifier="1")
    assert e["Status"] == 409

    lf = c.ok("ListFunctions")
    assert [x["FunctionName"] for x in lf["Functions"]] == [fn]
    lf = c.ok("ListFunctions", FunctionVersion="ALL")
    assert sorted(x["Version"] for x in lf["Functions"]) == sorted(["$LATEST"] + [str(i) for i in range(1, 9)])

    c.ok("DeleteFunction", FunctionName=arn)
    e = c.fail("GetFunction", FunctionName=fn)
    assert e["Status"] == 404 and e["Code"] == "ResourceNotFoundException"


def test_every_operation(tool, tmp_path):
    with Emulator(update_delay=0.05, page_size=7) as emu:
        c = Caller(tool, emu, str(tmp_path))
        run_all_operations(c, emu)
        st = emu.stats()
        assert st["signature_failures"] == 0
        # pages of 7: 10 versions -> 2 pages; 10 aliases -> 2 pages; 9 functions with ALL -> 2 pages
        assert st["requests"]["ListVersionsByFunction"] == 2
        assert st["requests"]["ListAliases"] == 3  # 2 pages + the filtered one
        assert c.retries == 0


def test_pagination_many_pages(tool, tmp_path):
    with Emulator(update_delay=0, page_size=7) as emu:
        lam = emu.client(max_attempts=5)
        lam.create_function(FunctionName="p", Runtime="python3.12", Role=ROLE, Handler="a.h",
                            Code={"ZipFile": mkzip("0")})
        emu.settle()
        for i in range(1, 31):
            lam.update_function_configuration(FunctionName="p", Environment={"Variables": {"N": str(i)}})
            emu.settle()
            lam.publish_version(FunctionName="p")
            lam.create_alias(FunctionName="p", Name="al%02d" % i, FunctionVersion=str(i))
        expect = [v["Version"] for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName="p")
                  for v in page["Versions"]]
        c = Caller(tool, emu, str(tmp_path))
        lv = c.ok("ListVersionsByFunction", FunctionName="p")
        assert [v["Version"] for v in lv["Versions"]] == expect
        assert len(expect) == 31 and lv["Pages"] == 5
        assert [v["Environment"]["Variables"]["N"] for v in lv["Versions"][1:]] == [str(i) for i in range(1, 31)]
        la = c.ok("ListAliases", FunctionName="p")
        assert sorted(a["Name"] for a in la["Aliases"]) == ["al%02d" % i for i in range(1, 31)]
        assert la["Pages"] == 5
        lf = c.ok("ListFunctions", FunctionVersion="ALL")
        assert len(lf["Functions"]) == 31 and lf["Pages"] == 5


@pytest.mark.parametrize("style", ["plain", "coral", "body", "code"])
def test_error_styles(tool, tmp_path, style):
    with Emulator(update_delay=0) as emu:
        emu.configure(error_style=style)
        c = Caller(tool, emu, str(tmp_path))
        e = c.fail("GetFunction", FunctionName="missing")
        assert e["Status"] == 404
        assert e["Code"] == "ResourceNotFoundException"
        assert "missing" in e["Message"]
        assert e["Errno"] == errno.ENOENT
        e = c.fail("GetAlias", FunctionName="missing", Name="Prod")
        assert e["Code"] == "ResourceNotFoundException"


def test_bad_secret_is_not_retried(tool, tmp_path):
    with Emulator() as emu:
        c = Caller(tool, emu, str(tmp_path), AWS_SECRET_ACCESS_KEY="wrong-secret", AWS_MAX_ATTEMPTS=5)
        e = c.fail("ListFunctions")
        assert e["Status"] == 403
        assert e["Code"] in ("InvalidSignatureException", "SignatureDoesNotMatch")
        assert e["Attempts"] == 1
        assert e["Errno"] == errno.EACCES
        assert "signature" in e["Text"]
        assert "wrong-secret" not in e["Text"]
        assert emu.stats()["requests_total"] == 1
        # an unknown access key
        c = Caller(tool, emu, str(tmp_path), AWS_ACCESS_KEY_ID="AKIDUNKNOWN")
        e = c.fail("ListFunctions")
        assert e["Status"] == 403 and e["Attempts"] == 1
        # a session token is signed and sent
        c = Caller(tool, emu, str(tmp_path), AWS_SESSION_TOKEN="tok/en+==")
        assert c.ok("ListFunctions")["Functions"] == []


def test_scripted_faults_retried(tool, tmp_path):
    with Emulator(update_delay=0) as emu:
        lam = emu.client()
        lam.create_function(FunctionName="f", Runtime="python3.12", Role=ROLE, Handler="a.h",
                            Code={"ZipFile": mkzip("0")})
        c = Caller(tool, emu, str(tmp_path), AWS_MAX_ATTEMPTS=4)
        for kind in ("throttle", "error", "reset"):
            emu.inject(kind, operation="GetFunction", count=2)
            rc, out = c.raw("GetFunction", FunctionName="f")
            assert rc == 0, out
            assert out["Stats"]["Attempts"] == 3, (kind, out)
            assert out["Stats"]["Retries"] == 2
            if kind == "throttle":
                assert out["Stats"]["Throttles"] == 1  # two 429s within a second halve the rate once
        # attempts exhausted: the last error is reported
        emu.inject("error", operation="GetAlias", count=5)
        e = c.fail("GetAlias", FunctionName="f", Name="x")
        assert e["Status"] == 500 and e["Code"] == "ServiceException" and e["Attempts"] == 4
        emu.clear_faults()
        # 409 is not retried by the client
        emu.inject("error", operation="PublishVersion", count=1, status=409, code="ResourceConflictException",
                   message="An update is in progress")
        e = c.fail("PublishVersion", FunctionName="f")
        assert e["Status"] == 409 and e["Attempts"] == 1 and e["Errno"] == errno.EBUSY
        emu.clear_faults()
        # AWS_MAX_ATTEMPTS=1: no retry at all
        c1 = Caller(tool, emu, str(tmp_path), AWS_MAX_ATTEMPTS=1)
        emu.inject("throttle", operation="ListFunctions", count=1)
        e = c1.fail("ListFunctions")
        assert e["Status"] == 429 and e["Code"] == "TooManyRequestsException" and e["Attempts"] == 1
        assert e["Errno"] == errno.EAGAIN
        # a malformed AWS_MAX_ATTEMPTS is an error naming it
        c0 = Caller(tool, emu, str(tmp_path), AWS_MAX_ATTEMPTS="zero")
        e = c0.fail("ListFunctions")
        assert "AWS_MAX_ATTEMPTS" in e["Text"]


def test_every_operation_under_faults(tool, tmp_path):
    with Emulator(update_delay=0, page_size=7, throttle_rate=0.1, error_rate=0.05, reset_rate=0.03,
                  seed=5) as emu:
        # high rates so the AIMD slow-down does not make the test slow
        c = Caller(tool, emu, str(tmp_path), rates=["--control-rate", "200", "--min-rate", "50"],
                   AWS_MAX_ATTEMPTS=10)
        run_all_operations(c, emu, fn="flaky", settle=False)
        st = emu.stats()
        faults = st["faults"]
        assert faults.get("throttle", 0) > 0 and faults.get("error", 0) > 0 and faults.get("reset", 0) > 0, faults
        # every injected 429/500 was retried by the client; a reset on a reused connection
        # may be retried by libcurl itself (the request had not been sent yet)
        assert faults["throttle"] + faults["error"] <= c.retries <= sum(faults.values()), (c.retries, faults)
        assert st["signature_failures"] == 0


def test_threads_share_rate_limits(tool, tmp_path):
    """Eight threads share one client: the connection pool works and the
    shared buckets hold the configured rates whatever the thread count."""
    with Emulator(update_delay=0, page_size=7) as emu:
        lam = emu.client()
        lam.create_function(FunctionName="t", Runtime="python3.12", Role=ROLE, Handler="a.h",
                            Code={"ZipFile": mkzip("0")})
        lam.create_alias(FunctionName="t", Name="Prod", FunctionVersion="$LATEST")
        env = clean_env(str(tmp_path), emu)

        def load(op, *rates):
            p = subprocess.run([tool, "--threads", "8", "--repeat", "5"] + list(rates) +
                               [op, json.dumps({"FunctionName": "t"})],
                               env=env, capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            return json.loads(p.stdout)["Result"]

        # control plane: 40 calls at 20/s with a burst of 20 take at least (40 - 20) / 20 s
        before = emu.stats()["requests"].get("ListAliases", 0)
        r = load("ListAliases", "--control-rate", "20")
        assert r["Calls"] == 40 and r["Failures"] == 0
        assert r["Seconds"] >= 0.9, r
        assert emu.stats()["requests"]["ListAliases"] - before == 40
        # GetFunction has its own bucket: the control-plane rate does not slow it down
        r = load("GetFunction", "--control-rate", "1", "--get-rate", "400")
        assert r["Calls"] == 40 and r["Failures"] == 0
        assert r["Seconds"] < 5, r


def test_image_and_s3_code(tool, tmp_path):
    with Emulator(update_delay=0) as emu:
        c = Caller(tool, emu, str(tmp_path))
        digest = "ab" * 32
        uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + digest
        cfg = c.ok("CreateFunction", FunctionName="img", Role=ROLE, PackageType="Image", Code={"ImageUri": uri},
                   Architectures=["arm64"])
        assert cfg["PackageType"] == "Image" and cfg["Architectures"] == ["arm64"]
        emu.settle()
        f = c.ok("GetFunction", FunctionName="img")
        assert f["Code"]["ImageUri"] == uri
        assert f["Code"]["ResolvedImageUri"].endswith("@sha256:" + digest)
        assert f["Configuration"]["CodeSha256"] == digest
        uri2 = uri.replace(digest, "cd" * 32)
        u = c.ok("UpdateFunctionCode", FunctionName="img", ImageUri=uri2)
        assert u["CodeSha256"] == "cd" * 32
        # S3 code, with and without an object version
        cfg = c.ok("CreateFunction", FunctionName="s3fn", Role=ROLE, Runtime="python3.12", Handler="a.h",
                   Code={"S3Bucket": "bkt", "S3Key": "fn/1.zip"})
        assert cfg["CodeSha256"] == sha(b"s3://bkt/fn/1.zip")
        emu.settle()
        u = c.ok("UpdateFunctionCode", FunctionName="s3fn", S3Bucket="bkt", S3Key="fn/2.zip", S3ObjectVersion="v+/=1")
        assert u["CodeSha256"] == sha(b"s3://bkt/fn/2.zip?versionId=v+/=1")
        # bad code arguments are refused before anything is sent
        n = emu.stats()["requests_total"]
        e = c.fail("UpdateFunctionCode", FunctionName="s3fn", S3Bucket="bk")
        assert e["Errno"] == errno.EINVAL and "S3" in e["Text"]
        e = c.fail("UpdateFunctionCode", FunctionName="s3fn", S3Bucket="bk", S3Key="k", ImageUri=uri)
        assert e["Errno"] == errno.EINVAL
        assert emu.stats()["requests_total"] == n
