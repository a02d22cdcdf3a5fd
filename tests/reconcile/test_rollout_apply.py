"""Rollouts run by `aliasd apply` and `aliasd rollout` (DESIGN §6), on the real
binary against the emulator (Lambda and CloudWatch on one port).

Each test declares function roll-fn with releases v1 and v2, first with Prod
on v1 (plain), then Prod on v2 with a rollout; the record lives in the
alias description (aliasd-rollout/1 ...).
"""
import json
import os
import signal
import subprocess
import time

import boto3
import pytest
from botocore.config import Config

from emulator import Emulator
from test_reconcile_lib import (CACHE_DIR, alias_target, aliases, counts, diff, init_repo, manifest, mkzip, run,
                                write)

FN = "roll-fn"


@pytest.fixture
def emu():
    with Emulator(update_delay=0.05) as e:
        yield e


def cw_client(emu):
    session = boto3.session.Session(aws_access_key_id=emu.access_key, aws_secret_access_key=emu.secret_key,
                                    region_name=emu.region)
    return session.client("cloudwatch", endpoint_url=emu.endpoint,
                          config=Config(retries={"total_max_attempts": 1}, proxies={}))


def put_alarm(cw, name, state="OK"):
    cw.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                        Dimensions=[{"Name": "FunctionName", "Value": FN}], Period=60, EvaluationPeriods=1,
                        Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def env_extra(emu):
    return {"AWS_ENDPOINT_URL_CLOUDWATCH": emu.endpoint}


def declare(repo, prod):
    """roll-fn with v1, v2; Prod declared as `prod` (a YAML flow value)."""
    write(repo, "fn.yaml", manifest(FN, [("v1", "{code: {zipFile: one.zip}}"),
                                         ("v2", "{code: {zipFile: two.zip}}")], [("Prod", prod)]))


def aliasd(aliasd_bin, emu, *args, timeout=120):
    return run(aliasd_bin, emu, *args, timeout=timeout, env_extra=env_extra(emu))


