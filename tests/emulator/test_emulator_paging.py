"""Paging: ListVersionsByFunction / ListAliases / ListFunctions, opaque markers."""

import urllib.parse

import pytest
from botocore.exceptions import ClientError

from emulator import Emulator
from emutestlib import create_fn, error_code, mkzip, run_cli, signed_request


@pytest.fixture(scope="module")
def small():
    with Emulator(update_delay=0, page_size=3) as emu:
        yield emu


@pytest.fixture
def pemu(small):
    small.reset()
    return small


def publish_n(emu, lam, name, n):
    create_fn(lam, name, code="0")
    emu.settle()
    for i in range(1, n + 1):
        if i > 1:
            lam.update_function_code(FunctionName=name, ZipFile=mkzip(str(i)))
            emu.settle()
        lam.publish_version(FunctionName=name)
    emu.settle()


def test_versions_order_and_page_size(pemu):
    lam = pemu.client()
    publish_n(pemu, lam, "v", 7)
    first = lam.list_versions_by_function(FunctionName="v")
    assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1", "2"]
    assert first["Versions"][0]["FunctionArn"].endswith(":v:$LATEST")
    assert first["Versions"][1]["FunctionArn"].endswith(":v:1")
    assert all("State" not in v for v in first["Versions"])
    m = first["NextMarker"]
    assert "+" in m and "/" in m and "=" in m
    # MaxItems larger than the page size: still the page size
    big = lam.list_versions_by_function(FunctionName="v", MaxItems=100)
    assert len(big["Versions"]) == 3
    # MaxItems smaller than the page size
    one = lam.list_versions_by_function(FunctionName="v", MaxItems=1, Marker=m)
    assert [v["Version"] for v in one["Versions"]] == ["3"]
    pages = list(lam.get_paginator("list_versions_by_function").paginate(FunctionName="v"))
    assert [[v["Version"] for v in p["Versions"]] for p in pages] == [
        ["$LATEST", "1", "2"], ["3", "4", "5"], ["6", "7"]]
    assert "NextMarker" not in pages[-1]


def test_marker_survives_deletions_between_pages(pemu):
    lam = pemu.client()
    publish_n(pemu, lam, "dl", 6)
    first = lam.list_versions_by_function(FunctionName="dl")
    lam.delete_function(FunctionName="dl", Qualifier="3")
    rest = lam.list_versions_by_function(FunctionName="dl", Marker=first["NextMarker"])
    assert [v["Version"] for v in rest["Versions"]] == ["4", "5", "6"]


def test_invalid_markers_and_max_items(pemu):
    lam = pemu.client()
    publish_n(pemu, lam, "im", 4)
    create_fn(lam, "other")
    for bad in ("garbage", "++//==", "+/+/WyJ4Il0gIA=="):
        with pytest.raises(ClientError) as e:
            lam.list_versions_by_function(FunctionName="im", Marker=bad)
        assert error_code(e) == "InvalidParameterValueException", bad
    # a marker of one function is not valid for another
    m = lam.list_versions_by_function(FunctionName="im")["NextMarker"]
    with pytest.raises(ClientError) as e:
        lam.list_versions_by_function(FunctionName="other", Marker=m)
    assert error_code(e) == "InvalidParameterValueException"
    for bad in ("0", "10001", "x"):
        status, headers, body = signed_request(
            pemu, "GET", "/2015-03-31/functions/im/versions", query="MaxItems=" + bad)
        assert status == 400 and body["__type"] == "ValidationException", bad


def test_unencoded_marker_is_rejected(pemu):
    """A client that puts the marker raw in the query (signed that way) must fail."""
    lam = pemu.client()
    publish_n(pemu, lam, "raw", 4)
    marker = lam.list_versions_by_function(FunctionName="raw")["NextMarker"]
    good = "Marker=" + urllib.parse.quote(marker, safe="")
    status, _, body = signed_request(pemu, "GET", "/2015-03-31/functions/raw/versions",
                                     query=good)
    assert status == 200 and [v["Version"] for v in body["Versions"]] == ["3", "4"]
    status, _, body = signed_request(pemu, "GET", "/2015-03-31/functions/raw/versions",
                                     query="Marker=" + marker)
    assert status in (400, 403), body
    assert body["__type"] in ("InvalidSignatureException", "InvalidParameterValueException")


def test_hard_cap_of_50_per_page():
    with Emulator(update_delay=0, page_size=100) as emu:
        lam = emu.client()
        publish_n(emu, lam, "cap", 55)
        page = lam.list_versions_by_function(FunctionName="cap", MaxItems=1000)
        assert len(page["Versions"]) == 50
        rest = lam.list_versions_by_function(FunctionName="cap", Marker=page["NextMarker"])
        assert [v["Version"] for v in rest["Versions"]] == [str(i) for i in range(50, 56)]
        for i in range(60):
            lam.create_alias(FunctionName="cap", Name="a%02d" % i, FunctionVersion="1")
        assert len(lam.list_aliases(FunctionName="cap")["Aliases"]) == 50


def test_list_functions_paging_with_all_versions(pemu):
    lam = pemu.client()
    for n in ("a", "b"):
        publish_n(pemu, lam, n, 2)
    pages = list(lam.get_paginator("list_functions").paginate(FunctionVersion="ALL"))
    got = [(f["FunctionName"], f["Version"]) for p in pages for f in p["Functions"]]
    assert got == [("a", "$LATEST"), ("a", "1"), ("a", "2"),
                   ("b", "$LATEST"), ("b", "1"), ("b", "2")]
    assert [len(p["Functions"]) for p in pages] == [3, 3]
    with pytest.raises(ClientError) as e:
        lam.list_functions(FunctionVersion="ALL", Marker="bad")
    assert error_code(e) == "InvalidParameterValueException"


def test_aws_cli_pages_through_everything(pemu, tmp_path):
    lam = pemu.client()
    publish_n(pemu, lam, "cli", 5)
    for i in range(5):
        lam.create_alias(FunctionName="cli", Name="al%d" % i, FunctionVersion=str(i + 1))
    arn = "arn:aws:lambda:us-east-1:123456789012:function:cli"
    rc, out, err = run_cli(pemu, tmp_path, "list-versions-by-function", "--function-name", arn)
    assert rc == 0, err
    assert [v["Version"] for v in out["Versions"]] == ["$LATEST", "1", "2", "3", "4", "5"]
    rc, out, err = run_cli(pemu, tmp_path, "list-aliases", "--function-name", arn,
                           "--page-size", "2")
    assert rc == 0, err
    assert [a["Name"] for a in out["Aliases"]] == ["al0", "al1", "al2", "al3", "al4"]
    stats = pemu.stats()
    assert stats["requests"]["ListVersionsByFunction"] == 2      # pages of 3 and 3
    assert stats["requests"]["ListAliases"] == 3                 # pages of 2, 2, 1
    assert stats["signature_failures"] == 0
