"""aws/cloudwatch against the emulator's CloudWatch, through the
tests/tools/aws_cloudwatch_call tool, with SigV4 verification on: states,
missing alarms, paging, chunks of 100 names, retries, error kinds, endpoints."""
import errno
import json
import os
import socket
import subprocess

import boto3
import pytest
from botocore.config import Config

from emulator import Emulator


@pytest.fixture(scope="module")
def emu_module():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(emu_module):
    emu_module.reset()
    emu_module.configure(page_size=50, verify_signatures=True)
    yield emu_module


@pytest.fixture
def tool(build_dir):
    path = os.path.join(build_dir, "tests", "tools", "aws_cloudwatch_call")
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built: run make tests" % path)
    return path


@pytest.fixture
def cw(emu):
    session = boto3.session.Session(aws_access_key_id=emu.access_key, aws_secret_access_key=emu.secret_key,
                                    region_name=emu.region)
    return session.client("cloudwatch", endpoint_url=emu.endpoint,
                          config=Config(retries={"total_max_attempts": 1}, proxies={}))


def dead_endpoint():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d" % port


def run(tool, emu, tmp_path, *args, env_extra=None, drop=()):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(emu.env())
    env.pop("AWS_ENDPOINT_URL_LAMBDA", None)
    env["AWS_ENDPOINT_URL_CLOUDWATCH"] = emu.endpoint
    env.update({"HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
                "ALIASD_AWS_RETRY_BASE_MS": "5", "ALIASD_AWS_RETRY_AFTER_MAX_MS": "20"})
    env.update(env_extra or {})
    for k in drop:
        env.pop(k, None)
    p = subprocess.run([tool] + list(args), env=env, capture_output=True, text=True, timeout=120)
    assert p.stdout, p.stderr
    return p.returncode, json.loads(p.stdout)


def put(cw, name, state=None):
    cw.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                        Period=60, EvaluationPeriods=1, Threshold=1.0,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    if state:
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="set by test: " + state)


def states(out):
    return {a["Name"]: a["State"] for a in out["Alarms"]}


def test_states_and_missing(tool, emu, cw, tmp_path):
    put(cw, "errors", "ALARM")
    put(cw, "p99", "OK")
    put(cw, "new")
    rc, out = run(tool, emu, tmp_path, "describe", "errors", "p99", "new", "typo-errors", "errors")
    assert rc == 0, out
    assert [a["Name"] for a in out["Alarms"]] == ["errors", "p99", "new", "typo-errors"]
    assert states(out) == {"errors": "ALARM", "p99": "OK", "new": "INSUFFICIENT_DATA", "typo-errors": "missing"}
    a = out["Alarms"][0]
    assert a["Reason"] == "set by test: ALARM" and a["Updated"].endswith("Z")
    assert emu.stats()["requests"]["DescribeAlarms"] == 1
    assert emu.stats()["signature_failures"] == 0


def test_pages_followed(tool, emu, cw, tmp_path):
    names = ["alarm-%02d" % i for i in range(9)]
    for i, n in enumerate(names):
        put(cw, n, "ALARM" if i == 7 else "OK")
    emu.configure(page_size=2)
    rc, out = run(tool, emu, tmp_path, "describe", *names)
    assert rc == 0, out
    assert states(out) == {n: ("ALARM" if i == 7 else "OK") for i, n in enumerate(names)}
    assert emu.stats()["requests"]["DescribeAlarms"] == 5


def test_more_than_100_names_in_chunks(tool, emu, cw, tmp_path):
    put(cw, "n-000", "ALARM")
    put(cw, "n-149", "OK")
    names = ["n-%03d" % i for i in range(150)]
    rc, out = run(tool, emu, tmp_path, "describe", *names)
    assert rc == 0, out
    s = states(out)
    assert len(s) == 150 and s["n-000"] == "ALARM" and s["n-149"] == "OK" and s["n-050"] == "missing"
    assert emu.stats()["requests"]["DescribeAlarms"] == 2


def test_throttling_retried(tool, emu, cw, tmp_path):
    put(cw, "a", "OK")
    emu.inject("throttle", operation="DescribeAlarms")
    rc, out = run(tool, emu, tmp_path, "describe", "a")
    assert rc == 0, out
    assert out["Attempts"] == 2 and states(out) == {"a": "OK"}


