"""Invoke requests of aws/lambda_invoke against botocore.

A loopback server records exactly what aws_lambda_call sends for random
Invoke calls (function names, partial and full ARNs, ARN qualifiers,
?Qualifier=, JSON payloads with unicode, session tokens, regions); for each:
  - method, path, query and body are what botocore's own rest-json serializer
    produces for the same Invoke call, and X-Amz-Invocation-Type is
    RequestResponse;
  - the signed headers are the ones botocore signs for that request
    (host, x-amz-date, x-amz-invocation-type, x-amz-security-token with a token);
  - botocore's SigV4Auth (service lambda), signing botocore's request at the
    request's own X-Amz-Date, produces the same Authorization header.
"""
import json
import os
import random
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from botocore.serialize import create_serializer

N_REQUESTS = 50
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"]


class Recorder:
    """Answers every request like a successful Invoke and keeps what it saw."""

    def __init__(self):
        self.seen = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer.seen.append({"method": "POST", "target": self.path,
                                   "headers": [(k, v) for k, v in self.headers.items()], "body": body})
                data = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Amz-Executed-Version", "$LATEST")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False


def _tool(build_dir):
    path = os.path.join(build_dir, "tests", "tools", "aws_lambda_call")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make tests")
    return path


def _gen(rng):
    region = rng.choice(REGIONS)
    name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABC0123456789-_") for _ in range(rng.randint(1, 40)))
    kind = rng.random()
    if kind < 0.3:
        fn = "arn:aws:lambda:%s:123456789012:function:%s" % (region, name)
    elif kind < 0.45:
        fn = "123456789012:function:" + name
    elif kind < 0.55:
        fn = "arn:aws:lambda:%s:123456789012:function:%s:%s" % (region, name, rng.choice(["Prod", "7"]))
    else:
        fn = name
    qualifier = None
    if ":function:" not in fn or fn.count(":") == 6:
        qualifier = rng.choice([None, "Prod", "$LATEST", "12", "canary-1"])
    payload = rng.choice([
        {},
        {"rollout": {"function": name, "alias": "Prod", "from": "3", "to": "4", "step": 0}},
        {"text": "é€日本𝄞 \"quoted\" \\ / +=&?#%"},
        [1, 2.5, None, True, "x"],
        "just a string",
        None,
    ])
    return {
        "region": region,
        "fn": fn,
        "qualifier": qualifier,
        "payload": json.dumps(payload, ensure_ascii=rng.random() < 0.2),
        "akid": "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
        "secret": "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789+/") for _ in range(40)),
        "token": ("IQoJb3JpZ2luX2Vj" + "".join(rng.choice("abcdefXYZ0123456789+/=") for _ in range(120))
                  if rng.random() < 0.4 else None),
    }


_OPERATION = []


def _botocore_request(req, endpoint, amz_date):
    """The request botocore's Lambda client builds for the same Invoke, signed at amz_date."""
    if not _OPERATION:
        model = botocore.session.get_session().get_service_model("lambda")
        _OPERATION.append(model.operation_model("Invoke"))
    op = _OPERATION[0]
    params = {"FunctionName": req["fn"], "InvocationType": "RequestResponse",
              "Payload": req["payload"].encode()}
    if req["qualifier"] is not None:
        params["Qualifier"] = req["qualifier"]
    d = create_serializer("rest-json").serialize_to_request(params, op)
    prepare_request_dict(d, endpoint_url=endpoint)
    r = create_request_object(d)
    auth = SigV4Auth(Credentials(req["akid"], req["secret"], req["token"]), "lambda", req["region"])
    r.context["timestamp"] = amz_date
    auth._modify_request_before_signing(r)
    signed = auth.signed_headers(auth.headers_to_sign(r))
    canonical = auth.canonical_request(r)
    sig = auth.signature(auth.string_to_sign(r, canonical), r)
    auth._inject_signature_to_request(r, sig)
    return r, signed


def _run_tool(build_dir, endpoint, req):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": req["akid"], "AWS_SECRET_ACCESS_KEY": req["secret"],
                "AWS_REGION": req["region"], "AWS_ENDPOINT_URL_LAMBDA": endpoint,
                "AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"})
    if req["token"]:
        env["AWS_SESSION_TOKEN"] = req["token"]
    args = {"FunctionName": req["fn"], "Payload": req["payload"]}
    if req["qualifier"] is not None:
        args["Qualifier"] = req["qualifier"]
    p = subprocess.run([_tool(build_dir), "Invoke", json.dumps(args)], env=env, capture_output=True,
                       timeout=60)
    assert p.returncode == 0, (req, p.stdout, p.stderr)
    out = json.loads(p.stdout)["Result"]
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST" and out["Payload"] == '{"ok":true}'


def test_invoke_requests_match_botocore(build_dir):
    rng = random.Random(20261130)
    reqs = [_gen(rng) for _ in range(N_REQUESTS)]
    stats = {"token": 0, "qualifier": 0, "arn": 0, "unicode": 0}
    with Recorder() as rec:
        for req in reqs:
            _run_tool(build_dir, rec.url, req)
        assert len(rec.seen) == len(reqs)  # one request each: nothing resent
        for req, got in zip(reqs, rec.seen):
            headers = {}
            for k, v in got["headers"]:
                headers.setdefault(k.lower(), v)
            want, want_signed = _botocore_request(req, rec.url, headers["x-amz-date"])
            want_target = want.url[len(rec.url):]
            assert got["method"] == want.method
            assert got["target"] == want_target, req
            assert got["body"] == want.body == req["payload"].encode()
            assert headers["x-amz-invocation-type"] == "RequestResponse"
            assert headers.get("x-amz-security-token") == req["token"]
            auth = headers["authorization"]
            signed = auth.split("SignedHeaders=")[1].split(",")[0]
            assert signed == want_signed, (signed, want_signed)
            assert auth == want.headers["Authorization"], req
            stats["token"] += req["token"] is not None
            stats["qualifier"] += "?Qualifier=" in got["target"]
            stats["arn"] += "%3A" in got["target"]
            stats["unicode"] += any(b > 127 for b in got["body"])
    assert min(stats.values()) >= 4, stats
