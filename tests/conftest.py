"""Shared pytest fixtures for aliasd's integration tests (see tests/README.md)."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))


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
