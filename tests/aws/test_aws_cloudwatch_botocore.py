"""CloudWatch Query requests of aws/cloudwatch against botocore.

For 600 random DescribeAlarms requests (unicode and reserved characters in
alarm names, pagination tokens with + / =, session tokens, regions, hosts with
ports, endpoint base paths), the tool prints the exact body and headers
aws/cloudwatch sends; here:
  - the body decodes to exactly the parameters botocore's own Query
    serializer produces for the same DescribeAlarms call;
  - botocore's SigV4Auth, service 'monitoring', signing the same request
    (same body bytes, same headers) at the same time, produces the same
    Authorization header.
"""
import base64
import calendar
import json
import os
import random
import subprocess
import time
from urllib.parse import parse_qsl

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.serialize import create_serializer

N_REQUESTS = 600
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
UNICODE = ["é", "€", "日本", "𝄞", "ß"]


def _tool(build_dir):
    path = os.path.join(build_dir, "tests", "tools", "aws_cloudwatch_call")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make tests")
    return path


def _name(rng):
    alphabet = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_./ +=&%:#@!()[]~*'"
    n = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
    if rng.random() < 0.2:
        n += rng.choice(UNICODE)
    return n


def _gen(rng):
    region = rng.choice(REGIONS)
    host = rng.choice([f"monitoring.{region}.amazonaws.com", "127.0.0.1:4566", "localhost:8080"])
    path = rng.choice(["/", "/", "/base/", "/a%20b/"])
    return {
        "host": host,
        "path": path,
        "region": region,
        "akid": "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
        "secret": base64.b64encode(rng.randbytes(30)).decode(),
        "token": base64.b64encode(rng.randbytes(rng.randint(20, 200))).decode() if rng.random() < 0.4 else None,
        "time": rng.randint(calendar.timegm((2000, 1, 1, 0, 0, 0)), calendar.timegm((2037, 12, 31, 0, 0, 0))),
        "names": [_name(rng) for _ in range(rng.randint(0, 12))],
        "next_token": base64.b64encode(rng.randbytes(rng.randint(1, 60))).decode() if rng.random() < 0.3 else None,
    }


_OPERATION = []


def _botocore_params(req):
    """What botocore's Query serializer sends for the same DescribeAlarms call."""
    if not _OPERATION:
        model = botocore.session.get_session().get_service_model("cloudwatch")
        _OPERATION.append(model.operation_model("DescribeAlarms"))
    op = _OPERATION[0]
    params = {"MaxRecords": 100, "AlarmTypes": ["CompositeAlarm", "MetricAlarm"]}
    if req["names"]:
        params["AlarmNames"] = req["names"]
    if req["next_token"] is not None:
        params["NextToken"] = req["next_token"]
    serialized = create_serializer("query").serialize_to_request(params, op)
    return {k: str(v) for k, v in serialized["body"].items()}


def _botocore_authorization(req, out):
    body = out["body"].encode()
    headers = {name: value for name, value in out["headers"]}
    r = AWSRequest(method="POST", url="https://" + req["host"] + req["path"], data=body)
    r.headers["Content-Type"] = headers["Content-Type"]
    if req["token"]:
        r.headers["X-Amz-Security-Token"] = req["token"]
    auth = SigV4Auth(Credentials(req["akid"], req["secret"], req["token"]), "monitoring", req["region"])
    r.context["timestamp"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(req["time"]))
    auth._modify_request_before_signing(r)
    canonical = auth.canonical_request(r)
    sig = auth.signature(auth.string_to_sign(r, canonical), r)
    auth._inject_signature_to_request(r, sig)
    return r.headers["Authorization"], r.headers["X-Amz-Date"]


def test_cloudwatch_requests_match_botocore(build_dir):
    rng = random.Random(20261130)
    reqs = [_gen(rng) for _ in range(N_REQUESTS)]
    inp = "".join(json.dumps(r) + "\n" for r in reqs)
    p = subprocess.run([_tool(build_dir), "sign"], input=inp.encode(), capture_output=True, timeout=120,
                       check=True)
    outs = [json.loads(line) for line in p.stdout.decode().splitlines()]
    assert len(outs) == len(reqs)
    stats = {"token": 0, "paged": 0, "unicode": 0}
    for req, out in zip(reqs, outs):
        assert "error" not in out, (req, out)
        got = dict(parse_qsl(out["body"], keep_blank_values=True, strict_parsing=True))
        assert got == _botocore_params(req), req
        headers = {name: value for name, value in out["headers"]}
        assert headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
        assert headers.get("X-Amz-Security-Token") == req["token"]
        want_auth, want_date = _botocore_authorization(req, out)
        assert headers["X-Amz-Date"] == want_date
        assert headers["Authorization"] == want_auth, req
        assert "/monitoring/aws4_request" in headers["Authorization"]
        stats["token"] += req["token"] is not None
        stats["paged"] += req["next_token"] is not None
        stats["unicode"] += any(ord(c) > 127 for n in req["names"] for c in n)
    # the random mix did cover what it is meant to cover
    assert stats["token"] > 100 and stats["paged"] > 100 and stats["unicode"] > 50
