"""Window-level checks of the warning built ahead (run by tests/gui/test_warning_prebuilt.py).

    python -m tests.gui.prebuilt_checks SCENARIO LANG     (DISPLAY: an openbox desktop, 1280x800)

Each scenario drives an agent.ui.warning_window.WarningWindow in this process's
own Tk and fails with an AssertionError; it runs in a child process because
Tk exits the process hosting it when its display goes away.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tkinter as tk

from agent.ui import messages
from agent.ui.warning_window import WarningWindow
from tests.support import waiting

TAB_VIEW = {"alert": True, "alert_key": "tab", "frozen": [],
            "blocking": [{"app": "chromium", "name": "Chromium", "kind": "browser", "state": "sharing",
                          "surface": "browser", "pids": [1]}],
            "sensitive": [{"id": "icbc", "name": "中国工商银行", "name_en": "ICBC", "category": "bank",
                           "site": "icbc.com.cn", "shared": True}]}
REMOTE_VIEW = {"alert": True, "alert_key": "remote", "frozen": ["AnyDesk"],
               "blocking": [{"app": "anydesk", "name": "AnyDesk", "kind": "remote_control", "state": "in_session",
                             "pids": [2]}],
               "sensitive": [{"id": "ccb", "name": "中国建设银行", "name_en": "CCB", "category": "bank"}]}
LONG_IT = "公司 IT 部门提醒：" + "请勿在远程会话中登录网银，如有疑问请联系信息安全部门。" * 3


def _x(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=check, timeout=10)


def _spin(root, predicate, what, timeout=10.0):
    """Run Tk's event loop until ``predicate()`` holds."""
    def check():
        root.update()
        return predicate()
    return waiting.wait_until(check, timeout, what)


def _detected(view, lang):
    return "\n".join("\u25cf " + line for line in messages.detected_lines(view, lang))


def _config(lang, **extra):
    return dict({"lang": lang, "countdown_seconds": 10, "hotlines": ["96110"]}, **extra)


def hidden_build(root, lang):
    win = WarningWindow(root, lambda choice, key: None, lambda report: None)
    config = _config(lang)
    win.prepare(config)
    root.update_idletasks()
    built = list(win.windows)
    assert built and all(w.state() == "withdrawn" for w in built) and not win.showing
    assert not _x("xdotool", "search", "--onlyvisible", "--class", "ShareGuardWarning", check=False).stdout.strip()

    win.show(TAB_VIEW, config)
    assert win.windows == built  # filled in, not built again
    _spin(root, lambda: built[0].winfo_ismapped() and win.mapped_at is not None, "the warning mapped")
    assert win.widgets["detected"].cget("text") == _detected(TAB_VIEW, lang)

    # Tk hands the states to the window manager with the first map (they were set while withdrawn).
    def states():
        found = _x("xdotool", "search", "--onlyvisible", "--class", "ShareGuardWarning", check=False).stdout.split()
        return [_x("xprop", "-id", wid, "_NET_WM_STATE").stdout for wid in found]
    waiting.wait_until(lambda: any("_NET_WM_STATE_FULLSCREEN" in s and "_NET_WM_STATE_ABOVE" in s
                                   for s in states()), 10, "a full-screen, on-top warning")
    _spin(root, lambda: (built[0].winfo_rootx(), built[0].winfo_rooty(), built[0].winfo_width(),
                         built[0].winfo_height()) == (0, 0, 1280, 800), "the warning over the whole screen")
    win.close()


def second_alert(root, lang):
    win = WarningWindow(root, lambda choice, key: None, lambda report: None)
    config = _config(lang, custom_message="IT: call 1234", help_url="https://it.example.com/a")
    win.prepare(config)
    win.show(TAB_VIEW, config)
    _spin(root, lambda: win.mapped_at is not None, "first warning mapped")
    tab_line = messages.describe_sensitive(TAB_VIEW["sensitive"][0], lang)
    assert tab_line in win.widgets["detected"].cget("text")
    assert "icbc.com.cn" in win.widgets["detected"].cget("text")
    win._hotline()  # the hotline button changes a text: it must not carry over either
    first = list(win.windows)

    win.hide()
    _spin(root, lambda: win.windows and not win.showing, "the next warning built hidden")
    assert not set(win.windows) & set(first)
    second = _config(lang)  # the policy's IT message and help URL are gone
    win.show(REMOTE_VIEW, second)
    _spin(root, lambda: win.mapped_at is not None, "second warning mapped")
    w = win.widgets
    assert w["detected"].cget("text") == _detected(REMOTE_VIEW, lang)
    assert "icbc.com.cn" not in w["detected"].cget("text") and tab_line not in w["detected"].cget("text")
    assert "AnyDesk" in w["frozen"].cget("text")
    assert not w["custom"].winfo_ismapped() and w["custom"].cget("text") == ""
    assert "it.example.com" not in w["hotline_text"].cget("text") and "96110" in w["hotline_text"].cget("text")
    # The third, without anything frozen, has no frozen line left from the second.
    win.hide()
    _spin(root, lambda: win.windows and not win.showing, "the third warning built hidden")
    win.show(dict(TAB_VIEW, alert_key="tab2"), second)
    _spin(root, lambda: win.mapped_at is not None, "third warning mapped")
    assert win.widgets["frozen"].cget("text") == ""
    assert "AnyDesk" not in win.widgets["detected"].cget("text")
    win.close()


def full_size_again(root, lang):
    """The hidden build is fitted to the texts it had; an alert is fitted to its own from full size."""
    reference = WarningWindow(root, lambda choice, key: None, lambda report: None)
    reference.show(REMOTE_VIEW, _config(lang))  # built for these texts from scratch
    full = {name: widget.cget("font") for name, widget in reference.widgets.items()}
    reference.close()

    win = WarningWindow(root, lambda choice, key: None, lambda report: None)
    config = _config(lang, custom_message=LONG_IT * 4)
    win.prepare(config)
    win.show(dict(REMOTE_VIEW, alert_key="long"), config)
    assert any(win.widgets[n].cget("font") != full[n] for n in full), "the long message should shrink the type"
    win.close()
    win = WarningWindow(root, lambda choice, key: None, lambda report: None)
    win.prepare(config)  # built and fitted while the policy still had the long message
    win.show(REMOTE_VIEW, _config(lang))
    assert {name: widget.cget("font") for name, widget in win.widgets.items()} == full
    win.close()


SCENARIOS = {"hidden_build": hidden_build, "second_alert": second_alert, "full_size_again": full_size_again}


def main() -> int:
    name, lang = sys.argv[1], sys.argv[2]
    assert os.environ.get("DISPLAY"), "needs DISPLAY"
    root = tk.Tk()
    root.withdraw()
    SCENARIOS[name](root, lang)
    print(f"ok {name} {lang}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
