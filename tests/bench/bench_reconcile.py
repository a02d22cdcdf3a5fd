#!/usr/bin/python3
"""Benchmark: aliasd apply vs. a straightforward boto3 reconciler, same run,
counted in quota-counted calls (DESIGN.md §8, issue 12).

40 functions x 2 releases x 2 aliases against the Lambda emulator with AWS's
account quota on (15 req/s for every call but GetFunction and Invoke, 429
TooManyRequestsException beyond), --latency-ms 20 and --update-delay 0 (so
boto3's waiters never sleep: the baseline is not penalised for its 1 s waiter
delay).  Three phases, each run by both from the same state:
  cold      nothing exists: create, publish r1 and r2, create Prod/Test
  in-sync   nothing to do
  promote   Prod moves from r1 to r2 on every function

aliasd runs with --rate 14 (the quota less a margin: at exactly 15/s the
arrival jitter of requests alone draws 429s); the
baseline with botocore's standard retries (10 attempts) so that it survives
the 429s it provokes.  Prints, per phase and tool, wall time, counted calls
per function, writes, and 429s (for aliasd: those after its first second),
then the wall-time ratio aliasd / boto3.  Exits 1 when a target is missed:
  - counted calls per function: cold <= 6, in sync <= 1.1, promote <= 2
    (BENCH_STRICT=0 reports every miss without failing)
  - promotion: exactly 1 write per changed alias (no upload, no publish)
  - no 429 seen by aliasd after its first second
  - total wall time of aliasd <= half of the baseline's

Environment: ALIASD_BIN (default build/aliasd), BENCH_FUNCTIONS (default 40),
BENCH_STRICT (default 1).
"""
import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
from emulator import Emulator  # noqa: E402

ALIASD = os.environ.get("ALIASD_BIN") or os.path.join(ROOT, "build", "aliasd")
N = int(os.environ.get("BENCH_FUNCTIONS", "40"))
STRICT = os.environ.get("BENCH_STRICT", "1") != "0"
UNCOUNTED = ("GetFunction", "Invoke")  # their own quota; everything else shares 15/s
RATE = 14  # aliasd's configured share: the whole 15/s quota but a margin for the arrival jitter
TARGETS = {"cold": 6.0, "in-sync": 1.1, "promote": 2.0}
ROLE = "arn:aws:iam::123456789012:role/bench-role"
WRITE_OPS = ("CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishVersion",
             "CreateAlias", "UpdateAlias", "DeleteAlias", "DeleteFunction")


def mkzip(text):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("app.py", date_time=(1980, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def spec(promoted):
    """The desired state both tools reconcile to."""
    out = []
    for i in range(N):
        name = "bench-%03d" % i
        rel = [("r1", "code/%s/1.zip" % name, mkzip("def handler(e, c): return '%s 1'\n" % name)),
               ("r2", "code/%s/2.zip" % name, mkzip("def handler(e, c): return '%s 2'\n" % name))]
        out.append({"name": name, "releases": rel, "aliases": [("Prod", "r2" if promoted else "r1"), ("Test", "r2")]})
    return out


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@example.com", HOME=repo)
    subprocess.run(["git", "-C", repo] + list(args), env=env, check=True, capture_output=True)


def write_repo(repo, fns, message):
    for f in fns:
        lines = ["apiVersion: aliasd/v1", "kind: Function", "name: %s" % f["name"], "config:",
                 "  runtime: python3.12", "  handler: app.handler", "  role: %s" % ROLE, "  memorySize: 128",
                 "releases:"]
        for rname, path, data in f["releases"]:
            full = os.path.join(repo, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as z:
                z.write(data)
            lines.append("  %s: {code: {zipFile: %s}}" % (rname, path))
        lines.append("aliases:")
        lines += ["  %s: %s" % a for a in f["aliases"]]
        with open(os.path.join(repo, f["name"] + ".yaml"), "w") as y:
            y.write("\n".join(lines) + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


# ---- the baseline: what a user would write with boto3 ----------------------------

def baseline_apply(lam, fns):
    waiter_cfg = {"Delay": 1, "MaxAttempts": 300}
    for f in fns:
        name = f["name"]
        try:
            lam.get_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            _, _, data = f["releases"][0]
            lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                MemorySize=128, Code={"ZipFile": data})
            lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=waiter_cfg)
        by_sha = {}
        for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=name):
            for v in page["Versions"]:
                if v["Version"] != "$LATEST":
                    by_sha[v["CodeSha256"]] = v["Version"]
        resolved = {}
        for rname, _, data in f["releases"]:
            sha = b64sha(data)
            if sha in by_sha:
                resolved[rname] = by_sha[sha]
                continue
            cfg = lam.get_function_configuration(FunctionName=name)
            if cfg["CodeSha256"] != sha:
                lam.update_function_code(FunctionName=name, ZipFile=data)
                lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=waiter_cfg)
            resolved[rname] = lam.publish_version(FunctionName=name, CodeSha256=sha)["Version"]
            by_sha[sha] = resolved[rname]
        for alias, rname in f["aliases"]:
            try:
                a = lam.get_alias(FunctionName=name, Name=alias)
                if a["FunctionVersion"] != resolved[rname]:
                    lam.update_alias(FunctionName=name, Name=alias, FunctionVersion=resolved[rname])
            except lam.exceptions.ResourceNotFoundException:
                lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=resolved[rname])


# ---- measurement -------------------------------------------------------------------

def ok_writes(stats):
    """Successful (2xx) write calls by operation."""
    return {op: sum(n for code, n in by.items() if code.startswith("2"))
            for op, by in stats.get("responses", {}).items() if op in WRITE_OPS}


