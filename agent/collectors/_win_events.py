"""Window events on Windows: SetWinEventHook on a thread with a message loop.

A new bank window, a share bar appearing, a browser tab changing title or a
window coming to the front must be judged at once, not at the next poll.
Out-of-context WinEvent hooks (WINEVENT_OUTOFCONTEXT) are delivered to the
thread that installed them, from inside its GetMessageW loop, so the watcher
owns one thread that installs the hooks, pumps messages and removes the
hooks when WM_QUIT arrives (PostThreadMessageW from :meth:`stop`).

The OS calls go through an injected *event API* (:class:`CtypesEventApi` on
Windows); tests use a fake whose ``get_message`` delivers recorded events,
so the filtering and thread handling below run unchanged on Linux. The
runtime's normal poll stays on as the safety net for anything missed.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from typing import Callable, List, Optional, Protocol, Tuple

from agent.collectors import _win32_decls as decls

log = logging.getLogger(__name__)

#: (first, last) event ranges hooked. CREATE..SHOW also covers DESTROY
#: (0x8001), which is wanted too: a share bar closing ends a share.
EVENT_RANGES: Tuple[Tuple[int, int], ...] = (
    (decls.EVENT_SYSTEM_FOREGROUND, decls.EVENT_SYSTEM_FOREGROUND),
    (decls.EVENT_OBJECT_CREATE, decls.EVENT_OBJECT_SHOW),
    (decls.EVENT_OBJECT_NAMECHANGE, decls.EVENT_OBJECT_NAMECHANGE),
)

#: Callback signature of a WinEvent hook.
WinEventCallback = Callable[[int, int, Optional[int], int, int, int, int], None]


class EventApi(Protocol):
    """What the watcher thread asks of the OS."""

    def current_thread_id(self) -> int: ...
    def ensure_queue(self) -> None: ...
    def set_hook(self, first: int, last: int, callback: WinEventCallback) -> int: ...
    def unhook(self, hook: int) -> None: ...
    def get_message(self) -> bool: ...
    def post_quit(self, thread_id: int) -> None: ...
    def is_top_level(self, hwnd: int) -> bool: ...


class CtypesEventApi:
    """:class:`EventApi` over user32/kernel32 (Windows only)."""

    def __init__(self, funcs=None) -> None:
        self._f = funcs if funcs is not None else decls.load()
        self._msg = decls.MSG()
        self._procs: List[object] = []  # WINEVENTPROC objects must outlive their hooks

    def current_thread_id(self) -> int:
        return int(self._f.GetCurrentThreadId())

    def ensure_queue(self) -> None:
        # A thread gets a message queue on its first message call; before
        # that PostThreadMessageW fails with ERROR_INVALID_THREAD_ID.
        self._f.PeekMessageW(ctypes.byref(self._msg), None, decls.WM_USER, decls.WM_USER, decls.PM_NOREMOVE)

    def set_hook(self, first: int, last: int, callback: WinEventCallback) -> int:
        proc = decls.WINEVENTPROC(callback)
        self._procs.append(proc)
        flags = decls.WINEVENT_OUTOFCONTEXT | decls.WINEVENT_SKIPOWNPROCESS
        return int(self._f.SetWinEventHook(first, last, None, proc, 0, 0, flags))

    def unhook(self, hook: int) -> None:
        self._f.UnhookWinEvent(hook)

    def get_message(self) -> bool:
        # Out-of-context hook callbacks run inside GetMessageW.
        if self._f.GetMessageW(ctypes.byref(self._msg), None, 0, 0) == 0:
            return False  # WM_QUIT
        self._f.TranslateMessage(ctypes.byref(self._msg))
        self._f.DispatchMessageW(ctypes.byref(self._msg))
        return True

    def post_quit(self, thread_id: int) -> None:
        self._f.PostThreadMessageW(thread_id, decls.WM_QUIT, 0, 0)

    def is_top_level(self, hwnd: int) -> bool:
        return self._f.GetAncestor(hwnd, decls.GA_ROOT) == hwnd


def is_interesting(event: int, id_object: int, id_child: int) -> bool:
    """Keep foreground changes and events about whole windows.

    Object events also fire for every control, caret and scrollbar
    (idObject != OBJID_WINDOW) and for child elements (idChild != 0);
    waking the engine for those would mean hundreds of wake-ups a second.
    """
    if event == decls.EVENT_SYSTEM_FOREGROUND:
        return True
    return id_object == decls.OBJID_WINDOW and id_child == decls.CHILDID_SELF


class WinEventWatcher:
    """Calls ``wake()`` when a top-level window appears, shows, is renamed,
    disappears or comes to the front."""

    def __init__(self, api: EventApi, wake: Callable[[], None], start_timeout: float = 10.0) -> None:
        self._api = api
        self._wake = wake
        self._start_timeout = start_timeout
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread_id: Optional[int] = None
        self.thread: Optional[threading.Thread] = None
        self.wakes = 0  # wake-ups delivered (diagnostics)

    def _on_event(self, hook, event, hwnd, id_object, id_child, thread, ms_time) -> None:
        # Runs on the watcher thread from inside GetMessageW; an exception
        # here would only be printed by ctypes, so log it and carry on.
        try:
            if not is_interesting(event, id_object, id_child):
                return
            if event != decls.EVENT_SYSTEM_FOREGROUND and hwnd and not self._api.is_top_level(hwnd):
                return
            self.wakes += 1
            self._wake()
        except Exception:
            log.exception("window event handler failed")

    def _run(self) -> None:
        hooks: List[int] = []
        try:
            self._thread_id = self._api.current_thread_id()
            self._api.ensure_queue()
            for first, last in EVENT_RANGES:
                hooks.append(self._api.set_hook(first, last, self._on_event))
        except OSError as exc:
            self._error = exc
            self._unhook(hooks)
            self._ready.set()
            return
        self._ready.set()
        try:
            while self._api.get_message():
                pass
        except OSError as exc:
            log.warning("window event loop ended: %s", exc)
        finally:
            self._unhook(hooks)

    def _unhook(self, hooks: List[int]) -> None:
        for hook in hooks:
            try:
                self._api.unhook(hook)
            except OSError:
                pass  # already gone with the thread

    def start(self) -> threading.Thread:
        """Start the thread; raises ``OSError`` when the hooks cannot be set."""
        self.thread = threading.Thread(target=self._run, name="shareguard-winevents", daemon=True)
        self.thread.start()
        if not self._ready.wait(self._start_timeout):
            raise OSError("window event thread did not start")
        if self._error is not None:
            self.thread.join()
            raise OSError(f"SetWinEventHook failed: {self._error}")
        return self.thread

    def stop(self, timeout: float = 5.0) -> None:
        """Quit the message loop (WM_QUIT) and wait for the thread to unhook."""
        thread = self.thread
        if thread is None or not thread.is_alive() or self._thread_id is None:
            return
        try:
            self._api.post_quit(self._thread_id)
        except OSError as exc:
            log.warning("could not stop the window event thread: %s", exc)
            return
        thread.join(timeout)
