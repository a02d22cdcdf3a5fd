"""CloudWatch alarms for the Lambda emulator: the same port, another service.

lambda_emulator.py hands a request here when its SigV4 credential scope names
the service ``monitoring`` (AWS has one endpoint per service; one test server
serves both, told apart the way AWS's own front ends are: by the signature's
scope).  The signature is verified exactly as for Lambda (botocore's signer,
service ``monitoring``).

Query protocol (botocore/data/cloudwatch/2010-08-01/service-2.json): a form
POST to ``/`` with ``Action`` and ``Version=2010-08-01``, XML answers in the
namespace ``http://monitoring.amazonaws.com/doc/2010-08-01/``, errors as
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``.

Operations
----------
PutMetricAlarm   create or replace a metric alarm; a new one starts in
                 INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"), a
                 replaced one keeps its state.
DescribeAlarms   AlarmNames.member.N (at most 100) or AlarmNamePrefix,
                 StateValue, AlarmTypes.member.N (default MetricAlarm only,
                 as AWS: composite alarms are listed only when asked for), MaxRecords (1..100, further
                 capped by the emulator's ``page_size``), NextToken; alarms in
                 name order.  A name that does not exist is simply absent.
PutCompositeAlarm
                 create or replace a composite alarm (AlarmRule is kept, not
                 evaluated: its state changes only through SetAlarmState).
SetAlarmState    AlarmName, StateValue (OK|ALARM|INSUFFICIENT_DATA),
                 StateReason (required), StateReasonData (JSON if given);
                 ResourceNotFound (404) for a missing alarm.
DeleteAlarms     AlarmNames.member.N; ResourceNotFound if any is missing.

Errors: ValidationError, MissingParameter, InvalidParameterValue,
InvalidParameterCombination, InvalidNextToken, InvalidFormat (400),
ResourceNotFound (404), InvalidAction (400), Throttling (400, also for the
emulator's injected throttles), InternalFailure (500, injected errors), and
the signature failures as Query services name them (IncompleteSignature,
MissingAuthenticationToken, InvalidClientTokenId, SignatureDoesNotMatch).
Scripted faults (POST /__emulator/faults) apply with operation names
``DescribeAlarms`` etc.; an injected ``error`` answers with its code in this
XML shape.
"""
import base64
import datetime
import json
import re
import traceback
from xml.sax.saxutils import escape

from query_protocol import QueryError, authenticate, error_xml, params_of, signed_for

NAMESPACE = "http://monitoring.amazonaws.com/doc/2010-08-01/"
API_VERSION = "2010-08-01"
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
OPERATORS = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
             "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold",
             "LessThanLowerThreshold", "GreaterThanUpperThreshold")
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


def wants(headers):
    """True when the request is signed for CloudWatch (scope service 'monitoring')."""
    return signed_for(headers, "monitoring")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def _validation(value, field, constraint):
    return QueryError(400, "ValidationError", "1 validation error detected: Value %s at '%s' failed "
                      "to satisfy constraint: %s" % (value, field, constraint))


def _members(params, prefix):
    """Query lists: prefix.member.1, prefix.member.2, ... in index order."""
    out = {}
    pat = re.compile(re.escape(prefix) + r"\.member\.(\d+)$")
    for k, v in params.items():
        m = pat.match(k)
        if m:
            out[int(m.group(1))] = v
    return [out[i] for i in sorted(out)]


def _required(params, name, field):
    v = params.get(name)
    if v is None:
        raise _validation("null", field, "Member must not be null")
    return v


def _alarm_name(v, field="alarmName"):
    if not 1 <= len(v) <= 255:
        raise _validation("'%s'" % v, field, "Member must have length between 1 and 255")
    return v


def _int(params, name, lo, hi=None):
    v = params.get(name)
    if v is None:
        return None
    try:
        n = int(v)
    except ValueError:
        raise QueryError(400, "InvalidParameterValue", "Value (%s) for parameter %s is invalid." % (v, name))
    if n < lo or (hi is not None and n > hi):
        raise _validation(str(n), name[0].lower() + name[1:],
                          "Member must have value %s %d" % ("greater than or equal to", lo)
                          if n < lo else "Member must have value less than or equal to %d" % hi)
    return n


