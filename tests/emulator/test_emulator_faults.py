"""Error wire format, quotas, injected faults (429/500/reset/lost response), seeds."""

import http.client
import threading
import time

import pytest
from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from emulator import Emulator, EmulatorError
from emutestlib import create_fn, error_code, http_status, mkzip, signed_request

TRANSPORT_ERRORS = (HTTPClientError, BotoConnectionError)


# ---- wire format of errors ----------------------------------------------------------------

def test_error_wire_format(emu, lam):
    status, headers, body = signed_request(emu, "GET", "/2015-03-31/functions/missing")
    assert status == 404
    assert headers["X-Amzn-ErrorType"] == "ResourceNotFoundException"
    assert headers["Content-Type"] == "application/json"
    assert headers["x-amzn-RequestId"]
    assert body["__type"] == "ResourceNotFoundException"
    assert body["Type"] == "User"
    assert body["message"] == body["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing")
    emu.configure(update_delay=5)  # still Pending at the publish, however loaded the machine
    create_fn(lam, "busy")
    status, headers, body = signed_request(emu, "POST", "/2015-03-31/functions/busy/versions",
                                           body=b"{}")
    assert status == 409 and headers["X-Amzn-ErrorType"] == "ResourceConflictException"
    assert body == {"__type": "ResourceConflictException", "Type": "User",
                    "message": body["message"]} and "Pending" in body["message"]


@pytest.mark.parametrize("style", ["plain", "coral", "body", "code"])
def test_error_styles_still_parse_with_boto3(emu, lam, style):
    emu.configure(error_style=style)
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName="nofn", Name="A")
    assert error_code(e) == "ResourceNotFoundException"
    status, headers, body = signed_request(emu, "GET", "/2015-03-31/functions/nofn")
    assert status == 404
    if style == "plain":
        assert headers["X-Amzn-ErrorType"] == "ResourceNotFoundException"
    elif style == "coral":
        assert headers["X-Amzn-ErrorType"].startswith("ResourceNotFoundException:http://")
        assert body["__type"] == "com.amazonaws.awslambda#ResourceNotFoundException"
    elif style == "body":
        assert "X-Amzn-ErrorType" not in headers
        assert body["__type"] == "ResourceNotFoundException"
    else:
        assert "X-Amzn-ErrorType" not in headers and "__type" not in body
        assert body["code"] == "ResourceNotFoundException" and body["Message"]


def test_bad_requests(emu, lam):
    create_fn(lam, "br")
    emu.settle()
    status, headers, body = signed_request(emu, "PUT", "/2015-03-31/functions/br/configuration",
                                           body=b"{not json")
    assert status == 400 and body["__type"] == "InvalidRequestContentException"
    status, headers, body = signed_request(emu, "GET", "/2015-03-31/nothing-here")
    assert status == 404 and body["__type"] == "UnknownOperationException"
    status, headers, body = signed_request(emu, "PATCH", "/2015-03-31/functions/br")
    assert status == 404 and body["__type"] == "UnknownOperationException"
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.putrequest("POST", "/2015-03-31/functions")
    conn.putheader("Content-Length", str(80 * 1024 * 1024))       # over 70167211, not sent
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413 and resp.getheader("X-Amzn-ErrorType") == "RequestTooLargeException"
    assert resp.getheader("Connection") == "close"
    conn.close()


# ---- quotas ----------------------------------------------------------------------------------

