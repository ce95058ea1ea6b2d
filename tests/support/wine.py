"""Run ShareGuard's Windows code for real: a Windows Python under Wine (tests/wine/).

The Windows Python, wheels and Wine prefix are provisioned by tools/wine_env.py
(pinned, cached under build/wine/). Outside CI a missing Wine or download skips
the wine tier; in CI (``CI=true``) it fails, like every other missing tool.

Wine 8 limits this harness works around, each named where it is handled:
- a standard stream that is a plain file kills the Windows Python at start:
  every run here uses pipes or /dev/null (:meth:`WineEnv.run`, :class:`WinApp`);
- ``platform.win32_ver()`` would start winedbg and hang: ``winedbg.exe=d``
  (tools/wine_env.py ``WINE_ENV``);
- psutil cannot read process names: tests/wine/winside/harness.py falls back
  to ``QueryFullProcessImageNameW``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import threading
from typing import Dict, Iterator, List

from tests.support.xsession import require
from tools import wine_env
from tools.wine_env import WineEnv, to_windows

ROOT = wine_env.ROOT
WINSIDE = os.path.join(ROOT, "tests", "wine", "winside")
HARNESS = to_windows(os.path.join(WINSIDE, "harness.py"))
FAKE_WINDOW = to_windows(os.path.join(WINSIDE, "fake_window.py"))


def provisioned(build_tools: bool = False) -> WineEnv:
    """The pinned Windows Python under Wine; skips locally, fails in CI, when it cannot be had."""
    try:
        return wine_env.provision(build_tools=build_tools)
    except wine_env.WineUnavailable as exc:
        require(False, f"Windows Python under Wine unavailable: {exc}")
        raise  # not reached: require() skipped or failed


def app_exe(env: WineEnv, exe_name: str, flavour: str = "embed") -> str:
    """The Windows python.exe copied as ``exe_name`` (chrome.exe, Zoom.exe...) next to the original.

    A copy (not a link) so Windows, psutil and Wine all report the app's name;
    it sits beside python313.dll so it starts like python.exe does.
    """
    path = os.path.join(env.python_dir(flavour), exe_name)
    if not os.path.isfile(path):
        shutil.copyfile(env.python_exe(flavour), path)
    return path


class WinApp:
    """A real Win32 top-level window inside a Windows process named ``exe_name``."""

    def __init__(self, env: WineEnv, exe_name: str, title: str, wm_class: str,
                 wine_environ: Dict[str, str], size: str = "640x400") -> None:
        self.exe_name = exe_name
        self.title = title
        # stdin/stdout are pipes: Wine's Python dies on a plain-file standard stream.
        self.proc = subprocess.Popen(
            [wine_env.WINE, app_exe(env, exe_name), FAKE_WINDOW, "--title", title, "--class", wm_class,
             "--size", size],
            env=wine_environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self.stdin, self.stdout, self.stderr = self.proc.stdin, self.proc.stdout, self.proc.stderr
        self._lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        line = self._next(60)
        if not line.startswith("ready "):
            err = self.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            raise AssertionError(f"{exe_name} window did not start: {line!r} {err[-2000:]}")
        _, hwnd, pid = line.split()
        self.hwnd, self.pid = int(hwnd), int(pid)

    def _pump(self) -> None:
        for raw in self.stdout:
            self._lines.put(raw.decode("utf-8", "replace").strip())
        self._lines.put("<eof>")

    def _next(self, timeout: float) -> str:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return "<timeout>"

    def command(self, line: str, timeout: float = 20) -> None:
        """Send ``title <text>`` / ``front`` and wait until the window did it."""
        self.stdin.write(line.encode("utf-8") + b"\n")
        self.stdin.flush()
        got = self._next(timeout)
        assert got == "done " + line.split(" ", 1)[0], f"{self.exe_name}: {line!r} -> {got!r}"

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stdin.close()  # end of stdin: the window quits
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@contextlib.contextmanager
def win_apps(env: WineEnv, wine_environ: Dict[str, str], *specs) -> Iterator[List[WinApp]]:
    """Start ``(exe_name, title, wm_class)`` windows; close them all afterwards."""
    apps: List[WinApp] = []
    try:
        for exe_name, title, wm_class in specs:
            apps.append(WinApp(env, exe_name, title, wm_class, wine_environ=wine_environ))
        yield apps
    finally:
        for app in apps:
            app.close()


def python_launcher(env: WineEnv, flavour: str = "tk") -> str:
    """A tiny shell script that runs the Windows python (``flavour``) under Wine with its arguments.

    agent.responders.ui_client starts its helper as ``<python> -m agent.ui.helper``; handing it this
    launcher as ``python`` runs the real Windows helper (Tk warning, pystray win32 tray)
    behind the unchanged pipe protocol.
    """
    path = os.path.join(env.base, f"python-{flavour}.sh")
    body = f'#!/bin/sh\nexec "{wine_env.WINE}" "{env.python_exe(flavour)}" "$@"\n'
    if not os.path.isfile(path) or open(path, encoding="utf-8").read() != body:
        with open(path, "w", encoding="utf-8") as f:
            f.write(body)
        os.chmod(path, 0o755)
    return path


def start_windows_ui(env: WineEnv, environ: Dict[str, str], lang: str, log_dir: str, tray: bool = True, **policy):
    """A UiClient whose helper is the Windows Python with Tk under Wine; waits for it to be ready."""
    from agent.responders.ui_client import UiClient

    policy.setdefault("countdown_seconds", 10)
    ui = UiClient(policy, lang, python=python_launcher(env), env=environ, log_dir=log_dir, tray=tray)
    events: List = []
    ui.start(events.append)
    ready = ui.wait_report(lambda m: m.get("type") == "ready", 120)
    return ui, ready


def decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