class CloudWatchService:
    """Alarms per (account, region).  Called with the emulator's lock held."""

    def __init__(self):
        self.alarms = {}   # (account, region) -> {name: dict}

    def _scope(self, ctx):
        return self.alarms.setdefault((ctx.account, ctx.region), {})

    def dump(self):
        return {"%s/%s" % k: {n: dict(a) for n, a in v.items()} for k, v in self.alarms.items()}

    # ---- operations: return the inner XML of the <XResult> (or None) -----------------
    def PutMetricAlarm(self, ctx, p):
        name = _alarm_name(_required(p, "AlarmName", "alarmName"))
        ev = _int(p, "EvaluationPeriods", 1)
        if ev is None:
            raise _validation("null", "evaluationPeriods", "Member must not be null")
        op = _required(p, "ComparisonOperator", "comparisonOperator")
        if op not in OPERATORS:
            raise _validation("'%s'" % op, "comparisonOperator",
                              "Member must satisfy enum value set: [%s]" % ", ".join(OPERATORS))
        stat = p.get("Statistic")
        if stat is not None and stat not in STATISTICS:
            raise _validation("'%s'" % stat, "statistic",
                              "Member must satisfy enum value set: [%s]" % ", ".join(STATISTICS))
        if stat is not None and p.get("ExtendedStatistic") is not None:
            raise QueryError(400, "InvalidParameterCombination",
                             "Exactly one element of the parameters [Statistic, ExtendedStatistic] "
                             "must be specified.")
        period = _int(p, "Period", 1)
        if period is not None and period not in (10, 20, 30) and period % 60:
            raise QueryError(400, "InvalidParameterValue",
                             "The parameter Period must be 10, 20, 30 or a multiple of 60.")
        threshold = p.get("Threshold")
        if threshold is not None:
            try:
                threshold = float(threshold)
            except ValueError:
                raise QueryError(400, "InvalidParameterValue",
                                 "Value (%s) for parameter Threshold is invalid." % threshold)
        alarms = self._scope(ctx)
        now = _ts(_now())
        old = alarms.get(name)
        if old is not None and old.get("Composite"):
            raise QueryError(400, "InvalidParameterValue",
                             "An alarm named %s already exists as a composite alarm." % name)
        dims = []
        for i in range(1, 31):
            dn = p.get("Dimensions.member.%d.Name" % i)
            if dn is None:
                break
            dims.append((dn, p.get("Dimensions.member.%d.Value" % i, "")))
        alarms[name] = {
            "AlarmName": name,
            "AlarmArn": "arn:aws:cloudwatch:%s:%s:alarm:%s" % (ctx.region, ctx.account, name),
            "AlarmDescription": p.get("AlarmDescription"),
            "AlarmConfigurationUpdatedTimestamp": now,
            "ActionsEnabled": p.get("ActionsEnabled", "true").lower(),
            "StateValue": old["StateValue"] if old else "INSUFFICIENT_DATA",
            "StateReason": old["StateReason"] if old else "Unchecked: Initial alarm creation",
            "StateUpdatedTimestamp": old["StateUpdatedTimestamp"] if old else now,
            "StateTransitionedTimestamp": old["StateTransitionedTimestamp"] if old else now,
            "MetricName": p.get("MetricName"),
            "Namespace": p.get("Namespace"),
            "Statistic": stat,
            "Dimensions": dims,
            "Period": period,
            "EvaluationPeriods": ev,
            "Threshold": threshold,
            "ComparisonOperator": op,
            "TreatMissingData": p.get("TreatMissingData"),
        }
        return None

    def PutCompositeAlarm(self, ctx, p):
        name = _alarm_name(_required(p, "AlarmName", "alarmName"))
        rule = _required(p, "AlarmRule", "alarmRule")
        if not 1 <= len(rule) <= 10240:
            raise _validation("'%s'" % rule, "alarmRule", "Member must have length between 1 and 10240")
        alarms = self._scope(ctx)
        old = alarms.get(name)
        if old is not None and not old.get("Composite"):
            raise QueryError(400, "InvalidParameterValue",
                             "An alarm named %s already exists as a metric alarm." % name)
        now = _ts(_now())
        alarms[name] = {
            "Composite": True,
            "AlarmName": name,
            "AlarmArn": "arn:aws:cloudwatch:%s:%s:alarm:%s" % (ctx.region, ctx.account, name),
            "AlarmDescription": p.get("AlarmDescription"),
            "AlarmConfigurationUpdatedTimestamp": now,
            "ActionsEnabled": p.get("ActionsEnabled", "true").lower(),
            "AlarmRule": rule,
            "StateValue": old["StateValue"] if old else "INSUFFICIENT_DATA",
            "StateReason": old["StateReason"] if old else "Unchecked: Initial alarm creation",
            "StateUpdatedTimestamp": old["StateUpdatedTimestamp"] if old else now,
            "StateTransitionedTimestamp": old["StateTransitionedTimestamp"] if old else now,
        }
        return None

    def SetAlarmState(self, ctx, p):
        name = _alarm_name(_required(p, "AlarmName", "alarmName"))
        state = _required(p, "StateValue", "stateValue")
        if state not in STATES:
            raise _validation("'%s'" % state, "stateValue",
                              "Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]")
        reason = _required(p, "StateReason", "stateReason")
        if len(reason) > 1023:
            raise _validation("'%s'" % reason, "stateReason", "Member must have length less than or "
                              "equal to 1023")
        data = p.get("StateReasonData")
        if data is not None:
            try:
                json.loads(data)
            except ValueError:
                raise QueryError(400, "InvalidFormat", "StateReasonData is not valid JSON")
        alarm = self._scope(ctx).get(name)
        if alarm is None:
            raise QueryError(404, "ResourceNotFound", "Alarm %s not found" % name)
        now = _ts(_now())
        if alarm["StateValue"] != state:
            alarm["StateTransitionedTimestamp"] = now
        alarm["StateValue"] = state
        alarm["StateReason"] = reason
        alarm["StateUpdatedTimestamp"] = now
        return None

    def DeleteAlarms(self, ctx, p):
        names = _members(p, "AlarmNames")
        alarms = self._scope(ctx)
        missing = [n for n in names if n not in alarms]
        if missing:
            raise QueryError(404, "ResourceNotFound", "1 or more alarms not found: [%s]" % ", ".join(missing))
        for n in names:
            del alarms[n]
        return None

    def DescribeAlarms(self, ctx, p, page_cap):
        names = _members(p, "AlarmNames")
        if len(names) > 100:
            raise _validation("[%s]" % ", ".join(names), "alarmNames",
                              "Member must have length less than or equal to 100")
        for n in names:
            _alarm_name(n, "alarmNames")
        prefix = p.get("AlarmNamePrefix")
        if names and prefix is not None:
            raise QueryError(400, "InvalidParameterCombination",
                             "AlarmNames and AlarmNamePrefix cannot be specified together.")
        state = p.get("StateValue")
        if state is not None and state not in STATES:
            raise _validation("'%s'" % state, "stateValue",
                              "Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]")
        types = _members(p, "AlarmTypes") or ["MetricAlarm"]
        for t in types:
            if t not in ("MetricAlarm", "CompositeAlarm"):
                raise _validation("'%s'" % t, "alarmTypes",
                                  "Member must satisfy enum value set: [CompositeAlarm, MetricAlarm]")
        limit = _int(p, "MaxRecords", 1, 100) or 50
        limit = min(limit, page_cap)
        alarms = self._scope(ctx)
        kinds = {"CompositeAlarm": True, "MetricAlarm": False}
        wanted = {kinds[t] for t in types}
        chosen = sorted(n for n in alarms
                        if (not names or n in names)
                        and (prefix is None or n.startswith(prefix))
                        and (state is None or alarms[n]["StateValue"] == state)
                        and bool(alarms[n].get("Composite")) in wanted)
        token = p.get("NextToken")
        if token is not None:
            try:
                after = json.loads(base64.b64decode(token, validate=True))["after"]
                if not isinstance(after, str):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise QueryError(400, "InvalidNextToken", "The service couldn't process the NextToken.")
            chosen = [n for n in chosen if n > after]
        page, rest = chosen[:limit], chosen[limit:]
        xml = []
        xml.append("<MetricAlarms>")  # always there, empty when not asked for
        xml += [_alarm_xml(alarms[n]) for n in page if not alarms[n].get("Composite")]
        xml.append("</MetricAlarms>")
        if "CompositeAlarm" in types:
            xml.append("<CompositeAlarms>")
            xml += [_composite_xml(alarms[n]) for n in page if alarms[n].get("Composite")]
            xml.append("</CompositeAlarms>")
        if rest:
            nt = base64.b64encode(json.dumps({"after": page[-1]}).encode()).decode()
            xml.append("<NextToken>%s</NextToken>" % escape(nt))
        return "".join(xml)


