"""PipeWire screen-cast detection from pw-dump JSON (fixtures in tests/fixtures/pw-dump/)."""

import json
import os
import stat

import pytest

from agent.collectors._linux_wayland import PipeWireCapture, classify_node, parse_pw_dump
from agent.model import CaptureFact

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "pw-dump")


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def test_gnome_running_cast_is_active_high_confidence_with_consumer_pid():
    facts = parse_pw_dump(load("gnome-sharing.json"))
    assert len(facts) == 1
    fact = facts[0]
    assert fact.source == "pipewire" and fact.active and fact.confidence == "high"
    # The consumer (Firefox, linked to the source node) is the app receiving the screen.
    assert fact.pid == 5321
    assert "meta-screen-cast-src" in fact.detail and "Firefox" in fact.detail


def test_gnome_suspended_cast_is_inactive_and_falls_back_to_producer_pid():
    facts = parse_pw_dump(load("gnome-idle.json"))
    assert facts == (CaptureFact(source="pipewire", active=False, pid=1842,
                                 detail="gnome: meta-screen-cast-src (suspended)", confidence="high"),)


def test_wlroots_stream_pid_comes_from_its_client_object():
    (fact,) = parse_pw_dump(load("wlroots-sharing.json"))
    assert fact.active and fact.confidence == "high"
    assert fact.pid == 2210  # the node has no application.process.id: its client has
    assert "xdpw-stream-1f45" in fact.detail


def test_kde_cast_is_low_confidence():
    (fact,) = parse_pw_dump(load("kde-sharing.json"))
    assert fact.active and fact.confidence == "low" and fact.pid == 1390


def test_no_screencast_means_no_facts():
    assert parse_pw_dump(load("no-screencast.json")) == ()


@pytest.mark.parametrize("bad", [None, {}, "text", [1, "x", None, {"type": "PipeWire:Interface:Node"}],
                                 [{"id": "7", "type": "PipeWire:Interface:Node", "info": None}]])
def test_malformed_input_is_skipped_not_raised(bad):
    assert parse_pw_dump(bad) == ()


def test_classify_requires_the_right_media_class():
    # A GNOME camera stream or an app's own video stream is not a screen cast.
    assert classify_node({"media.name": "meta-screen-cast-src", "media.class": "Video/Source"}) is None
    assert classify_node({"node.name": "xdpw-stream-1", "media.class": "Stream/Input/Video"}) is None
    assert classify_node({"node.name": "v4l2_input.pci", "media.class": "Video/Source"}) is None


def _script(tmp_path, body):
    path = tmp_path / "pw-dump"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_capture_runs_the_command_and_parses_its_output(tmp_path):
    cmd = _script(tmp_path, f"cat '{os.path.join(FIXTURES, 'gnome-sharing.json')}'")
    facts, missing = PipeWireCapture(command=cmd, min_interval=0).read()
    assert missing == () and facts[0].active and facts[0].pid == 5321


def test_capture_reports_a_failing_command(tmp_path):
    cmd = _script(tmp_path, "echo 'pw.context: can not connect: No such file or directory' >&2; exit 1")
    facts, missing = PipeWireCapture(command=cmd, min_interval=0).read()
    assert facts == ()
    assert missing[0][0] == "capture" and "can not connect" in missing[0][1]


def test_capture_reports_invalid_json(tmp_path):
    cmd = _script(tmp_path, "echo '[{'")
    facts, missing = PipeWireCapture(command=cmd, min_interval=0).read()
    assert facts == () and "invalid JSON" in missing[0][1]


@pytest.mark.parametrize("env, word", [({"WAYLAND_DISPLAY": "wayland-0"}, "Wayland"), ({}, "X11")])
def test_missing_pw_dump_is_reported_with_a_reason_fitting_the_session(env, word):
    facts, missing = PipeWireCapture(command="sg-no-such-pw-dump", environ=env).read()
    assert facts == () and missing[0][0] == "capture" and word in missing[0][1]


def test_results_are_reused_within_min_interval(tmp_path):
    counter = tmp_path / "count"
    cmd = _script(tmp_path, f"echo x >> '{counter}'; echo '[]'")
    cap = PipeWireCapture(command=cmd, min_interval=3600)
    cap.read()
    cap.read()
    assert counter.read_text().count("x") == 1


def test_app_recording_from_the_microphone_is_a_device_use_not_a_capture():
    from agent.collectors._linux_wayland import parse_pw_dump_devices
    from agent.model import DeviceUse

    objects = load("call-microphone.json")
    assert parse_pw_dump_devices(objects) == (DeviceUse(device="microphone", pid=8800, source="pipewire",
                                                        detail="wemeetapp"),)
    assert parse_pw_dump(objects) == ()  # a call is not a screen cast
    assert parse_pw_dump_devices(load("gnome-sharing.json")) == ()
    assert parse_pw_dump_devices({"not": "a list"}) == () and parse_pw_dump_devices([None, 3]) == ()


def test_devices_come_from_the_same_read_and_reach_the_linux_snapshot(tmp_path):
    from agent.collectors._linux import LinuxApi, LinuxCollector

    good = _script(tmp_path, f"cat '{os.path.join(FIXTURES, 'call-microphone.json')}'")
    capture = PipeWireCapture(command=good, min_interval=0)
    collector = LinuxCollector(LinuxApi(capture=capture))
    try:
        snap = collector.snapshot()
    finally:
        collector.close()
    assert [(d.device, d.pid) for d in snap.devices] == [("microphone", 8800)]
    # A later failed read must not leave the old call looking live.
    capture.command = str(tmp_path / "missing-pw-dump")
    assert capture.read_devices() == ((), ())
