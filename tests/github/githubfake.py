"""A fake GitHub REST API (commit statuses) and a webhook receiver, on loopback.

FakeGitHub speaks the part of GitHub's REST API that aliasd uses (DESIGN.md §7):

  POST /repos/{owner}/{repo}/statuses/{sha}
      request  {"state": "error|failure|pending|success", "target_url"?, "description"?, "context"?}
      answer   201 with the status object (id, node_id, url, state, description,
               target_url, context, created_at, updated_at, creator)
  GET  /repos/{owner}/{repo}/commits/{ref}/statuses
      answer   200 with the statuses of that commit, newest first

and checks each request as GitHub would, answering with GitHub's error shape
({"message", "documentation_url", "status"}):
  Authorization: Bearer TOKEN      else 401 "Bad credentials"
  User-Agent                       else 403 (GitHub refuses requests without one)
  Accept: application/vnd.github+json          else 415
  X-GitHub-Api-Version: 2022-11-28             else 400
  a JSON object body, a known state, a description of at most 140 characters,
  a 40-hex sha, a known repository (when `repos` is given)   else 422 / 404.

Every request is recorded (method, path, headers (case-insensitive), parsed
body, answer code; 599 when the client hung up before a scripted error).
Scripted answers (script()) replace the next requests' answers: an int status
(401, 403, 422, 500, 502...), "ratelimit" (403 with X-RateLimit-Remaining: 0),
"secondary" (429 with Retry-After), or ("slow", seconds) which delays the
answer and then handles the request normally.

WebhookReceiver records every POST body (and headers) and answers the
scripted status codes in turn (e.g. [500, 200]), then 200 "ok".

Both bind 127.0.0.1 on a free port, run in threads and stop on close();
a pending slow answer is cut short by close().
"""

import datetime
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
DOCS = "https://docs.github.com/rest/commits/statuses#create-a-commit-status"
STATES = ("error", "failure", "pending", "success")
DESCRIPTION_MAX = 140

