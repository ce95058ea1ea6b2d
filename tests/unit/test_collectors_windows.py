"""The Windows collector, driven through faked Win32/registry layers on any OS.

What runs here is the production code of agent/collectors/_windows*.py and
_win_events.py: only EnumWindows & co., the registry and the message loop
are fakes (tests/support/fake_os.py), and the ctypes-backed classes are run
against fake DLL functions that behave like user32/dwmapi.
"""

import ctypes
import struct
import subprocess
import sys
import threading
from ctypes import wintypes
from types import SimpleNamespace

import pytest

from agent import i18n
from agent.collectors import _win32_decls as decls
from agent.collectors import _windows_consent as consent
from agent.collectors._win_events import CtypesEventApi, WinEventWatcher, is_interesting
from agent.collectors._windows import (
    CtypesWindowApi,
    WindowsCollector,
    collect_windows,
    consent_capture_facts,
    consent_device_uses,
)
from agent.model import ProcessInfo, Snapshot
from tests.support.fake_os import (
    FakeEventApi,
    FakeProcessTable,
    FakeRegistry,
    FakeWindowApi,
    connections_reader,
    windows_api,
    windows_collector,
)

T0 = 1_700_000_000.0  # an epoch second for FILETIME round trips
FT0 = consent.epoch_to_filetime(T0)
ZOOM_EXE = r"C:\Users\alice\AppData\Roaming\Zoom\bin\Zoom.exe"
ZOOM_KEY = "C:#Users#alice#AppData#Roaming#Zoom#bin#Zoom.exe"


