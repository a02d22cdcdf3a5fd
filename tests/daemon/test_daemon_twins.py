"""One function declared twice under two spellings (issue 15 finding 1): the daemon applies neither
declaration, shows both errors, applies the rest; with aws.region known, a bare name and an ARN in
another region are two functions."""
import signal
import time

import pytest

from daemon_helpers import World, function_manifest, wait_for

ARN = "arn:aws:lambda:us-east-1:123456789012:function:twin"


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def test_daemon_applies_neither_twin(world):
    world.repo.write("functions/a.yaml", function_manifest("twin"))
    world.repo.write("functions/b.yaml", function_manifest(ARN, prod="v2"))
    world.repo.write("functions/good.yaml", function_manifest("good"))
    world.repo.commit("twins and a good one")
    d = world.start(interval="1s")
    world.wait_aliases("good", {"Prod": "1", "Test": "2"}, timeout=20)
    st = wait_for(lambda: (lambda s: s if s.get("errorCount", 0) >= 2 else None)(d.status()), 10,
                  what="both twins reported")
    errs = [e for e in st["errors"] if "declared more than once" in e]
    assert any(e.startswith("functions/a.yaml:") for e in errs), st["errors"]
    assert any(e.startswith("functions/b.yaml:") for e in errs), st["errors"]
    d.signal(signal.SIGUSR1)  # a resync: still nothing for the twins
    time.sleep(2)
    lam = world.emu.client()
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="twin")
