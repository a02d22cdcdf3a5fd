"""Lambda Invoke for the emulator: emulated functions whose behaviour tests set.

lambda_emulator.py routes ``POST /2015-03-31/functions/NAME/invocations``
here after the SigV4 check, its fault injection and its counters (operation
name ``Invoke``); Invoke never counts against the control-plane quota (its AWS
limit is concurrency).  The function is resolved like every other call
(name, partial or full ARN, ``:qualifier`` or ``?Qualifier=`` naming an alias,
a version or $LATEST; 404 ResourceNotFoundException when missing); an alias
with a routing weight executes its additional version with that probability.
The behaviour then runs outside the emulator's lock, so a hanging function
blocks nothing else.

Request (botocore's Invoke): header ``X-Amz-Invocation-Type`` RequestResponse
(default), Event (202, empty body) or DryRun (204); the body is the payload,
empty or one JSON value (else 400 InvalidRequestContentException), at most
6291456 bytes (else 413 RequestTooLargeException).  A function still
``Pending`` gives 409 ResourceConflictException.

Behaviours (per function name, optionally per qualifier; the qualifier as
given wins over the name alone; default ``succeed`` with payload null):
  succeed  200, ``X-Amz-Executed-Version``, body = the JSON ``payload``
  fail     200 with ``X-Amz-Function-Error: Unhandled`` (or ``function_error``,
           e.g. Handled) and ``{"errorMessage", "errorType", "stackTrace": []}``
  hang     sleeps ``seconds`` (default 30, at most 300; cut short when the
           emulator stops or resets: the connection is then closed), then
           answers as a Lambda timeout does: 200, Unhandled,
           ``{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: ...
           Error: Task timed out after N.00 seconds"}``
  error    an error answer: ``status`` (500), ``code`` (ServiceException),
           ``message``; e.g. 502 EC2ThrottledException, 429
           TooManyRequestsException (Reason ConcurrentInvocationLimitExceeded)
A behaviour with ``count`` N applies to the next N invocations only, then the
one before it applies again.

Admin endpoints (lambda_emulator.py's /__emulator/ prefix)
  POST   /__emulator/invoke       {"function": NAME, "qualifier": Q or null,
                                   "behavior": ..., its fields, "count": N};
                                   returns {"behaviors": [...]}
  GET    /__emulator/invoke       {"behaviors": [...]}
  DELETE /__emulator/invoke       clears behaviours and the invocation log
  GET    /__emulator/invocations  {"invocations": [{"function", "function_arn",
                                   "qualifier", "executed_version", "payload"
                                   (parsed JSON, or the text when it is not JSON),
                                   "invocation_type", "behavior", "status",
                                   "function_error", "time" (unix seconds),
                                   "account", "region"}, ...]} in arrival order
  DELETE /__emulator/invocations  clears the log
"""
import json
import random
import threading
import time
import uuid

MAX_PAYLOAD = 6291456
MAX_HANG_SECONDS = 300.0
BEHAVIORS = ("succeed", "fail", "hang", "error")
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
MAX_LOG = 10000


