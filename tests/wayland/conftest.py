"""Fixtures of the Wayland tier: one throwaway user for the whole run (tests/support/wayland.py)."""

import sys

import pytest


@pytest.fixture(scope="session")
def wl_user():
    """A user created for this run (sway refuses root); deleted, its processes ended, at the end."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Wayland is Linux only")
    from tests.support.wayland import require_root_and, throwaway_user
    require_root_and()
    with throwaway_user() as user:
        yield user
