"""Webhook storms (issue 15 finding 4): pushes that arrive while a poll is
pending, running or backing off merge into one.  2000 signed pushes in a few
seconds cost a handful of ls-remote polls; with Git failing, pushes neither
cut the backoff short nor log a warning each."""
import json
import os
import re
import threading
import time

import pytest

from daemon_helpers import World, function_manifest


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    w.repo.write("functions/fn.yaml", function_manifest("stormy"))
    w.repo.commit("stormy")
    w.start(interval="60s")
    w.wait_aliases("stormy", {"Prod": "1", "Test": "2"}, timeout=20)
    w.wait_state("stormy", "Synced")
    yield w
    w.close()


def git_requests(d, kind, result):
    code, text = d.get("/metrics")
    assert code == 200
    m = re.search(r'^aliasd_git_requests_total\{kind="%s",result="%s"\} (\d+)' % (kind, result), text, re.M)
    return int(m.group(1)) if m else 0


def storm(d, secret, n, threads=4):
    body = json.dumps({"ref": "refs/heads/main", "after": "0" * 40,
                       "repository": {"full_name": "acme/releases"}}).encode()
    codes = []
    lock = threading.Lock()

    def run(k):
        for _ in range(k):
            c = d.post_hook(body, secret=secret)
            with lock:
                codes.append(c)

    ts = [threading.Thread(target=run, args=(n // threads,)) for _ in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    return codes, time.monotonic() - t0


def test_webhook_storm_is_a_handful_of_polls(world):
    d = world.daemon
    before = git_requests(d, "ls-remote", "ok") + git_requests(d, "ls-remote", "error")
    codes, took = storm(d, world.secret, 2000)
    assert len(codes) == 2000 and set(codes) == {202}, set(codes)
    time.sleep(2.5)  # the last merged poll
    after = git_requests(d, "ls-remote", "ok") + git_requests(d, "ls-remote", "error")
    polls = after - before
    # one at once, then at most one per 2 s while the storm lasts, plus the trailing one
    assert 1 <= polls <= int(took / 2) + 3, (polls, took)
    assert polls <= 8, (polls, took)
    # and a push after the storm is still live at once
    world.repo.write("functions/fn.yaml", function_manifest("stormy", prod="v2"))
    head = world.repo.commit("promote")
    time.sleep(2.1)
    assert d.post_hook(json.dumps({"ref": "refs/heads/main", "after": head}).encode(),
                       secret=world.secret) == 202
    world.wait_aliases("stormy", {"Prod": "2", "Test": "2"}, timeout=5)


def test_pokes_do_not_cut_the_git_backoff_short(world):
    d = world.daemon
    os.rename(world.repo.bare, world.repo.bare + ".gone")  # Git fails from now on
    try:
        codes, took = storm(d, world.secret, 200)
        assert set(codes) == {202}
        time.sleep(2)
        errors = git_requests(d, "ls-remote", "error")
        # the first push polls and fails; the backoff (60 s) holds every other one
        assert errors == 1, errors
        assert d.log_text().count("repository unavailable") == 1, d.log_text()[-3000:]
        assert d.status()["git"]["consecutiveFailures"] == 1
    finally:
        os.rename(world.repo.bare + ".gone", world.repo.bare)
