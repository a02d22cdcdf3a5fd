#!/usr/bin/python3
"""Benchmark: aliasd apply vs. a straightforward boto3 reconciler, same run.

100 functions x 2 releases x 2 aliases against the Lambda emulator with
--latency-ms 20 (and --update-delay 0, so boto3's waiters never sleep: the
baseline is not penalised for its 1 s waiter delay).  Three phases, each run
by both on its own fresh emulator state:
  cold      nothing exists: create, publish r1 and r2, create Prod/Test
  in-sync   nothing to do
  promote   Prod moves from r1 to r2 on every function

Prints wall time and API calls side by side with ratios, and exits 1 when a
target is missed:
  - in-sync apply: at most 2 API calls per function
  - promotion: exactly 1 write per changed alias (and no upload, no publish)
  - total wall time of aliasd <= half of the baseline's

The emulator has no quota here (neither tool is throttled), so aliasd runs
with --rate 1000; against AWS both would be bound by the 15 req/s quota.

Environment: ALIASD_BIN (default build/aliasd), BENCH_FUNCTIONS (default 100).
"""
import base64
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
from emulator import Emulator  # noqa: E402

ALIASD = os.environ.get("ALIASD_BIN") or os.path.join(ROOT, "build", "aliasd")
N = int(os.environ.get("BENCH_FUNCTIONS", "100"))
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

def measure(emu, fn):
    before = dict(emu.stats()["requests"])
    t0 = time.monotonic()
    fn()
    wall = time.monotonic() - t0
    after = dict(emu.stats()["requests"])
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) - before.get(k, 0)}
    return wall, sum(d.values()), sum(v for k, v in d.items() if k in WRITE_OPS), d


def aliasd_apply(emu, repo):
    env = dict(os.environ, **emu.env())
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["XDG_CACHE_HOME"] = os.path.join(os.path.dirname(repo), "cache")
    p = subprocess.run([ALIASD, "apply", "--repo", repo, "--ref", "main", "--rate", "1000", "--concurrency", "8"],
                       env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit("aliasd apply failed (%d)" % p.returncode)


def main():
    if not os.access(ALIASD, os.X_OK):
        raise SystemExit("%s is not built" % ALIASD)
    cold, promoted = spec(False), spec(True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency_ms=20, update_delay=0) as emu:
        repo = os.path.join(tmp, "repo")
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write_repo(repo, cold, "cold")
        lam = emu.client(max_attempts=3, max_pool_connections=10)

        # aliasd
        emu.reset()
        results["aliasd", "cold"] = measure(emu, lambda: aliasd_apply(emu, repo))
        results["aliasd", "in-sync"] = measure(emu, lambda: aliasd_apply(emu, repo))
        write_repo(repo, promoted, "promote")
        results["aliasd", "promote"] = measure(emu, lambda: aliasd_apply(emu, repo))
        # baseline, from the same empty state
        emu.reset()
        results["boto3", "cold"] = measure(emu, lambda: baseline_apply(lam, cold))
        results["boto3", "in-sync"] = measure(emu, lambda: baseline_apply(lam, cold))
        results["boto3", "promote"] = measure(emu, lambda: baseline_apply(lam, promoted))

    print("%d functions x 2 releases x 2 aliases, emulator latency 20 ms" % N)
    print("%-8s | %-26s | %-26s | %s" % ("phase", "aliasd: wall / calls / writes", "boto3: wall / calls / writes",
                                         "time ratio"))
    tot_a = tot_b = 0.0
    for phase in ("cold", "in-sync", "promote"):
        a, b = results["aliasd", phase], results["boto3", phase]
        tot_a += a[0]
        tot_b += b[0]
        print("%-8s | %7.2fs %6d %6d      | %7.2fs %6d %6d      | %.2fx faster, %.2fx fewer calls"
              % (phase, a[0], a[1], a[2], b[0], b[1], b[2], b[0] / max(a[0], 1e-9), b[1] / max(a[1], 1)))
    print("total    | %7.2fs %20s | %7.2fs %20s | %.2fx" % (tot_a, "", tot_b, "", tot_b / max(tot_a, 1e-9)))

    failures = []
    insync = results["aliasd", "in-sync"]
    if insync[1] > 2 * N:
        failures.append("in-sync apply made %d calls for %d functions (target <= %d)" % (insync[1], N, 2 * N))
    if insync[2]:
        failures.append("in-sync apply made %d writes" % insync[2])
    promo = results["aliasd", "promote"]
    if promo[2] != N or promo[3].get("UpdateAlias") != N:
        failures.append("promotion made %d writes for %d changed aliases: %s" % (promo[2], N, promo[3]))
    if tot_a > tot_b / 2:
        failures.append("total wall time %.2fs is more than half the baseline's %.2fs" % (tot_a, tot_b))
    for f in failures:
        print("MISSED: " + f)
    if not failures:
        print("targets met: in-sync <= 2 calls/function, 1 write per promoted alias, wall time <= 1/2 baseline")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
