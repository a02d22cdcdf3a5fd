"""Fixtures for the Lambda emulator conformance suite.

Run with:  /usr/bin/python3 -m pytest -q tests/emulator
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from emulator import Emulator  # noqa: E402


@pytest.fixture(scope="module")
def emu_module():
    with Emulator(update_delay=0.3) as emu:
        yield emu


@pytest.fixture
def emu(emu_module):
    """The module's emulator, reset to an empty state with default settings."""
    emu_module.reset()
    emu_module.configure(update_delay=0.3, page_size=50, latency_ms=0, quota=False,
                         throttle_rate=0, error_rate=0, reset_rate=0, lose_rate=0,
                         fault_operations=None, verify_signatures=True, validate_zip=True,
                         error_style="plain", code_storage_limit=75 * 1024 ** 3)
    yield emu_module


@pytest.fixture
def lam(emu):
    return emu.client()
