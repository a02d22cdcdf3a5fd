"""aws/lambda_invoke against the emulator's Invoke (invoke_emulator.py), through
tests/tools/aws_lambda_call, with SigV4 verification on: the function's
behaviours (succeed, fail, hang, error), what is retried and what never is."""
import base64
import errno
import json
import os
import time

import pytest

from emulator import Emulator
from test_aws_lambda_ops import ROLE, Caller, mkzip


@pytest.fixture
def tool(build_dir):
    path = os.path.join(build_dir, "tests", "tools", "aws_lambda_call")
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built: run make tests" % path)
    return path


@pytest.fixture(scope="module")
def emu_module():
    with Emulator(update_delay=0) as emu:
        yield emu


@pytest.fixture
def emu(emu_module):
    emu_module.reset()
    yield emu_module


def smoke(c, emu, name="smoke"):
    """A function with version 1, alias Prod -> 1."""
    c.ok("CreateFunction", FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
         Code={"ZipFile": base64.b64encode(mkzip("print(1)")).decode()})
    emu.settle()
    c.ok("PublishVersion", FunctionName=name)
    emu.settle()
    c.ok("CreateAlias", FunctionName=name, Name="Prod", FunctionVersion="1")


def caller(tool, emu, tmp_path, **env):
    # three attempts allowed: what Invoke does not retry, it does not retry by its own rule
    return Caller(tool, emu, str(tmp_path), AWS_MAX_ATTEMPTS=3, **env)


def test_succeed_and_fail(tool, emu, tmp_path):
    c = caller(tool, emu, tmp_path)
    smoke(c, emu)
    emu.set_invoke("smoke", "succeed", payload={"checks": "ok"})
    r = c.ok("Invoke", FunctionName="smoke", Qualifier="Prod", Payload={"rollout": {"step": 0}}, TimeoutMs=20000)
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    assert r["ExecutedVersion"] == "1"
    assert json.loads(r["Payload"]) == {"checks": "ok"} and r["PayloadTruncated"] is False
    emu.set_invoke("smoke", "fail", error_message="2 checks failed")
    r = c.ok("Invoke", FunctionName="arn:aws:lambda:us-east-1:123456789012:function:smoke", Qualifier="1")
    assert r["FunctionError"] == "Unhandled"
    assert json.loads(r["Payload"])["errorMessage"] == "2 checks failed"
    log = emu.invocations()
    assert [(x["function"], x["qualifier"], x["payload"], x["status"]) for x in log] == [
        ("smoke", "Prod", {"rollout": {"step": 0}}, 200), ("smoke", "1", {}, 200)]
    st = emu.stats()
    assert st["signature_failures"] == 0 and st["requests"]["Invoke"] == 2


def test_payload_kept_up_to_4096_bytes(tool, emu, tmp_path):
    c = caller(tool, emu, tmp_path)
    smoke(c, emu)
    emu.set_invoke("smoke", "succeed", payload="é" * 5000)
    r = c.ok("Invoke", FunctionName="smoke")
    assert r["PayloadTruncated"] is True
    assert len(r["Payload"].encode()) <= 4096
    assert r["Payload"] == ('"' + "é" * 5000)[:len(r["Payload"])]   # cut on a character boundary


def test_hang_is_bounded_by_the_timeout_and_not_resent(tool, emu, tmp_path):
    c = caller(tool, emu, tmp_path)
    smoke(c, emu)
    emu.set_invoke("smoke", "hang", seconds=60)
    t0 = time.monotonic()
    e = c.fail("Invoke", FunctionName="smoke", Qualifier="Prod", TimeoutMs=1500)
    took = time.monotonic() - t0
    assert e["Errno"] == errno.ETIMEDOUT and e["Kind"] == "transient", e
    assert e["Attempts"] == 1
    assert took < 20, took   # the function would hang 60 s
    assert len(emu.invocations()) == 1


@pytest.mark.parametrize("status,code,err,kind", [
    (500, "ServiceException", errno.EIO, "transient"),
    (502, "EC2ThrottledException", errno.EIO, "transient"),
    (400, "InvalidRequestContentException", errno.EINVAL, "terminal"),
])
def test_error_answers_are_not_resent(tool, emu, tmp_path, status, code, err, kind):
    c = caller(tool, emu, tmp_path)
    smoke(c, emu)
    emu.set_invoke("smoke", "error", status=status, code=code, message="from the test")
    e = c.fail("Invoke", FunctionName="smoke", Qualifier="Prod")
    assert (e["Status"], e["Code"], e["Errno"], e["Kind"]) == (status, code, err, kind), e
    assert e["Message"] == "from the test"
    assert e["Attempts"] == 1 and len(emu.invocations()) == 1


def test_throttled_invoke_is_retried(tool, emu, tmp_path):
    c = caller(tool, emu, tmp_path)
    smoke(c, emu)
    emu.set_invoke("smoke", "succeed", payload="ran")
    emu.set_invoke("smoke", "error", status=429, code="TooManyRequestsException", message="Rate Exceeded.",
                   count=1)
    r = c.ok("Invoke", FunctionName="smoke", Qualifier="Prod")
    assert json.loads(r["Payload"]) == "ran"
    assert [x["status"] for x in emu.invocations()] == [429, 200]


def test_lost_answer_is_not_resent(tool, emu, tmp_path):
    """The function ran but the answer was lost: a blind resend would run it twice."""
    c = caller(tool, emu, tmp_path)
    smoke(c, emu)
    emu.inject("lose", operation="Invoke")
    e = c.fail("Invoke", FunctionName="smoke", Qualifier="Prod")
    assert e["Errno"] in (errno.ECONNRESET, errno.EPROTO), e
    assert e["Attempts"] == 1 and len(emu.invocations()) == 1


def test_missing_function_and_bad_payload(tool, emu, tmp_path):
    c = caller(tool, emu, tmp_path)
    smoke(c, emu)
    e = c.fail("Invoke", FunctionName="smoke", Qualifier="Staging")
    assert (e["Status"], e["Code"], e["Errno"], e["Kind"]) == (404, "ResourceNotFoundException", errno.ENOENT,
                                                               "not-found")
    e = c.fail("Invoke", FunctionName="smoke", Payload="{not json")
    assert e["Errno"] == errno.EINVAL and e["Status"] == 0 and e["Attempts"] == 0   # never sent
    assert len(emu.invocations()) == 1
