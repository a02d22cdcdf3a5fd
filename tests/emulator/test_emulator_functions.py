"""Functions, addressing, asynchronous updates, code sources, RevisionIds, versions."""

import base64
import hashlib
import time

import pytest
from botocore.exceptions import ClientError

from emutestlib import (ROLE, b64sha, create_fn, error_code, error_message,
                        http_status, mkzip)

ACCOUNT = "123456789012"


def arn(name, qualifier=None):
    a = "arn:aws:lambda:us-east-1:%s:function:%s" % (ACCOUNT, name)
    return a + ":" + qualifier if qualifier else a


def active(emu, lam, name):
    emu.settle()
    return lam.get_function(FunctionName=name)["Configuration"]


# ---- creation and State --------------------------------------------------------------

def test_create_function_is_pending_then_active(emu, lam):
    emu.configure(update_delay=1.5)  # Pending long enough for two calls on a loaded machine
    zip_bytes = mkzip("v1")
    out = create_fn(lam, "f", code="v1", MemorySize=256, Environment={"Variables": {"A": "1"}})
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["State"] == "Pending"
    assert out["StateReasonCode"] == "Creating"
    assert out["FunctionArn"] == arn("f")
    assert out["Version"] == "$LATEST"
    assert out["CodeSha256"] == b64sha(zip_bytes)
    assert out["CodeSize"] == len(zip_bytes)
    assert out["MemorySize"] == 256 and out["Timeout"] == 3
    assert out["Environment"] == {"Variables": {"A": "1"}}
    assert out["PackageType"] == "Zip" and out["Architectures"] == ["x86_64"]
    cfg = lam.get_function_configuration(FunctionName="f")
    assert cfg["State"] == "Pending"
    deadline = time.monotonic() + 10
    while cfg["State"] == "Pending" and time.monotonic() < deadline:
        time.sleep(0.1)
        cfg = lam.get_function_configuration(FunctionName="f")
    assert cfg["State"] == "Active"
    assert cfg["LastUpdateStatus"] == "Successful"


def test_function_active_v2_waiter(emu, lam):
    emu.configure(update_delay=1.2)
    create_fn(lam, "w")
    t0 = time.monotonic()
    lam.get_waiter("function_active_v2").wait(FunctionName="w",
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert time.monotonic() - t0 >= 1.0
    assert lam.get_function(FunctionName="w")["Configuration"]["State"] == "Active"


def test_create_duplicate_is_conflict(emu, lam):
    create_fn(lam, "dup")
    with pytest.raises(ClientError) as e:
        create_fn(lam, "dup")
    assert error_code(e) == "ResourceConflictException" and http_status(e) == 409


def test_create_validates_inputs(emu, lam):
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName="nz", Runtime="python3.9", Role=ROLE,
                            Handler="a.b", Code={"ZipFile": b"not a zip"})
    assert error_code(e) == "InvalidParameterValueException"
    assert "Could not unzip" in error_message(e)
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName="bad role", Runtime="python3.9", Role=ROLE,
                            Handler="a.b", Code={"ZipFile": mkzip()})
    assert error_code(e) == "ValidationException" and http_status(e) == 400
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName="r", Runtime="python3.9", Role="not-a-role",
                            Handler="a.b", Code={"ZipFile": mkzip()})
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName="nh", Role=ROLE, Code={"ZipFile": mkzip()})
    assert error_code(e) == "InvalidParameterValueException"
    assert lam.list_functions()["Functions"] == []


def test_get_function_output_shape(emu, lam):
    create_fn(lam, "g", Tags={"team": "a"})
    out = lam.get_function(FunctionName="g")
    assert out["Configuration"]["FunctionName"] == "g"
    assert out["Code"]["RepositoryType"] == "S3"
    assert out["Code"]["Location"].startswith("https://")
    assert out["Tags"] == {"team": "a"}
    assert out["Configuration"]["RevisionId"]


# ---- addressing ------------------------------------------------------------------------

