"""CloudWatch alarms on the emulator's port, checked with boto3 as a real client:
PutMetricAlarm, DescribeAlarms (filters, paging), SetAlarmState, DeleteAlarms,
AWS's XML errors, signature checks for service 'monitoring', and Lambda
still served beside it."""

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def cw_client(emu, region=None, secret=None, max_attempts=1):
    session = boto3.session.Session(aws_access_key_id=emu.access_key,
                                    aws_secret_access_key=secret or emu.secret_key,
                                    region_name=region or emu.region)
    cfg = Config(retries={"total_max_attempts": max_attempts, "mode": "standard"}, proxies={})
    return session.client("cloudwatch", endpoint_url=emu.endpoint, config=cfg)


@pytest.fixture
def cw(emu):
    return cw_client(emu)


def put(cw, name, **kw):
    args = dict(AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                Dimensions=[{"Name": "FunctionName", "Value": "f"}], Period=60,
                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    args.update(kw)
    return cw.put_metric_alarm(**args)


def err(e):
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_put_describe_set_state(emu, cw):
    put(cw, "errors", AlarmDescription="5xx & <more>")
    got = cw.describe_alarms(AlarmNames=["errors"])["MetricAlarms"]
    assert len(got) == 1
    a = got[0]
    assert a["AlarmName"] == "errors"
    assert a["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors"
    assert a["AlarmDescription"] == "5xx & <more>"
    assert a["StateValue"] == "INSUFFICIENT_DATA"
    assert a["StateReason"] == "Unchecked: Initial alarm creation"
    assert a["Dimensions"] == [{"Name": "FunctionName", "Value": "f"}]
    assert a["Threshold"] == 1.0 and a["EvaluationPeriods"] == 1 and a["Period"] == 60
    first = a["StateUpdatedTimestamp"]

    cw.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="test says so",
                       StateReasonData='{"x": 1}')
    a = cw.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]
    assert (a["StateValue"], a["StateReason"]) == ("ALARM", "test says so")
    assert a["StateUpdatedTimestamp"] >= first

    # replacing the alarm keeps its state
    put(cw, "errors", Threshold=5.0)
    a = cw.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]
    assert a["StateValue"] == "ALARM" and a["Threshold"] == 5.0
    assert emu.stats()["applied"]["SetAlarmState"] == 1


def test_describe_filters_and_missing_names(emu, cw):
    for n in ("b-errors", "a-errors", "c-latency"):
        put(cw, n)
    cw.set_alarm_state(AlarmName="c-latency", StateValue="OK", StateReason="fine")
    got = cw.describe_alarms(AlarmNames=["a-errors", "nope", "c-latency"])["MetricAlarms"]
    assert [a["AlarmName"] for a in got] == ["a-errors", "c-latency"]  # the missing one is absent
    assert [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]] == ["a-errors", "b-errors",
                                                                            "c-latency"]
    assert [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix="b-")["MetricAlarms"]] == ["b-errors"]
    assert [a["AlarmName"] for a in cw.describe_alarms(StateValue="OK")["MetricAlarms"]] == ["c-latency"]
    out = cw.describe_alarms(AlarmTypes=["CompositeAlarm"])
    assert out["MetricAlarms"] == [] and out["CompositeAlarms"] == []


def test_describe_pages(emu, cw):
    names = ["alarm-%02d" % i for i in range(7)]
    for n in names:
        put(cw, n)
    emu.configure(page_size=2)
    first = cw.describe_alarms(AlarmNames=names)
    assert len(first["MetricAlarms"]) == 2 and first["NextToken"]
    seen = []
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNames=names):
        seen += [a["AlarmName"] for a in page["MetricAlarms"]]
    assert seen == names
    with pytest.raises(ClientError) as e:
        cw.describe_alarms(NextToken="not-a-token")
    assert err(e) == ("InvalidNextToken", 400)


