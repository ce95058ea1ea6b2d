"""Windows collector: top-level windows, processes, sockets and ConsentStore facts.

Everything the OS is asked goes through two small objects, injected at
construction: a *window API* (EnumWindows & co., :class:`CtypesWindowApi` on
Windows) and a *registry reader* (:class:`~agent.collectors._windows_consent.WinregReader`).
Tests hand in fakes with recorded values, so the decisions made here
(cloaked and minimized windows are not visible, which window is foreground,
which ConsentStore entries are in use, UWP frames mapped to their app) run
the same code on Linux as on Windows.

This module imports on every OS; only constructing the real APIs needs
Windows (``ctypes.WinDLL``, ``winreg``).
"""

from __future__ import annotations

import ctypes
import logging
from ctypes import wintypes
from typing import Callable, Dict, Iterable, List, Optional, Protocol, Sequence, Tuple

from agent import i18n
from agent.collectors import _win32_decls as decls
from agent.collectors._windows_consent import (
    NON_SCREEN_CAPABILITIES,
    SCREEN_CAPABILITIES,
    ConsentUse,
    RegistryReader,
    WinregReader,
    read_consent_store,
)
from agent.collectors.base import Collector, Read, paced
from agent.model import CaptureFact, DeviceUse, ProcessInfo, WindowInfo

log = logging.getLogger(__name__)

MESSAGES = i18n.register(__name__, {
    "windows_unreadable": {
        "en": "cannot list windows: {error}",
        "zh_CN": "无法读取窗口列表：{error}",
    },
    "consent_unreadable": {
        "en": "cannot read the Windows capability usage records (ConsentStore): {error}",
        "zh_CN": "无法读取 Windows 功能使用记录（ConsentStore）：{error}",
    },
})

#: Windows every desktop has by the hundred that never show a page or share
#: bar: input-method and GDI+ helper windows. Left out to keep snapshots small.
_NOISE_CLASSES = frozenset({"ime", "msctfime ui", "gdi+ hook window class"})

#: The frame Windows draws around a UWP/Store app; its pid is
#: ApplicationFrameHost.exe, the app itself owns the CoreWindow child.
_UWP_FRAME_CLASS = "ApplicationFrameWindow"
_UWP_CORE_CLASS = "Windows.UI.Core.CoreWindow"

_TITLE_MAX = 1024

class WindowApi(Protocol):
    """The window queries the collector makes (one hwnd is an ``int``).

    Any call may raise ``OSError`` when the window vanished meanwhile.
    """

    def top_level_windows(self) -> List[int]: ...
    def child_windows(self, hwnd: int) -> List[int]: ...
    def title(self, hwnd: int) -> str: ...
    def class_name(self, hwnd: int) -> str: ...
    def pid(self, hwnd: int) -> Optional[int]: ...
    def is_visible(self, hwnd: int) -> bool: ...
    def is_iconic(self, hwnd: int) -> bool: ...
    def cloaked(self, hwnd: int) -> int: ...
    def foreground(self) -> Optional[int]: ...


class CtypesWindowApi:
    """:class:`WindowApi` over user32/dwmapi (Windows only)."""

    def __init__(self, funcs=None) -> None:
        self._f = funcs if funcs is not None else decls.load()

    def _enum(self, call: Callable[..., object], *before) -> List[int]:
        found: List[int] = []

        def collect(hwnd, _lparam):
            # An exception here would only be printed by ctypes and end the
            # enumeration early, so the callback does nothing that can fail.
            if hwnd:
                found.append(hwnd)
            return True

        # Keep the prototype object alive for the duration of the call.
        proc = decls.WNDENUMPROC(collect)
        call(*before, proc, 0)
        return found

    def top_level_windows(self) -> List[int]:
        return self._enum(self._f.EnumWindows)

    def child_windows(self, hwnd: int) -> List[int]:
        return self._enum(self._f.EnumChildWindows, hwnd)

    def title(self, hwnd: int) -> str:
        length = self._f.GetWindowTextLengthW(hwnd)
        if length <= 0:
            return ""
        buf = ctypes.create_unicode_buffer(min(length, _TITLE_MAX) + 1)
        self._f.GetWindowTextW(hwnd, buf, len(buf))
        return buf.value

    def class_name(self, hwnd: int) -> str:
        buf = ctypes.create_unicode_buffer(257)  # class names are at most 256 chars
        self._f.GetClassNameW(hwnd, buf, len(buf))
        return buf.value

    def pid(self, hwnd: int) -> Optional[int]:
        pid = wintypes.DWORD(0)
        self._f.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
        return int(pid.value) or None

    def is_visible(self, hwnd: int) -> bool:
        return bool(self._f.IsWindowVisible(hwnd))

    def is_iconic(self, hwnd: int) -> bool:
        return bool(self._f.IsIconic(hwnd))

    def cloaked(self, hwnd: int) -> int:
        if self._f.DwmGetWindowAttribute is None:
            return 0
        # A 4-byte buffer spelled out: the attribute is a DWORD and the size
        # argument must say 4 (wintypes.DWORD is 8 bytes off Windows).
        value = ctypes.c_uint32(0)
        self._f.DwmGetWindowAttribute(hwnd, decls.DWMWA_CLOAKED, ctypes.byref(value), ctypes.sizeof(value))
        return int(value.value)

    def foreground(self) -> Optional[int]:
        hwnd = self._f.GetForegroundWindow()
        return int(hwnd) if hwnd else None