def test_modules_import_on_this_os():
    # The acceptance line, in a fresh interpreter so no test import hides a failure.
    done = subprocess.run([sys.executable, "-c", "import agent.collectors._windows, agent.collectors._macos"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- ctypes declarations ------------------------------------------------------
@pytest.mark.skipif(sys.platform == "win32", reason="checks the off-Windows guard")
def test_loading_the_dlls_off_windows_is_a_clear_oserror():
    with pytest.raises(OSError, match="only available on Windows"):
        decls.load()
    with pytest.raises(OSError):
        CtypesWindowApi()


def test_every_declaration_has_ctypes_types():
    names = [spec.name for spec in decls.FUNCTIONS]
    assert len(names) == len(set(names))
    for required in ("EnumWindows", "GetWindowTextW", "GetClassNameW", "GetWindowThreadProcessId",
                     "IsWindowVisible", "IsIconic", "DwmGetWindowAttribute", "GetForegroundWindow",
                     "SetWinEventHook", "GetMessageW", "PostThreadMessageW"):
        assert required in names
    for spec in decls.FUNCTIONS:
        for argtype in spec.argtypes:
            assert isinstance(argtype, type) and issubclass(argtype, ctypes._SimpleCData.__mro__[1]), spec.name


class _FakeDll:
    """Hands out plain attribute holders in place of foreign functions."""

    def __init__(self, missing=()):
        self.missing = set(missing)
        self.funcs = {}

    def __getattr__(self, name):
        if name in ("missing", "funcs"):
            raise AttributeError(name)
        if name in self.missing:
            raise AttributeError(f"function '{name}' not found")
        return self.funcs.setdefault(name, SimpleNamespace(__name__=name))


def test_load_declares_argtypes_restype_errcheck_and_tolerates_missing_dwmapi():
    dlls = {"user32": _FakeDll(), "kernel32": _FakeDll()}

    def loader(name):
        if name == "dwmapi":
            raise OSError("dwmapi.dll not found")
        return dlls[name]

    funcs = decls.load(loader)
    assert funcs.DwmGetWindowAttribute is None
    enum = funcs.EnumWindows
    assert enum.argtypes == [decls.WNDENUMPROC, wintypes.LPARAM]
    assert enum.restype is wintypes.BOOL
    assert enum.errcheck is decls._check_nonzero
    assert funcs.GetMessageW.errcheck is decls._check_getmessage


def test_load_fails_when_a_required_function_is_missing():
    with pytest.raises(OSError, match="user32!EnumWindows"):
        decls.load(lambda name: _FakeDll(missing={"EnumWindows"}))


def test_errchecks_turn_failure_values_into_oserror():
    func = SimpleNamespace(__name__="GetClassNameW")
    with pytest.raises(OSError, match="GetClassNameW"):
        decls._check_nonzero(0, func, ())
    assert decls._check_nonzero(12, func, ()) == 12
    with pytest.raises(OSError, match="0x80070006"):
        decls._check_hresult(-2147024890, func, ())  # E_HANDLE
    assert decls._check_hresult(0, func, ()) == 0
    with pytest.raises(OSError):
        decls._check_getmessage(-1, func, ())
    assert decls._check_getmessage(0, func, ()) == 0  # WM_QUIT is not an error


def _fake_user32(windows, foreground=None):
    """Functions with the real calling shapes: buffers, byref out-params, callbacks."""

    def text_len(hwnd):
        return len(windows[hwnd]["title"])

    def get_text(hwnd, buf, size):
        buf.value = windows[hwnd]["title"][: size - 1]
        return len(buf.value)

    def get_class(hwnd, buf, size):
        buf.value = windows[hwnd]["class"]
        return len(buf.value)

    def get_pid(hwnd, ref):
        ref._obj.value = windows[hwnd]["pid"]
        return 99  # the thread id

    def dwm(hwnd, attribute, ref, size):
        assert attribute == decls.DWMWA_CLOAKED and size == 4
        ref._obj.value = windows[hwnd].get("cloaked", 0)
        return 0

    def enum(proc, lparam):
        for hwnd in windows:
            if not proc(hwnd, lparam):
                break
        return 1

    return SimpleNamespace(
        EnumWindows=enum, EnumChildWindows=lambda hwnd, proc, lparam: 0,
        GetWindowTextLengthW=text_len, GetWindowTextW=get_text, GetClassNameW=get_class,
        GetWindowThreadProcessId=get_pid, IsWindowVisible=lambda h: int(windows[h].get("visible", True)),
        IsIconic=lambda h: int(windows[h].get("iconic", False)), DwmGetWindowAttribute=dwm,
        GetForegroundWindow=lambda: foreground)


def test_ctypes_window_api_reads_through_buffers_out_params_and_callbacks():
    windows = {0x10: {"title": "招商银行 - Google Chrome", "class": "Chrome_WidgetWin_1", "pid": 4321},
               0x20: {"title": "", "class": "Shell_TrayWnd", "pid": 800, "cloaked": decls.DWM_CLOAKED_SHELL}}
    api = CtypesWindowApi(_fake_user32(windows, foreground=0x10))
    assert api.top_level_windows() == [0x10, 0x20]
    assert api.title(0x10) == "招商银行 - Google Chrome"
    assert api.title(0x20) == ""
    assert api.class_name(0x10) == "Chrome_WidgetWin_1"
    assert api.pid(0x10) == 4321
    assert api.cloaked(0x20) == decls.DWM_CLOAKED_SHELL
    assert api.foreground() == 0x10
    found = collect_windows(api)
    assert [(w.title, w.pid, w.foreground, w.visible) for w in found] == [
        ("招商银行 - Google Chrome", 4321, True, True), ("", 800, False, False)]


# -- windows ------------------------------------------------------------------
BANK = {"hwnd": 0x100, "title": "中国工商银行 - Microsoft Edge", "class": "Chrome_WidgetWin_1", "pid": 700}


def _windows(*extra, foreground=0x100, **kw):
    return collect_windows(FakeWindowApi([BANK, *extra], foreground=foreground, **kw))


def test_visible_window_in_front_is_foreground():
    (bank,) = _windows()
    assert bank.visible and bank.foreground and bank.window_id == 0x100 and bank.wm_class == "Chrome_WidgetWin_1"


@pytest.mark.parametrize("flags", [decls.DWM_CLOAKED_APP, decls.DWM_CLOAKED_SHELL, decls.DWM_CLOAKED_INHERITED])
def test_cloaked_window_is_not_visible(flags):
    cloaked = dict(BANK, hwnd=0x101, cloaked=flags)
    assert [w.visible for w in _windows(cloaked)] == [True, False]


def test_minimized_window_is_not_visible_but_kept():
    iconic = dict(BANK, hwnd=0x102, iconic=True, title="招商银行 - Google Chrome")
    assert [(w.title, w.visible) for w in _windows(iconic)][1] == ("招商银行 - Google Chrome", False)


def test_hidden_share_bar_is_kept_and_untitled_hidden_helpers_are_dropped():
    bar = {"hwnd": 0x200, "title": "Sharing control bar | Microsoft Teams", "class": "TeamsWebView",
           "pid": 900, "visible": False}
    helper = {"hwnd": 0x201, "title": "", "class": "HiddenHelper", "pid": 900, "visible": False}
    found = _windows(bar, helper)
    assert [(w.title, w.visible) for w in found] == [(BANK["title"], True),
                                                     ("Sharing control bar | Microsoft Teams", False)]


def test_cloak_is_asked_only_for_shown_windows():
    api = FakeWindowApi([BANK, {"hwnd": 0x300, "title": "x", "class": "c", "pid": 1, "visible": False}])
    collect_windows(api)
    assert api.calls.count("DwmGetWindowAttribute") == 1


def test_input_method_windows_are_noise():
    ime = {"hwnd": 0x400, "title": "Default IME", "class": "IME", "pid": 700, "visible": False}
    ctf = {"hwnd": 0x401, "title": "MSCTFIME UI", "class": "MSCTFIME UI", "pid": 700, "visible": False}
    assert [w.window_id for w in _windows(ime, ctf)] == [0x100]


def test_window_destroyed_mid_scan_is_skipped():
    gone = dict(BANK, hwnd=0x500)
    assert [w.window_id for w in _windows(gone, vanished=[0x500])] == [0x100]


def test_store_app_frame_reports_the_apps_pid_not_the_frame_hosts():
    frame = {"hwnd": 0x600, "title": "快速助手", "class": "ApplicationFrameWindow", "pid": 3000,
             "children": [{"hwnd": 0x601, "class": "Windows.UI.Core.CoreWindow", "pid": 3120}]}
    assert _windows(frame)[1].pid == 3120


def test_no_foreground_window_marks_none():
    assert not any(w.foreground for w in _windows(foreground=None))


# -- ConsentStore -------------------------------------------------------------
def test_filetime_conversion():
    assert consent.filetime_to_epoch(116444736000000000) == 0.0
    assert consent.filetime_to_epoch(FT0) == T0
    assert consent.filetime_to_epoch(0) is None
    assert consent.filetime_to_epoch(None) is None
    assert consent.filetime_to_epoch(FT0.to_bytes(8, "little")) == T0  # REG_BINARY copy
    assert consent.filetime_to_epoch(b"\x00\x01") is None


def test_hash_paths_and_package_names():
    assert consent.decode_nonpackaged_path(ZOOM_KEY) == ZOOM_EXE
    assert consent.exe_basename(ZOOM_EXE) == "Zoom.exe"
    assert consent.package_display_name("Microsoft.ScreenSketch_8wekyb3d8bbwe") == "Microsoft.ScreenSketch"
    assert consent.package_display_name("MicrosoftCorporationII.QuickAssist_8wekyb3d8bbwe") == \
        "MicrosoftCorporationII.QuickAssist"
    assert consent.package_display_name("NoPublisher") == "NoPublisher"


@pytest.mark.parametrize("start,stop,in_use", [
    (T0, None, True),          # stop FILETIME 0: in use now
    (T0, T0 + 60, False),      # stopped after it started
    (T0, T0 - 60, True),       # a stop older than the start: started again
    (None, None, False),
    (None, T0, False),
])
def test_in_use_rule(start, stop, in_use):
    assert consent.is_in_use(start, stop) is in_use


def _store(**keys):
    return FakeRegistry(keys)


def test_hkcu_and_hklm_entries_merge_per_app_case_insensitively():
    reg = FakeRegistry({
        rf"HKCU\graphicsCaptureProgrammatic\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0,
                                                                       "LastUsedTimeStop": FT0 + 10**7},
        rf"HKLM\graphicsCaptureProgrammatic\NonPackaged\{ZOOM_KEY.upper()}": {"LastUsedTimeStart": FT0 + 2 * 10**7,
                                                                               "LastUsedTimeStop": 0},
    })
    uses, problems = consent.read_consent_store(reg)
    assert problems == []
    (use,) = uses
    assert use.in_use and use.start == T0 + 2 and use.stop is None and use.hives == ("HKCU", "HKLM")
    assert use.app == ZOOM_EXE and not use.packaged and use.display == "Zoom.exe"


def test_consent_decisions_only_entries_are_not_uses():
    reg = FakeRegistry({r"HKCU\graphicsCaptureProgrammatic\NonPackaged\C:#a.exe": {"Value": "Allow"}})
    assert consent.read_consent_store(reg) == ([], [])


def test_unreadable_key_is_a_problem_not_a_crash():
    reg = FakeRegistry({rf"HKLM\graphicsCaptureProgrammatic\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0}},
                       denied=[r"HKLM\graphicsCaptureProgrammatic"])
    uses, problems = consent.read_consent_store(reg)
    assert uses == [] and len(problems) == 1 and "Access is denied" in problems[0][1]


ZOOM = ProcessInfo(pid=4120, name="Zoom.exe", exe=ZOOM_EXE)
SNIP_EXE = (r"C:\Program Files\WindowsApps\Microsoft.ScreenSketch_11.2309.16.0_x64__8wekyb3d8bbwe"
            r"\SnippingTool\SnippingTool.exe")
SNIP = ProcessInfo(pid=5150, name="SnippingTool.exe", exe=SNIP_EXE)


def _uses(**entries):
    uses, problems = consent.read_consent_store(FakeRegistry(entries), consent.SCREEN_CAPABILITIES
                                                + consent.NON_SCREEN_CAPABILITIES)
    assert problems == []
    return uses


def test_screen_capture_in_use_is_a_low_confidence_fact_with_the_apps_pid():
    uses = _uses(**{rf"HKCU\graphicsCaptureWithoutBorder\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0,
                                                                                    "LastUsedTimeStop": 0}})
    (fact,) = consent_capture_facts(uses, [ZOOM])
    assert (fact.source, fact.active, fact.pid, fact.confidence) == ("consent_store", True, 4120, "low")
    assert fact.detail == f"graphicsCaptureWithoutBorder: {ZOOM_EXE}"


def test_packaged_app_maps_to_its_process_through_the_windowsapps_folder():
    uses = _uses(**{r"HKCU\graphicsCaptureProgrammatic\Microsoft.ScreenSketch_8wekyb3d8bbwe":
                    {"LastUsedTimeStart": FT0, "LastUsedTimeStop": 0}})
    (fact,) = consent_capture_facts(uses, [ZOOM, SNIP])
    assert fact.pid == 5150 and fact.detail.endswith("Microsoft.ScreenSketch_8wekyb3d8bbwe")


def test_webcam_and_microphone_are_never_screen_capture():
    uses = _uses(**{rf"HKCU\webcam\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0, "LastUsedTimeStop": 0},
                    rf"HKCU\microphone\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0, "LastUsedTimeStop": 0}})
    assert [u.in_use for u in uses] == [True, True]
    assert consent_capture_facts(uses, [ZOOM]) == ()


def test_microphone_and_webcam_in_use_are_devices_of_the_running_app():
    uses = _uses(**{rf"HKCU\webcam\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0, "LastUsedTimeStop": 0},
                    rf"HKCU\microphone\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0, "LastUsedTimeStop": 0},
                    r"HKCU\microphone\Microsoft.ScreenSketch_8wekyb3d8bbwe": {"LastUsedTimeStart": FT0,
                                                                               "LastUsedTimeStop": FT0 + 5}})
    devices = consent_device_uses(uses, [ZOOM, SNIP])
    assert sorted((d.device, d.pid, d.source) for d in devices) == [("camera", 4120, "consent_store"),
                                                                    ("microphone", 4120, "consent_store")]
    assert consent_device_uses(uses, [SNIP]) == ()  # Zoom is gone: a stale entry, not a call


def test_stale_in_use_entry_of_an_app_that_is_gone_is_dropped():
    uses = _uses(**{rf"HKCU\graphicsCaptureProgrammatic\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0,
                                                                                   "LastUsedTimeStop": 0}})
    assert consent_capture_facts(uses, [SNIP]) == ()
    # ...unless no executable path could be read at all (then it is kept, pid unknown).
    (fact,) = consent_capture_facts(uses, [ProcessInfo(pid=1, name="System")])
    assert fact.pid is None


def test_stopped_use_is_not_reported():
    uses = _uses(**{rf"HKCU\graphicsCaptureProgrammatic\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0,
                                                                                   "LastUsedTimeStop": FT0 + 1}})
    assert consent_capture_facts(uses, [ZOOM]) == ()


# -- the collector ------------------------------------------------------------
STEP = {
    "at": 12.5,
    "foreground": 0x100,
    "processes": [{"pid": 700, "name": "msedge.exe", "exe": r"C:\Program Files (x86)\Microsoft\Edge\msedge.exe"},
                  {"pid": 4120, "name": "Zoom.exe", "exe": ZOOM_EXE}],
    "windows": [BANK, {"hwnd": 0x700, "title": "Zoom Meeting", "class": "ZPContentViewWndClass", "pid": 4120}],
    "connections": [{"pid": 4120, "remote": "1.2.3.4:443", "status": "ESTABLISHED"}],
    "registry": {rf"HKCU\graphicsCaptureProgrammatic\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0,
                                                                                "LastUsedTimeStop": 0}},
}