def test_function_addressed_by_name_partial_and_full_arn(emu, lam):
    create_fn(lam, "addr")
    active(emu, lam, "addr")
    lam.publish_version(FunctionName="addr")
    for ref in ("addr", "%s:function:addr" % ACCOUNT, arn("addr"),
                "us-east-1:%s:function:addr" % ACCOUNT):
        cfg = lam.get_function_configuration(FunctionName=ref)
        assert cfg["FunctionArn"] == arn("addr"), ref
        assert cfg["Version"] == "$LATEST"
    for ref in ("addr:1", arn("addr", "1"), "%s:function:addr:1" % ACCOUNT):
        cfg = lam.get_function_configuration(FunctionName=ref)
        assert cfg["FunctionArn"] == arn("addr", "1"), ref
        assert cfg["Version"] == "1"
    cfg = lam.get_function(FunctionName=arn("addr"), Qualifier="$LATEST")["Configuration"]
    assert cfg["FunctionArn"] == arn("addr", "$LATEST")


def test_qualifier_in_name_must_match_parameter(emu, lam):
    create_fn(lam, "q")
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="q:1", Qualifier="2")
    assert error_code(e) == "InvalidParameterValueException"
    assert "derived qualifier" in error_message(e)


def test_missing_function_and_version_are_404_with_arn(emu, lam):
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="nope")
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 404
    assert error_message(e) == "Function not found: " + arn("nope")
    create_fn(lam, "have")
    with pytest.raises(ClientError) as e:
        lam.get_function_configuration(FunctionName="have", Qualifier="7")
    assert error_message(e) == "Function not found: " + arn("have", "7")


def test_other_region_and_account_arns(emu, lam):
    create_fn(lam, "x")
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="arn:aws:lambda:eu-west-1:%s:function:x" % ACCOUNT)
    assert http_status(e) == 404
    assert error_message(e) == ("Functions from 'eu-west-1' are not reachable in this region "
                                "('us-east-1')")
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="arn:aws:lambda:us-east-1:210987654321:function:x")
    assert error_code(e) == "AccessDeniedException" and http_status(e) == 403


def test_get_function_by_alias_qualifier(emu, lam):
    create_fn(lam, "al")
    active(emu, lam, "al")
    lam.publish_version(FunctionName="al")
    lam.create_alias(FunctionName="al", Name="Prod", FunctionVersion="1")
    cfg = lam.get_function(FunctionName="al", Qualifier="Prod")["Configuration"]
    assert cfg["Version"] == "1" and cfg["FunctionArn"] == arn("al", "Prod")
    cfg = lam.get_function_configuration(FunctionName=arn("al", "Prod"))
    assert cfg["Version"] == "1"


# ---- asynchronous updates ---------------------------------------------------------------