def test_errors(emu, cw):
    put(cw, "x")
    with pytest.raises(ClientError) as e:
        cw.set_alarm_state(AlarmName="missing", StateValue="ALARM", StateReason="r")
    assert err(e) == ("ResourceNotFound", 404)
    assert "missing" in e.value.response["Error"]["Message"]
    assert e.value.response["Error"]["Type"] == "Sender"
    with pytest.raises(ClientError) as e:
        cw.set_alarm_state(AlarmName="x", StateValue="BROKEN", StateReason="r")
    assert err(e) == ("ValidationError", 400)
    with pytest.raises(ClientError) as e:
        cw.set_alarm_state(AlarmName="x", StateValue="OK", StateReason="r", StateReasonData="{nope")
    assert err(e) == ("InvalidFormat", 400)
    with pytest.raises(ClientError) as e:
        put(cw, "y", ComparisonOperator="Bigger")
    assert err(e) == ("ValidationError", 400)
    with pytest.raises(ClientError) as e:
        put(cw, "y", Period=45)
    assert err(e) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as e:
        cw.describe_alarms(AlarmNames=["x"], AlarmNamePrefix="x")
    assert err(e) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as e:
        cw.describe_alarms(AlarmNames=["n%d" % i for i in range(101)])
    assert err(e) == ("ValidationError", 400)
    with pytest.raises(ClientError) as e:
        cw.delete_alarms(AlarmNames=["x", "ghost"])
    assert err(e) == ("ResourceNotFound", 404)
    cw.delete_alarms(AlarmNames=["x"])
    assert cw.describe_alarms()["MetricAlarms"] == []


def test_signature_checked_for_monitoring(emu):
    bad = cw_client(emu, secret="wrong-secret")
    with pytest.raises(ClientError) as e:
        bad.describe_alarms()
    assert err(e) == ("SignatureDoesNotMatch", 403)
    assert emu.stats()["signature_failures"] == 1


def test_regions_are_separate_and_lambda_still_served(emu, cw):
    put(cw, "east")
    west = cw_client(emu, region="eu-west-1")
    assert west.describe_alarms()["MetricAlarms"] == []
    put(west, "west")
    assert [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]] == ["east"]
    # the same port still speaks Lambda to Lambda-signed requests
    assert emu.client().list_functions()["Functions"] == []
    state = emu.admin("GET", "cloudwatch")
    assert set(state) == {"123456789012/us-east-1", "123456789012/eu-west-1"}


def test_injected_faults(emu, cw):
    put(cw, "a")
    emu.inject("throttle", operation="DescribeAlarms")
    with pytest.raises(ClientError) as e:
        cw.describe_alarms()
    assert err(e) == ("Throttling", 400)
    emu.inject("error", operation="DescribeAlarms", status=403, code="AccessDenied",
               message="User is not authorized to perform: cloudwatch:DescribeAlarms")
    with pytest.raises(ClientError) as e:
        cw.describe_alarms()
    assert err(e) == ("AccessDenied", 403)
    # boto3's own retries get through a throttle
    emu.inject("throttle", operation="DescribeAlarms")
    assert len(cw_client(emu, max_attempts=3).describe_alarms()["MetricAlarms"]) == 1


def test_composite_alarms_only_when_asked(emu, cw):
    put(cw, "errors")
    cw.put_composite_alarm(AlarmName="guard", AlarmRule='ALARM("errors")')
    cw.set_alarm_state(AlarmName="guard", StateValue="ALARM", StateReason="rule")
    out = cw.describe_alarms(AlarmNames=["errors", "guard"])
    assert [a["AlarmName"] for a in out["MetricAlarms"]] == ["errors"]
    assert out.get("CompositeAlarms", []) == []
    out = cw.describe_alarms(AlarmNames=["errors", "guard"], AlarmTypes=["CompositeAlarm", "MetricAlarm"])
    assert [a["AlarmName"] for a in out["MetricAlarms"]] == ["errors"]
    c = out["CompositeAlarms"]
    assert [(a["AlarmName"], a["StateValue"], a["AlarmRule"]) for a in c] == [("guard", "ALARM",
                                                                               'ALARM("errors")')]
    with pytest.raises(ClientError) as e:
        put(cw, "guard")
    assert err(e) == ("InvalidParameterValue", 400)
