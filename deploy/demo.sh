#!/bin/sh
# make demo: the classic Prod/Test walkthrough, live, against the local Lambda
# emulator (tests/emulator/lambda_emulator.py) and a real Git repository made
# from examples/ in a temporary directory.
#
#   1. start the emulator and `aliasd run` (1 s poll, webhook and /status on loopback)
#   2. commit the example manifests: aliasd creates the function, publishes
#      v1 and v2 (Version1.zip, Version2.zip), points Prod at 1 and Test at 2
#   3. commit the promotion (Prod: v2): one UpdateAlias, live in ~1 s
#   4. git revert the promotion: one UpdateAlias back
#   5. a canary (deploy/demo-canary.yaml): Live -> v2 with `rollout:
#      steps [50], interval 4s, alarms [canary-errors]`; 50% moves, the alarm
#      is set to ALARM through the emulator's CloudWatch (SetAlarmState), and
#      aliasd puts Live back on v1 by itself within a second
#   6. the alarm quiet again, a new commit (interval 2s): the canary
#      completes, 50% then v2 alone
#
# On a terminal the daemon keeps running afterwards until Ctrl-C, so you can
# make your own commits in the printed repository; otherwise everything stops.
set -eu

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ALIASD="$ROOT/$BUILD/aliasd"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/aliasd-demo.XXXXXX)
EMU_PID=
DAEMON_PID=

cleanup() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds
	n=$(($1 * 10)); shift
	while [ "$n" -gt 0 ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

say "starting the Lambda emulator"
"$PY" "$ROOT/tests/emulator/lambda_emulator.py" --port 0 --update-delay 0.5 >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMU_PID=$!
wait_for 10 grep -q '^listening on ' "$WORK/emulator.out" || { cat "$WORK/emulator.err"; exit 1; }
EMU_ADDR=$(sed -n 's/^listening on //p' "$WORK/emulator.out" | head -n 1)
echo "emulator at http://$EMU_ADDR"

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_LAMBDA="http://$EMU_ADDR"
export AWS_ENDPOINT_URL_CLOUDWATCH="http://$EMU_ADDR" # alarms: the same emulator, another service
export HOME="$WORK/home"   # keep the user's ~/.aws out of the demo
mkdir -p "$HOME"

say "making the manifest repository (from examples/)"
REPO="$WORK/releases"
mkdir -p "$REPO"
cp -r "$ROOT/examples/." "$REPO/"
(cd "$REPO" && rm -rf build && git init -q -b main && git add -A &&
	git -c user.name=demo -c user.email=demo@example.invalid commit -qm "v1 on Prod, v2 on Test")
echo "repository: $REPO"

# what each step cost: the Lambda write calls the emulator applied since the last look
writes() {
	"$PY" - "http://$EMU_ADDR" "$WORK/applied.json" <<'PYEOF'
import json, os, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1] + "/__emulator/stats", timeout=5))
now = {k: v for k, v in stats.get("applied", {}).items()
       if not k.startswith(("Get", "List", "Describe", "SetAlarm", "PutMetric"))}  # Lambda writes only
before = json.load(open(sys.argv[2])) if os.path.exists(sys.argv[2]) else {}
diff = {k: v - before.get(k, 0) for k, v in now.items() if v - before.get(k, 0)}
json.dump(now, open(sys.argv[2], "w"))
print("Lambda write calls for this step: " + (", ".join(f"{k} x{v}" for k, v in sorted(diff.items())) or "none"))
PYEOF
}

