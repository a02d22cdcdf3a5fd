"""SigV4: aws/sigv4.c against botocore's SigV4Auth on generated requests.

Every stage (canonical request, string to sign, Authorization) of 1,500
random requests is compared: random methods, Lambda ARN paths with ':'
percent-encoded, pagination markers with '+/=', unicode, empty query values,
duplicate query names, session tokens, header whitespace, duplicate headers.
One tool process signs them all (tests/tools/aws_sigv4_dump.c).
"""
import base64
import calendar
import json
import os
import random
import subprocess
import time
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

N_REQUESTS = 1500


def _tool(build_dir):
    path = os.path.join(build_dir, "tests", "tools", "aws_sigv4_dump")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make tests")
    return path


def _enc(s):
    return quote(s, safe="-_.~")


def _botocore(req):
    url = "https://" + req["host"] + req["path"]
    if req["query"] is not None:
        url += "?" + req["query"]
    body = base64.b64decode(req["body_b64"])
    r = AWSRequest(method=req["method"], url=url, data=body)
    for k, v in req["headers"]:
        r.headers[k] = v  # HTTPHeaders: assignment appends, so duplicates stay
    auth = SigV4Auth(Credentials(req["akid"], req["secret"], req["token"]), req["service"], req["region"])
    # add_auth() takes the wall clock: do its steps with our timestamp
    r.context["timestamp"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(req["time"]))
    auth._modify_request_before_signing(r)
    canonical = auth.canonical_request(r)
    sts = auth.string_to_sign(r, canonical)
    sig = auth.signature(sts, r)
    auth._inject_signature_to_request(r, sig)
    return canonical, sts, r.headers["Authorization"]


UNICODE = ["é", "€", "日本", "𝄞", "ß", "Ω"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]
SERVICES = ["lambda", "sts", "iam", "execute-api"]


