#!/usr/bin/python3
"""Benchmark: `aliasd run` managing 1,000 functions.

Measures, against the Lambda emulator and a local Git repository:
  - resident memory (VmRSS and the peak VmHWM) once every function is Synced;
    target: VmRSS <= 20 MiB;
  - CPU used while idle between polls (utime+stime from /proc/PID/stat over
    IDLE_SECONDS): with a 60 s interval, target: nothing measurable
    (at most 1 clock tick); also reported with a 2 s interval, where the
    cost of each poll (one ls-remote on a file:// repository) shows.

The functions are created and published beforehand with boto3 (exactly the
versions the manifests declare), so the daemon only observes and finds them in
sync: what is measured is the daemon holding 1,000 functions, not the
emulator's speed.

Environment: ALIASD_BIN (default build/aliasd), BENCH_FUNCTIONS (default 1000),
IDLE_SECONDS (default 10).
"""
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))
from emulator import Emulator  # noqa: E402
from daemon_helpers import GIT_ENV, free_port  # noqa: E402

ALIASD = os.environ.get("ALIASD_BIN") or os.path.join(ROOT, "build", "aliasd")
N = int(os.environ.get("BENCH_FUNCTIONS", "1000"))
IDLE = float(os.environ.get("IDLE_SECONDS", "10"))
ROLE = "arn:aws:iam::123456789012:role/bench-role"
RSS_TARGET_MIB = 20.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def manifest(name):
    return f"""apiVersion: aliasd/v1
kind: Function
name: {name}
config: {{runtime: python3.12, handler: app.handler, role: "{ROLE}", memorySize: 128, timeout: 3}}
releases:
  v1: {{code: {{zipFile: artifacts/Version1.zip}}}}
  v2: {{code: {{zipFile: artifacts/Version2.zip}}}}
aliases: {{Prod: v1, Test: v2}}
"""


def git(cwd, *args):
    subprocess.run(["git"] + list(args), cwd=cwd, env=dict(os.environ, **GIT_ENV), check=True,
                   capture_output=True, timeout=120)


def make_repo(tmp, names):
    work = os.path.join(tmp, "work")
    bare = os.path.join(tmp, "releases.git")
    git(tmp, "init", "-q", "--bare", "-b", "main", bare)
    git(tmp, "init", "-q", "-b", "main", work)
    shutil.copytree(os.path.join(ROOT, "examples", "artifacts"), os.path.join(work, "artifacts"))
    os.makedirs(os.path.join(work, "functions"))
    for name in names:
        with open(os.path.join(work, "functions", name + ".yaml"), "w") as f:
            f.write(manifest(name))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "%d functions" % len(names))
    git(work, "push", "-q", bare, "main")
    return "file://" + bare


def prepopulate(emu, names):
    """Create every function with v1 and v2 published and Prod/Test set, as the daemon would."""
    zips = [open(os.path.join(ROOT, "examples", "artifacts", "Version%d.zip" % v), "rb").read() for v in (1, 2)]

    def one(name):
        lam = emu.client(max_attempts=5)
        lam.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                            MemorySize=128, Timeout=3, Code={"ZipFile": zips[0]})
        emu_wait(lam, name)
        v1 = lam.publish_version(FunctionName=name)["Version"]
        lam.update_function_code(FunctionName=name, ZipFile=zips[1])
        emu_wait(lam, name)
        v2 = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name="Prod", FunctionVersion=v1)
        lam.create_alias(FunctionName=name, Name="Test", FunctionVersion=v2)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, names))


def emu_wait(lam, name):
    for _ in range(200):
        c = lam.get_function_configuration(FunctionName=name)
        if c.get("State", "Active") == "Active" and c.get("LastUpdateStatus", "Successful") != "InProgress":
            return
        time.sleep(0.01)
    raise RuntimeError("function %s never became active" % name)


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def status(port):
    with _OPENER.open("http://127.0.0.1:%d/status" % port, timeout=30) as r:
        return json.loads(r.read())


def write_config(path, url, state, port, interval):
    with open(path, "w") as f:
        f.write(f"""repository: {{url: "{url}", ref: main, path: functions, interval: {interval}}}
reconcile: {{resync: 1h, concurrency: 8, rateLimit: 100}}
server: {{listen: "127.0.0.1:{port}"}}
stateDir: {state}
log: {{level: notice}}
""")


def run_daemon(emu, cfg, port, tmp, label):
    log = open(os.path.join(tmp, "aliasd-%s.log" % label), "w")
    env = dict(os.environ, **emu.env())
    p = subprocess.Popen([ALIASD, "run", "-c", cfg], stdout=log, stderr=subprocess.STDOUT, env=env)
    return p, log


def wait_synced(p, port, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError("aliasd exited %s" % p.returncode)
        try:
            last = status(port)
            if len(last["functions"]) == N and last["summary"]["Synced"] == N:
                return last
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("not all Synced after %ss: %s" % (timeout, last and last["summary"]))


def stop(p, log):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    log.close()


def main():
    tick = os.sysconf("SC_CLK_TCK")
    names = ["bench-fn-%04d" % i for i in range(N)]
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_daemon.") as tmp, Emulator(update_delay=0) as emu:
        t0 = time.monotonic()
        url = make_repo(tmp, names)
        prepopulate(emu, names)
        print("setup: %d functions in Git and Lambda in %.1fs" % (N, time.monotonic() - t0))

        port = free_port()
        cfg = os.path.join(tmp, "aliasd.yaml")
        write_config(cfg, url, os.path.join(tmp, "state"), port, "60s")
        p, log = run_daemon(emu, cfg, port, tmp, "60s")
        try:
            t0 = time.monotonic()
            wait_synced(p, port, timeout=300)
            print("all %d functions Synced after %.1fs" % (N, time.monotonic() - t0))
            time.sleep(1)
            rss = proc_status(p.pid, "VmRSS") / 1024.0
            hwm = proc_status(p.pid, "VmHWM") / 1024.0
            print("resident memory: VmRSS %.1f MiB (peak VmHWM %.1f MiB), target <= %.0f MiB"
                  % (rss, hwm, RSS_TARGET_MIB))
            if rss > RSS_TARGET_MIB:
                print("FAIL: resident memory above target")
                ok = False
            c0 = cpu_ticks(p.pid)
            time.sleep(IDLE)
            idle = cpu_ticks(p.pid) - c0
            print("idle CPU, 60s interval: %d ticks (%.3fs) in %.0fs, target <= 1 tick"
                  % (idle, idle / tick, IDLE))
            if idle > 1:
                print("FAIL: idle CPU measurable")
                ok = False
        finally:
            stop(p, log)

        write_config(cfg, url, os.path.join(tmp, "state"), port, "2s")
        p, log = run_daemon(emu, cfg, port, tmp, "2s")
        try:
            wait_synced(p, port, timeout=300)
            c0 = cpu_ticks(p.pid)
            time.sleep(IDLE)
            busy = cpu_ticks(p.pid) - c0
            print("CPU with a 2s poll interval: %d ticks (%.3fs) in %.0fs (%.2f%% of one core)"
                  % (busy, busy / tick, IDLE, 100.0 * busy / tick / IDLE))
        finally:
            stop(p, log)
    print("bench_daemon: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
