"""`shareguard replay`: the contract of docs/replay.md, errors included."""

import argparse
import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

from agent.commands import replay

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ZOOM_SHARING_ICBC = """\
platform: windows
steps:
  - at: 0
    processes:
      - {pid: 4120, ppid: 1, name: Zoom.exe, exe: 'C:\\Users\\a\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe',
         cmdline: ['Zoom.exe'], create_time: 1700000000.0, user: alice}
      - {pid: 7000, name: chrome.exe, create_time: 1700000001.0}
    windows:
      - {pid: 4120, title: 'Zoom Meeting', class: ZPContentViewWndClass, visible: true, foreground: false}
      - {pid: 4120, title: 'Screen sharing meeting controls', class: ZPFloatToolbarClass, visible: true}
      - {pid: 7000, title: '中国工商银行 - 个人网上银行 - Google Chrome', class: Chrome_WidgetWin_1, visible: true}
    connections:
      - {pid: 4120, proto: tcp, status: ESTABLISHED, local: '10.0.0.5:50123', remote: '1.2.3.4:443'}
  - at: 5
    processes:
      - {pid: 4120, name: Zoom.exe, create_time: 1700000000.0,
         exe: 'C:\\Users\\a\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe'}
      - {pid: 7000, name: chrome.exe, create_time: 1700000001.0}
    windows:
      - {pid: 4120, title: 'Screen sharing meeting controls', class: ZPFloatToolbarClass}
      - {pid: 7000, title: '中国工商银行 - 个人网上银行 - Google Chrome', class: Chrome_WidgetWin_1}
    events: [{action: continue}]
  - at: 10
    processes:
      - {pid: 4120, name: Zoom.exe, create_time: 1700000000.0,
         exe: 'C:\\Users\\a\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe'}
      - {pid: 7000, name: chrome.exe, create_time: 1700000001.0}
    windows:
      - {pid: 4120, title: 'Screen sharing meeting controls', class: ZPFloatToolbarClass}
      - {pid: 7000, title: '中国工商银行 - 个人网上银行 - Google Chrome', class: Chrome_WidgetWin_1}
"""


def run_replay(tmp_path, *contents, json_out=True, policy=None, names=None):
    paths = []
    for i, content in enumerate(contents):
        name = (names or [])[i] if names else f"case{i}.yaml"
        p = tmp_path / name
        p.write_text(textwrap.dedent(content), encoding="utf-8")
        paths.append(str(p))
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(files=paths, json=json_out, signatures=None, policy=policy, quiet_warnings=False)
    status = replay.run(args, out, err)
    lines = [json.loads(line) for line in out.getvalue().splitlines()] if json_out else out.getvalue()
    return status, lines, err.getvalue()


def test_spec_example_blocks_then_continue_snoozes(tmp_path):
    status, lines, err = run_replay(tmp_path, ZOOM_SHARING_ICBC)
    assert status == 0, err
    assert [(v["step"], v["alert"], v["level"]) for v in lines] == [(0, True, "block"), (1, False, "warning"),
                                                                    (2, False, "warning")]
    first = lines[0]
    assert first["file"].endswith("case0.yaml")
    zoom = [s for s in first["shares"] if s["app"] == "zoom"][0]
    assert zoom["kind"] == "meeting" and zoom["state"] == "sharing" and zoom["pids"] == [4120]
    assert any(e.startswith("window-class:ZPFloatToolbarClass") for e in zoom["evidence"])
    icbc = [s for s in first["sensitive"] if s["id"] == "icbc"][0]
    assert {k: icbc[k] for k in ("id", "name", "category", "pids", "evidence", "basis")} == {
        "id": "icbc", "name": "中国工商银行", "category": "bank", "pids": [7000], "evidence": "window-title",
        "basis": "own"}
    assert "screen is being shared by zoom while a bank window is visible" in first["reasons"]
    assert first["actions"][0] == "show_block_warning"


def test_single_snapshot_at_top_level(tmp_path):
    status, lines, _ = run_replay(tmp_path, """\
        platform: linux
        processes:
          - {pid: 50, name: rustdesk, cmdline: [rustdesk, --cm]}
        windows:
          - {pid: 60, title: '招商银行 - Mozilla Firefox'}
        """)
    assert status == 0 and len(lines) == 1
    assert lines[0]["alert"] is True
    assert lines[0]["shares"][0]["app"] == "rustdesk" and lines[0]["shares"][0]["state"] == "sharing"


def test_json_scenario_file(tmp_path):
    doc = {"platform": "windows", "steps": [{"processes": [{"pid": 1, "name": "AnyDesk.exe"}],
                                             "windows": [{"pid": 2, "title": "支付宝 - 网上支付"}]}]}
    status, lines, _ = run_replay(tmp_path, json.dumps(doc, ensure_ascii=False), names=["case.json"])
    assert status == 0
    assert lines[0]["level"] in ("warning", "block")
    assert lines[0]["sensitive"][0]["category"] == "payment"


