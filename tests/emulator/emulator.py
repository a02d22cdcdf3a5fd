"""Start lambda_emulator.py as a subprocess for a test, and talk to it.

    from emulator import Emulator

    with Emulator(update_delay=0.1, page_size=2) as emu:
        lam = emu.client()                          # boto3 lambda client
        subprocess.run(["./aliasd", "apply"], env={**os.environ, **emu.env()})
        assert emu.stats()["requests"]["PublishVersion"] == 1

Everything here has a bounded wait: startup (start_timeout), admin calls
(admin_timeout), shutdown (SIGTERM, then SIGKILL after stop_timeout).
"""

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR_SCRIPT = os.path.join(HERE, "lambda_emulator.py")
PYTHON = "/usr/bin/python3"
DEFAULT_ACCESS_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# Admin calls must never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorError(RuntimeError):
    pass


class Emulator:
    """A running lambda_emulator.py on 127.0.0.1 with an OS-chosen port.

    Keyword arguments map to the command-line options (None = the emulator's
    default): update_delay, page_size, latency_ms, quota, throttle_rate,
    error_rate, reset_rate, lose_rate, seed, verify_signatures; credentials is
    a list of "AKID:SECRET[:ACCOUNT]" (the first pair becomes access_key /
    secret_key); extra_args are appended verbatim.
    """

    def __init__(self, *, update_delay=None, page_size=None, latency_ms=None, quota=False,
                 throttle_rate=None, error_rate=None, reset_rate=None, lose_rate=None,
                 seed=None, verify_signatures=True, credentials=None, extra_args=(),
                 start_timeout=20.0, stop_timeout=5.0, admin_timeout=10.0):
        self.args = []
        for flag, value in (("--update-delay", update_delay), ("--page-size", page_size),
                            ("--latency-ms", latency_ms), ("--throttle-rate", throttle_rate),
                            ("--error-rate", error_rate), ("--reset-rate", reset_rate),
                            ("--lose-rate", lose_rate), ("--seed", seed)):
            if value is not None:
                self.args += [flag, str(value)]
        if quota:
            self.args.append("--quota")
        if not verify_signatures:
            self.args.append("--no-verify-signatures")
        self.credentials = list(credentials or [])
        for c in self.credentials:
            self.args += ["--credentials", c]
        self.args += list(extra_args)
        first = (self.credentials[0] if self.credentials
                 else "%s:%s" % (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)).split(":")
        self.access_key, self.secret_key = first[0], first[1]
        self.account_id = first[2] if len(first) > 2 else DEFAULT_ACCOUNT
        self.region = DEFAULT_REGION
        self.host = "127.0.0.1"
        self.port = None
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.admin_timeout = admin_timeout
        self.proc = None
        self._stderr = None

    # ---- lifecycle ----------------------------------------------------------------
    @property
    def endpoint(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [PYTHON, EMULATOR_SCRIPT, "--host", self.host, "--port", "0"] + self.args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr)
        deadline = time.monotonic() + self.start_timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise EmulatorError("emulator did not start within %.0fs: %s"
                                    % (self.start_timeout, self.stderr_text()))
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    self.proc.wait(timeout=self.stop_timeout)
                    raise EmulatorError("emulator exited (%s): %s"
                                        % (self.proc.returncode, self.stderr_text()))
                line += chunk
        text = line.decode().strip()
        prefix = "listening on %s:" % self.host
        if not text.startswith(prefix):
            self.stop()
            raise EmulatorError("unexpected first line %r" % text)
        self.first_line = text
        self.port = int(text[len(prefix):])
        return self

    def stop(self):
        """SIGTERM, then SIGKILL after stop_timeout.  Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=self.stop_timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        return False

    def stderr_text(self):
        if not self._stderr:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    # ---- admin endpoints -----------------------------------------------------------
    def admin(self, method, path, body=None, raw=None):
        """Calls /__emulator/<path>; returns the decoded JSON answer."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.endpoint + "/__emulator/" + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(req, timeout=self.admin_timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raise EmulatorError("%s /__emulator/%s: %s %s"
                                % (method, path, e.code, e.read().decode(errors="replace")))

    def stats(self):
        return self.admin("GET", "stats")

    def reset(self):
        return self.admin("POST", "reset")

    def state(self):
        return self.admin("GET", "state")

    def config(self):
        return self.admin("GET", "config")

    def configure(self, **kw):
        """POST /__emulator/config, e.g. configure(update_delay=0, lose_rate=0.5)."""
        return self.admin("POST", "config", kw)

    def settle(self):
        """Completes every pending state and in-progress update immediately."""
        return self.admin("POST", "settle")

    def inject(self, kind, operation="*", count=1, **kw):
        """Scripts the next `count` faults of `kind` for `operation`."""
        return self.admin("POST", "faults", dict(kw, kind=kind, operation=operation,
                                                 count=count))

    def clear_faults(self):
        return self.admin("DELETE", "faults")

    def set_invoke(self, function, behavior="succeed", qualifier=None, **kw):
        """How Invoke of `function` behaves (invoke_emulator.py): succeed (payload=...),
        fail (error_message, error_type), hang (seconds), error (status, code, message);
        count=N for the next N invocations only."""
        return self.admin("POST", "invoke", dict(kw, function=function, behavior=behavior,
                                                 qualifier=qualifier))

    def invocations(self):
        """Every Invoke so far: function, qualifier, executed_version, payload, time, ..."""
        return self.admin("GET", "invocations")["invocations"]

    def put_s3_object(self, bucket, key, data, version_id=None):
        path = "s3/%s/%s" % (urllib.parse.quote(bucket, safe=""), urllib.parse.quote(key))
        if version_id is not None:
            path += "?versionId=" + urllib.parse.quote(version_id, safe="")
        return self.admin("PUT", path, raw=bytes(data))

    # ---- clients ------------------------------------------------------------------------
    def client(self, max_attempts=1, retry_mode="standard", region=None, session_token=None,
               access_key=None, secret_key=None, connect_timeout=5, read_timeout=30,
               max_pool_connections=10):
        """A boto3 Lambda client for this emulator.

        max_attempts counts every attempt, like AWS_MAX_ATTEMPTS (1 = no retries).
        """
        import boto3
        from botocore.config import Config
        session = boto3.session.Session(
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            aws_session_token=session_token,
            region_name=region or self.region)
        cfg = Config(retries={"total_max_attempts": max_attempts, "mode": retry_mode},
                     connect_timeout=connect_timeout, read_timeout=read_timeout,
                     max_pool_connections=max_pool_connections, proxies={})
        return session.client("lambda", endpoint_url=self.endpoint, config=cfg)

    def env(self, session_token=None, **extra):
        """AWS_* variables pointing another program at this emulator."""
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_LAMBDA": self.endpoint,
        }
        if session_token is not None:
            env["AWS_SESSION_TOKEN"] = session_token
        env.update(extra)
        return env


if __name__ == "__main__":   # manual use: python3 emulator.py [emulator args...]
    with Emulator(extra_args=sys.argv[1:]) as emu:
        print(emu.endpoint, flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