def test_snapshot_assembles_every_source():
    snap = windows_collector(STEP).snapshot()
    assert isinstance(snap, Snapshot) and snap.platform == "windows" and snap.time == 12.5
    assert [p.pid for p in snap.processes] == [700, 4120]
    assert [w.title for w in snap.windows] == [BANK["title"], "Zoom Meeting"]
    assert snap.connections[0].remote_port == 443
    assert [(c.source, c.pid, c.confidence) for c in snap.capture] == [("consent_store", 4120, "low")]
    assert snap.unavailable == ()


def test_own_warning_window_is_left_out():
    own = {"hwnd": 0x800, "title": "ShareGuard: 中国工商银行 is on a shared screen", "class": "TkTopLevel",
           "pid": 31337}
    collector = WindowsCollector(windows_api(FakeWindowApi([BANK, own])), processes=FakeProcessTable(),
                                 connections=None, lang="en", user="alice", own_pid=31337)
    assert [w.pid for w in collector.snapshot().windows] == [700]


def test_consent_store_is_read_at_most_once_per_interval_but_tied_to_fresh_processes():
    class CountingRegistry(FakeRegistry):
        reads = 0

        def subkeys(self, hive, path):
            CountingRegistry.reads += 1
            return super().subkeys(hive, path)

    mic = {rf"HKCU\microphone\NonPackaged\{ZOOM_KEY}": {"LastUsedTimeStart": FT0, "LastUsedTimeStop": 0}}
    table = FakeProcessTable([ZOOM])
    collector = WindowsCollector(windows_api(registry=CountingRegistry(mic)), processes=table,
                                 connections=None, lang="en", user="alice", pace={"consent": 60})
    first = collector.snapshot()
    reads = CountingRegistry.reads
    table.processes = ()  # Zoom exits: the cached entry no longer names a running app
    second = collector.snapshot()
    assert CountingRegistry.reads == reads  # no second registry walk within the interval
    assert [(d.device, d.pid) for d in first.devices] == [("microphone", 4120)] and second.devices == ()
    eager = WindowsCollector(windows_api(registry=CountingRegistry(mic)), processes=table,
                             connections=None, lang="en", user="alice", pace={"consent": 0})
    eager.snapshot()
    before = CountingRegistry.reads
    eager.snapshot()
    assert CountingRegistry.reads > before


