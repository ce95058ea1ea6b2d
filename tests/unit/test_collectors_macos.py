"""The macOS collector, driven through a faked Quartz layer on any OS.

The fake answers with kCGWindow* dictionaries shaped like
CGWindowListCopyWindowInfo's (tests/support/fake_os.py); everything else is
the production code of agent/collectors/_macos.py.
"""

import ctypes
import sys

import pytest

from agent import i18n
from agent.collectors import _macos_quartz as quartz
from agent.collectors._macos import (
    MESSAGES,
    MacCollector,
    capture_facts,
    collect_windows,
    titles_readable,
    window_from_info,
)
from agent.model import Snapshot
from tests.support.fake_os import FakeMacApi, FakeProcessTable, connections_reader, mac_collector

OWN = 1


def cg(owner, pid, title=None, layer=0, onscreen=True, width=800, height=600, alpha=1.0, number=None):
    """One window as CGWindowListCopyWindowInfo describes it (no kCGWindowName without permission)."""
    info = {"kCGWindowOwnerName": owner, "kCGWindowOwnerPID": pid, "kCGWindowLayer": layer,
            "kCGWindowBounds": {"X": 0, "Y": 25, "Width": width, "Height": height},
            "kCGWindowAlpha": alpha, "kCGWindowNumber": number or pid * 10, "kCGWindowSharingState": 1,
            "kCGWindowStoreType": 1, "kCGWindowMemoryUsage": 1248}
    if onscreen:
        info["kCGWindowIsOnscreen"] = True  # the key is absent for off-screen windows
    if title is not None:
        info["kCGWindowName"] = title
    return info


SAFARI_BANK = cg("Safari", 610, "招商银行 - 一网通银行")
ZOOM_MAIN = cg("zoom.us", 700, "Zoom Meeting")
ZOOM_BAR = cg("zoom.us", 700, "zoom share statusbar window", layer=25, width=300, height=40)
MENUBAR = cg("Window Server", 150, "Menubar", layer=24)
DOCK = cg("Dock", 390, "Dock", layer=20)


def test_quartz_api_needs_pyobjc():
    if sys.platform == "darwin":
        pytest.skip("pyobjc is installed on macOS")
    with pytest.raises(ImportError):
        quartz.QuartzApi()


def test_private_symbols_missing_mean_none_not_a_crash():
    assert quartz._bool_function(None, "SLSIsScreenWatcherPresent") is None
    libc = ctypes.CDLL(None)
    assert quartz._bool_function(libc, "SLSIsScreenWatcherPresent_not_here") is None
    getpid = quartz._bool_function(libc, "getpid")  # any exported symbol: dlsym works
    assert getpid is not None and getpid.restype is ctypes.c_bool and getpid.argtypes == []
    assert quartz._open_library("/System/Library/PrivateFrameworks/Nope.framework/Nope") is None


def test_plain_turns_nested_containers_into_python_values():
    class NSDict(dict):
        pass

    value = NSDict(kCGWindowBounds=NSDict(X=1.0, Width=2), names=("a", "b"))
    assert quartz.plain(value) == {"kCGWindowBounds": {"X": 1.0, "Width": 2}, "names": ["a", "b"]}


def test_window_fields():
    window = window_from_info(SAFARI_BANK)
    assert (window.title, window.pid, window.wm_class, window.visible, window.window_id) == \
        ("招商银行 - 一网通银行", 610, "Safari", True, 6100)


@pytest.mark.parametrize("info,visible", [
    (cg("Safari", 610, "x", onscreen=False), False),     # another Space, minimized, hidden app
    (cg("Safari", 610, "x", alpha=0.0), False),          # fully transparent
    (cg("Safari", 610, "x", width=1, height=1), False),  # a 1x1 helper window
    (cg("Safari", 610, "x"), True),
])
def test_visibility(info, visible):
    assert window_from_info(info).visible is visible


def test_desktop_furniture_and_untitled_offscreen_windows_are_dropped():
    assert window_from_info(MENUBAR) is None and window_from_info(DOCK) is None
    assert window_from_info(cg("Safari", 610, None, onscreen=False)) is None
    assert window_from_info(cg("Safari", 610, None)).title == ""  # on screen, no title: kept


def test_foreground_is_the_frontmost_apps_first_normal_window():
    infos = [ZOOM_BAR, MENUBAR, cg("Safari", 610, "Inbox", onscreen=False), SAFARI_BANK,
             cg("Safari", 610, "Second"), ZOOM_MAIN]
    found = collect_windows(infos, frontmost_pid=610)
    assert [(w.title, w.foreground) for w in found] == [
        ("zoom share statusbar window", False), ("Inbox", False), ("招商银行 - 一网通银行", True),
        ("Second", False), ("Zoom Meeting", False)]
    # Without NSWorkspace's answer: the first normal on-screen window, front to back.
    assert [w.title for w in collect_windows(infos, frontmost_pid=None) if w.foreground] == ["招商银行 - 一网通银行"]


