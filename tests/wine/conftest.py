"""The wine tier: ShareGuard's Windows code in a real Windows Python under Wine.

One Wine prefix, one wineserver and one Xvfb desktop (openbox + trayer) serve the
whole tier; each test opens its own Win32 windows and closes them. See
tests/support/wine.py for the Wine limits the harness works around.
"""

import pytest

from tests.support import wine


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/wine/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.wine)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def windesk():
    """(Wine env, X session, environment for Wine runs on that display).

    Skips locally / fails in CI without Wine or a pinned download. Wine's desktop
    and tray (explorer.exe) start on this display, so the tray icon docks in trayer.
    """
    from tests.support.xsession import x_session
    env = wine.provisioned()
    with x_session(wm=True, tray=True) as session:
        environ = env.env(DISPLAY=session.display)
        server = env.keep_server(environ)
        try:
            yield env, session, environ
        finally:
            env.stop()
            server.wait(timeout=60)


@pytest.fixture(scope="session")
def winenv(windesk):
    """The Wine env alone; its runs see the session's display."""
    env, _session, environ = windesk
    env.default_env = environ
    return env
