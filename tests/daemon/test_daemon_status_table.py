"""`aliasd status` renders what /status says: Stalled with its kind and
reason, a kept last good state beside its manifest error, and names escaped
so that one function is one line.  Served by a fake /status on 127.0.0.1."""
import http.server
import json
import subprocess
import threading

import pytest

STATUS = {
    "version": "x", "repository": "file:///r.git@main", "ref": "main", "path": "functions",
    "ready": True, "remoteRevision": "a" * 40, "lastAttemptedRevision": "b" * 40,
    "lastAppliedRevision": "c" * 40, "git": {"state": "ok", "error": None, "consecutiveFailures": 0},
    "errors": ["functions/x.yaml:3:1: bad\nFAKE LINE"], "errorCount": 1,
    "functions": [
        {"name": "stuck", "state": "Stalled", "keptLastGood": False, "desired": {"Prod": "v1"},
         "actual": {"Prod": "1"}, "lastAppliedRevision": None, "manifestError": None,
         "reconcileError": "functions/s.yaml:1:1: AccessDeniedException: not allowed",
         "lastError": "functions/s.yaml:1:1: AccessDeniedException: not allowed",
         "errorKind": "terminal", "reason": "functions/s.yaml:1:1: AccessDeniedException: not allowed"},
        {"name": "kept", "state": "Synced", "keptLastGood": True, "desired": {"Prod": "v1"},
         "actual": {"Prod": "1"}, "lastAppliedRevision": "c" * 40,
         "manifestError": "functions/k.yaml:9:3: alias Prod: no release v9",
         "reconcileError": None, "lastError": "functions/k.yaml:9:3: alias Prod: no release v9"},
        {"name": "odd\nINJECTED", "state": "Synced", "keptLastGood": False, "desired": {},
         "actual": None, "lastAppliedRevision": "c" * 40, "manifestError": None,
         "reconcileError": None, "lastError": None},
    ],
    "summary": {"Synced": 2, "OutOfSync": 0, "Progressing": 0, "Failed": 0, "Stalled": 1},
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        body = json.dumps(STATUS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    s = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % s.server_address[1]
    s.shutdown()
    s.server_close()


def test_status_table_stalled_kept_and_escaped(aliasd_bin, server):
    r = subprocess.run([aliasd_bin, "status", "--url", server], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    row = [l for l in lines if l.startswith("stuck ")]
    assert len(row) == 1 and "Stalled" in row[0], r.stdout
    below = lines[lines.index(row[0]) + 1]
    assert "stalled (terminal" in below and "AccessDeniedException: not allowed" in below, r.stdout
    row = [l for l in lines if l.startswith("kept ")]
    assert len(row) == 1 and "Synced" in row[0], r.stdout
    below = lines[lines.index(row[0]) + 1]
    assert "last good state kept" in below and "no release v9" in below, r.stdout
    assert any(l.startswith("odd\\nINJECTED ") for l in lines), r.stdout
    assert not any(l.startswith("INJECTED") or l.startswith("FAKE") for l in lines), r.stdout
    assert "bad\\nFAKE LINE" in r.stdout