def popen(aliasd_bin, emu, *args):
    env = dict(os.environ, **emu.env())
    env.pop("AWS_PROFILE", None)
    env.update({"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                "AWS_EC2_METADATA_DISABLED": "true", "XDG_CACHE_HOME": CACHE_DIR})
    env.update(env_extra(emu))
    return subprocess.Popen([aliasd_bin] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture
def setup(aliasd_bin, emu, tmp_path):
    """A folder repository, applied once with Prod on v1 (version 1); v2 is published too."""
    repo = init_repo(tmp_path / "repo")
    write(repo, "one.zip", mkzip("one"))
    write(repo, "two.zip", mkzip("two"))
    declare(repo, "v1")
    # publish v2 as well, through a second alias that names it
    write(repo, "fn.yaml", manifest(FN, [("v1", "{code: {zipFile: one.zip}}"),
                                         ("v2", "{code: {zipFile: two.zip}}")], [("Prod", "v1"), ("Test", "v2")]))
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    lam = emu.client()
    assert alias_target(aliases(lam, FN)["Prod"]) == ("1", {})
    return repo, lam


def declare2(repo, prod):
    write(repo, "fn.yaml", manifest(FN, [("v1", "{code: {zipFile: one.zip}}"),
                                         ("v2", "{code: {zipFile: two.zip}}")], [("Prod", prod), ("Test", "v2")]))


def prod(lam):
    return aliases(lam, FN)["Prod"]


def record(lam):
    return prod(lam).get("Description", "")


def wait_for(cond, timeout=30.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def update_alias_calls(before, emu):
    return diff(before, counts(emu)).get("UpdateAlias", 0)


def test_all_at_once_is_one_update_alias(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: AllAtOnce}")
    p = aliasd(aliasd_bin, emu, "plan", "--repo", str(repo))
    assert p.returncode == 2, p.stdout + p.stderr
    assert "~ alias Prod: v1 (1) \u2192 v2 (2) by rollout all at once" in p.stdout
    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    d = diff(before, counts(emu))
    assert d.get("UpdateAlias", 0) == 1, d
    assert alias_target(prod(lam)) == ("2", {})
    assert "state=Succeeded" in record(lam)
    # in sync afterwards: no write
    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 0 and update_alias_calls(before, emu) == 0, p.stdout


def test_steps_run_to_the_end(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 2s}}")
    p = aliasd(aliasd_bin, emu, "plan", "--repo", str(repo))
    assert "~ alias Prod: v1 (1) \u2192 v2 (2) by rollout [50%] every 2s" in p.stdout, p.stdout
    p = aliasd(aliasd_bin, emu, "plan", "--repo", str(repo), "--format", "markdown")
    assert "~ alias Prod: v1 (1) \u2192 v2 (2) by rollout [50%] every 2s" in p.stdout, p.stdout
    before = counts(emu)
    t0 = time.time()
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    assert time.time() - t0 >= 1.5
    assert "~ rollout Prod: 50% on v2 (2), step 1 of 1" in p.stdout, p.stdout
    assert "next check at" in p.stdout
    assert "~ rollout Prod: 100% on v2 (2), done" in p.stdout
    assert p.stdout.index("50% on") < p.stdout.index("100% on")
    assert update_alias_calls(before, emu) == 2
    assert alias_target(prod(lam)) == ("2", {})
    assert "state=Succeeded" in record(lam)


def test_json_shows_rollout(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 60s}}")
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    f = doc["functions"][0]
    ro = f["aliases"]["Prod"]["rollout"]
    assert (ro["from"], ro["to"], ro["step"], ro["of"], ro["weight"], ro["state"]) == (1, 2, 1, 1, 0.5,
                                                                                       "Progressing")
    assert ro["since"].endswith("Z") and ro["reason"] == ""
    assert "next_check" in f


def test_alarm_rolls_back(aliasd_bin, emu, setup):
    repo, lam = setup
    cw = cw_client(emu)
    put_alarm(cw, "errors", "OK")
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 20s, alarms: [errors]}}")
    before = counts(emu)
    proc = popen(aliasd_bin, emu, "apply", "--repo", str(repo))
    try:
        wait_for(lambda: alias_target(prod(lam)) == ("1", {"2": 0.5}), what="the 50% step")
        cw.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="test")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, out + err
    assert "rolled back" in out and "errors" in out, out
    assert "alarm errors is in ALARM" in err, err
    assert alias_target(prod(lam)) == ("1", {})
    assert "state=RolledBack" in record(lam)
    assert update_alias_calls(before, emu) == 2
    # held: no write until Git changes; plan says so
    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "plan", "--repo", str(repo))
    assert "= alias Prod: rolled back (alarm errors is in ALARM); aliasd rollout retry roll-fn Prod" in p.stdout
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait")
    assert p.returncode == 1 and update_alias_calls(before, emu) == 0, p.stdout + p.stderr


def test_missing_alarm_moves_no_traffic(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 2s, alarms: [no-such-alarm]}}")
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "alarm no-such-alarm does not exist" in p.stderr
    assert alias_target(prod(lam)) == ("1", {})
    assert "state=RolledBack" in record(lam) and "step=0" in record(lam)


def test_no_wait_then_apply_continues(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 3s}}")
    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "pending" in p.stdout, p.stdout
    assert alias_target(prod(lam)) == ("1", {"2": 0.5})
    rec = record(lam)
    assert "state=Progressing" in rec and "step=1" in rec
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "~ rollout Prod: 50%" not in p.stdout  # continued, not started again
    assert alias_target(prod(lam)) == ("2", {})
    assert update_alias_calls(before, emu) == 2


def test_kill_during_step_continues(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 4s}}")
    proc = popen(aliasd_bin, emu, "apply", "--repo", str(repo))
    try:
        wait_for(lambda: alias_target(prod(lam)) == ("1", {"2": 0.5}), what="the 50% step")
        since = [f for f in record(lam).split() if f.startswith("since=")]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    # the same rollout: no new 50% write (the step's clock was kept), one finish
    assert "~ rollout Prod: 50%" not in p.stdout and "100% on v2 (2), done" in p.stdout, p.stdout
    assert update_alias_calls(before, emu) == 1
    assert alias_target(prod(lam)) == ("2", {})
    assert since and since[0] != "since=0"


