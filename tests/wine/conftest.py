"""The wine tier: ShareGuard's Windows code in a real Windows Python under Wine.

One Wine prefix and one Xvfb desktop (openbox) serve the whole tier; each test
opens its own Win32 windows and closes them. See tests/support/wine.py for the
Wine limits the harness works around.
"""

import pytest

from tests.support import wine


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/wine/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.wine)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def winenv():
    """The provisioned Windows Python + Wine prefix (skips locally / fails in CI without it)."""
    env = wine.provisioned()
    yield env
    env.stop()


@pytest.fixture(scope="session")
def windesk(winenv):
    """(Wine env, X session with openbox, environment for Wine runs on that display)."""
    from tests.support.xsession import x_session
    with x_session(wm=True) as session:
        environ = winenv.env(DISPLAY=session.display)
        yield winenv, session, environ
        winenv.stop()  # Windows processes drawing on this display end with it
