"""Usage errors exit 64 (EX_USAGE), distinct from plan's 2 (changes pending) and 1 (errors)."""
import os
import subprocess

import pytest

CASES = [
    ["plan", "--bogus"], ["plan", "a", "b"], ["plan", "--repo"], ["plan", "--concurrency", "0"],
    ["plan", "--rate", "x"], ["plan", "--ref"],
    ["apply", "--bogus"], ["apply", "a", "b"], ["apply", "--function"], ["apply", "--concurrency=999"],
    ["validate", "--bogus"], ["validate", "a", "b"], ["validate", "--path"],
    ["versions"], ["versions", "a", "b"], ["versions", "--bogus", "a"], ["versions", "a", "--region"],
    ["--bogus"], ["no-such-command"], [],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a) or "(none)" for a in CASES])
def test_usage_error_exits_64(aliasd_bin, args, tmp_path):
    # no credentials, no network: a usage error is found before any of that
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"}
    p = subprocess.run([aliasd_bin] + args, capture_output=True, text=True, timeout=30, env=env,
                       cwd=str(tmp_path))
    assert p.returncode == 64, (args, p.returncode, p.stdout, p.stderr)
    assert "--help" in p.stderr or "usage:" in p.stderr, p.stderr


@pytest.mark.parametrize("verb", ["plan", "apply", "validate", "versions", "run", "status"])
def test_help_names_the_usage_exit_code(aliasd_bin, verb):
    p = subprocess.run([aliasd_bin, verb, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "64 usage error" in p.stdout, p.stdout
    if verb == "plan":
        assert "2 changes pending" in p.stdout


def test_main_help_names_the_exit_codes(aliasd_bin):
    p = subprocess.run([aliasd_bin, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "64 usage error" in p.stdout and "2 changes pending" in p.stdout, p.stdout
