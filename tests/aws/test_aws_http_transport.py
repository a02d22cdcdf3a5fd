"""aws/http.c against a tiny loopback server written on raw sockets, so each
misbehaviour (reset, empty reply, garbage, slow, oversized) is exact.
Driven through tests/tools/aws_http_fetch (one client for all its URLs).
"""
import json
import os
import socket
import socketserver
import struct
import subprocess
import threading
import time

import pytest


class RawServer:
    def __init__(self):
        self.connections = 0
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                with outer.lock:
                    outer.connections += 1
                sock = self.request
                sock.settimeout(10)
                buf = b""
                while True:
                    while b"\r\n\r\n" not in buf:
                        try:
                            chunk = sock.recv(65536)
                        except OSError:
                            return
                        if not chunk:
                            return
                        buf += chunk
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    method, path, _ = lines[0].split(" ", 2)
                    headers = []
                    for l in lines[1:]:
                        k, _, v = l.partition(":")
                        headers.append((k.strip(), v.strip()))
                    n = int(dict((k.lower(), v) for k, v in headers).get("content-length", 0))
                    while len(buf) < n:
                        buf += sock.recv(65536)
                    body, buf = buf[:n], buf[n:]
                    req = {"method": method, "path": path, "headers": headers, "body": body.decode("latin-1")}
                    with outer.lock:
                        outer.requests.append(req)
                    if not outer.respond(sock, req):
                        return

        class Srv(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.srv = Srv(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()

    @staticmethod
    def _send(sock, status, body, extra=b""):
        data = body if isinstance(body, bytes) else body.encode()
        sock.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nX-Test:  padded value  \r\n%s\r\n" % (
            status, len(data), extra) + data)

    def respond(self, sock, req):
        """Returns True to keep the connection for another request."""
        p = req["path"]
        if p.startswith("/ok"):
            self._send(sock, 200, "hello " + p)
        elif p == "/status/404":
            self._send(sock, 404, '{"message":"nope"}')
        elif p == "/status/503":
            self._send(sock, 503, "busy", b"Retry-After: 2\r\n")
        elif p == "/echo":
            self._send(sock, 200, json.dumps(req))
        elif p == "/big":
            self._send(sock, 200, b"x" * (2 << 20))
        elif p == "/big-chunked":
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(40):
                sock.sendall(b"%x\r\n%s\r\n" % (65536, b"y" * 65536))
            sock.sendall(b"0\r\n\r\n")
        elif p == "/slow":
            time.sleep(10)  # far beyond test_timeout's 0.5 s limit and its 8 s bound
            self._send(sock, 200, "late")
        elif p == "/reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return False
        elif p == "/empty":
            sock.shutdown(socket.SHUT_RDWR)
            return False
        elif p == "/garbage":
            sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            return False
        elif p == "/close":
            self._send(sock, 200, "bye", b"Connection: close\r\n")
            return False
        else:
            self._send(sock, 404, "")
        return True


def fetch(build_dir, *args, timeout=30):
    tool = os.path.join(build_dir, "tests", "tools", "aws_http_fetch")
    if not os.access(tool, os.X_OK):
        pytest.fail(f"{tool} is not built: run make tests")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    p = subprocess.run([tool, *[str(a) for a in args]], capture_output=True, timeout=timeout, env=env)
    out = []
    for line in p.stdout.decode().splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "error":
            code, _, msg = rest.partition(" msg=")
            out.append({"kind": "error", "code": int(code.split("=")[1]), "msg": msg})
        else:
            d = {"kind": "ok"}
            head, _, body = rest.partition(" body=")
            for kv in head.split():
                k, _, v = kv.partition("=")
                d[k] = v
            body, _, hdr = body.partition(" hdr=")
            d["body"] = body
            d["hdr"] = hdr
            out.append(d)
    return p.returncode, out


def test_keepalive_reuses_one_connection(build_dir):
    with RawServer() as s:
        rc, out = fetch(build_dir, s.url + "/ok1", s.url + "/ok2", s.url + "/ok3")
        assert rc == 0
        assert [o["body"] for o in out] == ["hello /ok1", "hello /ok2", "hello /ok3"]
        assert [o["new_conn"] for o in out] == ["1", "0", "0"]
        assert s.connections == 1


def test_reconnects_after_server_close(build_dir):
    with RawServer() as s:
        rc, out = fetch(build_dir, s.url + "/close", s.url + "/ok")
        assert rc == 0 and [o["new_conn"] for o in out] == ["1", "1"]
        assert s.connections == 2


def test_any_status_is_success_and_headers_are_read(build_dir):
    with RawServer() as s:
        rc, out = fetch(build_dir, "--show-header", "retry-after", s.url + "/status/404", s.url + "/status/503")
        assert rc == 0
        assert (out[0]["kind"], out[0]["status"], out[0]["body"], out[0]["hdr"]) == (
            "ok", "404", '{"message":"nope"}', "(none)")
        assert (out[1]["kind"], out[1]["status"], out[1]["body"], out[1]["hdr"]) == ("ok", "503", "busy", "2")
        rc, out = fetch(build_dir, "--show-header", "X-TEST", s.url + "/ok")
        assert out[0]["hdr"] == "padded value"  # case-insensitive, trimmed


