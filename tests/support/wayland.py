"""A throwaway Wayland desktop for tests: its own user, runtime dir, session bus and PipeWire.

sway refuses to run as root and a desktop session belongs to one user, so each
session runs as a user created for this test run (``sgwl<pid>``, deleted at the
end) with its own ``XDG_RUNTIME_DIR`` (a temp dir, mode 0700) and its own
session bus (``dbus-daemon --session`` on a socket in that dir). Everything we
start is a :class:`subprocess.Popen` running as that user, and every process is
ended by its pid: first the ones we started (newest first), then any process
the bus or a portal started on its own (found by the user's uid, ended pid by
pid). The user's uid is unique to this run, so nothing else is touched.

The agent under test keeps running as root and reads the session the way it
would on a desktop: ``XDG_RUNTIME_DIR`` (PipeWire's socket), ``WAYLAND_DISPLAY``
and, on sway, ``SWAYSOCK``.

Outside CI a missing program or not being root skips; in CI it fails
(:func:`tests.support.xsession.require`).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional

import psutil

from agent.collectors._linux_wayland import load_pw_dump
from tests.support.fakeapps import stop as end_process
from tests.support.xsession import require, require_programs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
#: Set to a directory to save every pw-dump the tier reads there (to refresh tests/fixtures/pw-dump/).
RECORD_ENV = "SHAREGUARD_RECORD_PW_DUMP"

PROGRAMS_BASE = ("dbus-daemon", "pipewire", "wireplumber", "pw-dump", "gst-launch-1.0", "useradd", "userdel")
XDPW = "/usr/libexec/xdg-desktop-portal-wlr"
XDP = "/usr/libexec/xdg-desktop-portal"


def require_root_and(*programs: str) -> None:
    """Skip (locally) or fail (in CI) unless we are root and ``programs`` exist."""
    require(hasattr(os, "geteuid") and os.geteuid() == 0,
            "the Wayland tier creates a throwaway user and runs the desktop as it: run as root (as CI does)")
    require_programs(*PROGRAMS_BASE, *programs)
    # The D-Bus clients run under the system python (python3-dbus, python3-gi), not the venv.
    has_bindings = subprocess.run(["/usr/bin/python3", "-c", "import dbus, gi"], capture_output=True,
                                  timeout=30).returncode == 0 if os.path.exists("/usr/bin/python3") else False
    require(has_bindings, "/usr/bin/python3 lacks python3-dbus or python3-gi (run .ci/run or apt-get install them)")


@contextlib.contextmanager
def throwaway_user() -> Iterator[pwd.struct_passwd]:
    """A system user that exists only for this test run; deleted afterwards."""
    name = f"sgwl{os.getpid()}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True, timeout=30)
    try:
        yield pwd.getpwnam(name)
    finally:
        _end_user_processes(pwd.getpwnam(name).pw_uid)
        subprocess.run(["userdel", name], check=False, capture_output=True, timeout=30)


@dataclass
class WaylandSession:
    """One user's desktop session; :meth:`start` runs programs in it."""

    user: pwd.struct_passwd
    runtime: str
    env: Dict[str, str]
    procs: List[subprocess.Popen] = field(default_factory=list)
    #: Log file per started program (name -> path), for failure messages.
    logs: Dict[str, str] = field(default_factory=dict)

    def start(self, name: str, argv: List[str], env: Optional[Dict[str, str]] = None,
              stdout: Any = None) -> subprocess.Popen:
        """Start ``argv`` as the session's user; it is ended (by pid) at teardown."""
        log = os.path.join(self.runtime, name + ".log")
        self.logs[name] = log
        out = open(log, "ab")
        proc = subprocess.Popen(argv, env=dict(self.env, **(env or {})), cwd=self.runtime,
                                user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[],
                                stdin=subprocess.PIPE, stdout=stdout if stdout is not None else out,
                                stderr=out, start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        """End one started process by its pid (TERM, then KILL after 5 s)."""
        end_process(proc)

    def copy_in(self, path: str) -> str:
        """Copy a file into the runtime dir (the user cannot read the repository under /root)."""
        target = os.path.join(self.runtime, os.path.basename(path))
        shutil.copy(path, target)
        os.chown(target, self.user.pw_uid, self.user.pw_gid)
        return target

    def agent_env(self) -> Dict[str, str]:
        """What the agent (running as root) needs to look at this session."""
        keep = ("XDG_RUNTIME_DIR", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "XDG_CURRENT_DESKTOP", "SWAYSOCK")
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY",) + keep}
        env.update({k: self.env[k] for k in keep if k in self.env})
        return env

    def pw_dump(self, record_as: Optional[str] = None) -> List[Dict[str, Any]]:
        """The session's PipeWire graph, as ``pw-dump`` prints it (saved when recording)."""
        done = subprocess.run(["pw-dump"], env=self.agent_env(), capture_output=True, timeout=10, check=True)
        self._record(record_as, done.stdout)
        return load_pw_dump(done.stdout.decode("utf-8"))

    def sway_tree(self, record_as: Optional[str] = None) -> Any:
        """sway's window tree (GET_TREE) as the agent reads it (saved when recording)."""
        from agent.collectors._linux_sway import GET_TREE, SwayWindows

        raw = SwayWindows(self.env["SWAYSOCK"])._ask(GET_TREE)
        self._record(record_as, raw)
        return json.loads(raw)

    def _record(self, name: Optional[str], data: bytes) -> None:
        if name and os.environ.get(RECORD_ENV):
            os.makedirs(os.environ[RECORD_ENV], exist_ok=True)
            with open(os.path.join(os.environ[RECORD_ENV], name + ".json"), "wb") as f:
                f.write(data)

    def wait_for(self, what: str, predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Poll ``predicate`` until it returns something true; fail with the logs' tails.

        Timeouts are generous on purpose (a loaded 2-core CI machine): they
        only bound a failure, nothing here measures speed.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n" + self.log_tails())

    def log_tails(self, lines: int = 8) -> str:
        """The last lines of every program's log (for assertion messages)."""
        parts = []
        for name, path in self.logs.items():
            try:
                with open(path, "rb") as f:
                    tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append(f"--- {name}.log\n" + "\n".join(tail))
        return "\n".join(parts)


def _end_user_processes(uid: int) -> None:
    """End, pid by pid, whatever still runs as the throwaway user (bus-activated services)."""
    left = []
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real == uid:
                proc.terminate()
                left.append(proc)
        except psutil.Error:
            continue
    _, alive = psutil.wait_procs(left, timeout=5)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


@contextlib.contextmanager
def user_session(user: pwd.struct_passwd, extra_env: Optional[Dict[str, str]] = None) -> Iterator[WaylandSession]:
    """A runtime dir, a session bus, PipeWire and WirePlumber for ``user``."""
    runtime = tempfile.mkdtemp(prefix="sg-wl-")
    os.chmod(runtime, 0o700)
    os.chown(runtime, user.pw_uid, user.pw_gid)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "USER": user.pw_name,
        "HOME": runtime, "XDG_RUNTIME_DIR": runtime, "XDG_CONFIG_HOME": os.path.join(runtime, "config"),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime}/bus",
        "GSETTINGS_BACKEND": "memory",  # no dconf daemon in this session
        **(extra_env or {}),
    }
    session = WaylandSession(user=user, runtime=runtime, env=env)
    try:
        session.start("dbus", ["dbus-daemon", "--session", "--nofork", "--nopidfile",
                               f"--address={env['DBUS_SESSION_BUS_ADDRESS']}"])
        session.wait_for("the session bus", lambda: os.path.exists(os.path.join(runtime, "bus")))
        session.start("pipewire", ["pipewire"])
        session.wait_for("PipeWire", lambda: os.path.exists(os.path.join(runtime, "pipewire-0")))
        session.start("wireplumber", ["wireplumber"])
        # WirePlumber links streams to sources; it is ready once its client shows in the graph.
        session.wait_for("WirePlumber", lambda: any(
            _props(o).get("application.name") == "WirePlumber" for o in session.pw_dump()))
        yield session
    finally:
        for proc in reversed(session.procs):
            end_process(proc)
        _end_user_processes(user.pw_uid)
        shutil.rmtree(runtime, ignore_errors=True)


