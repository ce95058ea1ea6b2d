"""Faked OS layers for every collector backend, built from recorded values.

Every collector takes the same constructor arguments (agent/collectors/base.py)
with its OS access as one injected ``api`` object: Linux's
:class:`~agent.collectors._linux.LinuxApi` (an X11 reader and ``pw-dump``),
Windows' :class:`~agent.collectors._windows.WindowsApi` (``WindowApi``, the
ConsentStore ``RegistryReader``, the WinEvent ``EventApi``), the macOS
``MacApi``. These fakes answer from plain data (what X11, ``pw-dump``,
EnumWindows, GetWindowTextW, DwmGetWindowAttribute, the registry or
CGWindowListCopyWindowInfo returned), so every parsing and decision step of
the collectors runs here on Linux.

Recording files (``tests/fixtures/*/*.os.yaml``) use the same step layout
as replay scenarios, with raw OS answers instead of snapshot fields; see
docs/platforms.md.
"""

from __future__ import annotations

import json
import os
import queue
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from agent.collectors._windows_consent import CONSENT_STORE
from agent.model import Connection, ProcessInfo


# -- shared -------------------------------------------------------------------
class FakeProcessTable:
    """Stands in for ProcessTable: ``refresh()`` returns the recorded processes."""

    def __init__(self, processes: Iterable[ProcessInfo] = ()) -> None:
        self.processes = tuple(processes)
        self.interest = None  # set by the collector; recorded processes are given whole

    def refresh(self) -> Tuple[ProcessInfo, ...]:
        return self.processes


def processes_from(raw: Sequence[Mapping[str, Any]]) -> Tuple[ProcessInfo, ...]:
    """Replay-format process mappings as ProcessInfo."""
    return tuple(ProcessInfo(pid=p["pid"], name=p["name"], ppid=p.get("ppid"), exe=p.get("exe"),
                             cmdline=tuple(p.get("cmdline", ())), create_time=p.get("create_time"),
                             user=p.get("user"))
                 for p in raw)


def connections_reader(raw: Sequence[Mapping[str, Any]] = (), unavailable: Sequence[Tuple[str, str]] = ()):
    """A ``(processes, user) -> (connections, unavailable)`` reader answering from data."""
    conns = tuple(Connection(pid=c.get("pid"), proto=c.get("proto", "tcp"), status=c.get("status", ""),
                             local=c.get("local", ""), remote=c.get("remote", "")) for c in raw)

    def read(processes, user):
        return conns, tuple(unavailable)
    return read


# -- Linux --------------------------------------------------------------------
PW_DUMPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "pw-dump")


class FakeX11Windows:
    """Stands in for X11Windows: ``read() -> (windows, unavailable)``, ``close()``."""

    def __init__(self, windows=(), unavailable=()) -> None:
        self.windows, self.unavailable, self.closed = tuple(windows), tuple(unavailable), False
        self.events_live = False
        self.changes: List[Tuple] = []

    def changed(self, windows=(), rescan=False, active=False) -> None:
        self.changes.append((set(windows), rescan, active))

    def read(self):
        return self.windows, self.unavailable

    def close(self) -> None:
        self.closed = True


class RecordedPipeWire:
    """Stands in for PipeWireCapture: parses a recorded ``pw-dump`` (tests/fixtures/pw-dump/)
    with the Linux helper's own parsers."""

    def __init__(self, name: str = "no-screencast.json") -> None:
        from agent.collectors._linux_wayland import parse_pw_dump, parse_pw_dump_devices

        with open(os.path.join(PW_DUMPS, name), encoding="utf-8") as f:
            objects = json.load(f)
        self.facts, self.devices = parse_pw_dump(objects), parse_pw_dump_devices(objects)

    def read(self):
        return self.facts, ()

    def read_devices(self):
        return self.devices, ()


def linux_collector(windows=(), pw_dump: str = "no-screencast.json", x_unavailable=(), processes=None,
                    connections=None, lang: str = "en", **kwargs):
    """A LinuxCollector on faked X11 windows and a recorded ``pw-dump``."""
    from agent.collectors._linux import LinuxApi, LinuxCollector

    api = LinuxApi(display=":shareguard-fake-no-such-display", windows=FakeX11Windows(windows, x_unavailable),
                   capture=RecordedPipeWire(pw_dump))
    return LinuxCollector(api, processes=processes, connections=connections, lang=lang, **kwargs)