class InvokeService:
    """Behaviours and the invocation log (guarded by the emulator's lock)."""

    def __init__(self):
        self.behaviors = []     # [{"function", "qualifier", "behavior", ..., "count"}], newest last
        self.invocations = []
        self.released = threading.Event()   # set on reset / stop: hanging calls end

    def set_behavior(self, spec, api_error):
        if not isinstance(spec, dict):
            raise api_error(400, "InvalidParameterValueException", "behavior must be an object")
        fn = spec.get("function")
        if not isinstance(fn, str) or not fn:
            raise api_error(400, "InvalidParameterValueException", "function (a name) is required")
        kind = spec.get("behavior", "succeed")
        if kind not in BEHAVIORS:
            raise api_error(400, "InvalidParameterValueException",
                            "behavior must be one of %s" % ", ".join(BEHAVIORS))
        qualifier = spec.get("qualifier")
        if qualifier is not None and not isinstance(qualifier, str):
            raise api_error(400, "InvalidParameterValueException", "qualifier must be a string")
        entry = {"function": fn, "qualifier": qualifier, "behavior": kind}
        if kind == "succeed":
            entry["payload"] = spec.get("payload")
        elif kind == "fail":
            entry["error_message"] = str(spec.get("error_message", "Injected failure"))
            entry["error_type"] = str(spec.get("error_type", "Error"))
            entry["function_error"] = str(spec.get("function_error", "Unhandled"))
        elif kind == "hang":
            seconds = spec.get("seconds", 30)
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                raise api_error(400, "InvalidParameterValueException", "seconds must be >= 0")
            entry["seconds"] = min(float(seconds), MAX_HANG_SECONDS)
        else:
            status = spec.get("status", 500)
            if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                raise api_error(400, "InvalidParameterValueException", "status must be 400..599")
            entry["status"] = status
            entry["code"] = str(spec.get("code", "ServiceException"))
            entry["message"] = str(spec.get("message", "An internal error occurred (injected)."))
        count = spec.get("count")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise api_error(400, "InvalidParameterValueException", "count must be >= 1")
            entry["count"] = count
        # a permanent behaviour replaces the permanent one for the same target
        if count is None:
            self.behaviors = [b for b in self.behaviors
                              if not (b["function"] == fn and b["qualifier"] == qualifier
                                      and "count" not in b)]
        self.behaviors.append(entry)
        return list(self.behaviors)

    def take_behavior(self, name, qualifier):
        """The behaviour for this call (a counted one is used up); newest first, the
        qualifier as given before the name alone."""
        for want in ((qualifier,) if qualifier is None else (qualifier, None)):
            for b in reversed(self.behaviors):
                if b["function"] == name and b["qualifier"] == want:
                    if "count" in b:
                        b["count"] -= 1
                        if b["count"] <= 0:
                            self.behaviors.remove(b)
                    return dict(b)
        return {"behavior": "succeed", "payload": None}

    def record(self, entry):
        self.invocations.append(entry)
        del self.invocations[:-MAX_LOG]

    def release(self):
        self.released.set()


def _executed_version(svc, fn, qualifier):
    """The version an Invoke runs: $LATEST, the version, or an alias's (weighted)."""
    if not qualifier or qualifier == "$LATEST":
        return "$LATEST"
    version, _ = svc._resolve_qualifier(fn, qualifier)   # raises 404 for a missing one
    if version is None:
        return "$LATEST"
    alias = fn.aliases.get(qualifier)
    if alias is not None:
        for extra, weight in alias.weights.items():
            if random.random() < weight:
                return extra
    return str(version.num)


def _payload_value(body):
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _json_headers(version):
    return {"Content-Type": "application/json", "X-Amz-Executed-Version": version}


def _run(emu, b, version, released):
    """The behaviour's answer: (status, headers, bytes), or None to close the connection."""
    kind = b["behavior"]
    if kind == "succeed":
        return 200, _json_headers(version), json.dumps(b.get("payload"), ensure_ascii=False).encode()
    if kind == "fail":
        h = _json_headers(version)
        h["X-Amz-Function-Error"] = b["function_error"]
        body = {"errorMessage": b["error_message"], "errorType": b["error_type"], "stackTrace": []}
        return 200, h, json.dumps(body, ensure_ascii=False).encode()
    if kind == "hang":
        if released.wait(b["seconds"]) or emu.stopping.is_set():
            return None
        h = _json_headers(version)
        h["X-Amz-Function-Error"] = "Unhandled"
        body = {"errorType": "Sandbox.Timedout",
                "errorMessage": "RequestId: %s Error: Task timed out after %.2f seconds"
                                % (uuid.uuid4(), b["seconds"])}
        return 200, h, json.dumps(body, ensure_ascii=False).encode()
    return None  # "error" is raised by the caller


