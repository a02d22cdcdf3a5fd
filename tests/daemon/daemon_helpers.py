"""Helpers for the daemon's integration tests: a Git repository holding the
examples/ manifests, a running `aliasd run` with a notify socket of our own,
HTTP access to its endpoint, bounded waits everywhere."""
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

GIT_ENV = {
    "GIT_AUTHOR_NAME": "aliasd test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "aliasd test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
}


def wait_for(cond, timeout, interval=0.05, what="condition"):
    """Poll cond() until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Repo:
    """A bare repository (what aliasd polls) and a working clone to commit from."""

    def __init__(self, tmp):
        self.bare = os.path.join(tmp, "releases.git")
        self.work = os.path.join(tmp, "work")
        self.env = dict(os.environ, **GIT_ENV)
        self.git("init", "-q", "--bare", "-b", "main", self.bare, cwd=tmp)
        self.git("init", "-q", "-b", "main", self.work, cwd=tmp)
        self.git("remote", "add", "origin", self.bare)
        os.makedirs(os.path.join(self.work, "functions"))
        shutil.copytree(os.path.join(EXAMPLES, "artifacts"), os.path.join(self.work, "artifacts"))

    @property
    def url(self):
        return "file://" + self.bare

    def git(self, *args, cwd=None):
        r = subprocess.run(["git"] + list(args), cwd=cwd or self.work, env=self.env,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError("git %s: %s" % (" ".join(args), r.stderr))
        return r.stdout.strip()

    def write(self, path, text):
        full = os.path.join(self.work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def commit(self, message):
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "main")
        return self.git("rev-parse", "HEAD")


def function_manifest(name, prod="v1", test="v2", extra=""):
    """The examples/ walkthrough manifest for function `name`."""
    return f"""apiVersion: aliasd/v1
kind: Function
name: {name}
config:
  runtime: python3.12
  handler: app.handler
  role: arn:aws:iam::123456789012:role/my-lambda-role
  memorySize: 128
  timeout: 3
releases:
  v1:
    code: {{zipFile: artifacts/Version1.zip}}
    description: Version1
  v2:
    code: {{zipFile: artifacts/Version2.zip}}
    description: Version2