def test_unreadable_sources_are_reported_in_the_users_language():
    collector = WindowsCollector(windows_api(FakeWindowApi(broken=True),
                                             FakeRegistry(denied=[r"HKCU\graphicsCaptureProgrammatic"])),
                                 processes=FakeProcessTable(), connections=connections_reader(
                                     unavailable=[("connections", "system-wide socket list refused")]),
                                 lang="zh_CN", user="alice")
    snap = collector.snapshot()
    sources = dict(snap.unavailable)
    assert sources["windows"].startswith("无法读取窗口列表")
    assert sources["capture"].startswith("无法读取 Windows 功能使用记录") and "Access is denied" in sources["capture"]
    assert "connections" in sources


@pytest.mark.skipif(sys.platform == "win32", reason="checks the off-Windows behaviour")
def test_default_construction_off_windows_reports_instead_of_failing():
    collector = WindowsCollector(processes=FakeProcessTable(), connections=None, lang="en")
    snap = collector.snapshot()
    assert {s for s, _ in snap.unavailable} == {"windows", "capture"}
    assert "only available on Windows" in dict(snap.unavailable)["capture"]


def test_messages_exist_in_both_languages():
    table = i18n.REGISTRY["agent.collectors._windows"]
    for key, entry in table.items():
        assert set(entry) >= {"en", "zh_CN"}, key


