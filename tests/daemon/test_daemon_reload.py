"""SIGHUP: a valid config is taken (new webhook secret, new interval); an
invalid one is refused, the old one kept, the daemon keeps running."""
import signal

import pytest

from daemon_helpers import World, function_manifest, wait_for


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    w.repo.write("functions/fn.yaml", function_manifest("shipping"))
    w.repo.commit("shipping")
    yield w
    w.close()


def test_sighup_reload(world):
    d = world.start(interval="60s")
    world.wait_state("shipping", "Synced", timeout=20)

    # invalid config: refused with file:line:col, old one kept
    with open(world.config) as f:
        good = f.read()
    with open(world.config, "w") as f:
        f.write(good.replace("interval: 60s", "interval: soon"))
    n = len(d.notify.all())
    d.signal(signal.SIGHUP)
    wait_for(lambda: "config reload refused" in d.log_text(), 5, what="reload refused")
    assert "aliasd.yaml:5:13: repository.interval:" in d.log_text()
    wait_for(lambda: d.notify.has("RELOADING=1"), 5, what="RELOADING=1")
    assert d.proc.poll() is None
    assert d.get("/healthz")[0] == 200
    # the old secret still works
    assert d.post_hook(b"{}", secret=world.secret, event="ping") == 200

    # valid config: new secret, 1 s interval
    new_secret = b"rotated secret"
    new_file = world.tmp + "/webhook-secret-2"
    with open(new_file, "wb") as f:
        f.write(new_secret)
    world.configure(interval="1s", secret_file=new_file)
    d.signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in d.log_text(), 5, what="config reloaded")
    # aliasd sends READY=1 just after logging "config reloaded": wait for it to arrive
    # (after the last RELOADING=1, this reload's)
    msgs = wait_for(lambda: (lambda m: m if "READY=1" in m[len(m) - m[::-1].index("RELOADING=1"):] else None)(
        d.notify.all()[n:]), 5, what="READY=1 after RELOADING=1")
    assert "RELOADING=1" in msgs and msgs.index("RELOADING=1") < len(msgs) - 1
    assert d.post_hook(b"{}", secret=world.secret, event="ping") == 401
    assert d.post_hook(b"{}", secret=new_secret, event="ping") == 200
    # and the new 1 s interval polls a promotion without any webhook
    world.repo.write("functions/fn.yaml", function_manifest("shipping", prod="v2"))
    world.repo.commit("promote")
    world.wait_aliases("shipping", {"Prod": "2", "Test": "2"}, timeout=2.2)
    rc, took = d.stop()
    assert rc == 0 and took < 5


def test_invalid_config_at_start_fails(world, aliasd_bin):
    world.configure(interval="1s")
    with open(world.config, "a") as f:
        f.write("colour: blue\n")
    d = world.start(wait_ready=False)
    rc = d.proc.wait(timeout=10)
    assert rc == 1
    assert "aliasd.yaml:" in d.log_text() and "colour: unknown key" in d.log_text()
    assert not d.notify.has("READY=1")


def test_listen_address_in_use(world):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", world.port))
    s.listen(1)
    try:
        d = world.start(wait_ready=False, interval="1s")
        rc = d.proc.wait(timeout=10)
        assert rc == 1
        assert "cannot listen on 127.0.0.1:%d" % world.port in d.log_text()
    finally:
        s.close()


def test_world_moves_off_a_port_taken_before_aliasd_binds(world):
    """The harness's free_port() race: the port is taken between its choice
    and aliasd's bind; World.start() starts aliasd again on another port."""
    import socket
    taken = world.port
    s = socket.socket()
    s.bind(("127.0.0.1", taken))
    s.listen(1)
    try:
        d = world.start(interval="1s")
        assert world.port != taken and d.port == world.port
        assert d.get("/healthz") == (200, "ok\n")
        assert "listen: 127.0.0.1:%d\n" % world.port in open(world.config).read()
    finally:
        s.close()