def test_update_in_progress_conflicts_then_succeeds(emu, lam):
    create_fn(lam, "u")
    active(emu, lam, "u")
    new = mkzip("v2")
    out = lam.update_function_code(FunctionName="u", ZipFile=new)
    assert out["LastUpdateStatus"] == "InProgress"
    assert out["LastUpdateStatusReasonCode"] == "Creating"
    assert out["CodeSha256"] == b64sha(new)
    assert lam.get_function(FunctionName="u")["Configuration"]["LastUpdateStatus"] == "InProgress"
    expected = ("The operation cannot be performed at this time. An update is in progress "
                "for resource: " + arn("u"))
    for call in (lambda: lam.update_function_code(FunctionName="u", ZipFile=mkzip("v3")),
                 lambda: lam.update_function_configuration(FunctionName="u", Timeout=9),
                 lambda: lam.publish_version(FunctionName="u")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "ResourceConflictException" and http_status(e) == 409
        assert error_message(e) == expected
    time.sleep(0.4)
    cfg = lam.get_function(FunctionName="u")["Configuration"]
    assert cfg["LastUpdateStatus"] == "Successful"
    assert cfg["CodeSha256"] == b64sha(new)
    out = lam.update_function_configuration(FunctionName="u", Timeout=9)
    assert out["Timeout"] == 9 and out["LastUpdateStatus"] == "InProgress"


def test_function_updated_v2_waiter(emu, lam):
    create_fn(lam, "uw")
    active(emu, lam, "uw")
    emu.configure(update_delay=1.2)
    lam.update_function_configuration(FunctionName="uw", MemorySize=512)
    t0 = time.monotonic()
    lam.get_waiter("function_updated_v2").wait(FunctionName="uw",
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert time.monotonic() - t0 >= 1.0
    cfg = lam.get_function(FunctionName="uw")["Configuration"]
    assert cfg["LastUpdateStatus"] == "Successful" and cfg["MemorySize"] == 512


def test_update_pending_function_conflicts(emu, lam):
    emu.configure(update_delay=5)  # still Pending when the update comes, however loaded the machine
    create_fn(lam, "p")
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="p", ZipFile=mkzip("v2"))
    assert error_code(e) == "ResourceConflictException"
    assert "Pending" in error_message(e)


# ---- code sources --------------------------------------------------------------------------

def test_s3_code_gets_documented_deterministic_sha(emu, lam):
    out = lam.create_function(FunctionName="s3f", Runtime="python3.9", Role=ROLE,
                              Handler="a.b", Code={"S3Bucket": "bkt", "S3Key": "k/f.zip",
                                                   "S3ObjectVersion": "v7"})
    expect = base64.b64encode(hashlib.sha256(b"s3://bkt/k/f.zip?versionId=v7").digest()).decode()
    assert out["CodeSha256"] == expect
    active(emu, lam, "s3f")
    out = lam.update_function_code(FunctionName="s3f", S3Bucket="bkt", S3Key="k/g.zip")
    assert out["CodeSha256"] == b64sha(b"s3://bkt/k/g.zip")


def test_registered_s3_object_supplies_real_bytes(emu, lam):
    data = mkzip("from s3")
    reg = emu.put_s3_object("artifacts", "fn/2.zip", data, version_id="3HL4k")
    assert reg["CodeSha256"] == b64sha(data) and reg["VersionId"] == "3HL4k"
    out = lam.create_function(FunctionName="s3r", Runtime="python3.9", Role=ROLE,
                              Handler="a.b", Code={"S3Bucket": "artifacts", "S3Key": "fn/2.zip",
                                                   "S3ObjectVersion": "3HL4k"})
    assert out["CodeSha256"] == b64sha(data) and out["CodeSize"] == len(data)
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName="s3m", Runtime="python3.9", Role=ROLE, Handler="a.b",
                            Code={"S3Bucket": "artifacts", "S3Key": "missing.zip"})
    assert error_code(e) == "InvalidParameterValueException" and "NoSuchKey" in error_message(e)


def test_image_code_sha_is_the_digest(emu, lam):
    digest = "a" * 64
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + digest
    out = lam.create_function(FunctionName="img", Role=ROLE, PackageType="Image",
                              Code={"ImageUri": uri})
    assert out["CodeSha256"] == digest and out["PackageType"] == "Image"
    assert "Runtime" not in out
    code = lam.get_function(FunctionName="img")["Code"]
    assert code["RepositoryType"] == "ECR" and code["ResolvedImageUri"] == uri
    tag_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v2"
    active(emu, lam, "img")
    out = lam.update_function_code(FunctionName="img", ImageUri=tag_uri)
    assert out["CodeSha256"] == hashlib.sha256(tag_uri.encode()).hexdigest()
    with pytest.raises(ClientError) as e:
        emu.settle()
        lam.update_function_code(FunctionName="img", ZipFile=mkzip())
    assert error_code(e) == "InvalidParameterValueException"


# ---- RevisionId ------------------------------------------------------------------------------