# -- window events ------------------------------------------------------------
class _Wakes:
    def __init__(self):
        self.count = 0
        self.event = threading.Event()

    def __call__(self):
        self.count += 1
        self.event.set()


def _started(api):
    wakes = _Wakes()
    watcher = WinEventWatcher(api, wakes)
    thread = watcher.start()
    return watcher, thread, wakes


def _settle(api, watcher):
    """Wait until every queued event has been handled (a marker event round trip)."""
    marker = threading.Event()
    api.hooks[999] = (0x7FFFFFFF, 0x7FFFFFFF, lambda *a: marker.set())
    api.fire(0x7FFFFFFF)
    assert marker.wait(10)
    del api.hooks[999]


def test_hooks_cover_create_show_namechange_foreground_out_of_context():
    api = FakeEventApi()
    watcher, thread, _ = _started(api)
    ranges = sorted((first, last) for first, last, _ in api.hooks.values())
    assert ranges == [(decls.EVENT_SYSTEM_FOREGROUND,) * 2,
                      (decls.EVENT_OBJECT_CREATE, decls.EVENT_OBJECT_SHOW),
                      (decls.EVENT_OBJECT_NAMECHANGE,) * 2]
    assert api.queue_created and thread.daemon
    watcher.stop()
    assert not thread.is_alive()
    assert sorted(api.unhooked) == [1, 2, 3]


