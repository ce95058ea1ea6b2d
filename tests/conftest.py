"""Shared fixtures. GUI/live helpers live in tests/support/."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture
def xsession():
    """A bare Xvfb display (no window manager)."""
    from tests.support.xsession import x_session
    with x_session() as session:
        yield session


@pytest.fixture
def desktop():
    """Xvfb with openbox, trayer and dunst: a small real desktop."""
    from tests.support.xsession import x_session
    with x_session(wm=True, tray=True, notifications=True) as session:
        yield session
