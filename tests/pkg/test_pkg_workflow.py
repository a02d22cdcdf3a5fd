"""examples/.github/workflows/aliasd-plan.yml (issue 11): valid YAML, and the
`run:` steps that call aliasd pass, for real, on the example repository
against the Lambda emulator; `aliasd plan --format markdown` gives the PR
comment.  Only the `gh pr comment` step is not run (it needs GitHub)."""
import os
import re
import shutil
import subprocess

import pytest
import yaml  # python3-yaml (deploy/install-deps.sh)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
WORKFLOW = os.path.join(EXAMPLES, ".github", "workflows", "aliasd-plan.yml")
CALLS_ALIASD = re.compile(r"(^|[\s;|&(])aliasd\s", re.M)


def workflow():
    with open(WORKFLOW) as f:
        return yaml.safe_load(f)


def steps():
    wf = workflow()
    (job,) = wf["jobs"].values()
    return job["steps"]


def aliasd_steps():
    return [s for s in steps() if "run" in s and CALLS_ALIASD.search(s["run"]) and "gh " not in s["run"]]


@pytest.fixture
def repo(tmp_path):
    d = tmp_path / "releases"
    shutil.copytree(EXAMPLES, d, ignore=shutil.ignore_patterns("__pycache__", "build"))
    return d


@pytest.fixture
def bindir(aliasd_bin, tmp_path):
    d = tmp_path / "bin"
    d.mkdir()
    os.symlink(os.path.abspath(aliasd_bin), d / "aliasd")
    return str(d)


def run_steps(repo, bindir, emu, tmp_path):
    """Run the aliasd steps as GitHub's runner would (bash -eo pipefail); returns (results, outputs)."""
    out_file = tmp_path / "github_output"
    out_file.write_text("")
    env = {"PATH": bindir + ":/usr/bin:/bin", "HOME": str(tmp_path), "GITHUB_OUTPUT": str(out_file),
           "LC_ALL": "C.UTF-8"}
    env.update(emu.env())
    results = []
    for s in aliasd_steps():
        p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s["run"]], cwd=repo,
                           env=env, capture_output=True, text=True, timeout=120)
        results.append((s.get("name"), p))
    outputs = dict(line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line)
    return results, outputs


def test_workflow_is_valid_yaml_with_the_expected_steps():
    wf = workflow()
    # PyYAML reads the bare key `on` as YAML 1.1's true
    on = wf.get("on", wf.get(True))
    assert "pull_request" in on
    assert wf["permissions"]["pull-requests"] == "write"
    runs = [s["run"] for s in steps() if "run" in s]
    names = [s.get("name") for s in aliasd_steps()]
    assert names == ["Validate the manifests", "Plan"], names
    assert any("aliasd validate" in r for r in runs)
    assert any("aliasd plan" in r and "--format markdown" in r for r in runs)
    comment = [r for r in runs if "gh pr comment" in r]
    assert comment and "--body-file plan.md" in comment[0]


def test_workflow_steps_pass_on_the_examples(repo, bindir, emulator, tmp_path, aliasd_bin):
    # a new function: validate passes, plan says what it creates, exit 2 is not a failure
    results, outputs = run_steps(repo, bindir, emulator, tmp_path)
    for name, p in results:
        assert p.returncode == 0, (name, p.stdout, p.stderr)
    assert outputs["status"] == "2"
    md = (repo / "plan.md").read_text()
    assert md.startswith("### aliasd plan\n"), md
    assert "**Plan: 1 function to change (" in md
    assert "#### `my-lambda-function`" in md
    assert "```diff\n" in md and "+ publish release v1" in md and "+ alias Prod: v1 (new)" in md

    # applied, then a pull request promoting Prod to v2: the comment shows the move
    env = dict(os.environ, **emulator.env())
    p = subprocess.run([aliasd_bin, "apply", "--repo", str(repo)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    manifest = repo / "my-lambda-function.yaml"
    manifest.write_text(manifest.read_text().replace("  Prod: v1\n", "  Prod: v2\n"))
    results, outputs = run_steps(repo, bindir, emulator, tmp_path)
    assert all(p.returncode == 0 for _, p in results), results
    assert outputs["status"] == "2"
    md = (repo / "plan.md").read_text()
    assert "**Plan: 1 function to change (1 step), 0 in sync, 0 failed.**" in md, md
    assert "~ alias Prod: v1 (1) \u2192 v2 (2)" in md, md
    assert "publish" not in md


def test_workflow_in_sync_and_broken(repo, bindir, emulator, tmp_path, aliasd_bin):
    env = dict(os.environ, **emulator.env())
    p = subprocess.run([aliasd_bin, "apply", "--repo", str(repo)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    results, outputs = run_steps(repo, bindir, emulator, tmp_path)
    assert all(p.returncode == 0 for _, p in results)
    assert outputs["status"] == "0"
    md = (repo / "plan.md").read_text()
    assert "**Plan: 0 functions to change (0 steps), 1 in sync, 0 failed.**" in md
    assert "In sync: `my-lambda-function`." in md
    assert "```" not in md

    # a broken manifest fails the validate step (the comment step still runs: if: always())
    manifest = repo / "my-lambda-function.yaml"
    manifest.write_text(manifest.read_text().replace("  Prod: v1\n", "  Prod: v9\n"))
    results, _ = run_steps(repo, bindir, emulator, tmp_path)
    name, p = results[0]
    assert name == "Validate the manifests" and p.returncode == 1
    assert "my-lambda-function.yaml:" in p.stderr + p.stdout
    name, p = results[1]
    assert name == "Plan" and p.returncode == 1
    md = (repo / "plan.md").read_text()
    assert "#### Manifest errors" in md and "my-lambda-function.yaml:" in md, md
