"""Invoke of emulated functions (invoke_emulator.py) with boto3 as the client, and
the alias facts rollouts rely on (Description <= 256 characters, RevisionId 412)."""
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from emulator import Emulator
from emutestlib import create_fn, error_code, error_message, http_status, mkzip, signed_request

FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:%s"


def published(emu, lam, name, n=1):
    """A function with versions 1..n and an alias Prod on the last."""
    create_fn(lam, name, code="0")
    for i in range(1, n + 1):
        emu.settle()
        if i > 1:
            lam.update_function_code(FunctionName=name, ZipFile=mkzip(str(i)))
            emu.settle()
        assert lam.publish_version(FunctionName=name)["Version"] == str(i)
    emu.settle()
    lam.create_alias(FunctionName=name, Name="Prod", FunctionVersion=str(n))


def payload(out):
    return json.loads(out["Payload"].read() or b"null")


def test_succeed_by_default_and_logged(emu, lam):
    published(emu, lam, "smoke", 2)
    t0 = time.time()
    out = lam.invoke(FunctionName="smoke", Payload=b'{"a": 1}')
    assert out["StatusCode"] == 200 and "FunctionError" not in out
    assert out["ExecutedVersion"] == "$LATEST"
    assert payload(out) is None
    out = lam.invoke(FunctionName="smoke", Qualifier="Prod", Payload=b"[1, 2]")
    assert out["ExecutedVersion"] == "2"
    out = lam.invoke(FunctionName=FN_ARN % "smoke" + ":1")
    assert out["ExecutedVersion"] == "1"
    emu.set_invoke("smoke", "succeed", payload={"ok": True, "checks": 3})
    out = lam.invoke(FunctionName="smoke", Qualifier="Prod")
    assert payload(out) == {"ok": True, "checks": 3}
    log = emu.invocations()
    assert [(r["function"], r["qualifier"], r["executed_version"]) for r in log] == [
        ("smoke", None, "$LATEST"), ("smoke", "Prod", "2"), ("smoke", "1", "1"), ("smoke", "Prod", "2")]
    assert log[0]["payload"] == {"a": 1} and log[1]["payload"] == [1, 2] and log[2]["payload"] is None
    assert log[1]["function_arn"] == FN_ARN % "smoke" + ":Prod"
    assert all(t0 - 1 <= r["time"] <= time.time() + 1 for r in log)
    assert {r["status"] for r in log} == {200}
    assert {r["invocation_type"] for r in log} == {"RequestResponse"}
    st = emu.stats()
    assert st["requests"]["Invoke"] == 4 and st["responses"]["Invoke"] == {"200": 4}


def test_fail_is_200_with_function_error(emu, lam):
    published(emu, lam, "smoke")
    emu.set_invoke("smoke", "fail", error_message="checks failed: 2 of 5", error_type="AssertionError")
    out = lam.invoke(FunctionName="smoke", Qualifier="Prod", Payload=b"{}")
    assert out["StatusCode"] == 200
    assert out["FunctionError"] == "Unhandled"
    assert out["ExecutedVersion"] == "1"
    assert payload(out) == {"errorMessage": "checks failed: 2 of 5", "errorType": "AssertionError",
                            "stackTrace": []}
    emu.set_invoke("smoke", "fail", function_error="Handled")
    out = lam.invoke(FunctionName="smoke")
    assert out["FunctionError"] == "Handled" and payload(out)["errorMessage"] == "Injected failure"
    assert [r["function_error"] for r in emu.invocations()] == ["Unhandled", "Handled"]


def test_behaviour_per_qualifier_and_counted(emu, lam):
    published(emu, lam, "smoke", 2)
    emu.set_invoke("smoke", "fail")
    emu.set_invoke("smoke", "succeed", qualifier="Prod", payload="prod")
    assert payload(lam.invoke(FunctionName="smoke", Qualifier="Prod")) == "prod"
    assert lam.invoke(FunctionName="smoke", Qualifier="1")["FunctionError"] == "Unhandled"
    # a counted behaviour applies to the next N only, then the permanent one is back
    emu.set_invoke("smoke", "succeed", qualifier="Prod", payload="once", count=2)
    got = [payload(lam.invoke(FunctionName="smoke", Qualifier="Prod")) for _ in range(3)]
    assert got == ["once", "once", "prod"]
    # a new permanent behaviour replaces the old one for the same target
    emu.set_invoke("smoke", "succeed", payload="all")
    assert payload(lam.invoke(FunctionName="smoke")) == "all"
    assert len(emu.admin("GET", "invoke")["behaviors"]) == 2
    emu.admin("DELETE", "invoke")
    assert payload(lam.invoke(FunctionName="smoke", Qualifier="Prod")) is None
    assert len(emu.invocations()) == 1


