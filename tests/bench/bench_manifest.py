#!/usr/bin/python3
"""Benchmark `aliasd validate` on 10,000 functions (make bench).

Generates a repository of 10,000 functions (50 team folders x 200 files, each
function with a zip release (a small zip per function, so 10,000 SHA-256s), an
s3 release, an image release, an adopted version, 4 aliases with a weighted
canary and a config with environment), then measures, best of 3:

  - aliasd validate DIR                    (folder source)
  - aliasd validate --repo DIR --ref main  (Git commit tree via libgit2, cache warm)
  - baseline: PyYAML's C loader (yaml.load with CSafeLoader) of the same files,
    and `cat` of the same files, in the same run on the same machine.

  - the daemon's second load: the Git commit loaded in one process
    (tests/tools/manifest_reload, with the zip hash cache and the parsed-file
    cache kept across loads as the daemon keeps them), then a commit changing
    one zip and one manifest, then that commit loaded again; the first load is
    the baseline.  The model's memory per function is what freeing a set of
    that commit (loaded without the file cache) gives back.

Prints wall time and peak RSS (getrusage of the child) and the ratio to the
baseline.  Targets: folder validation under 1 s and under 64 MiB, the second
load under 0.2 s (parsing only the changed file), the model at most 2,200
bytes of heap per function; exit 1 if missed.  BENCH_MANIFESTS overrides the
count.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

N_FUNCS = int(os.environ.get("BENCH_MANIFESTS", "10000"))
TEAMS = 50
TARGET_S = 1.0
TARGET_RELOAD_S = 0.2
TARGET_MIB = 64
TARGET_MODEL_BYTES = 2200  # per function: about half of the 4,297 measured so before the arenas
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALIASD = os.environ.get("ALIASD_BIN") or os.path.join(ROOT, os.environ.get("BUILD", "build"), "aliasd")
RELOAD = os.path.join(os.path.dirname(ALIASD), "tests", "tools", "manifest_reload")

MANIFEST = """apiVersion: aliasd/v1
kind: Function
name: {name}
region: us-east-1
config:
  runtime: python3.12
  handler: app.handler
  role: arn:aws:iam::123456789012:role/{name}
  memorySize: 256
  timeout: 30
  environment: {{LOG_LEVEL: info, TEAM: {team}, FEATURE_X: "on"}}
  description: function {name} of {team}