def test_revert_during_step_is_one_update(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 60s}}")
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait")
    assert p.returncode == 0 and alias_target(prod(lam)) == ("1", {"2": 0.5}), p.stdout + p.stderr
    declare2(repo, "{release: v1, rollout: {steps: [50], interval: 60s}}")
    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert update_alias_calls(before, emu) == 1, p.stdout + p.stderr
    assert alias_target(prod(lam)) == ("1", {})
    assert "reverted" in record(lam)


def test_promote_abort_retry(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 60s}}")
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait")
    assert p.returncode == 0 and alias_target(prod(lam)) == ("1", {"2": 0.5}), p.stdout + p.stderr

    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "rollout", "abort", FN, "Prod", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    assert update_alias_calls(before, emu) == 1
    assert alias_target(prod(lam)) == ("1", {}) and "reason=aborted" in record(lam)
    p = aliasd(aliasd_bin, emu, "plan", "--repo", str(repo))
    assert "= alias Prod: rolled back (aborted); aliasd rollout retry roll-fn Prod" in p.stdout, p.stdout
    assert p.returncode == 0 and "Plan: 0 functions to change (0 steps)" in p.stdout, p.stdout
    p = aliasd(aliasd_bin, emu, "plan", "--repo", str(repo), "--format", "markdown")
    assert "= alias Prod: rolled back (aborted)" in p.stdout, p.stdout

    p = aliasd(aliasd_bin, emu, "rollout", "promote", FN, "Prod", "--repo", str(repo))
    assert p.returncode == 1 and "no rollout in progress" in p.stderr, p.stdout + p.stderr

    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "rollout", "retry", FN, "Prod", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    assert update_alias_calls(before, emu) == 1
    assert alias_target(prod(lam)) == ("1", {"2": 0.5})

    p = aliasd(aliasd_bin, emu, "rollout", "retry", FN, "Prod", "--repo", str(repo))
    assert p.returncode == 1 and "no rolled-back rollout" in p.stderr, p.stdout + p.stderr

    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "rollout", "promote", FN, "Prod", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    assert update_alias_calls(before, emu) == 1
    assert alias_target(prod(lam)) == ("2", {}) and "state=Succeeded" in record(lam)

    p = aliasd(aliasd_bin, emu, "rollout", "abort", "no-such-fn", "Prod", "--repo", str(repo))
    assert p.returncode == 1 and "unknown function" in p.stderr
    p = aliasd(aliasd_bin, emu, "rollout", "abort", FN, "Test", "--repo", str(repo))
    assert p.returncode == 1 and "declares no rollout" in p.stderr
    p = aliasd(aliasd_bin, emu, "rollout", "stop", FN, "Prod", "--repo", str(repo))
    assert p.returncode == 64


def test_concurrent_applies_keep_one_record(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 60s}}")
    before = counts(emu)
    procs = [popen(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait") for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    applied = dict(emu.stats().get("applied", {}))
    assert alias_target(prod(lam)) == ("1", {"2": 0.5})
    rec = record(lam)
    assert rec.startswith("aliasd-rollout/1 state=Progressing from=1 to=2 step=1 "), rec
    # exactly one shift took effect; the others met 412 (RevisionId) or saw it done, and wrote nothing
    assert update_alias_calls(before, emu) >= 1
    assert applied.get("UpdateAlias", 0) == 1, applied



def update_alias_outcomes(emu):
    """UpdateAlias answers by status, and the writes that took effect."""
    st = emu.stats()
    return dict(st["responses"].get("UpdateAlias", {})), st["applied"].get("UpdateAlias", 0)


def test_stale_revision_on_a_shift_replans_and_writes_once(aliasd_bin, emu, setup):
    """Deterministic 412: the alias moves on between aliasd's observation and its shift
    (the emulator's "stale" fault); aliasd observes again and writes the step once, cleanly."""
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 60s}}")
    (resp0, applied0) = update_alias_outcomes(emu)
    emu.inject("stale", operation="UpdateAlias")
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait")
    assert p.returncode == 0, p.stdout + p.stderr
    resp, applied = update_alias_outcomes(emu)
    assert resp.get("412", 0) - resp0.get("412", 0) == 1, resp  # the stale write met the guard
    assert applied - applied0 == 1                               # and the step took effect once
    assert emu.stats()["faults"].get("stale") == 1
    assert alias_target(prod(lam)) == ("1", {"2": 0.5})
    rec = record(lam)
    assert rec.startswith("aliasd-rollout/1 state=Progressing from=1 to=2 step=1 "), rec
    assert "~ rollout Prod: 50% on v2 (2), step 1 of 1" in p.stdout, p.stdout


