"""`aliasd validate` on manifests that declare rollouts (issue #10): the real binary, exit codes and
file:line:col messages."""
import os
import subprocess

HEAD = """apiVersion: aliasd/v1
kind: Function
name: {name}
region: eu-west-1
releases:
  v1:
    version: 3
  v2:
    version: 4
aliases:
"""
# HEAD has 10 lines: the first alias line is 11.

GOOD_ALIASES = """  Prod:
    release: v2
    rollout: Canary10Percent5Minutes
  Live:
    release: v2
    rollout:
      steps: [10, 50]
      interval: 1h30m
      alarms: [errors, p99]
      preTraffic: smoke-test
  Other:
    version: 7
    rollout: {type: CodeDeployDefault.LambdaLinear10PercentEvery1Minute, alarms: [errors],
              preTraffic: "arn:aws:lambda:eu-west-1:123456789012:function:smoke"}
  Now: {release: v1, rollout: {steps: []}}
  Fast: {release: v1, rollout: {steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 99], interval: 1s}}
  Slow: {release: v1, rollout: {steps: [99], interval: 24h}}
  Once: {release: v1, rollout: AllAtOnce}
  Short: v1
"""


def good(name):
    return HEAD.format(name=name) + GOOD_ALIASES


def run(aliasd_bin, *args, cwd=None):
    return subprocess.run([os.path.abspath(aliasd_bin), "validate", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def write(root, name, text):
    with open(os.path.join(root, name), "w") as f:
        f.write(text)


def test_every_form_of_rollout_validates(aliasd_bin, tmp_path):
    write(tmp_path, "fn.yaml", good("fn"))
    p = run(aliasd_bin, str(tmp_path))
    assert (p.returncode, p.stdout, p.stderr) == (0, "1 function, 2 releases, 8 aliases: ok\n", "")


def test_readme_example(aliasd_bin, tmp_path):
    # the two lines README.md shows under "An alias's rollout"
    write(tmp_path, "fns.yaml", HEAD.format(name="orders") + """\
  Live:
    release: v2
    rollout:
      steps: [50, 10]
      interval: 2d
""")
    p = run(aliasd_bin, cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.splitlines() == [
        "fns.yaml:14:19: aliases.Live.rollout.steps[1]: steps must increase (10 after 50)",
        "fns.yaml:15:17: aliases.Live.rollout.interval: must be between 1s and 24h, got 2d",
        "2 errors",
    ]


def test_every_rule_reported_at_once_sorted(aliasd_bin, tmp_path):
    bad = HEAD.format(name="bad") + """\
  A: {release: v2, rollout: Canary5}
  B: {release: v2, rollout: {type: AllAtOnce, steps: [10]}}
  C: {release: v2, rollout: {steps: [0, 100], interval: 5m}}
  D: {release: v2, rollout: {steps: [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99], interval: 5m}}
  E: {release: v2, rollout: {steps: [10], interval: 300}}
  F: {release: v2, rollout: {steps: [10], interval: 1500ms}}
  G: {release: v2, rollout: {steps: [10]}}
  H: {release: v2, rollout: {type: AllAtOnce, alarms: [a, b, a, ""]}}
  I: {release: v2, rollout: {type: AllAtOnce, preTraffic: smoke:live}}
  J:
    release: v2
    weights: {v1: 0.5}
    rollout: AllAtOnce
  K:
    version: 9
    description: canary
    rollout: {steps: [25], interval: 10m, pause: true}
"""
    write(tmp_path, "bad.yaml", bad)
    write(tmp_path, "good.yaml", good("good"))
    p = run(aliasd_bin, str(tmp_path))
    assert p.returncode == 1
    assert p.stdout == ""
    names = ("Canary10Percent5Minutes, Canary10Percent10Minutes, Canary10Percent15Minutes, "
             "Canary10Percent30Minutes, Linear10PercentEvery1Minute, Linear10PercentEvery2Minutes, "
             "Linear10PercentEvery3Minutes, Linear10PercentEvery10Minutes, AllAtOnce")
    d = str(tmp_path)
    assert p.stderr.splitlines() == [
        f"{d}/bad.yaml:11:29: aliases.A.rollout: unknown rollout \"Canary5\" (CodeDeploy's predefined "
        f"Lambda configurations are {names}, also as CodeDeployDefault.Lambda<name>; or a mapping with "
        "steps and interval)",
        f"{d}/bad.yaml:12:47: aliases.B.rollout.steps: give type, or steps and interval, not both "
        "(a type sets them)",
        f"{d}/bad.yaml:13:38: aliases.C.rollout.steps[0]: must be between 1 and 99, got 0",
        f"{d}/bad.yaml:14:78: aliases.D.rollout.steps[10]: at most 10 steps",
        f"{d}/bad.yaml:15:53: aliases.E.rollout.interval: duration \"300\" needs a unit (ms, s, m, h, d)",
        f"{d}/bad.yaml:16:53: aliases.F.rollout.interval: must be whole seconds, got 1500ms",
        f"{d}/bad.yaml:17:29: aliases.G.rollout: missing required key \"interval\" (the time at each "
        "step, e.g. 5m)",
        f"{d}/bad.yaml:18:62: aliases.H.rollout.alarms[2]: alarm \"a\" is listed twice",
        f"{d}/bad.yaml:18:65: aliases.H.rollout.alarms[3]: alarm names are 1 to 255 characters, got 0",
        f"{d}/bad.yaml:19:59: aliases.I.rollout.preTraffic: \"smoke:live\" is a partial ARN or a qualified "
        "name (write the function name or its full ARN arn:aws:lambda:REGION:ACCOUNT:function:NAME, "
        "without a version or alias)",
        f"{d}/bad.yaml:22:5: aliases.J.weights: an alias with weights cannot declare a rollout: the "
        "rollout sets the weights",
        f"{d}/bad.yaml:26:5: aliases.K.description: not allowed with rollout: the description of a "
        "rollout alias records its progress (README, Rollouts)",
        f"{d}/bad.yaml:27:43: aliases.K.rollout.pause: unknown key (expected one of: type, steps, "
        "interval, alarms, preTraffic)",
        "13 errors",
    ]


def test_help_names_rollouts(aliasd_bin):
    p = run(aliasd_bin, "--help")
    assert p.returncode == 0
    for word in ("rollouts", "CodeDeploy name", "1s..24h", "preTraffic"):
        assert word in p.stdout, word
