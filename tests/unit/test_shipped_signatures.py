"""The signatures we ship load cleanly and say what docs/detection.md says."""

import re

import pytest

from agent.signatures.loader import builtin_signature_dir, load_signatures


@pytest.fixture(scope="module")
def shipped():
    return load_signatures()   # the whole built-in dir, finance and title rules included


def test_builtin_dir_is_the_repo_signatures(shipped):
    assert builtin_signature_dir().endswith("signatures")
    assert any(f.endswith("meetings.yaml") for f in shipped.files)
    assert len(shipped.version) == 12


def test_every_entry_and_signal_has_a_source_and_both_names(shipped):
    for app in shipped.apps:
        assert app.source and app.names["en"] and app.names["zh_CN"], app.id
        assert app.processes or app.signals, app.id
        for sig in app.signals:
            assert sig.source, (app.id, sig.label)
    lolrmm = [a for a in shipped.apps if a.id.startswith("lolrmm.")]
    assert len(lolrmm) > 140
    assert all(a.kind == "remote_control" and not a.signals and "LOLRMM yaml/" in a.source for a in lolrmm)


def grades(app):
    return {s.label: s.grade for s in app.signals}


def test_key_signals_from_signals_md(shipped):
    zoom = shipped.app("zoom")
    assert grades(zoom)["window-class:ZPFloatToolbarClass"] == "sharing"
    assert grades(zoom)["process:CptHost.exe"] == "in_session"
    assert grades(shipped.app("rustdesk"))["process-args:rustdesk --cm"] == "sharing"
    assert grades(shipped.app("teamviewer"))["window-class:TV_ControlWin"] == "sharing"
    # Port 5938 alone no longer makes TeamViewer in_session (idle TeamViewer keeps it open: issue 9).
    assert "port:5938" not in grades(shipped.app("teamviewer"))
    assert grades(shipped.app("chrome_remote_desktop"))["process:remoting_desktop.exe"] == "sharing"
    assert set(grades(shipped.app("firefox")).values()) == {"in_session"}   # also shown for camera only
    todesk = shipped.app("todesk")
    assert not todesk.signals and "ToDesk_Session" in [p.name for p in todesk.processes]
    for app_id in ("tencent_meeting", "dingtalk", "feishu", "webex", "wechat", "qq"):
        assert shipped.app(app_id).kind == "meeting" and not shipped.app(app_id).has_share_signal


@pytest.mark.parametrize("title, shared", [
    ("meet.google.com is sharing your screen.", True),
    ("meet.google.com is sharing your screen and audio.", True),
    ("zoom.us is sharing a window.", True),
    ("app.slack.com is sharing a Chrome tab and audio.", True),
    ("teams.microsoft.com is sharing a Microsoft Edge tab.", True),
    ("meet.google.com正在共享您的屏幕。", True),
    ("meet.google.com 正在共享窗口。", True),
    ("Who is sharing my screen? - Reddit", False),
    ("meet.google.com is sharing your screen. - Google Chrome", False),
    ("This tab is sharing your screen", False),
    ("招商银行 - Google Chrome", False),
])
def test_browser_share_bar_titles(shipped, title, shared):
    chrome = shipped.app("chrome")
    hit = any(s.window and re.search(s.window.title, title) for s in chrome.signals if s.grade == "sharing")
    assert hit == shared


def test_browser_apps_share_the_bar_and_tie_it_to_their_process(shipped):
    for app in shipped.apps:
        if app.kind == "browser" and not app.fallback:
            assert all(s.window is not None and s.window.same_app for s in app.signals), app.id


def test_fallback_browsers_have_no_process_and_only_window_signals(shipped):
    """chromium_family/firefox_family catch a share bar of any executable: they must never make
    a browser `running` by name, and only get windows no listed browser claimed."""
    fallbacks = [a for a in shipped.apps if a.fallback]
    assert {a.id for a in fallbacks} == {"chromium_family", "firefox_family"}
    for app in fallbacks:
        assert not app.processes and all(s.window is not None for s in app.signals), app.id


# --- Remote-control precision: what a `running` remote tool may be -------------------------------
# A remote-control app merely running next to a bank page warns (balanced) or blocks (strict), so
# no remote_control process name may be ordinary desktop software, a common system process, or
# the CONTROLLER side of a product (the viewer a supporter uses to control someone else).

def _remote_index(shipped, platform):
    from agent.engine.matching import ProcessIndex
    return ProcessIndex(((m, app.id) for app in shipped.apps if app.kind == "remote_control"
                         for m in app.processes), platform)


def _remote_hits(index, name):
    from agent.model import ProcessInfo
    return [app_id for _, app_id in index.match(ProcessInfo(pid=1, name=name))]


