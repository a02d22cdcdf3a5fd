"""What the quota-frugal reconcile relies on (issue 12): the account quota as AWS
counts it, a per-call latency, and ListFunctions(FunctionVersion=ALL) paging."""
import time

import pytest
from botocore.exceptions import ClientError

from emulator import Emulator
from emutestlib import create_fn, error_code, mkzip, signed_request


@pytest.mark.serial  # serial: a 15/s token bucket against the wall clock
def test_quota_counts_every_call_but_get_function():
    with Emulator(update_delay=0, quota=True) as emu:
        lam = emu.client()
        create_fn(lam, "q")
        lam.publish_version(FunctionName="q")
        time.sleep(1.2)  # a full bucket again
        # GetFunction, qualified or not, has its own 100/s: 40 at once never touch the 15/s
        for i in range(40):
            status, _, _ = signed_request(emu, "GET", "/2015-03-31/functions/q",
                                          query="Qualifier=1" if i % 2 else "")
            assert status == 200
        # GetFunctionConfiguration is not GetFunction: it shares the 15/s with the rest
        statuses = [signed_request(emu, "GET", "/2015-03-31/functions/q/configuration")[0]
                    for _ in range(25)]
        assert 10 <= statuses.count(200) <= 17 and statuses.count(429) >= 8, statuses
        status, headers, body = signed_request(emu, "GET", "/2015-03-31/functions/", query="FunctionVersion=ALL")
        assert status == 429 and int(headers["Retry-After"]) >= 1, (status, headers)
        assert headers["X-Amzn-ErrorType"] == "TooManyRequestsException" and body["Reason"], (headers, body)
        st = emu.stats()
        assert st["faults_by_operation"].get("GetFunction", {}).get("quota", 0) == 0, st
        assert st["faults_by_operation"]["GetFunctionConfiguration"]["quota"] == statuses.count(429)
        with pytest.raises(ClientError) as e:
            for _ in range(30):
                lam.list_aliases(FunctionName="q")
        assert error_code(e) == "TooManyRequestsException"


@pytest.mark.serial  # serial: a 15/s token bucket against the wall clock
def test_quota_switch_at_run_time():
    with Emulator(update_delay=0) as emu:
        lam = emu.client()
        create_fn(lam, "s")
        for _ in range(40):  # off: no limit
            lam.list_aliases(FunctionName="s")
        emu.configure(quota=True)
        assert emu.config()["quota"] is True
        with pytest.raises(ClientError) as e:
            for _ in range(40):
                lam.list_aliases(FunctionName="s")
        assert error_code(e) == "TooManyRequestsException"
        emu.configure(quota=False)
        for _ in range(40):
            lam.list_aliases(FunctionName="s")


def test_latency_per_call():
    with Emulator(update_delay=0, latency_ms=20) as emu:
        lam = emu.client()
        create_fn(lam, "l")
        t0 = time.monotonic()
        for _ in range(10):
            lam.get_function(FunctionName="l")
        assert time.monotonic() - t0 >= 10 * 0.020  # a lower bound only: never flaky


@pytest.fixture(scope="module")
def fleet():
    """20 functions with 2 published versions each: 60 entries with $LATEST."""
    with Emulator(update_delay=0) as emu:
        lam = emu.client()
        for i in range(20):
            name = "f%02d" % i
            create_fn(lam, name, code="%d one" % i)
            lam.publish_version(FunctionName=name)
            lam.update_function_code(FunctionName=name, ZipFile=mkzip("%d two" % i))
            emu.settle()
            lam.publish_version(FunctionName=name)
        yield emu


def test_list_functions_all_versions_pages_of_50(fleet):
    lam = fleet.client()
    first = lam.list_functions(FunctionVersion="ALL", MaxItems=500)
    assert len(first["Functions"]) == 50 and first.get("NextMarker"), len(first["Functions"])
    rest = lam.list_functions(FunctionVersion="ALL", Marker=first["NextMarker"])
    assert len(rest["Functions"]) == 10 and "NextMarker" not in rest
    entries = [(f["FunctionName"], f["Version"]) for f in first["Functions"] + rest["Functions"]]
    # every function: $LATEST first, then its versions ascending; functions by name
    assert entries == [("f%02d" % i, v) for i in range(20) for v in ("$LATEST", "1", "2")]
    # a version's ARN is qualified
    assert first["Functions"][1]["FunctionArn"].endswith(":function:f00:1")
    # MaxItems below 50 is honoured, and the markers chain
    pages = list(lam.get_paginator("list_functions").paginate(FunctionVersion="ALL",
                                                                PaginationConfig={"PageSize": 7}))
    assert [len(p["Functions"]) for p in pages] == [7] * 8 + [4]
    assert [(f["FunctionName"], f["Version"]) for p in pages for f in p["Functions"]] == entries
    # without FunctionVersion=ALL: one entry per function
    plain = lam.list_functions()
    assert [f["FunctionName"] for f in plain["Functions"]] == ["f%02d" % i for i in range(20)]
    with pytest.raises(ClientError) as e:
        lam.list_functions(FunctionVersion="SOME")
    assert error_code(e) in ("ValidationException", "InvalidParameterValueException")
