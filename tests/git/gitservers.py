"""Git servers and repositories for the tests, all on 127.0.0.1 with bounded lifetimes.

- make_repo(): a working tree built with the real git CLI.
- GitDaemon: `git daemon --inetd` behind a Python listener on port 0 (git://).
- GitHttpServer: smart HTTP through /usr/lib/git-core/git-http-backend (CGI),
  optionally requiring a token as HTTP basic auth, optionally wrapped in TLS.
- make_ca(): a CA and a server certificate for 127.0.0.1, made with `openssl`.
- Result: one run of tests/tools/manifest_repo_dump, as test_git_repo.py and
  test_git_ssh.py read it.

Every server is a context manager; its threads are daemons and every
subprocess has a timeout, so a hung test cannot outlive pytest's own limits.
"""
import base64
import http.server
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time

GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
CGI_TIMEOUT = 30

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


class Result:
    """One run of tests/tools/manifest_repo_dump: exit code, output, seconds taken."""

    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.elapsed = elapsed

    def lines(self, prefix):
        return [line[len(prefix) + 1:] for line in self.out.splitlines()
                if line.startswith(prefix + " ")]

    def one(self, prefix):
        got = self.lines(prefix)
        assert len(got) == 1, (prefix, self.out, self.err)
        return got[0]


def git(*args, cwd=None, check=True):
    """Run git with a clean identity and config; return stdout (stripped)."""
    env = dict(os.environ)
    env.update(GIT_ENV)
    res = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=60)
    if check and res.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {res.stderr}")
    return res.stdout.strip()


def write(root, rel, content, mode=None):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w" if isinstance(content, str) else "wb") as f:
        f.write(content)
    if mode is not None:
        os.chmod(path, mode)
    return path


def commit_all(work, message):
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def make_repo(root, files=None, branch="main"):
    """A working tree at `root` with `files` ({path: content}) committed; returns the commit id."""
    os.makedirs(root, exist_ok=True)
    git("init", "-q", "-b", branch, root)
    for rel, content in (files or {"functions/a.yaml": "name: a\n"}).items():
        write(root, rel, content)
    return commit_all(root, "initial")


def make_bare(work, bare):
    """A bare clone of `work` at `bare` (as a server would hold it)."""
    git("clone", "-q", "--bare", work, bare)
    return bare


def push(work, bare, ref="HEAD:refs/heads/main", force=False):
    git("push", "-q", *(["-f"] if force else []), bare, ref, cwd=work)


def object_count(git_dir):
    """Objects in a repository (loose + packed)."""
    out = git("--git-dir", git_dir, "count-objects", "-v")
    fields = dict(line.split(": ", 1) for line in out.splitlines())
    return int(fields["count"]) + int(fields["in-pack"])


def has_object(git_dir, oid):
    return subprocess.run(["git", "--git-dir", git_dir, "cat-file", "-e", oid],
                          capture_output=True, timeout=30).returncode == 0


class _Listener:
    """Accepts connections on 127.0.0.1:0 in a daemon thread, handing each to `serve(conn)`."""

    def __init__(self, serve):
        self._serve = serve
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class GitDaemon:
    """git:// on 127.0.0.1: each connection runs `git daemon --inetd` (base path `root`)."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = None

    def _serve(self, conn):
        with self._lock:
            self.connections += 1
        try:
            conn.settimeout(None)
            subprocess.run(["git", "daemon", "--inetd", "--export-all", "--base-path=" + self.root,
                            self.root], stdin=conn.fileno(), stdout=conn.fileno(),
                           stderr=subprocess.DEVNULL, timeout=CGI_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        finally:
            conn.close()

    def url(self, name):
        return f"git://127.0.0.1:{self.port}/{name}"

    def __enter__(self):
        self._listener = _Listener(self._serve)
        self.port = self._listener.port
        return self

    def __exit__(self, *exc):
        self._listener.close()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung server)."""

    def __init__(self):
        self.connections = 0
        self._conns = []
        self._listener = None

    def _serve(self, conn):
        self.connections += 1
        self._conns.append(conn)  # kept open, never written to

    def url(self, scheme, name):
        return f"{scheme}://127.0.0.1:{self.port}/{name}"

    def wait_connections(self, n, timeout=5.0):
        """The count once it reaches n, or after timeout: the kernel completes a client's
        connect before the accept thread gets to count it (late on a loaded machine)."""
        deadline = time.monotonic() + timeout
        while self.connections < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.connections

    def __enter__(self):
        self._listener = _Listener(self._serve)
        self.port = self._listener.port
        return self

    def __exit__(self, *exc):
        self._listener.close()
        for conn in self._conns:
            conn.close()