def test_window_events_wake_the_runtime_and_noise_does_not():
    api = FakeEventApi(child_hwnds=[0x9999])
    watcher, thread, wakes = _started(api)
    api.fire(decls.EVENT_OBJECT_SHOW, 0x100)                   # a new window shows
    api.fire(decls.EVENT_OBJECT_NAMECHANGE, 0x100)             # a tab changed the title
    api.fire(decls.EVENT_SYSTEM_FOREGROUND, 0x100)             # focus moved
    api.fire(decls.EVENT_OBJECT_NAMECHANGE, 0x100, id_object=-4)   # OBJID_CARET etc.
    api.fire(decls.EVENT_OBJECT_NAMECHANGE, 0x100, id_child=3)     # a child element
    api.fire(decls.EVENT_OBJECT_CREATE, 0x9999)                # a button inside a window
    api.fire(decls.EVENT_OBJECT_DESTROY, 0x100)                # a share bar closed
    _settle(api, watcher)
    assert wakes.count == 4 and watcher.wakes == 4
    watcher.stop()


def test_a_failing_wake_does_not_end_the_loop():
    api = FakeEventApi()
    calls = []

    def wake():
        calls.append(1)
        raise RuntimeError("boom")

    watcher = WinEventWatcher(api, wake)
    watcher.start()
    api.fire(decls.EVENT_OBJECT_SHOW)
    api.fire(decls.EVENT_OBJECT_SHOW)
    _settle(api, watcher)
    assert len(calls) == 2 and watcher.thread.is_alive()
    watcher.stop()


def test_hook_failure_means_polling_only():
    collector = WindowsCollector(windows_api(events=FakeEventApi(fail_hook=True)),
                                 processes=FakeProcessTable(), connections=None, lang="en")
    assert collector.start_watch(lambda: None) is None


def test_collector_start_and_stop_watch():
    api = FakeEventApi()
    collector = WindowsCollector(windows_api(events=api), processes=FakeProcessTable(), connections=None,
                                 lang="en")
    wakes = _Wakes()
    thread = collector.start_watch(wakes)
    assert collector.start_watch(wakes) is thread  # idempotent
    api.fire(decls.EVENT_OBJECT_SHOW)
    assert wakes.event.wait(10)
    collector.close()
    thread.join(10)
    assert not thread.is_alive()


def test_is_interesting():
    assert is_interesting(decls.EVENT_SYSTEM_FOREGROUND, -4, 5)
    assert is_interesting(decls.EVENT_OBJECT_CREATE, decls.OBJID_WINDOW, decls.CHILDID_SELF)
    assert not is_interesting(decls.EVENT_OBJECT_CREATE, -1, 0)


