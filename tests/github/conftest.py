"""Fixtures for the fake GitHub API and webhook receiver (tests/github/githubfake.py).

Run with:  /usr/bin/python3 -m pytest -q tests/github
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from githubfake import FakeGitHub, WebhookReceiver  # noqa: E402


@pytest.fixture
def github():
    with FakeGitHub() as gh:
        yield gh


@pytest.fixture
def hook():
    with WebhookReceiver() as h:
        yield h
