"""Code storage: GetAccountSettings, the per-region limit, CodeStorageExceededException,
version numbers never reused, DeleteFunction with Qualifier freeing storage."""

import pytest
from botocore.exceptions import ClientError

from emulator import Emulator, EmulatorError
from emutestlib import (ROLE, b64sha, create_fn, error_code, error_message, http_status, mkzip,
                        run_cli, signed_request)

DEFAULT_LIMIT = 80530636800          # 75 GiB, AWS's default TotalCodeSize limit
ACCOUNT = "123456789012"
STORAGE_MSG = "Code storage limit exceeded."


@pytest.fixture
def st(emu):
    """The module emulator with no update delay and no per-region limits (restored after)."""
    emu.configure(update_delay=0, code_storage_limits={})
    yield emu
    emu.configure(code_storage_limits={}, code_storage_limit=DEFAULT_LIMIT)


def usage(lam):
    return lam.get_account_settings()["AccountUsage"]


def used(lam):
    return usage(lam)["TotalCodeSize"]


def limit_of(lam):
    return lam.get_account_settings()["AccountLimit"]["TotalCodeSize"]


def size(code):
    return len(mkzip(code))


def fn_sha(lam, name, qualifier=None):
    kw = {"Qualifier": qualifier} if qualifier else {}
    return lam.get_function_configuration(FunctionName=name, **kw)["CodeSha256"]


def versions(lam, name):
    return [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]


# ---- GetAccountSettings ------------------------------------------------------------------
def test_account_settings_shape_and_defaults(st, lam):
    out = lam.get_account_settings()
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert out["AccountLimit"] == {
        "TotalCodeSize": DEFAULT_LIMIT, "CodeSizeUnzipped": 262144000,
        "CodeSizeZipped": 52428800, "ConcurrentExecutions": 1000,
        "UnreservedConcurrentExecutions": 1000}
    assert out["AccountUsage"] == {"TotalCodeSize": 0, "FunctionCount": 0}
    # the raw answer, signed like any call, with and without the trailing slash
    for path in ("/2016-08-19/account-settings/", "/2016-08-19/account-settings"):
        status, headers, body = signed_request(st, "GET", path)
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert set(body) == {"AccountLimit", "AccountUsage"}
        assert body["AccountUsage"] == {"TotalCodeSize": 0, "FunctionCount": 0}
    status, _, body = signed_request(st, "POST", "/2016-08-19/account-settings/")
    assert status == 404 and body["__type"] == "UnknownOperationException"
    assert st.stats()["requests"]["GetAccountSettings"] == 3