def test_ctypes_event_api_wraps_callbacks_and_uses_out_of_context_flags():
    seen = {}

    def set_hook(first, last, module, proc, pid, tid, flags):
        seen.update(first=first, last=last, proc=proc, flags=flags)
        return 0xABC

    posted = []
    funcs = SimpleNamespace(SetWinEventHook=set_hook, GetCurrentThreadId=lambda: 77,
                            PostThreadMessageW=lambda *a: posted.append(a) or 1,
                            GetAncestor=lambda hwnd, flag: 0x10 if flag == decls.GA_ROOT else None)
    api = CtypesEventApi(funcs)
    got = []
    assert api.set_hook(3, 3, lambda *a: got.append(a)) == 0xABC
    assert seen["flags"] == decls.WINEVENT_OUTOFCONTEXT | decls.WINEVENT_SKIPOWNPROCESS
    assert isinstance(seen["proc"], decls.WINEVENTPROC)
    seen["proc"](0xABC, 3, 0x10, 0, 0, 1, 2)   # Windows calling back through the prototype
    assert got == [(0xABC, 3, 0x10, 0, 0, 1, 2)]
    api.post_quit(77)
    assert posted == [(77, decls.WM_QUIT, 0, 0)]
    assert api.current_thread_id() == 77
    assert api.is_top_level(0x10) and not api.is_top_level(0x11)


# -- issue 12, bug 2: one unreadable process must not empty the list ------------------------
def test_one_process_failing_with_a_plain_oserror_keeps_the_rest(monkeypatch):
    import os

    import psutil

    from agent.collectors.processes import ProcessTable

    victim = os.getppid()

    class OddProcess(psutil.Process):
        """A process whose name read fails the way some Windows system processes do."""

        def name(self):
            if self.pid == victim:
                raise OSError(22, "The parameter is incorrect")
            return super().name()

    monkeypatch.setattr(psutil, "Process", OddProcess)
    collector = WindowsCollector(windows_api(), processes=ProcessTable(), connections=None, lang="en",
                                 user="alice")
    for _ in range(2):  # the first read and the incremental one
        snap = collector.snapshot()
        by_pid = {p.pid: p for p in snap.processes}
        assert "processes" not in dict(snap.unavailable)
        assert by_pid[os.getpid()].name and by_pid[victim].name == ""
        assert len(by_pid) > 2


# -- one system-wide process snapshot per tick ---------------------------------------------------
def _process_information(entries, pointer_size, base):
    """A SystemProcessInformation buffer as winternl.h lays it out (names after the entries)."""
    from agent.collectors._windows_processes import _LAYOUT

    created_at, name_len_at, name_ptr_at, pid_at, parent_at = _LAYOUT[pointer_size]
    size = parent_at + pointer_size + 40  # the real structure goes on (handles, memory counters...)
    names = b"".join(name.encode("utf-16-le") for _pid, _parent, _created, name in entries)
    buf = bytearray(size * len(entries)) + bytearray(names)
    ptr = "<Q" if pointer_size == 8 else "<I"
    name_at = size * len(entries)
    for i, (pid, parent, created, name) in enumerate(entries):
        at = i * size
        struct.pack_into("<I", buf, at, size if i + 1 < len(entries) else 0)
        struct.pack_into("<q", buf, at + created_at, created)
        encoded = name.encode("utf-16-le")
        struct.pack_into("<H", buf, at + name_len_at, len(encoded))
        struct.pack_into(ptr, buf, at + name_ptr_at, base + name_at if encoded else 0)
        struct.pack_into(ptr, buf, at + pid_at, pid)
        struct.pack_into(ptr, buf, at + parent_at, parent)
        name_at += len(encoded)
    return bytes(buf)


@pytest.mark.parametrize("pointer_size", [8, 4])
def test_system_process_information_is_parsed(pointer_size):
    from agent.collectors._windows_processes import parse_process_information

    entries = [(0, 0, 0, ""), (4, 0, 133_500_000_000_000_000, "System"),
               (7100, 640, 133_500_000_123_000_000, "chrome.exe"), (9300, 7100, 133_500_001_000_000_000, "微信.exe")]
    base = 0x10_0000
    parsed = parse_process_information(_process_information(entries, pointer_size, base), pointer_size, base)
    assert parsed == {0: (0, "", None), 4: (133_500_000_000_000_000, "System", None),
                      7100: (133_500_000_123_000_000, "chrome.exe", 640),
                      9300: (133_500_001_000_000_000, "微信.exe", 7100)}
    assert parse_process_information(b"\0" * 10, pointer_size, base) == {}  # short buffer: nothing, no error


@pytest.mark.skipif(sys.platform == "win32", reason="checks the off-Windows behaviour")
def test_snapshot_lister_needs_windows():
    from agent.collectors._windows_processes import SnapshotLister

    with pytest.raises(OSError):
        SnapshotLister()
