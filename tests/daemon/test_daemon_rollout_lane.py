"""A rollout's guard keeps time while every worker is busy (DESIGN §6
"Guard", cmd/daemon/core.h CORE_GUARD_LANES): with `concurrency: 1` and that
one worker held by another function's preTraffic Invoke that hangs, an alarm
still rolls the canary back within seconds, not when the Invoke ends."""
import time


from daemon_helpers import Daemon, rollout_manifest, wait_for
from test_daemon_rollout import ALARM, cloudwatch
# the hook that hangs, Prod's routing and the world fixture of the SIGTERM test
from test_daemon_rollout_stop import HOOK, hanging_hook, routing, world  # noqa: F401


CANARY = "{steps: [50], interval: 10m, alarms: [%s]}" % ALARM
SLOW = "{steps: [50], interval: 10m, preTraffic: %s}" % HOOK


def test_alarm_rolls_back_while_the_only_worker_hangs(world):
    emu = world.emu
    cw = cloudwatch(emu)
    cw.put_metric_alarm(AlarmName=ALARM, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                        Dimensions=[{"Name": "FunctionName", "Value": "canary"}], Period=60,
                        EvaluationPeriods=1, Threshold=1.0,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="test: quiet")
    hanging_hook(emu, 60)

    world.repo.write("functions/canary.yaml", rollout_manifest("canary", "v1", CANARY))
    world.repo.write("functions/slowpoke.yaml", rollout_manifest("slowpoke", "v1", SLOW))
    world.repo.commit("both on v1")
    world.configure(interval="1s", resync="10m")
    with open(world.config) as f:
        text = f.read()
    with open(world.config, "w") as f:
        f.write(text.replace("concurrency: 4", "concurrency: 1"))
    env = emu.env(AWS_ENDPOINT_URL_CLOUDWATCH=emu.endpoint)
    world.daemon = Daemon(world.binary, world.config, world.tmp, env, world.port)
    world.daemon.wait_ready()
    wait_for(lambda: routing(emu, "canary") == ("1", {}) and routing(emu, "slowpoke") == ("1", {}), 60,
             what="both on v1")

    world.repo.write("functions/canary.yaml", rollout_manifest("canary", "v2", CANARY))
    world.repo.commit("canary to v2")
    wait_for(lambda: routing(emu, "canary") == ("1", {"2": 0.5}), 30, what="canary at 50%")

    world.repo.write("functions/slowpoke.yaml", rollout_manifest("slowpoke", "v2", SLOW))
    world.repo.commit("slowpoke to v2: its preTraffic hangs")
    wait_for(lambda: any(i["function"] == HOOK for i in emu.invocations()), 30, what="the preTraffic Invoke")
    time.sleep(1.0)  # the only worker is inside the Invoke

    cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="test: errors")
    t0 = time.monotonic()
    wait_for(lambda: routing(emu, "canary") == ("1", {}), 20, interval=0.05, what="canary rolled back")
    took = time.monotonic() - t0
    # the guard checks every few seconds; the hanging Invoke would hold the worker for 60 s
    assert took < 15.0, (took, world.daemon.log_text()[-3000:])
    assert routing(emu, "slowpoke") == ("1", {})  # still waiting on its preTraffic
    rc, _ = world.daemon.stop(timeout=15)
    assert rc == 0, world.daemon.log_text()[-3000:]
