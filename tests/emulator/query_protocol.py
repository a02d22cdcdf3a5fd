"""What the emulated AWS Query-protocol services (sts_emulator.py,
cloudwatch_emulator.py) share: the form parameters of a request, SigV4
authentication with the Query services' error codes, and AWS's XML error
shape (<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>)."""
import re
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

# the emulator's Lambda-style authentication errors -> the Query services' (code, status)
AUTH_CODES = {
    "MissingAuthenticationTokenException": ("MissingAuthenticationToken", 403),
    "IncompleteSignatureException": ("IncompleteSignature", 400),
    "UnrecognizedClientException": ("InvalidClientTokenId", 403),
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "ExpiredTokenException": ("ExpiredToken", 403),
}


class QueryError(Exception):
    def __init__(self, status, code, message, sender=True):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.type = "Sender" if sender else "Receiver"


def signed_for(headers, service):
    """True when the request's SigV4 credential scope names `service` ('sts', 'monitoring')."""
    auth = headers.get("Authorization") or ""
    m = re.search(r"Credential=([^,\s]+)", auth)
    if not m:
        return False
    scope = m.group(1).split("/")
    return len(scope) == 5 and scope[3] == service


def params_of(query, body):
    """The request's parameters: the form body, then the query string (which wins); {} if unreadable."""
    try:
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        params.update(dict(parse_qsl(query, keep_blank_values=True)))
        return params
    except (UnicodeDecodeError, ValueError):
        return {}


def authenticate(emu, method, path, query, headers, body, service, api_error_cls):
    """emu.authenticate() for `service`; its failures raised as the Query service's QueryError."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True)
        return emu.authenticate(method, path, pairs, headers, body, expected_service=service)
    except api_error_cls as e:
        with emu.lock:
            emu._bump(emu.stats["auth_failures"], e.code)
        code, status = AUTH_CODES.get(e.code, (e.code, e.status))
        raise QueryError(status, code, e.message)


def error_xml(e, request_id, namespace):
    return ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message>'
            '</Error><RequestId>%s</RequestId></ErrorResponse>'
            % (namespace, e.type, escape(e.code), escape(e.message), request_id)).encode()
