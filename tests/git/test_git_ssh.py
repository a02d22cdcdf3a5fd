"""manifest/repo.c over SSH, against a real OpenSSH server (tests/git/sshserver.py).

Drives $BUILD/tests/tools/manifest_repo_dump with --ssh-key and --known-hosts:
fetching over ssh:// and the scp-like user@host:path form, and every way the
server's host key can fail to be trusted (unknown host, changed key, @revoked,
@cert-authority, negated patterns, hashed names), plus client keys the server
refuses.  A refused host key must stop the connection BEFORE the client key is
offered: the tests check sshd's log for that.  Servers that stop answering (silent,
banner then silence, sshd stalling mid-pack behind a proxy) must fail with
ETIMEDOUT after --timeout-ms, and a slow server that keeps making progress must not.

If sshd cannot run, the tests FAIL (they never skip): CI installs
openssh-server through deploy/install-deps.sh.

Two facts about Debian 12's libgit2 1.5.1 shape these tests:
- it reads $HOME/.ssh/known_hosts by itself to choose which host key TYPE to
  ask the server for (aliasd's own known_hosts file then decides trust), so
  every run gets an empty HOME unless the test says otherwise;
- it leaks its known_hosts state on every SSH connection (libgit2#6598, fixed
  in 1.7 by #6599), in static functions without symbols: under SANITIZE=1 the
  runs get an LSan suppression naming the exported call that performs it
  (git_remote_connect_ext) and libssh2_knownhost_init, with full stack
  unwinding so those frames are seen.  It applies to these SSH runs only.
"""
import os
import random
import re
import socket
import subprocess
import threading
import time

import pytest

import gitservers as gs
import sshserver
from sshserver import SshServer, SshdUnavailable, write_known_hosts

RUN_TIMEOUT = 20  # seconds, per tool run (each takes well under one)

FILES = {
    "functions/orders.yaml": "name: orders\n",
    "functions/payments/pay.yml": "name: pay\n",
    "top.yaml": "name: top\n",
    "README.md": "not a manifest\n",
}
WANT = ["functions/orders.yaml", "functions/payments/pay.yml", "top.yaml"]


def start_server(directory, **kw):
    """An SshServer, started; a machine where sshd cannot run fails the test."""
    srv = SshServer(directory, **kw)
    try:
        return srv.__enter__()
    except SshdUnavailable as e:
        pytest.fail(f"cannot run the test SSH server: {e}")


LSAN_LIBGIT2_SSH = """\
# libgit2 1.5 leaks the known_hosts state of every SSH connection (libgit2#6598)
leak:libssh2_knownhost_init
leak:git_remote_connect_ext
"""


@pytest.fixture(scope="module")
def sanitizer_env(tmp_path_factory):
    """ASAN_OPTIONS/LSAN_OPTIONS for the tool: the caller's, plus the libgit2 suppression."""
    d = tmp_path_factory.mktemp("lsan")
    lsan = [o for o in os.environ.get("LSAN_OPTIONS", "").split(":") if o]
    text = LSAN_LIBGIT2_SSH
    for opt in [o for o in lsan if o.startswith("suppressions=")]:
        with open(opt.split("=", 1)[1]) as f:
            text = f.read() + "\n" + text
        lsan.remove(opt)
    supp = d / "lsan.supp"
    supp.write_text(text)
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LSAN_OPTIONS": ":".join(lsan + [f"suppressions={supp}", "print_suppressions=0"]),
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "fast_unwind_on_malloc=0"}