# -- Windows ------------------------------------------------------------------
class FakeWindowApi:
    """EnumWindows & co. over a list of recorded windows.

    Each window: ``hwnd, title, class, pid, visible (IsWindowVisible),
    iconic, cloaked (DWMWA_CLOAKED flags), children`` (child windows with
    hwnd/class/pid, for UWP frames). ``vanished`` hwnds are enumerated but
    raise OSError when queried, like a window destroyed mid-scan.
    """

    def __init__(self, windows: Sequence[Mapping[str, Any]] = (), foreground: Optional[int] = None,
                 vanished: Iterable[int] = (), broken: bool = False) -> None:
        self.windows: Dict[int, Mapping[str, Any]] = {}
        for w in windows:
            self.windows[w["hwnd"]] = w
            for child in w.get("children", ()):
                self.windows[child["hwnd"]] = dict(child, parent=w["hwnd"])
        self.order = [w["hwnd"] for w in windows]
        self.foreground_hwnd = foreground
        self.vanished = set(vanished)
        self.broken = broken
        self.calls: List[str] = []

    def _get(self, hwnd: int) -> Mapping[str, Any]:
        if hwnd in self.vanished or hwnd not in self.windows:
            raise OSError(0, "Invalid window handle", None, 1400)
        return self.windows[hwnd]

    def top_level_windows(self) -> List[int]:
        self.calls.append("EnumWindows")
        if self.broken:
            raise OSError(0, "EnumWindows failed (error 5)", None, 5)
        return list(self.order)

    def child_windows(self, hwnd: int) -> List[int]:
        return [c["hwnd"] for c in self._get(hwnd).get("children", ())]

    def title(self, hwnd: int) -> str:
        return self._get(hwnd).get("title", "")

    def class_name(self, hwnd: int) -> str:
        return self._get(hwnd).get("class", "")

    def pid(self, hwnd: int) -> Optional[int]:
        return self._get(hwnd).get("pid")

    def is_visible(self, hwnd: int) -> bool:
        return bool(self._get(hwnd).get("visible", True))

    def is_iconic(self, hwnd: int) -> bool:
        return bool(self._get(hwnd).get("iconic", False))

    def cloaked(self, hwnd: int) -> int:
        self.calls.append("DwmGetWindowAttribute")
        return int(self._get(hwnd).get("cloaked", 0))

    def foreground(self) -> Optional[int]:
        return self.foreground_hwnd


class FakeRegistry:
    """A RegistryReader over ``{"HKCU\\\\<path>": {value: data}}``.

    Paths may be given relative to the ConsentStore key (``HKCU\\\\webcam\\\\...``)
    or in full. Subkeys are derived from the paths; ``denied`` paths raise
    PermissionError like a key with a restrictive ACL.
    """

    def __init__(self, keys: Optional[Mapping[str, Mapping[str, object]]] = None, denied: Iterable[str] = ()) -> None:
        self.keys: Dict[Tuple[str, str], Dict[str, object]] = {}
        for full, values in dict(keys or {}).items():
            hive, path = self._split(full)
            self.keys[(hive, path)] = dict(values)
            parts = path.split("\\")
            for n in range(1, len(parts)):  # every ancestor key exists too
                self.keys.setdefault((hive, "\\".join(parts[:n])), {})
        self.denied = {(h, p.casefold()) for h, p in map(self._split, denied)}

    @staticmethod
    def _split(full: str) -> Tuple[str, str]:
        hive, _, path = full.partition("\\")
        if not path.casefold().startswith("software\\"):
            path = CONSENT_STORE + "\\" + path
        return hive, path

    def _check(self, hive: str, path: str) -> None:
        if (hive, path.casefold()) in self.denied:
            raise PermissionError(13, "Access is denied", f"{hive}\\{path}")

    def subkeys(self, hive: str, path: str) -> List[str]:
        self._check(hive, path)
        prefix = path.casefold() + "\\"
        found: Dict[str, str] = {}
        for h, p in self.keys:
            rest = p[len(prefix):]
            if h == hive and p.casefold().startswith(prefix) and "\\" not in rest:
                found.setdefault(rest.casefold(), rest)  # registry names are case-insensitive
        return sorted(found.values())

    def values(self, hive: str, path: str) -> Dict[str, object]:
        self._check(hive, path)
        for (h, p), values in self.keys.items():
            if h == hive and p.casefold() == path.casefold():
                return dict(values)
        return {}


