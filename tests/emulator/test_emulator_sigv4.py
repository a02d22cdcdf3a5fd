"""SigV4 verification: boto3 and the AWS CLI, ARNs in paths, wrong keys, tampering."""

import datetime
import json
import urllib.parse

import pytest
from botocore.auth import SigV4Auth
from botocore.exceptions import ClientError

from emulator import Emulator
from emutestlib import (cli_env, create_fn, error_code, http_status, mkzip, run_cli,
                        signed_request)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:%s"


def quoted(ref):
    return urllib.parse.quote(ref, safe="")


def test_arn_addressed_requests_verify_with_boto3(emu, lam):
    create_fn(lam, "s")
    emu.settle()
    arn = ARN % "s"
    lam.get_function(FunctionName=arn)
    lam.get_function_configuration(FunctionName=arn + ":$LATEST")
    lam.publish_version(FunctionName=arn)
    lam.create_alias(FunctionName=arn, Name="Prod", FunctionVersion="1")
    lam.update_alias(FunctionName=arn, Name="Prod", Description="x")
    lam.list_versions_by_function(FunctionName=arn)
    lam.get_function(FunctionName=arn + ":Prod")
    st = emu.stats()
    assert st["signature_failures"] == 0 and st["auth_failures"] == {}
    assert st["requests_total"] == 8


def test_wrong_secret_is_refused_and_nothing_changes(emu):
    bad = emu.client(secret_key="not-the-secret")
    with pytest.raises(ClientError) as e:
        create_fn(bad, "nope")
    assert error_code(e) == "InvalidSignatureException" and http_status(e) == 403
    with pytest.raises(ClientError) as e:
        bad.list_functions()
    assert error_code(e) == "InvalidSignatureException"
    assert emu.state()["functions"] == []
    st = emu.stats()
    assert st["signature_failures"] == 2
    assert st["auth_failures"] == {"InvalidSignatureException": 2}
    assert st["applied"] == {}


def test_unknown_access_key_is_unrecognized(emu):
    c = emu.client(access_key="AKIDUNKNOWN")
    with pytest.raises(ClientError) as e:
        c.list_functions()
    assert error_code(e) == "UnrecognizedClientException" and http_status(e) == 403


def test_session_token_of_any_value_is_accepted(emu):
    for token in ("FQoGZXIvYXdzE//+token==", "x"):
        c = emu.client(session_token=token)
        assert c.list_functions()["Functions"] == []
    assert emu.stats()["signature_failures"] == 0


