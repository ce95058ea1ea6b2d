"""`shareguard scan` output, driven by fixed snapshots (the live version is tests/live/test_scan_live.py)."""

import io
import json

import pytest

import agent.commands.scan as scan
from agent.cli import build_parser, main
from agent.commands import replay
from agent.model import ProcessInfo, Snapshot, WindowInfo

SHARED_BANK = Snapshot(
    platform="linux", time=1000.0,
    processes=(ProcessInfo(pid=40, name="rustdesk", cmdline=("/usr/bin/rustdesk", "--cm"), exe="/usr/bin/rustdesk"),
               ProcessInfo(pid=50, name="firefox", exe="/usr/lib/firefox/firefox")),
    windows=(WindowInfo(title="中国工商银行 - 个人网上银行 - Mozilla Firefox", pid=50, wm_class="firefox"),),
    unavailable=(("capture", "no pw-dump"),),
)


@pytest.fixture
def fixed(monkeypatch):
    def use(snapshot):
        monkeypatch.setattr(scan, "collect", lambda: snapshot)
    return use


def test_json_is_the_replay_verdict_plus_unavailable(fixed, capsys):
    fixed(SHARED_BANK)
    assert main(["scan", "--json"]) == 0  # an alert still exits 0
    out = json.loads(capsys.readouterr().out)
    assert out["alert"] is True and out["level"] == "block"
    assert [s["state"] for s in out["shares"] if s["app"] == "rustdesk"] == ["sharing"]
    assert [s["id"] for s in out["sensitive"]] == ["icbc"]
    assert out["unavailable"] == [{"source": "capture", "reason": "no pw-dump"}]
    assert out["first_seen"] == []  # a single look has no history to compare with


@pytest.mark.parametrize("lang, words", [
    ("en_US.UTF-8", ["SHARING the screen", "remote control", "Verdict: ALERT", "(bank)", "capture: no pw-dump"]),
    ("zh_CN.UTF-8", ["正在共享屏幕", "远程控制", "结论：警报", "中国工商银行（银行）", "capture：no pw-dump"]),
])
def test_human_summary_in_the_users_language(fixed, capsys, monkeypatch, lang, words):
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", lang)
    fixed(SHARED_BANK)
    assert main(["scan"]) == 0
    text = capsys.readouterr().out
    for word in words:
        assert word in text, text


def test_dump_writes_a_replayable_file(fixed, capsys, tmp_path):
    fixed(SHARED_BANK)
    path = tmp_path / "snap.json"
    assert main(["scan", "--json", "--dump", str(path)]) == 0
    capsys.readouterr()
    args = build_parser().parse_args(["replay", "--json", str(path)])
    buf = io.StringIO()
    assert replay.run(args, out=buf) == 0
    replayed = json.loads(buf.getvalue().splitlines()[0])
    assert replayed["alert"] is True
    assert "中国工商银行" in path.read_text(encoding="utf-8")


def test_unwritable_dump_is_a_clear_error(fixed, capsys, tmp_path):
    fixed(SHARED_BANK)
    assert main(["scan", "--dump", str(tmp_path / "no" / "dir" / "x.yaml")]) == 2
    assert "x.yaml" in capsys.readouterr().err


def test_null_collector_scan_reports_nothing_read(monkeypatch, capsys):
    monkeypatch.setenv("SHAREGUARD_COLLECTOR", "null")
    assert main(["scan", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alert"] is False and out["unavailable"][0]["source"] == "collector"


def test_no_collector_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("SHAREGUARD_COLLECTOR", "amiga")
    assert main(["scan"]) == 2
    assert "amiga" in capsys.readouterr().err


def test_invalid_signatures_are_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: 1\nfamily: apps\napps: [{id: 3}]\n")
    assert main(["scan", "--signatures", str(bad)]) == 2
    assert "bad.yaml" in capsys.readouterr().err