def test_stop_sharing_next_step_sees_processes_gone(tmp_path):
    status, lines, _ = run_replay(tmp_path, """\
        platform: linux
        steps:
          - processes: [{pid: 50, name: rustdesk, create_time: 5.0},
                        {pid: 51, name: rustdesk, cmdline: [rustdesk, --cm], create_time: 6.0}]
            windows: [{pid: 60, title: '中国建设银行 网上银行'}]
          - processes: [{pid: 50, name: rustdesk, create_time: 5.0},
                        {pid: 51, name: rustdesk, cmdline: [rustdesk, --cm], create_time: 6.0}]
            windows: [{pid: 60, title: '中国建设银行 网上银行'}]
            events: [{action: stop_sharing}]
          - processes: [{pid: 50, name: rustdesk, create_time: 5.0},
                        {pid: 51, name: rustdesk, cmdline: [rustdesk, --cm], create_time: 6.0}]
            windows: [{pid: 60, title: '中国建设银行 网上银行'}]
        """)
    assert status == 0
    assert lines[0]["alert"] and lines[0]["freeze_pids"] == [50, 51]
    assert not lines[1]["alert"] and lines[1]["end_pids"] == [50, 51] and "end_processes" in lines[1]["actions"]
    assert lines[2]["shares"] == [] and not lines[2]["alert"]


def test_policy_override_changes_mode(tmp_path):
    base = """\
        platform: windows
        {policy}
        processes: [{{pid: 1, name: Zoom.exe}}]
        windows: [{{pid: 2, title: '中国银行 - Microsoft Edge'}}]
        """
    _, balanced, _ = run_replay(tmp_path, base.format(policy=""))
    _, strict, _ = run_replay(tmp_path, base.format(policy="policy: {mode: strict}"))
    _, monitor, _ = run_replay(tmp_path, base.format(policy="policy: {mode: monitor}"))
    assert balanced[0]["level"] == "notice"  # first seen Zoom; running Zoom + bank is none in balanced
    assert strict[0]["level"] == "warning"
    assert monitor[0]["level"] == "none" and "log" in monitor[0]["actions"]


def test_policy_file_option(tmp_path):
    pol = tmp_path / "policy.yaml"
    pol.write_text("mode: strict\n", encoding="utf-8")
    status, lines, _ = run_replay(tmp_path, """\
        platform: windows
        processes: [{pid: 1, name: Teams.exe}]
        windows: [{pid: 2, title: 'Bank of America | Online Banking'}]
        """, policy=str(pol))
    assert status == 0 and lines[0]["level"] == "warning"


def test_policy_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    pol = tmp_path / "policy.yaml"
    pol.write_bytes(b"mode: \xff\xfe strict\n")
    status, lines, err = run_replay(tmp_path, "platform: linux\nprocesses: []\n", policy=str(pol))
    assert status == 2 and lines == []
    assert f"{pol}: not UTF-8 text" in err and "save the file as UTF-8" in err


def test_policy_file_with_a_byte_order_mark_is_read(tmp_path):
    pol = tmp_path / "policy.yaml"
    pol.write_bytes("mode: strict\n".encode("utf-8-sig"))
    status, lines, err = run_replay(tmp_path, """\
        platform: windows
        processes: [{pid: 1, name: Teams.exe}]
        windows: [{pid: 2, title: 'Bank of America | Online Banking'}]
        """, policy=str(pol))
    assert status == 0 and lines[0]["level"] == "warning", err


@pytest.mark.parametrize("content,needle", [
    ("steps:\n  - processes:\n      - {pid: 1}\n",
     "case0.yaml:3: step 0: processes[0].name: missing required field 'name'"),
    ("steps:\n  - processes:\n      - {pid: abc, name: x}\n",
     "case0.yaml:3: step 0: processes[0].pid: expected an integer"),
    ("steps:\n  - windows:\n      - {title: 5}\n", "step 0: windows[0].title: expected a string"),
    ("steps:\n  - events: [{action: panic}]\n", "events[0].action: unknown action 'panic'; use one of continue"),
    ("steps:\n  - capture: [{active: true}]\n", "capture[0].source: missing required field 'source'"),
    ("steps:\n  - windows:\n      - {title: a, visible: yes please}\n", "windows[0].visible: expected true or false"),
    ("platform: amiga\nprocesses: []\n", "case0.yaml:1: platform: unknown platform 'amiga'"),
    ("steps: []\n", "steps: expected a non-empty list"),
    ("steps:\n  - processes: {pid: 1}\n", "processes: expected a list"),
    ("processes:\n  - {pid: 1, name: [x\n", "case0.yaml:"),
    ("- just\n- a list\n", "expected a mapping at the top"),
    ("policy: {mode: paranoid}\nprocesses: []\n", "mode"),
    ("policy: {snooze_minutes: soon}\nprocesses: []\n", "snooze_minutes"),
])
def test_bad_input_is_a_clear_error(tmp_path, content, needle):
    status, lines, err = run_replay(tmp_path, content)
    assert status == 2
    assert lines == []
    assert needle in err, err
    assert "Traceback" not in err