def test_titles_readable_decisions():
    untitled = [cg("Safari", 610), cg("zoom.us", 700), MENUBAR]
    titled = [SAFARI_BANK, ZOOM_MAIN]
    assert titles_readable(titled, True, OWN)
    assert titles_readable(titled, False, OWN)        # stale cached preflight: titles prove it
    assert not titles_readable(untitled, False, OWN)
    assert not titles_readable(untitled, None, OWN)   # symbol missing: judged from the windows
    assert titles_readable(untitled, True, OWN)       # permission, but these windows are untitled
    assert titles_readable([MENUBAR], None, OWN)      # nothing to judge: assume readable
    # Our own titled window proves nothing: we always see our own titles.
    assert not titles_readable([cg("Python", OWN, "ShareGuard"), cg("Safari", 610)], None, OWN)


def test_capture_facts():
    facts = capture_facts(True, "SLSIsScreenWatcherPresent", {"CGSSessionScreenIsShared": True})
    assert [(f.source, f.active, f.confidence, f.detail) for f in facts] == [
        ("screen_watcher", True, "high", "SLSIsScreenWatcherPresent"),
        ("apple_screen_sharing", True, "high", "CGSSessionScreenIsShared")]
    assert [f.active for f in capture_facts(False, "CGSIsScreenWatcherPresent", {})] == [False, False]
    assert capture_facts(None, "", None) == ()


STEP = {"at": 3, "frontmost_pid": 610, "screen_capture_access": True, "screen_watcher": True,
        "processes": [{"pid": 610, "name": "Safari"}, {"pid": 700, "name": "zoom.us"},
                      {"pid": 712, "name": "CptHost", "ppid": 700}],
        "windows": [ZOOM_BAR, MENUBAR, SAFARI_BANK, ZOOM_MAIN],
        "connections": [{"pid": 700, "remote": "170.114.52.2:443", "status": "ESTABLISHED"}]}


def test_snapshot_with_permission():
    snap = mac_collector(STEP).snapshot()
    assert isinstance(snap, Snapshot) and snap.platform == "darwin" and snap.time == 3.0
    assert [w.title for w in snap.windows] == ["zoom share statusbar window", "招商银行 - 一网通银行", "Zoom Meeting"]
    assert [w.foreground for w in snap.windows] == [False, True, False]
    assert [(c.source, c.active) for c in snap.capture] == [("screen_watcher", True), ("apple_screen_sharing", False)]
    assert [p.name for p in snap.processes] == ["Safari", "zoom.us", "CptHost"]
    assert snap.connections[0].pid == 700
    assert snap.unavailable == ()


@pytest.mark.parametrize("lang,words", [
    ("en", "System Settings → Privacy & Security → Screen Recording"),
    ("zh_CN", "系统设置 → 隐私与安全性 → 屏幕录制"),
])
def test_without_screen_recording_it_runs_on_owner_names_and_says_how_to_grant(lang, words):
    step = dict(STEP, screen_capture_access=False,
                windows=[cg("zoom.us", 700, None, layer=25, width=300, height=40), MENUBAR, cg("Safari", 610),
                         cg("zoom.us", 700)])
    snap = mac_collector(step, lang=lang).snapshot()
    assert [(w.title, w.wm_class) for w in snap.windows] == [("", "zoom.us"), ("", "Safari"), ("", "zoom.us")]
    reasons = dict(snap.unavailable)
    assert words in reasons["window_titles"]
    assert [c.source for c in snap.capture] == ["screen_watcher", "apple_screen_sharing"]  # still collected


def test_missing_private_watcher_and_session_are_reported():
    collector = MacCollector(FakeMacApi([SAFARI_BANK], screen_watcher=None, session="none"),
                             processes=FakeProcessTable(), connections=None, lang="en", own_pid=OWN)
    snap = collector.snapshot()
    assert snap.capture == ()
    assert set(dict(snap.unavailable)) == {"screen_watcher", "screen_sharing"}


def test_broken_window_list_keeps_the_other_sources():
    collector = MacCollector(FakeMacApi(broken=True, screen_watcher=True), processes=FakeProcessTable(),
                             connections=connections_reader(), lang="zh_CN", own_pid=OWN)
    snap = collector.snapshot()
    assert dict(snap.unavailable)["windows"].startswith("无法读取窗口列表")
    assert snap.capture[0].active


def test_own_windows_are_left_out():
    collector = MacCollector(FakeMacApi([SAFARI_BANK, cg("Python", 4242, "ShareGuard 警告")]),
                             processes=FakeProcessTable(), connections=None, lang="en", own_pid=4242)
    assert [w.pid for w in collector.snapshot().windows] == [610]


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the off-macOS behaviour")
def test_default_construction_off_macos_reports_instead_of_failing():
    snap = MacCollector(processes=FakeProcessTable(), connections=None, lang="en").snapshot()
    assert "pyobjc-framework-Quartz" in dict(snap.unavailable)["windows"]


def test_messages_exist_in_both_languages_with_the_same_placeholders():
    import string

    assert i18n.REGISTRY["agent.collectors._macos"] is MESSAGES
    for key, entry in MESSAGES.items():
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[lang]) if f} for lang in ("en", "zh_CN")]
        assert fields[0] == fields[1], key