def test_error_answers(emu, lam):
    published(emu, lam, "smoke")
    cases = [
        (500, "ServiceException", "Lambda is having a bad day"),
        (502, "EC2ThrottledException", "Lambda was throttled by Amazon EC2"),
        (429, "TooManyRequestsException", "Rate Exceeded."),
    ]
    for status, code, message in cases:
        emu.set_invoke("smoke", "error", status=status, code=code, message=message)
        with pytest.raises(ClientError) as e:
            lam.invoke(FunctionName="smoke", Qualifier="Prod")
        assert (http_status(e), error_code(e), error_message(e)) == (status, code, message)
        if status == 429:
            assert e.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
    # the raw shape: X-Amzn-ErrorType, __type, Type and Message as the model names them
    emu.set_invoke("smoke", "error", status=502, code="EC2ThrottledException", message="m")
    status, headers, body = signed_request(emu, "POST", "/2015-03-31/functions/smoke/invocations",
                                           body=b"{}", headers={"X-Amz-Invocation-Type": "RequestResponse"})
    assert status == 502 and headers["X-Amzn-ErrorType"] == "EC2ThrottledException"
    assert body["Type"] == "Service" and body["Message"] == "m" and body["__type"] == "EC2ThrottledException"
    assert [r["status"] for r in emu.invocations()] == [500, 502, 429, 502]


def test_hang_times_out_the_client_then_answers_as_a_lambda_timeout(emu):
    lam_fast = emu.client(read_timeout=1)
    create_fn(lam_fast, "slow")
    emu.settle()
    emu.set_invoke("slow", "hang", seconds=30)
    t0 = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        lam_fast.invoke(FunctionName="slow")
    assert time.monotonic() - t0 < 15
    # the emulator is not blocked by the hanging call
    assert emu.client().list_functions()["Functions"][0]["FunctionName"] == "slow"
    emu.set_invoke("slow", "hang", seconds=0.5)
    out = emu.client().invoke(FunctionName="slow")
    assert out["FunctionError"] == "Unhandled"
    body = payload(out)
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 0.50 seconds")
    assert [r["behavior"] for r in emu.invocations()] == ["hang", "hang"]


def test_hang_ends_when_the_emulator_stops():
    with Emulator(update_delay=0) as emu:
        lam = emu.client(read_timeout=60)
        create_fn(lam, "slow")
        emu.set_invoke("slow", "hang", seconds=120)
        result = {}

        def call():
            try:
                lam.invoke(FunctionName="slow")
                result["out"] = "answered"
            except Exception as e:  # the connection is closed without an answer
                result["out"] = type(e).__name__

        t = threading.Thread(target=call, daemon=True)
        t.start()
        deadline = time.monotonic() + 20
        while not emu.invocations() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emu.invocations(), "the invocation never arrived"
        t0 = time.monotonic()
        assert emu.stop() == 0
        t.join(30)
        assert time.monotonic() - t0 < 20
        assert not t.is_alive() and result["out"] != "answered", result


def test_missing_function_or_qualifier_is_404(emu, lam):
    published(emu, lam, "smoke")
    for fn, q in (("nope", None), ("smoke", "Staging"), ("smoke", "9")):
        kw = {"Qualifier": q} if q else {}
        with pytest.raises(ClientError) as e:
            lam.invoke(FunctionName=fn, **kw)
        assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 404
    log = emu.invocations()
    assert [(r["function"], r["qualifier"], r["status"]) for r in log] == [
        (None, None, 404), ("smoke", "Staging", 404), ("smoke", "9", 404)]


def test_invocation_types_and_payload_checks(emu, lam):
    published(emu, lam, "smoke")
    emu.set_invoke("smoke", "fail")
    assert lam.invoke(FunctionName="smoke", InvocationType="Event")["StatusCode"] == 202
    assert lam.invoke(FunctionName="smoke", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="smoke", Payload=b"{not json")
    assert error_code(e) == "InvalidRequestContentException" and http_status(e) == 400
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="smoke", Payload=b'"' + b"x" * 6291456 + b'"')
    assert error_code(e) == "RequestTooLargeException" and http_status(e) == 413
    # Event and DryRun do not run the behaviour: the failing one is still there
    assert lam.invoke(FunctionName="smoke")["FunctionError"] == "Unhandled"


