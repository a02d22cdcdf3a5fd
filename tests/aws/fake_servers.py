"""Loopback servers that play STS, ECS container credentials and EC2 IMDSv2.

Each runs http.server in a thread on 127.0.0.1:0 and records what it saw, so
tests assert on both sides.  Credentials handed out are numbered
(ASIAFAKE...0001, ...0002) so a test can tell a refresh from a cached copy.

    with FakeSTS() as sts:
        env["AWS_ENDPOINT_URL_STS"] = sts.url
        ...
        assert sts.calls[0]["Action"] == "AssumeRole"
"""
import datetime
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sha16(s):
    """The 16-hex SHA-256 prefix aws_credentials_dump prints for secrets."""
    return hashlib.sha256(s.encode()).hexdigest()[:16]


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Server:
    """Base: a ThreadingHTTPServer whose handler calls self.handle(handler)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []
        self.counter = 0
        self.expires_in = 3600   # seconds from now in handed-out credentials
        self.fail_status = None  # when set, every request gets this status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _reply(self, status, body, ctype="application/json", headers=()):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                outer._dispatch(self, "GET")

            def do_PUT(self):
                outer._dispatch(self, "PUT")

            def do_POST(self):
                outer._dispatch(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def next_creds(self, prefix):
        with self.lock:
            self.counter += 1
            n = self.counter
        return {
            "AccessKeyId": f"{prefix}{n:04d}",
            "SecretAccessKey": f"secret/{prefix}+{n}",
            "Token": f"token-{prefix}-{n}/+=",
            "Expiration": iso(time.time() + self.expires_in),
        }

    def _dispatch(self, h, method):
        body = h._body()
        call = {"method": method, "path": h.path, "headers": {k.lower(): v for k, v in h.headers.items()},
                "body": body}
        with self.lock:
            self.calls.append(call)
        if self.fail_status:
            h._reply(self.fail_status, "{}")
            return
        self.handle(h, method, call)


class FakeSTS(_Server):
    """STS query API: AssumeRole (SigV4-verified with botocore) and AssumeRoleWithWebIdentity."""

    def __init__(self, keys=None, web_token=None):
        super().__init__()
        self.keys = dict(keys or {})  # access key id -> secret, to verify AssumeRole signatures
        self.web_token = web_token

    def _error(self, h, status, code, msg):
        xml = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
               f"<Code>{code}</Code><Message>{escape(msg)}</Message></Error><RequestId>x</RequestId></ErrorResponse>")
        h._reply(status, xml, "text/xml")

    def _verify(self, h, call):
        auth = call["headers"].get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 Credential="):
            return "no SigV4 Authorization"
        akid = auth.split("Credential=")[1].split("/")[0]
        scope = auth.split("Credential=")[1].split(",")[0].split("/")
        if akid not in self.keys:
            return f"unknown access key {akid}"
        req = AWSRequest(method="POST", url=self.url + h.path, data=call["body"])
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        for name in signed:
            if name not in call["headers"]:
                return f"signed header {name} not sent"
            req.headers[name] = call["headers"][name]
        token = call["headers"].get("x-amz-security-token")
        signer = SigV4Auth(Credentials(akid, self.keys[akid], token), scope[3], scope[2])
        req.context["timestamp"] = call["headers"].get("x-amz-date", "")
        signer._modify_request_before_signing(req)
        canonical = signer.canonical_request(req)
        want = signer.signature(signer.string_to_sign(req, canonical), req)
        if not auth.endswith("Signature=" + want):
            return "signature mismatch"
        call["signed_by"] = akid
        call["session_token"] = token
        return None

    def handle(self, h, method, call):
        form = {k: v[0] for k, v in parse_qs(call["body"].decode(), keep_blank_values=True).items()}
        call["form"] = form
        action = form.get("Action")
        if method != "POST" or form.get("Version") != "2011-06-15":
            return self._error(h, 400, "InvalidAction", "bad request")
        if action == "AssumeRole":
            problem = self._verify(h, call)
            if problem:
                call["problem"] = problem
                return self._error(h, 403, "SignatureDoesNotMatch", problem)
            result = "AssumeRoleResult"
        elif action == "AssumeRoleWithWebIdentity":
            if "authorization" in call["headers"]:
                return self._error(h, 400, "InvalidRequest", "web identity calls are unsigned")
            if self.web_token is not None and form.get("WebIdentityToken") != self.web_token:
                return self._error(h, 403, "InvalidIdentityToken", "bad token")
            result = "AssumeRoleWithWebIdentityResult"
        else:
            return self._error(h, 400, "InvalidAction", "unknown action")
        c = self.next_creds("ASIASTS")
        arn = form.get("RoleArn", "")
        xml = (f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{result}>'
               f"<AssumedRoleUser><Arn>{escape(arn)}/{escape(form.get('RoleSessionName', ''))}</Arn>"
               f"<AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>"
               f"<Credentials><AccessKeyId>{c['AccessKeyId']}</AccessKeyId>"
               f"<SecretAccessKey>{escape(c['SecretAccessKey'])}</SecretAccessKey>"
               f"<SessionToken>{escape(c['Token'])}</SessionToken>"
               f"<Expiration>{c['Expiration']}</Expiration></Credentials>"
               f"</{result}><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>")
        call["issued"] = c
        h._reply(200, xml, "text/xml")


class FakeECS(_Server):
    """ECS/EKS container credentials endpoint: GET <path> with optional Authorization."""

    def __init__(self, path="/v2/credentials/abc", token=None):
        super().__init__()
        self.path = path
        self.token = token

    def handle(self, h, method, call):
        if method != "GET" or h.path != self.path:
            return h._reply(404, '{"message":"not found"}')
        if self.token is not None and call["headers"].get("authorization") != self.token:
            return h._reply(401, '{"message":"unauthorized"}')
        c = self.next_creds("ASIAECS")
        call["issued"] = c
        h._reply(200, json.dumps(dict(c, RoleArn="arn:aws:iam::123456789012:role/task")))


class FakeIMDS(_Server):
    """EC2 IMDSv2: PUT /latest/api/token, then the token on every GET."""

    def __init__(self, role="aliasd-role"):
        super().__init__()
        self.role = role
        self.code = "Success"  # the "Code" field of the credentials document
        self.tokens = set()

    def handle(self, h, method, call):
        if method == "PUT" and h.path == "/latest/api/token":
            ttl = call["headers"].get("x-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit():
                return h._reply(400, "missing ttl", "text/plain")
            tok = f"imds-token-{len(self.tokens) + 1}"
            self.tokens.add(tok)
            return h._reply(200, tok, "text/plain")
        if method != "GET":
            return h._reply(405, "", "text/plain")
        if call["headers"].get("x-aws-ec2-metadata-token") not in self.tokens:
            return h._reply(401, "", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if h.path == base:
            if not self.role:
                return h._reply(404, "", "text/plain")
            return h._reply(200, self.role + "\n", "text/plain")
        if h.path == base + str(self.role):
            c = self.next_creds("ASIAIMDS")
            call["issued"] = c
            return h._reply(200, json.dumps(dict(c, Code=self.code, Type="AWS-HMAC",
                                                 LastUpdated=iso(time.time()))))
        return h._reply(404, "", "text/plain")


# ---- driving tests/tools/aws_credentials_dump ---------------------------------

import os  # noqa: E402
import subprocess  # noqa: E402

_PASS_THROUGH = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_LIBRARY_PATH")


def clean_env(home, **extra):
    """An environment with nothing from the machine: HOME is a temp dir, IMDS off."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true",
           "NO_PROXY": "*", "no_proxy": "*"}
    for k in _PASS_THROUGH:
        if k in os.environ:
            env[k] = os.environ[k]
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def write_aws_files(home, credentials=None, config=None):
    d = os.path.join(str(home), ".aws")
    os.makedirs(d, exist_ok=True)
    if credentials is not None:
        with open(os.path.join(d, "credentials"), "w") as f:
            f.write(credentials)
    if config is not None:
        with open(os.path.join(d, "config"), "w") as f:
            f.write(config)


def parse_line(line):
    """'ok source=x akid=y ...' -> {'status': 'ok', 'source': 'x', ...}; errors keep msg whole."""
    if line.startswith("error "):
        code, _, msg = line[len("error "):].partition(" msg=")
        return {"status": "error", "code": int(code.split("=")[1]), "msg": msg}
    parts = line.split()
    d = {"status": parts[0]}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        d[k] = v
    return d


def run_dump(build_dir, env, *args, timeout=30):
    """Run aws_credentials_dump; returns (exit status, [parsed lines], raw stdout+stderr)."""
    tool = os.path.join(build_dir, "tests", "tools", "aws_credentials_dump")
    if not os.access(tool, os.X_OK):
        raise AssertionError(f"{tool} is not built: run make tests")
    p = subprocess.run([tool, *[str(a) for a in args]], env=env, capture_output=True, timeout=timeout)
    out = p.stdout.decode()
    return p.returncode, [parse_line(l) for l in out.splitlines() if l.strip()], out + p.stderr.decode()