def handle(emu, opname, ctx, params, query_pairs, headers, body, fault, api_error):
    """One Invoke (auth, quota and injected throttle/error done by the caller).
    -> ("respond", status, headers, bytes) or ("close",)."""
    record = {"function": None, "function_arn": None, "qualifier": None, "executed_version": None,
              "payload": _payload_value(body), "invocation_type": None, "behavior": None,
              "status": None, "function_error": None, "time": time.time(),
              "account": ctx.account, "region": ctx.region}
    with emu.lock:
        emu.invoke.record(record)   # every Invoke, whatever its outcome; filled in below
    try:
        qualifier = None
        for k, v in query_pairs:
            if k == "Qualifier":
                qualifier = v
                break
        itype = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        with emu.lock:
            record["qualifier"], record["invocation_type"] = qualifier, itype
        if itype not in INVOCATION_TYPES:
            raise api_error(400, "InvalidParameterValueException",
                            "1 validation error detected: Value '%s' at 'invocationType' failed to "
                            "satisfy constraint: Member must satisfy enum value set: "
                            "[Event, RequestResponse, DryRun]" % itype)
        if len(body) > MAX_PAYLOAD:
            raise api_error(413, "RequestTooLargeException",
                            "Request must be smaller than %d bytes for the InvokeFunction operation"
                            % MAX_PAYLOAD)
        if body.strip():
            try:
                json.loads(body)
            except ValueError:
                raise api_error(400, "InvalidRequestContentException",
                                "Could not parse request body into json: Could not parse payload "
                                "into json")
        with emu.lock:
            svc = emu.service
            fn, qualifier = svc._get_fn(ctx, params["FunctionName"], qualifier)
            record["function"], record["qualifier"] = fn.name, qualifier
            record["function_arn"] = fn.qualified_arn(qualifier) if qualifier else fn.arn
            if fn.state == "Pending":
                raise api_error(409, "ResourceConflictException",
                                "The operation cannot be performed at this time. The function "
                                "is currently in the following state: Pending")
            version = _executed_version(svc, fn, qualifier)
            record["executed_version"] = version
            inv = emu.invoke
            b = inv.take_behavior(fn.name, qualifier) if itype == "RequestResponse" else \
                {"behavior": "succeed", "payload": None}
            record["behavior"] = b["behavior"]
            released = inv.released
        if b["behavior"] == "error":
            extra, hdrs = {}, {}
            if b["status"] == 429:
                extra = {"Reason": "ConcurrentInvocationLimitExceeded"}
                hdrs = {"Retry-After": "1"}
            raise api_error(b["status"], b["code"], b["message"], extra=extra, headers=hdrs)
        if itype == "Event":
            status, resp_headers, data = 202, {}, b""
        elif itype == "DryRun":
            status, resp_headers, data = 204, {}, b""
        else:
            out = _run(emu, b, version, released)
            if out is None:
                with emu.lock:
                    record["status"] = "closed"
                return ("close",)
            status, resp_headers, data = out
        with emu.lock:
            record["status"] = status
            record["function_error"] = resp_headers.get("X-Amz-Function-Error")
        emu.count_response(opname, status)
    except api_error as e:
        with emu.lock:
            record["status"] = e.status
        status, resp_headers, data = emu.error_response(e)
        emu.count_response(opname, status, e.code)
    if fault and fault["kind"] == "lose":
        emu.count_fault(opname, "lose")
        return ("close",)
    return ("respond", status, resp_headers, data)


def admin(emu, method, sub, body, api_error):
    """/__emulator/invoke and /__emulator/invocations -> (status, object) or None (not ours)."""
    inv = emu.invoke
    if sub == "invoke":
        if method == "POST":
            spec = emu._json(body)
            with emu.lock:
                return 200, {"behaviors": inv.set_behavior(spec, api_error)}
        if method == "GET":
            with emu.lock:
                return 200, {"behaviors": list(inv.behaviors)}
        if method == "DELETE":
            with emu.lock:
                inv.behaviors = []
                inv.invocations = []
            return 200, {"behaviors": []}
    if sub == "invocations":
        if method == "GET":
            with emu.lock:
                return 200, {"invocations": [dict(r) for r in inv.invocations]}
        if method == "DELETE":
            with emu.lock:
                inv.invocations = []
            return 200, {"invocations": []}
    return None