def test_usage_counts_latest_and_every_version(st, lam):
    a1, a2, b = size("a1"), size("a2-longer-code"), size("b" * 50)
    create_fn(lam, "ua", code="a1")
    assert usage(lam) == {"TotalCodeSize": a1, "FunctionCount": 1}
    lam.publish_version(FunctionName="ua")                        # $LATEST + version 1
    assert used(lam) == 2 * a1
    lam.publish_version(FunctionName="ua")                        # unchanged: no new version
    assert used(lam) == 2 * a1
    lam.update_function_code(FunctionName="ua", ZipFile=mkzip("a2-longer-code"))
    assert used(lam) == a1 + a2                                   # $LATEST replaced
    lam.publish_version(FunctionName="ua")
    assert used(lam) == a1 + 2 * a2
    create_fn(lam, "ub", code="b" * 50, Publish=True)
    assert usage(lam) == {"TotalCodeSize": a1 + 2 * a2 + 2 * b, "FunctionCount": 2}
    # image functions store nothing in Lambda's code storage
    lam.create_function(FunctionName="img", PackageType="Image", Role=ROLE,
                        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/r:1"})
    assert usage(lam) == {"TotalCodeSize": a1 + 2 * a2 + 2 * b, "FunctionCount": 3}
    # another region of the same account is counted apart
    west = st.client(region="us-west-2")
    assert west.get_account_settings()["AccountUsage"] == {"TotalCodeSize": 0, "FunctionCount": 0}
    create_fn(west, "ua", code="a1")
    assert used(west) == a1 and used(lam) == a1 + 2 * a2 + 2 * b
    # deleting a function frees $LATEST and all its versions
    lam.delete_function(FunctionName="ua")
    assert usage(lam) == {"TotalCodeSize": 2 * b, "FunctionCount": 2}
    storage = st.admin("GET", "storage")
    assert storage["default_limit"] == DEFAULT_LIMIT and storage["limits"] == {}
    assert storage["regions"] == [
        {"account": ACCOUNT, "region": "us-east-1", "used": 2 * b, "limit": DEFAULT_LIMIT,
         "functions": 2},
        {"account": ACCOUNT, "region": "us-west-2", "used": a1, "limit": DEFAULT_LIMIT,
         "functions": 1}]


def test_usage_counts_registered_s3_objects(st, lam):
    data = mkzip("from s3" * 20)
    st.put_s3_object("code-bkt", "fn.zip", data)
    lam.create_function(FunctionName="s3fn", Runtime="python3.9", Role=ROLE, Handler="a.b",
                        Code={"S3Bucket": "code-bkt", "S3Key": "fn.zip"}, Publish=True)
    assert used(lam) == 2 * len(data)
    assert fn_sha(lam, "s3fn", "1") == b64sha(data)


def test_account_settings_through_the_aws_cli(st, lam, tmp_path):
    create_fn(lam, "cli", code="cli")
    rc, out, err = run_cli(st, tmp_path, "get-account-settings")
    assert rc == 0, err
    assert out["AccountLimit"]["TotalCodeSize"] == DEFAULT_LIMIT
    assert out["AccountUsage"] == {"TotalCodeSize": size("cli"), "FunctionCount": 1}


def test_account_settings_can_be_throttled_and_faulted(st, lam):
    st.inject("throttle", operation="GetAccountSettings")
    with pytest.raises(ClientError) as e:
        lam.get_account_settings()
    assert error_code(e) == "TooManyRequestsException" and http_status(e) == 429
    assert lam.get_account_settings()["AccountUsage"]["FunctionCount"] == 0
    assert st.stats()["faults_by_operation"] == {"GetAccountSettings": {"throttle": 1}}


# ---- the limit: configuration ------------------------------------------------------------
def test_limit_per_region_and_account_through_admin(st, lam):
    west = st.client(region="us-west-2")
    cfg = st.configure(code_storage_limit=5000, code_storage_limits={
        "us-west-2": 2000, "%s/eu-west-1" % ACCOUNT: 3000, "999999999999/us-east-1": 7})
    assert cfg["code_storage_limit"] == 5000 and cfg["code_storage_limits"]["us-west-2"] == 2000
    assert limit_of(lam) == 5000                # the other account's key does not apply
    assert limit_of(west) == 2000
    assert limit_of(st.client(region="eu-west-1")) == 3000
    # ACCOUNT/REGION wins over REGION
    st.configure(code_storage_limits={"us-west-2": 2000, "%s/us-west-2" % ACCOUNT: 2500})
    assert limit_of(west) == 2500
    assert st.config()["code_storage_limits"] == {"us-west-2": 2000,
                                                  "%s/us-west-2" % ACCOUNT: 2500}
    # the limit is enforced per region: us-west-2 is full, us-east-1 is not
    with pytest.raises(west.exceptions.CodeStorageExceededException):
        create_fn(west, "big", code="x" * 3000)
    create_fn(lam, "big", code="x" * 3000)
    assert used(west) == 0 and used(lam) == size("x" * 3000)
    # POST replaces the whole map
    st.configure(code_storage_limits={})
    assert limit_of(west) == 5000


def test_limit_config_validation(st):
    for bad in ({"code_storage_limit": -1}, {"code_storage_limit": 1.5},
                {"code_storage_limit": True}, {"code_storage_limit": "10"},
                {"code_storage_limits": [1]}, {"code_storage_limits": {"nowhere": 10}},
                {"code_storage_limits": {"12345/us-east-1": 10}},
                {"code_storage_limits": {"us-east-1": -5}},
                {"code_storage_limits": {"us-east-1": None}}):
        with pytest.raises(EmulatorError, match="400"):
            st.configure(**bad)
    assert st.config()["code_storage_limits"] == {}
    assert st.config()["code_storage_limit"] == DEFAULT_LIMIT


def test_limit_zero_means_no_limit(st, lam):
    st.configure(code_storage_limit=0)
    create_fn(lam, "nolimit", code="n" * 100, Publish=True)
    assert limit_of(lam) == 0 and used(lam) == 2 * size("n" * 100)


def test_limit_from_the_command_line():
    args = ["--code-storage-limit", "4000", "--code-storage-limit", "us-west-2=1000",
            "--code-storage-limit", "%s/eu-west-1=2000" % ACCOUNT]
    with Emulator(update_delay=0, extra_args=args) as emu:
        assert emu.config()["code_storage_limit"] == 4000
        assert emu.config()["code_storage_limits"] == {"us-west-2": 1000,
                                                       "%s/eu-west-1" % ACCOUNT: 2000}
        assert limit_of(emu.client()) == 4000
        west = emu.client(region="us-west-2")
        assert limit_of(west) == 1000
        assert limit_of(emu.client(region="eu-west-1")) == 2000
        with pytest.raises(ClientError) as e:
            create_fn(west, "w", code="w" * 1000)
        assert error_code(e) == "CodeStorageExceededException"
    for bad in ("lots", "us-west-2=-1", "moon=5"):
        with pytest.raises(EmulatorError, match="code-storage-limit"):
            Emulator(extra_args=["--code-storage-limit", bad]).start()


# ---- CodeStorageExceededException --------------------------------------------------------
def test_create_function_past_the_limit(st, lam):
    st.configure(code_storage_limit=size("c" * 200) - 1)
    with pytest.raises(lam.exceptions.CodeStorageExceededException) as e:
        create_fn(lam, "cf", code="c" * 200)
    assert http_status(e) == 400 and error_message(e) == STORAGE_MSG
    assert e.value.response["Type"] == "User"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == \
        "CodeStorageExceededException"
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="cf")
    assert error_code(e) == "ResourceNotFoundException"
    # exactly at the limit is allowed
    st.configure(code_storage_limit=size("c" * 200))
    create_fn(lam, "cf", code="c" * 200)
    assert used(lam) == limit_of(lam)
    st_ = st.stats()
    assert st_["errors"]["CodeStorageExceededException"] == 1
    assert st_["applied"]["CreateFunction"] == 1


