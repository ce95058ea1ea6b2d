"""The UI helper protocol (agent/ui/protocol.py): what each side writes, the other reads back.

The GUI tests run the real helper process over this protocol; these pin the
wire format itself and what a line outside it does.
"""

import dataclasses
import json
import typing

import pytest

from agent.ui import protocol as p

PARENT = [
    p.Config(lang="zh_CN", tray=False, countdown_seconds=25, hotlines=("96110", "18222"), custom_message="IT: 123",
             help_url="https://it.example/?e=1", allow_pause=False, allow_quit=True, log_dir="/var/log/sg"),
    p.AlertTexts(custom_message="Call IT about ToDesk", help_url="https://it.example/?app=ToDesk"),
    p.ShowView(view={"state": "alert", "alert": True, "blocking": [{"app": "todesk", "name": "ToDesk"}]},
               tooltip="ShareGuard: careful"),
    p.Toast(title="中国工商银行", body="body"),
    p.Quit(),
]
HELPER = [
    p.Ready(tray=True, tray_error=None, toasts=False, toasts_why="no notification service", pid=4242),
    p.Choice(choice="stop_sharing", alert_key="todesk:in_session:5:1"),
    p.Control(op="pause", seconds=900.0),
    p.Control(op="resume"),
    p.Report(event="geometry", details={"alert_key": "k", "windows": [{"id": 1, "x": 0}], "buttons": {}}),
    p.ToastResult(ok=False, why="dunst is not running"),
    p.Log(level="warning", message="tray host went away"),
    p.Fatal(message="TclError: no display name"),
    p.Ack(seq=7),
]


@pytest.mark.parametrize("message", PARENT, ids=lambda m: type(m).__name__)
def test_parent_messages_survive_the_wire(message):
    line = p.encode(message)
    assert "\n" not in line and json.loads(line)["op"] == message.OP
    assert p.decode_parent(line) == message


@pytest.mark.parametrize("message", HELPER, ids=lambda m: f"{type(m).__name__}")
def test_helper_messages_survive_the_wire(message):
    line = p.encode(message)
    assert p.decode_helper(line) == message and json.loads(line)["type"] == message.TYPE


def test_a_report_is_flat_on_the_wire():
    """Logs, tests and the latency benchmark read a report's fields beside its event."""
    raw = json.loads(p.encode(p.Report(event="shown", details={"mapped_at": 12.5, "alert_key": "k"})))
    assert raw == {"type": "report", "event": "shown", "mapped_at": 12.5, "alert_key": "k"}


def test_every_message_type_can_be_read():
    parent = typing.get_args(p.ParentMessage)
    helper = typing.get_args(p.HelperMessage)
    assert {type(m) for m in PARENT} == set(parent) and {type(m) for m in HELPER} == set(helper)
    assert len({c.OP for c in parent}) == len(parent) and len({c.TYPE for c in helper}) == len(helper)
    assert all(dataclasses.is_dataclass(c) for c in parent + helper)


@pytest.mark.parametrize("line, needle", [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"op": "dance"}', "unknown op 'dance'"),
    ('{"op": "toast", "title": "only a title"}', "Toast"),
    ('{"op": "config", "lang": "en"}', "Config"),
])
def test_the_helper_refuses_what_is_not_the_protocol(line, needle):
    with pytest.raises(p.ProtocolError, match=needle.replace("(", r"\(")):
        p.decode_parent(line)


@pytest.mark.parametrize("line, needle", [
    ('{"type": "hello"}', "unknown type 'hello'"),
    ('{"type": "choice"}', "Choice"),
    ('{"op": "quit"}', "unknown type None"),
])
def test_the_agent_refuses_what_is_not_the_protocol(line, needle):
    with pytest.raises(p.ProtocolError, match=needle):
        p.decode_helper(line)


def test_unknown_extra_fields_are_ignored():
    """A newer helper may add a field; the agent reads what it knows."""
    assert p.decode_helper('{"type": "toast_result", "ok": true, "why": "", "took_ms": 3}') == p.ToastResult(ok=True,
                                                                                                           why="")


@pytest.mark.parametrize("raw, needle", [
    ({"type": "choice", "choice": "go away", "alert_key": "k"}, "Choice: choice 'go away' is not one of"),
    ({"type": "choice", "choice": "continue", "alert_key": 5}, "Choice: bad alert_key 5"),
    ({"type": "control", "op": "pause", "seconds": 10 ** 9}, "outside"),
    ({"type": "control", "op": "pause", "seconds": True}, "bad seconds"),
    ({"type": "ack", "seq": "1"}, "Ack: bad seq"),
    ({"type": ["ready"]}, "unknown type a list"),
    ({"type": "report", "event": {"x": 1}}, "Report: bad event"),
])
def test_the_agent_checks_every_field_of_what_the_helper_says(raw, needle):
    """Issue 11 item 6: a message reaches the agent's code only with every field of its declared kind."""
    with pytest.raises(p.ProtocolError, match=needle):
        p.helper_message(raw)


CONFIG = p.to_wire(p.Config(lang="en", tray=False, countdown_seconds=25, hotlines=("110",), custom_message="",
                            help_url="", allow_pause=True, allow_quit=True, log_dir=""))


@pytest.mark.parametrize("raw, needle", [
    ({"op": "view", "view": 5, "tooltip": []}, "ShowView: bad view 5"),
    ({**CONFIG, "countdown_seconds": "ten"}, "Config: bad countdown_seconds 'ten'"),
    ({**CONFIG, "countdown_seconds": 10 ** 6}, "outside"),
    ({**CONFIG, "hotlines": {"a": 1}}, "Config: bad hotlines a dict"),
    ({**CONFIG, "hotlines": ["110", 5]}, "Config: bad hotlines a list"),
    ({"op": None}, "unknown op None"),
])
def test_the_helper_checks_every_field_of_what_the_agent_says(raw, needle):
    with pytest.raises(p.ProtocolError, match=needle):
        p.parent_message(raw)
