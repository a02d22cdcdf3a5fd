"""A smart-HTTP Git server that sends fetches slowly, or stops sending.

SlowGitHttpServer(root, mode, duration): like gitservers.GitHttpServer, but
the pack of every git-upload-pack answer is cut into small side-band packets
(so the client sees progress all along) and sent spread over `duration`
seconds ("slow"), or a third of it is sent and then nothing more until
`stall` seconds passed or the server closes ("stall").  ls-remote (GET
info/refs) is answered at once.  Everything binds 127.0.0.1; every wait is
bounded.
"""
import threading
import time

import gitservers

PIECE = 8000  # bytes of pack data per side-band packet


def reframe(payload):
    """Split every side-band data packet (band 1) into packets of PIECE bytes."""
    out = []
    i = 0
    while i + 4 <= len(payload):
        n = int(payload[i:i + 4], 16)
        if n == 0:
            out.append(payload[i:i + 4])
            i += 4
            continue
        pkt = payload[i + 4:i + n]
        i += n
        if pkt[:1] == b"\x01" and len(pkt) > PIECE + 1:
            data = pkt[1:]
            for j in range(0, len(data), PIECE):
                part = b"\x01" + data[j:j + PIECE]
                out.append(b"%04x" % (len(part) + 4) + part)
        else:
            out.append(b"%04x" % (len(pkt) + 4) + pkt)
    out.append(payload[i:])
    return out


class _SlowHandler(gitservers._CgiHandler):
    def _handle(self):
        srv = self.server.owner
        path, _, query = self.path.partition("?")
        srv.record(self.command, path, None)
        body = self._body() if self.command == "POST" else b""
        status, headers, payload = self._backend(path, query, body)
        slow = self.command == "POST" and path.endswith("/git-upload-pack") and status == 200
        pieces = reframe(payload) if slow else [payload]
        total = sum(len(p) for p in pieces)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        if not slow:
            self.wfile.write(payload)
            return
        srv.fetch_started(time.monotonic())
        pause = srv.duration / max(len(pieces), 1)
        stop_at = len(pieces) // 3 if srv.mode == "stall" else len(pieces)
        try:
            for k, p in enumerate(pieces):
                if k == stop_at:
                    srv.stalled.set()
                    srv.closing.wait(srv.stall)  # send nothing more
                    return
                self.wfile.write(p)
                self.wfile.flush()
                if k + 1 < len(pieces) and srv.closing.wait(pause):
                    return
        except OSError:
            return  # the client went away (canceled)
        finally:
            srv.fetch_ended(time.monotonic())

    do_GET = _handle
    do_POST = _handle


class SlowGitHttpServer(gitservers.GitHttpServer):
    def __init__(self, root, mode="slow", duration=6.0, stall=60.0):
        super().__init__(root)
        self.mode = mode
        self.duration = duration
        self.stall = stall
        self.closing = threading.Event()
        self.stalled = threading.Event()
        self.fetches = []  # [start, end or None]

    def fetch_started(self, t):
        with self._lock:
            self.fetches.append([t, None])

    def fetch_ended(self, t):
        with self._lock:
            for f in self.fetches:
                if f[1] is None:
                    f[1] = t
                    break

    def ls_remotes(self):
        with self._lock:
            return sum(1 for m, p in self.requests if m == "GET" and p.endswith("/info/refs"))

    def __enter__(self):
        import socketserver
        import http.server

        class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._httpd = _Server(("127.0.0.1", 0), _SlowHandler)
        self._httpd.owner = self
        self._httpd.timeout = 0.2
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.closing.set()
        super().__exit__(*exc)
