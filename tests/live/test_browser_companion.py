"""The browser companion live: real Chromium and Firefox ESR, the extension and host really installed.

Pages come from a loopback HTTP server; the seeds' domains are mapped to it.
The first tests check the facts the agent receives (snapshot ``pages``); the
verdict tests check what the agent decides on them (the collector plus the
receiver's pages, judged by the engine with the built-in signatures, as the
runtime and ``shareguard scan`` do): the tab-share rows of docs/detection.md
section 3, and ``own`` vs ``impersonation`` by the page's registrable domain.
"""

import contextlib
import subprocess

import pytest

from tests.support.browsers import ChromiumRig, CompanionGuard, firefox_binary, firefox_profile, stop, wait_for
from tests.support.xsession import require_programs, x_session

pytestmark = [pytest.mark.live, pytest.mark.gui, pytest.mark.slow]

BANK = "www.icbc.com.cn"
MEET = "meet.example.com"
FAKE = "2406578.top"  # the seeds' throw-away domain that copies a central bank's name
LOGIN = "mybank.icbc.com.cn"  # the bank's real domain, behind a title that names nothing
TITLES = {BANK: "中国工商银行个人网上银行 ICBC", MEET: "Weekly call", FAKE: "中国人民银行天津分行", LOGIN: "Login"}


@contextlib.contextmanager
def chromium(tmp_path, lang):
    require_programs("chromium", "Xvfb", "openbox")
    with x_session(wm=True) as session:
        # Tab-share auto-selection matches ASCII only: the bank title carries "ICBC".
        # Every seed domain is mapped to the loopback server (--host-resolver-rules).
        r = ChromiumRig(session, str(tmp_path), TITLES, lang=lang, tab_title="ICBC")
        try:
            yield r
        finally:
            r.close()


@pytest.fixture(params=["en-US", "zh-CN"])
def rig(request, tmp_path):
    with chromium(tmp_path, request.param) as r:
        yield r


@pytest.fixture
def rig_en(tmp_path):
    # Chromium auto-selects a screen by its localized name, in ASCII only: en-US it is.
    with chromium(tmp_path, "en-US") as r:
        yield r


def test_tab_share_of_the_bank_page_names_the_shared_tab_and_stopping_ends_it(rig):
    rig.open(rig.server.url(MEET, "/j/42", id="meet"))
    rig.open(rig.server.url(BANK, "/icbc/perbank/index.jsp", q="secret", id="bank"))
    bank = rig.wait_page(BANK, "the bank window, loaded", visible=True, active=True, title=TITLES[BANK])
    assert bank.url == f"http://{BANK}:{rig.server.port}/icbc/perbank/index.jsp"  # no query: never sent
    assert bank.browser == "chromium" and bank.pid
    rig.server.command("meet", "share:browser")
    rig.wait_page(BANK, "the bank tab to be marked shared", shared=True)
    meet = rig.wait_page(MEET, "the meeting page to capture a tab", capturing="browser")
    assert not meet.shared
    rig.server.command("meet", "stop")
    rig.wait_page(MEET, "the capture to end", capturing=None)
    assert not rig.page(BANK).shared


def test_meeting_sharing_itself_with_the_bank_in_another_window(rig):
    rig.open(rig.server.url(BANK, "/", id="bank"))
    rig.open(rig.server.url(MEET, "/j/42", id="meet"))
    rig.server.command("meet", "share:browser:self")
    meet = rig.wait_page(MEET, "the meeting page to share its own tab", capturing="browser", shared=True)
    assert meet.visible
    bank = rig.page(BANK)
    assert bank.visible and not bank.shared


def test_screen_share_is_a_monitor_capture(rig_en):
    rig = rig_en
    rig.open(rig.server.url(MEET, "/j/42", id="meet"))
    rig.server.command("meet", "share:monitor")
    rig.wait_page(MEET, "a screen capture", capturing="monitor")
    rig.server.command("meet", "stop")
    rig.wait_page(MEET, "the screen capture to end", capturing=None)


