#!/usr/bin/python3
"""Benchmark: peak memory of `aliasd apply` uploading big zip files.

Four functions, each with one release whose zip holds 45 MiB of random
(incompressible) bytes, committed to a Git repository made here.  `aliasd
apply` creates the four functions against the Lambda emulator, once at
--concurrency 1 and once at --concurrency 4, each time from an empty emulator.
The peak resident set of the aliasd process (getrusage of the child) is
printed in MiB and as a ratio to the size of one zip, the baseline measured
in the same run; the emulator must report each function's CodeSha256 as the
zip's.

Target (issue 15, finding 6): at most 200 MiB at concurrency 4, i.e. about
one zip per concurrent upload plus a little.  Exits 1 when it is missed.

Environment: ALIASD_BIN (default build/aliasd), BENCH_ZIP_MIB (default 45),
BENCH_ZIP_TARGET_MIB (default 200).
"""
import base64
import hashlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
from emulator import Emulator  # noqa: E402

ALIASD = os.environ.get("ALIASD_BIN") or os.path.join(ROOT, "build", "aliasd")
ZIP_MIB = int(os.environ.get("BENCH_ZIP_MIB", "45"))
TARGET_MIB = int(os.environ.get("BENCH_ZIP_TARGET_MIB", "200"))
N = 4
ROLE = "arn:aws:iam::123456789012:role/bench-role"


def mkzip(size):
    """A stored zip of about `size` bytes of random data."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("blob.bin", date_time=(1980, 1, 1, 0, 0, 0)), os.urandom(size - 200))
    return buf.getvalue()


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@example.com", HOME=repo)
    subprocess.run(["git", "-C", repo] + list(args), env=env, check=True, capture_output=True)


def write_repo(repo):
    shas = {}
    for i in range(N):
        name = "zip-%d" % i
        data = mkzip(ZIP_MIB << 20)
        shas[name] = b64sha(data)
        path = "code/%s.zip" % name
        os.makedirs(os.path.join(repo, "code"), exist_ok=True)
        with open(os.path.join(repo, path), "wb") as f:
            f.write(data)
        del data
        with open(os.path.join(repo, name + ".yaml"), "w") as y:
            y.write("\n".join(["apiVersion: aliasd/v1", "kind: Function", "name: %s" % name, "config:",
                               "  runtime: python3.12", "  handler: app.handler", "  role: %s" % ROLE,
                               "releases:", "  r1: {code: {zipFile: %s}}" % path, "aliases:", "  Prod: r1",
                               ""]))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "big zips")
    return shas


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git_daemon(base):
    """Starts git daemon serving base on 127.0.0.1; returns (process, port) once it answers."""
    port = free_port()
    p = subprocess.Popen(["git", "daemon", "--base-path=" + base, "--export-all", "--reuseaddr",
                          "--listen=127.0.0.1", "--port=%d" % port, base],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if subprocess.run(["git", "ls-remote", "git://127.0.0.1:%d/repo" % port], capture_output=True,
                          timeout=10).returncode == 0:
            return p, port
        time.sleep(0.2)
    p.kill()
    p.wait()
    raise SystemExit("git daemon did not start")


def peak_rss(emu, repo, args):
    """Runs aliasd with args; returns (peak RSS in bytes, wall seconds)."""
    env = dict(os.environ, **emu.env())
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["XDG_CACHE_HOME"] = os.path.join(os.path.dirname(repo), "cache")
    out = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen([ALIASD] + args, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            raise SystemExit("aliasd %s did not finish within 600 s" % args[0])
        time.sleep(0.05)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        out.seek(0)
        sys.stderr.write(out.read().decode(errors="replace")[-3000:])
        raise SystemExit("aliasd %s failed (%d)" % (args[0], p.returncode))
    return ru.ru_maxrss * 1024, wall


def main():
    if not os.access(ALIASD, os.X_OK):
        raise SystemExit("%s is not built" % ALIASD)
    failures = []
    rows = []
    baseline = ZIP_MIB << 20
    with tempfile.TemporaryDirectory() as tmp, Emulator(update_delay=0) as emu:
        repo = os.path.join(tmp, "repo")
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        shas = write_repo(repo)
        lam = emu.client(max_attempts=3)
        daemon, port = git_daemon(tmp)
        try:
            url = "git://127.0.0.1:%d/repo" % port
            fetch_peak, fetch_wall = peak_rss(emu, repo, ["validate", "--repo", url, "--ref", "main"])
            for conc in (1, 4):
                emu.reset()
                peak, wall = peak_rss(emu, repo, ["apply", "--repo", url, "--ref", "main", "--rate", "1000",
                                                  "--concurrency", str(conc)])
                rows.append((conc, peak, wall))
                for name, sha in shas.items():
                    got = lam.get_function_configuration(FunctionName=name)["CodeSha256"]
                    if got != sha:
                        failures.append("concurrency %d: %s has CodeSha256 %s, expected %s"
                                        % (conc, name, got, sha))
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)
    print("%d x %d MiB random zips, aliasd apply from a git:// repository (baseline: one zip = %d MiB)"
          % (N, ZIP_MIB, ZIP_MIB))
    print("first clone over git:// (validate --repo): %.1f MiB, %.2fs (for information)"
          % (fetch_peak / 2**20, fetch_wall))
    print("%-11s | %-13s | %-14s | %s" % ("concurrency", "peak RSS", "x one zip", "wall"))
    for conc, peak, wall in rows:
        print("%-11d | %9.1f MiB | %12.2fx | %6.2fs" % (conc, peak / 2**20, peak / baseline, wall))
    peak4 = rows[-1][1] / 2**20
    verdict = "meets" if peak4 <= TARGET_MIB else "MISSES"
    print("concurrency 4: %.1f MiB %s the %d MiB target" % (peak4, verdict, TARGET_MIB))
    if peak4 > TARGET_MIB:
        failures.append("peak RSS %.1f MiB at concurrency 4 is over the %d MiB target" % (peak4, TARGET_MIB))
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