def quota_429s(emu):
    return emu.stats().get("faults", {}).get("quota", 0)


def measure(emu, fn):
    """(wall, counted calls, writes, calls by operation, 429s, 429s after the first second)"""
    st = emu.stats()
    before, ok0 = dict(st["requests"]), ok_writes(st)
    q0 = quota_429s(emu)
    at_1s = {}

    def mark():
        at_1s["q"] = quota_429s(emu)
    timer = threading.Timer(1.0, mark)
    t0 = time.monotonic()
    timer.start()
    fn()
    wall = time.monotonic() - t0
    timer.cancel()
    q1 = quota_429s(emu)
    st = emu.stats()
    after, ok1 = dict(st["requests"]), ok_writes(st)
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) - before.get(k, 0)}
    counted = sum(v for k, v in d.items() if k not in UNCOUNTED)  # 429s included: they are calls too
    late = q1 - at_1s.get("q", q1)
    ok = {k: ok1.get(k, 0) - ok0.get(k, 0) for k in ok1 if ok1.get(k, 0) - ok0.get(k, 0)}
    return wall, counted, sum(ok.values()), dict(d, **{"ok " + k: v for k, v in ok.items()}), q1 - q0, late


def aliasd_apply(emu, repo, log):
    env = dict(os.environ, **emu.env())
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["XDG_CACHE_HOME"] = os.path.join(os.path.dirname(repo), "cache")
    p = subprocess.run([ALIASD, "apply", "--repo", repo, "--ref", "main", "--rate", str(RATE), "--concurrency", "8",
                        "--json"], env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit("aliasd apply failed (%d)" % p.returncode)
    log.append(json.loads(p.stdout).get("reads", []))


def main():
    if not os.access(ALIASD, os.X_OK):
        raise SystemExit("%s is not built" % ALIASD)
    cold, promoted = spec(False), spec(True)
    results, reads = {}, []
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency_ms=20, update_delay=0, quota=True) as emu:
        repo = os.path.join(tmp, "repo")
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write_repo(repo, cold, "cold")
        lam = emu.client(max_attempts=10, max_pool_connections=10)

        # aliasd
        emu.reset()
        emu.configure(quota=True)
        results["aliasd", "cold"] = measure(emu, lambda: aliasd_apply(emu, repo, reads))
        time.sleep(1.1)  # let the account's bucket refill between phases, for both tools alike
        results["aliasd", "in-sync"] = measure(emu, lambda: aliasd_apply(emu, repo, reads))
        write_repo(repo, promoted, "promote")
        time.sleep(1.1)
        results["aliasd", "promote"] = measure(emu, lambda: aliasd_apply(emu, repo, reads))
        # baseline, from the same empty state
        emu.reset()
        emu.configure(quota=True)
        results["boto3", "cold"] = measure(emu, lambda: baseline_apply(lam, cold))
        time.sleep(1.1)
        results["boto3", "in-sync"] = measure(emu, lambda: baseline_apply(lam, cold))
        time.sleep(1.1)
        results["boto3", "promote"] = measure(emu, lambda: baseline_apply(lam, promoted))

    print("%d functions x 2 releases x 2 aliases; emulator: 15 req/s account quota, latency 20 ms" % N)
    print("counted call = any Lambda call but GetFunction and Invoke")
    print("%-8s | %-38s | %-38s | %s" % ("phase", "aliasd: wall / counted per fn / writes / 429",
                                         "boto3: wall / counted per fn / writes / 429", "time ratio a/b"))
    tot_a = tot_b = 0.0
    for phase in ("cold", "in-sync", "promote"):
        a, b = results["aliasd", phase], results["boto3", phase]
        tot_a += a[0]
        tot_b += b[0]
        print("%-8s | %7.2fs %8.3f %6d %4d (%d late) | %7.2fs %8.3f %6d %4d           | %.2f"
              % (phase, a[0], a[1] / N, a[2], a[4], a[5], b[0], b[1] / N, b[2], b[4], a[0] / max(b[0], 1e-9)))
    print("total    | %7.2fs %29s | %7.2fs %29s | %.2f" % (tot_a, "", tot_b, "", tot_a / max(tot_b, 1e-9)))
    print("aliasd reads per phase: %s" % ", ".join(
        "/".join("%s(%d pages)" % (r["strategy"], r["list_pages"]) for r in rr) or "-" for rr in reads))
    for tool in ("aliasd", "boto3"):
        for phase in ("cold", "in-sync", "promote"):
            print("  %s %-8s calls: %s" % (tool, phase, ", ".join(
                "%s=%d" % kv for kv in sorted(results[tool, phase][3].items()) if not kv[0].startswith("ok "))))

    failures, notes = [], []
    for phase, target in TARGETS.items():
        per = results["aliasd", phase][1] / N
        if per <= target + 1e-9:
            continue
        (failures if STRICT else notes).append(
            "%s: %.3f counted calls per function (target <= %g)" % (phase, per, target))
    insync = results["aliasd", "in-sync"]
    if insync[2]:
        failures.append("in-sync apply made %d writes" % insync[2])
    promo = results["aliasd", "promote"]
    if promo[2] != N or promo[3].get("ok UpdateAlias") != N:
        failures.append("promotion made %d writes for %d changed aliases: %s" % (promo[2], N, promo[3]))
    late = sum(results["aliasd", p][5] for p in TARGETS)
    if late:
        failures.append("aliasd saw %d 429s after its first second" % late)
    if tot_a > tot_b / 2:
        failures.append("total wall time %.2fs is more than half the baseline's %.2fs" % (tot_a, tot_b))
    for f in notes:
        print("note: " + f)
    for f in failures:
        print("MISSED: " + f)
    if not failures:
        print("targets met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