def test_weighted_alias_runs_both_versions(emu, lam):
    published(emu, lam, "canary", 2)
    lam.update_alias(FunctionName="canary", Name="Prod", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    seen = {lam.invoke(FunctionName="canary", Qualifier="Prod")["ExecutedVersion"] for _ in range(60)}
    assert seen == {"1", "2"}


def test_invoke_is_outside_the_control_plane_quota(emu, lam):
    published(emu, lam, "smoke")
    emu.configure(quota=True, quota_rates={"other": 1})
    time.sleep(1.1)
    for _ in range(30):  # 30 at once: no 429
        assert lam.invoke(FunctionName="smoke", Qualifier="Prod")["StatusCode"] == 200
    with pytest.raises(ClientError) as e:  # control-plane calls are limited
        for _ in range(5):
            lam.list_aliases(FunctionName="smoke")
    assert error_code(e) == "TooManyRequestsException"
    st = emu.stats()
    assert st["requests"]["Invoke"] == 30 and st["faults_by_operation"].get("Invoke", {}) == {}


def test_injected_faults_apply_to_invoke(emu, lam):
    published(emu, lam, "smoke")
    emu.inject("error", operation="Invoke", status=500, code="ServiceException", message="injected")
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="smoke")
    assert error_code(e) == "ServiceException"
    assert emu.stats()["faults_by_operation"]["Invoke"] == {"error": 1}
    assert lam.invoke(FunctionName="smoke")["StatusCode"] == 200


def test_admin_rejects_bad_behaviours(emu):
    from emulator import EmulatorError
    for bad in ({"behavior": "succeed"}, {"function": "f", "behavior": "explode"},
                {"function": "f", "behavior": "hang", "seconds": -1},
                {"function": "f", "behavior": "error", "status": 200},
                {"function": "f", "count": 0}):
        with pytest.raises(EmulatorError) as e:
            emu.admin("POST", "invoke", bad)
        assert " 400 " in str(e.value)


# ---- alias facts rollouts rely on (the progress record is the alias's Description) ----

def test_alias_description_limit_is_256_characters(emu, lam):
    published(emu, lam, "d")
    record = "aliasd-rollout/1 " + "é" * 239   # 256 characters, more bytes
    assert len(record) == 256
    out = lam.update_alias(FunctionName="d", Name="Prod", Description=record)
    assert out["Description"] == record and out["FunctionVersion"] == "1"
    for call in (lambda: lam.update_alias(FunctionName="d", Name="Prod", Description=record + "x"),
                 lambda: lam.create_alias(FunctionName="d", Name="Other", FunctionVersion="1",
                                          Description="x" * 257)):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "ValidationException" and http_status(e) == 400
        assert "less than or equal to 256" in error_message(e)
    assert lam.get_alias(FunctionName="d", Name="Prod")["Description"] == record


def test_alias_update_with_stale_revision_is_412_and_changes_nothing(emu, lam):
    published(emu, lam, "r", 2)
    a = lam.get_alias(FunctionName="r", Name="Prod")
    # description and weight in one call, guarded by the RevisionId
    up = lam.update_alias(FunctionName="r", Name="Prod", FunctionVersion="1", Description="step 1",
                          RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}}, RevisionId=a["RevisionId"])
    assert up["RevisionId"] != a["RevisionId"]
    with pytest.raises(ClientError) as e:
        lam.update_alias(FunctionName="r", Name="Prod", FunctionVersion="2", Description="done",
                         RoutingConfig={"AdditionalVersionWeights": {}}, RevisionId=a["RevisionId"])
    assert error_code(e) == "PreconditionFailedException" and http_status(e) == 412
    now = lam.get_alias(FunctionName="r", Name="Prod")
    assert (now["FunctionVersion"], now["Description"], now["RevisionId"]) == ("1", "step 1", up["RevisionId"])
    assert now["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    # a description-only update keeps the version and the weights
    d = lam.update_alias(FunctionName="r", Name="Prod", Description="step 1 again", RevisionId=now["RevisionId"])
    assert d["FunctionVersion"] == "1" and d["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