def test_tab_switch_and_navigation_are_reported(rig):
    rig.open(rig.server.url(MEET, "/j/42", id="meet"))
    rig.open(rig.server.url(BANK, "/", id="bank"), new_window=False)  # a second tab in the same window
    rig.wait_page(BANK, "the new tab to be the active one", active=True)
    assert rig.page(MEET) is None  # a background tab that neither captures nor is shared is not reported
    rig.session.run("xdotool", "search", "--sync", "--onlyvisible", "--class", "chromium", "windowactivate",
                    "--sync", "key", "--clearmodifiers", "ctrl+1", check=False)
    rig.wait_page(MEET, "the tab switch", active=True)


def test_firefox_esr_reports_through_the_same_extension(tmp_path):
    require_programs("firefox-esr", "Xvfb", "openbox")
    from agent.companion import extension, install
    from agent.companion.receiver import CompanionReceiver
    from tests.support.browsers import PageServer

    server = PageServer({"2406578.top": "中国人民银行天津分行"})
    home = str(tmp_path / "home")
    sock = str(tmp_path / "run" / "companion.sock")
    install.install(install.Layout(platform="linux", scope="user", home=home), ["firefox"])
    xpi = extension.build_xpi(str(tmp_path / "companion.xpi"))
    profile = str(tmp_path / "profile")
    firefox_profile(profile, xpi, ["2406578.top"], server.port)
    receiver = CompanionReceiver(sock)
    assert receiver.start()
    with x_session(wm=True) as session:
        env = dict(session.env, HOME=home, SHAREGUARD_COMPANION_CHANNEL=sock, MOZ_CRASHREPORTER_DISABLE="1")
        log = open(str(tmp_path / "firefox.log"), "w")
        proc = subprocess.Popen([firefox_binary(), "--no-remote", "--profile", profile,
                                 server.url("2406578.top", "/login")], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            def reported():
                return [p for p in receiver.pages() if "2406578.top" in p.url and p.title == "中国人民银行天津分行"]
            page = wait_for(reported, 90, "Firefox ESR's companion to report the page")[0]
            assert page.browser == "firefox" and page.title == "中国人民银行天津分行" and page.visible
            assert page.url == f"http://2406578.top:{server.port}/login"
        finally:
            stop(proc)
            receiver.stop()
            server.close()


def test_debian_chromium_loads_the_extension_installed_machine_wide(tmp_path):
    """`shareguard browser install --system` as the .deb runs it: no --load-extension, no profile setup."""
    import os
    import shutil

    from agent.companion import install
    from agent.companion.receiver import CompanionReceiver
    from tests.support.browsers import PageServer
    from tests.support.xsession import require

    require(os.geteuid() == 0, "writes /etc/chromium and /usr/share/chromium (CI runs as root)")
    require_programs("chromium", "Xvfb", "openbox")
    layout = install.Layout(platform="linux", scope="system", home=str(tmp_path / "home"))
    server = PageServer({BANK: TITLES[BANK]})
    sock = str(tmp_path / "run" / "companion.sock")
    receiver = CompanionReceiver(sock)
    assert receiver.start()
    install.install(layout, ["chromium"])
    try:
        with x_session(wm=True) as session:
            env = dict(session.env, HOME=str(tmp_path / "home"), SHAREGUARD_COMPANION_CHANNEL=sock)
            log = open(str(tmp_path / "chromium.log"), "w")
            proc = subprocess.Popen([shutil.which("chromium"), "--no-sandbox", "--disable-background-networking",
                                     "--disable-component-update", "--no-first-run", "--disable-sync",
                                     f"--user-data-dir={tmp_path / 'profile'}",
                                     f"--host-resolver-rules=MAP {BANK} 127.0.0.1", server.url(BANK, "/")],
                                    env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                page = wait_for(lambda: receiver.pages(), 60, "the system-installed companion to report")[0]
                assert page.url == server.url(BANK, "/") and page.browser == "chromium"
            finally:
                stop(proc)
    finally:
        install.uninstall(layout, ["chromium"])
        receiver.stop()
        server.close()


# --- What the agent decides on these pages ---------------------------------------------


def finance_on(verdict, site):
    """The sensitive findings the verdict made from a page on ``site``."""
    return [f for f in verdict.sensitive if f.site == site]


def test_tab_share_of_the_bank_tab_blocks_and_stopping_the_share_ends_the_alert(rig):
    guard = CompanionGuard(rig)
    rig.open(rig.server.url(MEET, "/j/42", id="meet"))
    rig.open(rig.server.url(BANK, "/icbc/perbank/index.jsp", id="bank"))
    rig.wait_page(BANK, "the bank window, loaded", title=TITLES[BANK])
    assert not guard.verdict().alert  # the bank on screen without a share is no alert
    rig.server.command("meet", "share:browser")
    v = guard.until("the shared bank tab to block", lambda v: v.alert and v.level == "block")
    (bank,) = finance_on(v, "icbc.com.cn")
    assert bank.shared and bank.basis == "own" and bank.evidence == "page-url" and bank.category == "bank"
    assert [s.surface for s in v.shares if s.state == "sharing"] == ["browser"], v.to_json()["shares"]
    rig.server.command("meet", "stop")
    v = guard.until("the alert to end with the share", lambda v: not v.alert)
    assert v.level != "block" and not any(f.shared for f in v.sensitive)


def test_tab_share_of_a_meeting_with_the_bank_in_another_window_is_a_warning(rig):
    guard = CompanionGuard(rig)
    rig.open(rig.server.url(BANK, "/", id="bank"))
    rig.open(rig.server.url(MEET, "/j/42", id="meet"))
    rig.server.command("meet", "share:browser:self")
    rig.wait_page(MEET, "the meeting page to share its own tab", capturing="browser", shared=True)
    v = guard.until("a warning for the bank beside a tab share",
                    lambda v: v.level == "warning" and finance_on(v, "icbc.com.cn"))
    assert not v.alert
    (bank,) = finance_on(v, "icbc.com.cn")
    assert not bank.shared and bank.basis == "own"


def test_a_look_alike_domain_is_impersonation_a_warning_alone_and_a_block_in_a_screen_share(rig_en):
    rig = rig_en
    guard = CompanionGuard(rig)
    rig.open(rig.server.url(FAKE, "/login", id="fake"))
    rig.wait_page(FAKE, "the look-alike page, loaded", title=TITLES[FAKE])
    v = guard.until("the look-alike to be judged", lambda v: finance_on(v, FAKE))
    (fake,) = finance_on(v, FAKE)
    assert (fake.basis, fake.evidence) == ("impersonation", "page-url")
    assert v.level == "warning" and not v.alert
    rig.open(rig.server.url(MEET, "/j/42", id="meet"))
    rig.server.command("meet", "share:monitor")
    rig.wait_page(MEET, "a screen capture", capturing="monitor")
    v = guard.until("the look-alike in a screen share to block", lambda v: v.alert and v.level == "block")
    assert [f.basis for f in finance_on(v, FAKE)] == ["impersonation"]


def test_the_banks_real_domain_with_an_unhelpful_title_is_its_own_site(rig_en):
    rig = rig_en
    guard = CompanionGuard(rig)
    rig.open(rig.server.url(LOGIN, "/login", id="login"))
    rig.wait_page(LOGIN, "the login page, loaded", title="Login")
    v = guard.until("the bank's own domain to be recognized", lambda v: finance_on(v, "icbc.com.cn"))
    (bank,) = finance_on(v, "icbc.com.cn")
    assert (bank.basis, bank.evidence, bank.category) == ("own", "page-url", "bank")