def test_unknown_keys_warn_and_replay_continues(tmp_path):
    status, lines, err = run_replay(tmp_path, "platform: linux\nprocesses:\n  - {name: zoom, colour: red}\n")
    assert status == 0 and len(lines) == 1
    assert "case0.yaml:3: step 0: processes[0].colour: unknown key ignored" in err


def test_bad_file_does_not_stop_the_others(tmp_path):
    status, lines, err = run_replay(tmp_path, "processes: [{pid: 1}]\n", "platform: linux\nprocesses: []\n")
    assert status == 2
    assert [v["file"].rsplit("/", 1)[-1] for v in lines] == ["case1.yaml"]
    assert "case0.yaml" in err


def test_missing_file(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(files=[str(tmp_path / "nope.yaml")], json=True, signatures=None, policy=None,
                              quiet_warnings=False)
    assert replay.run(args, out, err) == 2
    assert "nope.yaml: cannot read" in err.getvalue()


def test_human_output(tmp_path):
    status, text, _ = run_replay(tmp_path, ZOOM_SHARING_ICBC, json_out=False)
    assert status == 0
    assert "step 0: ALERT level=block" in text and "sensitive icbc" in text


def test_command_line_entry_point(tmp_path):
    p = tmp_path / "case.yaml"
    p.write_text(ZOOM_SHARING_ICBC, encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "agent", "replay", "--json", str(p)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 3
    assert json.loads(res.stdout.splitlines()[0])["alert"] is True
    bad = tmp_path / "bad.yaml"
    bad.write_text("processes: [{pid: 1}]\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "agent", "replay", str(bad)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2 and "missing required field 'name'" in res.stderr
    helptext = subprocess.run([sys.executable, "-m", "agent", "replay", "--help"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60).stdout
    assert "steps:" in helptext and "continue|stop_sharing|dismiss" in helptext


def test_devices_parse_round_trip_and_errors(tmp_path):
    from agent.snapshot_io import parse_scenario, snapshot_to_dict

    scenario = parse_scenario({"platform": "linux", "devices": [
        {"device": "microphone", "pid": 8800, "source": "pipewire", "detail": "wemeetapp"}]}, "x.yaml")
    (snap,) = scenario.steps
    assert [(d.device, d.pid, d.source) for d in snap.devices] == [("microphone", 8800, "pipewire")]
    again = parse_scenario(snapshot_to_dict(snap), "y.yaml").steps[0]
    assert again.devices == snap.devices
    status, lines, err = run_replay(tmp_path, "devices: [{device: screen, pid: 1}]\n")
    assert status == 2 and "devices[0].device: unknown device 'screen'; use one of microphone, camera" in err


def test_pages_and_io_rate_parse_and_round_trip(tmp_path):
    from agent.snapshot_io import parse_scenario, snapshot_to_dict

    scenario = parse_scenario({"platform": "linux", "processes": [
        {"pid": 70, "name": "ToDesk", "io_rate": {"sent": 180000, "received": 4000, "seconds": 5}}],
        "pages": [
            {"pid": 5120, "browser": "chrome", "url": "https://www.abchina.com/cn/", "title": "中国农业银行",
             "active": True, "visible": True, "shared": True},
            {"pid": 5120, "browser": "chrome", "url": "https://meet.example.com/j/42", "title": "Weekly call",
             "active": False, "visible": False, "capturing": "browser"}]}, "x.yaml")
    (snap,) = scenario.steps
    assert snap.processes[0].io_rate.sent == 180000.0 and snap.processes[0].io_rate.seconds == 5.0
    assert [(g.title, g.shared, g.capturing, g.visible) for g in snap.pages] == [
        ("中国农业银行", True, None, True), ("Weekly call", False, "browser", False)]
    again = parse_scenario(snapshot_to_dict(snap), "y.yaml").steps[0]
    assert again.pages == snap.pages and again.processes == snap.processes


@pytest.mark.parametrize("content,needle", [
    ("pages: [{url: 'https://a.example', capturing: screen}]\n",
     "pages[0].capturing: unknown surface 'screen'; use one of monitor, window, browser"),
    ("pages: [{url: 'https://a.example', shared: maybe}]\n", "pages[0].shared: expected true or false"),
    ("processes: [{name: x, io_rate: {received: 5}}]\n", "processes[0].io_rate.sent: missing required field 'sent'"),
    ("processes: [{name: x, io_rate: fast}]\n", "processes[0].io_rate: expected a mapping"),
])
def test_pages_and_io_rate_bad_input(tmp_path, content, needle):
    status, lines, err = run_replay(tmp_path, content)
    assert status == 2 and needle in err, err


def test_verdict_lists_basis_and_mentions(tmp_path):
    status, lines, err = run_replay(tmp_path, ZOOM_SHARING_ICBC)
    assert status == 0, err
    assert lines[0]["sensitive"][0]["basis"] == "own"
    assert lines[0]["mentions"] == []