def test_every_change_gets_a_new_revision_id(emu, lam):
    seen = []
    seen.append(create_fn(lam, "rev")["RevisionId"])
    seen.append(active(emu, lam, "rev")["RevisionId"])            # Pending -> Active
    seen.append(lam.update_function_code(FunctionName="rev", ZipFile=mkzip("2"))["RevisionId"])
    seen.append(active(emu, lam, "rev")["RevisionId"])            # update completed
    seen.append(lam.update_function_configuration(FunctionName="rev", Timeout=5)["RevisionId"])
    seen.append(active(emu, lam, "rev")["RevisionId"])
    v = lam.publish_version(FunctionName="rev")
    seen.append(v["RevisionId"])
    seen.append(lam.get_function(FunctionName="rev")["Configuration"]["RevisionId"])
    a = lam.create_alias(FunctionName="rev", Name="A", FunctionVersion="1")
    seen.append(a["RevisionId"])
    seen.append(lam.update_alias(FunctionName="rev", Name="A", Description="x")["RevisionId"])
    assert all(seen) and len(set(seen)) == len(seen), seen
    # reads do not change it
    r1 = lam.get_function(FunctionName="rev")["Configuration"]["RevisionId"]
    assert lam.get_function(FunctionName="rev")["Configuration"]["RevisionId"] == r1


def test_stale_revision_id_is_412(emu, lam):
    create_fn(lam, "st")
    old = active(emu, lam, "st")["RevisionId"]
    lam.update_function_configuration(FunctionName="st", Timeout=4, RevisionId=old)
    active(emu, lam, "st")
    for call in (lambda: lam.update_function_code(FunctionName="st", ZipFile=mkzip("x"),
                                                  RevisionId=old),
                 lambda: lam.update_function_configuration(FunctionName="st", Timeout=5,
                                                           RevisionId=old),
                 lambda: lam.publish_version(FunctionName="st", RevisionId=old)):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "PreconditionFailedException" and http_status(e) == 412
    cur = lam.get_function(FunctionName="st")["Configuration"]["RevisionId"]
    assert lam.publish_version(FunctionName="st", RevisionId=cur)["Version"] == "1"
    alias = lam.create_alias(FunctionName="st", Name="A", FunctionVersion="1")
    lam.update_alias(FunctionName="st", Name="A", Description="d", RevisionId=alias["RevisionId"])
    with pytest.raises(ClientError) as e:
        lam.update_alias(FunctionName="st", Name="A", Description="e",
                         RevisionId=alias["RevisionId"])
    assert error_code(e) == "PreconditionFailedException"
    assert lam.get_alias(FunctionName="st", Name="A")["Description"] == "d"


# ---- PublishVersion ----------------------------------------------------------------------------

def test_publish_returns_latest_version_when_nothing_changed(emu, lam):
    create_fn(lam, "pv")
    active(emu, lam, "pv")
    v1 = lam.publish_version(FunctionName="pv", Description="first")
    assert v1["Version"] == "1" and v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert v1["FunctionArn"] == arn("pv", "1") and v1["Description"] == "first"
    again = lam.publish_version(FunctionName="pv", Description="other")
    assert again["Version"] == "1" and again["Description"] == "first"
    # a change to versioned configuration makes a new version
    lam.update_function_configuration(FunctionName="pv", MemorySize=256)
    active(emu, lam, "pv")
    assert lam.publish_version(FunctionName="pv")["Version"] == "2"
    # changing back to v1's configuration is compared, not flagged: still "changed since v2"
    lam.update_function_configuration(FunctionName="pv", MemorySize=128)
    active(emu, lam, "pv")
    v3 = lam.publish_version(FunctionName="pv")
    assert v3["Version"] == "3" and v3["MemorySize"] == 128
    # an update that changes nothing versioned does not make a new version
    lam.update_function_configuration(FunctionName="pv", MemorySize=128)
    active(emu, lam, "pv")
    assert lam.publish_version(FunctionName="pv")["Version"] == "3"
    # code is compared too
    lam.update_function_code(FunctionName="pv", ZipFile=mkzip("v1"))   # same bytes as before
    active(emu, lam, "pv")
    assert lam.publish_version(FunctionName="pv")["Version"] == "3"
    lam.update_function_code(FunctionName="pv", ZipFile=mkzip("v2"))
    active(emu, lam, "pv")
    assert lam.publish_version(FunctionName="pv")["Version"] == "4"
    versions = lam.list_versions_by_function(FunctionName="pv")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2", "3", "4"]
    assert [v["MemorySize"] for v in versions[1:]] == [128, 256, 128, 128]