class _CgiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self):
        srv = self.server.owner
        path, _, query = self.path.partition("?")
        srv.record(self.command, path, self.headers.get("Authorization"))
        if srv.redirect_to:
            self.send_response(302)
            self.send_header("Location", srv.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        user = None
        if srv.token is not None:
            auth = self.headers.get("Authorization", "")
            ok = False
            if auth.startswith("Basic "):
                try:
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    ok = p == srv.token and (srv.user is None or u == srv.user)
                    user = u
                except ValueError:
                    ok = False
            if not ok:
                srv.record_refusal()
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        body = self._body() if self.command == "POST" else b""
        status, headers, payload = self._backend(path, query, body, user)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _backend(self, path, query, body, user=None):
        """Run git http-backend for this request: (status, [(header, value)], payload)."""
        srv = self.server.owner
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": srv.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_USER": user or "",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        res = subprocess.run([GIT_HTTP_BACKEND], input=body, env=env, capture_output=True,
                             timeout=CGI_TIMEOUT)
        head, _, payload = res.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            if not line:
                continue
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((name, value.strip()))
        return status, headers, payload

    do_GET = _handle
    do_POST = _handle


class _ThreadingHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class GitHttpServer:
    """Smart HTTP(S) for the repositories under `root`.

    token: required as the basic-auth password (user `user`, any user if None).
    tls: (certfile, keyfile) to serve HTTPS.
    redirect_to: answer every request with a redirect to this base URL.
    requests: list of (method, path) seen; refusals: number of 401 answers.
    """

    def __init__(self, root, token=None, user=None, tls=None, redirect_to=None):
        self.root = os.path.abspath(root)
        self.redirect_to = redirect_to
        self.token = token
        self.user = user
        self.tls = tls
        self.requests = []
        self.auth_headers = []
        self.refusals = 0
        self._lock = threading.Lock()

    def record(self, method, path, auth):
        with self._lock:
            self.requests.append((method, path))
            self.auth_headers.append(auth)

    def record_refusal(self):
        with self._lock:
            self.refusals += 1

    def uploads(self):
        """Number of git-upload-pack POSTs (object negotiations / transfers)."""
        return sum(1 for m, p in self.requests if m == "POST" and p.endswith("/git-upload-pack"))

    def url(self, name):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{name}"

    def __enter__(self):
        self._httpd = _ThreadingHTTPServer(("127.0.0.1", 0), _CgiHandler)
        self._httpd.owner = self
        self._httpd.timeout = 0.2
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory, name="Test CA", server_name="127.0.0.1"):
    """A CA plus a server certificate for `server_name` (default 127.0.0.1) signed by it.

    Returns dict(ca=..., cert=..., key=...) of file paths.
    """
    os.makedirs(directory, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", f"/CN={server_name}", cwd=directory)
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        san = (f"DNS:{server_name},IP:{server_name}" if server_name[0].isdigit()
               else f"DNS:{server_name}")
        f.write(f"subjectAltName={san}\n"
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf",
             cwd=directory)
    return {k: os.path.join(directory, v)
            for k, v in (("ca", "ca.crt"), ("cert", "server.crt"), ("key", "server.key"))}
