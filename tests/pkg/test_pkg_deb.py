"""The Debian package: `make deb` builds it with dpkg-buildpackage and
debhelper; it is unpacked into a throwaway root (dpkg -x) and every file is
where README.md's "Install on a server" says; its maintainer scripts enable
the service without starting it and purge what it created; lintian reports
no errors.  One package build per session (a module fixture, ~30 s), and
none when build/deb/ (or $BUILD/deb/) already holds the package of exactly this
source tree (e.g. the `make check SANITIZE=1` after `make check`: the package is
built without sanitizers either way)."""
import hashlib
import os
import re
import shutil
import subprocess

import pytest

import pkgdocs

TOOLS = ("dpkg-buildpackage", "dh", "dh_installsystemd", "scdoc", "lintian", "man")


def makefile_version(root):
    m = re.search(r"^VERSION\s*:=\s*(\S+)", open(os.path.join(root, "Makefile")).read(), re.M)
    return m.group(1)


def clean_env(**extra):
    """No make or build variables of a surrounding `make check` (jobserver, SANITIZE)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SANITIZE", "CFLAGS", "LDFLAGS", "CPPFLAGS")}
    env.update(extra)
    return env


SKIP_DIRS = {"build", ".git", ".requests", "__pycache__"}  # what `make deb` leaves out of its copy
FINGERPRINT = "source.sha256"


def source_fingerprint(root):
    """SHA-256 over every file `make deb` packs (path, mode and bytes) and DEB_BUILD_OPTIONS."""
    h = hashlib.sha256(os.environ.get("DEB_BUILD_OPTIONS", "").encode() + b"\0")
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS
                         and not (rel == "examples" and x == "build"))
        for f in sorted(files):
            path = os.path.join(d, f)
            st = os.lstat(path)
            h.update(os.path.join(rel, f).encode() + b"\0" + oct(st.st_mode).encode() + b"\0")
            if os.path.islink(path):
                h.update(os.readlink(path).encode())
            else:
                with open(path, "rb") as fp:
                    h.update(hashlib.sha256(fp.read()).digest())
    return h.hexdigest()


def built_deb(deb_dir, name, fingerprint):
    """The package in deb_dir if it was built from this very source tree, else None."""
    path = os.path.join(deb_dir, name)
    try:
        with open(os.path.join(deb_dir, FINGERPRINT)) as f:
            same = f.read().strip() == fingerprint
    except OSError:
        return None
    return path if same and os.path.isfile(path) else None


@pytest.fixture(scope="module")
def deb(root_dir, build_dir):
    missing = [t for t in TOOLS if not shutil.which(t)]
    assert not missing, f"missing {missing}: run deploy/install-deps.sh as root"
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    name = f"aliasd_{makefile_version(root_dir)}_{arch}.deb"
    deb_dir = os.path.join(build_dir, "deb")
    fingerprint = source_fingerprint(root_dir)
    for d in (deb_dir, os.path.join(root_dir, "build", "deb")):
        path = built_deb(d, name, fingerprint)
        if path:
            return path
    r = subprocess.run(["make", "--no-print-directory", "-C", root_dir, "deb", f"DEB_DIR={deb_dir}"],
                       capture_output=True, text=True, timeout=900, env=clean_env())
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    path = os.path.join(deb_dir, name)
    assert os.path.isfile(path), os.listdir(deb_dir)
    # built outside the working tree: no debian/ appeared in it
    assert not os.path.exists(os.path.join(root_dir, "debian"))
    if source_fingerprint(root_dir) == fingerprint:  # nothing changed while it was built
        with open(os.path.join(deb_dir, FINGERPRINT), "w") as f:
            f.write(fingerprint + "\n")
    return path


@pytest.fixture(scope="module")
def unpacked(deb, tmp_path_factory):
    """(root, control): the package's files and its control files."""
    root = tmp_path_factory.mktemp("root")
    ctl = tmp_path_factory.mktemp("control")
    subprocess.run(["dpkg-deb", "-x", deb, str(root)], check=True)
    subprocess.run(["dpkg-deb", "-e", deb, str(ctl)], check=True)
    return str(root), str(ctl)


def field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_control_fields(deb, root_dir):
    assert field(deb, "Package") == "aliasd"
    assert field(deb, "Version") == makefile_version(root_dir)
    depends = field(deb, "Depends")
    # from ${shlibs:Depends}: the libraries the binary links
    for lib in ("libc6", "libgit2", "libcurl", "libyaml", "libssl", "libcjson", "libmicrohttpd"):
        assert lib in depends, depends
    assert "${" not in depends