@pytest.fixture(scope="module")
def dump_bin(build_dir):
    path = os.path.join(build_dir, "tests", "tools", "manifest_repo_dump")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make tests")
    return path


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """One server for the tests that do not change its configuration."""
    srv = start_server(tmp_path_factory.mktemp("sshd"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A bare repository (with tag v1) that the tests only read: path and head commit."""
    root = tmp_path_factory.mktemp("served")
    work = str(root / "work")
    head = gs.make_repo(work, FILES)
    gs.git("tag", "v1", cwd=work)
    bare = gs.make_bare(work, str(root / "r.git"))
    return {"bare": bare, "head": head}


@pytest.fixture
def repos(tmp_path):
    """A working tree and its bare clone that a test may push to."""
    work = str(tmp_path / "work")
    head = gs.make_repo(work, FILES)
    bare = gs.make_bare(work, str(tmp_path / "r.git"))
    return {"work": work, "bare": bare, "head": head}


@pytest.fixture
def dump(dump_bin, tmp_path, sanitizer_env):
    """Run the tool; key/known_hosts default to the given server's (pass None to omit).
    HOME is an empty directory unless env gives one."""
    state = str(tmp_path / "state")
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()
    unset = object()

    def run(url, *commands, srv=None, key=unset, known_hosts=unset, snapshot=False, ref=None,
            env=None, state_dir=None, extra_args=(), run_timeout=RUN_TIMEOUT):
        args = [dump_bin, "--url", url, "--state-dir", state_dir or state, *extra_args]
        if key is unset:
            key = srv.client_key
        if known_hosts is unset:
            known_hosts = write_known_hosts(str(tmp_path / "known_hosts"), [srv.known_hosts_line()])
        if key is not None:
            args += ["--ssh-key", key]
        if known_hosts is not None:
            args += ["--known-hosts", known_hosts]
        if ref is not None:
            args += ["--ref", ref]
        if snapshot:
            args.append("--snapshot")
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("GIT_TOKEN", "SSH_AUTH_SOCK")}
        full_env.update(sanitizer_env)
        full_env["HOME"] = str(empty_home)
        full_env.update(env or {})
        start = time.monotonic()
        proc = subprocess.run(args + list(commands), capture_output=True, text=True,
                              timeout=run_timeout, env=full_env)
        res = gs.Result(proc, time.monotonic() - start)
        # under SANITIZE=1 the tool is instrumented: a finding is a failure, even on refusals
        assert "Sanitizer" not in res.err, res.err
        return res

    run.state = state
    return run


def kh_file(tmp_path, lines, name="kh", hashed=False):
    return write_known_hosts(str(tmp_path / name), lines, hashed=hashed)


def other_key(tmp_path, key_type="ed25519", name="other"):
    """(type, base64) of a fresh key that belongs to no server."""
    pub = sshserver.keygen(str(tmp_path / name), key_type)
    return sshserver.public_key_fields(pub)


def session_log(srv, since, timeout=3.0):
    """sshd's log after offset `since`, once the connection(s) it shows have closed."""
    deadline = time.monotonic() + timeout
    while True:
        text = srv.log()[since:]
        opened = text.count("Connection from ")
        closed = len(re.findall(r"Connection closed by|Disconnected from|Received disconnect|"
                                r"Connection reset by", text))
        if (opened and closed >= opened) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def assert_key_never_offered(srv, since):
    """The client stopped at the host key: no user authentication reached sshd."""
    text = session_log(srv, since)
    assert "Connection from " in text, "the tool did not even reach sshd:\n" + text
    for word in ("publickey", "Accepted", "Invalid user", "Starting session"):
        assert word not in text, f"'{word}' in sshd's log: the client went past the host key:\n{text}"


def refused(res, *words):
    assert res.rc == 1, (res.out, res.err)
    assert "error EACCES" in res.err, res.err
    for w in words:
        assert w in res.err, (w, res.err)
    assert res.elapsed < 10, res.elapsed


# ---- fetching over ssh:// -------------------------------------------------


def test_ssh_url_remote_head_fetch_list_read(dump, sshd, repos):
    url = sshd.url(repos["bare"])
    assert url == f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{repos['bare']}"
    since = len(sshd.log())
    res = dump(url, "remote-head", "fetch", "list", "", "read", "functions/orders.yaml", "info",
               srv=sshd)
    assert res.rc == 0, res.err
    assert res.one("remote-head") == repos["head"]
    assert res.one("fetch") == repos["head"] + " downloaded=1"
    assert res.lines("path") == WANT
    assert "name: orders\n" in res.out
    assert res.one("downloads") == "1"
    # the user name is userinfo: shown as *** like any userinfo
    assert res.one("handle") == f"ssh://***@127.0.0.1:{sshd.port}{repos['bare']}@HEAD"
    assert gs.has_object(res.one("cache"), repos["head"])
    log = session_log(sshd, since)
    assert log.count(f"Accepted publickey for {sshd.user} from 127.0.0.1") == 2, log

    # unchanged remote: nothing to download
    res = dump(url, "remote-head", "fetch", srv=sshd)
    assert res.rc == 0, res.err
    assert res.one("fetch") == repos["head"] + " downloaded=0"

    # a new commit: remote-head sees it, fetch brings it, the snapshot shows it
    gs.write(repos["work"], "functions/orders.yaml", "name: orders\nmemory: 256\n")
    oid = gs.commit_all(repos["work"], "bump")
    gs.push(repos["work"], repos["bare"])
    res = dump(url, "remote-head", "fetch", "read", "functions/orders.yaml", "revision", srv=sshd)
    assert res.rc == 0, res.err
    assert res.one("remote-head") == oid
    assert res.one("fetch") == oid + " downloaded=1"
    assert "memory: 256\n" in res.out
    assert res.one("revision") == oid


def test_ssh_snapshot_of_a_tag(dump, sshd, served):
    res = dump(sshd.url(served["bare"]), "revision", "list", "functions", srv=sshd, snapshot=True,
               ref="v1")
    assert res.rc == 0, res.err
    assert res.one("revision") == served["head"]
    assert res.lines("path") == WANT[:2]


def test_ssh_missing_repository(dump, sshd, tmp_path):
    res = dump(sshd.url(str(tmp_path / "nope.git")), "remote-head", srv=sshd)
    assert res.rc == 1
    assert "error EIO" in res.err or "error ENOENT" in res.err, res.err
    assert res.elapsed < 10


def test_default_key_and_known_hosts_from_home(dump, sshd, served, tmp_path):
    """No --ssh-key/--known-hosts: ~/.ssh/id_ed25519 and ~/.ssh/known_hosts."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    with open(sshd.client_key) as src, open(home / ".ssh" / "id_ed25519", "w") as dst:
        dst.write(src.read())
    os.chmod(home / ".ssh" / "id_ed25519", 0o600)
    write_known_hosts(str(home / ".ssh" / "known_hosts"), [sshd.known_hosts_line()])
    res = dump(sshd.url(served["bare"]), "remote-head", srv=sshd, key=None, known_hosts=None,
               env={"HOME": str(home)})
    assert res.rc == 0, res.err
    assert res.one("remote-head") == served["head"]

    # the same HOME without known_hosts: the default file is missing, so refused
    os.unlink(home / ".ssh" / "known_hosts")
    res = dump(sshd.url(served["bare"]), "remote-head", srv=sshd, key=None, known_hosts=None,
               env={"HOME": str(home)})
    refused(res, "known_hosts")


# ---- scp-like user@host:path ------------------------------------------------


def _port22_server(directory):
    """sshd on port 22 of a random 127.x.y.z (all of 127/8 is loopback on Linux), or
    (None, address) if port 22 of that address cannot be bound (another server on
    *:22, or not root)."""
    addr = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((addr, 22))
    except OSError:
        return None, addr
    finally:
        probe.close()
    try:
        return start_server(directory, host=addr, port=22), addr
    except OSError:  # lost a race for the port
        return None, addr


def test_scp_like_url(dump, served, tmp_path):
    """user@host:/path has no port: it is port 22, and known_hosts names the host bare.

    libgit2 has no port syntax for the scp form (and reads no ~/.ssh/config), so the
    server runs on port 22 of a random loopback address.  Where port 22 cannot be
    bound (some other server listens on *:22, or the tests do not run as root) the
    test still checks, against whatever answers on port 22, that the scp form is
    looked up in known_hosts by its bare name: an unknown-host refusal naming it.
    """
    srv, addr = _port22_server(str(tmp_path / "sshd22"))
    if srv is None:
        try:
            with socket.create_connection((addr, 22), timeout=2) as s:
                s.settimeout(2)
                banner = s.recv(64)
        except OSError as e:
            pytest.fail(f"port 22 of {addr} can neither be bound nor reached ({e}): cannot "
                        "test the scp-like URL form (run the tests as root, as CI does)")
        assert banner.startswith(b"SSH-2.0-"), f"port 22 is not an SSH server: {banner!r}"
        res = dump(f"git@{addr}:{served['bare']}", "remote-head", key=None,
                   known_hosts=kh_file(tmp_path, []))
        refused(res, f"host {addr} is not in", "unknown host keys are refused")
        return
    try:
        assert srv.port == 22
        line = srv.known_hosts_line()
        assert line.startswith(addr + " ssh-ed25519 "), line  # no [host]:port on port 22
        url = srv.scp_url(served["bare"])
        assert url == f"{srv.user}@{addr}:{served['bare']}"
        res = dump(url, "remote-head", "fetch", "list", "", "info", srv=srv)
        assert res.rc == 0, res.err
        assert res.one("remote-head") == served["head"]
        assert res.lines("path") == WANT
        assert "Accepted publickey" in session_log(srv, 0)

        # "[addr]:22" is not how OpenSSH names port 22: such a line does not match
        since = len(srv.log())
        res = dump(url, "remote-head", srv=srv,
                   known_hosts=kh_file(tmp_path, [srv.known_hosts_line(name=f"[{addr}]:22")]))
        refused(res, f"host {addr} is not in")
        assert_key_never_offered(srv, since)

        # the scp form refuses a changed key like ssh:// does
        ktype, b64 = other_key(tmp_path)
        res = dump(url, "remote-head", srv=srv,
                   known_hosts=kh_file(tmp_path, [f"{addr} {ktype} {b64}"]))
        refused(res, "does not match")
    finally:
        srv.stop()


# ---- host keys that are not trusted -------------------------------------------


@pytest.mark.parametrize("case", ["empty", "other-hosts", "other-port", "port-22-name",
                                  "cert-authority", "negated"])
def test_unknown_host_refused(dump, sshd, served, tmp_path, case):
    """The host is not listed (with any key): refused before the client key is offered."""
    key = sshd.known_hosts_line().split(" ", 1)[1]  # "ssh-ed25519 AAAA..." of the real server
    name = f"[127.0.0.1]:{sshd.port}"
    lines = {
        "empty": [],
        "other-hosts": [f"git.example.com {key}", f"[127.0.0.2]:{sshd.port} {key}"],
        # the right key, for another port of the same address
        "other-port": [f"[127.0.0.1]:{sshd.port + 1 if sshd.port < 65535 else 1} {key}"],
        # the right key under the port-22 name
        "port-22-name": [f"127.0.0.1 {key}"],
        # a CA line is not a host key (certificates are not supported)
        "cert-authority": [f"@cert-authority {name} {key}"],
        # a negated pattern excludes the host from a line that would match it
        "negated": [f"*,!{name} {key}"],
    }[case]
    since = len(sshd.log())
    res = dump(sshd.url(served["bare"]), "remote-head", "fetch", srv=sshd,
               known_hosts=kh_file(tmp_path, lines))
    refused(res, f"host {name} is not in", "unknown host keys are refused")
    assert "remote-head" not in res.out
    assert_key_never_offered(sshd, since)
    assert cached_objects(dump.state) == 0


def cached_objects(state):
    """Objects in all cache clones under a state directory."""
    root = os.path.join(state, "git")
    if not os.path.isdir(root):
        return 0
    return sum(gs.object_count(os.path.join(root, d)) for d in os.listdir(root))


@pytest.mark.parametrize("hashed", [False, True])
def test_changed_host_key_refused(dump, sshd, served, tmp_path, hashed):
    ktype, b64 = other_key(tmp_path)
    since = len(sshd.log())
    res = dump(sshd.url(served["bare"]), "remote-head", "fetch", srv=sshd,
               known_hosts=kh_file(tmp_path, [f"[127.0.0.1]:{sshd.port} {ktype} {b64}"],
                                   hashed=hashed))
    refused(res, f"the host key of [127.0.0.1]:{sshd.port} does not match",
            "host key changed, or an attacker")
    assert "remote-head" not in res.out
    assert_key_never_offered(sshd, since)


def test_revoked_host_key_refused(dump, sshd, served, tmp_path):
    """@revoked wins over a line that lists the same key for the host."""
    key = sshd.known_hosts_line().split(" ", 1)[1]
    since = len(sshd.log())
    res = dump(sshd.url(served["bare"]), "remote-head", srv=sshd,
               known_hosts=kh_file(tmp_path, [sshd.known_hosts_line(), f"@revoked * {key}"]))
    refused(res, "is marked @revoked")
    assert_key_never_offered(sshd, since)


def test_missing_known_hosts_file_refused(dump, sshd, served, tmp_path):
    res = dump(sshd.url(served["bare"]), "remote-head", srv=sshd,
               known_hosts=str(tmp_path / "missing"))
    refused(res, "cannot read known_hosts file", "No such file")


# ---- host keys that are trusted ------------------------------------------------


@pytest.mark.parametrize("case", ["hashed", "wildcard", "several-keys", "comments-and-junk",
                                  "many-stars"])
def test_known_hosts_forms_accepted(dump, sshd, served, tmp_path, case):
    key = sshd.known_hosts_line().split(" ", 1)[1]
    otype, ob64 = other_key(tmp_path)
    name = f"[127.0.0.1]:{sshd.port}"
    hashed = case == "hashed"
    lines = {
        "hashed": [f"git.example.com {otype} {ob64}", sshd.known_hosts_line()],
        "wildcard": [f"[127.0.0.?]:{sshd.port},*.example.com {key}"],
        # OpenSSH accepts the host if any of its lines carries the key
        "several-keys": [f"{name} {otype} {ob64}", f"{name} {key} with a comment"],
        "comments-and-junk": ["# a comment", "", "   ", f"{name} ssh-ed25519 !!!notbase64",
                              f"{name}", f"\t{name}\t{key}"],
        # a pattern that matches nothing, with backtracking that once took exponential time
        "many-stars": ["*" * 40 + f"z {otype} {ob64}", f"{'*' * 40}?{'*' * 40}:*{'*' * 40} {key}"],
    }[case]
    path = kh_file(tmp_path, lines, hashed=hashed)
    if hashed:
        text = open(path).read()
        assert text.count("|1|") == 2 and "127.0.0.1" not in text, text
    res = dump(sshd.url(served["bare"]), "remote-head", srv=sshd, known_hosts=path)
    assert res.rc == 0, res.err
    assert res.one("remote-head") == served["head"]
    assert res.elapsed < 10, res.elapsed


def test_several_host_key_types(dump, served, tmp_path):
    """A server with ed25519 and ecdsa host keys: libgit2 1.5 asks for the types
    listed in ~/.ssh/known_hosts (not in aliasd's file), else libssh2 picks; aliasd's
    file must hold the key negotiated, and when it holds only another type the
    refusal says what to add."""
    srv = start_server(str(tmp_path / "sshd2"), host_key_types=("ed25519", "ecdsa"))
    try:
        both = [srv.known_hosts_line("ed25519"), srv.known_hosts_line("ecdsa")]
        res = dump(srv.url(served["bare"]), "remote-head", srv=srv,
                   known_hosts=kh_file(tmp_path, both))
        assert res.rc == 0, res.err
        assert res.one("remote-head") == served["head"]
        accepted = []
        for ktype in ("ed25519", "ecdsa"):
            res = dump(srv.url(served["bare"]), "remote-head", srv=srv,
                       known_hosts=kh_file(tmp_path, [srv.known_hosts_line(ktype)]))
            if res.rc == 0:
                accepted.append(ktype)
            else:
                refused(res, "does not match", "the server offered its", "only other key types",
                        "add the server's")
        assert len(accepted) == 1, accepted  # the negotiated type, and only it
        # ~/.ssh/known_hosts listing the other type makes libgit2 ask for it
        rejected = "ecdsa" if accepted == ["ed25519"] else "ed25519"
        home = tmp_path / "home"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "known_hosts").write_text(srv.known_hosts_line(rejected) + "\n")
        res = dump(srv.url(served["bare"]), "remote-head", srv=srv, env={"HOME": str(home)},
                   known_hosts=kh_file(tmp_path, [srv.known_hosts_line(rejected)]))
        assert res.rc == 0, res.err
    finally:
        srv.stop()


# ---- client authentication -------------------------------------------------


def test_wrong_client_key_refused_quickly(dump, sshd, served, tmp_path):
    other_key(tmp_path, name="stranger")
    since = len(sshd.log())
    res = dump(sshd.url(served["bare"]), "remote-head", "fetch", srv=sshd,
               key=str(tmp_path / "stranger"))
    refused(res, "authentication failed", "the SSH key was refused")
    assert res.elapsed < 5, res.elapsed
    log = session_log(sshd, since)
    assert "Accepted publickey" not in log, log
    # one key, offered once: no retry loop against the server
    attempts = len(re.findall(r"Failed publickey|Postponed publickey", log))
    assert 1 <= attempts <= 2, log
    assert log.count("Connection from ") == 1, log


def test_missing_key_file_refused(dump, sshd, served, tmp_path):
    since = len(sshd.log())
    missing = str(tmp_path / "nokey")
    res = dump(sshd.url(served["bare"]), "remote-head", srv=sshd, key=missing)
    # a configuration error (EACCES), not a network one (EIO would mean "retry later")
    refused(res, f"cannot read the SSH key file {missing}: No such file")
    assert res.elapsed < 5
    assert "Accepted publickey" not in session_log(sshd, since)


def test_user_defaults_to_git(dump, sshd, served):
    """ssh://host:port/path without a user logs in as "git" (no such user here)."""
    since = len(sshd.log())
    res = dump(sshd.url(served["bare"], user=""), "remote-head", srv=sshd)
    refused(res, "authentication failed")
    log = session_log(sshd, since)
    assert re.search(r"Invalid user git from 127\.0\.0\.1", log), log
    assert "Accepted publickey" not in log


def test_key_not_offered_to_unknown_user_twice(dump, sshd, served):
    """A user sshd does not allow: refused, bounded, one connection."""
    since = len(sshd.log())
    res = dump(sshd.url(served["bare"], user="nobody"), "fetch", srv=sshd)
    refused(res, "authentication failed")
    log = session_log(sshd, since)
    assert log.count("Connection from ") == 1, log
    assert "Accepted publickey" not in log


# ---- servers that stop answering ----------------------------------------------------
#
# libssh2 does the SSH I/O on the raw socket with a blocking poll() and no timeout;
# aliasd's watchdog (manifest/repo.c) shuts the socket down after --timeout-ms without
# traffic, so remote-head/fetch fail with ETIMEDOUT instead of hanging the daemon.

SHORT_TIMEOUT_MS = 700


class BannerThenStallServer(gs.SilentServer):
    """Accepts TCP connections, sends an SSH banner, then never says anything again."""

    BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"

    def _serve(self, conn):
        super()._serve(conn)
        conn.sendall(self.BANNER)


class StallingProxy:
    """A TCP proxy on 127.0.0.1 in front of `upstream_port` (sshd).

    stall_after: once this many bytes went server -> client, forward nothing more in
                 that direction (the connection stays open): a server that stops in
                 the middle of a transfer.  None = never.
    delay:       seconds to wait before forwarding each server -> client chunk
                 (a slow server that still makes progress).
    """

    def __init__(self, upstream_port, stall_after=None, delay=0.0):
        self.upstream_port = upstream_port
        self.stall_after = stall_after
        self.delay = delay
        self.down_bytes = 0
        self.stalled = threading.Event()
        self._socks = []
        self._threads = []
        self._lock = threading.Lock()

    def _pump(self, src, dst, downstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if downstream:
                    if self.delay:
                        time.sleep(self.delay)
                    if self.stall_after is not None:
                        room = self.stall_after - self.down_bytes
                        data = data[:max(room, 0)]
                    self.down_bytes += len(data)
                    if data:
                        dst.sendall(data)
                    if self.stall_after is not None and self.down_bytes >= self.stall_after:
                        self.stalled.set()
                        return  # stop reading from the server; both sockets stay open
                else:
                    dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _serve(self, conn):
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            conn.close()
            return
        up.settimeout(None)
        conn.settimeout(None)
        with self._lock:
            self._socks += [conn, up]
            for args in ((conn, up, False), (up, conn, True)):
                t = threading.Thread(target=self._pump, args=args, daemon=True)
                self._threads.append(t)
                t.start()

    def __enter__(self):
        self._listener = gs._Listener(self._serve)
        self.port = self._listener.port
        return self

    def __exit__(self, *exc):
        self._listener.close()
        with self._lock:
            for sock in self._socks:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=5)


def timed_out(res, port, timeout_ms=SHORT_TIMEOUT_MS):
    """The run failed with ETIMEDOUT naming the silent endpoint, after the timeout and
    promptly after it (a hang would have hit run_timeout instead)."""
    assert res.rc == 1, (res.out, res.err)
    assert "error ETIMEDOUT" in res.err, res.err
    assert f"no data from ssh://127.0.0.1:{port} for {timeout_ms / 1000:g} s" in res.err, res.err
    assert timeout_ms / 1000 * 0.9 <= res.elapsed < timeout_ms / 1000 + 5, res.elapsed


@pytest.mark.parametrize("kind", ["silent", "banner-then-stall"])
@pytest.mark.parametrize("command", ["remote-head", "fetch"])
def test_hung_ssh_server_times_out(dump, tmp_path, kind, command):
    """A server that accepts the TCP connection and never speaks (or only sends its
    banner): the SSH handshake, done by libssh2, is cut by the watchdog."""
    server = gs.SilentServer() if kind == "silent" else BannerThenStallServer()
    with server as srv:
        try:
            res = dump(srv.url("ssh", "r.git"), command, key=None,
                       known_hosts=kh_file(tmp_path, []),
                       extra_args=["--timeout-ms", str(SHORT_TIMEOUT_MS)], run_timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the tool hung on a {kind} SSH server")
        assert srv.wait_connections(1) == 1
    timed_out(res, srv.port)
    assert command not in res.out


def big_repo(tmp_path):
    """A bare repository whose pack is about 1.5 MB (random, incompressible)."""
    work = str(tmp_path / "bigwork")
    files = dict(FILES)
    head = gs.make_repo(work, files)
    gs.write(work, "blob.bin", os.urandom(1536 * 1024))
    head = gs.commit_all(work, "big")
    return gs.make_bare(work, str(tmp_path / "big.git")), head


def test_ssh_stall_mid_transfer_times_out(dump, sshd, tmp_path):
    """sshd stops sending in the middle of the pack (after authentication): fetch fails
    with ETIMEDOUT after the timeout instead of waiting in libssh2 forever."""
    bare, _ = big_repo(tmp_path)
    with StallingProxy(sshd.port, stall_after=256 * 1024) as proxy:
        url = f"ssh://{sshd.user}@127.0.0.1:{proxy.port}{bare}"
        kh = kh_file(tmp_path, [sshd.known_hosts_line(name=f"[127.0.0.1]:{proxy.port}")])
        since = len(sshd.log())
        try:
            res = dump(url, "fetch", srv=sshd, known_hosts=kh,
                       extra_args=["--timeout-ms", str(SHORT_TIMEOUT_MS)], run_timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("the tool hung on an SSH server that stalled mid-transfer")
        assert proxy.stalled.is_set(), proxy.down_bytes
    # the stall came after the login, while the pack was coming
    assert f"Accepted publickey for {sshd.user}" in sshd.log()[since:]
    assert res.rc == 1, (res.out, res.err)
    assert "error ETIMEDOUT" in res.err, res.err
    assert f"no data from ssh://127.0.0.1:{proxy.port} for 0.7 s" in res.err, res.err
    assert res.elapsed < SHORT_TIMEOUT_MS / 1000 + 8, res.elapsed
    assert "fetch " not in res.out


def test_ssh_slow_server_with_progress_is_not_cut(dump, sshd, served, tmp_path):
    """The timeout is for inactivity, not for the whole run: a server that answers
    every packet late, but well within the timeout, is waited for even when the whole
    run takes longer than the timeout."""
    timeout_ms = 1000
    # each server -> client chunk 0.25 s late: silences well under the timeout, but an
    # SSH login and fetch take a dozen round trips, so the one operation lasts longer
    with StallingProxy(sshd.port, delay=0.25) as proxy:
        url = f"ssh://{sshd.user}@127.0.0.1:{proxy.port}{served['bare']}"
        kh = kh_file(tmp_path, [sshd.known_hosts_line(name=f"[127.0.0.1]:{proxy.port}")])
        res = dump(url, "fetch", srv=sshd, known_hosts=kh,
                   extra_args=["--timeout-ms", str(timeout_ms)], run_timeout=30)
    assert res.rc == 0, res.err
    assert res.one("fetch") == served["head"] + " downloaded=1"
    assert res.elapsed > 2 * timeout_ms / 1000, res.elapsed  # one operation, longer than the timeout
