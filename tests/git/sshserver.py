"""A real OpenSSH server on 127.0.0.1 for the Git-over-SSH tests.

    with SshServer(directory) as srv:
        srv.url("/abs/path/r.git")         # ssh://root@127.0.0.1:PORT/abs/path/r.git
        srv.client_key                     # authorised private key (ed25519, no passphrase)
        srv.known_hosts_line()             # "[127.0.0.1]:PORT ssh-ed25519 AAAA..."
        srv.log()                          # sshd's log so far (LogLevel VERBOSE)

Everything lives in `directory` (host keys, sshd_config, authorized_keys, the
client key pair, the pid file): nothing outside it is read or written, except
/run/sshd (sshd's privilege-separation directory), created if missing.

The server is `/usr/sbin/sshd -D -e -f CONFIG` (sshd must be started with an
absolute path), in its own process group so that stopping it also ends the
per-connection children it forked.  Git is served by path: the session runs
`git-upload-pack '/abs/path'`, found on sshd's default PATH.

The port: a free one is picked by binding 127.0.0.1:0 and closing; if another
process takes it before sshd binds, sshd exits ("Address already in use") and a
new port is tried (a few times).  Startup waits (bounded) until sshd logs that
it listens and the port accepts a connection that answers with an SSH banner.

If sshd cannot run at all, SshdUnavailable is raised with sshd's own output:
the tests turn it into a FAILURE, never a skip (CI installs openssh-server
through deploy/install-deps.sh).
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "ssh-keygen"
PRIVSEP_DIR = "/run/sshd"
START_TIMEOUT = 10.0  # seconds for sshd to listen
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 5


class SshdUnavailable(RuntimeError):
    """sshd (or ssh-keygen) cannot run on this machine; the message says why."""


def keygen(path, key_type="ed25519", comment="aliasd-test"):
    """A key pair at `path` / `path`.pub, no passphrase; returns the public key line."""
    if shutil.which(SSH_KEYGEN) is None:
        raise SshdUnavailable("ssh-keygen is not installed (Debian package openssh-client; "
                              "deploy/install-deps.sh installs it)")
    for p in (path, path + ".pub"):
        if os.path.exists(p):
            os.unlink(p)
    args = [SSH_KEYGEN, "-q", "-t", key_type, "-N", "", "-C", comment, "-f", path]
    if key_type == "rsa":
        args[2:2] = ["-b", "2048"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise SshdUnavailable(f"ssh-keygen -t {key_type} failed: {res.stderr.strip()}")
    os.chmod(path, 0o600)
    with open(path + ".pub") as f:
        return f.read().strip()


def public_key_fields(pub_line):
    """("ssh-ed25519", "AAAA...") from a public key line."""
    fields = pub_line.split()
    return fields[0], fields[1]


def known_hosts_name(host, port):
    """How OpenSSH names a host in known_hosts: "host" on port 22, else "[host]:port"."""
    return host if port == 22 else f"[{host}]:{port}"


def write_known_hosts(path, lines, hashed=False):
    """Write `lines` to `path`; with hashed=True, hash the host names with `ssh-keygen -H`."""
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    if hashed:
        res = subprocess.run([SSH_KEYGEN, "-q", "-H", "-f", path], capture_output=True, text=True,
                             timeout=60)
        if res.returncode != 0:
            raise RuntimeError(f"ssh-keygen -H failed: {res.stderr.strip()}")
        if os.path.exists(path + ".old"):
            os.unlink(path + ".old")
    return path


def _free_port(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


class SshServer:
    """sshd on `host` (default 127.0.0.1) serving Git by path, as a context manager.

    directory:      where its files go (created if missing; e.g. pytest's tmp_path / "sshd")
    host_key_types: host keys to generate, in order ("ed25519", "ecdsa", "rsa")
    port:           None = a free port; or a fixed one (e.g. 22 for scp-like URLs)
    Attributes once started: port, user, client_key, client_pub, host_pub[type].
    """

    def __init__(self, directory, host="127.0.0.1", host_key_types=("ed25519",), port=None):
        self.dir = os.path.abspath(str(directory))
        self.host = host
        self.host_key_types = tuple(host_key_types)
        self.fixed_port = port
        self.port = None
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.config = os.path.join(self.dir, "sshd_config")
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        self.client_key = os.path.join(self.dir, "client_ed25519")
        self.client_pub = None
        self.host_pub = {}
        self._proc = None
        self._log = []
        self._log_lock = threading.Lock()
        self._reader = None

    # ---- what tests use ------------------------------------------------

    def url(self, path, user=None):
        """ssh://USER@HOST:PORT/abs/path (path must be absolute)."""
        assert path.startswith("/"), path
        user = self.user if user is None else user
        userinfo = f"{user}@" if user else ""
        return f"ssh://{userinfo}{self.host}:{self.port}{path}"

    def scp_url(self, path, user=None):
        """scp-like USER@HOST:path (only meaningful when the server is on port 22)."""
        user = self.user if user is None else user
        return f"{user}@{self.host}:{path}"

    def known_hosts_line(self, key_type="ed25519", name=None):
        """The known_hosts line for this server's `key_type` host key."""
        ktype, b64 = public_key_fields(self.host_pub[key_type])
        return f"{name or known_hosts_name(self.host, self.port)} {ktype} {b64}"

    def authorize(self, pub_line):
        """Add a public key line to authorized_keys (read by sshd at each login)."""
        with open(self.authorized_keys, "a") as f:
            f.write(pub_line.strip() + "\n")

    def log(self):
        """sshd's log lines so far, as one string."""
        with self._log_lock:
            return "".join(self._log)

    # ---- lifecycle -----------------------------------------------------

    def _write_config(self, port):
        lines = [
            f"ListenAddress {self.host}",
            f"Port {port}",
            *(f"HostKey {os.path.join(self.dir, 'host_' + t)}" for t in self.host_key_types),
            f"AuthorizedKeysFile {self.authorized_keys}",
            "AuthenticationMethods publickey",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "HostbasedAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            f"AllowUsers {self.user}",
            f"PidFile {os.path.join(self.dir, 'sshd.pid')}",
            "LogLevel VERBOSE",
            "MaxAuthTries 6",
            "LoginGraceTime 20",
            "UseDNS no",
            "PrintMotd no",
            "PermitUserEnvironment no",
            "AllowTcpForwarding no",
            "X11Forwarding no",
            "AllowAgentForwarding no",
            "PermitTTY no",
            "Subsystem sftp internal-sftp",
        ]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _read_stderr(self, stream):
        for line in iter(stream.readline, ""):
            with self._log_lock:
                self._log.append(line)
        stream.close()

    def _prepare(self):
        if not os.path.isfile(SSHD) or not os.access(SSHD, os.X_OK):
            raise SshdUnavailable(f"{SSHD} is not installed (Debian package openssh-server; "
                                  "deploy/install-deps.sh installs it)")
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.isdir(PRIVSEP_DIR):
            try:
                os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
            except OSError as e:
                raise SshdUnavailable(f"sshd needs its privilege separation directory "
                                      f"{PRIVSEP_DIR}, which cannot be created: {e}") from e
        for t in self.host_key_types:
            self.host_pub[t] = keygen(os.path.join(self.dir, "host_" + t), t, "host")
        self.client_pub = keygen(self.client_key, "ed25519", "client")
        with open(self.authorized_keys, "w") as f:
            f.write(self.client_pub + "\n")

    def _banner_ok(self, port):
        try:
            with socket.create_connection((self.host, port), timeout=2) as s:
                s.settimeout(2)
                return s.recv(64).startswith(b"SSH-2.0-")
        except OSError:
            return False

    def _start_once(self, port):
        """Start sshd on `port`: True when it serves, False if the port was taken."""
        self._write_config(port)
        self._log = []
        test = subprocess.run([SSHD, "-t", "-f", self.config], capture_output=True, text=True,
                              timeout=30)
        if test.returncode != 0:
            raise SshdUnavailable(f"sshd rejects its configuration {self.config}: "
                                  f"{(test.stderr or test.stdout).strip()}")
        self._proc = subprocess.Popen([SSHD, "-D", "-e", "-f", self.config],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read_stderr, args=(self._proc.stderr,),
                                        daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._reader.join(timeout=2)
                if "Address already in use" in self.log():
                    self._proc = None
                    return False
                raise SshdUnavailable(f"sshd exited with status {self._proc.returncode} at "
                                      f"startup:\n{self.log()}")
            if "Server listening on" in self.log() and self._banner_ok(port):
                self.port = port
                return True
            time.sleep(0.05)
        self._stop_proc()
        raise SshdUnavailable(f"sshd did not listen on {self.host}:{port} within "
                              f"{START_TIMEOUT:.0f} s:\n{self.log()}")

    def start(self):
        self._prepare()
        if self.fixed_port is not None:
            if not self._start_once(self.fixed_port):
                raise OSError(f"port {self.host}:{self.fixed_port} is in use")
            return self
        for _ in range(PORT_ATTEMPTS):
            if self._start_once(_free_port(self.host)):
                return self
        raise SshdUnavailable(f"no free port for sshd after {PORT_ATTEMPTS} attempts:\n{self.log()}")

    def _stop_proc(self):
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # sshd and its per-connection children
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_TIMEOUT)
        if self._reader:
            self._reader.join(timeout=2)

    def stop(self):
        self._stop_proc()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self._stop_proc()
            raise

    def __exit__(self, *exc):
        self.stop()