def _alarm_xml(a):
    out = ["<member>"]

    def el(tag, v):
        if v is not None:
            out.append("<%s>%s</%s>" % (tag, escape(str(v)), tag))

    for k in ("AlarmName", "AlarmArn", "AlarmDescription", "AlarmConfigurationUpdatedTimestamp",
              "ActionsEnabled"):
        el(k, a[k])
    out.append("<OKActions/><AlarmActions/><InsufficientDataActions/>")
    for k in ("StateValue", "StateReason", "StateUpdatedTimestamp", "MetricName", "Namespace",
              "Statistic"):
        el(k, a[k])
    out.append("<Dimensions>")
    for dn, dv in a["Dimensions"]:
        out.append("<member><Name>%s</Name><Value>%s</Value></member>" % (escape(dn), escape(dv)))
    out.append("</Dimensions>")
    for k in ("Period", "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData",
              "StateTransitionedTimestamp"):
        el(k, a[k])
    out.append("</member>")
    return "".join(out)


def _composite_xml(a):
    out = ["<member>"]
    for k in ("AlarmName", "AlarmArn", "AlarmDescription", "AlarmConfigurationUpdatedTimestamp",
              "ActionsEnabled"):
        if a[k] is not None:
            out.append("<%s>%s</%s>" % (k, escape(str(a[k])), k))
    out.append("<OKActions/><AlarmActions/><InsufficientDataActions/>")
    for k in ("AlarmRule", "StateValue", "StateReason", "StateUpdatedTimestamp",
              "StateTransitionedTimestamp"):
        out.append("<%s>%s</%s>" % (k, escape(str(a[k])), k))
    out.append("</member>")
    return "".join(out)


