"""Aliases: name rules, conflicts, missing versions, routing configuration, listing."""

import pytest
from botocore.exceptions import ClientError

from emutestlib import OTHER_ROLE, create_fn, error_code, error_message, http_status, mkzip

FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:%s"


def with_versions(emu, lam, name, n):
    """A function with published versions 1..n (each with different code)."""
    create_fn(lam, name, code="0")
    for i in range(1, n + 1):
        emu.settle()
        if i > 1:
            lam.update_function_code(FunctionName=name, ZipFile=mkzip(str(i)))
            emu.settle()
        assert lam.publish_version(FunctionName=name)["Version"] == str(i)
    emu.settle()


def test_alias_lifecycle(emu, lam):
    with_versions(emu, lam, "f", 2)
    a = lam.create_alias(FunctionName="f", Name="Prod", FunctionVersion="1", Description="live")
    assert a["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert a["AliasArn"] == FN_ARN % "f" + ":Prod"
    assert (a["Name"], a["FunctionVersion"], a["Description"]) == ("Prod", "1", "live")
    assert "RoutingConfig" not in a
    got = lam.get_alias(FunctionName="f", Name="Prod")
    assert got["RevisionId"] == a["RevisionId"] and got["FunctionVersion"] == "1"
    up = lam.update_alias(FunctionName=FN_ARN % "f", Name="Prod", FunctionVersion="2")
    assert up["FunctionVersion"] == "2" and up["Description"] == "live"
    assert up["RevisionId"] != a["RevisionId"]
    out = lam.delete_alias(FunctionName="f", Name="Prod")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName="f", Name="Prod")
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 404
    assert error_message(e) == "Cannot find alias arn: " + FN_ARN % "f" + ":Prod"
    with pytest.raises(ClientError) as e:
        lam.delete_alias(FunctionName="f", Name="Prod")
    assert error_code(e) == "ResourceNotFoundException"


@pytest.mark.parametrize("name", ["Prod", "a-b_c", "1a", "v1", "x" * 128, "A0-_"])
def test_alias_valid_names(emu, lam, name):
    create_fn(lam, "n")
    assert lam.create_alias(FunctionName="n", Name=name, FunctionVersion="$LATEST")["Name"] == name


@pytest.mark.parametrize("name", ["123", "0", "x" * 129, "bad.name", "bad name", "a:b", "é"])
def test_alias_invalid_names(emu, lam, name):
    create_fn(lam, "n")
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="n", Name=name, FunctionVersion="$LATEST")
    assert http_status(e) == 400
    assert error_code(e) == "ValidationException"
    assert lam.list_aliases(FunctionName="n")["Aliases"] == []


def test_alias_duplicate_is_409(emu, lam):
    create_fn(lam, "d")
    lam.create_alias(FunctionName="d", Name="A", FunctionVersion="$LATEST")
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="d", Name="A", FunctionVersion="$LATEST")
    assert error_code(e) == "ResourceConflictException" and http_status(e) == 409
    assert error_message(e) == "Alias already exists: " + FN_ARN % "d" + ":A"


def test_alias_to_missing_version_is_404(emu, lam):
    with_versions(emu, lam, "m", 1)
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="m", Name="A", FunctionVersion="5")
    assert error_code(e) == "ResourceNotFoundException"
    assert error_message(e) == "Function not found: " + FN_ARN % "m" + ":5"
    lam.create_alias(FunctionName="m", Name="A", FunctionVersion="1")
    with pytest.raises(ClientError) as e:
        lam.update_alias(FunctionName="m", Name="A", FunctionVersion="2")
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="m", Name="B", FunctionVersion="one")
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="nofn", Name="B", FunctionVersion="1")
    assert error_code(e) == "ResourceNotFoundException"


def test_routing_config_is_echoed_and_clearable(emu, lam):
    with_versions(emu, lam, "r", 3)
    rc = {"AdditionalVersionWeights": {"2": 0.25}}
    a = lam.create_alias(FunctionName="r", Name="Canary", FunctionVersion="1", RoutingConfig=rc)
    assert a["RoutingConfig"] == rc
    assert lam.get_alias(FunctionName="r", Name="Canary")["RoutingConfig"] == rc
    # omitted RoutingConfig keeps the weights; description change only
    up = lam.update_alias(FunctionName="r", Name="Canary", Description="d")
    assert up["RoutingConfig"] == rc
    up = lam.update_alias(FunctionName="r", Name="Canary",
                          RoutingConfig={"AdditionalVersionWeights": {"3": 0.5}})
    assert up["RoutingConfig"] == {"AdditionalVersionWeights": {"3": 0.5}}
    up = lam.update_alias(FunctionName="r", Name="Canary", FunctionVersion="2",
                          RoutingConfig={"AdditionalVersionWeights": {}})
    assert "RoutingConfig" not in up and up["FunctionVersion"] == "2"
    assert "RoutingConfig" not in lam.get_alias(FunctionName="r", Name="Canary")