aliases:
  Prod: {prod}
  Test: {test}
{extra}"""


def rollout_manifest(name, release, rollout):
    """function_manifest's function with Prod alone, on `release`, moved by
    `rollout` (a flow mapping such as "{steps: [50], interval: 3s}", or a
    CodeDeploy configuration name)."""
    head = function_manifest(name).split("aliases:\n")[0]
    return head + f"aliases:\n  Prod:\n    release: {release}\n    rollout: {rollout}\n"


def write_config(path, repo_url, state_dir, port, interval="1s", secret_file=None, resync="10m",
                 extra_repo="", backoff_max="4s", log_level="debug"):
    lines = [
        "repository:",
        f"  url: {repo_url}",
        "  ref: main",
        "  path: functions",
        f"  interval: {interval}",
    ]
    if extra_repo:
        lines.append(extra_repo)
    lines += [
        "reconcile:",
        f"  resync: {resync}",
        "  concurrency: 4",
        "  rateLimit: 50",
        f"  backoffMax: {backoff_max}",
        "server:",
        f"  listen: 127.0.0.1:{port}",
    ]
    if secret_file:
        lines.append(f"  webhookSecretFile: {secret_file}")
    lines += [f"stateDir: {state_dir}", "log:", "  format: text", f"  level: {log_level}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


class NotifySocket:
    """A datagram socket like systemd's NOTIFY_SOCKET; records every message."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.times = []  # time.monotonic() of each message
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.closed:
            try:
                data = self.sock.recv(8192)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append(data.decode(errors="replace"))
                self.times.append(time.monotonic())

    def all(self):
        with self.lock:
            return list(self.messages)

    def times_of(self, text):
        """monotonic times of the messages that hold the line `text`"""
        with self.lock:
            return [t for m, t in zip(self.messages, self.times) if text in m.split("\n")]

    def has(self, text):
        return any(text in m.split("\n") for m in self.all())

    def close(self):
        self.closed = True
        self.thread.join(timeout=2)
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class Daemon:
    """`aliasd run -c CONFIG` with the emulator's environment and a notify socket."""

    count = 0

    def __init__(self, binary, config, tmp, env, port, extra_env=None):
        self.binary = binary
        self.config = config
        self.port = port
        Daemon.count += 1
        self.notify = NotifySocket(os.path.join(tmp, "notify-%d.sock" % Daemon.count))
        self.log_path = os.path.join(tmp, "aliasd-%d.log" % Daemon.count)
        self.log = open(self.log_path, "w")
        full_env = dict(os.environ)
        full_env.update(env)
        full_env["NOTIFY_SOCKET"] = self.notify.path
        full_env.update(extra_env or {})
        full_env.pop("JOURNAL_STREAM", None)
        self.env = full_env
        self._spawn()

    def _spawn(self):
        self.proc = subprocess.Popen([self.binary, "run", "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_ready(self, timeout=20):
        for attempt in range(3):
            try:
                wait_for(lambda: self.notify.has("READY=1") or self.proc.poll() is not None, timeout,
                         what="READY=1")
            except AssertionError:
                raise AssertionError("no READY=1; log:\n" + self.log_text())
            # free_port() races: between its close and aliasd's bind, another test's
            # server may take the port (bind to port 0). Only then, and only if aliasd
            # said so, move to another port (server.listen rewritten) and start again.
            if self.proc.poll() is None or attempt == 2 or \
                    "cannot listen on 127.0.0.1:%d:" % self.port not in self.log_text():
                break
            self._move_port()
            self._spawn()
        assert self.proc.poll() is None, "aliasd exited %s:\n%s" % (self.proc.returncode, self.log_text())

    def _move_port(self):
        old = "listen: 127.0.0.1:%d\n" % self.port
        with open(self.config) as f:
            text = f.read()
        assert old in text, text
        self.port = free_port()
        with open(self.config, "w") as f:
            f.write(text.replace(old, "listen: 127.0.0.1:%d\n" % self.port))

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path, timeout=10):
        """(status, body text)"""
        try:
            with _OPENER.open(self.url(path), timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metric(self, sample):
        """The value of one /metrics sample, e.g. 'aliasd_up' or 'x_total{result="ok"}'."""
        code, text = self.get("/metrics")
        assert code == 200, code
        for line in text.splitlines():
            if line.startswith(sample + " "):
                return float(line.rpartition(" ")[2])
        raise AssertionError("no sample %s in:\n%s" % (sample, text))

    def status(self):
        code, body = self.get("/status")
        assert code == 200, (code, body)
        return json.loads(body)

    def function(self, name):
        for f in self.status()["functions"]:
            if f["name"] == name:
                return f
        return None

    def post_hook(self, body, secret=None, event="push", signature=None):
        req = urllib.request.Request(self.url("/hooks/github"), data=body, method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header("X-GitHub-Event", event)
        req.add_header("X-GitHub-Delivery", "test-delivery")
        if signature is None and secret is not None:
            signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if signature is not None:
            req.add_header("X-Hub-Signature-256", signature)
        try:
            with _OPENER.open(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=5):
        """SIGTERM; returns (exit status, seconds it took)."""
        if self.proc.poll() is not None:
            return self.proc.returncode, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            rc = None
        return rc, time.monotonic() - t0

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.log.close()
        self.notify.close()


def alias_versions(emu, function):
    """{alias: version} as the emulator (Lambda) has them now."""
    lam = emu.client()
    out = {}
    for page in lam.get_paginator("list_aliases").paginate(FunctionName=function):
        for a in page["Aliases"]:
            out[a["Name"]] = a["FunctionVersion"]
    return out


def version_descriptions(emu, function):
    """{version: description} of the published versions."""
    lam = emu.client()
    out = {}
    for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=function):
        for v in page["Versions"]:
            if v["Version"] != "$LATEST":
                out[v["Version"]] = v.get("Description", "")
    return out


class World:
    """Emulator + repository + config + running daemon, for one test."""

    def __init__(self, binary, emu, tmp):
        self.binary = binary
        self.emu = emu
        self.tmp = str(tmp)
        self.repo = Repo(self.tmp)
        self.port = free_port()
        self.config = os.path.join(self.tmp, "aliasd.yaml")
        self.state_dir = os.path.join(self.tmp, "state")
        self.secret = b"it's a secret to everybody"
        self.secret_file = os.path.join(self.tmp, "webhook-secret")
        with open(self.secret_file, "wb") as f:
            f.write(self.secret + b"\n")
        self.daemon = None

    def configure(self, **kw):
        kw.setdefault("secret_file", self.secret_file)
        write_config(self.config, kw.pop("repo_url", self.repo.url), self.state_dir, self.port, **kw)

    def start(self, wait_ready=True, **kw):
        if not os.path.exists(self.config) or kw:
            self.configure(**kw)
        if self.daemon:
            self.daemon.close()
        self.daemon = Daemon(self.binary, self.config, self.tmp, self.emu.env(), self.port)
        if wait_ready:
            self.daemon.wait_ready()
            self.port = self.daemon.port  # moved if its first port was taken (Daemon.wait_ready)
        return self.daemon

    def wait_aliases(self, function, want, timeout):
        """Wait until the function's aliases are exactly `want` ({alias: "N"})."""
        def ok():
            try:
                return alias_versions(self.emu, function) == want
            except Exception:  # function not created yet
                return False
        try:
            wait_for(ok, timeout, interval=0.02, what="%s aliases %s" % (function, want))
        except AssertionError:
            raise AssertionError("aliases of %s never became %s (now %s); log:\n%s" % (
                function, want, self._safe_aliases(function), self.daemon.log_text()[-4000:]))

    def _safe_aliases(self, function):
        try:
            return alias_versions(self.emu, function)
        except Exception as e:
            return repr(e)

    def wait_state(self, function, state, timeout=15):
        def ok():
            f = self.daemon.function(function)
            return f if f and f["state"] == state else None
        try:
            return wait_for(ok, timeout, what="%s %s" % (function, state))
        except AssertionError:
            raise AssertionError("%s never %s: %s; log:\n%s" % (
                function, state, self.daemon.function(function), self.daemon.log_text()[-4000:]))

    def close(self):
        if self.daemon:
            self.daemon.close()
