"""Top-level X11 windows (python-xlib + EWMH), and a watcher for window events.

What a window becomes (:class:`~agent.model.WindowInfo`):

- ``title``: ``_NET_WM_NAME`` (UTF-8), else ``WM_NAME``, else the WM_CLASS
  *instance* (``res_name``). Zoom's share bars are known by names such as
  ``as_toolbar`` / ``cpt_frame_xcb_window`` that may be only the instance
  part of WM_CLASS; falling back to it lets a title rule see them without a
  new field.
- ``wm_class``: the WM_CLASS *class* part (``res_class``, e.g. ``firefox``).
- ``pid``: ``_NET_WM_PID``, else the X-Resource extension's client pid.
- ``visible``: mapped (viewable) and not ``_NET_WM_STATE_HIDDEN``.
- ``foreground``: ``_NET_ACTIVE_WINDOW`` (without a WM: the input focus).

Which windows: the WM's ``_NET_CLIENT_LIST``; without one, children of the
root with ``WM_STATE`` (or a name, when no WM runs at all). Mapped
override-redirect children of the root with a name or class are added too:
share bars and borders are often override-redirect and never in the client
list. Any window may vanish between two requests: errors are caught per
window and the window is skipped.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from agent import i18n
from agent.collectors.reasons import reason
from agent.model import WindowInfo

log = logging.getLogger(__name__)

Unavailable = Tuple[str, str]

MESSAGES = i18n.register(__name__, {
    "no_xlib": {
        "en": "python-xlib is not installed ({error})",
        "zh_CN": "未安装 python-xlib（{error}）",
    },
    "no_display": {
        "en": "no X display (DISPLAY is not set)",
        "zh_CN": "没有 X 显示（未设置 DISPLAY）",
    },
    "display_refused": {
        "en": "cannot open X display {name}: {error}",
        "zh_CN": "无法打开 X 显示 {name}：{error}",
    },
    "connection_lost": {
        "en": "X connection lost: {error}",
        "zh_CN": "与 X 的连接已断开：{error}",
    },
    "wayland_windows": {
        "en": "Wayland session: only XWayland windows are listed; native Wayland windows (titles) cannot be read",
        "zh_CN": "Wayland 会话：只能列出 XWayland 窗口，无法读取原生 Wayland 窗口（标题）",
    },
})

try:  # python-xlib is a Linux-only dependency; its absence is reported, not raised
    from Xlib import X, Xatom
    from Xlib import display as xdisplay
    from Xlib import error as xerror
    from Xlib.ext import res as xres
    XLIB_IMPORT_ERROR: Optional[str] = None
except ImportError as exc:  # pragma: no cover - exercised only without python-xlib
    XLIB_IMPORT_ERROR = reason(MESSAGES, "no_xlib", error=exc)

#: Atoms read or watched, interned once per display connection.
ATOM_NAMES = (
    "_NET_CLIENT_LIST", "_NET_ACTIVE_WINDOW", "_NET_WM_NAME", "_NET_WM_PID", "_NET_WM_STATE",
    "_NET_WM_STATE_HIDDEN", "UTF8_STRING", "WM_STATE", "COMPOUND_TEXT", "_NET_SUPPORTING_WM_CHECK",
)

#: Window properties whose change means "judge again now".
WATCHED_WINDOW_PROPS = ("_NET_WM_NAME", "WM_NAME", "_NET_WM_STATE")
#: Root properties whose change means "judge again now".
WATCHED_ROOT_PROPS = ("_NET_CLIENT_LIST", "_NET_ACTIVE_WINDOW")


def _swallow(*_args) -> None:
    """Error handler for requests on windows that vanished meanwhile."""


def open_display(name: Optional[str] = None):
    """Open an X display; returns (display, None) or (None, reason)."""
    if XLIB_IMPORT_ERROR:
        return None, XLIB_IMPORT_ERROR
    name = name if name is not None else os.environ.get("DISPLAY")
    if not name:
        return None, reason(MESSAGES, "no_display")
    try:
        disp = xdisplay.Display(name)
    except (xerror.DisplayError, OSError) as exc:
        return None, reason(MESSAGES, "display_refused", name=name, error=exc)
    # Async errors (a window destroyed before our request) must not print or raise.
    disp.set_error_handler(_swallow)
    return disp, None


def decode_text(raw, type_name: str) -> str:
    """Decode a text property value by its X type (UTF8_STRING, STRING, COMPOUND_TEXT)."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    data = bytes(raw).split(b"\0", 1)[0]
    if type_name == "STRING":
        return data.decode("latin-1")
    # UTF8_STRING, and COMPOUND_TEXT from old toolkits: ASCII and UTF-8 come
    # through; ISO-2022 escapes are dropped rather than guessed.
    text = data.decode("utf-8", errors="replace")
    return "".join(ch for ch in text if ch != "\x1b")


