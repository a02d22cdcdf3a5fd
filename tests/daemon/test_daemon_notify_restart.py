"""Commit statuses across restarts and supersession (issue 11, DESIGN.md §7:
one status per state change): a restart does not post `pending` and
`success` again on a commit that has its outcome, and a commit left
`pending` when a newer one arrives gets `error` naming its successor."""
import os
import time

from daemon_helpers import function_manifest, rollout_manifest, wait_for
# the fixtures (world, github) and helpers of the notify tests
from test_daemon_notify import github, notify_config, states, world  # noqa: F401


def test_restart_does_not_post_statuses_again(world, github):
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v1", test="v2"))
    first = world.repo.commit("orders")
    world.configure(interval="1s")
    notify_config(world, api_url=github.url)
    d = world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)
    wait_for(lambda: states(github, first) == ["pending", "success"], 30, what="first commit statuses")
    # aliasd queues the status for sending, then records it (fsync, rename): the
    # fake GitHub may have it first
    def recorded():
        try:
            with open(os.path.join(world.state_dir, "github-status")) as f:
                return f.read().split("\n")[:3]
        except FileNotFoundError:
            return None
    wait_for(lambda: recorded() == ["aliasd-github-status/1", first, "success"], 10,
             what="success recorded in github-status")

    for how in ("stop", "kill"):
        if how == "stop":
            rc, _ = d.stop(timeout=20)
            assert rc == 0, d.log_text()[-3000:]
        d = world.start()  # kill -9: close() kills the running daemon first
        world.wait_state("orders", "Synced", timeout=30)
        d.signal(__import__("signal").SIGUSR1)  # a full pass at the same commit
        time.sleep(3)
        assert states(github, first) == ["pending", "success"], how

    # the next commit gets its own statuses as before
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v2", test="v2"))
    second = world.repo.commit("promote")
    world.wait_aliases("orders", {"Prod": "2", "Test": "2"}, timeout=30)
    wait_for(lambda: states(github, second) == ["pending", "success"], 30, what="second commit statuses")
    assert states(github, first) == ["pending", "success"]


def test_restart_posts_a_changed_outcome(world, github):
    """The commit failed before the restart; after it, the same commit succeeds: success is posted."""
    world.repo.write("functions/orders.yaml", function_manifest("orders"))
    world.repo.commit("orders")
    world.configure(interval="1s", backoff_max="60s")
    notify_config(world, api_url=github.url)
    d = world.start()
    world.wait_aliases("orders", {"Prod": "1", "Test": "2"}, timeout=30)
    world.emu.inject("error", operation="UpdateAlias", count=1000, status=500, code="ServiceException")
    world.repo.write("functions/orders.yaml", function_manifest("orders", prod="v2"))
    sha = world.repo.commit("promote")
    wait_for(lambda: states(github, sha) == ["pending", "failure"], 60, what="failure")
    d.stop(timeout=20)
    world.emu.clear_faults()
    world.start()
    world.wait_aliases("orders", {"Prod": "2", "Test": "2"}, timeout=60)
    wait_for(lambda: states(github, sha) == ["pending", "failure", "success"], 30, what="success after restart")


def canary(release):
    return rollout_manifest("canary", release, "{steps: [50], interval: 10m}")


def test_superseded_pending_commit_gets_error(world, github):
    world.repo.write("functions/canary.yaml", canary("v1"))
    world.repo.commit("canary on v1")
    world.configure(interval="1s")
    notify_config(world, api_url=github.url)
    d = world.start()
    world.wait_aliases("canary", {"Prod": "1"}, timeout=30)

    world.repo.write("functions/canary.yaml", canary("v2"))
    started = world.repo.commit("canary to v2: a 10 minute step")
    wait_for(lambda: states(github, started)[-1:] == ["pending"] and
             world.emu.client().get_alias(FunctionName="canary", Name="Prod").get("RoutingConfig"),
             30, what="the rollout's step")

    world.repo.write("functions/canary.yaml", canary("v1"))
    revert = world.repo.commit("revert: canary back to v1")
    wait_for(lambda: states(github, revert)[-1:] == ["success"], 30, what="the revert's success")
    posts = [p["body"] for p in github.status_posts() if p["path"].endswith(started)]
    assert [p["state"] for p in posts][-1] == "error", posts
    assert all(p["state"] == "pending" for p in posts[:-1]), posts
    assert posts[-1]["description"] == f"superseded by {revert[:7]} before its outcome was known"
    rc, _ = d.stop(timeout=20)
    assert rc == 0, d.log_text()[-3000:]