def readme_install_paths(root_dir):
    """Paths of the "The package installs" table of README's "Install on a server"."""
    text = open(os.path.join(root_dir, "README.md")).read()
    start = text.index("## Install on a server")
    end = text.index("\n## ", start + 1)
    rows = [l for l in text[start:end].splitlines() if l.startswith("| ") and "`/" in l]
    paths = []
    for row in rows:
        where = row.rstrip(" |").rsplit("|", 1)[1]
        paths += re.findall(r"`(/[^`]+)`", where)
    assert len(paths) >= 10, paths
    return paths


def test_every_file_where_readme_says(unpacked, root_dir):
    root, _ = unpacked
    listed = readme_install_paths(root_dir)
    for p in listed:
        full = root + p
        if p.endswith("/"):
            assert os.path.isdir(full) and os.listdir(full), p
        else:
            assert os.path.isfile(full), p
    # and the package holds nothing the README does not mention (but the
    # packaging's own metadata: lintian overrides)
    unlisted = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)[len(root):]
            if p.startswith("/usr/share/lintian/overrides/"):
                continue
            if not any(p == l or (l.endswith("/") and p.startswith(l)) for l in listed):
                unlisted.append(p)
    assert unlisted == [], f"files in the package that README.md does not list: {unlisted}"


def test_binary(unpacked, root_dir):
    root, _ = unpacked
    binary = os.path.join(root, "usr/bin/aliasd")
    assert os.stat(binary).st_mode & 0o777 == 0o755
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and makefile_version(root_dir) in r.stdout, (r.stdout, r.stderr)
    # built with Debian's hardening flags (hardening=+all): full RELRO, PIE, stripped
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    assert "BIND_NOW" in dyn or "FLAGS_1" in dyn and "NOW" in dyn, dyn
    hdr = subprocess.run(["readelf", "-h", "-S", binary], capture_output=True, text=True, check=True).stdout
    assert "DYN (Position-Independent Executable" in hdr
    assert ".debug_info" not in hdr


def test_unit(unpacked, root_dir):
    root, _ = unpacked
    unit = open(os.path.join(root, "lib/systemd/system/aliasd.service")).read().splitlines()
    source = open(os.path.join(root_dir, "deploy/aliasd.service")).read().splitlines()
    assert "ExecStart=/usr/bin/aliasd run -c /etc/aliasd/aliasd.yaml" in unit
    # otherwise the unit of the repository, line for line
    assert [l for l in unit if not l.startswith("ExecStart=")] == \
        [l for l in source if not l.startswith("ExecStart=")]
    assert "DynamicUser=yes" in unit and "StateDirectory=aliasd" in unit


def test_conffile_is_the_example_and_valid(unpacked, root_dir, tmp_path):
    root, ctl = unpacked
    assert open(os.path.join(ctl, "conffiles")).read().split() == ["/etc/aliasd/aliasd.yaml"]
    conf = os.path.join(root, "etc/aliasd/aliasd.yaml")
    example = open(os.path.join(root_dir, "deploy/aliasd.yaml")).read()
    assert open(conf).read() == example
    assert open(os.path.join(root, "usr/share/doc/aliasd/aliasd.yaml.example")).read() == example
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "git-token").write_text("token\n")
    (creds / "webhook-secret").write_text("secret\n")
    r = subprocess.run([os.path.join(root, "usr/bin/aliasd"), "run", "-n", "-c", conf],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, CREDENTIALS_DIRECTORY=str(creds)))
    assert (r.returncode, r.stdout) == (0, "configuration OK\n"), r.stderr


def test_docs_man_and_completion(unpacked, root_dir):
    root, _ = unpacked
    doc = os.path.join(root, "usr/share/doc/aliasd")
    policy = open(os.path.join(doc, "iam-policy.json")).read()
    assert policy == open(os.path.join(root_dir, "deploy/iam-policy.json")).read()
    assert os.path.isfile(os.path.join(doc, "examples/my-lambda-function.yaml"))
    assert os.path.isfile(os.path.join(doc, "examples/artifacts/Version1.zip"))
    comp = open(os.path.join(root, "usr/share/bash-completion/completions/aliasd")).read()
    assert comp == open(os.path.join(root_dir, "deploy/aliasd.bash-completion")).read()
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    for page in ("usr/share/man/man1/aliasd.1.gz", "usr/share/man/man5/aliasd.yaml.5.gz",
                 "usr/share/man/man5/aliasd-manifest.5.gz"):
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(root, page)], capture_output=True,
                           text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and r.stderr == "" and "SEE ALSO" in r.stdout, (page, r.stderr)
    # the shipped page documents every command of the shipped binary
    one = subprocess.run(["man", "-l", os.path.join(root, "usr/share/man/man1/aliasd.1.gz")],
                         capture_output=True, text=True, timeout=60, env=dict(env, MANWIDTH="200")).stdout
    for c in pkgdocs.commands(os.path.join(root, "usr/bin/aliasd")):
        assert f"aliasd {c}" in one, c