class X11Windows:
    """Reads the top-level windows of one X display on demand.

    Keeps one display connection (reopened when the server goes away) and
    caches per-window facts that never change (class, pid).

    While an :class:`X11Watcher` feeds it (:meth:`changed`, ``events_live``
    True), a read only re-reads the windows an event named, the focus when
    it moved, and the whole list when windows came or went; with no event
    since the last read it returns the last answer. Every
    :data:`FULL_READ_SECONDS` (and always without a watcher) it reads
    everything again: the safety net for a lost event.
    """

    FULL_READ_SECONDS = 60.0

    def __init__(self, display_name: Optional[str] = None) -> None:
        self.display_name = display_name
        self._disp: Any = None  # Xlib.display.Display (untyped)
        self._atoms: Dict[str, int] = {}
        self._atom_names: Dict[int, str] = {}
        self._static: Dict[int, Tuple[Optional[str], Optional[str], Optional[int]]] = {}
        self._has_xres = False
        self._or_flags: Dict[int, bool] = {}
        #: True while a watcher reports every change (set by the collector).
        self.events_live = False
        self._changes = threading.Lock()
        self._dirty: Set[int] = set()
        self._rescan = True
        self._active_moved = True
        self._last_full = float("-inf")
        self._last: Dict[int, Tuple[WindowInfo, bool]] = {}  # id -> (info, override-redirect), in order
        self._active: Optional[int] = None
        self._answer: Tuple[WindowInfo, ...] = ()
        self.full_reads = 0     # for tests and benchmarks
        self.window_reads = 0   # windows re-read one by one

    def changed(self, windows: Sequence[int] = (), rescan: bool = False, active: bool = False) -> None:
        """Note what an event changed (called from the watcher thread)."""
        with self._changes:
            self._dirty.update(windows)
            self._rescan = self._rescan or rescan
            self._active_moved = self._active_moved or active

    # -- connection -------------------------------------------------------
    def _connect(self) -> Optional[str]:
        if self._disp is not None:
            return None
        disp, reason = open_display(self.display_name)
        if disp is None:
            return reason
        self._disp = disp
        self._atoms = {n: disp.intern_atom(n) for n in ATOM_NAMES}
        self._atom_names = {v: k for k, v in self._atoms.items()}
        self._atom_names[Xatom.STRING] = "STRING"
        self._has_xres = disp.has_extension("X-Resource")
        self._static.clear()
        self._or_flags = {}
        self._rescan = True  # a new connection knows nothing yet
        return None

    def close(self) -> None:
        """Close the display connection."""
        if self._disp is not None:
            try:
                self._disp.close()
            except Exception:
                pass
            self._disp = None

    # -- reading ----------------------------------------------------------
    def read(self) -> Tuple[Tuple[WindowInfo, ...], Tuple[Unavailable, ...]]:
        """All top-level windows now, and ``("windows", reason)`` when X cannot be read."""
        problem = self._connect()
        if problem:
            return (), (("windows", problem),)
        with self._changes:
            dirty, self._dirty = self._dirty, set()
            rescan, self._rescan = self._rescan, False
            active_moved, self._active_moved = self._active_moved, False
        try:
            now = time.monotonic()
            if rescan or not self.events_live or now - self._last_full >= self.FULL_READ_SECONDS:
                self._last_full = now
                self._answer = self._read_all()
            elif dirty or active_moved:
                self._answer = self._read_changed(dirty, active_moved)
            return self._answer, ()
        except (xerror.ConnectionClosedError, OSError) as exc:
            self._rescan = True
            self.close()
            return (), (("windows", reason(MESSAGES, "connection_lost", error=exc)),)

    def _read_all(self) -> Tuple[WindowInfo, ...]:
        self.full_reads += 1
        disp = self._disp
        root = disp.screen().root
        clients = self._client_ids(root)
        active = self._active = self._active_id(root)
        found: Dict[int, Tuple[WindowInfo, bool]] = {}
        # The WM's own 1x1 check window ("Openbox") is no app's window.
        check = self._prop(root, "_NET_SUPPORTING_WM_CHECK", Xatom.WINDOW)
        skip = set(check.value) if check is not None else set()
        for wid in clients:
            info = self._window_info(disp.create_resource_object("window", wid), active)
            if info is not None:
                found[wid] = (info, False)
        for win in self._override_redirect(root):
            if win.id not in found and win.id not in skip:
                info = self._window_info(win, active, require_mapped=True)
                if info is not None and (info.title or info.wm_class):
                    found[win.id] = (info, True)
        # Forget cached facts of windows that are gone (ids are reused).
        for wid in list(self._static):
            if wid not in found:
                del self._static[wid]
        self._last = found
        return tuple(info for info, _ in found.values())

    def _read_changed(self, dirty: Set[int], active_moved: bool) -> Tuple[WindowInfo, ...]:
        """Re-read only the windows events named (and who has the focus, if it moved)."""
        disp = self._disp
        before = self._active
        if active_moved:
            self._active = self._active_id(disp.screen().root)
        active = self._active
        if before != active:
            dirty = dirty | {w for w in (before, active) if w is not None}
        for wid in dirty:
            known = self._last.get(wid)
            if known is None:
                continue  # a frame or a window not listed: a list change would have said so
            self.window_reads += 1
            info = self._window_info(disp.create_resource_object("window", wid), active, require_mapped=known[1])
            if info is None or (known[1] and not (info.title or info.wm_class)):
                del self._last[wid]
                self._static.pop(wid, None)
            else:
                self._last[wid] = (info, known[1])
        return tuple(info for info, _ in self._last.values())

    def _client_ids(self, root) -> List[int]:
        prop = self._prop(root, "_NET_CLIENT_LIST", Xatom.WINDOW)
        if prop is not None:
            return list(prop.value)
        return self._clients_without_ewmh(root)

    def _clients_without_ewmh(self, root) -> List[int]:
        """Top-level clients when no EWMH window manager runs.

        A non-EWMH WM marks its clients with WM_STATE (possibly one level
        inside its frame); with no WM at all, a root child with a name or
        class is a client.
        """
        wm_state = self._atoms["WM_STATE"]
        found: List[int] = []
        for child in self._children(root):
            try:
                attrs = child.get_attributes()
                if attrs.override_redirect:
                    continue
                if child.get_property(wm_state, X.AnyPropertyType, 0, 0) is not None:
                    found.append(child.id)
                    continue
                inner = [c for c in self._children(child)
                         if c.get_property(wm_state, X.AnyPropertyType, 0, 0) is not None]
                if inner:
                    found.extend(c.id for c in inner)
                    continue
                named = bool(self._title(child)) or child.get_wm_class() is not None
                # An unmapped, unnamed root child is a toolkit's hidden helper window.
                if named and (attrs.map_state == X.IsViewable or self._title(child)):
                    found.append(child.id)
            except xerror.XError:
                continue
        return found

    def _override_redirect(self, root) -> List:
        """Override-redirect children of the root (mapped or not; the caller checks).

        Whether a root child is override-redirect is fixed when it is
        created, so it is asked once per window: with a WM most root
        children are frames, and re-asking each tick was a third of the cost.
        """
        out = []
        known = self._or_flags
        current = {}
        for child in self._children(root):
            flag = known.get(child.id)
            if flag is None:
                try:
                    flag = bool(child.get_attributes().override_redirect)
                except xerror.XError:
                    continue
            current[child.id] = flag
            if flag:
                out.append(child)
        self._or_flags = current
        return out

    @staticmethod
    def _children(win) -> list:
        try:
            return list(win.query_tree().children)
        except xerror.XError:
            return []

    def _active_id(self, root) -> Optional[int]:
        prop = self._prop(root, "_NET_ACTIVE_WINDOW", Xatom.WINDOW)
        if prop is not None:
            return prop.value[0] if len(prop.value) and prop.value[0] else None
        # No EWMH WM: the focused window's top-level ancestor is in front.
        try:
            focus = self._disp.get_input_focus().focus
        except xerror.XError:
            return None
        if isinstance(focus, int) or focus is None:
            return None  # PointerRoot / None
        return self._toplevel_of(focus, root.id)

    @staticmethod
    def _toplevel_of(win, root_id: int) -> Optional[int]:
        """The top-level ancestor of ``win``; None for the root itself.

        Without a window manager, focus falls to the root window when the
        focused window closes (after a warning); the root has no parent
        (python-xlib gives the integer 0), and it is nobody's window.
        """
        try:
            for _ in range(64):
                if win.id == root_id:
                    return None
                parent = win.query_tree().parent
                parent_id = getattr(parent, "id", parent)   # a Window, or 0 / None past the root
                if not parent_id or parent_id == root_id:
                    return win.id
                win = parent
        except xerror.XError:
            return None
        return None

    def _prop(self, win, name: str, type_atom):
        try:
            return win.get_full_property(self._atoms[name], type_atom)
        except xerror.XError:
            return None

    def _title(self, win) -> str:
        prop = self._prop(win, "_NET_WM_NAME", self._atoms["UTF8_STRING"])
        if prop is not None and prop.value:
            return decode_text(prop.value, "UTF8_STRING")
        try:
            prop = win.get_full_property(Xatom.WM_NAME, X.AnyPropertyType)
        except xerror.XError:
            return ""
        if prop is None:
            return ""
        return decode_text(prop.value, self._atom_names.get(prop.property_type, "UTF8_STRING"))

    def _static_facts(self, win) -> Tuple[Optional[str], Optional[str], Optional[int]]:
        """(instance, class, pid) of a window, read once per window id."""
        cached = self._static.get(win.id)
        if cached is not None:
            return cached
        wm_class = win.get_wm_class()
        instance, klass = (wm_class if wm_class else (None, None))
        prop = self._prop(win, "_NET_WM_PID", Xatom.CARDINAL)
        pid = int(prop.value[0]) if prop is not None and len(prop.value) else None
        if pid is None:
            pid = self._xres_pid(win.id)
        facts = (instance or None, klass or None, pid)
        self._static[win.id] = facts
        return facts

    def _xres_pid(self, wid: int) -> Optional[int]:
        # Apps that never set _NET_WM_PID (plain Xlib, some Java) still have a
        # local client pid the server knows.
        if not self._has_xres:
            return None
        try:
            reply = self._disp.res_query_client_ids([{"client": wid, "mask": xres.LocalClientPIDMask}])
        except xerror.XError:
            return None
        for cid in reply.ids:
            if cid.spec.mask & xres.LocalClientPIDMask and cid.value:
                return int(cid.value[0])
        return None

    def _window_info(self, win, active: Optional[int], require_mapped: bool = False) -> Optional[WindowInfo]:
        try:
            attrs = win.get_attributes()
            mapped = attrs.map_state == X.IsViewable
            if require_mapped and not mapped:
                return None
            instance, klass, pid = self._static_facts(win)
            title = self._title(win) or instance or ""
            state = self._prop(win, "_NET_WM_STATE", Xatom.ATOM)
            hidden = state is not None and self._atoms["_NET_WM_STATE_HIDDEN"] in state.value
        except xerror.XError:
            return None  # vanished mid-read
        return WindowInfo(title=title, pid=pid, wm_class=klass, visible=mapped and not hidden,
                          foreground=active is not None and win.id == active, window_id=win.id)


