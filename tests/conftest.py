"""Shared pytest fixtures for aliasd's integration tests (see tests/README.md)."""
import atexit
import os
import shutil
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))

# aliasd's Git cache ($XDG_CACHE_HOME/aliasd, else ~/.cache/aliasd) for every test
# that does not choose its own: a fresh directory per pytest process (per xdist
# worker), never the real home, never shared with a parallel run.
_CACHE = tempfile.mkdtemp(prefix="aliasd-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


def _build_dir():
    return os.path.join(ROOT, os.environ.get("BUILD", "build"))


@pytest.fixture(scope="session")
def root_dir():
    return ROOT


@pytest.fixture(scope="session")
def build_dir():
    return _build_dir()


@pytest.fixture(scope="session")
def aliasd_bin():
    path = os.environ.get("ALIASD_BIN") or os.path.join(_build_dir(), "aliasd")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make first")
    return path


@pytest.fixture
def emulator():
    from emulator import Emulator  # tests/emulator/emulator.py

    with Emulator() as emu:
        yield emu



# Parallel runs (pytest-xdist, `--dist loadgroup`, as tests/run.sh does).
# A module- or class-scoped fixture is set up once per worker that runs a test
# of that module: its tests stay on one worker (one xdist group per module), so
# the expensive setup (e.g. the .deb build) happens once and never twice at the
# same time.  A test or module that already names its own xdist_group keeps it.
# The longest areas (the package build, the daemon tests) are handed out
# first, so that the short tests fill the end of the run.
#
# A test marked `serial` measures wall-clock time against a tight bound (or
# loads the machine itself): tests/run.sh runs those alone, after the parallel
# pass, on a machine quiet of our other tests.  ALIASD_TESTS_PASS=parallel
# selects every test but those, ALIASD_TESTS_PASS=serial only those; unset,
# every test runs.
_FIRST = ("pkg", "daemon")
_PASS = os.environ.get("ALIASD_TESTS_PASS", "")


def pytest_configure(config):
    # known without pytest-xdist too (a serial run ignores it)
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")
    config.addinivalue_line("markers", "serial: needs a machine quiet of other tests (tests/run.sh runs "
                            "it after the parallel pass)")


def _wide_scope(item):
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for defs in info.name2fixturedefs.values():
        if any(d.scope in ("module", "class", "package") for d in defs):
            return True
    return False


def _area_rank(item):
    rel = os.path.relpath(str(item.fspath), os.path.join(ROOT, "tests"))
    area = rel.split(os.sep)[0]
    return _FIRST.index(area) if area in _FIRST else len(_FIRST)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if _PASS in ("parallel", "serial"):
        want_serial = _PASS == "serial"
        keep = [i for i in items if (i.get_closest_marker("serial") is not None) == want_serial]
        dropped = [i for i in items if (i.get_closest_marker("serial") is not None) != want_serial]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _wide_scope(item):
            item.add_marker(pytest.mark.xdist_group(name=item.nodeid.split("::")[0]))
    items.sort(key=_area_rank)  # stable: a module's tests keep their order