@pytest.mark.parametrize("platform, name", [
    # controller side: the user controls someone else
    ("windows", "mstsc.exe"), ("windows", "vncviewer.exe"), ("windows", "tvnviewer.exe"),
    ("windows", "Radmin.exe"), ("windows", "rutview.exe"), ("windows", "romviewer.exe"),
    ("windows", "rviewer.exe"), ("windows", "nxplayer.exe"), ("windows", "veyon-master.exe"),
    ("windows", "jumpdesktop.exe"), ("windows", "bomgar-pac.exe"), ("windows", "awrem32.exe"),
    ("windows", "DameWare Mini Remote Control x64.exe"), ("windows", "TiExpertCore.exe"),
    ("windows", "royalts.exe"), ("windows", "putty.exe"), ("windows", "MobaXterm.exe"),
    ("windows", "ssh.exe"), ("linux", "ssh"), ("linux", "vncviewer"), ("linux", "remmina"),
    ("linux", "xfreerdp"), ("darwin", "HelpWire Operator"),
    # ordinary desktop software and system processes
    ("windows", "winpty-agent.exe"), ("windows", "GoTo.exe"), ("windows", "Iperius.exe"),
    ("windows", "level.exe"), ("windows", "IPRangeCalculator.exe"), ("windows", "regapps.exe"),
    ("windows", "explorer.exe"), ("windows", "svchost.exe"), ("windows", "agent.exe"),
    ("windows", "service.exe"), ("windows", "helper.exe"), ("windows", "updater.exe"),
    ("windows", "host.exe"), ("windows", "remote.exe"), ("windows", "client.exe"),
    ("windows", "UserNotificationHelper.exe"), ("windows", "Code.exe"), ("windows", "chrome.exe"),
    ("linux", "python3"), ("linux", "sshd"), ("linux", "agent"), ("linux", "bash"),
    ("darwin", "Finder"), ("darwin", "loginwindow"),
])
def test_no_remote_control_entry_matches_controller_side_or_ordinary_programs(shipped, platform, name):
    assert _remote_hits(_remote_index(shipped, platform), name) == []


@pytest.mark.parametrize("name", [
    "rserver3.exe", "rutserv.exe", "ROMServer.exe", "awhost32.exe", "veyon-server.exe", "jumpconnect.exe",
    "bomgar-scc.exe", "dwrcs.exe", "FixMeit Client.exe", "iperiusremote.exe", "AA_v3.exe", "AnyViewer.exe",
])
def test_the_controlled_side_of_the_same_products_is_still_listed(shipped, name):
    assert _remote_hits(_remote_index(shipped, "windows"), name), name


def test_remote_control_names_are_specific(shipped):
    # Wildcards keep at least 4 literal characters ("g2a*" matched any g2a... program) and plain
    # names at least 3 (nxd.exe is NoMachine's; 1-2 letter names collide with too much).
    for app in shipped.apps:
        if app.kind != "remote_control":
            continue
        for m in app.processes:
            if m.exe_contains and len(m.exe_contains) >= 5:
                continue  # a generic name with its install folder as the second signal (issue 9 item 6)
            stem = m.name.casefold()
            stem = stem[:-4] if stem.endswith(".exe") else stem
            wild = "*" in stem or "?" in stem or "[" in stem
            literal = stem.replace("*", "").replace("?", "").strip(" ._-")
            assert len(literal) >= (4 if wild else 3), (app.id, m.name)


@pytest.mark.parametrize("exe,app", [
    (r"C:\Program Files (x86)\Pilixo\rdp.exe", "pilixo_rdp"),
    (r"C:\Program Files\RuDesktop\rd.exe", "rudesktop_rd"),
    (r"C:\Users\a\AppData\Local\GatherPlace\gp4.exe", "gatherplace_gp"),
    (r"C:\Program Files\AnySupport\ManualLauncher.exe", "any_support"),
    (r"C:\Program Files\SpyAnywhere\sysdiag.exe", "spyanywhere"),
])
def test_generic_lolrmm_names_need_their_install_folder(shipped, exe, app):
    from agent.engine.matching import ProcessIndex
    from agent.model import ProcessInfo
    index = ProcessIndex(((m, a.id) for a in shipped.apps if a.kind == "remote_control" for m in a.processes),
                         "windows")
    name = exe.rsplit("\\", 1)[-1]
    assert app in {a for _, a in index.match(ProcessInfo(1, name, exe=exe))}
    # The same name elsewhere (Huorong's sysdiag.exe, Guitar Pro's gp4.exe, any rdp.exe) is not it.
    elsewhere = ProcessInfo(2, name, exe="C:\\Program Files\\Other\\" + name)
    assert app not in {a for _, a in index.match(elsewhere)}