def _uwp_app_pid(api: WindowApi, frame: int, frame_pid: Optional[int]) -> Optional[int]:
    """The pid of the Store app inside an ApplicationFrameWindow (else the frame's)."""
    try:
        for child in api.child_windows(frame):
            if api.class_name(child) == _UWP_CORE_CLASS:
                pid = api.pid(child)
                if pid and pid != frame_pid:
                    return pid
    except OSError:
        pass
    return frame_pid


def describe_window(api: WindowApi, hwnd: int, foreground: Optional[int]) -> Optional[WindowInfo]:
    """One top-level window as a :class:`WindowInfo`, or None to leave it out.

    ``visible`` means a person can see it: shown (IsWindowVisible), not
    minimized (IsIconic) and not cloaked by DWM (another virtual desktop, a
    suspended Store app, a window an app hides without unmapping). Hidden
    windows are kept when they have a title, because a share bar can prove
    sharing while hidden; untitled hidden windows are noise.
    """
    try:
        shown = api.is_visible(hwnd)
        title = api.title(hwnd)
        if not title and not shown:
            return None
        wm_class = api.class_name(hwnd)
        if wm_class.casefold() in _NOISE_CLASSES or title == "Default IME":
            return None
        pid = api.pid(hwnd)
        iconic = api.is_iconic(hwnd)
    except OSError:
        return None  # destroyed between EnumWindows and now
    cloaked = 0
    if shown:
        try:
            cloaked = api.cloaked(hwnd)
        except OSError:
            cloaked = 0  # DWM off (rare): nothing is cloaked
    if wm_class == _UWP_FRAME_CLASS:
        pid = _uwp_app_pid(api, hwnd, pid)
    return WindowInfo(
        title=title,
        pid=pid,
        wm_class=wm_class or None,
        visible=bool(shown and not iconic and not cloaked),
        foreground=foreground is not None and hwnd == foreground,
        window_id=hwnd,
    )


def collect_windows(api: WindowApi) -> Tuple[WindowInfo, ...]:
    """All top-level windows worth judging, in Z order (EnumWindows order).

    Raises ``OSError`` only when the list itself cannot be read.
    """
    hwnds = api.top_level_windows()
    try:
        foreground = api.foreground()
    except OSError:
        foreground = None
    found = (describe_window(api, hwnd, foreground) for hwnd in hwnds)
    return tuple(w for w in found if w is not None)


def _package_of_exe(exe: str) -> Optional[str]:
    r"""``C:\Program Files\WindowsApps\Microsoft.ScreenSketch_11.2._x64__8wekyb3d8bbwe\x.exe``
    -> ``microsoft.screensketch_8wekyb3d8bbwe`` (the package family name, casefolded)."""
    parts = exe.replace("/", "\\").casefold().split("\\")
    if "windowsapps" not in parts:
        return None
    index = parts.index("windowsapps")
    if index + 1 >= len(parts):
        return None
    full_name = parts[index + 1]  # name_version_arch_resourceid_publisherhash
    fields = full_name.split("_")
    if len(fields) < 5:
        return None
    return f"{fields[0]}_{fields[-1]}"


#: ConsentStore capabilities that say a call is under way, and the device each names.
_DEVICE_OF_CAPABILITY = {"microphone": "microphone", "webcam": "camera"}


class _RunningApps:
    """Ties a ConsentStore entry to a running process: by executable path
    (desktop apps) or by package folder under WindowsApps (Store apps)."""

    def __init__(self, processes: Sequence[ProcessInfo]) -> None:
        self.by_exe: Dict[str, int] = {}
        self.by_package: Dict[str, int] = {}
        for proc in processes:
            if proc.exe:
                self.by_exe.setdefault(proc.exe.casefold(), proc.pid)
                package = _package_of_exe(proc.exe)
                if package:
                    self.by_package.setdefault(package, proc.pid)
        self.know_exes = bool(self.by_exe)

    def lookup(self, use: ConsentUse) -> Optional[int]:
        table = self.by_package if use.packaged else self.by_exe
        return table.get(use.app.casefold())


