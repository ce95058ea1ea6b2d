"""The words people see: both languages, same placeholders, apps named by name."""

import string

from agent.model import SensitiveFinding, ShareFinding, Verdict
from agent.responders.ui_client import hotline_list
from agent.ui import messages, policy_value
from agent.ui.view import summarize


def _fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_placeholders():
    for key, entry in messages.MESSAGES.items():
        assert entry.get("en") and entry.get("zh_CN"), key
        assert _fields(entry["en"]) == _fields(entry["zh_CN"]), key


def test_official_warning_quotes_the_routine_and_names_its_source():
    zh = messages.t("warning.official_quote", "zh_CN")
    assert "共享屏幕" in zh and "虚假征信" in zh and "固定套路" in zh and "银行账户" in zh
    assert "最高人民检察院" in messages.t("warning.official_source", "zh_CN")
    assert "公安部" in messages.t("warning.official_source", "zh_CN")
    en = messages.t("warning.official_quote", "en")
    assert "fixed routine of false credit-reporting fraud" in en
    assert "Supreme People's Procuratorate" in messages.t("warning.official_source", "en")
    tips = " ".join(messages.official_tips("zh_CN"))
    assert "中国人民银行" in tips and "安全账户" in tips and "官方电话" in tips


def _alert_verdict():
    return Verdict(alert=True, level="block",
                   shares=(ShareFinding(app="todesk", name="ToDesk", kind="remote_control", state="in_session",
                                        pids=(4242,), session_key="todesk:4242:1"),),
                   sensitive=(SensitiveFinding(id="icbc", name="中国工商银行", name_en="ICBC", category="bank"),),
                   freeze_pids=(4242,), blocking_shares=("todesk",))


def test_detected_lines_name_the_app_and_the_bank():
    view = summarize(_alert_verdict())
    assert messages.detected_lines(view, "en") == ["ToDesk remote control is active", "ICBC is open"]
    assert messages.detected_lines(view, "zh_CN") == ["ToDesk 正在远程控制这台电脑", "中国工商银行 已打开"]
    assert view["state"] == "alert" and view["frozen"] == ["ToDesk"]


def test_view_states_and_stable_alert_key():
    assert summarize(Verdict(alert=False, level="none"))["state"] == "watching"
    share = ShareFinding(app="zoom", name="Zoom", kind="meeting", state="sharing", pids=(1,))
    assert summarize(Verdict(alert=False, level="none", shares=(share,)))["state"] == "share"
    assert summarize(Verdict(alert=False, level="none"), paused=True)["state"] == "paused"
    a, b = summarize(_alert_verdict()), summarize(_alert_verdict())
    assert a["alert_key"] and a["alert_key"] == b["alert_key"]
    running = ShareFinding(app="zoom", name="Zoom", kind="meeting", state="running", pids=(1,))
    assert summarize(Verdict(alert=False, level="none", shares=(running,)))["state"] == "watching"


def test_policy_values_fall_back_to_defaults_and_hotlines_normalise():
    assert policy_value(None, "countdown_seconds") == 10
    assert policy_value({"countdown_seconds": 3}, "countdown_seconds") == 3
    assert hotline_list({"cn": "96110", "hk": "18222"}) == ["96110", "18222"]
    assert hotline_list(None) == ["96110"]


def test_console_prints_one_line_per_change_not_per_tick():
    import io

    from agent.model import Snapshot
    from agent.responders.console import ConsoleResponder

    out = io.StringIO()
    console = ConsoleResponder("en", stream=out)
    snap = Snapshot(platform="linux")
    for _ in range(3):
        console.handle(_alert_verdict(), snap)
    console.handle(Verdict(alert=False, level="none"), snap)
    console.handle(Verdict(alert=False, level="none"), snap)
    lines = [line[9:] for line in out.getvalue().splitlines()]
    assert lines == [
        "Now: ToDesk remote control is active",
        "ALERT: ToDesk remote control is active, ICBC is open. Stop now: do not operate a bank account on a "
        "shared screen.",
        "Frozen: ToDesk",
        "No screen sharing or remote control.",
        "Alert over.",
    ]


