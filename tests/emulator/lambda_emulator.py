#!/usr/bin/python3
"""AWS Lambda control-plane emulator for aliasd's tests and demo.

Speaks the REST-JSON protocol of the Lambda API version 2015-03-31 on a
loopback socket, with SigV4 verification, asynchronous update states, paging,
AWS-shaped errors and injectable faults.  Standard library plus Debian's
python3-botocore only; run it with /usr/bin/python3.

Command line
------------
    lambda_emulator.py [--host 127.0.0.1] [--port 0] [--credentials AKID:SECRET[:ACCOUNT]]
                       [--update-delay SECONDS] [--page-size N] [--latency-ms MS]
                       [--quota] [--throttle-rate P] [--error-rate P] [--reset-rate P]
                       [--lose-rate P] [--seed N] [--no-verify-signatures] [--verbose]
                       [--code-storage-limit [[ACCOUNT/]REGION=]BYTES]

CloudWatch (PutMetricAlarm, DescribeAlarms, SetAlarmState, DeleteAlarms over
the Query protocol) is served on the same port for requests whose SigV4
credential scope names the service ``monitoring``: see cloudwatch_emulator.py.
GET /__emulator/cloudwatch shows its alarms.  Scope ``sts``: sts_emulator.py
(AssumeRole into other accounts, GetCallerIdentity; /__emulator/sts).

Invoke (POST /2015-03-31/functions/NAME/invocations) runs an emulated
function whose behaviour tests set (succeed, fail, hang, error) through
/__emulator/invoke, and logs every invocation (/__emulator/invocations): see
invoke_emulator.py.

The first line on stdout is ``listening on HOST:PORT`` (the real port when
``--port 0``), flushed; nothing else is written to stdout.  Diagnostics go to
stderr (one line per request with ``--verbose``).  SIGTERM or SIGINT stops the
server with exit status 0.

--credentials   May be repeated.  Default: the single pair
                ``AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`` in
                account 123456789012.  An optional third field sets the
                account id of that key (default 123456789012).  Any session
                token (x-amz-security-token) is accepted.
--update-delay  Seconds a new function stays ``State: Pending``, an update
                stays ``LastUpdateStatus: InProgress`` and a new version stays
                ``State: Pending`` (default 0.2).
--page-size     Largest page for ListVersionsByFunction / ListAliases /
                ListFunctions (default 50; AWS never exceeds 50 either).
--latency-ms    Added latency per API request.
--quota         Enforce AWS's control-plane quotas per account+region with
                token buckets (never on Invoke, which is not a control-plane
                call): GetFunction 100 req/s, every other call shares
                15 req/s (burst = one second's worth).  Excess gets 429
                TooManyRequestsException, header Retry-After, body Reason.
--throttle-rate / --error-rate / --reset-rate / --lose-rate
                Probabilities of injecting, per API request: a 429
                TooManyRequestsException; a 500 ServiceException; a
                connection reset (socket closed without a response, before the
                request is applied); a lost response (write operations only:
                the request IS applied, then the connection is closed without
                a response).
--seed          Seeds the fault RNG (four draws per API request, so a
                sequential client sees a reproducible fault sequence).
--code-storage-limit
                May be repeated.  BYTES alone sets the limit of every account
                and region (default 80530636800 = 75 GiB, AWS's default; 0 = no
                limit); REGION=BYTES or ACCOUNT/REGION=BYTES sets one region's
                (the config keys code_storage_limit / code_storage_limits).
--no-verify-signatures
                Accept any (or no) signature.  The region and account still
                come from the Credential scope when one is present
                (default us-east-1 / 123456789012).

Semantics (see /work/shared/LAMBDA-API.md)
------------------------------------------
* Functions are kept per (account, region); FunctionName may be a name, a
  partial ARN or a full ARN, each optionally ``:qualifier``.  An ARN of another
  region gives 404 ("Functions from 'x' are not reachable in this region"),
  of another account 403 AccessDeniedException.
* Every change to a function, version or alias gets a new RevisionId (uuid4),
  including the end of an asynchronous update (as AWS does) and publishing a
  version (which also bumps $LATEST's RevisionId, as AWS does).
* PublishVersion compares CodeSha256 and the versioned configuration of
  $LATEST with the highest-numbered existing version and returns that version
  when they are equal (``Description`` is not compared: a version's
  description is the PublishVersion Description, defaulting to $LATEST's).
  Version numbers are never reused, also after deletions (delete the newest
  version 3 and the next publish is 4).
* DeleteFunction with Qualifier=N deletes version N alone; 409
  ResourceConflictException "Unable to delete version because the following
  aliases reference it: [a, b]" when an alias points at it (primary or
  routing weight); 400 for $LATEST or an alias name; 404 for no such version.
* Code storage (per account+region), as AWS counts it: every function's
  $LATEST package plus every published version's package (CodeSize; image
  and synthetic S3 code count 0).  GetAccountSettings
  (GET /2016-08-19/account-settings/) reports it as AccountUsage.TotalCodeSize
  with FunctionCount, and the limit as AccountLimit.TotalCodeSize (with AWS's
  default CodeSizeUnzipped 262144000, CodeSizeZipped 52428800,
  ConcurrentExecutions and UnreservedConcurrentExecutions 1000).  A
  CreateFunction, UpdateFunctionCode or PublishVersion that would store more
  than the limit gets 400 CodeStorageExceededException "Code storage limit
  exceeded." and changes nothing (with Publish, the new $LATEST and the new
  version are counted together).  Deleting a version or a function frees its
  bytes; an UpdateFunctionCode counts only the growth of $LATEST.
* Zip code: CodeSha256 = base64(SHA-256(zip bytes)), CodeSize = len(zip); the
  bytes must be a zip archive (config ``validate_zip``).
* S3 code: there is no S3.  An object registered with
  ``PUT /__emulator/s3/BUCKET/KEY[?versionId=V]`` is used as the zip (its real
  CodeSha256 and size).  Otherwise, if the bucket has no registered object,
  CodeSha256 = base64(SHA-256(utf-8 "s3://BUCKET/KEY")) or, with
  S3ObjectVersion, of "s3://BUCKET/KEY?versionId=V"; CodeSize = 0.  A missing
  key in a registered bucket gives 400 (S3 NoSuchKey / NoSuchVersion).
* Image code: CodeSha256 = the hex digest after ``@sha256:`` in ImageUri (as
  AWS reports for images), else hex SHA-256 of the ImageUri string;
  ResolvedImageUri = repository@sha256:digest; CodeSize = 0.
* Paging markers are base64 and always contain '+', '/' and '='.  A page holds
  at most min(MaxItems, --page-size, 50) items.
* List outputs (ListFunctions, ListVersionsByFunction) omit State and
  LastUpdateStatus fields, as AWS does.
* Errors: body ``{"__type": CODE, "message": MSG}`` plus ``Type`` (User or
  Service) for modeled Lambda errors and ``Message`` where the model names the
  member that way; header ``X-Amzn-ErrorType: CODE``; every response carries
  ``x-amzn-RequestId`` and Content-Length.  Config ``error_style`` changes the
  shape to exercise clients: "plain" (default), "coral" (header
  ``CODE:http://internal.amazon.com/coral/com.amazonaws.awslambda/`` and body
  ``__type`` ``com.amazonaws.awslambda#CODE``), "body" (no header), "code"
  (no header and no __type; body ``{"code": CODE, "Message": MSG}``).

Admin endpoints (never signed, never faulted, not counted as API requests)
--------------------------------------------------------------------------
GET  /__emulator/health   {"ok": true}
GET  /__emulator/stats    counters: requests_total, requests{op}, responses{op:{status}},
                          errors{code}, applied{op} (writes that took effect),
                          faults{kind} (reset, throttle, error, lose, quota, scripted),
                          faults_by_operation{op:{kind}}, signature_failures,
                          auth_failures{code}, admin_requests, uptime_seconds
POST /__emulator/reset    clears all state (functions, S3 objects, scripted
                          faults, quota buckets), all counters, and reseeds the RNG
GET  /__emulator/config   the runtime configuration
POST /__emulator/config   JSON object with any of: update_delay, page_size,
                          latency_ms, quota (bool), quota_rates
                          {"GetFunction": 100, "other": 15}, throttle_rate,
                          error_rate, reset_rate, lose_rate, seed (reseeds),
                          fault_operations (list of operation names the random
                          faults are limited to; null = all), verify_signatures,
                          validate_zip, code_storage_limit (bytes, default
                          80530636800 = 75 GiB, 0 = no limit), code_storage_limits
                          ({"REGION" or "ACCOUNT/REGION": bytes}; the most specific
                          key wins over code_storage_limit; POST replaces the map),
                          max_clock_skew (seconds, default 300; 0 = off),
                          error_style.  Unknown keys give 400.  Returns the config.
GET  /__emulator/state    dump of every function: account, region, name,
                          $LATEST configuration, versions, aliases, next_version
POST /__emulator/faults   script faults: {"operation": "PublishVersion" or "*",
                          "kind": "reset"|"throttle"|"error"|"lose"|"stale", "count": 1,
                          optional "status", "code", "message" for "error"}.
                          The next `count` matching API requests get the fault
                          (before random faults; a scripted "lose" also drops
                          the answer of a read).  "stale" (UpdateAlias only, the
                          operation must name it): just before that request is
                          handled, the alias it names gets a new RevisionId, its
                          content unchanged, as if another writer had written it
                          since the caller observed it: a request carrying the
                          RevisionId it observed fails with a real 412
                          PreconditionFailedException, and a read afterwards shows
                          the new RevisionId.  GET lists, DELETE clears.
GET  /__emulator/storage  code storage: {"default_limit", "limits", "regions": [{"account",
                          "region", "used", "limit", "functions"}]} for every
                          account+region with functions (or an ACCOUNT/REGION limit)
POST /__emulator/settle   completes every pending state / in-progress update now
PUT  /__emulator/s3/BUCKET/KEY[?versionId=V]
                          registers an S3 object (body = bytes); returns
                          {"Bucket", "Key", "VersionId", "CodeSha256", "Size"}
"""

import argparse
import base64
import binascii
import copy
import datetime
import email.utils
import hashlib
import hmac
import io
import json
import math
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from urllib.parse import parse_qsl, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

import cloudwatch_emulator  # CloudWatch alarms on the same port (routed by SigV4 scope)
import sts_emulator  # STS AssumeRole / GetCallerIdentity on the same port (routed by SigV4 scope)
import invoke_emulator  # Invoke of emulated functions, behaviour set by tests