@pytest.mark.parametrize("status,code,errno_,kind,attempts", [
    (403, "AccessDenied", -errno.EACCES, "terminal", 1),
    (400, "ValidationError", -errno.EINVAL, "terminal", 1),
    (500, "InternalFailure", -errno.EIO, "transient", 3),
])
def test_error_kinds(tool, emu, tmp_path, status, code, errno_, kind, attempts):
    emu.inject("error", operation="DescribeAlarms", count=5, status=status, code=code, message="injected")
    rc, out = run(tool, emu, tmp_path, "describe", "a")
    assert rc == 1
    e = out["Error"]
    assert (e["Errno"], e["Kind"], e["Status"], e["Code"], e["Message"]) == (errno_, kind, status, code,
                                                                            "injected")
    assert e["Attempts"] == attempts
    assert "DescribeAlarms" in e["Text"]
    emu.clear_faults()


def test_bad_secret_is_a_credentials_error(tool, emu, tmp_path):
    rc, out = run(tool, emu, tmp_path, "describe", "a", env_extra={"AWS_SECRET_ACCESS_KEY": "wrong"})
    assert rc == 1
    assert (out["Error"]["Code"], out["Error"]["Kind"], out["Error"]["Errno"]) == (
        "SignatureDoesNotMatch", "credentials", -errno.EACCES)
    assert "credentials from environment" in out["Error"]["Text"]
    assert out["Error"]["Attempts"] == 1


def test_no_credentials(tool, emu, tmp_path):
    rc, out = run(tool, emu, tmp_path, "describe", "a", drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    assert rc == 1 and out["Error"]["Kind"] == "credentials"
    assert emu.stats()["requests_total"] == 0


def test_session_token_signed(tool, emu, cw, tmp_path):
    put(cw, "a", "ALARM")
    rc, out = run(tool, emu, tmp_path, "describe", "a", env_extra={"AWS_SESSION_TOKEN": "FwoGZXIvYXdzE+/="})
    assert rc == 0, out
    assert states(out) == {"a": "ALARM"}


def test_endpoint_order(tool, emu, cw, tmp_path):
    put(cw, "a", "OK")
    dead = dead_endpoint()
    # AWS_ENDPOINT_URL_CLOUDWATCH beats AWS_ENDPOINT_URL and the configuration
    rc, out = run(tool, emu, tmp_path, "--endpoint", dead, "describe", "a",
                  env_extra={"AWS_ENDPOINT_URL": dead})
    assert rc == 0, out
    # AWS_ENDPOINT_URL beats the configuration
    rc, out = run(tool, emu, tmp_path, "--endpoint", dead, "describe", "a",
                  env_extra={"AWS_ENDPOINT_URL": emu.endpoint}, drop=("AWS_ENDPOINT_URL_CLOUDWATCH",))
    assert rc == 0, out
    # the configuration's endpoint when no variable is set
    rc, out = run(tool, emu, tmp_path, "--endpoint", emu.endpoint, "describe", "a",
                  drop=("AWS_ENDPOINT_URL_CLOUDWATCH",))
    assert rc == 0, out
    # and a dead one fails as a transient transport error, after the retries
    rc, out = run(tool, emu, tmp_path, "describe", "a", env_extra={"AWS_ENDPOINT_URL_CLOUDWATCH": dead})
    assert rc == 1
    assert (out["Error"]["Errno"], out["Error"]["Kind"], out["Error"]["Attempts"]) == (
        -errno.ECONNREFUSED, "transient", 3)


def test_composite_alarm_is_not_missing(tool, emu, cw, tmp_path):
    put(cw, "errors", "OK")
    cw.put_composite_alarm(AlarmName="guard", AlarmRule='ALARM("errors")')
    cw.set_alarm_state(AlarmName="guard", StateValue="ALARM", StateReason="rule")
    rc, out = run(tool, emu, tmp_path, "describe", "errors", "guard")
    assert rc == 0, out
    assert states(out) == {"errors": "OK", "guard": "ALARM"}