# --- maintainer scripts, run with stubs -------------------------------------

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
exit 0
"""


def run_script(ctl, name, args, tmp_path, systemd_running=True, dpkg_root=None):
    """Run a maintainer script with deb-systemd-helper, deb-systemd-invoke and
    systemctl replaced by stubs that log their arguments; the script's test
    for a running systemd (/run/systemd/system) points at a directory that
    exists or not as asked.  Returns the logged calls."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    log.write_text("")
    for tool in ("deb-systemd-helper", "deb-systemd-invoke", "systemctl"):
        p = stubs / tool
        p.write_text(STUB.format(log=log))
        p.chmod(0o755)
    fake_run = tmp_path / "run"
    if systemd_running:
        (fake_run / "systemd" / "system").mkdir(parents=True, exist_ok=True)
    elif fake_run.exists():
        shutil.rmtree(fake_run)
    text = open(os.path.join(ctl, name)).read()
    assert "/run/systemd/system" in text or name == "postrm"
    text = text.replace("/run/systemd/system", f"{fake_run}/systemd/system")
    text = text.replace("/usr/bin/deb-systemd-helper", str(stubs / "deb-systemd-helper"))
    script = tmp_path / name
    script.write_text(text)
    script.chmod(0o755)
    env = {"PATH": f"{stubs}:/usr/bin:/bin"}
    if dpkg_root:
        env["DPKG_ROOT"] = str(dpkg_root)
    r = subprocess.run(["sh", "-e", str(script)] + args, capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    return log.read_text().splitlines()


def test_install_enables_but_does_not_start(unpacked, tmp_path):
    _, ctl = unpacked
    calls = run_script(ctl, "postinst", ["configure", ""], tmp_path)
    assert "deb-systemd-helper enable aliasd.service" in calls, calls
    assert not any(c.startswith("deb-systemd-invoke") for c in calls), calls
    assert not any(re.search(r"\b(start|restart)\b", c) for c in calls), calls


def test_upgrade_restarts_only_a_running_service(unpacked, tmp_path):
    _, ctl = unpacked
    calls = run_script(ctl, "postinst", ["configure", "0.0.9"], tmp_path)
    assert "deb-systemd-invoke try-restart aliasd.service" in calls, calls
    assert not any(re.search(r"invoke (start|restart)\b", c) for c in calls), calls
    # without systemd running (a chroot, an image build): nothing is invoked
    calls = run_script(ctl, "postinst", ["configure", "0.0.9"], tmp_path, systemd_running=False)
    assert not any(c.startswith(("deb-systemd-invoke", "systemctl")) for c in calls), calls


def test_remove_stops_the_service(unpacked, tmp_path):
    _, ctl = unpacked
    assert run_script(ctl, "prerm", ["remove"], tmp_path) == ["deb-systemd-invoke stop aliasd.service"]
    assert run_script(ctl, "prerm", ["upgrade", "0.2.0"], tmp_path) == []


def test_purge_removes_state_and_config(unpacked, tmp_path):
    _, ctl = unpacked
    root = tmp_path / "target"
    private = root / "var/lib/private/aliasd"
    (private / "git").mkdir(parents=True)
    (private / "git" / "objects").write_text("x")
    os.symlink("private/aliasd", root / "var/lib/aliasd")
    (root / "etc/aliasd").mkdir(parents=True)
    for f in ("git-token", "webhook-secret", "git-token.cred"):
        (root / "etc/aliasd" / f).write_text("secret\n")
    other = root / "var/lib/other"
    other.mkdir()

    calls = run_script(ctl, "postrm", ["remove"], tmp_path, dpkg_root=root)
    assert private.is_dir() and (root / "etc/aliasd/git-token").exists()
    assert "systemctl --system daemon-reload" in calls

    calls = run_script(ctl, "postrm", ["purge"], tmp_path, dpkg_root=root)
    assert "deb-systemd-helper purge aliasd.service" in calls, calls
    assert not os.path.lexists(root / "var/lib/aliasd")
    assert not private.exists() and not (root / "etc/aliasd").exists()
    assert other.is_dir() and (root / "var/lib/private").is_dir()


def test_lintian_reports_no_errors(deb):
    r = subprocess.run(["lintian", "--fail-on", "error", "--no-tag-display-limit", deb],
                       capture_output=True, text=True, timeout=300)
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    assert errors == [] and r.returncode == 0, r.stdout + r.stderr