@pytest.mark.serial  # serial: a 15/s token bucket against the wall clock
def test_quota_token_buckets():
    with Emulator(update_delay=0, quota=True) as emu:
        lam = emu.client()
        create_fn(lam, "q")                                   # 1 of the shared 15
        statuses = []
        for _ in range(20):
            status, headers, body = signed_request(emu, "GET", "/2015-03-31/functions/q/aliases")
            statuses.append(status)
            if status == 429:
                throttled = (headers, body)
        assert statuses.count(200) >= 14 and statuses.count(429) >= 4, statuses
        headers, body = throttled
        assert int(headers["Retry-After"]) >= 1
        assert headers["X-Amzn-ErrorType"] == "TooManyRequestsException"
        assert body["Reason"] == "CallerRateLimitExceeded" and body["message"] == "Rate exceeded"
        # GetFunction has its own bucket of 100/s
        for _ in range(60):
            assert signed_request(emu, "GET", "/2015-03-31/functions/q")[0] == 200
        # another region has its own buckets
        assert signed_request(emu, "GET", "/2015-03-31/functions/", region="eu-west-1")[0] == 200
        # and the shared bucket refills
        time.sleep(1.1)
        assert signed_request(emu, "GET", "/2015-03-31/functions/q/aliases")[0] == 200
        st = emu.stats()
        assert st["faults"]["quota"] == statuses.count(429)
        with pytest.raises(ClientError) as e:
            for _ in range(30):
                lam.list_versions_by_function(FunctionName="q")
        assert error_code(e) == "TooManyRequestsException" and http_status(e) == 429


# ---- random faults -----------------------------------------------------------------------------

def test_throttle_and_error_rates():
    with Emulator(update_delay=0, throttle_rate=1.0) as emu:
        lam = emu.client()
        with pytest.raises(ClientError) as e:
            lam.list_functions()
        assert error_code(e) == "TooManyRequestsException"
        assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
        emu.configure(throttle_rate=0, error_rate=1.0)
        with pytest.raises(ClientError) as e:
            lam.list_functions()
        assert error_code(e) == "ServiceException" and http_status(e) == 500
        assert e.value.response["Type"] == "Service"
        retrying = emu.client(max_attempts=3)          # standard mode retries 500s
        with pytest.raises(ClientError) as e:
            retrying.list_functions()
        assert e.value.response["ResponseMetadata"]["RetryAttempts"] == 2
        st = emu.stats()
        assert st["faults"] == {"throttle": 1, "error": 4}
        assert st["requests"]["ListFunctions"] == 5


def test_reset_closes_connection_before_applying():
    with Emulator(update_delay=0, reset_rate=1.0) as emu:
        lam = emu.client()
        with pytest.raises(TRANSPORT_ERRORS):
            create_fn(lam, "never")
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            conn.request("GET", "/2015-03-31/functions/")
            conn.getresponse()
        conn.close()
        assert emu.state()["functions"] == []
        st = emu.stats()
        assert st["faults"]["reset"] == 2 and st["applied"] == {}


def test_lost_response_applies_the_write():
    """--lose-rate: the hardest case for exactly-once publishing."""
    with Emulator(update_delay=0) as emu:
        lam = emu.client()
        create_fn(lam, "lost")
        emu.settle()
        rev = lam.get_function(FunctionName="lost")["Configuration"]["RevisionId"]
        emu.configure(lose_rate=1.0, fault_operations=["PublishVersion"])
        lam.list_functions()                                   # reads are never "lost"
        with pytest.raises(TRANSPORT_ERRORS):
            lam.publish_version(FunctionName="lost", RevisionId=rev)
        state = emu.state()["functions"][0]
        assert [v["Version"] for v in state["versions"]] == ["1"]   # it was applied
        emu.configure(lose_rate=0)
        # a blind retry with the same RevisionId is refused (publish bumped $LATEST's)...
        with pytest.raises(ClientError) as e:
            lam.publish_version(FunctionName="lost", RevisionId=rev)
        assert error_code(e) == "PreconditionFailedException"
        # ...and without RevisionId it returns the version the lost call created
        assert lam.publish_version(FunctionName="lost")["Version"] == "1"
        st = emu.stats()
        assert st["faults"] == {"lose": 1}
        assert st["applied"]["PublishVersion"] == 2


def test_random_lose_rate_flag_only_affects_writes():
    with Emulator(update_delay=0, lose_rate=1.0) as emu:
        lam = emu.client()
        assert lam.list_functions()["Functions"] == []
        with pytest.raises(TRANSPORT_ERRORS):
            create_fn(lam, "applied")
        assert [f["name"] for f in emu.state()["functions"]] == ["applied"]
        assert lam.get_function(FunctionName="applied")["Configuration"]["FunctionName"] == "applied"