def test_create_function_with_publish_needs_room_for_both(st, lam):
    z = size("p" * 100)
    st.configure(code_storage_limit=2 * z - 1)      # $LATEST fits, version 1 does not
    with pytest.raises(ClientError) as e:
        create_fn(lam, "cp", code="p" * 100, Publish=True)
    assert error_code(e) == "CodeStorageExceededException"
    assert usage(lam) == {"TotalCodeSize": 0, "FunctionCount": 0}    # nothing was created
    st.configure(code_storage_limit=2 * z)
    assert create_fn(lam, "cp", code="p" * 100, Publish=True)["Version"] == "1"
    assert used(lam) == 2 * z


def test_update_function_code_past_the_limit(st, lam):
    small, big = size("s"), size("B" * 400)
    create_fn(lam, "uc", code="s")
    lam.publish_version(FunctionName="uc")
    st.configure(code_storage_limit=small + big - 1)
    before = fn_sha(lam, "uc")
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="uc", ZipFile=mkzip("B" * 400))
    assert error_code(e) == "CodeStorageExceededException" and error_message(e) == STORAGE_MSG
    assert fn_sha(lam, "uc") == before and used(lam) == 2 * small
    # DryRun stores nothing, so it is not refused
    lam.update_function_code(FunctionName="uc", ZipFile=mkzip("B" * 400), DryRun=True)
    # a package of the same size replaces $LATEST in place
    lam.update_function_code(FunctionName="uc", ZipFile=mkzip("t"))
    assert used(lam) == 2 * small and fn_sha(lam, "uc") == b64sha(mkzip("t"))
    # with room for exactly the growth it succeeds
    st.configure(code_storage_limit=small + big)
    lam.update_function_code(FunctionName="uc", ZipFile=mkzip("B" * 400))
    assert used(lam) == small + big == limit_of(lam)


