"""PipeWire screen-cast detection from pw-dump JSON (fixtures in tests/fixtures/pw-dump/)."""

import json
import os
import stat

import pytest

from agent.collectors._linux_wayland import PipeWireCapture, classify_node, load_pw_dump, parse_pw_dump
from agent.model import CaptureFact

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "pw-dump")


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


# The dumps below were recorded by the live Wayland tier (tests/wayland/, SHAREGUARD_RECORD_PW_DUMP);
# ids and pids are the ones of that run. tests/fixtures/pw-dump/README.md says which is which.
GST_GNOME, GST_WLROOTS, CHROMIUM_WLROOTS = 11726, 12117, 12185
MUTTER, XDPW, PORTAL = 11521, 11968, 11971


def test_recorded_gnome_cast_belongs_to_its_consumer():
    (fact,) = parse_pw_dump(load("gnome-sharing.json"))
    assert fact == CaptureFact(source="pipewire", active=True, pid=GST_GNOME, confidence="high",
                               detail=f"gnome: meta-screen-cast-src (running) -> gst-launch-1.0 (pid {GST_GNOME})")


def test_recorded_wlroots_portal_cast_is_found_and_belongs_to_the_consumer_not_the_portal():
    # xdpw names its stream in media.name; node.name is "xdg-desktop-portal-wlr".
    (fact,) = parse_pw_dump(load("wlroots-gst-sharing.json"))
    assert fact.active and fact.confidence == "high" and fact.pid == GST_WLROOTS
    assert fact.pid not in (XDPW, PORTAL)  # pipewire.sec.pid of a portal client is the portal's
    assert fact.detail.startswith("wlroots: xdpw-stream-BmiMEH (running) -> gst-launch-1.0")


def test_recorded_chromium_getdisplaymedia_on_sway_belongs_to_chromium():
    (fact,) = parse_pw_dump(load("wlroots-chromium-sharing.json"))
    assert fact.active and fact.pid == CHROMIUM_WLROOTS
    assert fact.detail == f"wlroots: xdpw-stream-jLIFGF (running) -> chromium (pid {CHROMIUM_WLROOTS})"


def _old_wlroots_rule(props):
    # The rule before issue 14, kept here to show what the recordings prove.
    return str(props.get("node.name") or "").startswith("xdpw-stream") and props.get("media.class") == "Video/Source"


def test_the_old_node_name_rule_misses_every_recorded_wlroots_cast():
    for name in ("wlroots-gst-sharing.json", "wlroots-chromium-sharing.json"):
        objects = load(name)
        assert not any(_old_wlroots_rule((o.get("info") or {}).get("props") or {}) for o in objects)
        assert [f.active for f in parse_pw_dump(objects)] == [True]


@pytest.mark.parametrize("name, state", [("gnome-unconsumed.json", "suspended"), ("gnome-idle.json", "idle"),
                                         ("wlroots-idle.json", "idle")])
def test_a_recorded_source_nobody_consumes_is_not_a_share(name, state):
    (fact,) = parse_pw_dump(load(name))
    assert not fact.active and f"({state})" in fact.detail
    assert fact.pid in (MUTTER, XDPW)  # nobody linked: only the producer is known


def test_kde_cast_matches_media_name_and_is_low_confidence():
    # Hand-made (no live KWin yet): KWin names its stream kwin-screencast-<output or app>.
    (fact,) = parse_pw_dump(load("kde-sharing.json"))
    assert fact.active and fact.confidence == "low" and fact.pid == 4711


def test_no_screencast_means_no_facts():
    assert parse_pw_dump(load("no-screencast.json")) == ()