def test_publish_code_sha_mismatch_is_400(emu, lam):
    zip1 = mkzip("v1")
    create_fn(lam, "sha", code="v1")
    active(emu, lam, "sha")
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName="sha", CodeSha256="abc=")
    assert error_code(e) == "InvalidParameterValueException" and http_status(e) == 400
    assert error_message(e) == (
        "CodeSHA256 (abc=) is different from current CodeSHA256 in $LATEST (%s). Please try "
        "again with the CodeSHA256 in $LATEST." % b64sha(zip1))
    assert lam.list_versions_by_function(FunctionName="sha")["Versions"][-1]["Version"] == "$LATEST"
    assert lam.publish_version(FunctionName="sha", CodeSha256=b64sha(zip1))["Version"] == "1"


def test_publish_description_limit(emu, lam):
    create_fn(lam, "desc")
    active(emu, lam, "desc")
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName="desc", Description="x" * 257)
    assert http_status(e) == 400
    assert lam.publish_version(FunctionName="desc", Description="x" * 256)["Description"] == "x" * 256


def test_version_numbers_are_never_reused(emu, lam):
    create_fn(lam, "nr", code="a")
    active(emu, lam, "nr")
    assert lam.publish_version(FunctionName="nr")["Version"] == "1"
    lam.update_function_code(FunctionName="nr", ZipFile=mkzip("b"))
    active(emu, lam, "nr")
    assert lam.publish_version(FunctionName="nr")["Version"] == "2"
    lam.delete_function(FunctionName="nr", Qualifier="2")
    lam.update_function_code(FunctionName="nr", ZipFile=mkzip("c"))
    active(emu, lam, "nr")
    assert lam.publish_version(FunctionName="nr")["Version"] == "3"
    lam.delete_function(FunctionName="nr", Qualifier="3")
    lam.delete_function(FunctionName="nr", Qualifier="1")
    assert lam.publish_version(FunctionName="nr")["Version"] == "4"
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="nr")["Versions"]] \
        == ["$LATEST", "4"]


def test_published_version_pending_then_active_and_waiter(emu, lam):
    create_fn(lam, "pa")
    active(emu, lam, "pa")
    emu.configure(update_delay=1.2)
    v = lam.publish_version(FunctionName="pa")
    assert v["State"] == "Pending"
    cfg = lam.get_function_configuration(FunctionName="pa", Qualifier=v["Version"])
    assert cfg["State"] == "Pending"
    lam.get_waiter("published_version_active").wait(
        FunctionName="pa", Qualifier=v["Version"], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    cfg = lam.get_function_configuration(FunctionName="pa", Qualifier=v["Version"])
    assert cfg["State"] == "Active" and cfg["Version"] == "1"


def test_publish_bumps_latest_revision_so_a_retry_with_old_revision_fails(emu, lam):
    create_fn(lam, "lr")
    rev = active(emu, lam, "lr")["RevisionId"]
    assert lam.publish_version(FunctionName="lr", RevisionId=rev)["Version"] == "1"
    assert lam.get_function(FunctionName="lr")["Configuration"]["RevisionId"] != rev
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName="lr", RevisionId=rev)
    assert error_code(e) == "PreconditionFailedException"


def test_create_with_publish_and_versions_snapshot_config(emu, lam):
    out = create_fn(lam, "cp", Publish=True, Description="d0")
    assert out["Version"] == "1" and out["FunctionArn"] == arn("cp", "1")
    active(emu, lam, "cp")
    lam.update_function_configuration(FunctionName="cp", Environment={"Variables": {"K": "v"}})
    active(emu, lam, "cp")
    v1 = lam.get_function_configuration(FunctionName="cp", Qualifier="1")
    assert "Environment" not in v1 and v1["Description"] == "d0"


# ---- DeleteFunction -----------------------------------------------------------------------------