def test_stale_revision_on_a_rollback_keeps_a_clean_record(aliasd_bin, emu, setup):
    """Deterministic 412 on the rollback write: after observing again aliasd rolls back once
    and the record says RolledBack (not a mix of the two writes); then the rollout is held."""
    repo, lam = setup
    cw = cw_client(emu)
    put_alarm(cw, "errors", "OK")
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 60s, alarms: [errors]}}")
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait")
    assert p.returncode == 0, p.stdout + p.stderr
    assert alias_target(prod(lam)) == ("1", {"2": 0.5})
    cw.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="test")
    (resp0, applied0) = update_alias_outcomes(emu)
    emu.inject("stale", operation="UpdateAlias")
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo), "--no-wait")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "alarm errors is in ALARM" in p.stderr, p.stderr
    resp, applied = update_alias_outcomes(emu)
    assert resp.get("412", 0) - resp0.get("412", 0) == 1, resp
    assert applied - applied0 == 1
    assert alias_target(prod(lam)) == ("1", {})
    rec = record(lam)
    assert rec.startswith("aliasd-rollout/1 state=RolledBack from=1 to=2 "), rec
    assert rec.count("aliasd-rollout/1") == 1 and len(rec) <= 256, rec
    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "plan", "--repo", str(repo))
    assert "= alias Prod: rolled back (alarm errors is in ALARM); aliasd rollout retry roll-fn Prod" in p.stdout
    assert update_alias_calls(before, emu) == 0

def smoke_function(emu, lam, behavior):
    """An emulated function `smoke` for preTraffic, with the given behaviour."""
    from test_reconcile_lib import ROLE
    lam.create_function(FunctionName="smoke", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": mkzip("smoke")})
    lam.get_waiter("function_active_v2").wait(FunctionName="smoke", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    emu.admin("POST", "invoke", dict({"function": "smoke"}, **behavior))
    emu.admin("DELETE", "invocations")


def test_pre_traffic_failing_moves_no_traffic(aliasd_bin, emu, setup):
    repo, lam = setup
    smoke_function(emu, lam, {"behavior": "fail"})
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 2s, preTraffic: smoke}}")
    before = counts(emu)
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "preTraffic smoke failed" in p.stdout, p.stdout
    assert "preTraffic failed" in p.stderr, p.stderr
    calls = emu.admin("GET", "invocations")["invocations"]
    assert len(calls) == 1, calls
    assert calls[0]["payload"] == {"alias": "Prod", "from": "1", "to": "2"}
    assert calls[0]["invocation_type"] == "RequestResponse"
    # two record writes (the start, then RolledBack), both on version 1 alone
    assert update_alias_calls(before, emu) == 2
    assert alias_target(prod(lam)) == ("1", {})
    rec = record(lam)
    assert "state=RolledBack" in rec and "step=0" in rec


def test_pre_traffic_succeeding_runs_the_rollout(aliasd_bin, emu, setup):
    repo, lam = setup
    smoke_function(emu, lam, {"behavior": "succeed", "payload": {"ok": True}})
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 1s, preTraffic: smoke}}")
    p = aliasd(aliasd_bin, emu, "apply", "--repo", str(repo))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "preTraffic smoke succeeded" in p.stdout
    assert len(emu.admin("GET", "invocations")["invocations"]) == 1
    assert alias_target(prod(lam)) == ("2", {})


def test_ctrl_c_while_waiting_keeps_the_step(aliasd_bin, emu, setup):
    repo, lam = setup
    declare2(repo, "{release: v2, rollout: {steps: [50], interval: 60s}}")
    proc = popen(aliasd_bin, emu, "apply", "--repo", str(repo))
    try:
        wait_for(lambda: alias_target(prod(lam)) == ("1", {"2": 0.5}), what="the 50% step")
        rec = record(lam)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, out + err
    assert "stopped while waiting" in err, err
    assert alias_target(prod(lam)) == ("1", {"2": 0.5})
    assert record(lam) == rec