class FakeEventApi:
    """A WinEvent layer whose message loop delivers queued events.

    ``fire(event, hwnd, id_object, id_child)`` queues a WinEvent; the watcher
    thread's ``get_message`` calls the hook callbacks for it (as Windows does
    for WINEVENT_OUTOFCONTEXT hooks inside GetMessageW). ``post_quit`` queues
    WM_QUIT. ``child_hwnds`` are windows that are not top-level.
    """

    def __init__(self, fail_hook: bool = False, child_hwnds: Iterable[int] = ()) -> None:
        self._queue: "queue.Queue[Tuple]" = queue.Queue()
        self.hooks: Dict[int, Tuple[int, int, Any]] = {}
        self.unhooked: List[int] = []
        self.fail_hook = fail_hook
        self.child_hwnds = set(child_hwnds)
        self.thread_id = 4242
        self.queue_created = False
        self._next = 1

    def current_thread_id(self) -> int:
        return self.thread_id

    def ensure_queue(self) -> None:
        self.queue_created = True

    def set_hook(self, first: int, last: int, callback) -> int:
        if self.fail_hook:
            raise OSError(0, "SetWinEventHook failed (error 87)", None, 87)
        handle = self._next
        self._next += 1
        self.hooks[handle] = (first, last, callback)
        return handle

    def unhook(self, hook: int) -> None:
        self.unhooked.append(hook)
        self.hooks.pop(hook, None)

    def fire(self, event: int, hwnd: int = 0x1000, id_object: int = 0, id_child: int = 0) -> None:
        self._queue.put(("event", event, hwnd, id_object, id_child))

    def get_message(self) -> bool:
        item = self._queue.get(timeout=30)
        if item[0] == "quit":
            return False
        _, event, hwnd, id_object, id_child = item
        for handle, (first, last, callback) in list(self.hooks.items()):
            if first <= event <= last:
                callback(handle, event, hwnd, id_object, id_child, 77, 0)
        return True

    def post_quit(self, thread_id: int) -> None:
        if not self.queue_created or thread_id != self.thread_id:
            raise OSError(0, "PostThreadMessageW failed (error 1444)", None, 1444)
        self._queue.put(("quit",))

    def is_top_level(self, hwnd: int) -> bool:
        return hwnd not in self.child_hwnds


# -- macOS --------------------------------------------------------------------
class FakeMacApi:
    """The macOS layer over recorded kCGWindow* dictionaries and facts.

    ``screen_capture_access``/``screen_watcher`` None mean "the symbol was
    not found"; ``session`` None means no login session.
    """

    def __init__(self, windows: Sequence[Mapping[str, Any]] = (), screen_capture_access: Optional[bool] = True,
                 screen_watcher: Optional[bool] = False, session: Optional[Mapping[str, Any]] = None,
                 frontmost_pid: Optional[int] = None, watcher_symbol: str = "SLSIsScreenWatcherPresent",
                 broken: bool = False) -> None:
        self.windows = [dict(w) for w in windows]
        self.access = screen_capture_access
        self.watcher = screen_watcher
        self.session = {"CGSSessionScreenIsShared": False} if session is None else session
        self.frontmost = frontmost_pid
        self.watcher_symbol = watcher_symbol
        self.broken = broken

    def window_list(self) -> List[Dict[str, Any]]:
        if self.broken:
            raise OSError("CGWindowListCopyWindowInfo returned nothing (no window server session?)")
        return [dict(w) for w in self.windows]

    def screen_capture_access(self) -> Optional[bool]:
        return self.access

    def screen_watcher_present(self) -> Optional[bool]:
        return self.watcher

    def session_info(self) -> Optional[Dict[str, Any]]:
        return None if self.session == "none" else dict(self.session)

    def frontmost_pid(self) -> Optional[int]:
        return self.frontmost


# -- collectors from one recorded step ------------------------------------------
OWN_PID = 1  # recordings never use pid 1 for a window, so nothing is dropped as "ours"


def windows_api(windows=None, registry=None, events=None):
    """A WindowsApi of fakes (an empty desktop and registry by default)."""
    from agent.collectors._windows import WindowsApi

    return WindowsApi(windows=windows if windows is not None else FakeWindowApi(),
                      registry=registry if registry is not None else FakeRegistry(), events=events)


def windows_collector(step: Mapping[str, Any], lang: str = "en"):
    """A WindowsCollector answering from one recorded step."""
    from agent.collectors._windows import WindowsCollector

    processes = processes_from(step.get("processes", ()))
    return WindowsCollector(
        windows_api(FakeWindowApi(step.get("windows", ()), step.get("foreground"), step.get("vanished", ())),
                    FakeRegistry(step.get("registry") or {}, step.get("registry_denied", ()))),
        processes=FakeProcessTable(processes),
        connections=connections_reader(step.get("connections", ())),
        clock=lambda: float(step.get("at", 0)), lang=lang, user="alice", own_pid=OWN_PID,
    )


def mac_collector(step: Mapping[str, Any], lang: str = "en"):
    """A MacCollector answering from one recorded step."""
    from agent.collectors._macos import MacCollector

    api = FakeMacApi(step.get("windows", ()), step.get("screen_capture_access", True),
                     step.get("screen_watcher", False), step.get("session"), step.get("frontmost_pid"))
    return MacCollector(api, processes=FakeProcessTable(processes_from(step.get("processes", ()))),
                        connections=connections_reader(step.get("connections", ())),
                        clock=lambda: float(step.get("at", 0)), lang=lang, user="alice", own_pid=OWN_PID)