def test_delete_version_rules(emu, lam):
    create_fn(lam, "dv", code="1")
    for i in (2, 3, 4):
        active(emu, lam, "dv")
        lam.publish_version(FunctionName="dv")
        lam.update_function_code(FunctionName="dv", ZipFile=mkzip(str(i)))
    active(emu, lam, "dv")
    lam.create_alias(FunctionName="dv", Name="Prod", FunctionVersion="1")
    lam.create_alias(FunctionName="dv", Name="Canary", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="dv", Qualifier="1")
    assert error_code(e) == "ResourceConflictException" and http_status(e) == 409
    assert error_message(e) == ("Unable to delete version because the following aliases "
                                "reference it: [Canary, Prod]")
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="dv", Qualifier="2")     # weighted reference
    assert error_code(e) == "ResourceConflictException"
    assert "[Canary]" in error_message(e)
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="dv", Qualifier="$LATEST")
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="dv", Qualifier="Prod")
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="dv", Qualifier="9")
    assert error_code(e) == "ResourceNotFoundException"
    out = lam.delete_function(FunctionName="dv", Qualifier="3")
    assert 200 <= out["ResponseMetadata"]["HTTPStatusCode"] < 300
    lam.update_alias(FunctionName="dv", Name="Canary", RoutingConfig={"AdditionalVersionWeights": {}})
    lam.delete_function(FunctionName=arn("dv", "2"))                # qualifier in the ARN
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName="dv")["Versions"]]
    assert versions == ["$LATEST", "1"]


def test_delete_function_removes_everything(emu, lam):
    create_fn(lam, "gone")
    active(emu, lam, "gone")
    lam.publish_version(FunctionName="gone")
    lam.create_alias(FunctionName="gone", Name="A", FunctionVersion="1")
    out = lam.delete_function(FunctionName=arn("gone"))
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (lambda: lam.get_function(FunctionName="gone"),
                 lambda: lam.get_alias(FunctionName="gone", Name="A"),
                 lambda: lam.delete_function(FunctionName="gone")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "ResourceNotFoundException"
    create_fn(lam, "gone")                      # the name can be reused, versions restart
    active(emu, lam, "gone")
    assert lam.publish_version(FunctionName="gone")["Version"] == "1"


# ---- ListFunctions ------------------------------------------------------------------------------

def test_list_functions_and_all_versions(emu, lam):
    for n in ("c", "a", "b"):
        create_fn(lam, n)
    emu.settle()
    lam.publish_version(FunctionName="a")
    fns = lam.list_functions()["Functions"]
    assert [f["FunctionName"] for f in fns] == ["a", "b", "c"]
    assert [f["FunctionArn"] for f in fns] == [arn("a"), arn("b"), arn("c")]
    assert all("State" not in f and "LastUpdateStatus" not in f for f in fns)
    allv = lam.list_functions(FunctionVersion="ALL")["Functions"]
    assert [(f["FunctionName"], f["Version"]) for f in allv] == [
        ("a", "$LATEST"), ("a", "1"), ("b", "$LATEST"), ("c", "$LATEST")]
    assert allv[1]["FunctionArn"] == arn("a", "1")
    pages = list(lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["Functions"]) for p in pages] == [2, 1]
    assert [f["FunctionName"] for p in pages for f in p["Functions"]] == ["a", "b", "c"]


def test_code_storage_limit(emu, lam):
    z = mkzip("big" * 100)
    emu.configure(code_storage_limit=len(z) * 2 + 10)
    create_fn(lam, "cs", code="big" * 100)
    active(emu, lam, "cs")
    lam.publish_version(FunctionName="cs")          # $LATEST + v1 = 2 packages
    lam.update_function_configuration(FunctionName="cs", Timeout=10)
    active(emu, lam, "cs")
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName="cs")
    assert error_code(e) == "CodeStorageExceededException" and http_status(e) == 400
    lam.delete_function(FunctionName="cs", Qualifier="1")
    assert lam.publish_version(FunctionName="cs")["Version"] == "2"