def _response(action, result_xml, request_id):
    inner = ""
    if result_xml is not None:
        inner = "<%sResult>%s</%sResult>" % (action, result_xml, action)
    return ('<%sResponse xmlns="%s">%s<ResponseMetadata><RequestId>%s</RequestId>'
            '</ResponseMetadata></%sResponse>' % (action, NAMESPACE, inner, request_id, action)).encode()


OPERATIONS = ("PutMetricAlarm", "PutCompositeAlarm", "DescribeAlarms", "SetAlarmState", "DeleteAlarms")


def handle(emu, method, path, query, headers, body, api_error_cls):
    """One CloudWatch request.  -> ("respond", status, headers, bytes) or ("close",)."""
    import uuid
    request_id = str(uuid.uuid4())
    params = params_of(query, body)
    action = params.get("Action") or "Unknown"
    opname = action if action in OPERATIONS else "Unknown"
    with emu.lock:
        emu.stats["requests_total"] += 1
        emu._bump(emu.stats["requests"], opname)
    fault = emu.draw_faults(opname)
    if fault and fault["kind"] == "reset":
        emu.count_fault(opname, "reset")
        return ("close",)
    resp_headers = {"Content-Type": "text/xml"}
    try:
        ctx = authenticate(emu, method, path, query, headers, body, "monitoring", api_error_cls)
        if method != "POST" or path.rstrip("/") != "":
            if method != "GET" or "Action" not in params:
                raise QueryError(400, "InvalidAction", "Query requests are POST / (or GET /?Action=...)")
        if action == "Unknown" and "Action" not in params:
            raise QueryError(400, "MissingAction", "Missing Action")
        if action not in OPERATIONS:
            raise QueryError(400, "InvalidAction",
                             "Could not find operation %s for version %s" % (action, API_VERSION))
        if params.get("Version") != API_VERSION:
            raise QueryError(400, "InvalidAction",
                             "Could not find operation %s for version %s" % (action, params.get("Version")))
        if fault and fault["kind"] == "throttle":
            emu.count_fault(opname, "throttle")
            raise QueryError(400, "Throttling", "Rate exceeded")
        if fault and fault["kind"] == "error":
            emu.count_fault(opname, "error")
            raise QueryError(fault["status"], fault["code"], fault["message"],
                             sender=fault["status"] < 500)
        with emu.lock:
            svc = emu.cloudwatch
            if action == "DescribeAlarms":
                result = svc.DescribeAlarms(ctx, params, emu.config["page_size"])
            else:
                result = getattr(svc, action)(ctx, params)
            if action != "DescribeAlarms":
                emu._bump(emu.stats["applied"], action)
        status, data = 200, _response(action, result, request_id)
        emu.count_response(opname, status)
    except QueryError as e:
        status, data = e.status, error_xml(e, request_id, NAMESPACE)
        emu.count_response(opname, status, e.code)
    except Exception:  # a bug in the emulator: answer like AWS would
        traceback.print_exc()
        e = QueryError(500, "InternalFailure", "Internal emulator error", sender=False)
        status, data = 500, error_xml(e, request_id, NAMESPACE)
        emu.count_response(opname, status, e.code)
    if fault and fault["kind"] == "lose" and action != "DescribeAlarms":
        emu.count_fault(opname, "lose")
        return ("close",)
    return ("respond", status, resp_headers, data)