DEFAULT_ACCESS_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
API_PREFIX = "/2015-03-31"
MAX_REQUEST_BODY = 70167211      # AWS's limit for a CreateFunction request
ACCOUNT_SETTINGS_PATH = "/2016-08-19/account-settings"
DEFAULT_CODE_STORAGE_LIMIT = 75 * 1024 ** 3   # 80530636800 bytes, AWS's default per region
CODE_SIZE_UNZIPPED = 262144000   # AccountLimit defaults as GetAccountSettings reports them
CODE_SIZE_ZIPPED = 52428800
CONCURRENT_EXECUTIONS = 1000

# --------------------------------------------------------------------------
# Regular expressions from the botocore model (service-2.json)
# --------------------------------------------------------------------------
FUNCTION_REF_RE = re.compile(
    r"(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d{1}):)?"
    r"(?:(?P<account>\d{12}):)?"
    r"(?:function:)?"
    r"(?P<name>[a-zA-Z0-9-_\.]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?")
FUNCTION_NAME_RE = re.compile(r"[a-zA-Z0-9-_]{1,64}")
QUALIFIER_RE = re.compile(r"[a-zA-Z0-9$_-]{1,128}")
ALIAS_RE = re.compile(r"(?!^[0-9]+$)([a-zA-Z0-9-_]+)")
VERSION_RE = re.compile(r"\$LATEST|[0-9]+")
ROLE_RE = re.compile(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
RUNTIME_RE = re.compile(r"(nodejs|python|java|dotnet|dotnetcore|go|ruby|provided)[0-9a-z.\-]*")
S3_BUCKET_RE = re.compile(r"^[0-9A-Za-z\.\-_]*(?<!\.)$")
IMAGE_DIGEST_RE = re.compile(r"@sha256:([0-9a-f]{64})$")

# Fields of FunctionConfiguration that a published version snapshots and that
# PublishVersion compares (with CodeSha256) to decide whether anything changed.
VERSIONED_FIELDS = ("Runtime", "Role", "Handler", "Timeout", "MemorySize",
                    "Environment", "VpcConfig", "DeadLetterConfig", "KMSKeyArn",
                    "TracingConfig", "Layers", "FileSystemConfigs", "ImageConfig",
                    "Architectures", "EphemeralStorage", "SnapStart", "PackageType")

# Lambda's modeled errors: the body carries "Type"; these use "Message".
MODELED_ERRORS = {
    "ResourceNotFoundException", "ResourceConflictException",
    "InvalidParameterValueException", "PreconditionFailedException",
    "TooManyRequestsException", "ServiceException", "CodeStorageExceededException",
    "ResourceNotReadyException", "RequestTooLargeException",
    "InvalidRequestContentException",
}
# Invoke's own errors (502 EC2ThrottledException, ...): modeled, with "Message"
INVOKE_ERRORS = {
    "EC2ThrottledException", "EC2UnexpectedException", "EC2AccessDeniedException",
    "ENILimitReachedException", "SubnetIPAddressLimitReachedException",
    "KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException",
    "KMSNotFoundException", "InvalidRuntimeException", "InvalidZipFileException",
    "UnsupportedMediaTypeException",
}
MODELED_ERRORS |= INVOKE_ERRORS
CAPITAL_MESSAGE_ERRORS = {"ResourceNotFoundException", "ServiceException",
                          "ResourceNotReadyException"} | (INVOKE_ERRORS - {"UnsupportedMediaTypeException"})

WRITE_OPERATIONS = {"CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration",
                    "PublishVersion", "CreateAlias", "UpdateAlias", "DeleteAlias",
                    "DeleteFunction"}

IN_PROGRESS_MSG = ("The operation cannot be performed at this time. "
                   "An update is in progress for resource: %s")
PENDING_MSG = ("The operation cannot be performed at this time. "
               "The function is currently in the following state: %s")
REVISION_MSG = ("The Revision Id provided does not match the latest Revision Id. "
                "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")


class ApiError(Exception):
    """An AWS error response: HTTP status, error code, message, extra body fields."""

    def __init__(self, status, code, message, extra=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


def validation_error(value, field, constraint):
    return ApiError(400, "ValidationException",
                    "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                    "constraint: %s" % (value, field, constraint))


def new_revision():
    return str(uuid.uuid4())


def lambda_timestamp(t=None):
    """LastModified format used by Lambda: 2024-01-31T12:34:56.789+0000."""
    t = time.time() if t is None else t
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+0000" % (dt.microsecond // 1000)


def b64sha256(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


# --------------------------------------------------------------------------
# Paging markers: opaque, always containing '+', '/' and '=' so that clients
# have to percent-encode them in the query string (and sign the encoded form).
# --------------------------------------------------------------------------
_MARKER_MAGIC = b"\xfb\xff\xbf"          # base64 "+/+/"


def encode_marker(kind, scope, key):
    raw = _MARKER_MAGIC + json.dumps([kind, scope, key], separators=(",", ":")).encode()
    while len(raw) % 3 != 1:             # length = 1 (mod 3) -> ends with "=="
        raw += b" "
    return base64.b64encode(raw).decode("ascii")


def decode_marker(marker, kind, scope):
    try:
        raw = base64.b64decode(marker.encode("ascii"), validate=True)
        if not raw.startswith(_MARKER_MAGIC):
            raise ValueError("magic")
        mkind, mscope, key = json.loads(raw[len(_MARKER_MAGIC):].decode().rstrip())
        if mkind != kind or mscope != scope:
            raise ValueError("scope")
        return key
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise ApiError(400, "InvalidParameterValueException",
                       "Invalid pagination marker: %s" % marker)


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------
class Version:
    """A published version: an immutable snapshot of $LATEST."""

    def __init__(self, num, cfg, code, description, ready_at):
        self.num = num
        self.cfg = copy.deepcopy(cfg)
        self.code = dict(code)
        self.description = description
        self.revision = new_revision()
        self.last_modified = lambda_timestamp()
        self.state = "Pending"
        self.ready_at = ready_at


class Alias:
    def __init__(self, name, version, description, weights):
        self.name = name
        self.version = version
        self.description = description
        self.weights = weights            # {"3": 0.1}; empty = no routing
        self.revision = new_revision()


class Function:
    def __init__(self, account, region, name, cfg, code, ready_at, tags):
        self.account = account
        self.region = region
        self.name = name
        self.cfg = cfg
        self.code = code
        self.tags = tags
        self.revision = new_revision()
        self.last_modified = lambda_timestamp()
        self.state = "Pending"
        self.state_ready_at = ready_at
        self.update_status = "InProgress"
        self.update_ready_at = ready_at
        self.versions = {}                # int -> Version
        self.next_version = 1
        self.aliases = {}                 # name -> Alias

    @property
    def arn(self):
        return "arn:aws:lambda:%s:%s:function:%s" % (self.region, self.account, self.name)

    def qualified_arn(self, qualifier):
        return "%s:%s" % (self.arn, qualifier)

    def settle(self, now):
        """Advance asynchronous states whose time has come (lazily, under the lock)."""
        changed = False
        if self.state == "Pending" and now >= self.state_ready_at:
            self.state = "Active"
            changed = True
        if self.update_status == "InProgress" and now >= self.update_ready_at:
            self.update_status = "Successful"
            changed = True
        if changed:
            self.revision = new_revision()   # AWS changes RevisionId when an update completes
        for v in self.versions.values():
            if v.state == "Pending" and now >= v.ready_at:
                v.state = "Active"
                v.revision = new_revision()

    def code_bytes(self):
        total = self.code.get("CodeSize", 0)
        for v in self.versions.values():
            total += v.code.get("CodeSize", 0)
        return total


class Ctx:
    """Who is calling: account and region from the verified credential scope."""

    def __init__(self, account, region, access_key):
        self.account = account
        self.region = region
        self.access_key = access_key


class TokenBucket:
    def __init__(self, rate):
        self.rate = float(rate)
        self.tokens = float(rate)
        self.stamp = time.monotonic()

    def take(self, now):
        """Returns 0 when a token was taken, else seconds until one is available."""
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


# --------------------------------------------------------------------------
# The Lambda service (pure state machine; called with the lock held)
# --------------------------------------------------------------------------
class LambdaService:
    def __init__(self, emu):
        self.emu = emu
        self.functions = {}               # (account, region, name) -> Function
        self.s3 = {}                      # bucket -> {key: [(version_id, bytes)]}

    # ---- helpers -----------------------------------------------------------
    @property
    def cfgv(self):
        return self.emu.config

    def _ready_at(self):
        return time.monotonic() + float(self.cfgv["update_delay"])

    def _parse_ref(self, ctx, raw, qualifier=None, allow_qualifier=True):
        """Resolve a FunctionName (name / partial ARN / ARN [:qualifier])."""
        if not raw or len(raw) > 170:
            raise validation_error(raw, "functionName",
                                   "Member must have length less than or equal to 170")
        m = FUNCTION_REF_RE.fullmatch(raw)
        if not m or not FUNCTION_NAME_RE.fullmatch(m.group("name")):
            raise validation_error(
                raw, "functionName", "Member must satisfy regular expression pattern: "
                "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
                "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
        region = m.group("region") or ctx.region
        account = m.group("account") or ctx.account
        arn_qualifier = m.group("qualifier")
        if qualifier is not None and not QUALIFIER_RE.fullmatch(qualifier):
            raise validation_error(qualifier, "qualifier",
                                   "Member must satisfy regular expression pattern: "
                                   "(|[a-zA-Z0-9$_-]+)")
        if arn_qualifier and qualifier and arn_qualifier != qualifier:
            raise ApiError(400, "InvalidParameterValueException",
                           "The derived qualifier from the function name does not match "
                           "the specified qualifier.")
        if region != ctx.region:
            raise ApiError(404, "ResourceNotFoundException",
                           "Functions from '%s' are not reachable in this region ('%s')"
                           % (region, ctx.region))
        if account != ctx.account:
            raise ApiError(403, "AccessDeniedException",
                           "User: arn:aws:iam::%s:user/emulator is not authorized to perform "
                           "this action on resource: arn:aws:lambda:%s:%s:function:%s because "
                           "no resource-based policy allows it"
                           % (ctx.account, region, account, m.group("name")))
        qualifier = qualifier or arn_qualifier
        if qualifier and not allow_qualifier and qualifier != "$LATEST":
            raise ApiError(400, "InvalidParameterValueException",
                           "Unsupported qualifier for this operation: %s" % qualifier)
        if not allow_qualifier:
            qualifier = None
        return account, region, m.group("name"), qualifier

    def _get_fn(self, ctx, raw, qualifier=None, allow_qualifier=True):
        account, region, name, qualifier = self._parse_ref(ctx, raw, qualifier, allow_qualifier)
        fn = self.functions.get((account, region, name))
        if fn is None:
            arn = "arn:aws:lambda:%s:%s:function:%s" % (region, account, name)
            if qualifier:
                arn += ":" + qualifier
            raise ApiError(404, "ResourceNotFoundException", "Function not found: %s" % arn)
        fn.settle(time.monotonic())
        return fn, qualifier

    @staticmethod
    def _fn_not_found(fn, qualifier):
        return ApiError(404, "ResourceNotFoundException",
                        "Function not found: %s" % fn.qualified_arn(qualifier))

    def _resolve_qualifier(self, fn, qualifier):
        """-> (Version or None for $LATEST, arn qualifier or None)."""
        if not qualifier:
            return None, None
        if qualifier == "$LATEST":
            return None, "$LATEST"
        if qualifier.isdigit():
            v = fn.versions.get(int(qualifier))
            if v is None:
                raise self._fn_not_found(fn, qualifier)
            return v, qualifier
        alias = fn.aliases.get(qualifier)
        if alias is None:
            raise self._fn_not_found(fn, qualifier)
        if alias.version == "$LATEST":
            return None, qualifier
        return fn.versions[int(alias.version)], qualifier

    @staticmethod
    def _check_revision(given, current):
        if given is not None and given != current:
            raise ApiError(412, "PreconditionFailedException", REVISION_MSG)

    @staticmethod
    def _check_not_busy(fn):
        if fn.state == "Pending":
            raise ApiError(409, "ResourceConflictException", PENDING_MSG % fn.state)
        if fn.update_status == "InProgress":
            raise ApiError(409, "ResourceConflictException", IN_PROGRESS_MSG % fn.arn)

    @staticmethod
    def _check_description(desc):
        if desc is not None:
            if not isinstance(desc, str):
                raise validation_error(desc, "description", "Member must be a string")
            if len(desc) > 256:
                raise validation_error(desc, "description",
                                       "Member must have length less than or equal to 256")

    def storage_limit(self, account, region):
        """The code storage limit of account+region: code_storage_limits["ACCOUNT/REGION"],
        else code_storage_limits["REGION"], else code_storage_limit (0 = no limit)."""
        limits = self.cfgv["code_storage_limits"]
        for key in ("%s/%s" % (account, region), region):
            if key in limits:
                return limits[key]
        return self.cfgv["code_storage_limit"]

    def storage_used(self, account, region):
        """-> (bytes, function count): every function's $LATEST plus every published
        version's code, as AWS counts AccountUsage.TotalCodeSize."""
        fns = [f for (a, r, _), f in self.functions.items() if a == account and r == region]
        return sum(f.code_bytes() for f in fns), len(fns)

    def _check_storage(self, account, region, extra):
        """Raises CodeStorageExceededException when adding `extra` bytes would pass the limit."""
        limit = self.storage_limit(account, region)
        if not limit or extra <= 0:
            return
        used, _ = self.storage_used(account, region)
        if used + extra > limit:
            raise ApiError(400, "CodeStorageExceededException",
                           "Code storage limit exceeded.")

    # ---- code sources --------------------------------------------------------
    def _code_from_request(self, req, package_type):
        """Builds the code record from ZipFile / S3Bucket+S3Key / ImageUri."""
        has_zip = req.get("ZipFile") is not None
        has_s3 = any(req.get(k) is not None for k in ("S3Bucket", "S3Key", "S3ObjectVersion"))
        has_image = req.get("ImageUri") is not None
        if has_zip + has_s3 + has_image != 1:
            raise ApiError(400, "InvalidParameterValueException",
                           "Please provide a source for function code (exactly one of "
                           "ZipFile, S3Bucket/S3Key or ImageUri).")
        if has_image:
            if package_type != "Image":
                raise ApiError(400, "InvalidParameterValueException",
                               "Please don't provide ImageUri when updating a function "
                               "with packageType Zip.")
            uri = req["ImageUri"]
            if not isinstance(uri, str) or not uri or len(uri) > 1024:
                raise ApiError(400, "InvalidParameterValueException",
                               "Source image %s is not valid." % uri)
            m = IMAGE_DIGEST_RE.search(uri)
            if m:
                digest = m.group(1)
                repo = uri[:m.start()]
            else:
                if "@" in uri:
                    raise ApiError(400, "InvalidParameterValueException",
                                   "Source image %s is not valid." % uri)
                digest = hashlib.sha256(uri.encode()).hexdigest()
                repo = uri
                last = repo.rsplit("/", 1)[-1]
                if ":" in last:
                    repo = repo[:len(repo) - len(last)] + last.split(":", 1)[0]
            return {"kind": "image", "CodeSha256": digest, "CodeSize": 0,
                    "ImageUri": uri, "ResolvedImageUri": "%s@sha256:%s" % (repo, digest)}
        if package_type == "Image":
            raise ApiError(400, "InvalidParameterValueException",
                           "Please provide ImageUri when updating a function with "
                           "packageType Image.")
        if has_zip:
            try:
                data = base64.b64decode(req["ZipFile"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise ApiError(400, "InvalidParameterValueException",
                               "ZipFile is not valid base64.")
            self._validate_zip(data)
            return {"kind": "zip", "CodeSha256": b64sha256(data), "CodeSize": len(data)}
        bucket, key, ver = req.get("S3Bucket"), req.get("S3Key"), req.get("S3ObjectVersion")
        if not bucket or not key:
            raise ApiError(400, "InvalidParameterValueException",
                           "Please provide both S3Bucket and S3Key.")
        if (not isinstance(bucket, str) or not 3 <= len(bucket) <= 63
                or not S3_BUCKET_RE.match(bucket)):
            raise validation_error(bucket, "s3Bucket", "Member must satisfy regular "
                                   "expression pattern: ^[0-9A-Za-z\\.\\-_]*(?<!\\.)$")
        objects = self.s3.get(bucket)
        if objects is not None:       # a "real" bucket: the object must exist
            entries = objects.get(key)
            if not entries:
                raise ApiError(400, "InvalidParameterValueException",
                               "Error occurred while GetObject. S3 Error Code: NoSuchKey. "
                               "S3 Error Message: The specified key does not exist.")
            if ver is None:
                data = entries[-1][1]
            else:
                found = [d for (v, d) in entries if v == ver]
                if not found:
                    raise ApiError(400, "InvalidParameterValueException",
                                   "Error occurred while GetObject. S3 Error Code: "
                                   "NoSuchVersion. S3 Error Message: The specified version "
                                   "does not exist.")
                data = found[0]
            self._validate_zip(data)
            return {"kind": "s3", "CodeSha256": b64sha256(data), "CodeSize": len(data),
                    "S3": [bucket, key, ver]}
        ident = "s3://%s/%s" % (bucket, key) + ("?versionId=%s" % ver if ver else "")
        return {"kind": "s3", "CodeSha256": b64sha256(ident.encode()), "CodeSize": 0,
                "S3": [bucket, key, ver]}

    def _validate_zip(self, data):
        if self.cfgv["validate_zip"] and not zipfile.is_zipfile(io.BytesIO(data)):
            raise ApiError(400, "InvalidParameterValueException",
                           "Could not unzip uploaded file. Please check your file, "
                           "then try to upload again.")

    def put_s3_object(self, bucket, key, data, version_id):
        entries = self.s3.setdefault(bucket, {}).setdefault(key, [])
        if version_id is None:
            version_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        entries[:] = [e for e in entries if e[0] != version_id] + [(version_id, data)]
        return {"Bucket": bucket, "Key": key, "VersionId": version_id,
                "CodeSha256": b64sha256(data), "Size": len(data)}

    # ---- configuration -------------------------------------------------------
    def _apply_config(self, cfg, req, creating):
        """Validates and applies the configuration members of a request to cfg."""
        if "Role" in req or creating:
            role = req.get("Role")
            if not isinstance(role, str) or not ROLE_RE.fullmatch(role):
                raise validation_error(role, "role", "Member must satisfy regular expression "
                                       "pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?"
                                       "[a-zA-Z_0-9+=,.@\\-_/]+")
            cfg["Role"] = role
        if "Runtime" in req:
            rt = req["Runtime"]
            if rt is not None and (not isinstance(rt, str) or not RUNTIME_RE.fullmatch(rt)):
                raise ApiError(400, "InvalidParameterValueException",
                               "Value %s at 'runtime' failed to satisfy constraint: Member "
                               "must satisfy enum value set or be a valid ARN" % rt)
            cfg["Runtime"] = rt
        if "Handler" in req:
            h = req["Handler"]
            if h is not None and (not isinstance(h, str) or len(h) > 128
                                  or not re.fullmatch(r"[^\s]+", h)):
                raise validation_error(h, "handler", "Member must satisfy regular "
                                       "expression pattern: [^\\s]+")
            cfg["Handler"] = h
        if "Description" in req:
            self._check_description(req["Description"])
            cfg["Description"] = req["Description"]
        if "Timeout" in req:
            t = req["Timeout"]
            if not isinstance(t, int) or isinstance(t, bool) or not 1 <= t <= 900:
                raise validation_error(t, "timeout", "Member must have value less than or "
                                       "equal to 900 and greater than or equal to 1")
            cfg["Timeout"] = t
        if "MemorySize" in req:
            ms = req["MemorySize"]
            if not isinstance(ms, int) or isinstance(ms, bool) or not 128 <= ms <= 10240:
                raise validation_error(ms, "memorySize", "Member must have value less than "
                                       "or equal to 10240 and greater than or equal to 128")
            cfg["MemorySize"] = ms
        if "Environment" in req:
            env = req["Environment"] or {}
            variables = env.get("Variables") or {} if isinstance(env, dict) else None
            if not isinstance(variables, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in variables.items()):
                raise ApiError(400, "InvalidParameterValueException",
                               "Environment variables must be a map of strings.")
            if len(json.dumps(variables, separators=(",", ":")).encode()) > 4096:
                raise ApiError(400, "InvalidParameterValueException",
                               "Lambda was unable to configure your environment variables "
                               "because the environment variables you have provided "
                               "exceeded the 4KB limit.")
            cfg["Environment"] = dict(variables)
        if "TracingConfig" in req:
            mode = (req["TracingConfig"] or {}).get("Mode") or "PassThrough"
            if mode not in ("Active", "PassThrough"):
                raise validation_error(mode, "tracingConfig.mode",
                                       "Member must satisfy enum value set: [Active, PassThrough]")
            cfg["TracingConfig"] = {"Mode": mode}
        if "VpcConfig" in req:
            vpc = req["VpcConfig"] or {}
            subnets = list(vpc.get("SubnetIds") or [])
            groups = list(vpc.get("SecurityGroupIds") or [])
            cfg["VpcConfig"] = ({"SubnetIds": subnets, "SecurityGroupIds": groups}
                                if subnets or groups else None)
        if "DeadLetterConfig" in req:
            target = (req["DeadLetterConfig"] or {}).get("TargetArn")
            cfg["DeadLetterConfig"] = {"TargetArn": target} if target else None
        if "KMSKeyArn" in req:
            cfg["KMSKeyArn"] = req["KMSKeyArn"] or None
        if "Layers" in req:
            layers = list(req["Layers"] or [])
            if len(layers) > 5:
                raise ApiError(400, "InvalidParameterValueException",
                               "Cannot reference more than 5 layers.")
            cfg["Layers"] = layers
        if "FileSystemConfigs" in req:
            cfg["FileSystemConfigs"] = list(req["FileSystemConfigs"] or [])
        if "ImageConfig" in req:
            cfg["ImageConfig"] = dict(req["ImageConfig"] or {}) or None
        if "EphemeralStorage" in req:
            size = (req["EphemeralStorage"] or {}).get("Size")
            if not isinstance(size, int) or not 512 <= size <= 10240:
                raise validation_error(size, "ephemeralStorage.size", "Member must have value "
                                       "less than or equal to 10240 and greater than or "
                                       "equal to 512")
            cfg["EphemeralStorage"] = {"Size": size}
        if "SnapStart" in req:
            apply_on = (req["SnapStart"] or {}).get("ApplyOn") or "None"
            if apply_on not in ("PublishedVersions", "None"):
                raise validation_error(apply_on, "snapStart.applyOn", "Member must satisfy "
                                       "enum value set: [PublishedVersions, None]")
            cfg["SnapStart"] = {"ApplyOn": apply_on}
        if "Architectures" in req:
            arch = req["Architectures"]
            if (not isinstance(arch, list) or len(arch) != 1
                    or arch[0] not in ("x86_64", "arm64")):
                raise validation_error(arch, "architectures", "Member must have length 1 and "
                                       "satisfy enum value set: [x86_64, arm64]")
            cfg["Architectures"] = list(arch)

    # ---- output shapes ---------------------------------------------------------
    def config_out(self, fn, version=None, arn_qualifier=None, for_list=False):
        """FunctionConfiguration for $LATEST (version None) or a published version."""
        src = fn if version is None else version
        cfg, code = src.cfg, src.code
        out = {
            "FunctionName": fn.name,
            "FunctionArn": fn.qualified_arn(arn_qualifier) if arn_qualifier else fn.arn,
        }
        if cfg["PackageType"] == "Zip":
            out["Runtime"] = cfg["Runtime"]
            out["Handler"] = cfg["Handler"]
        out.update({
            "Role": cfg["Role"],
            "CodeSize": code["CodeSize"],
            "Description": version.description if version else cfg["Description"],
            "Timeout": cfg["Timeout"],
            "MemorySize": cfg["MemorySize"],
            "LastModified": src.last_modified,
            "CodeSha256": code["CodeSha256"],
            "Version": str(version.num) if version else "$LATEST",
        })
        if cfg["VpcConfig"]:
            out["VpcConfig"] = dict(cfg["VpcConfig"], VpcId="vpc-0123456789abcdef0")
        if cfg["DeadLetterConfig"]:
            out["DeadLetterConfig"] = dict(cfg["DeadLetterConfig"])
        if cfg["Environment"]:
            out["Environment"] = {"Variables": dict(cfg["Environment"])}
        if cfg["KMSKeyArn"]:
            out["KMSKeyArn"] = cfg["KMSKeyArn"]
        out["TracingConfig"] = dict(cfg["TracingConfig"])
        out["RevisionId"] = src.revision
        if cfg["Layers"]:
            out["Layers"] = [{"Arn": a, "CodeSize": 0} for a in cfg["Layers"]]
        if not for_list:
            state = src.state
            out["State"] = state
            if state == "Pending":
                out["StateReason"] = "The function is being created."
                out["StateReasonCode"] = "Creating"
            status = "Successful" if version is not None else fn.update_status
            out["LastUpdateStatus"] = status
            if status == "InProgress":
                out["LastUpdateStatusReason"] = "The function is being created."
                out["LastUpdateStatusReasonCode"] = "Creating"
        if cfg["FileSystemConfigs"]:
            out["FileSystemConfigs"] = list(cfg["FileSystemConfigs"])
        out["PackageType"] = cfg["PackageType"]
        if cfg["ImageConfig"]:
            out["ImageConfigResponse"] = {"ImageConfig": dict(cfg["ImageConfig"])}
        out["Architectures"] = list(cfg["Architectures"])
        out["EphemeralStorage"] = dict(cfg["EphemeralStorage"])
        apply_on = cfg["SnapStart"]["ApplyOn"]
        out["SnapStart"] = {"ApplyOn": apply_on,
                            "OptimizationStatus": "On" if (version is not None and
                                                           apply_on == "PublishedVersions")
                            else "Off"}
        return out

    @staticmethod
    def code_location(fn, version=None):
        code = (version or fn).code
        if code["kind"] == "image":
            return {"RepositoryType": "ECR", "ImageUri": code["ImageUri"],
                    "ResolvedImageUri": code["ResolvedImageUri"]}
        return {"RepositoryType": "S3",
                "Location": "https://awslambda-%s-tasks.s3.%s.amazonaws.com/snapshots/%s/%s-%s"
                            "?X-Amz-Expires=600" % (fn.region, fn.region, fn.account, fn.name,
                                                    hashlib.sha1(code["CodeSha256"].encode())
                                                    .hexdigest()[:12])}

    @staticmethod
    def alias_out(fn, alias):
        out = {"AliasArn": fn.qualified_arn(alias.name), "Name": alias.name,
               "FunctionVersion": alias.version, "Description": alias.description,
               "RevisionId": alias.revision}
        if alias.weights:
            out["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.weights)}
        return out

    def _page_limit(self, query):
        raw = query.get("MaxItems")
        limit = 50
        if raw is not None:
            try:
                limit = int(raw)
            except ValueError:
                raise validation_error(raw, "maxItems", "Member must be an integer")
            if not 1 <= limit <= 10000:
                raise validation_error(raw, "maxItems", "Member must have value less than or "
                                       "equal to 10000 and greater than or equal to 1")
        return max(1, min(limit, int(self.cfgv["page_size"]), 50))

    def _paginate(self, items, keyfunc, query, kind, scope):
        """items sorted; returns (page, next_marker)."""
        limit = self._page_limit(query)
        marker = query.get("Marker")
        if marker:
            after = decode_marker(marker, kind, scope)
            try:
                items = [it for it in items if keyfunc(it) > tuple(after)]
            except TypeError:
                raise ApiError(400, "InvalidParameterValueException",
                               "Invalid pagination marker: %s" % marker)
        page = items[:limit]
        nxt = None
        if len(items) > limit:
            nxt = encode_marker(kind, scope, list(keyfunc(page[-1])))
        return page, nxt

    # ---- operations ------------------------------------------------------------
    def GetFunction(self, ctx, p, q, body):
        fn, qualifier = self._get_fn(ctx, p["FunctionName"], q.get("Qualifier"))
        version, arn_q = self._resolve_qualifier(fn, qualifier)
        out = {"Configuration": self.config_out(fn, version, arn_q),
               "Code": self.code_location(fn, version)}
        if fn.tags:
            out["Tags"] = dict(fn.tags)
        return 200, out

    def GetFunctionConfiguration(self, ctx, p, q, body):
        fn, qualifier = self._get_fn(ctx, p["FunctionName"], q.get("Qualifier"))
        version, arn_q = self._resolve_qualifier(fn, qualifier)
        return 200, self.config_out(fn, version, arn_q)

    def CreateFunction(self, ctx, p, q, req):
        raw = req.get("FunctionName")
        if not isinstance(raw, str):
            raise validation_error(raw, "functionName", "Member must not be null")
        account, region, name, qualifier = self._parse_ref(ctx, raw)
        if qualifier:
            raise ApiError(400, "InvalidParameterValueException",
                           "Unsupported qualifier for CreateFunction: %s" % qualifier)
        if "Code" not in req or not isinstance(req["Code"], dict):
            raise validation_error(None, "code", "Member must not be null")
        package_type = req.get("PackageType") or "Zip"
        if package_type not in ("Zip", "Image"):
            raise validation_error(package_type, "packageType",
                                   "Member must satisfy enum value set: [Zip, Image]")
        if (account, region, name) in self.functions:
            raise ApiError(409, "ResourceConflictException",
                           "Function already exist: %s" % name)
        cfg = {"Runtime": None, "Role": None, "Handler": None, "Description": "",
               "Timeout": 3, "MemorySize": 128, "Environment": {}, "VpcConfig": None,
               "DeadLetterConfig": None, "KMSKeyArn": None,
               "TracingConfig": {"Mode": "PassThrough"}, "Layers": [],
               "FileSystemConfigs": [], "ImageConfig": None, "Architectures": ["x86_64"],
               "EphemeralStorage": {"Size": 512}, "SnapStart": {"ApplyOn": "None"},
               "PackageType": package_type}
        self._apply_config(cfg, req, creating=True)
        if package_type == "Zip" and (not cfg["Runtime"] or not cfg["Handler"]):
            raise ApiError(400, "InvalidParameterValueException",
                           "Runtime and Handler are mandatory parameters for functions "
                           "created with deployment packages.")
        code = self._code_from_request(req["Code"], package_type)
        # With Publish, $LATEST and version 1 both store the package: all or nothing.
        self._check_storage(account, region, code["CodeSize"] * (2 if req.get("Publish") else 1))
        tags = req.get("Tags") or {}
        fn = Function(account, region, name, cfg, code, self._ready_at(), dict(tags))
        self.functions[(account, region, name)] = fn
        if req.get("Publish"):
            v = self._publish(fn, None)
            out = self.config_out(fn, v, str(v.num))
            out["State"], out["StateReason"], out["StateReasonCode"] = (
                "Pending", "The function is being created.", "Creating")
            out.pop("LastUpdateStatus", None)
            return 201, out
        out = self.config_out(fn)
        # The CreateFunction response carries no LastUpdateStatus (like AWS).
        for k in ("LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
            out.pop(k, None)
        return 201, out

    def _begin_update(self, fn):
        fn.update_status = "InProgress"
        fn.update_ready_at = self._ready_at()
        fn.revision = new_revision()
        fn.last_modified = lambda_timestamp()

    def UpdateFunctionCode(self, ctx, p, q, req):
        fn, _ = self._get_fn(ctx, p["FunctionName"], allow_qualifier=False)
        self._check_not_busy(fn)
        self._check_revision(req.get("RevisionId"), fn.revision)
        code = self._code_from_request(req, fn.cfg["PackageType"])
        new_cfg = fn.cfg
        if "Architectures" in req and req["Architectures"] is not None:
            new_cfg = copy.deepcopy(fn.cfg)
            self._apply_config(new_cfg, {"Architectures": req["Architectures"]}, False)
        if req.get("DryRun"):
            out = self.config_out(fn)
            out["CodeSha256"], out["CodeSize"] = code["CodeSha256"], code["CodeSize"]
            return 200, out
        extra = code["CodeSize"] - fn.code["CodeSize"]
        if req.get("Publish"):      # checked before the update: a refused publish changes nothing
            last = self._latest_version(fn)
            if last is None or not self._same_as_code(code, new_cfg, last):
                extra += code["CodeSize"]
        self._check_storage(fn.account, fn.region, extra)
        fn.code = code
        fn.cfg = new_cfg
        self._begin_update(fn)
        if req.get("Publish"):
            v = self._publish(fn, None)
            return 200, self.config_out(fn, v, str(v.num))
        return 200, self.config_out(fn)

    def UpdateFunctionConfiguration(self, ctx, p, q, req):
        fn, _ = self._get_fn(ctx, p["FunctionName"], allow_qualifier=False)
        self._check_not_busy(fn)
        self._check_revision(req.get("RevisionId"), fn.revision)
        cfg = copy.deepcopy(fn.cfg)
        self._apply_config(cfg, req, creating=False)
        if cfg["PackageType"] == "Zip" and (not cfg["Runtime"] or not cfg["Handler"]):
            raise ApiError(400, "InvalidParameterValueException",
                           "Runtime and Handler are mandatory parameters for functions "
                           "created with deployment packages.")
        fn.cfg = cfg
        self._begin_update(fn)
        return 200, self.config_out(fn)

    def _latest_version(self, fn):
        return fn.versions[max(fn.versions)] if fn.versions else None

    @staticmethod
    def _same_as_code(code, cfg, version):
        return (version.code["CodeSha256"] == code["CodeSha256"]
                and all(version.cfg[k] == cfg[k] for k in VERSIONED_FIELDS))

    def _same_as(self, fn, version):
        return self._same_as_code(fn.code, fn.cfg, version)

    def _publish(self, fn, description):
        """Publishes $LATEST unless the latest version already has its code+config."""
        last = self._latest_version(fn)
        if last is not None and self._same_as(fn, last):
            return last
        self._check_storage(fn.account, fn.region, fn.code["CodeSize"])
        ready_at = max(self._ready_at(), fn.update_ready_at, fn.state_ready_at)
        v = Version(fn.next_version, fn.cfg, fn.code,
                    fn.cfg["Description"] if description is None else description, ready_at)
        fn.versions[v.num] = v
        fn.next_version += 1
        fn.revision = new_revision()      # publishing bumps $LATEST's RevisionId too
        return v

    def PublishVersion(self, ctx, p, q, req):
        fn, _ = self._get_fn(ctx, p["FunctionName"], allow_qualifier=False)
        self._check_description(req.get("Description"))
        self._check_not_busy(fn)
        self._check_revision(req.get("RevisionId"), fn.revision)
        sha = req.get("CodeSha256")
        if sha is not None and sha != fn.code["CodeSha256"]:
            raise ApiError(400, "InvalidParameterValueException",
                           "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST "
                           "(%s). Please try again with the CodeSHA256 in $LATEST."
                           % (sha, fn.code["CodeSha256"]))
        v = self._publish(fn, req.get("Description"))
        return 201, self.config_out(fn, v, str(v.num))

    def ListVersionsByFunction(self, ctx, p, q, body):
        fn, _ = self._get_fn(ctx, p["FunctionName"], allow_qualifier=False)
        items = [(-1, None)] + [(n, fn.versions[n]) for n in sorted(fn.versions)]
        page, nxt = self._paginate(items, lambda it: (it[0],), q, "versions", fn.arn)
        out = {"Versions": [self.config_out(fn, v, str(v.num) if v else "$LATEST", True)
                            for _, v in page]}
        if nxt:
            out["NextMarker"] = nxt
        return 200, out

    def ListFunctions(self, ctx, p, q, body):
        fv = q.get("FunctionVersion")
        if fv is not None and fv != "ALL":
            raise validation_error(fv, "functionVersion",
                                   "Member must satisfy enum value set: [ALL]")
        if q.get("MasterRegion") is not None and fv != "ALL":
            raise ApiError(400, "InvalidParameterValueException",
                           "MasterRegion requires FunctionVersion=ALL.")
        fns = sorted((f for (a, r, _), f in self.functions.items()
                      if a == ctx.account and r == ctx.region), key=lambda f: f.name)
        now = time.monotonic()
        items = []
        for f in fns:
            f.settle(now)
            items.append((f.name, -1, f, None))
            if fv == "ALL":
                items.extend((f.name, n, f, f.versions[n]) for n in sorted(f.versions))
        page, nxt = self._paginate(items, lambda it: (it[0], it[1]), q,
                                   "functions" + (fv or ""), "%s/%s" % (ctx.account, ctx.region))
        out = {"Functions": [
            self.config_out(f, v, (str(v.num) if v else "$LATEST") if fv == "ALL" else None,
                            True) for _, _, f, v in page]}
        if nxt:
            out["NextMarker"] = nxt
        return 200, out

    def GetAccountSettings(self, ctx, p, q, body):
        used, count = self.storage_used(ctx.account, ctx.region)
        return 200, {
            "AccountLimit": {
                "TotalCodeSize": self.storage_limit(ctx.account, ctx.region),
                "CodeSizeUnzipped": CODE_SIZE_UNZIPPED,
                "CodeSizeZipped": CODE_SIZE_ZIPPED,
                "ConcurrentExecutions": CONCURRENT_EXECUTIONS,
                "UnreservedConcurrentExecutions": CONCURRENT_EXECUTIONS,
            },
            "AccountUsage": {"TotalCodeSize": used, "FunctionCount": count},
        }

    # ---- aliases ---------------------------------------------------------------
    @staticmethod
    def _check_alias_name(name):
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise validation_error(name, "name", "Member must have length less than or equal "
                                   "to 128 and greater than or equal to 1")
        if not ALIAS_RE.fullmatch(name):
            raise validation_error(name, "name", "Member must satisfy regular expression "
                                   "pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")

    def _check_version_ref(self, fn, version):
        if not isinstance(version, str) or not VERSION_RE.fullmatch(version) or len(version) > 1024:
            raise validation_error(version, "functionVersion", "Member must satisfy regular "
                                   "expression pattern: (\\$LATEST|[0-9]+)")
        if version != "$LATEST" and int(version) not in fn.versions:
            raise self._fn_not_found(fn, version)

    def _routing(self, fn, primary, routing):
        """Validates RoutingConfig against the primary version; returns weights."""
        if routing is None:
            return {}
        if not isinstance(routing, dict):
            raise validation_error(routing, "routingConfig", "Member must be a structure")
        weights = routing.get("AdditionalVersionWeights") or {}
        if not isinstance(weights, dict):
            raise validation_error(weights, "routingConfig.additionalVersionWeights",
                                   "Member must be a map")
        if len(weights) > 1:
            raise ApiError(400, "InvalidParameterValueException",
                           "Number of items in AdditionalVersionWeights cannot be greater than 1")
        out = {}
        for key, weight in weights.items():
            if (not isinstance(key, str) or not re.fullmatch(r"[0-9]+", key)
                    or len(key) > 1024):
                raise validation_error("{%s=%s}" % (key, weight),
                                       "routingConfig.additionalVersionWeights",
                                       "Map keys must satisfy constraint: [Member must satisfy "
                                       "regular expression pattern: [0-9]+]")
            if (isinstance(weight, bool) or not isinstance(weight, (int, float))
                    or not 0.0 <= weight <= 1.0 or math.isnan(weight)):
                raise validation_error("{%s=%s}" % (key, weight),
                                       "routingConfig.additionalVersionWeights",
                                       "Map value must satisfy constraint: [Member must have "
                                       "value less than or equal to 1.0, Member must have value "
                                       "greater than or equal to 0.0]")
            if key == primary:
                raise ApiError(400, "InvalidParameterValueException",
                               "Invalid function version %s. Function version %s is already "
                               "included in routing configuration." % (key, key))
            if primary == "$LATEST":
                raise ApiError(400, "InvalidParameterValueException",
                               "$LATEST is not supported for an alias pointing to more than "
                               "1 version")
            extra = fn.versions.get(int(key))
            if extra is None:
                raise self._fn_not_found(fn, key)
            if extra.cfg["Role"] != fn.versions[int(primary)].cfg["Role"]:
                raise ApiError(400, "InvalidParameterValueException",
                               "The function versions in an alias's routing configuration must "
                               "have the same execution role.")
            out[key] = float(weight)
        return out

    def CreateAlias(self, ctx, p, q, req):
        fn, _ = self._get_fn(ctx, p["FunctionName"], allow_qualifier=False)
        name = req.get("Name")
        self._check_alias_name(name)
        self._check_description(req.get("Description"))
        version = req.get("FunctionVersion")
        self._check_version_ref(fn, version)
        if name in fn.aliases:
            raise ApiError(409, "ResourceConflictException",
                           "Alias already exists: %s" % fn.qualified_arn(name))
        weights = self._routing(fn, version, req.get("RoutingConfig"))
        alias = Alias(name, version, req.get("Description") or "", weights)
        fn.aliases[name] = alias
        return 201, self.alias_out(fn, alias)

    def _get_alias(self, ctx, p):
        fn, _ = self._get_fn(ctx, p["FunctionName"], allow_qualifier=False)
        self._check_alias_name(p["Name"])
        alias = fn.aliases.get(p["Name"])
        if alias is None:
            raise ApiError(404, "ResourceNotFoundException",
                           "Cannot find alias arn: %s" % fn.qualified_arn(p["Name"]))
        return fn, alias

    def GetAlias(self, ctx, p, q, body):
        fn, alias = self._get_alias(ctx, p)
        return 200, self.alias_out(fn, alias)

    def make_stale(self, ctx, p):
        """The scripted "stale" fault: another writer's no-op write to the alias."""
        try:
            _, alias = self._get_alias(ctx, p)
        except ApiError:
            return  # the request itself will say what is missing
        alias.revision = new_revision()

    def UpdateAlias(self, ctx, p, q, req):
        fn, alias = self._get_alias(ctx, p)
        self._check_revision(req.get("RevisionId"), alias.revision)
        self._check_description(req.get("Description"))
        version = req.get("FunctionVersion")
        if version is not None:
            self._check_version_ref(fn, version)
        else:
            version = alias.version
        if "RoutingConfig" in req and req["RoutingConfig"] is not None:
            weights = self._routing(fn, version, req["RoutingConfig"])
        else:   # RoutingConfig omitted: keep the current weights (re-validated)
            weights = self._routing(fn, version, {"AdditionalVersionWeights": alias.weights})
        alias.version = version
        alias.weights = weights
        if req.get("Description") is not None:
            alias.description = req["Description"]
        alias.revision = new_revision()
        return 200, self.alias_out(fn, alias)

    def DeleteAlias(self, ctx, p, q, body):
        fn, alias = self._get_alias(ctx, p)
        del fn.aliases[alias.name]
        return 204, None

    def ListAliases(self, ctx, p, q, body):
        fn, _ = self._get_fn(ctx, p["FunctionName"], allow_qualifier=False)
        fv = q.get("FunctionVersion")
        if fv is not None and (not VERSION_RE.fullmatch(fv)):
            raise validation_error(fv, "functionVersion", "Member must satisfy regular "
                                   "expression pattern: (\\$LATEST|[0-9]+)")
        aliases = sorted((a for a in fn.aliases.values() if fv is None or a.version == fv),
                         key=lambda a: a.name)
        page, nxt = self._paginate(aliases, lambda a: (a.name,), q,
                                   "aliases" + (fv or ""), fn.arn)
        out = {"Aliases": [self.alias_out(fn, a) for a in page]}
        if nxt:
            out["NextMarker"] = nxt
        return 200, out

    def DeleteFunction(self, ctx, p, q, body):
        fn, qualifier = self._get_fn(ctx, p["FunctionName"], q.get("Qualifier"))
        if not qualifier:
            del self.functions[(fn.account, fn.region, fn.name)]
            return 204, None
        if qualifier == "$LATEST":
            raise ApiError(400, "InvalidParameterValueException",
                           "$LATEST version cannot be deleted without deleting the function.")
        if not qualifier.isdigit():
            raise ApiError(400, "InvalidParameterValueException",
                           "Deletion of aliases is not supported.")
        num = int(qualifier)
        if num not in fn.versions:
            raise self._fn_not_found(fn, qualifier)
        users = sorted(a.name for a in fn.aliases.values()
                       if a.version == qualifier or qualifier in a.weights)
        if users:
            raise ApiError(409, "ResourceConflictException",
                           "Unable to delete version because the following aliases "
                           "reference it: [%s]" % ", ".join(users))
        del fn.versions[num]
        return 204, None

    # ---- admin views -------------------------------------------------------------
    def dump(self):
        now = time.monotonic()
        out = []
        for key in sorted(self.functions):
            fn = self.functions[key]
            fn.settle(now)
            out.append({
                "account": fn.account, "region": fn.region, "name": fn.name,
                "latest": self.config_out(fn),
                "code": {k: v for k, v in fn.code.items()},
                "versions": [self.config_out(fn, fn.versions[n], str(n))
                             for n in sorted(fn.versions)],
                "aliases": [self.alias_out(fn, fn.aliases[a]) for a in sorted(fn.aliases)],
                "next_version": fn.next_version,
                "tags": dict(fn.tags),
            })
        return {"functions": out}

    def storage(self):
        """Code storage per account+region that has functions or a configured limit."""
        keys = {(a, r) for (a, r, _) in self.functions}
        for key in self.cfgv["code_storage_limits"]:
            if "/" in key:
                keys.add(tuple(key.split("/", 1)))
        out = []
        for account, region in sorted(keys):
            used, count = self.storage_used(account, region)
            out.append({"account": account, "region": region, "used": used,
                        "limit": self.storage_limit(account, region), "functions": count})
        return {"default_limit": self.cfgv["code_storage_limit"],
                "limits": dict(self.cfgv["code_storage_limits"]), "regions": out}

    def settle_all(self):
        for fn in self.functions.values():
            fn.state_ready_at = fn.update_ready_at = 0.0
            for v in fn.versions.values():
                v.ready_at = 0.0
            fn.settle(time.monotonic())


# --------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------
def route(method, path):
    """(method, raw path without query) -> (operation, path params) or (None, None)."""
    if path in (ACCOUNT_SETTINGS_PATH, ACCOUNT_SETTINGS_PATH + "/"):
        return ("GetAccountSettings", {}) if method == "GET" else (None, None)
    if not path.startswith(API_PREFIX + "/"):
        return None, None
    segs = path[len(API_PREFIX) + 1:].split("/")
    if segs and segs[-1] == "" and len(segs) > 1:
        segs = segs[:-1]
    segs = [unquote(s) for s in segs]
    if not segs or segs[0] != "functions":
        return None, None
    n = len(segs)
    if n == 1:
        return {"GET": "ListFunctions", "POST": "CreateFunction"}.get(method), {}
    p = {"FunctionName": segs[1]}
    if n == 2:
        op = {"GET": "GetFunction", "DELETE": "DeleteFunction"}.get(method)
    elif n == 3:
        op = {("GET", "configuration"): "GetFunctionConfiguration",
              ("PUT", "configuration"): "UpdateFunctionConfiguration",
              ("PUT", "code"): "UpdateFunctionCode",
              ("POST", "versions"): "PublishVersion",
              ("GET", "versions"): "ListVersionsByFunction",
              ("POST", "aliases"): "CreateAlias",
              ("POST", "invocations"): "Invoke",
              ("GET", "aliases"): "ListAliases"}.get((method, segs[2]))
    elif n == 4 and segs[2] == "aliases":
        op = {"GET": "GetAlias", "PUT": "UpdateAlias", "DELETE": "DeleteAlias"}.get(method)
        p["Name"] = segs[3]
    else:
        op = None
    return (op, p) if op else (None, None)


# --------------------------------------------------------------------------
# SigV4 verification with botocore's own signer
# --------------------------------------------------------------------------
class _VerifyingSigV4(SigV4Auth):
    """SigV4Auth whose headers-to-sign are exactly the ones the client signed."""

    def __init__(self, credentials, region, signed_pairs, service="lambda"):
        super().__init__(credentials, service, region)
        self._signed_pairs = signed_pairs

    def headers_to_sign(self, request):
        headers = HTTPHeaders()
        for name, value in self._signed_pairs:
            headers[name] = value
        return headers


def _auth_error(code, message):
    return ApiError(403, code, message)


class Emulator:
    """Configuration, counters, faults, quota, signature checks and the service."""

    CONFIG_KEYS = {"update_delay", "page_size", "latency_ms", "quota", "quota_rates",
                   "throttle_rate", "error_rate", "reset_rate", "lose_rate", "seed",
                   "fault_operations", "verify_signatures", "validate_zip",
                   "code_storage_limit", "code_storage_limits", "max_clock_skew",
                   "error_style"}

    def __init__(self, args, credentials):
        self.lock = threading.Lock()
        self.credentials = credentials    # akid -> (secret, account)
        self.verbose = args.verbose
        self.config = {
            "update_delay": args.update_delay,
            "page_size": args.page_size,
            "latency_ms": args.latency_ms,
            "quota": args.quota,
            "quota_rates": {"GetFunction": 100.0, "other": 15.0},
            "throttle_rate": args.throttle_rate,
            "error_rate": args.error_rate,
            "reset_rate": args.reset_rate,
            "lose_rate": args.lose_rate,
            "seed": args.seed,
            "fault_operations": None,
            "verify_signatures": not args.no_verify_signatures,
            "validate_zip": True,
            "code_storage_limit": getattr(args, "code_storage_limit", DEFAULT_CODE_STORAGE_LIMIT),
            "code_storage_limits": dict(getattr(args, "code_storage_limits", {})),
            "max_clock_skew": 300,
            "error_style": "plain",
        }
        self.started = time.monotonic()
        self.stopping = threading.Event()   # set when the server stops: hanging Invokes end
        self._clear()

    def _clear(self):
        self.service = LambdaService(self)
        self.cloudwatch = cloudwatch_emulator.CloudWatchService()  # CloudWatch: cloudwatch_emulator.py
        if getattr(self, "invoke", None):
            self.invoke.release()  # hanging Invokes of the old state end
        self.invoke = invoke_emulator.InvokeService()  # Invoke: invoke_emulator.py
        self.rng = random.Random(self.config["seed"])
        self.buckets = {}
        self.scripted = []
        self.stats = {"requests_total": 0, "requests": {}, "responses": {}, "errors": {},
                      "applied": {}, "faults": {}, "faults_by_operation": {},
                      "signature_failures": 0, "auth_failures": {}, "admin_requests": 0}

    # ---- counters (lock held) -----------------------------------------------------
    @staticmethod
    def _bump(d, key, n=1):
        d[key] = d.get(key, 0) + n

    def count_fault(self, op, kind):
        with self.lock:
            self._bump(self.stats["faults"], kind)
            self._bump(self.stats["faults_by_operation"].setdefault(op, {}), kind)

    def count_response(self, op, status, code=None):
        with self.lock:
            self._bump(self.stats["responses"].setdefault(op, {}), str(status))
            if code:
                self._bump(self.stats["errors"], code)

    # ---- admin -----------------------------------------------------------------------
    def snapshot_stats(self):
        with self.lock:
            out = copy.deepcopy(self.stats)
            out["uptime_seconds"] = round(time.monotonic() - self.started, 3)
            return out

    def set_config(self, changes):
        if not isinstance(changes, dict):
            raise ApiError(400, "InvalidParameterValueException", "config must be an object")
        unknown = set(changes) - self.CONFIG_KEYS
        if unknown:
            raise ApiError(400, "InvalidParameterValueException",
                           "unknown config keys: %s" % ", ".join(sorted(unknown)))
        with self.lock:
            new = dict(self.config)
            for k, v in changes.items():
                if k in ("throttle_rate", "error_rate", "reset_rate", "lose_rate"):
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                        raise ApiError(400, "InvalidParameterValueException",
                                       "%s must be a probability" % k)
                    v = float(v)
                elif k in ("update_delay", "latency_ms", "max_clock_skew"):
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                        raise ApiError(400, "InvalidParameterValueException",
                                       "%s must be a non-negative number" % k)
                elif k == "code_storage_limit":
                    v = storage_limit_value(v, k)
                elif k == "code_storage_limits":
                    v = parse_storage_limits(v)
                elif k == "page_size":
                    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                        raise ApiError(400, "InvalidParameterValueException",
                                       "page_size must be a positive integer")
                elif k in ("quota", "verify_signatures", "validate_zip"):
                    if not isinstance(v, bool):
                        raise ApiError(400, "InvalidParameterValueException",
                                       "%s must be a boolean" % k)
                elif k == "quota_rates":
                    if not isinstance(v, dict) or not all(
                            kk in ("GetFunction", "other") and isinstance(vv, (int, float))
                            and vv > 0 for kk, vv in v.items()):
                        raise ApiError(400, "InvalidParameterValueException",
                                       "quota_rates must map GetFunction/other to rates > 0")
                    v = dict(new["quota_rates"], **{kk: float(vv) for kk, vv in v.items()})
                    self.buckets = {}
                elif k == "fault_operations":
                    if v is not None and (not isinstance(v, list)
                                          or not all(isinstance(x, str) for x in v)):
                        raise ApiError(400, "InvalidParameterValueException",
                                       "fault_operations must be a list of operation names")
                elif k == "error_style":
                    if v not in ("plain", "coral", "body", "code"):
                        raise ApiError(400, "InvalidParameterValueException",
                                       "error_style must be plain, coral, body or code")
                elif k == "seed":
                    if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                        raise ApiError(400, "InvalidParameterValueException",
                                       "seed must be an integer or null")
                    self.rng = random.Random(v)
                new[k] = v
            self.config = new
            return dict(new)

    def add_scripted(self, spec):
        if not isinstance(spec, dict):
            raise ApiError(400, "InvalidParameterValueException", "fault must be an object")
        kind = spec.get("kind")
        if kind not in ("reset", "throttle", "error", "lose", "stale"):
            raise ApiError(400, "InvalidParameterValueException",
                           "kind must be reset, throttle, error, lose or stale")
        if kind == "stale" and spec.get("operation") != "UpdateAlias":
            raise ApiError(400, "InvalidParameterValueException",
                           "a stale fault needs operation UpdateAlias")
        count = spec.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ApiError(400, "InvalidParameterValueException", "count must be >= 1")
        entry = {"operation": spec.get("operation", "*"), "kind": kind, "count": count}
        if kind == "error":
            entry["status"] = int(spec.get("status", 500))
            entry["code"] = spec.get("code", "ServiceException")
            entry["message"] = spec.get("message", "Injected error")
        with self.lock:
            self.scripted.append(entry)
            return list(self.scripted)

    # ---- faults ------------------------------------------------------------------------
    def draw_faults(self, op):
        """Decides this request's fault (lock taken).  -> dict or None."""
        with self.lock:
            for entry in self.scripted:
                if entry["operation"] in ("*", op):
                    entry["count"] -= 1
                    if entry["count"] <= 0:
                        self.scripted.remove(entry)
                    return dict(entry, scripted=True)
            c = self.config
            # Always four draws so each kind's sequence does not depend on the others.
            r_reset, r_throttle, r_error, r_lose = (self.rng.random() for _ in range(4))
            ops = c["fault_operations"]
            if ops is not None and op not in ops:
                return None
            if r_reset < c["reset_rate"]:
                return {"kind": "reset"}
            if r_throttle < c["throttle_rate"]:
                return {"kind": "throttle"}
            if r_error < c["error_rate"]:
                return {"kind": "error", "status": 500, "code": "ServiceException",
                        "message": "An internal error occurred (injected)."}
            if op in WRITE_OPERATIONS and r_lose < c["lose_rate"]:
                return {"kind": "lose"}
            return None

    def check_quota(self, ctx, op):
        with self.lock:
            if not self.config["quota"] or op == "Invoke":
                return  # Invoke is not a control-plane call (its limit is concurrency)
            cls = "GetFunction" if op == "GetFunction" else "other"
            key = (ctx.account, ctx.region, cls)
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(self.config["quota_rates"][cls])
            wait = bucket.take(time.monotonic())
        if wait > 0:
            self.count_fault(op, "quota")
            raise ApiError(429, "TooManyRequestsException", "Rate exceeded",
                           extra={"Reason": "CallerRateLimitExceeded"},
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})

    # ---- signatures -----------------------------------------------------------------
    def authenticate(self, method, path, query_pairs, headers, body, expected_service="lambda"):
        """Verifies SigV4 and returns the caller's Ctx; raises ApiError(403)."""
        auth = headers.get("Authorization")
        verify = self.config["verify_signatures"]
        fields = {}
        if auth:
            algo, _, rest = auth.strip().partition(" ")
            for part in rest.split(","):
                k, _, v = part.strip().partition("=")
                if k:
                    fields[k] = v.strip()
            if verify and algo != "AWS4-HMAC-SHA256":
                raise _auth_error("IncompleteSignatureException",
                                  "Unsupported AWS 'algorithm': '%s'" % algo)
        scope = fields.get("Credential", "").split("/")
        if not verify:
            akid = scope[0] if scope and scope[0] else DEFAULT_ACCESS_KEY
            region = scope[2] if len(scope) == 5 else DEFAULT_REGION
            account = self.credentials.get(akid, (None, DEFAULT_ACCOUNT))[1]
            return Ctx(account, region, akid)
        if not auth:
            raise _auth_error("MissingAuthenticationTokenException", "Missing Authentication Token")
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
        if missing:
            raise _auth_error("IncompleteSignatureException",
                              "Authorization header requires '%s' parameter." % missing[0])
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise _auth_error("IncompleteSignatureException",
                              "Credential should be scoped to a valid region.")
        akid, date, region, service = scope[:4]
        if akid not in self.credentials:
            raise _auth_error("UnrecognizedClientException",
                              "The security token included in the request is invalid.")
        sts_emulator.check_session(self, akid, headers, ApiError)  # issued by AssumeRole
        if service != expected_service:
            raise _auth_error("InvalidSignatureException",
                              "Credential should be scoped to correct service: '%s'. " % expected_service)
        amz_date = headers.get("X-Amz-Date")
        if amz_date is None and headers.get("Date"):
            try:
                parsed = email.utils.parsedate_to_datetime(headers["Date"])
                amz_date = parsed.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            except (TypeError, ValueError):
                amz_date = None
        try:
            ts = datetime.datetime.strptime(amz_date or "", "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            raise _auth_error("IncompleteSignatureException",
                              "Authorization header requires existence of either a "
                              "'X-Amz-Date' or a 'Date' header.")
        if date != amz_date[:8]:
            raise _auth_error("InvalidSignatureException",
                              "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                              "version of date from HTTP: '%s' != '%s'" % (date, amz_date[:8]))
        skew = self.config["max_clock_skew"]
        now = datetime.datetime.now(datetime.timezone.utc)
        if skew and abs((now - ts).total_seconds()) > skew:
            raise _auth_error("InvalidSignatureException",
                              "Signature expired: %s is now earlier than %s" % (
                                  amz_date, (now - datetime.timedelta(seconds=skew))
                                  .strftime("%Y%m%dT%H%M%SZ")))
        signed = [h for h in fields["SignedHeaders"].lower().split(";") if h]
        if "host" not in signed:
            raise _auth_error("InvalidSignatureException",
                              "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                              "Authorization.")
        pairs = []
        for name in signed:
            for value in headers.get_all(name) or []:
                pairs.append((name, value))
        content_sha = headers.get("X-Amz-Content-SHA256")
        if (content_sha and "x-amz-content-sha256" in signed and content_sha != "UNSIGNED-PAYLOAD"
                and content_sha != hashlib.sha256(body).hexdigest()):
            raise _auth_error("InvalidSignatureException",
                              "The provided 'x-amz-content-sha256' header does not match what "
                              "was computed.")
        secret, account = self.credentials[akid]
        request = AWSRequest(method=method, url="http://emulator" + path, data=body,
                             params=query_pairs)
        for name, value in pairs:
            request.headers[name] = value
        request.context["timestamp"] = amz_date
        signer = _VerifyingSigV4(Credentials(akid, secret), region, pairs, expected_service)
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = signer.signature(string_to_sign, request)
        if not hmac.compare_digest(expected, fields["Signature"]):
            with self.lock:
                self.stats["signature_failures"] += 1
            if self.verbose:
                sys.stderr.write("signature mismatch; canonical request:\n%s\n" % canonical)
            raise _auth_error("InvalidSignatureException",
                              "The request signature we calculated does not match the "
                              "signature you provided. Check your AWS Secret Access Key and "
                              "signing method. Consult the service documentation for details.")
        return Ctx(account, region, akid)

    # ---- one API request --------------------------------------------------------------
    def handle_api(self, method, path, query, headers, body):
        """Returns ("respond", status, headers, body_bytes) or ("close",)."""
        op, params = route(method, path)
        opname = op or "Unknown"
        with self.lock:
            self.stats["requests_total"] += 1
            self._bump(self.stats["requests"], opname)
            latency = self.config["latency_ms"]
        if latency:
            time.sleep(latency / 1000.0)
        fault = self.draw_faults(opname)
        if fault and fault["kind"] == "reset":
            self.count_fault(opname, "reset")
            return ("close",)
        try:
            try:
                query_pairs = parse_qsl(query, keep_blank_values=True)
            except ValueError:
                raise ApiError(400, "InvalidParameterValueException", "Malformed query string")
            try:
                ctx = self.authenticate(method, path, query_pairs, headers, body)
            except ApiError as e:
                with self.lock:
                    self._bump(self.stats["auth_failures"], e.code)
                raise
            if op is None:
                raise ApiError(404, "UnknownOperationException",
                               "Unknown operation %s %s" % (method, path))
            self.check_quota(ctx, op)
            if fault and fault["kind"] == "throttle":
                self.count_fault(opname, "throttle")
                raise ApiError(429, "TooManyRequestsException", "Rate exceeded",
                               extra={"Reason": "CallerRateLimitExceeded"},
                               headers={"Retry-After": "1"})
            if fault and fault["kind"] == "error":
                self.count_fault(opname, "error")
                raise ApiError(fault["status"], fault["code"], fault["message"])
            if op == "Invoke":  # invoke_emulator.py, outside the lock: a function may hang
                return invoke_emulator.handle(self, opname, ctx, params, query_pairs, headers, body,
                                              fault, ApiError)
            query_map = {}
            for k, v in query_pairs:
                query_map.setdefault(k, v)
            req = {}
            if method in ("POST", "PUT"):
                if body.strip():
                    try:
                        req = json.loads(body)
                    except ValueError:
                        raise ApiError(400, "InvalidRequestContentException",
                                       "Could not parse request body into json")
                    if not isinstance(req, dict):
                        raise ApiError(400, "InvalidRequestContentException",
                                       "Could not parse request body into json")
            if fault and fault["kind"] == "stale":
                self.count_fault(opname, "stale")
            with self.lock:
                if fault and fault["kind"] == "stale" and op == "UpdateAlias":
                    self.service.make_stale(ctx, params)
                status, out = getattr(self.service, op)(ctx, params, query_map, req)
                if op in WRITE_OPERATIONS:
                    self._bump(self.stats["applied"], op)
                    sts_emulator.record_write(self, ctx, params, req)  # which key wrote it
            resp_headers = {}
            data = b"" if out is None else json.dumps(out, separators=(",", ":")).encode()
            if out is not None:
                resp_headers["Content-Type"] = "application/json"
            self.count_response(opname, status)
        except ApiError as e:
            status, resp_headers, data = self.error_response(e)
            self.count_response(opname, status, e.code)
        except Exception:  # a bug in the emulator: answer like AWS would
            traceback.print_exc()
            e = ApiError(500, "ServiceException", "Internal emulator error")
            status, resp_headers, data = self.error_response(e)
            self.count_response(opname, status, e.code)
        if fault and fault["kind"] == "lose":
            self.count_fault(opname, "lose")
            return ("close",)
        return ("respond", status, resp_headers, data)

    def error_response(self, e):
        style = self.config["error_style"]
        body = {}
        code = e.code
        if style == "coral":
            body["__type"] = "com.amazonaws.awslambda#%s" % code
        elif style in ("plain", "body"):
            body["__type"] = code
        else:
            body["code"] = code
        if e.code in MODELED_ERRORS:
            body["Type"] = "User" if e.status < 500 else "Service"
        if style == "code" or e.code in CAPITAL_MESSAGE_ERRORS:
            body["Message"] = e.message
        if style != "code":
            body["message"] = e.message
        body.update(e.extra)
        headers = {"Content-Type": "application/json"}
        if style == "plain":
            headers["X-Amzn-ErrorType"] = code
        elif style == "coral":
            headers["X-Amzn-ErrorType"] = (
                "%s:http://internal.amazon.com/coral/com.amazonaws.awslambda/" % code)
        headers.update(e.headers)
        return e.status, headers, json.dumps(body, separators=(",", ":")).encode()

    # ---- admin requests -----------------------------------------------------------------
    def handle_admin(self, method, path, query, body):
        with self.lock:
            self.stats["admin_requests"] += 1
        try:
            sub = path[len("/__emulator/"):]
            if sub == "health" and method == "GET":
                return 200, {"ok": True}
            if sub == "stats" and method == "GET":
                return 200, self.snapshot_stats()
            if sub == "reset" and method == "POST":
                with self.lock:
                    self._clear()
                return 200, {"ok": True}
            if sub == "config" and method == "GET":
                with self.lock:
                    return 200, dict(self.config)
            if sub == "config" and method == "POST":
                return 200, self.set_config(self._json(body))
            if sub == "state" and method == "GET":
                with self.lock:
                    return 200, self.service.dump()
            if sub == "cloudwatch" and method == "GET":  # CloudWatch alarms, per account/region
                with self.lock:
                    return 200, self.cloudwatch.dump()
            if sub == "sts":  # STS roles, issued credentials, who wrote what
                return sts_emulator.admin(self, method, body, ApiError)
            if sub in ("invoke", "invocations"):  # invoke_emulator.py
                out = invoke_emulator.admin(self, method, sub, body, ApiError)
                if out is not None:
                    return out
            if sub == "storage" and method == "GET":
                with self.lock:
                    return 200, self.service.storage()
            if sub == "settle" and method == "POST":
                with self.lock:
                    self.service.settle_all()
                return 200, {"ok": True}
            if sub == "faults":
                if method == "POST":
                    return 200, {"faults": self.add_scripted(self._json(body))}
                if method == "GET":
                    with self.lock:
                        return 200, {"faults": list(self.scripted)}
                if method == "DELETE":
                    with self.lock:
                        self.scripted = []
                    return 200, {"faults": []}
            if sub.startswith("s3/") and method == "PUT":
                bucket, _, key = sub[3:].partition("/")
                bucket, key = unquote(bucket), unquote(key)
                if not bucket or not key:
                    raise ApiError(400, "InvalidParameterValueException",
                                   "use PUT /__emulator/s3/BUCKET/KEY")
                version = dict(parse_qsl(query)).get("versionId")
                with self.lock:
                    return 200, self.service.put_s3_object(bucket, key, body, version)
            raise ApiError(404, "UnknownOperationException",
                           "Unknown admin endpoint %s %s" % (method, path))
        except ApiError as e:
            return e.status, {"__type": e.code, "message": e.message}

    @staticmethod
    def _json(body):
        try:
            return json.loads(body or b"{}")
        except ValueError:
            raise ApiError(400, "InvalidRequestContentException", "body is not JSON")


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------
class BodyError(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive
    server_version = "lambda-emulator"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300                      # idle keep-alive connections are dropped after this

    def log_message(self, fmt, *args):
        if self.server.emu.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise BodyError("truncated chunked body")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BodyError("bad chunk size")
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_REQUEST_BODY:
                    raise BodyError("too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BodyError("bad Content-Length")
        if n < 0:
            raise BodyError("bad Content-Length")
        if n > MAX_REQUEST_BODY:
            raise BodyError("too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BodyError("truncated body")
        return data

    def _send(self, status, headers, body):
        reason = self.responses.get(status, ("",))[0]
        lines = ["%s %d %s" % (self.protocol_version, status, reason),
                 "Date: %s" % self.date_time_string(),
                 "x-amzn-RequestId: %s" % uuid.uuid4()]
        for k, v in headers.items():
            lines.append("%s: %s" % (k, v))
        lines.append("Content-Length: %d" % len(body))
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        self.wfile.write(data)
        self.log_request(status, len(body))

    def _abort(self):
        """Closes the connection without any response (RST)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass

    def _dispatch(self):
        emu = self.server.emu
        try:
            body = self._read_body()
        except BodyError as e:
            self.close_connection = True      # the rest of the body is not read
            if str(e) == "too large":
                err = ApiError(413, "RequestTooLargeException",
                               "Request must be smaller than %d bytes for the CreateFunction "
                               "operation" % MAX_REQUEST_BODY)
            else:
                err = ApiError(400, "InvalidRequestContentException", str(e))
            self._send(*emu.error_response(err))
            return
        path, _, query = self.path.partition("?")
        if path.startswith("/__emulator/"):
            status, out = emu.handle_admin(self.command, path, query, body)
            self._send(status, {"Content-Type": "application/json"},
                       json.dumps(out).encode())
            return
        if cloudwatch_emulator.wants(self.headers):  # signed for 'monitoring': CloudWatch
            result = cloudwatch_emulator.handle(emu, self.command, path, query, self.headers, body,
                                                ApiError)
        elif sts_emulator.wants(self.headers):  # signed for 'sts': STS
            result = sts_emulator.handle(emu, self.command, path, query, self.headers, body, ApiError)
        else:
            result = emu.handle_api(self.command, path, query, self.headers, body)
        if result[0] == "close":
            self._abort()
            return
        _, status, headers, data = result
        self._send(status, headers, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # Skip HTTPServer.server_bind's reverse DNS lookup (socket.getfqdn).
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def parse_credentials(values):
    creds = {}
    for item in values or ["%s:%s" % (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)]:
        parts = item.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise SystemExit("--credentials must be AKID:SECRET[:ACCOUNT], got %r" % item)
        account = parts[2] if len(parts) == 3 else DEFAULT_ACCOUNT
        if not re.fullmatch(r"\d{12}", account):
            raise SystemExit("account id must be 12 digits: %r" % account)
        creds[parts[0]] = (parts[1], account)
    return creds


STORAGE_SCOPE_RE = re.compile(r"(?:\d{12}/)?[a-z]{2}(?:-gov)?-[a-z]+-\d")


def storage_limit_value(v, what):
    """A code storage limit in bytes: a non-negative integer (0 = no limit)."""
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ApiError(400, "InvalidParameterValueException",
                       "%s must be a non-negative integer (bytes; 0 = no limit)" % what)
    return v


def parse_storage_limits(v):
    """{"REGION" or "ACCOUNT/REGION": bytes} -> the same dict, validated."""
    if not isinstance(v, dict):
        raise ApiError(400, "InvalidParameterValueException",
                       "code_storage_limits must map REGION or ACCOUNT/REGION to bytes")
    for key, limit in v.items():
        if not STORAGE_SCOPE_RE.fullmatch(key):
            raise ApiError(400, "InvalidParameterValueException",
                           "code_storage_limits: %r is not REGION or ACCOUNT/REGION" % key)
        storage_limit_value(limit, "code_storage_limits[%s]" % key)
    return dict(v)


def storage_limit_args(values):
    """--code-storage-limit [[ACCOUNT/]REGION=]BYTES values -> (default, {scope: bytes})."""
    default, limits = DEFAULT_CODE_STORAGE_LIMIT, {}
    for item in values or []:
        scope, eq, num = item.rpartition("=")
        try:
            limit = storage_limit_value(int(num), "--code-storage-limit")
            if eq:
                parse_storage_limits({scope: limit})
        except (ValueError, ApiError) as e:
            raise SystemExit("--code-storage-limit must be [[ACCOUNT/]REGION=]BYTES, "
                             "got %r (%s)" % (item, e))
        if eq:
            limits[scope] = limit
        else:
            default = limit
    return default, limits


def probability(text):
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description="AWS Lambda control-plane emulator")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--credentials", action="append", metavar="AKID:SECRET[:ACCOUNT]")
    ap.add_argument("--update-delay", type=float, default=0.2, metavar="SECONDS")
    ap.add_argument("--page-size", type=int, default=50, metavar="N")
    ap.add_argument("--latency-ms", type=float, default=0.0, metavar="MS")
    ap.add_argument("--quota", action="store_true")
    ap.add_argument("--throttle-rate", type=probability, default=0.0, metavar="P")
    ap.add_argument("--error-rate", type=probability, default=0.0, metavar="P")
    ap.add_argument("--reset-rate", type=probability, default=0.0, metavar="P")
    ap.add_argument("--lose-rate", type=probability, default=0.0, metavar="P")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--code-storage-limit", action="append", default=[],
                    metavar="[[ACCOUNT/]REGION=]BYTES")
    ap.add_argument("--no-verify-signatures", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.page_size < 1:
        ap.error("--page-size must be >= 1")
    if args.update_delay < 0 or args.latency_ms < 0:
        ap.error("--update-delay and --latency-ms must be >= 0")

    args.code_storage_limit, args.code_storage_limits = storage_limit_args(args.code_storage_limit)
    emu = Emulator(args, parse_credentials(args.credentials))
    server_cls = Server
    if ":" in args.host:
        server_cls = type("Server6", (Server,), {"address_family": socket.AF_INET6})
    server = server_cls((args.host, args.port), Handler)
    server.emu = emu

    def stop(signum, frame):
        emu.stopping.set()
        emu.invoke.release()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("listening on %s:%d\n" % (args.host, server.server_address[1]))
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
