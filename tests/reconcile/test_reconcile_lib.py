"""Helpers for the reconcile integration tests (no tests in this file).

Real Git repositories made with the git CLI in a temp dir, the real aliasd
binary, the Lambda emulator (tests/emulator/emulator.py).
"""
import atexit
import base64
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
ROLE = "arn:aws:iam::123456789012:role/my-lambda-role"

# aliasd's Git cache ($XDG_CACHE_HOME/aliasd) goes here, never into the real home
CACHE_DIR = tempfile.mkdtemp(prefix="aliasd-reconcile-tests-")
atexit.register(shutil.rmtree, CACHE_DIR, True)

WRITE_OPS = ("CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishVersion",
             "CreateAlias", "UpdateAlias", "DeleteAlias", "DeleteFunction")


def mkzip(text, name="app.py"):
    """A small deterministic zip whose content depends on text."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def git(repo, *args, check=True):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
               GIT_CONFIG_NOSYSTEM="1", HOME=str(repo))
    p = subprocess.run(["git", "-C", str(repo)] + list(args), env=env, capture_output=True, text=True,
                       timeout=30)
    if check and p.returncode != 0:
        raise AssertionError("git %s failed: %s" % (" ".join(args), p.stderr))
    return p.stdout.strip()


def init_repo(path):
    os.makedirs(path, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def commit_all(repo, message):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def write(repo, rel, data):
    p = os.path.join(str(repo), rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(p, mode) as f:
        f.write(data)


def copy_examples(repo):
    """The examples repository (manifest + committed zips) into repo."""
    shutil.copy(os.path.join(EXAMPLES, "my-lambda-function.yaml"), os.path.join(str(repo), "my-lambda-function.yaml"))
    os.makedirs(os.path.join(str(repo), "artifacts"), exist_ok=True)
    for z in ("Version1.zip", "Version2.zip"):
        shutil.copy(os.path.join(EXAMPLES, "artifacts", z), os.path.join(str(repo), "artifacts", z))


def manifest(name, releases, aliases, config=None, prune=None):
    """YAML for one function. releases: list of (name, body-dict-as-yaml-flow-string)."""
    lines = ["apiVersion: aliasd/v1", "kind: Function", "name: %s" % name]
    cfg = config if config is not None else {
        "runtime": "python3.12", "handler": "app.handler", "role": ROLE, "memorySize": 128}
    if cfg:
        lines.append("config:")
        for k, v in cfg.items():
            lines.append("  %s: %s" % (k, v))
    if releases:
        lines.append("releases:")
        for rname, body in releases:
            lines.append("  %s: %s" % (rname, body))
    if aliases:
        lines.append("aliases:")
        for aname, target in aliases:
            lines.append("  %s: %s" % (aname, target))
    if prune:
        lines.append("prune:")
        for k, v in prune.items():
            lines.append("  %s: %s" % (k, v))
    return "\n".join(lines) + "\n"


def run(aliasd_bin, emu, *args, timeout=120, env_extra=None):
    env = dict(os.environ, **emu.env())
    env.pop("AWS_PROFILE", None)
    env["AWS_CONFIG_FILE"] = "/nonexistent"
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["XDG_CACHE_HOME"] = CACHE_DIR
    if env_extra:
        env.update(env_extra)
    return subprocess.run([aliasd_bin] + list(args), env=env, capture_output=True, text=True, timeout=timeout)


def counts(emu):
    return dict(emu.stats()["requests"])


def diff(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) - before.get(k, 0)}


def writes(d):
    return sum(v for k, v in d.items() if k in WRITE_OPS)


def versions(lam, fn):
    out, marker = [], None
    while True:
        kw = {"FunctionName": fn}
        if marker:
            kw["Marker"] = marker
        page = lam.list_versions_by_function(**kw)
        out += [v for v in page["Versions"] if v["Version"] != "$LATEST"]
        marker = page.get("NextMarker")
        if not marker:
            return out


def aliases(lam, fn):
    out, marker = {}, None
    while True:
        kw = {"FunctionName": fn}
        if marker:
            kw["Marker"] = marker
        page = lam.list_aliases(**kw)
        for a in page["Aliases"]:
            out[a["Name"]] = a
        marker = page.get("NextMarker")
        if not marker:
            return out


def alias_target(a):
    """(version, {extra: weight})"""
    return a["FunctionVersion"], dict((a.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})
