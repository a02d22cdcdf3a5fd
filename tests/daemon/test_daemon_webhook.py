"""GitHub webhooks on a daemon that polls only every 60 s: a signed push is
live within 1 s; a badly signed one is refused and changes nothing."""
import json
import time

import pytest

from daemon_helpers import World, function_manifest


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    w.repo.write("functions/fn.yaml", function_manifest("payments"))
    w.repo.commit("payments")
    w.start(interval="60s")
    w.wait_aliases("payments", {"Prod": "1", "Test": "2"}, timeout=20)
    w.wait_state("payments", "Synced")
    yield w
    w.close()


def push_body(after, ref="refs/heads/main"):
    return json.dumps({"ref": ref, "after": after, "repository": {"full_name": "acme/releases"}}).encode()


@pytest.mark.serial  # serial: a 1 s wall-clock bound
def test_signed_push_is_live_within_a_second(world):
    d = world.daemon
    world.repo.write("functions/fn.yaml", function_manifest("payments", prod="v2"))
    head = world.repo.commit("promote")
    t0 = time.monotonic()
    assert d.post_hook(push_body(head), secret=world.secret) == 202
    world.wait_aliases("payments", {"Prod": "2", "Test": "2"}, timeout=5)
    elapsed = time.monotonic() - t0
    assert elapsed <= 1.0, "webhook promotion took %.2fs" % elapsed
    assert "webhook push ref=refs/heads/main" in d.log_text()


def test_bad_signatures_change_nothing(world):
    d = world.daemon
    world.repo.write("functions/fn.yaml", function_manifest("payments", prod="v2"))
    head = world.repo.commit("promote, but nobody may tell")
    body = push_body(head)
    polls = d.status()["lastPoll"]
    assert d.post_hook(body) == 401                                    # unsigned
    assert d.post_hook(body, secret=b"wrong secret") == 401            # wrong key
    assert d.post_hook(body, signature="sha256=" + "0" * 64) == 401    # forged
    assert d.post_hook(body, signature="sha1=" + "0" * 40) == 401      # old scheme
    tampered = body.replace(b"refs/heads/main", b"refs/heads/evil")
    good_sig_other_body = __import__("hmac").new(world.secret, body, "sha256").hexdigest()
    assert d.post_hook(tampered, signature="sha256=" + good_sig_other_body) == 401
    time.sleep(1.5)
    assert world._safe_aliases("payments") == {"Prod": "1", "Test": "2"}
    st = d.status()
    assert st["lastPoll"] == polls                                     # not even a Git poll
    assert st["remoteRevision"] != head
    assert d.log_text().count("webhook refused") == 5


def test_ping_limits_and_routes(world):
    d = world.daemon
    assert d.post_hook(b'{"zen":"Design for failure."}', secret=world.secret, event="ping") == 200
    assert d.post_hook(b'{"zen":"x"}', event="ping") == 401
    assert d.post_hook(b"{}", secret=world.secret, event="issues") == 202
    big = b"{" + b" " * (1 << 20) + b"}"
    assert d.post_hook(big, secret=world.secret) == 413
    assert d.get("/nope")[0] == 404
    assert d.get("/hooks/github")[0] == 405
    code, body = d.get("/healthz")
    assert (code, body) == (200, "ok\n")
    time.sleep(0.5)
    assert world._safe_aliases("payments") == {"Prod": "1", "Test": "2"}