def test_missing_authorization_and_broken_headers(emu):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.request("GET", "/2015-03-31/functions/")
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 403 and body["__type"] == "MissingAuthenticationTokenException"
    conn.close()
    # tampered body after signing
    status, _, body = signed_request(
        emu, "PUT", "/2015-03-31/functions/x/configuration", body=b'{"Timeout": 3}',
        tamper=lambda h, b: b'{"Timeout": 9}')
    assert status == 403 and body["__type"] == "InvalidSignatureException"
    # wrong service in the credential scope
    status, _, body = signed_request(emu, "GET", "/2015-03-31/functions/", service="s3")
    assert status == 403 and body["__type"] == "InvalidSignatureException"
    # the timestamp changed after signing
    def shift_date(h, b):
        ts = datetime.datetime.strptime(h["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        h["X-Amz-Date"] = (ts + datetime.timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
        return b
    status, _, body = signed_request(emu, "GET", "/2015-03-31/functions/", tamper=shift_date)
    assert status == 403 and body["__type"] == "InvalidSignatureException"
    assert emu.stats()["signature_failures"] >= 2


def test_expired_timestamp_is_refused(emu):
    old = (datetime.datetime.utcnow() - datetime.timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")

    class OldSigner(SigV4Auth):
        def add_auth(self, request):
            request.context["timestamp"] = old
            self._modify_request_before_signing(request)
            sig = self.signature(self.string_to_sign(request, self.canonical_request(request)),
                                 request)
            self._inject_signature_to_request(request, sig)

    status, _, body = signed_request(emu, "GET", "/2015-03-31/functions/", signer_cls=OldSigner)
    assert status == 403 and body["__type"] == "InvalidSignatureException"
    assert "expired" in body["message"]
    emu.configure(max_clock_skew=0)          # 0 disables the check
    status, _, body = signed_request(emu, "GET", "/2015-03-31/functions/", signer_cls=OldSigner)
    assert status == 200
    emu.configure(max_clock_skew=300)


def test_single_encoded_canonical_path_is_refused(emu, lam):
    """Lambda signs the path double-encoded (%3A -> %253A); single encoding must fail."""
    create_fn(lam, "enc")
    path = "/2015-03-31/functions/" + quoted(ARN % "enc")

    class SingleEncoding(SigV4Auth):
        def _normalize_url_path(self, p):
            return p                              # the bug: no second encoding

    status, _, body = signed_request(emu, "GET", path)
    assert status == 200 and body["Configuration"]["FunctionName"] == "enc"
    status, _, body = signed_request(emu, "GET", path, signer_cls=SingleEncoding)
    assert status == 403 and body["__type"] == "InvalidSignatureException"
    # for a plain name both encodings agree, so that one passes
    status, _, _ = signed_request(emu, "GET", "/2015-03-31/functions/enc",
                                  signer_cls=SingleEncoding)
    assert status == 200


def test_region_comes_from_the_credential_scope(emu):
    west = emu.client(region="us-west-2")
    out = create_fn(west, "regional")
    assert out["FunctionArn"] == "arn:aws:lambda:us-west-2:123456789012:function:regional"
    east = emu.client()
    assert east.list_functions()["Functions"] == []
    with pytest.raises(ClientError) as e:
        east.get_function(FunctionName="regional")
    assert error_code(e) == "ResourceNotFoundException"
    assert [f["FunctionName"] for f in west.list_functions()["Functions"]] == ["regional"]


def test_multiple_credentials_and_accounts():
    creds = ["AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
             "AKIDSECOND:secondsecret:210987654321"]
    with Emulator(update_delay=0, credentials=creds) as emu:
        a = emu.client()
        b = emu.client(access_key="AKIDSECOND", secret_key="secondsecret")
        assert create_fn(b, "mine")["FunctionArn"] == \
            "arn:aws:lambda:us-east-1:210987654321:function:mine"
        with pytest.raises(ClientError) as e:
            a.get_function(FunctionName="arn:aws:lambda:us-east-1:210987654321:function:mine")
        assert error_code(e) == "AccessDeniedException"
        assert b.get_function(FunctionName="arn:aws:lambda:us-east-1:210987654321:function:mine")
        with pytest.raises(ClientError) as e:
            emu.client(access_key="AKIDSECOND", secret_key="wrong").list_functions()
        assert error_code(e) == "InvalidSignatureException"


def test_no_verify_signatures_accepts_anything():
    with Emulator(update_delay=0, verify_signatures=False) as emu:
        c = emu.client(secret_key="whatever", access_key="AKIDANY")
        assert create_fn(c, "free")["FunctionName"] == "free"
        status, _, body = signed_request(emu, "GET", "/2015-03-31/functions/free",
                                         secret_key="x", region="eu-west-1")
        assert status == 404          # signed for eu-west-1: other region, no such function
        assert emu.stats()["signature_failures"] == 0


def test_aws_cli_create_publish_alias_by_arn(emu, tmp_path):
    zip_path = tmp_path / "f.zip"
    zip_path.write_bytes(mkzip("cli"))
    rc, out, err = run_cli(emu, tmp_path, "create-function", "--function-name", "clifn",
                           "--runtime", "python3.9", "--handler", "app.handler",
                           "--role", "arn:aws:iam::123456789012:role/r",
                           "--zip-file", "fileb://%s" % zip_path)
    assert rc == 0, err
    assert out["State"] == "Pending"
    emu.settle()
    arn = ARN % "clifn"
    rc, out, err = run_cli(emu, tmp_path, "publish-version", "--function-name", arn,
                           "--description", "v1 @abc")
    assert rc == 0, err
    assert out["Version"] == "1"
    rc, out, err = run_cli(emu, tmp_path, "create-alias", "--function-name", arn, "--name",
                           "Prod", "--function-version", "1", "--routing-config",
                           "AdditionalVersionWeights={}")
    assert rc == 0, err
    assert out["AliasArn"] == arn + ":Prod"
    rc, out, err = run_cli(emu, tmp_path, "get-function", "--function-name", arn + ":Prod")
    assert rc == 0, err
    assert out["Configuration"]["Version"] == "1"
    rc, out, err = run_cli(emu, tmp_path, "delete-function", "--function-name", arn,
                           "--qualifier", "1")
    assert rc != 0 and "ResourceConflictException" in err
    assert emu.stats()["signature_failures"] == 0


def test_aws_cli_wrong_secret_is_refused(emu, tmp_path):
    env = cli_env(emu, tmp_path, AWS_SECRET_ACCESS_KEY="wrong")
    rc, out, err = run_cli(emu, tmp_path, "list-functions", env=env)
    assert rc != 0
    assert "InvalidSignatureException" in err
    assert emu.stats()["signature_failures"] == 1
