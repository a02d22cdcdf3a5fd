"""Results flow back (issue 11, DESIGN.md §7): GitHub commit statuses and
webhook events from the running daemon, against tests/github's fake GitHub
and webhook receiver."""
import os
import re
import sys
import time

import pytest

from daemon_helpers import World, function_manifest, free_port, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "github"))
from githubfake import FakeGitHub, WebhookReceiver  # noqa: E402

TOKEN = "ghp_aliasdtest0123456789"


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


@pytest.fixture
def github():
    with FakeGitHub(token=TOKEN) as gh:
        yield gh


@pytest.fixture
def hook():
    with WebhookReceiver() as h:
        yield h


def notify_config(world, api_url=None, hooks=()):
    """Append a notify: section to the world's config (after configure())."""
    lines = ["notify:"]
    if api_url:
        token_file = os.path.join(world.tmp, "github-token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        lines += ["  github:", f"    tokenFile: {token_file}", "    repository: acme/lambda-releases",
                  f"    apiUrl: {api_url}", "    context: aliasd/test"]
    if hooks:
        lines.append("  webhooks:")
        for i, (url, fmt, events) in enumerate(hooks):
            url_file = os.path.join(world.tmp, f"hook-url-{i}")
            with open(url_file, "w") as f:
                f.write(url + "\n")
            lines += [f"    - urlFile: {url_file}", f"      format: {fmt}"]
            if events:
                lines.append(f"      events: [{', '.join(events)}]")
    with open(world.config, "a") as f:
        f.write("\n".join(lines) + "\n")


def states(github, sha):
    return github.states("acme", "lambda-releases", sha)


def test_promotion_pending_then_success_once_each(world, github):
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v1", test="v2"))
    first = world.repo.commit("orders")
    world.configure(interval="1s")
    notify_config(world, api_url=github.url)
    d = world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)
    wait_for(lambda: states(github, first) == ["pending", "success"], 30, what="first commit statuses")

    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v2", test="v2"))
    second = world.repo.commit("promote orders to v2")
    world.wait_aliases("orders", {"Prod": "2", "Test": "2"}, timeout=30)
    wait_for(lambda: states(github, second) == ["pending", "success"], 30, what="promotion statuses")
    # a few more polls and a full pass: no further status (one per state change, not per poll)
    d.signal(__import__("signal").SIGUSR1)
    time.sleep(3)
    assert states(github, second) == ["pending", "success"]
    assert states(github, first) == ["pending", "success"]
    posts = [p for p in github.status_posts() if p["path"].endswith(second)]
    assert [p["code"] for p in posts] == [201, 201]
    assert posts[0]["body"]["context"] == "aliasd/test"
    assert posts[1]["body"]["description"] == "1 function in sync"
    h = posts[0]["headers"]
    assert h["User-Agent"].startswith("aliasd/")
    assert h["Accept"] == "application/vnd.github+json"
    assert h["X-GitHub-Api-Version"] == "2022-11-28"
    assert TOKEN not in d.log_text()  # the token is never logged
    code, metrics = d.get("/metrics")
    assert code == 200
    m = re.search(r'aliasd_notifications_total\{sink="github",result="ok"\} (\d+)', metrics)
    assert m and int(m.group(1)) == 4, metrics
    rc, _ = d.stop(timeout=20)  # a clean stop (the sanitizer build would report leaks here)
    assert rc == 0, d.log_text()[-3000:]


def test_broken_manifest_gets_failure_naming_file_line(world, github):
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    world.repo.commit("orders")
    world.configure(interval="1s")
    notify_config(world, api_url=github.url)
    world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)

    # line 17 of the manifest: an alias naming a release that does not exist
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v9"))
    bad = world.repo.commit("broken: Prod -> v9")
    wait_for(lambda: states(github, bad) == ["failure"], 30, what="failure status")
    time.sleep(2)
    posts = [p for p in github.status_posts() if p["path"].endswith(bad)]
    assert len(posts) == 1, posts
    desc = posts[0]["body"]["description"]
    assert desc.startswith("invalid manifest: "), desc
    assert re.search(r"orders\.yaml:\d+", desc), desc
    assert len(desc) <= 140
    # the last good state stays live
    assert world._safe_aliases("orders") == {"Prod": "1", "Test": "2"}


def promotion_seconds(world, prod):
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod=prod, test="v2"))
    t0 = time.monotonic()
    world.repo.commit("promote orders to %s" % prod)
    world.wait_aliases("orders", {"Prod": prod[1:], "Test": "2"}, timeout=60)
    return time.monotonic() - t0


def test_unreachable_github_does_not_delay_promotion(world, github):
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    world.repo.commit("orders")
    world.configure(interval="1s")
    world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)
    baseline = promotion_seconds(world, "v2")

    # GitHub on a closed port, a webhook receiver that answers after 20 s
    closed = free_port()
    with WebhookReceiver() as slow:
        slow.script(*[("slow", 20)] * 10)
        world.configure(interval="1s")
        notify_config(world, api_url=f"http://127.0.0.1:{closed}",
                      hooks=[(slow.url + "/hook", "json", None)])
        d = world.start()
        world.wait_aliases("orders", {"Prod": "2", "Test": "2"}, timeout=30)
        with_notify = promotion_seconds(world, "v1")
        # generous: the same latency, give or take a loaded 2-core machine
        assert with_notify < baseline * 3 + 5, (baseline, with_notify)
        assert d.proc.poll() is None
        # the feedback thread logs it on its own time (it may be inside the slow hook)
        wait_for(lambda: "notification not delivered" in d.log_text(), 30, what="not delivered logged")
        # a stop waits for one request in flight at most (5 s timeout) and a short drain
        rc, secs = d.stop(timeout=30)
        assert rc == 0 and secs < 15, (rc, secs)
        world.close()
        world.daemon = None