def _fault_sequence(seed, n=40):
    with Emulator(update_delay=0, seed=seed, throttle_rate=0.2, error_rate=0.2,
                  reset_rate=0.1) as emu:
        lam = emu.client()
        out = []
        for _ in range(n):
            try:
                lam.list_functions()
                out.append("ok")
            except ClientError as e:
                out.append(error_code(e))
            except TRANSPORT_ERRORS:
                out.append("reset")
        return out, emu.stats()["faults"]


def test_seed_makes_faults_reproducible():
    a, fa = _fault_sequence(7)
    b, fb = _fault_sequence(7)
    c, _ = _fault_sequence(8)
    assert a == b and fa == fb
    assert a != c
    assert {"ok", "TooManyRequestsException", "ServiceException"} <= set(a)
    assert fa.get("reset", 0) == a.count("reset")
    assert fa.get("throttle", 0) == a.count("TooManyRequestsException")
    assert fa.get("error", 0) == a.count("ServiceException")


def test_scripted_faults(emu, lam):
    create_fn(lam, "sf")
    emu.inject("error", operation="GetAlias", status=502, code="ResourceNotReadyException",
               message="not ready")
    emu.inject("throttle", operation="ListAliases", count=2)
    assert len(emu.admin("GET", "faults")["faults"]) == 2
    lam.list_functions()                                       # not matched
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName="sf", Name="A")
    assert error_code(e) == "ResourceNotReadyException" and http_status(e) == 502
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName="sf", Name="A")
    assert error_code(e) == "ResourceNotFoundException"       # one-shot
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            lam.list_aliases(FunctionName="sf")
        assert error_code(e) == "TooManyRequestsException"
    assert lam.list_aliases(FunctionName="sf")["Aliases"] == []
    emu.inject("reset", operation="*", count=5)
    emu.clear_faults()
    assert lam.list_aliases(FunctionName="sf")["Aliases"] == []
    assert emu.stats()["faults"] == {"error": 1, "throttle": 2}


def test_concurrent_updates_one_wins(emu, lam):
    """Many clients race to update one function: exactly one succeeds, the rest get 409."""
    create_fn(lam, "race")
    emu.settle()
    emu.configure(update_delay=5)
    results = []
    barrier = threading.Barrier(8)

    def worker(i):
        c = emu.client()
        barrier.wait(timeout=10)
        try:
            c.update_function_code(FunctionName="race", ZipFile=mkzip("w%d" % i))
            results.append("ok")
        except ClientError as e:
            results.append(error_code(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["ResourceConflictException"] * 7 + ["ok"]


def test_stale_update_alias(emu, lam):
    """The scripted "stale" fault: the alias moves on just before one UpdateAlias (a real 412)."""
    create_fn(lam, "st")
    emu.settle()
    v = lam.publish_version(FunctionName="st")["Version"]
    r0 = lam.create_alias(FunctionName="st", Name="Prod", FunctionVersion=v, Description="d0")["RevisionId"]
    with pytest.raises(EmulatorError) as e:
        emu.inject("stale", operation="*")  # UpdateAlias only
    assert "400" in str(e.value)
    emu.inject("stale", operation="UpdateAlias")
    with pytest.raises(ClientError) as e:
        lam.update_alias(FunctionName="st", Name="Prod", Description="d1", RevisionId=r0)
    assert error_code(e) == "PreconditionFailedException" and http_status(e) == 412
    a = lam.get_alias(FunctionName="st", Name="Prod")
    assert a["RevisionId"] != r0 and a["Description"] == "d0" and a["FunctionVersion"] == v
    # one-shot: with the RevisionId as it is now, the write goes through
    b = lam.update_alias(FunctionName="st", Name="Prod", Description="d1", RevisionId=a["RevisionId"])
    assert b["Description"] == "d1"
    assert emu.stats()["faults_by_operation"]["UpdateAlias"] == {"stale": 1}
