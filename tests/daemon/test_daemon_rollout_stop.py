"""SIGTERM while a rollout's preTraffic function is running (issue 10): the
daemon keeps its 5 s shutdown promise even though the Invoke in flight would
hang for minutes (aws_client_stop() aborts the request in flight).  The
emulated preTraffic function `smoke` hangs (invoke_emulator.py's `hang`)."""
import io
import time
import zipfile

import pytest

from daemon_helpers import Daemon, World, rollout_manifest, wait_for

FN = "canary"
HOOK = "smoke"
ROLE = "arn:aws:iam::123456789012:role/my-lambda-role"


def manifest(release):
    return rollout_manifest(FN, release, "{steps: [50], interval: 3s, preTraffic: %s}" % HOOK)


def hook_zip():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return None\n")
    return b.getvalue()


def routing(emu, fn=FN):
    """(version, {version: weight}) of fn's Prod as Lambda has it now, or None (not created yet)."""
    try:
        a = emu.client().get_alias(FunctionName=fn, Name="Prod")
    except Exception:
        return None
    return a["FunctionVersion"], a.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})


def hanging_hook(emu, seconds):
    """The preTraffic function HOOK, Active, whose invocations hang `seconds`; no invocation logged yet."""
    lam = emu.client()
    lam.create_function(FunctionName=HOOK, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": hook_zip()})
    lam.get_waiter("function_active_v2").wait(FunctionName=HOOK, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    emu.set_invoke(HOOK, "hang", seconds=seconds)
    emu.admin("DELETE", "invocations")


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def test_sigterm_during_a_hanging_pre_traffic_ends_within_5s(world):
    emu = world.emu
    hanging_hook(emu, 120)

    world.repo.write(f"functions/{FN}.yaml", manifest("v1"))
    world.repo.commit("canary on v1")
    world.configure(interval="1s", resync="10m")
    world.daemon = Daemon(world.binary, world.config, world.tmp, emu.env(), world.port)
    world.daemon.wait_ready()
    wait_for(lambda: routing(emu) == ("1", {}), 30, what="Prod on v1")

    world.repo.write(f"functions/{FN}.yaml", manifest("v2"))
    world.repo.commit("canary to v2")
    wait_for(lambda: any(i["function"] == HOOK for i in emu.invocations()), 30, what="the preTraffic Invoke")
    time.sleep(1.0)  # well inside the Invoke: the request is in flight, the function hangs
    assert routing(emu) == ("1", {})  # no traffic moved while preTraffic runs
    rc, took = world.daemon.stop(timeout=15)
    assert rc == 0, world.daemon.log_text()[-3000:]
    assert took < 5.0, (took, world.daemon.log_text()[-3000:])
    assert routing(emu) == ("1", {})  # stopped before the outcome: still no traffic on v2