@pytest.mark.parametrize("weight", [0.0, 1.0, 0.5, 1])
def test_routing_weight_bounds_inclusive(emu, lam, weight):
    with_versions(emu, lam, "wb", 2)
    a = lam.create_alias(FunctionName="wb", Name="A", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {"2": weight}})
    assert a["RoutingConfig"]["AdditionalVersionWeights"]["2"] == pytest.approx(weight)


def test_routing_rules(emu, lam):
    with_versions(emu, lam, "rr", 3)

    def create(primary, weights, name="A"):
        with pytest.raises(ClientError) as e:
            lam.create_alias(FunctionName="rr", Name=name, FunctionVersion=primary,
                             RoutingConfig={"AdditionalVersionWeights": weights})
        return e

    e = create("1", {"2": 0.1, "3": 0.1})
    assert error_code(e) == "InvalidParameterValueException"
    assert "cannot be greater than 1" in error_message(e)
    e = create("1", {"2": 1.5})
    assert error_code(e) == "ValidationException" and http_status(e) == 400
    e = create("$LATEST", {"2": 0.1})
    assert error_code(e) == "InvalidParameterValueException"
    assert "$LATEST is not supported" in error_message(e)
    e = create("1", {"$LATEST": 0.1})
    assert error_code(e) == "ValidationException"
    e = create("1", {"1": 0.1})
    assert error_code(e) == "InvalidParameterValueException"
    e = create("1", {"9": 0.1})
    assert error_code(e) == "ResourceNotFoundException"
    assert lam.list_aliases(FunctionName="rr")["Aliases"] == []
    # UpdateAlias applies the same rules to the resulting alias
    lam.create_alias(FunctionName="rr", Name="B", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    with pytest.raises(ClientError) as e:
        lam.update_alias(FunctionName="rr", Name="B", FunctionVersion="2")   # primary == weighted
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.update_alias(FunctionName="rr", Name="B", FunctionVersion="$LATEST")
    assert error_code(e) == "InvalidParameterValueException"
    assert lam.get_alias(FunctionName="rr", Name="B")["FunctionVersion"] == "1"


def test_routing_requires_same_role(emu, lam):
    with_versions(emu, lam, "role", 1)
    lam.update_function_configuration(FunctionName="role", Role=OTHER_ROLE)
    emu.settle()
    assert lam.publish_version(FunctionName="role")["Version"] == "2"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="role", Name="A", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    assert error_code(e) == "InvalidParameterValueException"


def test_list_aliases_filter_and_paging(emu, lam):
    with_versions(emu, lam, "la", 2)
    for name, v in (("e", "1"), ("a", "2"), ("d", "1"), ("b", "1"), ("c", "$LATEST")):
        lam.create_alias(FunctionName="la", Name=name, FunctionVersion=v)
    allnames = [a["Name"] for a in lam.list_aliases(FunctionName="la")["Aliases"]]
    assert allnames == ["a", "b", "c", "d", "e"]
    v1 = [a["Name"] for a in lam.list_aliases(FunctionName="la", FunctionVersion="1")["Aliases"]]
    assert v1 == ["b", "d", "e"]
    first = lam.list_aliases(FunctionName="la", FunctionVersion="1", MaxItems=2)
    assert [a["Name"] for a in first["Aliases"]] == ["b", "d"]
    marker = first["NextMarker"]
    assert all(c in marker for c in "+/=")
    second = lam.list_aliases(FunctionName="la", FunctionVersion="1", MaxItems=2, Marker=marker)
    assert [a["Name"] for a in second["Aliases"]] == ["e"] and "NextMarker" not in second
    pages = list(lam.get_paginator("list_aliases").paginate(
        FunctionName=FN_ARN % "la", PaginationConfig={"PageSize": 2}))
    assert [len(p["Aliases"]) for p in pages] == [2, 2, 1]


def test_weighted_alias_reported_in_list(emu, lam):
    with_versions(emu, lam, "wl", 2)
    lam.create_alias(FunctionName="wl", Name="C", FunctionVersion="2",
                     RoutingConfig={"AdditionalVersionWeights": {"1": 0.9}})
    (a,) = lam.list_aliases(FunctionName="wl")["Aliases"]
    assert a["RoutingConfig"] == {"AdditionalVersionWeights": {"1": 0.9}}
    assert a["FunctionVersion"] == "2"