def test_monitor_list_drops_spanning_and_duplicate_rectangles():
    from agent.ui.monitors import drop_unions

    both = (0, 0, 2560, 800)
    left, right = (0, 0, 1280, 800), (1280, 0, 1280, 800)
    assert drop_unions([left, right, both]) == [left, right]
    assert drop_unions([both, both]) == [both]


def test_other_monitors_point_towards_the_full_warning():
    from agent.ui.warning_window import other_monitor_key

    primary = (0, 0, 1280, 800)
    assert other_monitor_key((1280, 0, 1280, 800), primary) == "warning.other_monitor.left"
    assert other_monitor_key((-1920, 0, 1920, 1080), primary) == "warning.other_monitor.right"
    assert other_monitor_key((0, 800, 1280, 800), primary) == "warning.other_monitor.up"
    assert other_monitor_key((0, -800, 1280, 800), primary) == "warning.other_monitor.down"
    assert "\u2190" in messages.t("warning.other_monitor.left", "zh_CN")


def test_toasts_say_what_the_app_can_do_and_what_to_do():
    body = messages.t("toast.first_seen.body", "zh_CN", app="ToDesk")
    assert "ToDesk" in body and "挂断" in body
    assert "hang up" in messages.t("toast.warning.body", "en")


def test_tray_tooltip_says_alert_only_when_the_warning_is_up():
    from agent.model import SensitiveFinding, ShareFinding, Verdict
    from agent.responders.ui_client import UiClient
    from agent.ui.view import summarize

    todesk = ShareFinding(app="todesk", name="ToDesk", kind="remote_control", state="running", pids=(5,))
    icbc = SensitiveFinding(id="icbc", name="中国工商银行", category="bank", pids=(6,), name_en="ICBC")
    for lang, careful, alert in (("en", "careful", "ALERT"), ("zh_CN", "注意", "警报")):
        client = UiClient(None, lang)  # not started: no helper process
        warning = summarize(Verdict(alert=False, level="warning", shares=(todesk,), sensitive=(icbc,)))
        block = summarize(Verdict(alert=True, level="block", shares=(todesk,), sensitive=(icbc,),
                                  blocking_shares=("todesk",)))
        assert careful in client.tooltip(warning) and alert not in client.tooltip(warning)
        assert alert in client.tooltip(block)


def test_reloaded_policy_changes_language_countdown_and_hotlines():
    from agent.responders.process_control import ProcessController
    from agent.responders.ui_client import UiClient

    client = UiClient({"countdown_seconds": 10}, "en")
    sent = []
    client.proc, client._send = object(), sent.append  # as if the helper were running
    client.apply_policy({"countdown_seconds": 25, "hotlines": {"cn": "96110", "hk": "18222"}}, "zh_CN")
    assert client.lang == "zh_CN" and sent == [client.config]
    assert sent[0].countdown_seconds == 25 and sent[0].lang == "zh_CN"
    assert "18222" in sent[0].hotlines
    controller = ProcessController(grace_seconds=3)
    controller.apply_policy({"end_grace_seconds": 7}, "en")
    assert controller.grace_seconds == 7.0


def test_sharing_stopped_toast_names_the_app_not_the_process():
    from agent.responders.ui_client import UiClient

    client = UiClient(None, "en")
    toasts = []
    client.toast = lambda title, body: toasts.append(body)
    client.last_view = {"blocking": [{"app": "rustdesk", "name": "RustDesk", "pids": [50, 51]}]}
    client.report_ended([{"pid": 51, "name": "rustdesk", "how": "terminated"},
                         {"pid": 99, "name": "helper-x", "how": "killed"}])
    assert "RustDesk" in toasts[0] and "helper-x" in toasts[0] and "rustdesk," not in toasts[0]