def consent_capture_facts(uses: Iterable[ConsentUse], processes: Sequence[ProcessInfo]) -> Tuple[CaptureFact, ...]:
    """Screen-capture ConsentStore entries in use now, as low-confidence facts.

    Only :data:`SCREEN_CAPABILITIES` count (webcam/microphone say nothing
    about the screen). An entry is matched to a running process by its
    executable (desktop apps) or package folder (Store apps); an entry whose
    app is not running is stale (the app died before Windows wrote the stop
    time) and is dropped, unless no process executable was readable at all.
    """
    running = _RunningApps(processes)
    facts = []
    for use in uses:
        if use.capability not in SCREEN_CAPABILITIES or not use.in_use:
            continue
        pid = running.lookup(use)
        if pid is None and running.know_exes:
            continue
        facts.append(CaptureFact(
            source="consent_store",
            active=True,
            pid=pid,
            detail=f"{use.capability}: {use.app}",
            confidence="low",
        ))
    return tuple(facts)


def consent_device_uses(uses: Iterable[ConsentUse], processes: Sequence[ProcessInfo]) -> Tuple[DeviceUse, ...]:
    """Microphone and webcam ConsentStore entries in use now, tied to running processes.

    These are proven signals (docs/platforms.md, ConsentStore) that an app is in a call;
    they are never screen capture, so they become ``devices``, not
    ``capture``. An entry whose app is not running is stale and dropped.
    """
    running = _RunningApps(processes)
    out = []
    for use in uses:
        device = _DEVICE_OF_CAPABILITY.get(use.capability)
        if device is None or not use.in_use:
            continue
        pid = running.lookup(use)
        if pid is not None:
            out.append(DeviceUse(device=device, pid=pid, source="consent_store", detail=use.app))
    return tuple(out)


class WindowsApi:
    """What the Windows collector asks of the OS.

    ``windows`` (:class:`WindowApi`), ``registry`` (the ConsentStore
    :class:`~agent.collectors._windows_consent.RegistryReader`) and
    ``events`` (the SetWinEventHook ``EventApi``, built on first use when
    None). A part that is None is reported unavailable by the collector.
    """

    def __init__(self, windows: Optional[WindowApi] = None, registry: Optional[RegistryReader] = None,
                 events=None) -> None:
        self.windows = windows
        self.registry = registry
        self.events = events


class WindowsCollector(Collector):
    """Snapshots of a Windows desktop session.

    Takes the template's arguments (agent/collectors/base.py); ``api`` is a
    :class:`WindowsApi`. The ConsentStore is read at most every
    ``pace["consent"]`` seconds (window events can ask for many snapshots a
    second); its entries are still tied to the current process list on
    every snapshot.
    """

    platform = "windows"
    name = "windows"
    HAS_EVENTS = True
    PACE = {"consent": 1.0}
    _watcher = None

    def default_api(self) -> WindowsApi:
        return WindowsApi(windows=self._make(CtypesWindowApi, "windows", "windows_unreadable"),
                          registry=self._make(WinregReader, "capture", "consent_unreadable"))

    def _make(self, factory, source: str, message: str):
        try:
            return factory()
        except (OSError, ImportError) as exc:
            self.problem(source, i18n.tr(MESSAGES, message, self.lang, error=exc))
            return None

    def read_windows(self) -> Read:
        if self.api.windows is None:
            return (), ()
        return collect_windows(self.api.windows), ()

    @paced("consent")
    def consent_uses(self) -> Tuple[List[ConsentUse], List[Tuple[str, str]]]:
        """The ConsentStore entries (and the keys that could not be read)."""
        return read_consent_store(self.api.registry, SCREEN_CAPABILITIES + NON_SCREEN_CAPABILITIES)

    def _consent_problems(self, problems) -> Tuple[Tuple[str, str], ...]:
        return tuple(("capture", i18n.tr(MESSAGES, "consent_unreadable", self.lang, error=f"{where}: {error}"))
                     for where, error in problems)

    def read_capture(self, processes) -> Read:
        if self.api.registry is None:
            return (), ()
        uses, problems = self.consent_uses()
        return consent_capture_facts(uses, processes), self._consent_problems(problems)

    def read_devices(self, processes) -> Read:
        # Same cached registry walk as read_capture; its problems are reported there once.
        if self.api.registry is None:
            return (), ()
        return consent_device_uses(self.consent_uses()[0], processes), ()

    def failed(self, source: str, exc: BaseException) -> str:
        if source == "windows":
            return i18n.tr(MESSAGES, "windows_unreadable", self.lang, error=exc)
        return super().failed(source, exc)

    def start_watch(self, wake: Callable[[], None]):
        """Hook window create/show/title/foreground events on a watcher thread.

        Returns None (the runtime then relies on polling) when the hook
        cannot be installed.
        """
        from agent.collectors._win_events import CtypesEventApi, WinEventWatcher

        if self._watcher is not None:
            return self._watcher.thread
        try:
            api = self.api.events if self.api.events is not None else CtypesEventApi()
            watcher = WinEventWatcher(api, wake)
            thread = watcher.start()
        except OSError as exc:
            log.warning("window events unavailable, polling only: %s", exc)
            return None
        self._watcher = watcher
        return thread

    def stop_watch(self) -> None:
        """Stop the watcher thread (posts WM_QUIT to its message loop)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