def test_update_function_code_that_shrinks_is_allowed_when_full(st, lam):
    create_fn(lam, "sh", code="L" * 300, Publish=True)
    st.configure(code_storage_limit=1)             # already past the new, lower limit
    lam.update_function_code(FunctionName="sh", ZipFile=mkzip("tiny"))
    assert used(lam) == size("L" * 300) + size("tiny")


def test_update_function_code_with_publish_is_all_or_nothing(st, lam):
    a, b = size("a"), size("bb" * 100)
    create_fn(lam, "up", code="a", Publish=True)
    st.configure(code_storage_limit=a + 2 * b - 1)   # new $LATEST fits, its version does not
    before = fn_sha(lam, "up")
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="up", ZipFile=mkzip("bb" * 100), Publish=True)
    assert error_code(e) == "CodeStorageExceededException"
    assert fn_sha(lam, "up") == before and versions(lam, "up") == ["$LATEST", "1"]
    assert used(lam) == 2 * a
    st.configure(code_storage_limit=a + 2 * b)
    out = lam.update_function_code(FunctionName="up", ZipFile=mkzip("bb" * 100), Publish=True)
    assert out["Version"] == "2" and used(lam) == a + 2 * b


def test_publish_version_past_the_limit_then_prune(st, lam):
    z = size("v1")
    create_fn(lam, "pv", code="v1")
    lam.publish_version(FunctionName="pv")                         # 1
    lam.update_function_code(FunctionName="pv", ZipFile=mkzip("v2"))
    lam.publish_version(FunctionName="pv")                         # 2
    lam.update_function_code(FunctionName="pv", ZipFile=mkzip("v3"))
    st.configure(code_storage_limit=3 * z)                          # $LATEST + 1 + 2: full
    assert used(lam) == limit_of(lam)
    with pytest.raises(lam.exceptions.CodeStorageExceededException) as e:
        lam.publish_version(FunctionName="pv")
    assert http_status(e) == 400 and error_message(e) == STORAGE_MSG
    assert versions(lam, "pv") == ["$LATEST", "1", "2"]
    # a publish that stores nothing (same code and configuration as version 2) is not refused
    lam.update_function_code(FunctionName="pv", ZipFile=mkzip("v2"))
    assert lam.publish_version(FunctionName="pv")["Version"] == "2"
    lam.update_function_code(FunctionName="pv", ZipFile=mkzip("v3"))
    # deleting version 1 frees its bytes and the publish goes through, as version 3
    lam.delete_function(FunctionName="pv", Qualifier="1")
    assert used(lam) == 2 * z
    assert lam.publish_version(FunctionName="pv")["Version"] == "3"
    assert versions(lam, "pv") == ["$LATEST", "2", "3"]
    assert st.stats()["errors"] == {"CodeStorageExceededException": 1}