def _props(obj: Dict[str, Any]) -> Dict[str, Any]:
    return ((obj.get("info") or {}).get("props")) or {}


def nodes(objects: List[Dict[str, Any]], **match: str) -> List[Dict[str, Any]]:
    """PipeWire nodes whose properties equal ``match`` (``media_class`` -> ``media.class``)."""
    wanted = {k.replace("_", "."): v for k, v in match.items()}
    return [o for o in objects if o.get("type") == "PipeWire:Interface:Node"
            and all(_props(o).get(k) == v for k, v in wanted.items())]


def linked(objects: List[Dict[str, Any]], source_id: int) -> List[int]:
    """Ids of the nodes an active link feeds from ``source_id``."""
    return [o["info"]["input-node-id"] for o in objects if o.get("type") == "PipeWire:Interface:Link"
            and o["info"].get("output-node-id") == source_id and o["info"].get("state") == "active"]


@contextlib.contextmanager
def gnome_session(user: pwd.struct_passwd) -> Iterator[WaylandSession]:
    """Headless mutter (GNOME's compositor, no X11) with a 1280x800 virtual monitor."""
    with user_session(user, {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "GNOME"}) as session:
        session.start("mutter", ["mutter", "--wayland", "--headless", "--no-x11", "--virtual-monitor", "1280x800"])
        session.wait_for("mutter's Wayland socket", lambda: _wayland_socket(session))
        session.env["WAYLAND_DISPLAY"] = _wayland_socket(session) or ""
        # The ScreenCast D-Bus service is up once mutter owns its name on our bus.
        session.wait_for("org.gnome.Mutter.ScreenCast on the session bus",
                         lambda: "org.gnome.Mutter.ScreenCast" in bus_names(session))
        yield session


