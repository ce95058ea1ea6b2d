"""Issue 12 bug 4: the frozen UI helper (``shareguardw.exe --ui-helper``) is ours.

A PyInstaller build has no ``python -m``: agent.responders.ui_client starts the helper as
``<exe> --ui-helper``. The self-filter must hide that process's windows (the
warning quotes bank names: unfiltered, the guard would alert on itself).
"""

import sys

from agent.collectors.self_filter import drop_own_windows, is_ui_helper, own_pids
from agent.model import ProcessInfo, WindowInfo

INSTALLED = r"C:\Program Files\ShareGuard\shareguardw.exe"


def test_the_command_a_frozen_build_starts_is_recognised(monkeypatch):
    from agent.responders.ui_client import helper_command

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", INSTALLED)
    assert is_ui_helper(tuple(helper_command()))


def test_frozen_helpers_on_every_platform_and_lookalikes():
    assert is_ui_helper((INSTALLED, "--ui-helper"))
    assert is_ui_helper((r"C:\Program Files\ShareGuard\shareguard.exe", "--ui-helper"))
    assert is_ui_helper(("/Applications/ShareGuard.app/Contents/MacOS/shareguard", "--ui-helper"))
    assert not is_ui_helper((r"C:\tools\notepad.exe", "--ui-helper"))   # only our executable
    assert not is_ui_helper((INSTALLED, "run", "--ui-helper"))           # only as its first argument
    assert not is_ui_helper((INSTALLED, "run"))


def test_frozen_helper_windows_are_dropped():
    procs = [ProcessInfo(pid=7, name="shareguardw.exe", cmdline=(INSTALLED, "--ui-helper"), user="PC\\ann"),
             ProcessInfo(pid=8, name="chrome.exe", cmdline=("chrome.exe",), user="PC\\ann")]
    pids = own_pids(procs, user="PC\\ann", self_pid=100)
    assert pids == frozenset({100, 7})
    warning = WindowInfo(pid=7, title="中国工商银行 ShareGuard warning", wm_class="TkTopLevel")
    bank = WindowInfo(pid=8, title="中国工商银行 - Google Chrome", wm_class="Chrome_WidgetWin_1")
    assert drop_own_windows([warning, bank], pids) == (bank,)