def test_custom_message_and_help_url_placeholders_are_filled_once_per_alert():
    from agent.audit import AuditContext
    from agent.model import SensitiveFinding, ShareFinding, Snapshot, Verdict
    from agent.responders.ui_client import UiClient
    from agent.ui.protocol import AlertTexts

    class Audit:
        def __init__(self):
            self.events = []
            self.context = AuditContext(device_id="dev-1", hostname="pc-42", user="alice")

        def emit(self, kind, **fields):
            event = {"type": kind, "event_id": f"ev-{len(self.events)}", "hostname": "pc-42", "user": "alice",
                     "device_id": "dev-1", **fields}
            self.events.append(event)
            return event

    audit = Audit()
    policy = {"custom_message": "Call IT about %app% on %hostname% (ref %event_id%)",
              "help_url": "https://it.example/fraud?user=%username%&event=%event_id%&app=%app%"}
    client = UiClient(policy, "en", audit=audit)
    sent = []
    client.proc, client._send = object(), sent.append
    share = ShareFinding(app="todesk", name="ToDesk", kind="remote_control", state="in_session", pids=(5,),
                         session_key="todesk:in_session:5:1")
    bank = SensitiveFinding(id="icbc", name="中国工商银行", category="bank", pids=(6,), name_en="ICBC")
    block = Verdict(alert=True, level="block", shares=(share,), sensitive=(bank,), blocking_shares=("todesk",))
    client.handle(block, Snapshot(platform="linux"))
    client.handle(block, Snapshot(platform="linux", time=1))  # same alert: nothing new
    texts = [m for m in sent if isinstance(m, AlertTexts)]
    assert len(texts) == 1 and [e["type"] for e in audit.events] == ["warning_shown"]
    assert texts[0].custom_message == "Call IT about ToDesk on pc-42 (ref ev-0)"
    assert texts[0].help_url == "https://it.example/fraud?user=alice&event=ev-0&app=ToDesk"
    # The alert ends and a new one starts: a new event and new texts.
    client.handle(Verdict(alert=False, level="none"), Snapshot(platform="linux"))
    client.handle(block, Snapshot(platform="linux", time=2))
    assert [e["type"] for e in audit.events] == ["warning_shown", "warning_shown"]
    assert [m for m in sent if isinstance(m, AlertTexts)][-1].custom_message.endswith("(ref ev-1)")


def test_monitor_mode_first_seen_is_logged_not_toasted():
    from agent.model import ShareFinding, Snapshot, Verdict
    from agent.responders.ui_client import UiClient

    client = UiClient(None, "en")
    toasts = []
    client.toast = lambda title, body: toasts.append(title)
    client.proc, client._send = object(), lambda message: None
    todesk = ShareFinding(app="todesk", name="ToDesk", kind="remote_control", state="running", pids=(1,))
    client.handle(Verdict(alert=False, level="none", mode="monitor", shares=(todesk,), first_seen=("todesk",),
                          actions=("log",)), Snapshot(platform="linux"))
    assert toasts == []
    client.handle(Verdict(alert=False, level="notice", shares=(todesk,), first_seen=("todesk",),
                          actions=("notify",)), Snapshot(platform="linux", time=1))
    assert len(toasts) == 1 and "ToDesk" in toasts[0]


