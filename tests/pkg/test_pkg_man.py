"""The man pages: rendered without warnings, and covering every command,
option, exit code, environment variable and config key (issue 13)."""
import os
import re
import subprocess

import pytest

import pkgdocs

# `make man` and `make install` both write $BUILD/man/ (and install $BUILD/aliasd.txt):
# in a parallel run the two modules share one xdist worker, never racing on those files.
pytestmark = pytest.mark.xdist_group("make-build-man")

PAGES = {"aliasd.1": "aliasd.1.scd", "aliasd.yaml.5": "aliasd.yaml.5.scd",
         "aliasd-manifest.5": "aliasd-manifest.5.scd"}


@pytest.fixture(scope="module")
def man_dir(root_dir, build_dir):
    """build/man/*, rendered by `make man` (scdoc)."""
    r = subprocess.run(["make", "--no-print-directory", "-C", root_dir, "man", f"BUILD={build_dir}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    d = os.path.join(build_dir, "man")
    for page in PAGES:
        assert os.path.getsize(os.path.join(d, page)) > 2000, page
    return d


def src(root_dir, page):
    return os.path.join(root_dir, "deploy", "man", PAGES[page])


def render(path, width="80"):
    env = dict(os.environ, MANWIDTH=width, LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    return subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                          timeout=60, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_renders_without_warnings(man_dir, page):
    for width in ("80", "120"):
        r = render(os.path.join(man_dir, page), width)
        assert r.returncode == 0, r.stderr
        assert r.stderr == "", f"{page} at {width} columns: {r.stderr}"
        assert "NAME" in r.stdout and "SEE ALSO" in r.stdout


def test_page_names_and_sections(man_dir):
    one = render(os.path.join(man_dir, "aliasd.1")).stdout
    five = render(os.path.join(man_dir, "aliasd.yaml.5")).stdout
    assert re.search(r"aliasd - GitOps reconciler", one)
    assert re.search(r"aliasd\.yaml - configuration file", five)
    for section in ("SYNOPSIS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES"):
        assert re.search(rf"^{section}$", one, re.M), section
    assert re.search(r"^KEYS$", five, re.M)


def test_every_command_documented(aliasd_bin, root_dir):
    text = pkgdocs.scd_text(src(root_dir, "aliasd.1"))
    missing = [c for c in pkgdocs.commands(aliasd_bin) if f"aliasd {c}" not in text]
    assert missing == [], f"commands of `aliasd --help` missing from aliasd.1: {missing}"


def test_every_option_documented(aliasd_bin, root_dir):
    raw = open(src(root_dir, "aliasd.1")).read()
    documented = set(re.findall(r"\*(--?[a-zA-Z][a-zA-Z0-9-]*)\*", raw))
    missing = {}
    for cmd in ["--help"] + [c for c in pkgdocs.commands(aliasd_bin) if c != "help"]:
        text = pkgdocs.help_text(aliasd_bin, "help", cmd) if cmd != "--help" \
            else pkgdocs.help_text(aliasd_bin, "--help")
        lost = [o for o in pkgdocs.options(text) if o not in documented]
        if lost:
            missing[cmd] = lost
    assert missing == {}, f"options of the help texts missing from aliasd.1 (as *--opt*): {missing}"
    # and the page documents no option that the binary does not have
    known = set(pkgdocs.options(pkgdocs.help_text(aliasd_bin, "--help")))
    for c in pkgdocs.commands(aliasd_bin):
        if c != "help":
            known |= set(pkgdocs.options(pkgdocs.help_text(aliasd_bin, "help", c)))
    assert documented - known == set(), f"aliasd.1 documents options no help mentions: {documented - known}"


def test_every_config_key_documented(root_dir):
    raw = open(src(root_dir, "aliasd.yaml.5")).read()
    missing = []
    for key, section in pkgdocs.config_keys(root_dir):
        if section:
            ok = re.search(rf"^\*{re.escape(key)}\* \(", raw, re.M)  # "*repository.url* (string, ...)"
        else:
            ok = re.search(rf"^## {re.escape(key)}\b", raw, re.M) or \
                re.search(rf"^\*{re.escape(key)}\* \(", raw, re.M)
        if not ok:
            missing.append(key)
    assert missing == [], f"config keys of cmd/config.c missing from aliasd.yaml.5: {missing}"


def test_config_keys_state_default_and_bounds(root_dir):
    """Each key's line says its type and default (or that it is required)."""
    raw = open(src(root_dir, "aliasd.yaml.5")).read()
    for key, section in pkgdocs.config_keys(root_dir):
        if not section and key != "stateDir":
            continue  # a section: its keys carry the defaults
        m = re.search(rf"^\*{re.escape(key)}\* \((.*)\)$", raw, re.M)
        assert m, key
        assert "default" in m.group(1) or "required" in m.group(1), (key, m.group(1))
    # the numeric keys name their bounds
    for key, bounds in (("repository.interval", "from *100ms* to *1d*"), ("reconcile.resync", "to *7d*"),
                        ("reconcile.concurrency", "from *1* to *64*"),
                        ("reconcile.rateLimit", "from *0.1* to *100*"),
                        ("reconcile.backoffMax", "from *1s* to *1d*")):
        line = re.search(rf"^\*{re.escape(key)}\* \((.*)\)$", raw, re.M).group(1)
        assert bounds in line, (key, line)


def test_config_defaults_match_the_header(root_dir):
    """The defaults the page states are cmd/config.h's."""
    hdr = open(os.path.join(root_dir, "cmd", "config.h")).read()
    raw = open(src(root_dir, "aliasd.yaml.5")).read()

    def define(name):
        return re.search(rf"#define {name}\s+(\S+)", hdr).group(1)

    def ms(v):
        v = int(v.rstrip("ULL"))
        for unit, n in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
            if v % n == 0:
                return f"{v // n}{unit}"
        return f"{v}ms"

    expect = {
        "repository.ref": define("CONFIG_DEFAULT_REF").strip('"'),
        "repository.interval": ms(define("CONFIG_DEFAULT_INTERVAL_MS")),
        "reconcile.resync": ms(define("CONFIG_DEFAULT_RESYNC_MS")),
        "reconcile.concurrency": define("CONFIG_DEFAULT_CONCURRENCY"),
        "reconcile.rateLimit": define("CONFIG_DEFAULT_RATE_LIMIT").replace(".0", ""),
        "reconcile.backoffMax": ms(define("CONFIG_DEFAULT_BACKOFF_MAX_MS")),
        "server.listen": define("CONFIG_DEFAULT_LISTEN").strip('"'),
        "stateDir": define("CONFIG_DEFAULT_STATE_DIR").strip('"'),
    }
    for key, default in expect.items():
        line = re.search(rf"^\*{re.escape(key)}\* \((.*)\)$", raw, re.M).group(1)
        assert f"default *{default}*" in line, (key, default, line)


def test_every_manifest_key_documented(root_dir):
    raw = open(src(root_dir, "aliasd-manifest.5")).read()
    missing = [k for k in pkgdocs.manifest_keys(root_dir) if f"*{k}*" not in raw]
    assert missing == [], f"manifest keys of manifest/*.c missing from aliasd-manifest.5: {missing}"
    # the bounds the page states are manifest/model.h's
    hdr = open(os.path.join(root_dir, "manifest", "model.h")).read()

    def define(name):
        return re.search(rf"#define {name}\s+(\d+)", hdr).group(1)

    for key, lo, hi in (("memorySize", "MEMORY_MIN", "MEMORY_MAX"), ("timeout", "TIMEOUT_MIN", "TIMEOUT_MAX"),
                        ("ephemeralStorage", "EPHEMERAL_MIN", "EPHEMERAL_MAX")):
        block = raw[raw.index(f"*{key}*\n"):]
        block = block[:block.index("\n\n")]
        assert f"from *{define('MANIFEST_' + lo)}* to *{define('MANIFEST_' + hi)}*" in block, (key, block)


def test_every_environment_variable_documented(root_dir):
    raw = open(src(root_dir, "aliasd.1")).read()
    env_section = raw[raw.index("# ENVIRONMENT"):raw.index("# FILES")]
    missing = [v for v in pkgdocs.env_vars(root_dir) if f"*{v}*" not in env_section]
    assert missing == [], f"environment variables read by the code missing from aliasd.1: {missing}"


def test_exit_codes_documented(aliasd_bin, root_dir):
    raw = open(src(root_dir, "aliasd.1")).read()
    section = raw[raw.index("# EXIT STATUS"):raw.index("# ENVIRONMENT")]
    codes = set(re.findall(r"^\*(\d+)\*$", section, re.M))
    assert {"0", "1", "2", "64"} <= codes, codes
    # every code a command's help names is explained
    for c in pkgdocs.commands(aliasd_bin):
        if c == "help":
            continue
        text = pkgdocs.help_text(aliasd_bin, "help", c)
        tail = text[text.index("Exit status:"):]
        named = set(re.findall(r"(?<![\w-])(\d+)\s+(?=[a-z(])", tail))
        assert named and named <= codes, (c, named, codes)


def test_files_documented(root_dir):
    raw = open(src(root_dir, "aliasd.1")).read()
    section = raw[raw.index("# FILES"):]
    for path in ("/usr/bin/aliasd", "/etc/aliasd/aliasd.yaml", "/lib/systemd/system/aliasd.service",
                 "/var/lib/aliasd/", "/usr/share/doc/aliasd/iam-policy.json"):
        assert f"_{path}_" in section, path