def _wayland_socket(session: WaylandSession) -> Optional[str]:
    for name in sorted(os.listdir(session.runtime)):
        if name.startswith("wayland-") and not name.endswith(".lock"):
            return name
    return None


def bus_names(session: WaylandSession) -> str:
    """The names on the session bus (a string, for ``in`` checks).

    Asked as the session's user: a session bus lets in only its own uid, root included.
    """
    done = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                           "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"],
                          env=session.env, user=session.user.pw_uid, group=session.user.pw_gid, extra_groups=[],
                          capture_output=True, text=True, timeout=10, check=False)
    return done.stdout


SHIM_SOURCE = os.path.join(ROOT, "tests", "wayland", "xdpw_shm_format.c")


def build_shim(session: WaylandSession) -> str:
    """Compile the xdg-desktop-portal-wlr shim (see its source) into the runtime dir."""
    require_programs("gcc")
    out = os.path.join(session.runtime, "xdpw_shm_format.so")
    done = subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out,
                           SHIM_SOURCE, "-ldl"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"the xdpw shim did not compile:\n{done.stderr}"
    os.chmod(out, 0o755)
    return out


@contextlib.contextmanager
def sway_session(user: pwd.struct_passwd) -> Iterator[WaylandSession]:
    """Headless sway 1.7 (pixman, no GPU) with xdg-desktop-portal and xdg-desktop-portal-wlr."""
    with user_session(user, {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "sway"}) as session:
        config = os.path.join(session.runtime, "config")
        os.makedirs(os.path.join(config, "xdg-desktop-portal-wlr"))
        # No chooser program in a test: the portal shares the one output without asking.
        with open(os.path.join(config, "xdg-desktop-portal-wlr", "config"), "w") as f:
            f.write("[screencast]\nchooser_type=none\noutput_name=HEADLESS-1\n")
        with open(os.path.join(session.runtime, "sway.conf"), "w") as f:
            f.write("output HEADLESS-1 resolution 1280x800\nxwayland disable\n")
        for dirpath, _dirs, files in os.walk(session.runtime):
            for name in _dirs + files:
                os.chown(os.path.join(dirpath, name), user.pw_uid, user.pw_gid)
        session.start("sway", ["sway", "-c", os.path.join(session.runtime, "sway.conf")],
                      env={"WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman", "WLR_LIBINPUT_NO_DEVICES": "1"})
        session.wait_for("sway's Wayland socket and IPC socket",
                         lambda: _wayland_socket(session) and _sway_socket(session))
        session.env["WAYLAND_DISPLAY"] = _wayland_socket(session) or ""
        session.env["SWAYSOCK"] = _sway_socket(session) or ""
        # Screencopy itself must work (grim uses it too) before the portal is worth asking.
        shot = os.path.join(session.runtime, "screen.png")
        grim = session.start("grim", ["grim", shot])
        assert grim.wait(timeout=30) == 0, "grim could not capture headless sway\n" + session.log_tails()
        with open(shot, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        shim = build_shim(session)
        session.start("xdg-desktop-portal-wlr", [XDPW, "-l", "INFO"], env={"LD_PRELOAD": shim})
        session.wait_for("xdg-desktop-portal-wlr on the bus",
                         lambda: "org.freedesktop.impl.portal.desktop.wlr" in bus_names(session))
        session.start("xdg-desktop-portal", [XDP])
        session.wait_for("xdg-desktop-portal on the bus",
                         lambda: "org.freedesktop.portal.Desktop" in bus_names(session))
        yield session


def _sway_socket(session: WaylandSession) -> Optional[str]:
    for name in os.listdir(session.runtime):
        if name.startswith("sway-ipc.") and name.endswith(".sock"):
            return os.path.join(session.runtime, name)
    return None