def test_ui_helper_command_from_sources_and_from_a_frozen_build(monkeypatch):
    import subprocess
    import sys

    from agent.responders.ui_client import helper_command

    assert helper_command() == [sys.executable, "-m", "agent.ui.helper"]
    assert helper_command("/opt/py") == ["/opt/py", "-m", "agent.ui.helper"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", r"C:\Program Files\ShareGuard\shareguardw.exe")
    assert helper_command() == [r"C:\Program Files\ShareGuard\shareguardw.exe", "--ui-helper"]
    monkeypatch.undo()
    # The frozen form reaches the helper through the normal entry point: without a
    # display it says so in the helper protocol (one authenticated line) and exits 2.
    from agent.ui.channel import TO_AGENT, Opener, hello_line, new_secret
    secret = new_secret()
    env = {k: v for k, v in __import__("os").environ.items() if k != "DISPLAY"}
    res = subprocess.run([sys.executable, "-m", "agent", "--ui-helper"], input=hello_line(secret) + "\n",
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 2 and Opener(secret, TO_AGENT).open(res.stdout.splitlines()[0])["type"] == "fatal"


def test_console_first_seen_line_names_the_app_once():
    """Issue 12 bug 5: 'First time on this computer: Zoom Zoom can let…' named the app twice."""
    import io

    from agent.model import ShareFinding, Snapshot, Verdict
    from agent.responders.console import ConsoleResponder

    zoom = ShareFinding(app="zoom", name="Zoom", kind="meeting", state="running", pids=(1,))
    for lang, start in (("en", "Notice: First time on this computer: Zoom can let"),
                        ("zh_CN", "提醒：这台电脑上第一次出现：Zoom 可以让")):
        out = io.StringIO()
        ConsoleResponder(lang, stream=out).handle(
            Verdict(alert=False, level="notice", shares=(zoom,), first_seen=("zoom",), actions=("notify",)),
            Snapshot(platform="windows"))
        [line] = [line[9:] for line in out.getvalue().splitlines() if "Zoom" in line and "Now" not in line
                  and "当前" not in line]
        assert line.startswith(start), line
        assert line.count("Zoom") == 1, line


def test_impersonation_and_shared_tab_are_named_plainly():
    fake = SensitiveFinding(id="pbc", name="中国人民银行", name_en="People's Bank of China", category="credit_report",
                            basis="impersonation", site="2406578.top")
    tab = SensitiveFinding(id="abc", name="中国农业银行", name_en="Agricultural Bank of China", category="bank",
                           shared=True)
    view = summarize(Verdict(alert=True, level="block", sensitive=(fake, tab)))
    assert messages.detected_lines(view, "zh_CN") == ["有网页冒充中国人民银行：它不是中国人民银行的官方网站",
                                                      "正在共享的标签页是 中国农业银行"]
    assert messages.detected_lines(view, "en")[0] == (
        "A page pretends to be People's Bank of China: it is NOT People's Bank of China's own website")


def test_an_impersonation_page_alone_gets_its_own_toast():
    from agent.model import Snapshot
    from agent.responders.ui_client import UiClient

    client = UiClient(None, "zh_CN")
    toasts = []
    client.toast = lambda title, body: toasts.append((title, body))
    client.proc, client._send = object(), lambda message: None
    fake = SensitiveFinding(id="pbc", name="中国人民银行", name_en="People's Bank of China", category="credit_report",
                            basis="impersonation")
    client.handle(Verdict(alert=False, level="warning", sensitive=(fake,), actions=("notify", "tray_warning")),
                  Snapshot(platform="linux"))
    assert toasts == [("小心：这个网页在冒充中国人民银行",
                       "它不是中国人民银行的官方网站。不要在上面登录、转账或输入验证码。银行和中国人民银行绝不会让您在网上"
                       "注销\u201c校园贷\u201d或处理征信。")]


def _tab_share_verdict(site="icbc.com.cn"):
    return Verdict(alert=True, level="block",
                   shares=(ShareFinding(app="chromium", name="Chromium", kind="browser", state="sharing",
                                        pids=(77,), surface="browser"),),
                   sensitive=(SensitiveFinding(id="icbc", name="中国工商银行", name_en="ICBC", category="bank",
                                               evidence="page-url", site=site, shared=True),),
                   blocking_shares=("chromium",))


def test_the_warning_names_the_shared_tab_and_its_site_in_both_languages():
    view = summarize(_tab_share_verdict())
    assert messages.detected_lines(view, "en") == ["Chromium is sharing a browser tab",
                                                   "The tab being shared shows ICBC (icbc.com.cn)"]
    assert messages.detected_lines(view, "zh_CN") == ["Chromium 正在共享一个浏览器标签页",
                                                      "正在共享的标签页是 中国工商银行（icbc.com.cn）"]


def test_a_screen_share_from_a_page_is_not_called_a_tab_share():
    screen = ShareFinding(app="chromium", name="Chromium", kind="browser", state="sharing", pids=(77,))
    view = summarize(Verdict(alert=True, level="block", shares=(screen,), blocking_shares=("chromium",)))
    assert messages.detected_lines(view, "en") == ["Chromium is sharing your screen"]


def test_the_shared_tab_shows_the_domain_only_never_a_full_address():
    view = summarize(_tab_share_verdict(site="https://user@mybank.icbc.com.cn:8443/perbank/login?card=6222#x"))
    assert view["sensitive"][0]["site"] == "mybank.icbc.com.cn"
    for lang in ("en", "zh_CN"):
        text = " ".join(messages.detected_lines(view, lang))
        assert "mybank.icbc.com.cn" in text
        assert not any(part in text for part in ("https", "perbank", "6222", "8443", "user@"))
