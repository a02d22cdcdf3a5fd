"""The command-line contract: first line, port 0, loopback bind, SIGTERM, options."""

import http.client
import json
import re
import select
import signal
import socket
import subprocess
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator import EMULATOR_SCRIPT, PYTHON, Emulator
from emutestlib import ROLE, b64sha, create_fn, mkzip, signed_request


def start_raw(*args):
    proc = subprocess.Popen([PYTHON, EMULATOR_SCRIPT] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    assert ready, "no first line within 20 s"
    line = proc.stdout.readline().decode()
    return proc, line


def stop_raw(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stdout.close()
        proc.stderr.close()


def test_first_line_reports_real_port_and_sigterm_exits_zero():
    proc, line = start_raw("--port", "0")
    try:
        m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", line)
        assert m, line
        port = int(m.group(1))
        assert port > 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/__emulator/health")
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read()) == {"ok": True}
        conn.close()
    finally:
        rc = stop_raw(proc)
    assert rc == 0


def test_explicit_port_is_used():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc, line = start_raw("--port", str(port))
    try:
        assert line == "listening on 127.0.0.1:%d\n" % port
    finally:
        assert stop_raw(proc) == 0


def _listening_addresses(port):
    """Local addresses of listening TCP sockets on `port` (from /proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            fields = ln.split()
            addr, st = fields[1], fields[3]
            ip_hex, port_hex = addr.split(":")
            if int(port_hex, 16) == port and st == "0A":   # 0A = LISTEN
                found.append(ip_hex)
    return found


def test_binds_loopback_only():
    with Emulator() as emu:
        addrs = _listening_addresses(emu.port)
        assert addrs == ["0100007F"], addrs      # 127.0.0.1, nothing else


def test_bad_option_values_are_rejected():
    for args in (["--throttle-rate", "1.5"], ["--page-size", "0"],
                 ["--credentials", "nocolon"]):
        proc = subprocess.run([PYTHON, EMULATOR_SCRIPT] + args, capture_output=True,
                              timeout=20)
        assert proc.returncode != 0, args
        assert proc.stdout == b"", args


def test_keep_alive_and_content_length_everywhere():
    with Emulator(update_delay=0) as emu:
        lam = emu.client()
        create_fn(lam, "ka")
        lam.create_alias(FunctionName="ka", Name="A", FunctionVersion="$LATEST")
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        sock_ids = set()
        for method, path in (("GET", "/2015-03-31/functions/ka"),
                             ("GET", "/2015-03-31/functions/missing"),
                             ("DELETE", "/2015-03-31/functions/ka/aliases/A"),
                             ("GET", "/__emulator/stats")):
            req = AWSRequest(method=method, url=emu.endpoint + path, data=b"")
            SigV4Auth(Credentials(emu.access_key, emu.secret_key), "lambda",
                      "us-east-1").add_auth(req)
            conn.request(method, path, headers=dict(req.headers.items()))
            resp = conn.getresponse()
            body = resp.read()
            assert resp.getheader("Content-Length") == str(len(body)), (path, resp.status)
            assert not resp.will_close, path        # HTTP/1.1 keep-alive
            sock_ids.add(id(conn.sock))
        assert len(sock_ids) == 1                   # one connection served all four
        conn.close()


@pytest.mark.serial  # serial: an admin request within 0.3 s
def test_latency_option_delays_api_requests_only():
    with Emulator(latency_ms=300, update_delay=0) as emu:
        lam = emu.client()
        t0 = time.monotonic()
        lam.list_functions()
        assert time.monotonic() - t0 >= 0.3
        t0 = time.monotonic()
        emu.stats()
        assert time.monotonic() - t0 < 0.3


def test_helper_env_and_stop():
    emu = Emulator(update_delay=0).start()
    try:
        env = emu.env()
        assert env["AWS_ENDPOINT_URL_LAMBDA"] == emu.endpoint == "http://127.0.0.1:%d" % emu.port
        assert env["AWS_ACCESS_KEY_ID"] == "AKIDEXAMPLE"
        assert env["AWS_SECRET_ACCESS_KEY"] == "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        assert env["AWS_REGION"] == "us-east-1"
        assert "AWS_SESSION_TOKEN" not in env
        assert emu.env(session_token="tok")["AWS_SESSION_TOKEN"] == "tok"
        status, _, body = signed_request(emu, "GET", "/2015-03-31/functions/")
        assert status == 200 and body == {"Functions": []}
    finally:
        assert emu.stop() == 0


def test_helper_start_failure_is_reported():
    emu = Emulator(extra_args=["--page-size", "-3"], start_timeout=20)
    with pytest.raises(RuntimeError, match="exited"):
        emu.start()


def _signed_headers(emu, method, path, body):
    req = AWSRequest(method=method, url=emu.endpoint + path, data=body)
    SigV4Auth(Credentials(emu.access_key, emu.secret_key), "lambda", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def test_chunked_request_body_and_expect_100_continue():
    """libcurl may stream bodies chunked, and sends Expect: 100-continue for big ones."""
    with Emulator(update_delay=0) as emu:
        zip_bytes = mkzip("chunked")
        body = json.dumps({"FunctionName": "ch", "Runtime": "python3.9", "Role": ROLE,
                           "Handler": "a.b", "Code": {"ZipFile": __import__("base64")
                                                      .b64encode(zip_bytes).decode()}}).encode()
        headers = _signed_headers(emu, "POST", "/2015-03-31/functions", body)
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        conn.request("POST", "/2015-03-31/functions", body=iter([body[:50], body[50:]]),
                     headers=headers, encode_chunked=True)
        resp = conn.getresponse()
        out = json.loads(resp.read())
        assert resp.status == 201, out
        assert out["CodeSha256"] == b64sha(zip_bytes)
        conn.close()

        body = json.dumps({"Timeout": 42}).encode()
        path = "/2015-03-31/functions/ch/configuration"
        headers = _signed_headers(emu, "PUT", path, body)
        headers["Host"] = "127.0.0.1:%d" % emu.port          # signed by add_auth
        headers["Expect"] = "100-continue"
        headers["Content-Length"] = str(len(body))
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as s:
            head = "PUT %s HTTP/1.1\r\n" % path + "".join(
                "%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
            s.sendall(head.encode())
            interim = s.recv(4096)
            assert interim.startswith(b"HTTP/1.1 100"), interim
            s.sendall(body)
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(4096)
            head, _, rest = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            while len(rest) < length:
                rest += s.recv(4096)
            assert json.loads(rest)["Timeout"] == 42
