"""The fake GitHub API and the webhook receiver, exercised with plain urllib requests."""

import json
import socket
import urllib.error
import urllib.request

import pytest

from githubfake import API_VERSION, MEDIA_TYPE, FakeGitHub

SHA = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"
GOOD = object()


def request(gh, method, path, body=None, token=GOOD, accept=MEDIA_TYPE, version=API_VERSION,
            agent="aliasd/0.1.0", timeout=10):
    """(status, parsed body, headers) of one request; GOOD means the fake's token."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(gh.url + path, data=data, method=method)
    if token is GOOD:
        token = f"Bearer {gh.token}"
    for k, v in (("Authorization", token), ("Accept", accept), ("X-GitHub-Api-Version", version),
                 ("Content-Type", "application/json" if data is not None else None)):
        if v is not None:
            req.add_header(k, v)
    # urllib adds "Python-urllib/x.y" unless told otherwise; "" sends none at all
    req.add_header("User-Agent", agent or "")
    if not agent:
        req.remove_header("User-agent")
        opener = urllib.request.build_opener()
        opener.addheaders = []
    else:
        opener = urllib.request.build_opener()
    try:
        with opener.open(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None, r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None, e.headers


def post_status(gh, body, sha=SHA, **kw):
    return request(gh, "POST", f"/repos/acme/lambda-releases/statuses/{sha}", body, **kw)


def test_create_status_shape_and_record(github):
    code, st, headers = post_status(github, {"state": "pending", "description": "applying commit",
                                             "context": "aliasd", "target_url": None})
    assert code == 201
    assert st["state"] == "pending" and st["description"] == "applying commit" and st["context"] == "aliasd"
    assert st["target_url"] is None
    assert isinstance(st["id"], int) and st["node_id"].startswith("SC_")
    assert st["url"] == f"{github.url}/repos/acme/lambda-releases/statuses/{SHA}"
    assert st["created_at"].endswith("Z") and st["creator"]["login"] == "aliasd-bot"
    assert headers["Location"] == st["url"] and headers["X-RateLimit-Remaining"] == "4999"

    posts = github.status_posts()
    assert len(posts) == 1
    p = posts[0]
    assert p["code"] == 201 and p["body"]["state"] == "pending"
    assert p["headers"]["Authorization"] == f"Bearer {github.token}"
    assert p["headers"]["Accept"] == MEDIA_TYPE
    assert p["headers"]["X-GitHub-Api-Version"] == "2022-11-28"
    assert p["headers"]["User-Agent"] == "aliasd/0.1.0"


def test_statuses_in_order_and_listed_newest_first(github):
    assert post_status(github, {"state": "pending", "context": "aliasd"})[0] == 201
    assert post_status(github, {"state": "success", "description": "2 functions in sync"})[0] == 201
    assert github.states("acme", "lambda-releases", SHA) == ["pending", "success"]
    code, got, _ = request(github, "GET", f"/repos/acme/lambda-releases/commits/{SHA}/statuses")
    assert code == 200
    assert [s["state"] for s in got] == ["success", "pending"]
    assert got[0]["context"] == "default"  # no context given: GitHub's default
    assert got[0]["id"] > got[1]["id"]
    assert github.states("acme", "other", SHA) == []


@pytest.mark.parametrize("kw, code, message", [
    ({"token": None}, 401, "Bad credentials"),
    ({"token": "Bearer wrong"}, 401, "Bad credentials"),
    ({"token": "token ghp_aliasdtest0123456789"}, 401, "Bad credentials"),  # Bearer is required here
    ({"agent": ""}, 403, "User-Agent"),
    ({"accept": None}, 415, "Accept"),
    ({"accept": "application/json"}, 415, "Accept"),
    ({"version": None}, 400, "Invalid API version"),
    ({"version": "2021-01-01"}, 400, "Invalid API version"),
])
def test_required_headers(github, kw, code, message):
    got, body, _ = post_status(github, {"state": "success"}, **kw)
    assert got == code
    assert message in body["message"] and body["status"] == str(code)
    assert body["documentation_url"].startswith("https://docs.github.com/")
    assert github.status_posts()[-1]["code"] == code
    assert github.states("acme", "lambda-releases", SHA) == []


def test_validation(github):
    ok = "\u2192" * 140  # 140 characters (420 bytes): GitHub counts characters
    assert post_status(github, {"state": "failure", "description": ok})[0] == 201
    code, body, _ = post_status(github, {"state": "failure", "description": "x" * 141})
    assert code == 422 and body["message"] == "Validation Failed"
    assert body["errors"][0]["field"] == "description" and "maximum is 140" in body["errors"][0]["message"]
    code, body, _ = post_status(github, {"state": "done"})
    assert code == 422 and body["errors"][0]["field"] == "state"
    code, body, _ = post_status(github, {"description": "no state"})
    assert code == 422
    code, body, _ = post_status(github, {"state": "success"}, sha="1a2b3c4")
    assert code == 422 and "No commit found for SHA" in body["message"]
    code, body, _ = post_status(github, ["not", "an", "object"])
    assert code == 400
    code, _, _ = request(github, "POST", f"/repos/acme/lambda-releases/status/{SHA}", {"state": "success"})
    assert code == 404
    assert github.states("acme", "lambda-releases", SHA) == ["failure"]


def test_known_repositories_only():
    with FakeGitHub(token="t0k", repos=["acme/lambda-releases"]) as gh:
        assert post_status(gh, {"state": "success"})[0] == 201
        code, body, _ = request(gh, "POST", f"/repos/acme/elsewhere/statuses/{SHA}", {"state": "success"})
        assert code == 404 and body["message"] == "Not Found"


def test_scripted_answers_then_normal(github):
    github.script(401, 403, 422, 500, "ratelimit", "secondary")
    got = [post_status(github, {"state": "pending"}) for _ in range(7)]
    assert [g[0] for g in got] == [401, 403, 422, 500, 403, 429, 201]
    assert got[0][1]["message"] == "Bad credentials"
    assert got[4][2]["X-RateLimit-Remaining"] == "0" and "rate limit" in got[4][1]["message"]
    assert got[5][2]["Retry-After"] == "1"
    # scripted failures are recorded but store nothing
    assert [p["code"] for p in github.status_posts()] == [401, 403, 422, 500, 403, 429, 201]
    assert github.states("acme", "lambda-releases", SHA) == ["pending"]


def test_slow_answer(github):
    github.script(("slow", 3.0))
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        post_status(github, {"state": "pending"}, timeout=0.5)
    # the next request is answered at once, and the slow one was handled in the end
    assert post_status(github, {"state": "success"})[0] == 201
    posts = github.wait_for(2, timeout=30, predicate=lambda r: r["method"] == "POST")
    assert sorted(p["code"] for p in posts) == [201, 201]


def test_wait_for_times_out(github):
    with pytest.raises(AssertionError):
        github.wait_for(1, timeout=0.2)


def test_loopback_only(github, hook):
    assert github.server.server_address[0] == "127.0.0.1"
    assert hook.server.server_address[0] == "127.0.0.1"


def post_hook(hook, body, path="/services/T0/B0/xyz", timeout=10):
    req = urllib.request.Request(hook.url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "aliasd/0.1.0"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_webhook_records_bodies(hook):
    event = {"event": "applied", "time": "2026-11-30T04:00:00Z", "revision": SHA, "function": "orders",
             "alias": "Prod", "from": "3", "to": "4", "message": "promoted"}
    assert post_hook(hook, event) == (200, b"ok")
    assert post_hook(hook, {"text": "aliasd: applied orders Prod 3 -> 4 (commit 1a2b3c4)"}) == (200, b"ok")
    got = hook.wait_for(2)
    assert got[0]["body"] == event and got[0]["path"] == "/services/T0/B0/xyz"
    assert got[0]["headers"]["Content-Type"] == "application/json"
    assert hook.bodies()[1]["text"].startswith("aliasd: applied orders")


def test_webhook_fails_then_accepts(hook):
    hook.script(500, 200)
    assert post_hook(hook, {"text": "one"})[0] == 500
    assert post_hook(hook, {"text": "one"})[0] == 200
    assert post_hook(hook, {"text": "two"})[0] == 200
    assert [r["code"] for r in hook.requests] == [500, 200, 200]
    assert hook.bodies(accepted_only=True) == [{"text": "one"}, {"text": "two"}]
