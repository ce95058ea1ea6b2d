"""A real X session for tests: Xvfb plus, on request, openbox, trayer and dunst.

Tests that need a display use :func:`x_session` (or the ``xsession`` fixture
in tests/conftest.py). Outside CI a missing program skips the test; in CI
(``CI=true``) it fails, because a GUI test that silently skips proves nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when ``condition`` is false."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required for this test in CI: {why}")
    pytest.skip(why)


def require_programs(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    require(not missing, "missing programs: " + ", ".join(missing) + " (run .ci/run or apt-get install them)")


@dataclass
class XSession:
    display: str
    env: Dict[str, str]
    workdir: str
    procs: List[subprocess.Popen] = field(default_factory=list)

    def run(self, *cmd: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
        """Run a command against this display and return its result."""
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, check=check, timeout=timeout)

    def screenshot(self, path: str) -> str:
        """Save the whole virtual screen as PNG at ``path``."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.run("import", "-window", "root", path, timeout=30)
        return path

    def wait_for_window(self, *, name: Optional[str] = None, wm_class: Optional[str] = None,
                        timeout: float = 15.0) -> List[int]:
        """Wait until xdotool finds a window by name or class regex; return their ids."""
        args = ["xdotool", "search"]
        if name is not None:
            args += ["--name", name]
        else:
            args += ["--class", wm_class or ""]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            res = self.run(*args, check=False)
            ids = [int(x) for x in res.stdout.split()]
            if ids:
                return ids
            time.sleep(0.1)
        raise AssertionError(f"no window matching name={name!r} class={wm_class!r} within {timeout}s")

    def start(self, *cmd: str, env: Optional[Dict[str, str]] = None, log: Optional[str] = None) -> subprocess.Popen:
        """Start a long-running helper on this display; it is stopped at teardown."""
        out = open(os.path.join(self.workdir, (log or os.path.basename(cmd[0])) + ".log"), "ab")
        proc = subprocess.Popen(list(cmd), env=env or self.env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc


def _display_answers(display: str) -> bool:
    try:
        from Xlib import display as xdisplay

        xdisplay.Display(display).close()
        return True
    except Exception:
        return False


def _start_xvfb(workdir: str, size: str, attempts: int = 3) -> subprocess.Popen:
    """Start Xvfb and make sure its display answers.

    Xvfb picks a free display number from /tmp/.X*-lock files; on a busy
    machine where something cleans /tmp, two servers can pick the same one
    and the second dies. So check that ours is alive and answering, and try
    again (with a new number) if not.
    """
    last = ""
    for _ in range(attempts):
        proc = _spawn_xvfb(workdir, size)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None:
            if _display_answers(proc.display):  # type: ignore[attr-defined]
                return proc
            time.sleep(0.05)
        last = f"Xvfb on {getattr(proc, 'display', '?')} exited {proc.poll()} or did not answer"
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    raise RuntimeError(f"{last} after {attempts} attempts; see {workdir}/Xvfb.log")


def _spawn_xvfb(workdir: str, size: str) -> subprocess.Popen:
    read_fd, write_fd = os.pipe()
    log = open(os.path.join(workdir, "Xvfb.log"), "ab")
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp", "-noreset",
         "+extension", "RANDR"],
        pass_fds=(write_fd,), stdout=log, stderr=subprocess.STDOUT,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        raise RuntimeError("Xvfb did not report a display number; see " + workdir + "/Xvfb.log")
    proc.display = ":" + number  # type: ignore[attr-defined]
    return proc


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


@contextlib.contextmanager
def x_session(*, wm: bool = False, tray: bool = False, notifications: bool = False,
              size: str = "1280x800x24") -> Iterator[XSession]:
    """Start Xvfb (and openbox / trayer / dunst on request); yield an XSession."""
    needed = ["Xvfb", "xdotool"] + (["openbox"] if wm else []) + (["trayer"] if tray else []) \
        + (["dunst", "dbus-launch"] if notifications else [])
    require_programs(*needed)
    workdir = tempfile.mkdtemp(prefix="sg-x-")
    xvfb = _start_xvfb(workdir, size)
    env = dict(os.environ, DISPLAY=xvfb.display)  # type: ignore[attr-defined]
    env.pop("WAYLAND_DISPLAY", None)
    session = XSession(display=xvfb.display, env=env, workdir=workdir, procs=[])  # type: ignore[attr-defined]
    try:
        if notifications:
            out = subprocess.run(["dbus-launch", "--sh-syntax"], env=env, capture_output=True, text=True,
                                 check=True).stdout
            for line in out.splitlines():
                if line.startswith("DBUS_SESSION_BUS_ADDRESS=") or line.startswith("DBUS_SESSION_BUS_PID="):
                    key, value = line.rstrip(";").split("=", 1)
                    env[key] = value.strip("'")
            session.bus_pid = int(env.get("DBUS_SESSION_BUS_PID", "0") or 0)  # type: ignore[attr-defined]
        if wm:
            session.start("openbox", "--sm-disable")
            _wait_until(lambda: "_NET_SUPPORTING_WM_CHECK" in session.run("xprop", "-root", check=False).stdout,
                        15, "openbox to manage the screen")
        if tray:
            session.start("trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                          "--height", "32", "--SetDockType", "true", "--transparent", "false", "--tint", "0x303030")
            _wait_until(lambda: bool(session.run("xdotool", "search", "--class", "trayer", check=False).stdout.strip()),
                        15, "trayer to dock")
        if notifications:
            session.start("dunst")
            time.sleep(0.5)
        yield session
    finally:
        for proc in reversed(session.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in session.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if proc.poll() is None:
                proc.kill()
        bus_pid = getattr(session, "bus_pid", 0)
        if bus_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(bus_pid, 15)
        xvfb.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            xvfb.wait(timeout=5)
        if xvfb.poll() is None:
            xvfb.kill()