def test_each_consumer_gets_its_own_fact_and_inactive_links_count_only_alone():
    objects = load("wlroots-chromium-sharing.json")
    chromium_node = next(o for o in objects if o["id"] == 38)
    second = json.loads(json.dumps(chromium_node))
    second["id"] = 99
    second["info"]["props"].update({"client.id": 97})
    client = {"id": 97, "type": "PipeWire:Interface:Client",
              "info": {"props": {"application.name": "obs", "application.process.id": 4242}}}
    link = {"id": 98, "type": "PipeWire:Interface:Link",
            "info": {"output-node-id": 35, "input-node-id": 99, "state": "active"}}
    facts = parse_pw_dump(objects + [second, client, link])
    assert sorted(f.pid for f in facts) == sorted([CHROMIUM_WLROOTS, 4242])
    link["info"]["state"] = "init"  # being set up: the active consumer alone counts
    assert [f.pid for f in parse_pw_dump(objects + [second, client, link])] == [CHROMIUM_WLROOTS]


@pytest.mark.parametrize("bad", [None, {}, "text", [1, "x", None, {"type": "PipeWire:Interface:Node"}],
                                 [{"id": "7", "type": "PipeWire:Interface:Node", "info": None}]])
def test_malformed_input_is_skipped_not_raised(bad):
    assert parse_pw_dump(bad) == ()


def test_classify_matches_media_name_and_media_class_only():
    # A GNOME camera stream or an app's own video stream is not a screen cast.
    assert classify_node({"media.name": "meta-screen-cast-src", "media.class": "Video/Source"}) is None
    assert classify_node({"media.name": "xdpw-stream-AbCdEf", "media.class": "Stream/Input/Video"}) is None
    assert classify_node({"node.name": "v4l2_input.pci", "media.class": "Video/Source"}) is None
    # node.name is the program's name, not the stream's: it proves nothing.
    assert classify_node({"node.name": "xdpw-stream-AbCdEf", "media.name": "camera",
                          "media.class": "Video/Source"}) is None
    assert classify_node({"node.name": "kwin-screencast-DP-1", "media.class": "Stream/Output/Video"}) is None
    assert classify_node({"media.name": "xdpw-stream-AbCdEf", "media.class": "Video/Source"}) == ("wlroots", "high")
    assert classify_node({"media.name": "kwin-screencast-DP-1", "media.class": "Stream/Output/Video"}) == ("kde", "low")


def test_pw_dump_output_with_removal_batches_is_read_in_order():
    # Seen live: objects removed while pw-dump runs come as extra arrays around the main one.
    sharing = load("wlroots-chromium-sharing.json")
    text = ('[{"id": 36, "info": null}]\n' + json.dumps(sharing) + '\n[{"id": 38, "info": null}]\n'
            '[{"id": 40, "info": null}]\n')
    objects = load_pw_dump(text)
    assert {o["id"] for o in objects} == {o["id"] for o in sharing} - {38, 40}
    (fact,) = parse_pw_dump(objects)
    assert fact.active and fact.pid == XDPW  # the consumer and its link went away: no one to credit
    assert load_pw_dump("") == [] and load_pw_dump(json.dumps(sharing)) == sharing
    for bad in ('[{"id": 1}] x', '{"id": 1}', "[1, "):
        with pytest.raises(ValueError):
            load_pw_dump(bad)


def test_capture_reads_pw_dump_output_with_removal_batches(tmp_path):
    path = tmp_path / "dump.json"
    path.write_text('[{"id": 99, "info": null}]\n' + json.dumps(load("gnome-sharing.json")))
    facts, missing = PipeWireCapture(command=_script(tmp_path, f"cat '{path}'"), min_interval=0).read()
    assert missing == () and facts[0].pid == GST_GNOME


def _script(tmp_path, body):
    path = tmp_path / "pw-dump"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_capture_runs_the_command_and_parses_its_output(tmp_path):
    cmd = _script(tmp_path, f"cat '{os.path.join(FIXTURES, 'gnome-sharing.json')}'")
    facts, missing = PipeWireCapture(command=cmd, min_interval=0).read()
    assert missing == () and facts[0].active and facts[0].pid == GST_GNOME


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