# ---- version numbers ---------------------------------------------------------------------
def test_deleting_the_newest_version_does_not_free_its_number(st, lam):
    create_fn(lam, "nr", code="n1")
    for i in range(3):
        lam.update_function_code(FunctionName="nr", ZipFile=mkzip("n%d" % (i + 2)))
        assert lam.publish_version(FunctionName="nr")["Version"] == str(i + 1)
    lam.delete_function(FunctionName="nr", Qualifier="3")
    assert versions(lam, "nr") == ["$LATEST", "1", "2"]
    # $LATEST still has version 3's code: since version 2 differs, this publishes 4
    assert lam.publish_version(FunctionName="nr")["Version"] == "4"
    for v in ("1", "2", "4"):
        lam.delete_function(FunctionName="nr", Qualifier=v)
    assert versions(lam, "nr") == ["$LATEST"]
    lam.update_function_code(FunctionName="nr", ZipFile=mkzip("n9"))
    assert lam.publish_version(FunctionName="nr")["Version"] == "5"
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="nr", Qualifier="3")
    assert error_code(e) == "ResourceNotFoundException"
    fn = [f for f in st.state()["functions"] if f["name"] == "nr"][0]
    assert fn["next_version"] == 6
    # a function deleted and created again starts over at version 1
    lam.delete_function(FunctionName="nr")
    assert create_fn(lam, "nr", code="again", Publish=True)["Version"] == "1"


# ---- DeleteFunction with Qualifier ---------------------------------------------------------
def test_delete_version_refuses_alias_targets_and_frees_storage(st, lam):
    sizes = {}
    create_fn(lam, "dq", code="q1")
    for i in (1, 2, 3):
        code = "q%d" % i * (i * 40)
        sizes[str(i)] = size(code)
        lam.update_function_code(FunctionName="dq", ZipFile=mkzip(code))
        assert lam.publish_version(FunctionName="dq")["Version"] == str(i)
    lam.create_alias(FunctionName="dq", Name="live", FunctionVersion="2")
    lam.create_alias(FunctionName="dq", Name="canary", FunctionVersion="2",
                     RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}})
    lam.create_alias(FunctionName="dq", Name="beta", FunctionVersion="3")
    total = used(lam)
    assert total == sizes["3"] + sizes["1"] + sizes["2"] + sizes["3"]
    with pytest.raises(lam.exceptions.ResourceConflictException) as e:
        lam.delete_function(FunctionName="dq", Qualifier="2")
    assert http_status(e) == 409
    assert error_message(e) == ("Unable to delete version because the following aliases "
                                "reference it: [canary, live]")
    with pytest.raises(ClientError) as e:                       # primary of beta, weight of canary
        lam.delete_function(FunctionName="dq", Qualifier="3")
    assert error_message(e).endswith("reference it: [beta, canary]")
    assert used(lam) == total and versions(lam, "dq") == ["$LATEST", "1", "2", "3"]
    # an unreferenced version goes, alone, and its bytes with it
    assert lam.delete_function(FunctionName="dq", Qualifier="1")["ResponseMetadata"][
        "HTTPStatusCode"] == 204
    assert used(lam) == total - sizes["1"]
    assert versions(lam, "dq") == ["$LATEST", "2", "3"]
    assert lam.get_function(FunctionName="dq")["Configuration"]["Version"] == "$LATEST"
    assert [a["Name"] for a in lam.list_aliases(FunctionName="dq")["Aliases"]] == [
        "beta", "canary", "live"]
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="dq", Qualifier="1")
    assert error_code(e) == "ResourceNotFoundException"
    # once the weight is gone and beta moved, version 3 can be deleted (qualified ARN form too)
    lam.update_alias(FunctionName="dq", Name="canary", RoutingConfig={})
    lam.update_alias(FunctionName="dq", Name="beta", FunctionVersion="2")
    lam.delete_function(FunctionName="dq:3")
    assert used(lam) == sizes["3"] + sizes["2"]
    assert versions(lam, "dq") == ["$LATEST", "2"]
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="dq", Qualifier="$LATEST")
    assert error_code(e) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="dq", Qualifier="live")
    assert error_code(e) == "InvalidParameterValueException"
    assert used(lam) == sizes["3"] + sizes["2"]
