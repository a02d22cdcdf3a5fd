"""Helpers shared by the Lambda emulator conformance tests (test_*.py)."""

import base64
import hashlib
import http.client
import io
import json
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other-role"
AWS_CLI = "/usr/bin/aws"


def mkzip(text="print('hi')", name="app.py"):
    """A small, valid zip archive whose content depends on text."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, text)
    return buf.getvalue()


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def create_fn(client, name="fn", code="v1", **kw):
    args = dict(FunctionName=name, Runtime="python3.9", Role=ROLE, Handler="app.handler",
                Code={"ZipFile": mkzip(code)})
    args.update(kw)
    return client.create_function(**args)


def _exc(e):
    """Accepts a pytest ExceptionInfo or a botocore ClientError."""
    return getattr(e, "value", e)


def error_code(e):
    return _exc(e).response["Error"]["Code"]


def error_message(e):
    return _exc(e).response["Error"]["Message"]


def http_status(e):
    return _exc(e).response["ResponseMetadata"]["HTTPStatusCode"]


def signed_request(emu, method, path, body=b"", query="", access_key=None, secret_key=None,
                   region="us-east-1", service="lambda", token=None, headers=None,
                   signer_cls=SigV4Auth, tamper=None, timeout=10):
    """Signs with botocore exactly as a client would, sends with http.client.

    `path` is the raw (already percent-encoded) path, `query` the raw query
    string; both go on the wire as given.  `tamper(headers, body)` may change
    the request after signing.  Returns (status, headers, parsed JSON or None).
    """
    target = path + ("?" + query if query else "")
    req = AWSRequest(method=method, url=emu.endpoint + target, data=body,
                     headers=dict(headers or {}))
    creds = Credentials(access_key or emu.access_key, secret_key or emu.secret_key, token)
    signer_cls(creds, service, region).add_auth(req)
    send_headers = dict(req.headers.items())
    if tamper:
        body = tamper(send_headers, body)
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=send_headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    parsed = json.loads(data) if data else None
    return resp.status, resp.headers, parsed


def cli_env(emu, tmp_path, **overrides):
    """Environment for /usr/bin/aws: credentials from env, nothing from the machine."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "LANG": "C.UTF-8",
    }
    env.update({k: v for k, v in emu.env().items() if k != "AWS_ENDPOINT_URL_LAMBDA"})
    env.update(overrides)
    return env


def run_cli(emu, tmp_path, *args, env=None, timeout=60):
    """Runs `aws lambda ARGS --endpoint-url ... --output json`; returns (rc, json|None, stderr)."""
    cmd = [AWS_CLI, "lambda"] + list(args) + ["--endpoint-url", emu.endpoint,
                                             "--output", "json"]
    proc = subprocess.run(cmd, env=env or cli_env(emu, tmp_path), capture_output=True,
                          timeout=timeout)
    out = proc.stdout.decode()
    return proc.returncode, (json.loads(out) if out.strip() else None), proc.stderr.decode()
