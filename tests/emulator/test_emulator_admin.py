"""Admin endpoints: stats, reset, config, state, settle, faults, S3 objects."""

import json
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from emulator import EmulatorError
from emutestlib import create_fn, error_code, mkzip, signed_request


def test_stats_count_per_operation_and_status(emu, lam):
    create_fn(lam, "st")
    with pytest.raises(ClientError):
        create_fn(lam, "st")
    lam.get_function(FunctionName="st")
    lam.get_function(FunctionName="st")
    with pytest.raises(ClientError):
        lam.get_function(FunctionName="zz")
    st = emu.stats()
    assert st["requests_total"] == 5
    assert st["requests"] == {"CreateFunction": 2, "GetFunction": 3}
    assert st["responses"] == {"CreateFunction": {"201": 1, "409": 1},
                               "GetFunction": {"200": 2, "404": 1}}
    assert st["errors"] == {"ResourceConflictException": 1, "ResourceNotFoundException": 1}
    assert st["applied"] == {"CreateFunction": 1}
    assert st["faults"] == {} and st["signature_failures"] == 0
    assert st["admin_requests"] >= 1 and st["uptime_seconds"] > 0


def test_reset_clears_state_and_counters(emu, lam):
    create_fn(lam, "r1")
    emu.put_s3_object("bkt", "k.zip", mkzip())
    emu.inject("error", operation="GetFunction")
    assert emu.stats()["requests_total"] == 1
    assert emu.reset() == {"ok": True}
    assert emu.state() == {"functions": []}
    st = emu.stats()
    assert st["requests_total"] == 0 and st["requests"] == {} and st["applied"] == {}
    assert emu.admin("GET", "faults") == {"faults": []}
    # the S3 bucket is gone too: back to the synthetic sha
    out = lam.create_function(FunctionName="r2", Runtime="python3.9", Handler="a.b",
                              Role="arn:aws:iam::123456789012:role/x",
                              Code={"S3Bucket": "bkt", "S3Key": "k.zip"})
    assert out["CodeSize"] == 0


def test_config_changes_apply_at_runtime(emu, lam):
    cfg = emu.configure(update_delay=0, page_size=2)
    assert cfg["update_delay"] == 0 and cfg["page_size"] == 2
    assert emu.config()["page_size"] == 2
    create_fn(lam, "cfg")
    assert lam.get_function(FunctionName="cfg")["Configuration"]["State"] == "Active"
    lam.update_function_configuration(FunctionName="cfg", Timeout=7)
    lam.update_function_configuration(FunctionName="cfg", Timeout=8)   # no conflict
    for i in range(3):
        lam.create_alias(FunctionName="cfg", Name="a%d" % i, FunctionVersion="$LATEST")
    assert len(lam.list_aliases(FunctionName="cfg")["Aliases"]) == 2
    emu.configure(update_delay=30)
    lam.update_function_configuration(FunctionName="cfg", Timeout=9)
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(FunctionName="cfg", Timeout=10)
    assert error_code(e) == "ResourceConflictException"
    emu.settle()                                                       # skip the 30 s
    assert lam.update_function_configuration(FunctionName="cfg", Timeout=10)["Timeout"] == 10


def test_config_validation(emu):
    for bad in ({"nope": 1}, {"lose_rate": 2}, {"page_size": 0}, {"quota": "yes"},
                {"error_style": "weird"}, {"fault_operations": "PublishVersion"}):
        with pytest.raises(EmulatorError, match="400"):
            emu.configure(**bad)
    with pytest.raises(EmulatorError, match="404"):
        emu.admin("GET", "nothing")


def test_state_dump(emu, lam):
    create_fn(lam, "dump", Environment={"Variables": {"A": "b"}})
    emu.settle()
    lam.publish_version(FunctionName="dump", Description="one")
    lam.create_alias(FunctionName="dump", Name="Prod", FunctionVersion="1")
    (fn,) = emu.state()["functions"]
    assert (fn["account"], fn["region"], fn["name"]) == ("123456789012", "us-east-1", "dump")
    assert fn["latest"]["Environment"] == {"Variables": {"A": "b"}}
    assert fn["latest"]["State"] == "Active"
    assert [v["Version"] for v in fn["versions"]] == ["1"]
    assert fn["versions"][0]["Description"] == "one"
    assert fn["aliases"][0]["Name"] == "Prod" and fn["aliases"][0]["FunctionVersion"] == "1"
    assert fn["next_version"] == 2
    assert fn["code"]["kind"] == "zip"


@pytest.mark.serial  # serial: three admin requests within 1 s
def test_admin_is_never_signed_or_faulted(emu):
    emu.configure(reset_rate=1.0, error_rate=1.0, latency_ms=500)
    t0 = time.monotonic()
    for _ in range(3):
        assert emu.stats()["requests_total"] == 0
    assert time.monotonic() - t0 < 1.0
    assert signed_request(emu, "GET", "/__emulator/health", secret_key="bad")[0] == 200


def test_s3_object_versions(emu, lam):
    a, b = mkzip("a"), mkzip("b")
    va = emu.put_s3_object("bkt", "dir/app.zip", a)["VersionId"]
    vb = emu.put_s3_object("bkt", "dir/app.zip", b)["VersionId"]
    assert va != vb
    from emutestlib import b64sha
    out = lam.create_function(FunctionName="s3v", Runtime="python3.9", Handler="a.b",
                              Role="arn:aws:iam::123456789012:role/x",
                              Code={"S3Bucket": "bkt", "S3Key": "dir/app.zip"})
    assert out["CodeSha256"] == b64sha(b)                       # newest without a version
    emu.settle()
    out = lam.update_function_code(FunctionName="s3v", S3Bucket="bkt", S3Key="dir/app.zip",
                                   S3ObjectVersion=va)
    assert out["CodeSha256"] == b64sha(a)
    emu.settle()
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="s3v", S3Bucket="bkt", S3Key="dir/app.zip",
                                 S3ObjectVersion="nope")
    assert "NoSuchVersion" in e.value.response["Error"]["Message"]


def test_admin_reset_via_raw_http(emu, lam):
    create_fn(lam, "raw")
    req = urllib.request.Request(emu.endpoint + "/__emulator/reset", data=b"", method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=5) as resp:
        assert resp.status == 200 and json.loads(resp.read()) == {"ok": True}
    assert emu.state()["functions"] == []