def _rand_text(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _rand_segment(rng):
    kind = rng.random()
    if kind < 0.3:
        acct = "%012d" % rng.randint(0, 10**12 - 1)
        fn = _rand_text(rng, "abcdefghijklmnopqrstuvwxyz0123456789-_", 1, 20)
        seg = f"arn:aws:lambda:{rng.choice(REGIONS)}:{acct}:function:{fn}"
        if rng.random() < 0.5:
            seg += ":" + rng.choice(["Prod", "$LATEST", "7", "canary-1"])
        return seg
    if kind < 0.4:
        return rng.choice(UNICODE) + _rand_text(rng, "abc", 0, 3)
    if kind < 0.5:
        return _rand_text(rng, "ab c+=&?#%/:@!$'()*,;~._-", 1, 8).replace("/", "") or "x"
    return _rand_text(rng, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_.~", 1, 16)


def _rand_path(rng):
    n = rng.randint(0, 5)
    segs = [_rand_segment(rng) for _ in range(n)]
    if n and rng.random() < 0.1:
        segs.insert(rng.randint(0, n), rng.choice([".", ".."]))
    path = "/" + "/".join(_enc(s) if s not in (".", "..") else s for s in segs)
    if rng.random() < 0.15:
        path += "/"
    if rng.random() < 0.05:
        path = path.replace("/", "//", 1)
    return path


def _rand_value(rng):
    kind = rng.random()
    if kind < 0.15:
        return ""
    if kind < 0.4:  # pagination marker: base64 with +/=
        return base64.b64encode(rng.randbytes(rng.randint(1, 40))).decode()
    if kind < 0.5:
        return rng.choice(UNICODE) + " " + rng.choice(UNICODE)
    if kind < 0.6:
        return _rand_text(rng, "a b:c/d?e&f=g+h%i~j", 1, 12)
    return str(rng.randint(0, 10000))


def _rand_query(rng):
    if rng.random() < 0.25:
        return None
    names = ["Marker", "MaxItems", "FunctionVersion", "Qualifier", "a", "B", "x-y", "é", "~t", "Name.1"]
    parts = []
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(names)
        if rng.random() < 0.1:
            parts.append(_enc(name))  # no '=' at all
        else:
            parts.append(_enc(name) + "=" + _enc(_rand_value(rng)))
    if parts and rng.random() < 0.2:
        parts.append(parts[0])  # exact duplicate pair
    rng.shuffle(parts)
    return "&".join(parts)


def _rand_ws(rng):
    return rng.choice(["", " ", "  ", "\t", " \t "])


def _rand_headers(rng, host):
    hs = [[rng.choice(["Host", "host", "HOST"]), host]]
    pool = [
        ("Content-Type", lambda: rng.choice(["application/json", "application/x-amz-json-1.1",
                                             "application/x-www-form-urlencoded; charset=utf-8"])),
        ("X-Amz-Target", lambda: "AWSLambda." + _rand_text(rng, "abcdefGHIJ", 3, 10)),
        ("X-Custom", lambda: _rand_ws(rng) + _rand_text(rng, "ab  c\t\"d", 0, 15) + _rand_ws(rng)),
        ("x-custom", lambda: _rand_text(rng, "xyz  ", 0, 6)),
        ("X-Amz-Invocation-Type", lambda: rng.choice(["Event", "RequestResponse"])),
        ("If-Match", lambda: '"' + _rand_text(rng, "0123456789abcdef-", 8, 36) + '"'),
        ("User-Agent", lambda: "aliasd/0.1.0 curl"),
        ("X-Empty", lambda: rng.choice(["", " ", "\t"])),
    ]
    for _ in range(rng.randint(0, 5)):
        name, val = rng.choice(pool)
        hs.append([name, val()])
    rng.shuffle(hs)
    return hs


def _gen(rng):
    region = rng.choice(REGIONS)
    service = rng.choice(SERVICES)
    host = rng.choice([f"{service}.{region}.amazonaws.com", "127.0.0.1:8080", "example.amazonaws.com"])
    body = b"" if rng.random() < 0.4 else rng.randbytes(rng.randint(1, 300))
    if rng.random() < 0.2:
        body = json.dumps({"FunctionVersion": str(rng.randint(1, 99)), "Description": rng.choice(UNICODE)}).encode()
    token = None
    if rng.random() < 0.4:
        token = base64.b64encode(rng.randbytes(rng.randint(20, 300))).decode()
    return {
        "method": rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
        "host": host,
        "path": _rand_path(rng),
        "query": _rand_query(rng),
        "headers": _rand_headers(rng, host),
        "body_b64": base64.b64encode(body).decode(),
        "region": region,
        "service": service,
        "time": rng.randint(calendar.timegm((2000, 1, 1, 0, 0, 0)), calendar.timegm((2037, 12, 31, 23, 59, 59))),
        "akid": "AKIA" + _rand_text(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16),
        "secret": base64.b64encode(rng.randbytes(30)).decode(),
        "token": token,
        "double_encode": True,
    }


def _run(build_dir, reqs):
    inp = "".join(json.dumps(r) + "\n" for r in reqs)
    out = subprocess.run([_tool(build_dir)], input=inp.encode(), capture_output=True, timeout=120, check=True)
    lines = out.stdout.decode().splitlines()
    assert len(lines) == len(reqs)
    return [json.loads(l) for l in lines]


def test_sigv4_matches_botocore(build_dir):
    rng = random.Random(20261127)
    reqs = [_gen(rng) for _ in range(N_REQUESTS)]
    results = _run(build_dir, reqs)
    mismatches = []
    stats = {"token": 0, "query": 0, "arn": 0, "dup_header": 0}
    for req, got in zip(reqs, results):
        canonical, sts, auth = _botocore(req)
        assert "error" not in got, (req, got)
        for stage, want in (("canonical", canonical), ("string_to_sign", sts), ("authorization", auth)):
            if got[stage] != want:
                mismatches.append((stage, req, got[stage], want))
                break
        stats["token"] += req["token"] is not None
        stats["query"] += bool(req["query"])
        stats["arn"] += "arn%3Aaws%3Alambda" in req["path"]
        names = [h[0].lower() for h in req["headers"]]
        stats["dup_header"] += len(names) != len(set(names))
    assert not mismatches, "first mismatch:\n%s\nrequest=%r\nC:\n%s\nbotocore:\n%s" % (
        mismatches[0][0], mismatches[0][1], mismatches[0][2], mismatches[0][3])
    # the generator really covered what it claims to
    assert min(stats.values()) >= 50, stats


def test_sigv4_lambda_arn_path_double_encoded(build_dir):
    req = {
        "method": "GET", "host": "lambda.us-east-1.amazonaws.com",
        "path": "/2015-03-31/functions/" + _enc("arn:aws:lambda:us-east-1:123456789012:function:f") + "/aliases",
        "query": "Marker=" + _enc("a+b/c==") + "&MaxItems=50",
        "headers": [["Host", "lambda.us-east-1.amazonaws.com"]], "body_b64": "", "region": "us-east-1",
        "service": "lambda", "time": 1795776300, "akid": "AKIDEXAMPLE",
        "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": "tok", "double_encode": True,
    }
    got = _run(build_dir, [req])[0]
    lines = got["canonical"].split("\n")
    assert lines[1] == "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Af/aliases"
    assert lines[2] == "Marker=a%2Bb%2Fc%3D%3D&MaxItems=50"
    assert got["authorization"] == _botocore(req)[2]


def test_sigv4_rejects_bad_requests(build_dir):
    base = {"method": "GET", "path": "/", "query": None, "body_b64": "", "region": "us-east-1",
            "service": "lambda", "time": 1795776300, "akid": "AKIDEXAMPLE", "secret": "s", "token": None}
    bad = [
        dict(base, headers=[["X-A", "1"]]),                       # no host
        dict(base, headers=[["Host", "h"], ["X-A", "1\r\nX-B: 2"]]),  # header injection
        dict(base, headers=[["Host", "h"]], region="us-east-1/../x"),
        dict(base, headers=[["Host", "h"]], secret=""),
    ]
    for got in _run(build_dir, bad):
        assert got.get("code") == -22, got
        assert "authorization" not in got