def test_request_is_sent_as_given(build_dir):
    with RawServer() as s:
        rc, out = fetch(build_dir, "--method", "PUT", "--header", "X-Amz-Date: 20261127T104500Z",
                        "--header", "Authorization: AWS4-HMAC-SHA256 Credential=x", "--header", "X-Empty:",
                        "--body", '{"a":1}', s.url + "/echo")
        assert rc == 0
        req = s.requests[0]
        names = [k.lower() for k, _ in req["headers"]]
        h = dict((k.lower(), v) for k, v in req["headers"])
        assert req["method"] == "PUT" and req["body"] == '{"a":1}'
        assert h["x-amz-date"] == "20261127T104500Z"
        assert h["authorization"] == "AWS4-HMAC-SHA256 Credential=x"
        assert h["x-empty"] == ""
        assert "expect" not in names  # no 100-continue
        assert "content-type" not in names  # nothing invented
        rc, out = fetch(build_dir, "--method", "POST", "--header", "Content-Type: application/json",
                        "--body", "x" * 5000, s.url + "/echo")
        h = dict((k.lower(), v) for k, v in s.requests[1]["headers"])
        assert h["content-type"] == "application/json" and "expect" not in h
        assert len(s.requests[1]["body"]) == 5000
        rc, out = fetch(build_dir, "--method", "DELETE", s.url + "/echo")
        assert s.requests[2]["method"] == "DELETE" and s.requests[2]["body"] == ""


def test_response_cap(build_dir):
    with RawServer() as s:
        rc, out = fetch(build_dir, "--max-bytes", 1 << 20, s.url + "/big", s.url + "/big-chunked", s.url + "/ok")
        assert out[0]["kind"] == "error" and out[0]["code"] == -7  # E2BIG (Content-Length known)
        assert out[1]["kind"] == "error" and out[1]["code"] == -7  # E2BIG while receiving
        assert out[2]["kind"] == "ok"  # the client is still usable
        rc, out = fetch(build_dir, "--max-bytes", 4 << 20, s.url + "/big")
        assert out[0]["kind"] == "ok" and out[0]["len"] == str(2 << 20)


def test_timeout(build_dir):
    with RawServer() as s:
        t0 = time.monotonic()
        rc, out = fetch(build_dir, "--total-ms", 500, s.url + "/slow")
        assert rc == 1 and out[0]["code"] == -110  # ETIMEDOUT
        # ended by the 0.5 s limit, not by the answer at 10 s (the margin is for a
        # loaded machine and a sanitized tool starting up)
        assert time.monotonic() - t0 < 8


@pytest.mark.parametrize("path", ["/reset", "/empty"])
def test_connection_reset(build_dir, path):
    with RawServer() as s:
        rc, out = fetch(build_dir, s.url + path, s.url + "/ok")
        assert out[0]["kind"] == "error" and out[0]["code"] == -104, out  # ECONNRESET
        assert out[1]["kind"] == "ok"


def test_garbage_is_eproto(build_dir):
    with RawServer() as s:
        rc, out = fetch(build_dir, s.url + "/garbage")
        assert out[0]["code"] == -71, out  # EPROTO


def test_connection_refused(build_dir):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    rc, out = fetch(build_dir, f"http://127.0.0.1:{port}/")
    assert rc == 1 and out[0]["code"] == -111  # ECONNREFUSED


def test_bad_urls_and_headers(build_dir):
    rc, out = fetch(build_dir, "ftp://127.0.0.1/x", "file:///etc/passwd")
    assert [o["code"] for o in out] == [-22, -22]
    with RawServer() as s:
        rc, out = fetch(build_dir, "--header", "X-Bad: a\rb", s.url + "/ok")
        assert out[0]["code"] == -22 and s.requests == []


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


class TLSServer(RawServer):
    def __init__(self, cert, key):
        super().__init__()
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True, do_handshake_on_connect=False)
        self.url = f"https://127.0.0.1:{self.port}"


def test_tls_verification_is_on(build_dir, self_signed, tmp_path):
    cert, key = self_signed
    with TLSServer(cert, key) as s:
        # not signed by a CA the client trusts: refused, no data
        rc, out = fetch(build_dir, "--total-ms", 5000, s.url + "/ok")
        assert rc == 1 and out[0]["code"] == -71, out  # EPROTO
        assert s.requests == []
        # the same server with its certificate as the CA bundle (AWS_CA_BUNDLE)
        env_tool = os.path.join(build_dir, "tests", "tools", "aws_http_fetch")
        p = subprocess.run([env_tool, s.url + "/ok"], capture_output=True, timeout=30,
                           env={"AWS_CA_BUNDLE": cert, "PATH": "/usr/bin:/bin"})
        assert p.returncode == 0 and "hello /ok" in p.stdout.decode(), p.stdout + p.stderr
        assert len(s.requests) == 1
