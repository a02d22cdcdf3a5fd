"""STS for the Lambda emulator: AssumeRole and GetCallerIdentity, many accounts.

lambda_emulator.py hands a request here when its SigV4 credential scope names
the service ``sts`` (as it hands ``monitoring`` to cloudwatch_emulator.py).
The signature is verified exactly as for Lambda (botocore's signer, service
``sts``); the caller's account is the one of its access key (``--credentials
AKID:SECRET:ACCOUNT``, or temporary credentials issued here).

Query protocol (botocore/data/sts/2011-06-15/service-2.json): a form POST to
``/`` with ``Action`` and ``Version=2011-06-15``, XML answers in the namespace
``https://sts.amazonaws.com/doc/2011-06-15/``, errors as
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``.

Operations
----------
AssumeRole         RoleArn (arn:aws:iam::ACCOUNT:role/NAME), RoleSessionName
                   (2..64 of [\\w+=,.@-]), ExternalId, DurationSeconds
                   (900..43200).  The role must be configured (admin API
                   below) and trust the caller's account (and, when it has
                   one, the ExternalId must match), else 403 AccessDenied,
                   worded as AWS words it.  The answer's credentials (ASIA...
                   access key, secret, session token) act in the role's
                   account: Lambda calls signed with them see that account's
                   functions, quota buckets and ARNs.  They expire after
                   min(DurationSeconds or 3600, the configured
                   duration_seconds); used after that (or without their
                   session token) a call fails 403 ExpiredToken /
                   InvalidClientTokenId.
GetCallerIdentity  Account, Arn and UserId of the caller.

Admin API (on the emulator's port)
----------------------------------
POST /__emulator/sts  {"roles": {ROLE_ARN: {"trust": [ACCOUNT...],
                      "externalId": "..."}}, "duration_seconds": N}: the
                      roles given replace the configured ones; N (>= 1) caps
                      the life of issued credentials (short for refresh tests).
GET  /__emulator/sts  {"roles", "duration_seconds", "issued": [{"access_key",
                      "role", "account", "session", "source_access_key",
                      "source_account", "expires_in"}], "calls": [{"access_key",
                      "account", "action", "role", "outcome"}], "writers":
                      {"ACCOUNT/REGION/NAME": [access keys that wrote it]}}
Roles, issued credentials and the write log survive /__emulator/reset (as
--credentials do).
"""
import datetime
import re
import secrets
import string
import time
import traceback
import uuid
from xml.sax.saxutils import escape