# the canary's CloudWatch alarm, through the emulator (signed like AWS's, service monitoring)
alarm() { # alarm OK|ALARM
	"$PY" - "http://$EMU_ADDR" "$1" <<'PYEOF'
import sys, boto3
from botocore.config import Config
cw = boto3.client("cloudwatch", endpoint_url=sys.argv[1], region_name="us-east-1", config=Config(proxies={}))
if not cw.describe_alarms(AlarmNames=["canary-errors"])["MetricAlarms"]:
    cw.put_metric_alarm(AlarmName="canary-errors", MetricName="Errors", Namespace="AWS/Lambda",
                        Statistic="Sum", Dimensions=[{"Name": "FunctionName", "Value": "my-canary-function"}],
                        Period=60, EvaluationPeriods=1, Threshold=1.0,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
cw.set_alarm_state(AlarmName="canary-errors", StateValue=sys.argv[2], StateReason="make demo")
print("alarm canary-errors: " + sys.argv[2])
PYEOF
}

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat >"$WORK/aliasd.yaml" <<CONF
repository:
  url: file://$REPO
  ref: main
  interval: 1s
aws:
  region: us-east-1
reconcile:
  resync: 1m
  concurrency: 4
server:
  listen: 127.0.0.1:$PORT
stateDir: $WORK/state
log: {format: text, level: info}
CONF

say "starting aliasd run"
"$ALIASD" run -c "$WORK/aliasd.yaml" &
DAEMON_PID=$!

in_sync() { "$ALIASD" status --url http://127.0.0.1:$PORT --json 2>/dev/null | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
fns = s.get("functions", [])
sys.exit(0 if fns and all(f.get("state") == "Synced" for f in fns) else 1)'; }

# rollout_is STATE: the canary's Live alias has a rollout in STATE (Progressing, Succeeded, RolledBack)
rollout_is() { "$ALIASD" status --url http://127.0.0.1:$PORT --json 2>/dev/null | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
for f in s.get("functions", []):
    for a in f.get("aliases") or []:
        if f["name"] == "my-canary-function" and a["name"] == "Live" and (a.get("rollout") or {}).get("state") == sys.argv[1]:
            sys.exit(0)
sys.exit(1)' "$1"; }

wait_for 60 in_sync || { echo "aliasd did not converge"; exit 1; }
"$ALIASD" versions my-lambda-function
writes

say "promote: Prod -> v2 (one commit)"
(cd "$REPO" && sed -i 's/^  Prod: v1$/  Prod: v2/' my-lambda-function.yaml &&
	git -c user.name=demo -c user.email=demo@example.invalid commit -qam "Promote v2 to Prod")
sleep 3
wait_for 30 in_sync
"$ALIASD" versions my-lambda-function
writes

say "roll back: git revert"
(cd "$REPO" && git -c user.name=demo -c user.email=demo@example.invalid revert --no-edit HEAD >/dev/null)
sleep 3
wait_for 30 in_sync
"$ALIASD" versions my-lambda-function
writes
"$ALIASD" status --url http://127.0.0.1:$PORT

say "a canary: my-canary-function, Live on v1 (deploy/demo-canary.yaml)"
alarm OK
cp "$ROOT/deploy/demo-canary.yaml" "$REPO/canary.yaml"
(cd "$REPO" && git add canary.yaml &&
	git -c user.name=demo -c user.email=demo@example.invalid commit -qm "A canary function, Live on v1")
sleep 2
wait_for 30 in_sync
writes

say "canary: Live -> v2 by rollout (50% for 4 s, guarded by canary-errors); then the alarm fires"
(cd "$REPO" && sed -i 's/^    release: v1$/    release: v2/' canary.yaml &&
	git -c user.name=demo -c user.email=demo@example.invalid commit -qam "Live: v2, by canary")
wait_for 20 rollout_is Progressing || { echo "the rollout did not start"; exit 1; }
"$ALIASD" status --url http://127.0.0.1:$PORT | grep -A1 '^my-canary-function'
alarm ALARM
wait_for 10 rollout_is RolledBack || { echo "the alarm did not roll back"; exit 1; }
"$ALIASD" status --url http://127.0.0.1:$PORT | grep -A2 '^my-canary-function'
"$ALIASD" versions my-canary-function
writes

say "canary again: the alarm quiet, a new commit (interval 2s); it completes"
alarm OK
(cd "$REPO" && sed -i 's/^      interval: 4s$/      interval: 2s/' canary.yaml &&
	git -c user.name=demo -c user.email=demo@example.invalid commit -qam "Live: v2, by canary, 2 s steps")
wait_for 20 rollout_is Progressing || { echo "the rollout did not start again"; exit 1; }
"$ALIASD" status --url http://127.0.0.1:$PORT | grep -A1 '^my-canary-function'
wait_for 20 rollout_is Succeeded || { echo "the rollout did not complete"; exit 1; }
wait_for 10 in_sync
"$ALIASD" status --url http://127.0.0.1:$PORT | grep -A1 '^my-canary-function'
"$ALIASD" versions my-canary-function
writes
curl -s --noproxy '*' http://127.0.0.1:$PORT/metrics | grep '^aliasd_rollouts_total' || true

if [ -t 0 ]; then
	say "aliasd keeps running: commit to $REPO and watch; status: http://127.0.0.1:$PORT/status; Ctrl-C stops"
	wait "$DAEMON_PID" || true
fi
