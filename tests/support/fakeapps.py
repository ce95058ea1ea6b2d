"""Real processes and real X windows that look like the apps ShareGuard watches.

- :func:`start_fake_process` copies ``/bin/sh`` under the target's name
  (``rustdesk``, ``ToDesk_Service``) into a temp dir and runs it with the
  given arguments, so psutil sees the real name, exe and argv
  (``rustdesk --cm``). The shell blocks on a builtin ``read`` from a pipe we
  hold: no child process, and it exits by itself if the test dies.
- :func:`open_window` starts a small python-xlib program that shows a
  top-level window with a title, WM_CLASS and ``_NET_WM_PID`` (its own pid,
  or a given one so the window "belongs" to a fake app), and obeys commands
  (retitle, minimize, unmap, map) from the test.

Both are reusable by any GUI test (e.g. the UI helper's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, Mapping, Optional, Sequence, Union

_SH = "/bin/sh"


def start_fake_process(name: str, args: Sequence[str] = (), directory: Optional[str] = None,
                       env: Optional[Mapping[str, str]] = None) -> subprocess.Popen:
    """Start a real, idle process named ``name`` whose argv is ``[path, *args]``.

    psutil then reports ``name() == name`` (up to the kernel's 15-character
    comm; exe() and cmdline()[0] carry the full name) and ``args`` in
    ``cmdline()``. Stop it with ``proc.terminate()`` (or :func:`stop`).
    """
    directory = directory or tempfile.mkdtemp(prefix="sg-fake-")
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        shutil.copy2(_SH, path)
        os.chmod(path, 0o755)
    # `sh -c SCRIPT` treats the next words as $0 $1 ...: the app's own arguments
    # stay in argv untouched. `read` is a builtin, so no child replaces us.
    argv = [path, "-c", "read _ || :", *args]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(env) if env is not None else None)
    proc.fake_dir = directory  # type: ignore[attr-defined]
    _wait_exec(proc.pid, path)
    return proc


def _wait_exec(pid: int, path: str, timeout: float = 5.0) -> None:
    # Popen returns after fork; wait until the exec is visible in /proc.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # exe switches before argv is in place: wait for both.
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0]
            if os.readlink(f"/proc/{pid}/exe") == path and argv0 == os.fsencode(path):
                return
        except OSError:
            pass
        time.sleep(0.01)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a fake process and reap it (no zombie left behind)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            stream.close()


class FakeWindow:
    """Handle of a window shown by :func:`open_window`."""

    def __init__(self, proc: subprocess.Popen, window_id: int) -> None:
        self.proc = proc
        self.window_id = window_id
        self.pid = proc.pid  # the process that owns the X connection

    def _send(self, *words: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(("\t".join(words) + "\n").encode("utf-8"))
        self.proc.stdin.flush()
        line = _readline(self.proc, 15.0)
        if line.strip() != b"ok":
            raise RuntimeError(f"window helper did not acknowledge {words!r}: {line!r}")

    def set_title(self, title: str) -> None:
        """Change _NET_WM_NAME and WM_NAME."""
        self._send("title", title)

    def minimize(self) -> None:
        """Ask the window manager to iconify (ICCCM WM_CHANGE_STATE)."""
        self._send("minimize")

    def unmap(self) -> None:
        """Unmap the window (hidden without a window manager)."""
        self._send("unmap")

    def map(self) -> None:
        """Map the window again."""
        self._send("map")

    def close(self) -> None:
        """Destroy the window and end its process."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> "FakeWindow":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_window(session: Union[str, object], title: str, wm_class: str = "FakeApp",
                pid: Optional[int] = None, instance: Optional[str] = None,
                override_redirect: bool = False, timeout: float = 10.0) -> FakeWindow:
    """Show a real top-level X window and return its handle once it is mapped.

    ``session`` is a tests.support.xsession.XSession or a DISPLAY string.
    ``pid`` goes into ``_NET_WM_PID`` (default: the window process's own).
    ``instance`` is the WM_CLASS instance part (default: ``wm_class`` lowercased).
    """
    env: Dict[str, str] = dict(getattr(session, "env", None) or os.environ)
    if isinstance(session, str):
        env["DISPLAY"] = session
    args = [sys.executable, os.path.abspath(__file__), "window", title, wm_class,
            str(pid or 0), instance or wm_class.lower(), "1" if override_redirect else "0"]
    proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = _readline(proc, timeout)
    if not line.startswith(b"mapped "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"window helper failed to show {title!r}: {line!r}")
    return FakeWindow(proc, int(line.split()[1]))


def _readline(proc: subprocess.Popen, timeout: float) -> bytes:
    import select
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        return b""
    return proc.stdout.readline()


# -- the window program (runs in its own process) ---------------------------
def _window_main(title: str, wm_class: str, pid: int, instance: str, override_redirect: bool) -> None:
    from Xlib import X, Xatom, display

    disp = display.Display()
    screen = disp.screen()
    atom = disp.intern_atom
    win = screen.root.create_window(40, 40, 320, 200, 0, screen.root_depth, X.InputOutput,
                                    X.CopyFromParent, background_pixel=screen.white_pixel,
                                    override_redirect=bool(override_redirect),
                                    event_mask=X.StructureNotifyMask)

    def set_title(text: str) -> None:
        data = text.encode("utf-8")
        win.change_property(atom("_NET_WM_NAME"), atom("UTF8_STRING"), 8, data)
        win.change_property(Xatom.WM_NAME, atom("UTF8_STRING"), 8, data)

    set_title(title)
    win.set_wm_class(instance, wm_class)
    win.change_property(atom("_NET_WM_PID"), Xatom.CARDINAL, 32, [pid or os.getpid()])
    win.change_property(atom("WM_PROTOCOLS"), Xatom.ATOM, 32, [atom("WM_DELETE_WINDOW")])

    def wait_mapped(want: bool) -> None:
        for _ in range(500):
            if (win.get_attributes().map_state == X.IsViewable) == want:
                return
            time.sleep(0.01)

    win.map()
    disp.sync()
    wait_mapped(True)
    out = sys.stdout.buffer
    out.write(f"mapped {win.id}\n".encode())
    out.flush()
    for raw in sys.stdin.buffer:
        words = raw.decode("utf-8").rstrip("\n").split("\t")
        cmd = words[0]
        if cmd == "title":
            set_title(words[1])
        elif cmd == "minimize":
            from Xlib.protocol import event
            ev = event.ClientMessage(window=win, client_type=atom("WM_CHANGE_STATE"), data=(32, [3, 0, 0, 0, 0]))
            screen.root.send_event(ev, event_mask=X.SubstructureRedirectMask | X.SubstructureNotifyMask)
            disp.sync()
            wait_mapped(False)
        elif cmd == "unmap":
            win.unmap()
            disp.sync()
            wait_mapped(False)
        elif cmd == "map":
            win.map()
            disp.sync()
            wait_mapped(True)
        disp.sync()
        out.write(b"ok\n")
        out.flush()
    win.destroy()
    disp.sync()


if __name__ == "__main__" and len(sys.argv) == 7 and sys.argv[1] == "window":
    _window_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6] == "1")