releases:
  v1:
    code: {{zipFile: artifacts/{team}/{name}.zip}}
    description: first release
  v2:
    code: {{s3: {{bucket: acme-artifacts, key: {team}/{name}/2.zip, objectVersion: "3HL4kqtJlcpXroDTDmJ"}}}}
    sha256: 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
    config: {{memorySize: 512}}
  v3:
    code: {{imageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}@sha256:{digest}"}}
  legacy:
    version: 1
aliases:
  Prod: v1
  Test: v2
  Pinned: 3
  Canary:
    release: v1
    weights: {{v2: 0.1}}
    description: canary
prune:
  aliases: false
  keepVersions: 10
"""


def generate(root):
    files = []
    for i in range(N_FUNCS):
        team = f"team{i % TEAMS:02d}"
        name = f"fn-{i:05d}"
        d = os.path.join(root, "functions", team)
        a = os.path.join(root, "artifacts", team)
        os.makedirs(d, exist_ok=True)
        os.makedirs(a, exist_ok=True)
        p = os.path.join(d, name + ".yaml")
        with open(p, "w") as f:
            f.write(MANIFEST.format(name=name, team=team, digest=f"{i:064x}"))
        with open(os.path.join(a, name + ".zip"), "wb") as f:
            f.write(b"PK\x03\x04" + os.urandom(1024))
        files.append(p)
    return files


def run_child(argv, env=None, cwd=None):
    """Wall seconds, peak RSS MiB, exit code, stdout, stderr of one run.

    Peak RSS comes from GNU time (-f %M) when installed: getrusage() of a child
    forked from Python would count the Python parent's pages copied before exec.
    """
    timefile = None
    if os.access("/usr/bin/time", os.X_OK):
        fd, timefile = tempfile.mkstemp(prefix="aliasd-bench-time-")
        os.close(fd)
        argv = ["/usr/bin/time", "-q", "-f", "%M", "-o", timefile] + list(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        p = subprocess.Popen(argv, stdout=fout, stderr=ferr, env=env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    rss = ru.ru_maxrss / 1024.0  # upper bound: includes the forked Python before exec
    if timefile:
        with open(timefile) as f:
            lines = [l for l in f.read().split() if l.isdigit()]
        os.unlink(timefile)
        if lines:
            rss = int(lines[-1]) / 1024.0
    return wall, rss, p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def best_of(n, argv, **kw):
    runs = [run_child(argv, **kw) for _ in range(n)]
    return min(runs, key=lambda r: r[0])


def reload_bench(repo, url, tmp, genv):
    """The daemon's loads: a commit, then one that changes one zip and one manifest."""
    if not os.access(RELOAD, os.X_OK):
        print(f"second load: {RELOAD} is not built (make tests): skipped")
        return 0
    p = subprocess.Popen([RELOAD, "--url", url, "--state-dir", os.path.join(tmp, "reload-state"),
                          "--ref", "main"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=genv)
    first = p.stdout.readline().split()
    if len(first) != 7:
        p.kill()
        print(f"FAIL: manifest_reload: {first} {p.stderr.read()[:300]}")
        return 1
    team, name = "team07", "fn-00007"
    with open(os.path.join(repo, "artifacts", team, name + ".zip"), "wb") as f:
        f.write(b"PK\x03\x04" + os.urandom(1024))
    mf = os.path.join(repo, "functions", team, name + ".yaml")
    with open(mf) as f:
        text = f.read()
    with open(mf, "w") as f:
        f.write(text.replace("Prod: v1", "Prod: v2"))
    subprocess.run(["git", "-C", repo, "commit", "-qam", "one file"], check=True, env=genv)
    out, err = p.communicate("again\n", timeout=300)
    second = out.split()
    if p.returncode != 0 or len(second) != 7:
        print(f"FAIL: manifest_reload: {out[:200]} {err[:300]}")
        return 1
    t1, t2 = float(first[1]), float(second[1])
    model = int(first[5]) / int(first[2])
    print(f"daemon load of the commit:       {t1:.3f} s, {first[2]} functions, {first[4]} zips hashed, "
          f"model {model:.0f} bytes per function (what freeing a set gives back; the load's heap "
          f"growth, libgit2's caches included: {int(first[6]) / int(first[2]):.0f})")
    print(f"second load after a one-file commit: {t2:.3f} s, {second[4]} zip(s) hashed, "
          f"{second[6]} file(s) parsed (x{t2 / max(t1, 1e-6):.2f} the first load); "
          f"{int(second[5]) / int(second[2]):.0f} bytes of heap per function for the second "
          f"set while the first is kept")
    status = 0
    if second[4] != "1" or first[2] != second[2]:
        print("FAIL: the second load should hash exactly the one changed zip")
        status = 1
    if second[6] != "1":
        print("FAIL: the second load should parse exactly the one changed manifest")
        status = 1
    if t2 > TARGET_RELOAD_S:
        print(f"FAIL: target is under {TARGET_RELOAD_S} s")
        status = 1
    if model > TARGET_MODEL_BYTES:
        print(f"FAIL: the model's target is at most {TARGET_MODEL_BYTES} bytes of heap per function")
        status = 1
    return status


def main():
    if not os.access(ALIASD, os.X_OK):
        print(f"bench_manifest: {ALIASD} is not built", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="aliasd-bench-manifest-")
    status = 0
    try:
        repo = os.path.join(tmp, "repo")
        files = generate(repo)
        nbytes = sum(os.path.getsize(f) for f in files)
        print(f"generated {N_FUNCS} functions in {len(files)} files ({nbytes / 1e6:.1f} MB of YAML) + {N_FUNCS} zips")

        # baselines
        listfile = os.path.join(tmp, "files.txt")
        with open(listfile, "w") as f:
            f.write("\n".join(files))
        pyload = ("import sys,yaml\n"
                  "for p in open(sys.argv[1]).read().split('\\n'):\n"
                  "    yaml.load(open(p), Loader=yaml.CSafeLoader)\n")
        b_py = best_of(3, ["/usr/bin/python3", "-c", pyload, listfile])
        b_cat = best_of(3, ["sh", "-c", f"xargs cat < {listfile} > /dev/null"])
        print(f"baseline PyYAML CSafeLoader: {b_py[0]:.3f} s, {b_py[1]:.1f} MiB peak RSS")
        print(f"baseline cat:                {b_cat[0]:.3f} s, {b_cat[1]:.1f} MiB peak RSS")

        # folder
        w, rss, rc, out, err = best_of(3, [ALIASD, "validate", repo])
        expect = f"{N_FUNCS} functions, {4 * N_FUNCS} releases, {4 * N_FUNCS} aliases: ok"
        if rc != 0 or out.strip() != expect:
            print(f"FAIL: aliasd validate DIR exited {rc}: {out.strip()} {err[:500]}")
            return 1
        print(f"aliasd validate DIR:         {w:.3f} s, {rss:.1f} MiB peak RSS "
              f"(x{w / b_py[0]:.2f} PyYAML time, x{w / max(b_cat[0], 1e-3):.1f} cat time)")
        if w > TARGET_S or rss > TARGET_MIB:
            print(f"FAIL: target is under {TARGET_S} s and under {TARGET_MIB} MiB")
            status = 1

        # Git commit tree (if git and --repo are available)
        if shutil.which("git"):
            genv = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com",
                        GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com",
                        XDG_CACHE_HOME=os.path.join(tmp, "cache"))
            subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=genv)
            subprocess.run(["git", "-C", repo, "add", "-A"], check=True, env=genv)
            subprocess.run(["git", "-C", repo, "commit", "-qm", "bench"], check=True, env=genv)
            url = "file://" + repo
            first = run_child([ALIASD, "validate", "--repo", url, "--ref", "main"], env=genv)
            if first[2] != 0 or first[3].strip() != expect:
                print(f"aliasd validate --repo: not available or failed (exit {first[2]}): {first[4].strip()[:300]}")
            else:
                w, rss, rc, out, err = best_of(3, [ALIASD, "validate", "--repo", url, "--ref", "main"], env=genv)
                print(f"aliasd validate --repo (first run, with clone): {first[0]:.3f} s, {first[1]:.1f} MiB")
                print(f"aliasd validate --repo (cache warm): {w:.3f} s, {rss:.1f} MiB peak RSS "
                      f"(x{w / b_py[0]:.2f} PyYAML time)")
            if reload_bench(repo, url, tmp, genv) != 0:
                status = 1
        return status
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