from query_protocol import QueryError, authenticate, error_xml, params_of, signed_for

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
API_VERSION = "2011-06-15"
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]+)$")
SESSION_RE = re.compile(r"^[\w+=,.@-]{2,64}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


class StsState:
    def __init__(self):
        self.roles = {}           # role ARN -> {"trust": [accounts], "externalId": str or None}
        self.duration = 3600      # cap of issued credentials' life, seconds
        self.issued = {}          # access key -> dict (see GET /__emulator/sts)
        self.calls = []
        self.writers = {}         # "ACCOUNT/REGION/NAME" -> set of access keys


def state(emu):
    """The emulator's STS state, made on first use (call with emu.lock held or at start)."""
    st = getattr(emu, "sts_state", None)
    if st is None:
        st = emu.sts_state = StsState()
    return st


def wants(headers):
    """True when the request is signed for STS (scope service 'sts')."""
    return signed_for(headers, "sts")


def check_session(emu, akid, headers, api_error_cls):
    """Hook of authenticate(): credentials issued here need their token and must not be expired."""
    st = getattr(emu, "sts_state", None)
    if st is None:
        return
    with emu.lock:
        cred = st.issued.get(akid)
    if cred is None:
        return
    if headers.get("X-Amz-Security-Token") != cred["token"]:
        raise api_error_cls(403, "UnrecognizedClientException",
                            "The security token included in the request is invalid.")
    if time.time() >= cred["expires"]:
        raise api_error_cls(403, "ExpiredTokenException",
                            "The security token included in the request is expired")


def record_write(emu, ctx, params, req):
    """Hook of handle_api() (lock held): which access key wrote which function."""
    name = params.get("FunctionName") or req.get("FunctionName") or ""
    name = name.split(":function:")[-1].split(":")[0]
    key = "%s/%s/%s" % (ctx.account, ctx.region, name)
    state(emu).writers.setdefault(key, set()).add(ctx.access_key)


def _token(n, alphabet=string.ascii_letters + string.digits):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _access_denied(account, role):
    return QueryError(403, "AccessDenied",
                      "User: arn:aws:iam::%s:user/emulator is not authorized to perform: "
                      "sts:AssumeRole on resource: %s" % (account, role))


def assume_role(emu, ctx, params):
    """AssumeRole (emu.lock held)."""
    st = state(emu)
    role = params.get("RoleArn", "")
    session = params.get("RoleSessionName", "")
    if not role or not session:
        raise QueryError(400, "MissingParameter",
                         "The request must contain the parameter %s"
                         % ("RoleArn" if not role else "RoleSessionName"))
    m = ROLE_ARN_RE.match(role)
    if not m:
        raise QueryError(400, "ValidationError", "%s is invalid" % role)
    if not SESSION_RE.match(session):
        raise QueryError(400, "ValidationError",
                         "1 validation error detected: Value '%s' at 'roleSessionName' failed to "
                         "satisfy constraint: Member must satisfy regular expression pattern: "
                         "[\\w+=,.@-]*" % session)
    duration = 3600
    if params.get("DurationSeconds"):
        try:
            duration = int(params["DurationSeconds"])
        except ValueError:
            duration = -1
        if not 900 <= duration <= 43200:
            raise QueryError(400, "ValidationError",
                             "1 validation error detected: Value '%s' at 'durationSeconds' failed "
                             "to satisfy constraint: Member must have value between 900 and 43200"
                             % params["DurationSeconds"])
    ext = params.get("ExternalId")
    if ext is not None and not EXTERNAL_ID_RE.match(ext):
        raise QueryError(400, "ValidationError", "ExternalId is invalid")
    conf = st.roles.get(role)
    if conf is None or ctx.account not in conf.get("trust", []):
        raise _access_denied(ctx.account, role)
    if conf.get("externalId") is not None and conf["externalId"] != ext:
        raise _access_denied(ctx.account, role)
    account = m.group(1)
    akid = "ASIA" + _token(16, string.ascii_uppercase + string.digits)
    secret = _token(40)
    token = "FQoGZXIvYXdzE" + _token(120)
    expires = time.time() + min(duration, st.duration)
    emu.credentials[akid] = (secret, account)
    st.issued[akid] = {"access_key": akid, "token": token, "expires": expires, "role": role,
                       "account": account, "session": session, "source_access_key": ctx.access_key,
                       "source_account": ctx.account}
    role_id = "AROA" + _token(17, string.ascii_uppercase + string.digits)
    return ("<AssumeRoleResult>"
            "<AssumedRoleUser><AssumedRoleId>%s:%s</AssumedRoleId>"
            "<Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn></AssumedRoleUser>"
            "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
            "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
            "<PackedPolicySize>6</PackedPolicySize>"
            "</AssumeRoleResult>"
            % (role_id, escape(session), account, escape(m.group(3)), escape(session), akid,
               escape(secret), escape(token), _iso(expires)))


def get_caller_identity(emu, ctx):
    st = state(emu)
    cred = st.issued.get(ctx.access_key)
    if cred:
        arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (cred["account"], cred["role"].rsplit("/", 1)[-1],
                                                      cred["session"])
    else:
        arn = "arn:aws:iam::%s:user/emulator" % ctx.account
    return ("<GetCallerIdentityResult><Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account>"
            "</GetCallerIdentityResult>" % (escape(arn), escape(ctx.access_key), ctx.account))


def handle(emu, method, path, query, headers, body, api_error_cls):
    """One STS request.  -> ("respond", status, headers, bytes)."""
    request_id = str(uuid.uuid4())
    params = params_of(query, body)
    action = params.get("Action") or "Unknown"
    opname = action if action in ("AssumeRole", "GetCallerIdentity") else "Unknown"
    with emu.lock:
        emu.stats["requests_total"] += 1
        emu._bump(emu.stats["requests"], opname)
    ctx = None
    try:
        ctx = authenticate(emu, method, path, query, headers, body, "sts", api_error_cls)
        if method != "POST" or path.rstrip("/") != "":
            raise QueryError(400, "InvalidAction", "Query requests are POST /")
        if opname == "Unknown" or params.get("Version") != API_VERSION:
            raise QueryError(400, "InvalidAction",
                             "Could not find operation %s for version %s" % (action, params.get("Version")))
        with emu.lock:
            if action == "AssumeRole":
                result = assume_role(emu, ctx, params)
            else:
                result = get_caller_identity(emu, ctx)
            state(emu).calls.append({"access_key": ctx.access_key, "account": ctx.account,
                                     "action": action, "role": params.get("RoleArn"), "outcome": "ok"})
        data = ('<%sResponse xmlns="%s">\n  %s\n  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
                '  </ResponseMetadata>\n</%sResponse>\n'
                % (action, NAMESPACE, result, request_id, action)).encode()
        status = 200
        emu.count_response(opname, status)
    except QueryError as e:
        if ctx is not None:
            with emu.lock:
                state(emu).calls.append({"access_key": ctx.access_key, "account": ctx.account,
                                         "action": action, "role": params.get("RoleArn"),
                                         "outcome": e.code})
        status, data = e.status, error_xml(e, request_id, NAMESPACE)
        emu.count_response(opname, status, e.code)
    except Exception:  # a bug in the emulator: answer like AWS would
        traceback.print_exc()
        e = QueryError(500, "InternalFailure", "Internal emulator error", sender=False)
        status, data = 500, error_xml(e, request_id, NAMESPACE)
        emu.count_response(opname, status, e.code)
    return ("respond", status, {"Content-Type": "text/xml"}, data)


def admin(emu, method, body, api_error_cls):
    """GET/POST /__emulator/sts (see the module's text)."""
    with emu.lock:
        st = state(emu)
        if method == "POST":
            conf = emu._json(body)
            if not isinstance(conf, dict):
                raise api_error_cls(400, "InvalidParameterValueException", "expected a JSON object")
            if "roles" in conf:
                roles = conf["roles"]
                if not isinstance(roles, dict) or any(
                        not ROLE_ARN_RE.match(k) or not isinstance(v, dict)
                        or not isinstance(v.get("trust", []), list) for k, v in roles.items()):
                    raise api_error_cls(400, "InvalidParameterValueException",
                                        "roles: {ROLE_ARN: {trust: [ACCOUNT...], externalId}}")
                st.roles = {k: {"trust": [str(a) for a in v.get("trust", [])],
                                "externalId": v.get("externalId")} for k, v in roles.items()}
            if "duration_seconds" in conf:
                d = conf["duration_seconds"]
                if not isinstance(d, int) or d < 1:
                    raise api_error_cls(400, "InvalidParameterValueException",
                                        "duration_seconds: an integer >= 1")
                st.duration = d
        elif method != "GET":
            raise api_error_cls(404, "UnknownOperationException", "GET or POST /__emulator/sts")
        now = time.time()
        return 200, {
            "roles": st.roles,
            "duration_seconds": st.duration,
            "issued": [dict({k: v for k, v in c.items() if k not in ("token", "expires")},
                            expires_in=round(c["expires"] - now, 3)) for c in st.issued.values()],
            "calls": list(st.calls),
            "writers": {k: sorted(v) for k, v in sorted(st.writers.items())},
        }