_STATUS_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/statuses/([^/?#]+)$")
_LIST_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/commits/([^/?#]+)/statuses$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Base:
    """Shared start/stop, recording and scripting."""

    handler = None

    def __init__(self):
        self.lock = threading.Condition()
        self.requests = []
        self._script = []
        self._stop = threading.Event()
        self.server = _Server(("127.0.0.1", 0), self.handler)
        self.server.owner = self
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def script(self, *answers):
        """Answer the next requests with these, in order, then normally again."""
        with self.lock:
            self._script.extend(answers)

    def _next_scripted(self):
        with self.lock:
            return self._script.pop(0) if self._script else None

    def _record(self, entry):
        with self.lock:
            self.requests.append(entry)
            self.lock.notify_all()

    def wait_for(self, n, timeout=30.0, predicate=None):
        """Wait until at least n recorded requests (matching predicate) exist; return them."""
        def matching():
            return [r for r in self.requests if predicate is None or predicate(r)]
        with self.lock:
            self.lock.wait_for(lambda: len(matching()) >= n, timeout=timeout)
            got = matching()
        if len(got) < n:
            raise AssertionError(f"{len(got)} requests after {timeout}s, expected {n}: {got}")
        return got

    def sleep(self, seconds):
        """Sleep, cut short by close()."""
        self._stop.wait(seconds)

    def close(self):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    @property
    def owner(self):
        return self.server.owner

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            return None
        return self.rfile.read(n) if n else b""

    def _send(self, code, obj=None, headers=None, raw=None, ctype="application/json; charset=utf-8"):
        # record before answering: a client that got its answer finds its request recorded
        entry = getattr(self, "_entry", None)
        if entry is not None and not entry.get("recorded"):
            entry["code"] = code
            entry["recorded"] = True
            self.owner._record(entry)
        data = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class _GitHubHandler(_Handler):
    def _error(self, code, message, errors=None, headers=None):
        body = {"message": message, "documentation_url": DOCS, "status": str(code)}
        if errors:
            body["errors"] = errors
        self._send(code, body, headers)
        return code

    def _rate_headers(self, remaining=4999):
        return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": "4102444800", "X-RateLimit-Resource": "core",
                "X-GitHub-Api-Version-Selected": API_VERSION}

    def _check_headers(self):
        gh = self.owner
        auth = self.headers.get("Authorization") or ""
        if auth != f"Bearer {gh.token}":
            return self._error(401, "Bad credentials")
        if not self.headers.get("User-Agent"):
            return self._error(403, "Request forbidden by administrative rules. "
                                    "Please make sure your request has a User-Agent header")
        if self.headers.get("Accept") != MEDIA_TYPE:
            return self._error(415, f"Unsupported 'Accept' header: {self.headers.get('Accept')!r}. "
                                    f"Use {MEDIA_TYPE}")
        if self.headers.get("X-GitHub-Api-Version") != API_VERSION:
            return self._error(400, f"Invalid API version: {self.headers.get('X-GitHub-Api-Version')!r}")
        return None

    def _scripted(self, answer):
        """Send a scripted failure; returns the code, or None to go on normally."""
        if isinstance(answer, tuple) and answer[0] == "slow":
            self.owner.sleep(answer[1])
            return None
        if answer == "ratelimit":
            return self._error(403, "API rate limit exceeded for user ID 1.",
                               headers=self._rate_headers(remaining=0))
        if answer == "secondary":
            return self._error(429, "You have exceeded a secondary rate limit. Please wait a few minutes "
                                    "before you try again.", headers={"Retry-After": "1"})
        messages = {401: "Bad credentials", 403: "Resource not accessible by personal access token",
                    404: "Not Found", 422: "Validation Failed", 500: "Server Error",
                    502: "Server Error", 503: "Service Unavailable"}
        return self._error(int(answer), messages.get(int(answer), "Error"))

    def do_POST(self):
        gh = self.owner
        raw = self._body()
        entry = {"method": "POST", "path": self.path, "headers": self.headers, "raw": raw,
                 "body": None, "code": None}
        try:
            entry["body"] = json.loads(raw) if raw else None
        except ValueError:
            pass
        self._entry = entry
        try:
            self._post(entry)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a slow answer)
            pass
        finally:
            if not entry.get("recorded"):
                entry["code"] = 599
                entry["recorded"] = True
                gh._record(entry)

    def _post(self, entry):
        gh = self.owner
        m = _STATUS_PATH.match(self.path)
        answer = gh._next_scripted()
        if answer is not None:
            code = self._scripted(answer)
            if code is not None:
                return code
        if not m:
            return self._error(404, "Not Found")
        code = self._check_headers()
        if code:
            return code
        owner, repo, sha = m.groups()
        if gh.repos is not None and f"{owner}/{repo}" not in gh.repos:
            return self._error(404, "Not Found")
        body = entry["body"]
        if not isinstance(body, dict):
            return self._error(400, "Problems parsing JSON")
        errors = []
        state = body.get("state")
        if state not in STATES:
            errors.append({"resource": "Status", "code": "custom", "field": "state",
                           "message": "state is not included in the list"})
        desc = body.get("description")
        if desc is not None and not isinstance(desc, str):
            errors.append({"resource": "Status", "code": "invalid", "field": "description"})
        elif desc is not None and len(desc) > DESCRIPTION_MAX:
            errors.append({"resource": "Status", "code": "custom", "field": "description",
                           "message": f"description is too long (maximum is {DESCRIPTION_MAX} characters)"})
        for f in ("context", "target_url"):
            if body.get(f) is not None and not isinstance(body.get(f), str):
                errors.append({"resource": "Status", "code": "invalid", "field": f})
        if errors:
            return self._error(422, "Validation Failed", errors)
        if not _SHA.match(sha):
            return self._error(422, f"No commit found for SHA: {sha}")
        with gh.lock:
            gh._next_id += 1
            sid = gh._next_id
        now = _now()
        status = {
            "url": f"{gh.url}/repos/{owner}/{repo}/statuses/{sha}",
            "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4",
            "id": sid, "node_id": f"SC_kwDO{sid:08d}",
            "state": state, "description": desc, "target_url": body.get("target_url"),
            "context": body.get("context") or "default",
            "created_at": now, "updated_at": now,
            "creator": {"login": "aliasd-bot", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User",
                        "site_admin": False},
        }
        with gh.lock:
            gh.statuses.setdefault((owner, repo, sha), []).append(status)
        self._send(201, status, headers=dict(self._rate_headers(), Location=status["url"]))
        return 201

    def do_GET(self):
        gh = self.owner
        entry = {"method": "GET", "path": self.path, "headers": self.headers, "raw": b"",
                 "body": None, "code": None}
        self._entry = entry
        m = _LIST_PATH.match(self.path.split("?")[0])
        code = self._check_headers() if m else self._error(404, "Not Found")
        if not code:
            owner, repo, sha = m.groups()
            with gh.lock:
                got = list(reversed(gh.statuses.get((owner, repo, sha), [])))
            self._send(200, got, headers=self._rate_headers())


class FakeGitHub(_Base):
    """The fake API; `token` is the one Bearer token it accepts."""

    handler = _GitHubHandler

    def __init__(self, token="ghp_aliasdtest0123456789", repos=None):
        self.token = token
        self.repos = set(repos) if repos is not None else None  # None: any owner/repo exists
        self.statuses = {}  # (owner, repo, sha) -> [status, ...] oldest first
        self._next_id = 1000
        super().__init__()

    def status_posts(self):
        """The recorded POSTs to a statuses endpoint, in arrival order."""
        with self.lock:
            return [r for r in self.requests if r["method"] == "POST" and _STATUS_PATH.match(r["path"])]

    def states(self, owner, repo, sha):
        """The states accepted (201) for a commit, oldest first."""
        with self.lock:
            return [s["state"] for s in self.statuses.get((owner, repo, sha), [])]


class _HookHandler(_Handler):
    server_version = "hooks"

    def do_POST(self):
        hook = self.owner
        raw = self._body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        answer = hook._next_scripted()
        if isinstance(answer, tuple) and answer[0] == "slow":
            hook.sleep(answer[1])
            answer = None
        code = int(answer) if answer is not None else 200
        hook._record({"method": "POST", "path": self.path, "headers": self.headers,
                      "raw": raw, "body": body, "code": code})
        try:
            self._send(code, raw=b"ok" if code == 200 else b"internal_error", ctype="text/plain")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up
            pass


class WebhookReceiver(_Base):
    """Records POST bodies; script(500, 200) makes it fail once, then accept."""

    handler = _HookHandler

    def bodies(self, accepted_only=False):
        with self.lock:
            return [r["body"] for r in self.requests if not accepted_only or r["code"] == 200]
