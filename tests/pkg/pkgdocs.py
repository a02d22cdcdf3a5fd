"""What the man pages must cover, read from the real sources and the binary.

Shared by the tests in tests/pkg/: the commands and options of
`aliasd --help` / `aliasd help CMD`, the config keys of cmd/config.c (its
`keys[]` arrays, with the section each belongs to), and the environment
variables the C sources read.
"""
import glob
import os
import re
import subprocess

# Read by the code but not for administrators: documented where they are read.
ENV_NOT_FOR_ADMINS = {
    "AWS_CONTAINER_CREDENTIALS_HOST_OVERRIDE": "a test hook (aws/credentials.h)",
    "ALIASD_AWS_RETRY_BASE_MS": "a test knob (aws/retry.h)",
    "ALIASD_AWS_RETRY_AFTER_MAX_MS": "a test knob (aws/retry.h)",
}


def help_text(binary, *args):
    r = subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (args, r.returncode, r.stderr)
    return r.stdout


def commands(binary):
    """The command names listed under "Commands:" in `aliasd --help`."""
    out, on = [], False
    for line in help_text(binary, "--help").splitlines():
        if line.startswith("Commands:"):
            on = True
            continue
        if on and line and not line.startswith(" "):
            break
        m = re.match(r"^  ([a-z][a-z-]*)\s", line)
        if on and m:
            out.append(m.group(1))
    assert {"validate", "plan", "apply", "run", "status", "versions", "help"} <= set(out), out
    return out


OPTION_RE = re.compile(r"(?:^|(?<=[\s\[|,(]))(--?[a-zA-Z][a-zA-Z0-9-]*)")


def options(text):
    """Every -x / --long option word in a help text."""
    return sorted(set(OPTION_RE.findall(text)))


def config_keys(root):
    """[(dotted key, section or None)] from the keys[] arrays of cmd/config*.c.

    A keys[] array belongs to the section its function checks it under,
    check_keys(p, m, "DOTTED.PREFIX", keys), or opens with
    section(p, root, "NAME"); the array of config_parse (no section) lists the
    top-level keys.
    """
    found = []
    for path in sorted(glob.glob(os.path.join(root, "cmd", "config*.c"))):
        src = open(path).read()
        for m in re.finditer(r"static const char \*const keys\[\]\s*=\s*\{(.*?)\};", src, re.S):
            names = re.findall(r'"([A-Za-z0-9_]+)"', m.group(1))
            start = max(src.rfind("\n}\n", 0, m.start()), 0)
            end = src.find("\n}\n", m.end())
            body = src[start:end]
            sec = re.search(r'check_keys\(\s*&?p\s*,\s*\w+\s*,\s*"([A-Za-z0-9_.\[\]]+)"', body) or \
                re.search(r'section\(\s*p\s*,\s*root\s*,\s*"([A-Za-z0-9_]+)"\s*\)', body)
            for n in names:
                found.append((f"{sec.group(1)}.{n}" if sec else n, sec.group(1) if sec else None))
    assert len(found) >= 20 and ("repository.url", "repository") in found, found
    return found


def manifest_keys(root):
    """Every key name of the keys[] arrays of manifest/ (the manifest parser)."""
    names = set()
    for dirpath, _, files in os.walk(os.path.join(root, "manifest")):
        for f in files:
            if f.endswith(".c"):
                src = open(os.path.join(dirpath, f), errors="replace").read()
                for m in re.finditer(r"static const char \*const keys\[\]\s*=\s*\{(.*?)\};", src, re.S):
                    names |= set(re.findall(r'"([A-Za-z0-9_]+)"', m.group(1)))
    assert {"apiVersion", "releases", "aliases", "zipFile", "memorySize", "keepVersions"} <= names, names
    return sorted(names)


# getenv and the modules' own wrappers (cred_env, env_flag, ...)
ENV_RE = re.compile(r'\b(?:secure_getenv|getenv|[a-z0-9_]*env[a-z0-9_]*)\(\s*"([A-Z][A-Z0-9_]+)"')


def env_vars(root):
    """Environment variable names the C sources outside tests/ read."""
    names = set()
    for mod in ("cmd", "aws", "manifest", "reconcile", "util"):
        for dirpath, _, files in os.walk(os.path.join(root, mod)):
            for f in files:
                if f.endswith(".c"):
                    names |= set(ENV_RE.findall(open(os.path.join(dirpath, f), errors="replace").read()))
    assert {"AWS_REGION", "GIT_TOKEN", "CREDENTIALS_DIRECTORY"} <= names, names
    return sorted(names - set(ENV_NOT_FOR_ADMINS))


def scd_text(path):
    """A scdoc source without its markup: what the reader sees, unwrapped."""
    s = open(path).read()
    s = s.replace("\\*", "*").replace("\\_", "_")
    s = re.sub(r"(?<![\w])[*_]|[*_](?![\w])", "", s)
    return s
