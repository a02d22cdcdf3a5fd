"""`aliasd validate` command line: arguments, output format, sources."""
import os
import subprocess


HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = os.path.join(os.path.dirname(HERE), "manifests", "good")

FN = """apiVersion: aliasd/v1
kind: Function
name: {name}
releases:
  v1:
    code: {{zipFile: artifacts/a.zip}}
aliases:
  Prod: v1
"""


def run(aliasd_bin, *args, cwd=None, env=None):
    return subprocess.run([os.path.abspath(aliasd_bin), "validate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def make_repo(root, names=("a", "b"), bad=False):
    os.makedirs(os.path.join(root, "artifacts"), exist_ok=True)
    os.makedirs(os.path.join(root, "manifests"), exist_ok=True)
    with open(os.path.join(root, "artifacts", "a.zip"), "wb") as f:
        f.write(b"PK\x05\x06" + b"\0" * 18)
    for n in names:
        with open(os.path.join(root, "manifests", n + ".yaml"), "w") as f:
            f.write(FN.format(name=n))
    if bad:
        with open(os.path.join(root, "manifests", "zz.yaml"), "w") as f:
            f.write(FN.format(name="bad").replace("Prod: v1", "Prod: v9"))


def test_help_explains_everything(aliasd_bin):
    p = run(aliasd_bin, "--help")
    assert p.returncode == 0
    for word in ("--repo", "--ref", "--path", "DIR", "Exit status", "zipFile", "50 MiB", "weights"):
        assert word in p.stdout, word
    p2 = subprocess.run([os.path.abspath(aliasd_bin), "help", "validate"], capture_output=True, text=True)
    assert p2.returncode == 0 and p2.stdout == p.stdout


def test_usage_errors(aliasd_bin, tmp_path):
    p = run(aliasd_bin, "--bogus")
    assert p.returncode == 64
    assert "unknown option '--bogus'" in p.stderr
    p = run(aliasd_bin, "a", "b")
    assert p.returncode == 64
    p = run(aliasd_bin, "--path")
    assert p.returncode == 64 and "--path needs a value" in p.stderr
    p = run(aliasd_bin, str(tmp_path), "--repo", str(tmp_path))
    assert p.returncode == 64


def test_ok_summary_and_default_dir(aliasd_bin, tmp_path):
    make_repo(tmp_path, names=("a",))
    p = run(aliasd_bin, cwd=tmp_path)
    assert (p.returncode, p.stdout, p.stderr) == (0, "1 function, 1 release, 1 alias: ok\n", "")
    make_repo(tmp_path, names=("a", "b", "c"))
    p = run(aliasd_bin, str(tmp_path))
    assert (p.returncode, p.stdout) == (0, "3 functions, 3 releases, 3 aliases: ok\n")


def test_errors_prefixed_with_dir_and_sorted(aliasd_bin, tmp_path):
    make_repo(tmp_path, bad=True)
    with open(tmp_path / "manifests" / "a.yaml", "a") as f:
        f.write("config: {timeout: 0}\n")
    p = run(aliasd_bin, str(tmp_path))
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.splitlines() == [
        f"{tmp_path}/manifests/a.yaml:9:19: config.timeout: must be between 1 and 900, got 0",
        f"{tmp_path}/manifests/zz.yaml:8:9: aliases.Prod: release \"v9\" is not declared in releases",
        "2 errors",
    ]


def test_path_subdir(aliasd_bin, tmp_path):
    make_repo(tmp_path)
    with open(tmp_path / "broken.yaml", "w") as f:
        f.write("not: [valid\n")
    p = run(aliasd_bin, "--path", "manifests", cwd=tmp_path)
    assert (p.returncode, p.stdout) == (0, "2 functions, 2 releases, 2 aliases: ok\n")
    p = run(aliasd_bin, "--path=manifests/", str(tmp_path))
    assert p.returncode == 0
    p = run(aliasd_bin, cwd=tmp_path)
    assert p.returncode == 1 and p.stderr.startswith("broken.yaml:2:1: syntax error")
    p = run(aliasd_bin, "--path", "nope", cwd=tmp_path)
    assert p.returncode == 1
    assert "nope: no such directory" in p.stderr
    p = run(aliasd_bin, "--path", "../x", cwd=tmp_path)
    assert p.returncode == 1 and "invalid manifest path" in p.stderr


def test_missing_dir(aliasd_bin, tmp_path):
    p = run(aliasd_bin, str(tmp_path / "nope"))
    assert p.returncode == 1
    assert "No such file or directory" in p.stderr


def test_zip_outside_symlink_never_followed(aliasd_bin, tmp_path):
    outside = tmp_path / "outside"
    repo = tmp_path / "repo"
    os.makedirs(outside)
    make_repo(repo, names=("a",))
    with open(outside / "secret.zip", "wb") as f:
        f.write(b"PK")
    os.symlink(str(outside), str(repo / "artifacts" / "ext"))
    with open(repo / "manifests" / "a.yaml", "w") as f:
        f.write(FN.format(name="a").replace("artifacts/a.zip", "artifacts/ext/secret.zip"))
    p = run(aliasd_bin, cwd=repo)
    assert p.returncode == 1
    assert "artifacts/ext/secret.zip is a symbolic link" in p.stderr


def test_repo_reads_the_commit_not_the_worktree(aliasd_bin, tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", XDG_CACHE_HOME=str(tmp_path / "cache"),
               HOME=str(tmp_path))
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "one"], check=True, env=env)
    # an uncommitted broken file: the folder sees it, the commit does not
    with open(repo / "manifests" / "zz.yaml", "w") as f:
        f.write("name: [\n")
    p = run(aliasd_bin, str(repo), env=env)
    assert p.returncode == 1 and "zz.yaml" in p.stderr
    p = run(aliasd_bin, "--repo", "file://" + str(repo), "--ref", "main", env=env)
    assert (p.returncode, p.stdout) == (0, "2 functions, 2 releases, 2 aliases: ok\n"), p.stderr
    p = run(aliasd_bin, "--repo", "file://" + str(repo), "--ref", "main", "--path", "manifests", env=env)
    assert p.returncode == 0, p.stderr
    # DIR with --ref reads DIR as a Git repository
    p = run(aliasd_bin, str(repo), "--ref", "main", env=env)
    assert (p.returncode, p.stdout) == (0, "2 functions, 2 releases, 2 aliases: ok\n"), p.stderr
    # errors in a commit are reported with repository paths
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "two"], check=True, env=env)
    p = run(aliasd_bin, "--repo", "file://" + str(repo), "--ref", "main", env=env)
    assert p.returncode == 1
    assert p.stderr.startswith("manifests/zz.yaml:2:1: syntax error"), p.stderr


def test_good_corpus_via_cli(aliasd_bin):
    p = run(aliasd_bin, os.path.join(GOOD, "design-example"))
    assert (p.returncode, p.stdout) == (0, "1 function, 3 releases, 4 aliases: ok\n")
