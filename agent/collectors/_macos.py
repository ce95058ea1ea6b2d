"""macOS collector: windows from CGWindowList, processes, sockets, capture facts.

Window titles (``kCGWindowName``) are given only to processes holding the
Screen Recording permission (macOS 10.15+). Without it the collector still
runs: processes, sockets, window owners (``wm_class`` = the owning app's
name, macOS has no window class) and the capture facts, and it tells the
user, in their language, how to grant the permission through an
``unavailable`` entry.

Capture facts:

* ``screen_watcher`` (high confidence): the window server's private "screen
  watcher present" flag, true while any process captures the screen
  (ScreenCaptureKit, CGDisplayStream, legacy CGWindowListCreateImage
  streams). It names no app.
* ``apple_screen_sharing`` (high confidence): ``CGSSessionScreenIsShared``
  of the current session, true while Apple Screen Sharing or Remote
  Management views it.

The OS is reached through an injected API object (:class:`QuartzApi` on a
Mac); tests use a fake with recorded ``kCGWindow*`` dictionaries.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

from agent import i18n
from agent.collectors.base import Collector, Read
from agent.model import CaptureFact, WindowInfo

MESSAGES = i18n.register(__name__, {
    "grant_screen_recording": {
        "en": ("Window titles are hidden: macOS has not given ShareGuard the Screen Recording "
               "permission, so bank pages open in a browser cannot be recognised (apps are still "
               "watched by name). To grant it, open System Settings → Privacy & Security → "
               "Screen Recording (on macOS 15: Screen & System Audio Recording), switch on ShareGuard "
               "(or the Terminal/Python that runs it), then restart ShareGuard."),
        "zh_CN": ("窗口标题不可见：macOS 尚未授予 ShareGuard“屏幕录制”权限，"
                  "因此无法识别浏览器中打开的银行页面（仍按应用名称进行监控）。"
                  "授权方法：打开“系统设置 → 隐私与安全性 → 屏幕录制”"
                  "（macOS 15 中为“屏幕与系统录音”），打开 ShareGuard"
                  "（或运行它的“终端”/Python）的开关，然后重新启动 ShareGuard。"),
    },
    "windows_unreadable": {
        "en": "cannot list windows: {error}",
        "zh_CN": "无法读取窗口列表：{error}",
    },
    "no_quartz": {
        "en": "macOS window and capture APIs unavailable (is pyobjc-framework-Quartz installed?): {error}",
        "zh_CN": "macOS 窗口和屏幕捕获接口不可用（是否已安装 pyobjc-framework-Quartz？）：{error}",
    },
    "no_screen_watcher": {
        "en": ("cannot tell whether another app is capturing the screen: the private "
               "SLSIsScreenWatcherPresent/CGSIsScreenWatcherPresent call is missing on this macOS"),
        "zh_CN": ("无法判断是否有其他应用在捕获屏幕：此 macOS 版本缺少私有接口 "
                  "SLSIsScreenWatcherPresent/CGSIsScreenWatcherPresent"),
    },
    "no_session": {
        "en": "no macOS login session is visible to ShareGuard, so Apple Screen Sharing cannot be checked",
        "zh_CN": "ShareGuard 看不到 macOS 登录会话，无法检查苹果“屏幕共享”",
    },
})

#: Owners whose windows are the desktop's furniture (menu bar, Dock, wallpaper):
#: they never show a bank page or a share bar, and their titles are given
#: even without the permission, so they would fool the title check.
SYSTEM_OWNERS = frozenset({"Window Server", "Dock", "SystemUIServer", "Control Center", "ControlCenter",
                           "Notification Center", "NotificationCenter", "Spotlight", "loginwindow",
                           "WindowManager", "TextInputMenuAgent"})


class MacApi(Protocol):
    """What the collector asks of macOS (see :class:`~agent.collectors._macos_quartz.QuartzApi`)."""

    watcher_symbol: str

    def window_list(self) -> List[Dict[str, Any]]: ...
    def screen_capture_access(self) -> Optional[bool]: ...
    def screen_watcher_present(self) -> Optional[bool]: ...
    def session_info(self) -> Optional[Dict[str, Any]]: ...
    def frontmost_pid(self) -> Optional[int]: ...


def _number(info: Mapping[str, Any], key: str, default: float = 0) -> float:
    value = info.get(key, default)
    return value if isinstance(value, (int, float)) else default


def window_from_info(info: Mapping[str, Any]) -> Optional[WindowInfo]:
    """One kCGWindow* dictionary as a WindowInfo (foreground is set later).

    ``visible``: on screen, not fully transparent and bigger than a pixel
    (apps park 1x1 helper windows on screen). Untitled off-screen windows
    are dropped: there are hundreds and they can show nothing.
    """
    owner = str(info.get("kCGWindowOwnerName") or "")
    if owner in SYSTEM_OWNERS:
        return None
    title = str(info.get("kCGWindowName") or "")
    bounds = info.get("kCGWindowBounds") or {}
    big_enough = _number(bounds, "Width") > 1 and _number(bounds, "Height") > 1
    visible = bool(info.get("kCGWindowIsOnscreen")) and _number(info, "kCGWindowAlpha", 1.0) > 0 and big_enough
    if not title and not visible:
        return None
    pid = info.get("kCGWindowOwnerPID")
    number = info.get("kCGWindowNumber")
    return WindowInfo(title=title, pid=int(pid) if isinstance(pid, int) else None, wm_class=owner or None,
                      visible=visible, window_id=int(number) if isinstance(number, int) else None)


def collect_windows(infos: Sequence[Mapping[str, Any]], frontmost_pid: Optional[int]) -> Tuple[WindowInfo, ...]:
    """All windows worth judging; the frontmost app's first normal window is foreground.

    CGWindowList lists windows front to back, and an app's document windows
    are on layer 0, so the first layer-0 visible window of the frontmost app
    is the one the user is looking at. Without the frontmost pid (NSWorkspace
    unavailable) the first layer-0 visible window of any app is taken.
    """
    out: List[WindowInfo] = []
    foreground_done = False
    for info in infos:
        window = window_from_info(info)
        if window is None:
            continue
        if (not foreground_done and window.visible and _number(info, "kCGWindowLayer") == 0
                and (frontmost_pid is None or window.pid == frontmost_pid)):
            window = WindowInfo(title=window.title, pid=window.pid, wm_class=window.wm_class,
                                visible=True, foreground=True, window_id=window.window_id)
            foreground_done = True
        out.append(window)
    return tuple(out)


def titles_readable(infos: Sequence[Mapping[str, Any]], preflight: Optional[bool], own_pid: int) -> bool:
    """Whether window titles are given to us (the Screen Recording permission).

    A title on another app's normal window proves it (the preflight answer
    is cached per process and can be stale). Otherwise the preflight answer
    decides; without one (macOS before 10.15, where titles are free, or the
    symbol not found) no titled window among several normal windows of other
    apps means the titles are withheld.
    """
    others = [i for i in infos
              if i.get("kCGWindowOwnerPID") != own_pid
              and str(i.get("kCGWindowOwnerName") or "") not in SYSTEM_OWNERS
              and _number(i, "kCGWindowLayer") == 0]
    if any(i.get("kCGWindowName") for i in others):
        return True
    if preflight is not None:
        return preflight
    return not others


def capture_facts(watcher: Optional[bool], watcher_symbol: str,
                  session: Optional[Mapping[str, Any]]) -> Tuple[CaptureFact, ...]:
    """The screen-watcher and Apple Screen Sharing facts (unknown ones left out)."""
    facts = []
    if watcher is not None:
        facts.append(CaptureFact(source="screen_watcher", active=watcher, detail=watcher_symbol or "screen watcher",
                                 confidence="high"))
    if session is not None:
        facts.append(CaptureFact(source="apple_screen_sharing", active=bool(session.get("CGSSessionScreenIsShared")),
                                 detail="CGSSessionScreenIsShared", confidence="high"))
    return tuple(facts)


class MacCollector(Collector):
    """Snapshots of a macOS login session.

    Takes the template's arguments (agent/collectors/base.py); ``api`` is a
    :class:`MacApi` (default :class:`~agent.collectors._macos_quartz.QuartzApi`).
    macOS has no cheap window-event hook for other apps' windows
    (Accessibility observers need another permission per app), so this
    collector polls (HAS_EVENTS False).
    """

    platform = "darwin"
    name = "darwin"
    HAS_EVENTS = False

    def default_api(self) -> Optional[MacApi]:
        try:
            from agent.collectors._macos_quartz import QuartzApi

            return QuartzApi()
        except (ImportError, OSError) as exc:
            self.problem("windows", self._tr("no_quartz", error=exc))
            return None

    def _tr(self, key: str, **values: object) -> str:
        return i18n.tr(MESSAGES, key, self.lang, **values)

    def read_windows(self) -> Read:
        api = self.api
        if api is None:
            return (), ()
        infos = api.window_list()
        windows = collect_windows(infos, api.frontmost_pid())
        if titles_readable(infos, api.screen_capture_access(), self.own_pid):
            return windows, ()
        return windows, (("window_titles", self._tr("grant_screen_recording")),)

    def read_capture(self, processes) -> Read:
        api = self.api
        if api is None:
            return (), ()
        unavailable = []
        watcher = api.screen_watcher_present()
        if watcher is None:
            unavailable.append(("screen_watcher", self._tr("no_screen_watcher")))
        session = api.session_info()
        if session is None:
            unavailable.append(("screen_sharing", self._tr("no_session")))
        return capture_facts(watcher, getattr(api, "watcher_symbol", ""), session), unavailable

    def failed(self, source: str, exc: BaseException) -> str:
        if source == "windows":
            return self._tr("windows_unreadable", error=exc)
        return super().failed(source, exc)