class X11Watcher:
    """Calls ``wake()`` when windows appear, are re-titled, change state or focus.

    Runs on its own daemon thread and display connection. Events that arrive
    together are coalesced into one ``wake()`` call (the light debounce).
    """

    def __init__(self, wake: Callable[[], None], display_name: Optional[str] = None,
                 on_change: Optional[Callable[..., None]] = None) -> None:
        self._wake = wake
        #: ``on_change(windows, rescan=, active=)``: what the events changed (X11Windows.changed).
        self._on_change = on_change
        self.display_name = display_name
        self._stop = threading.Event()
        self._pipe_r, self._pipe_w = os.pipe()
        self.thread: Optional[threading.Thread] = None
        self.wakes = 0  # how many times wake() was called (for tests)

    def start(self) -> Optional[threading.Thread]:
        """Open the display and start the thread; None when X cannot be opened."""
        disp, reason = open_display(self.display_name)
        if disp is None:
            log.info("window watcher not started: %s", reason)
            return None
        self.thread = threading.Thread(target=self._run, args=(disp,), name="x11-watcher", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the thread to end and wait for it."""
        self._stop.set()
        try:
            os.write(self._pipe_w, b"x")
        except OSError:
            pass
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        for fd in (self._pipe_r, self._pipe_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _run(self, disp) -> None:
        try:
            self._loop(disp)
        except (xerror.ConnectionClosedError, OSError) as exc:
            if not self._stop.is_set():
                log.warning("window watcher stopped: X connection lost (%s)", exc)
        finally:
            try:
                disp.close()
            except Exception:
                pass

    def _loop(self, disp) -> None:
        atoms = {n: disp.intern_atom(n) for n in ATOM_NAMES + ("WM_NAME",)}
        atoms["WM_NAME"] = Xatom.WM_NAME
        root_props = {atoms[n] for n in WATCHED_ROOT_PROPS}
        window_props = {atoms[n] for n in WATCHED_WINDOW_PROPS}
        root = disp.screen().root
        root.change_attributes(event_mask=X.PropertyChangeMask | X.SubstructureNotifyMask)
        watched: set = set()
        self._select_windows(disp, root, atoms, watched)
        disp.flush()
        fd = disp.fileno()
        while not self._stop.is_set():
            ready, _, _ = select.select([fd, self._pipe_r], [], [], 5.0)
            if self._stop.is_set():
                return
            relevant = False
            rescan = False
            active = False
            changed: Set[int] = set()
            while disp.pending_events():
                ev = disp.next_event()
                if ev.type == X.PropertyNotify:
                    if ev.window.id == root.id:
                        if ev.atom in root_props:
                            relevant = True
                            rescan = rescan or ev.atom == atoms["_NET_CLIENT_LIST"]
                            active = active or ev.atom == atoms["_NET_ACTIVE_WINDOW"]
                    elif ev.atom in window_props:
                        relevant = True
                        changed.add(ev.window.id)
                elif ev.type == X.MapNotify:
                    relevant = True
                    rescan = True
                elif ev.type in (X.UnmapNotify, X.DestroyNotify):
                    # A share bar or border (override-redirect) going away.
                    relevant = True
                    changed.add(ev.window.id)
            if rescan:
                self._select_windows(disp, root, atoms, watched)
                disp.flush()
            if relevant and self._on_change is not None:
                self._on_change(changed, rescan=rescan, active=active)
            if relevant:
                self.wakes += 1
                try:
                    self._wake()
                except Exception:
                    log.exception("wake callback failed")

    @staticmethod
    def _select_windows(disp, root, atoms, watched: set) -> None:
        """Listen to title/state changes on every client and root child not yet watched."""
        ids: List[int] = []
        try:
            prop = root.get_full_property(atoms["_NET_CLIENT_LIST"], Xatom.WINDOW)
            if prop is not None:
                ids.extend(prop.value)
            ids.extend(c.id for c in root.query_tree().children)
        except xerror.XError:
            pass
        for wid in ids:
            if wid in watched:
                continue
            watched.add(wid)
            win = disp.create_resource_object("window", wid)
            win.change_attributes(event_mask=X.PropertyChangeMask, onerror=_swallow)
        # Drop ids that are gone so a reused id is selected again.
        current = set(ids)
        watched.intersection_update(current)


def wayland_note(environ: Optional[Mapping[str, str]] = None) -> Optional[Unavailable]:
    """Under Wayland only XWayland apps are X windows: say so (None on X11)."""
    env = os.environ if environ is None else environ
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return ("wayland_windows", reason(MESSAGES, "wayland_windows"))
    return None
