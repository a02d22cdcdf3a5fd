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

Then at fleet scale (issue 12), BENCH_SCALE_FUNCTIONS (default 10,000)
functions, the emulator's account quota on at 120 calls/s (aliasd's share,
reconcile.rateLimit, 100/s):
  - resident memory once every function is Synced (target <= 48 MiB; the
    median of five samples a second apart: the steady size), and
    what it is made of: the heap in use (the daemon's debug "memory" line,
    mallinfo2), of which the observed-state cache, and the rest;
  - a warm promotion (a commit moving one function's Prod, planned from the
    daemon's observed-state cache): exactly 1 counted call;
  - a resync period that cannot hold them (SIGHUP to resync 119s: 10,000 x 1.1
    calls at 80% of 100/s need 138 s) is spread over a longer one: said once in
    the log and in /status; zero 429s; resyncs read ListAliases (the versions
    once in ten).
A counted call is any Lambda call but GetFunction and Invoke (and
GetAccountSettings, the code storage telemetry: once per commit and region).

Environment: ALIASD_BIN (default build/aliasd), BENCH_FUNCTIONS (default 1000),
IDLE_SECONDS (default 10), BENCH_SCALE_FUNCTIONS (default 10000; 0 skips).
"""
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
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
N_SCALE = int(os.environ.get("BENCH_SCALE_FUNCTIONS", "10000"))
SCALE_RSS_TARGET_MIB = 48.0
NOT_COUNTED = ("GetFunction", "Invoke", "GetAccountSettings")
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


def prepopulate_fast(emu, names):
    """prepopulate() in 4 calls a function (publish with create and update), one client per thread."""
    zips = [open(os.path.join(ROOT, "examples", "artifacts", "Version%d.zip" % v), "rb").read() for v in (1, 2)]
    local = threading.local()

    def one(name):
        if not hasattr(local, "lam"):
            local.lam = emu.client(max_attempts=5)
        lam = local.lam
        v1 = lam.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                                 MemorySize=128, Timeout=3, Code={"ZipFile": zips[0]}, Publish=True)["Version"]
        v2 = lam.update_function_code(FunctionName=name, ZipFile=zips[1], Publish=True)["Version"]
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


def counted(before, after):
    return {op: n - before.get(op, 0) for op, n in after.items()
            if op not in NOT_COUNTED and n - before.get(op, 0)}


def throttled(stats):
    return sum(v.get("429", 0) for v in stats.get("responses", {}).values())


def scale_config(path, url, state, port, resync):
    # debug: the daemon logs what its heap holds once its workers are idle ("memory")
    with open(path, "w") as f:
        f.write(f"""repository: {{url: "{url}", ref: main, path: functions, interval: 1s}}
reconcile: {{resync: {resync}, concurrency: 16, rateLimit: 100}}
server: {{listen: "127.0.0.1:{port}"}}
stateDir: {state}
log: {{level: debug}}
""")


def steady_rss(pid, n=5):
    """The steady resident size: the median of n VmRSS samples a second apart (MiB), and the samples."""
    samples = []
    for i in range(n):
        if i:
            time.sleep(1)
        samples.append(proc_status(pid, "VmRSS") / 1024.0)
    return sorted(samples)[n // 2], samples


def memory_line(log_path):
    """The last "memory" line of the daemon's log as a dict of numbers ({} when none)."""
    last = {}
    with open(log_path) as f:
        for line in f:
            if line.startswith("memory "):
                last = {k: int(v) for k, v in (w.split("=", 1) for w in line.split()[1:] if "=" in w)
                        if v.isdigit()}
    return last


def pack_resident(pid):
    """Resident MiB of Git pack files and their indexes mapped by the process (libgit2's windows)."""
    total, in_pack = 0, False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if parts and "-" in parts[0] and not parts[0].endswith(":"):
                in_pack = len(parts) > 5 and "/objects/pack/" in parts[5]
            elif in_pack and parts and parts[0] == "Rss:":
                total += int(parts[1])
    return total / 1024.0


def memory_breakdown(pid, log_path):
    """Where the resident memory goes: heap in use (the cache part of it), file-backed pages, the rest."""
    rollup = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                rollup[parts[0].rstrip(":")] = int(parts[1]) / 1024.0  # MiB
    m = memory_line(log_path)
    mib = 1024.0 * 1024.0
    if not m:
        return "no memory line in the log (log level debug?)"
    packs = pack_resident(pid)
    # mallinfo2's "in use" counts whole chunks, malloc's bookkeeping and, with several heaps per arena,
    # more than is resident: an upper bound (heaptrack measured 24.7 MB live at 10,000 functions)
    return ("resident: anonymous %.1f MiB (the heap, stacks), file-backed %.1f MiB (libraries' code; of "
            "which Git pack files %.1f MiB); heap in use (mallinfo2, an upper bound) %.1f MiB, of which the "
            "observed-state cache %.1f MiB in %d entries; free in the heap %.1f MiB (trimmed: mostly not "
            "resident); at %d of %d functions Synced"
            % (rollup.get("Anonymous", 0), rollup.get("Rss", 0) - rollup.get("Anonymous", 0), packs,
               m.get("heap_in_use", 0) / mib, m.get("cache_bytes", 0) / mib, m.get("cache_entries", 0),
               m.get("heap_free", 0) / mib, m.get("synced", 0), m.get("functions", 0)))


def function_status(port, name):
    for f in status(port)["functions"]:
        if f["name"] == name:
            return f
    return None


def scale(tmp):
    """10,000 functions: memory, warm promotion, a resync spread rather than throttled."""
    ok = True
    names = ["scale-fn-%05d" % i for i in range(N_SCALE)]
    with Emulator(update_delay=0) as emu:
        t0 = time.monotonic()
        emu.configure(quota_rates={"other": 120, "GetFunction": 500})
        url = make_repo(tmp, names)
        prepopulate_fast(emu, names)
        emu.configure(quota=True)
        print("scale setup: %d functions in Git and Lambda in %.1fs" % (N_SCALE, time.monotonic() - t0))
        port = free_port()
        cfg = os.path.join(tmp, "aliasd-scale.yaml")
        scale_config(cfg, url, os.path.join(tmp, "state-scale"), port, "30m")
        st0 = emu.stats()
        p, log = run_daemon(emu, cfg, port, tmp, "scale")
        try:
            global N
            n_small, N = N, N_SCALE
            try:
                t0 = time.monotonic()
                wait_synced(p, port, timeout=3600)
            finally:
                N = n_small
            took = time.monotonic() - t0
            st = emu.stats()
            print("all %d functions Synced after %.1fs (%.2f counted calls per function, %d 429s)"
                  % (N_SCALE, took, sum(counted(st0["requests"], st["requests"]).values()) / N_SCALE,
                     throttled(st) - throttled(st0)))
            time.sleep(2)
            rss, samples = steady_rss(p.pid)
            hwm = proc_status(p.pid, "VmHWM") / 1024.0
            print("resident memory at %d functions: VmRSS %.1f MiB (the median of %s, a second apart; "
                  "peak VmHWM %.1f MiB), target <= %.0f MiB"
                  % (N_SCALE, rss, "/".join("%.1f" % v for v in samples), hwm, SCALE_RSS_TARGET_MIB))
            print("memory breakdown: %s" % memory_breakdown(p.pid, os.path.join(tmp, "aliasd-scale.log")))
            if rss > SCALE_RSS_TARGET_MIB:
                print("FAIL: resident memory above target")
                ok = False

            # warm promotion
            work = os.path.join(tmp, "work")
            target = names[N_SCALE // 2]
            mf = os.path.join(work, "functions", target + ".yaml")
            with open(mf) as f:
                text = f.read()
            with open(mf, "w") as f:
                f.write(text.replace("Prod: v1", "Prod: v2"))
            before = emu.stats()["requests"]
            git(work, "commit", "-qam", "promote " + target)
            git(work, "push", "-q", os.path.join(tmp, "releases.git"), "main")
            rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True,
                                 check=True).stdout.strip()
            t0 = time.monotonic()
            deadline = t0 + 900  # the commit's 10,000 manifests are fetched and loaded first
            while time.monotonic() < deadline:
                f = function_status(port, target)
                if f and f["state"] == "Synced" and f.get("lastAppliedRevision") == rev:
                    break
                time.sleep(0.5)
            print("promotion applied %.1fs after the push (poll, fetch, load of every manifest, reconcile)"
                  % (time.monotonic() - t0))
            time.sleep(1)
            spent = counted(before, emu.stats()["requests"])
            print("warm promotion: %s (%d counted call(s)), target exactly 1 UpdateAlias"
                  % (spent, sum(spent.values())))
            if spent != {"UpdateAlias": 1}:
                print("FAIL: a warm promotion should be exactly one UpdateAlias")
                ok = False

            # a resync that cannot fit its period: spread, not throttled
            need = N_SCALE * 1.1 / (100 * 0.8)
            short = max(1, int(need / 1.15))  # 10,000 functions: 119 s
            scale_config(cfg, url, os.path.join(tmp, "state-scale"), port, "%ds" % short)
            st0 = emu.stats()
            p.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            rs = {}
            while time.monotonic() < deadline:
                rs = status(port).get("resync", {})
                if rs.get("periodSeconds") == short:
                    break
                time.sleep(0.5)
            print("resync after SIGHUP: %s" % rs)
            spread = rs.get("spreadSeconds", 0)
            if spread < need:
                print("FAIL: a %ds resync of %d functions at 100/s should be spread over %.0fs"
                      % (short, N_SCALE, need))
                ok = False
            window = max(spread, short) * 1.1 + 10
            t0 = time.monotonic()
            time.sleep(window)
            st1 = emu.stats()
            spent = counted(st0["requests"], st1["requests"])
            calls = sum(spent.values())
            n429 = throttled(st1) - throttled(st0)
            with open(os.path.join(tmp, "aliasd-scale.log")) as f:
                said = [l.strip() for l in f if "spread over" in l]
            print("resync over %.0fs: %s (%.1f calls/s), %d 429s; log: %s"
                  % (time.monotonic() - t0, spent, calls / window, n429, said[-1:] or "nothing"))
            if n429:
                print("FAIL: the resync was throttled (429s)")
                ok = False
            # (how many resynced in the window depends on the backend's latency too:
            # the emulator in Python answers 10,000 functions far slower than 100/s)
            print("functions resynced in the window: %d of %d" % (spent.get("ListAliases", 0), N_SCALE))
            if spent.get("ListVersionsByFunction", 0) > N_SCALE * 0.15:
                print("FAIL: a resync should read the versions once in ten")
                ok = False
            if len(said) != 1:
                print("FAIL: the spread should be said exactly once in the log")
                ok = False
            rss, samples = steady_rss(p.pid)
            print("resident memory after the promotion and the resync: VmRSS %.1f MiB (%s), peak VmHWM %.1f MiB"
                  % (rss, "/".join("%.1f" % v for v in samples), proc_status(p.pid, "VmHWM") / 1024.0))
        finally:
            stop(p, log)
    return ok


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
    if N_SCALE > 0:
        with tempfile.TemporaryDirectory(prefix="bench_daemon_scale.") as tmp:
            ok = scale(tmp) and ok
    print("bench_daemon: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
