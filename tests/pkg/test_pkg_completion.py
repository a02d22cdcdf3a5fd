"""Bash completion (deploy/aliasd.bash-completion): a real bash with the
completion loaded, asked for the candidates at a given command line."""
import os
import shutil
import subprocess

import pytest

import pkgdocs

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

# Complete LINE (the cursor at its end) the way readline would call _aliasd,
# and print one candidate per line.
DRIVER = r'''
complete_line() {
	COMP_LINE=$1
	COMP_POINT=${#COMP_LINE}
	read -ra COMP_WORDS <<<"$COMP_LINE"
	[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_aliasd aliasd "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}"
}
complete_line "$LINE"
'''


@pytest.fixture(scope="module")
def bindir(aliasd_bin, tmp_path_factory):
    """A PATH entry where `aliasd` is the binary under test."""
    d = tmp_path_factory.mktemp("bin")
    os.symlink(aliasd_bin, d / "aliasd")
    return str(d)


def candidates(root_dir, bindir, line, cwd=None, with_bash_completion=True):
    script = os.path.join(root_dir, "deploy", "aliasd.bash-completion")
    pre = f"source {BASH_COMPLETION}\n" if with_bash_completion else ""
    env = {"PATH": bindir + ":/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LINE": line,
           "LC_ALL": "C.UTF-8"}
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", pre + f"source {script}\n" + DRIVER],
                       capture_output=True, text=True, timeout=60, env=env, cwd=cwd or root_dir)
    assert r.returncode == 0, r.stderr
    return [c for c in r.stdout.splitlines() if c]


@pytest.fixture(scope="module", autouse=True)
def have_bash_completion():
    assert os.path.exists(BASH_COMPLETION), "bash-completion is not installed (deploy/install-deps.sh)"
    assert shutil.which("bash")


@pytest.mark.parametrize("loaded", [True, False], ids=["bash-completion", "plain-bash"])
def test_commands(aliasd_bin, root_dir, bindir, loaded):
    got = candidates(root_dir, bindir, "aliasd ", with_bash_completion=loaded)
    assert got == pkgdocs.commands(aliasd_bin)
    assert {"validate", "plan", "apply", "run", "status", "versions", "help"} <= set(got)
    assert candidates(root_dir, bindir, "aliasd pl", with_bash_completion=loaded) == ["plan"]


@pytest.mark.parametrize("loaded", [True, False], ids=["bash-completion", "plain-bash"])
def test_plan_long_options(aliasd_bin, root_dir, bindir, loaded):
    got = candidates(root_dir, bindir, "aliasd plan --", with_bash_completion=loaded)
    want = [o for o in pkgdocs.options(pkgdocs.help_text(aliasd_bin, "help", "plan")) if o.startswith("--")]
    assert sorted(got) == sorted(want)
    assert {"--repo", "--ref", "--path", "--json", "--concurrency", "--rate", "--function",
            "--region"} <= set(got)
    assert candidates(root_dir, bindir, "aliasd plan --re", with_bash_completion=loaded) == \
        ["--ref", "--region", "--repo"]


def test_every_command_options(aliasd_bin, root_dir, bindir):
    for cmd in pkgdocs.commands(aliasd_bin):
        if cmd == "help":
            continue
        got = candidates(root_dir, bindir, f"aliasd {cmd} -")
        want = pkgdocs.options(pkgdocs.help_text(aliasd_bin, "help", cmd))
        assert sorted(got) == sorted(want), cmd


def test_global_options_and_help(root_dir, bindir, aliasd_bin):
    assert candidates(root_dir, bindir, "aliasd --") == ["--help", "--version"]
    assert candidates(root_dir, bindir, "aliasd help ") == pkgdocs.commands(aliasd_bin)
    assert candidates(root_dir, bindir, "aliasd help plan ") == []


def write_manifests(d):
    (d / "fns").mkdir(parents=True)
    (d / "fns" / "a.yaml").write_text(
        "apiVersion: aliasd/v1\nkind: Function\nname: orders-api   # the API\nreleases: {}\n"
        "---\napiVersion: aliasd/v1\nkind: Function\nname: \"orders-worker\"\nreleases: {}\n")
    (d / "b.yml").write_text("apiVersion: aliasd/v1\nkind: Function\nname: billing\n")
    (d / ".github").mkdir()
    (d / ".github" / "ci.yaml").write_text("name: not-a-function\n")
    (d / "notes.txt").write_text("name: not-yaml\n")


def test_function_names_from_repo(root_dir, bindir, tmp_path):
    repo = tmp_path / "manifests"
    write_manifests(repo)
    want = ["billing", "orders-api", "orders-worker"]
    assert candidates(root_dir, bindir, f"aliasd versions --repo {repo} ") == want
    assert candidates(root_dir, bindir, f"aliasd versions --repo {repo} ord") == want[1:]
    assert candidates(root_dir, bindir, f"aliasd plan --repo {repo} --function ") == want
    assert candidates(root_dir, bindir, f"aliasd apply --json --repo {repo} --function b") == ["billing"]
    # --opt=value spellings
    assert candidates(root_dir, bindir, f"aliasd plan --repo={repo} --function=") == want
    # without --repo: the current folder
    assert candidates(root_dir, bindir, "aliasd versions ", cwd=str(repo)) == want
    # the shipped examples
    ex = os.path.join(root_dir, "examples")
    assert candidates(root_dir, bindir, f"aliasd plan --repo {ex} --function ") == ["my-lambda-function"]


def test_option_arguments(root_dir, bindir, tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "aliasd.yaml").write_text("repository: {url: x}\n")
    (tmp_path / "conf" / "other.txt").write_text("")
    got = candidates(root_dir, bindir, "aliasd run -c conf/", cwd=str(tmp_path))
    assert "conf/aliasd.yaml" in got and "conf/other.txt" not in got
    (tmp_path / "repos" / "one").mkdir(parents=True)
    (tmp_path / "repos" / "file").write_text("")
    assert candidates(root_dir, bindir, "aliasd validate --repo repos/", cwd=str(tmp_path)) == ["repos/one"]
    # numbers and regions: nothing to offer, and no option names either
    assert candidates(root_dir, bindir, "aliasd plan --concurrency ") == []