def test_slack_webhook_gets_applied_event_once_after_retry(world, hook):
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    world.repo.commit("orders")
    world.configure(interval="1s")
    notify_config(world, hooks=[(hook.url + "/slack", "slack", ["applied"])])
    d = world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)
    hook.wait_for(1, 30)  # the first commit's events
    time.sleep(2)

    hook.script(500)
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v2"))
    sha = world.repo.commit("promote")
    world.wait_aliases("orders", {"Prod": "2", "Test": "2"}, timeout=30)

    def moved(r):
        return r["body"] and "applied orders Prod 1 -> 2" in r["body"].get("text", "")
    got = hook.wait_for(2, 30, predicate=moved)
    time.sleep(3)  # nothing more comes
    got = [r for r in hook.requests if moved(r)]
    assert [r["code"] for r in got] == [500, 200], got
    assert got[0]["raw"] == got[1]["raw"]
    assert set(got[1]["body"]) == {"text"}
    assert sha[:7] in got[1]["body"]["text"]
    # only `applied` events were asked for
    for r in hook.requests:
        assert r["body"]["text"].startswith("aliasd: applied"), r["body"]
    code, metrics = d.get("/metrics")
    assert re.search(r'aliasd_notifications_total\{sink="webhook",result="retried"\} [1-9]', metrics), metrics
    assert not re.search(r'aliasd_notifications_total\{sink="webhook",result="failed"\} [1-9]', metrics)


def test_json_webhook_events(world, hook):
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    first = world.repo.commit("orders")
    world.configure(interval="1s")
    notify_config(world, hooks=[(hook.url + "/json", "json", None)])
    world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)

    def applied_commit(r):
        b = r["body"]
        return b and b["event"] == "applied" and b["function"] is None and b["revision"] == first
    hook.wait_for(1, 30, predicate=applied_commit)
    events = [r["body"] for r in hook.requests]
    prod = [e for e in events if e["event"] == "applied" and e["alias"] == "Prod"]
    assert len(prod) == 1, events
    assert prod[0]["function"] == "orders" and prod[0]["from"] is None and prod[0]["to"] == "1"
    assert set(prod[0]) == {"event", "time", "revision", "function", "alias", "from", "to", "message"}


def test_drift_is_repaired_and_reported(world, hook):
    import signal
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    world.repo.commit("orders")
    world.configure(interval="1s")
    notify_config(world, hooks=[(hook.url + "/json", "json", ["drift"])])
    d = world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)
    world.wait_state("orders", "Synced")
    time.sleep(1)
    assert hook.requests == []  # the first apply is no drift

    # someone moves Prod by hand; a full pass puts it back and says so
    world.emu.client().update_alias(FunctionName="orders", Name="Prod", FunctionVersion="2")
    d.signal(signal.SIGUSR1)
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)
    (r,) = hook.wait_for(1, 30)
    ev = r["body"]
    assert ev["event"] == "drift" and ev["function"] == "orders", ev
    assert "changed outside aliasd" in ev["message"] and "alias Prod" in ev["message"], ev
    time.sleep(2)
    assert len(hook.requests) == 1


def test_failed_function_gets_failure_naming_it(world, github, hook):
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    world.repo.commit("orders")
    world.configure(interval="1s")
    notify_config(world, api_url=github.url, hooks=[(hook.url + "/json", "json", ["failed"])])
    d = world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)

    world.emu.inject("error", operation="UpdateAlias", status=403, code="AccessDeniedException",
                     message="not allowed to update aliases")
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v2"))
    sha = world.repo.commit("promote")
    world.wait_state("orders", "Stalled", timeout=30)
    wait_for(lambda: states(github, sha) == ["pending", "failure"], 30, what="failure status")
    desc = [p for p in github.status_posts() if p["path"].endswith(sha)][-1]["body"]["description"]
    assert "orders" in desc and "AccessDenied" in desc, desc
    (r,) = hook.wait_for(1, 30)
    ev = r["body"]
    assert ev["event"] == "failed" and ev["function"] == "orders" and ev["revision"] == sha, ev
    assert "not allowed" in ev["message"], ev
    time.sleep(2)
    assert states(github, sha) == ["pending", "failure"]
    assert len(hook.requests) == 1
    assert hook.url not in d.log_text()  # a webhook URL is a secret


def test_notify_added_by_reload(world, github):
    import signal
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    world.repo.commit("orders")
    world.configure(interval="1s")
    d = world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)
    notify_config(world, api_url=github.url)
    d.signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in d.log_text(), 15, what="reload")
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v2"))
    sha = world.repo.commit("promote")
    world.wait_aliases("orders", {"Prod": "2", "Test": "2"}, timeout=30)
    wait_for(lambda: states(github, sha) == ["pending", "success"], 30, what="statuses after reload")


def test_failure_then_recovery_turns_success(world, github):
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    world.repo.commit("orders")
    world.configure(interval="1s", backoff_max="2s")
    notify_config(world, api_url=github.url)
    world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)

    # enough 500s that the first reconcile fails (transient), then the retry goes through
    world.emu.inject("error", operation="UpdateAlias", count=40, status=500, code="ServiceException")
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v2"))
    sha = world.repo.commit("promote")
    world.wait_aliases("orders", {"Prod": "2", "Test": "2"}, timeout=60)
    wait_for(lambda: states(github, sha)[-1:] == ["success"], 30, what="success after recovery")
    assert states(github, sha) == ["pending", "failure", "success"]
