"""`aliasd run -n` and the command lines of run and status."""
import os
import subprocess

import pytest


def run(binary, *args, env=None):
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, **(env or {})))


def test_check_example_config(aliasd_bin, root_dir, tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "git-token").write_text("ghp_exampletoken\n")
    (creds / "webhook-secret").write_text("hook secret\n")
    example = os.path.join(root_dir, "deploy", "aliasd.yaml")
    r = run(aliasd_bin, "run", "-n", "-c", example, env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert (r.returncode, r.stdout) == (0, "configuration OK\n"), r.stderr
    assert "ghp_" not in r.stdout + r.stderr
    # without the credentials systemd would pass: both references reported, exit 1
    env = dict(os.environ)
    env.pop("CREDENTIALS_DIRECTORY", None)
    r = subprocess.run([aliasd_bin, "run", "--check", "--config", example], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 1
    errs = [l for l in r.stderr.splitlines() if "CREDENTIALS_DIRECTORY, which is not set" in l]
    assert len(errs) == 2 and all(l.startswith(example + ":") for l in errs), r.stderr


def test_check_reports_every_error(aliasd_bin, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("repository:\n  url: x\n  interval: 5\nreconcile: {concurrency: 100}\nlog: {level: loud}\n")
    r = run(aliasd_bin, "run", "-n", "-c", str(cfg))
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith("%s:3:13: repository.interval:" % cfg), r.stderr
    assert lines[1].startswith("%s:4:26: reconcile.concurrency" % cfg), r.stderr
    assert lines[2].startswith("%s:5:14: log.level" % cfg), r.stderr
    assert "configuration invalid" in lines[-1]
    r = run(aliasd_bin, "run", "-n", "-c", str(tmp_path / "missing.yaml"))
    assert r.returncode == 1 and "No such file or directory" in r.stderr


@pytest.mark.parametrize("args", [["run", "-x"], ["run", "extra"], ["run", "-c"], ["status", "--url", "ftp://x"],
                                  ["status", "--bogus"]])
def test_usage_errors(aliasd_bin, args):
    r = run(aliasd_bin, *args)
    assert r.returncode == 64, r.stderr
    assert "--help" in r.stderr


def test_help(aliasd_bin):
    for verb in ("run", "status"):
        r = run(aliasd_bin, verb, "--help")
        assert r.returncode == 0 and r.stdout.startswith("aliasd %s " % verb)
        assert "not built yet" not in r.stdout


def test_status_config_file_errors(aliasd_bin, tmp_path):
    # -c FILE: a file that cannot be read as a configuration is named, exit 1
    big = tmp_path / "big.yaml"
    big.write_text("#" * (2 << 20))
    for path, msg in ((str(tmp_path / "missing.yaml"), "No such file or directory"),
                      (str(tmp_path), "Is a directory"),
                      (str(big), "larger than 1048576 bytes")):
        r = run(aliasd_bin, "status", "-c", path)
        assert r.returncode == 1 and "%s: %s" % (path, msg) in r.stderr, r.stderr


def test_warnings_at_start_and_with_check(aliasd_bin, tmp_path):
    """A non-loopback listen address and a Git token over http:// are said (file:line:col), not
    refused: `run -n` still says the configuration is OK, and the daemon logs them at start."""
    token = tmp_path / "token"
    token.write_text("ghp_sekrit\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "repository:\n"
        "  url: http://127.0.0.1:9/releases.git\n"
        f"  tokenFile: {token}\n"
        "server:\n"
        "  listen: 0.0.0.0:0\n"
        f"stateDir: {tmp_path / 'state'}\n")
    r = run(aliasd_bin, "run", "-n", "-c", str(cfg))
    assert (r.returncode, r.stdout) == (0, "configuration OK\n"), r.stderr
    warnings = [l for l in r.stderr.splitlines() if l.startswith("warning: ")]
    assert len(warnings) == 2, r.stderr
    assert any(f"{cfg}:5:" in l and "all interfaces" in l for l in warnings), warnings
    assert any(f"{cfg}:2:" in l and "unencrypted" in l for l in warnings), warnings
    assert "ghp_" not in r.stdout + r.stderr

    # the daemon says the same at start (it then fails to reach the repository; stop it)
    p = subprocess.Popen([aliasd_bin, "run", "-c", str(cfg)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        import time
        time.sleep(1.5)  # the warnings come right after the config is read
        p.terminate()
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert err.count("configuration warning") == 2, err
    assert "all interfaces" in err and "unencrypted" in err, err
    assert "ghp_" not in out + err
