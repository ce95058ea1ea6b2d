"""Serializers and writers: RFC 5424 grammar, framing, HEC/webhook bodies,
file rotation and 0600, spool recovery, Event Log calls, the factory."""

import json
import os
import re
import socket

import pytest

from agent.audit.events import EVENT_TYPES, AuditContext, make_event
from agent.sinks import build_sinks
from agent.sinks.eventlog import EVENT_IDS, EVENTLOG_ERROR_TYPE, EventLogWriter
from agent.sinks.file import RotatingFileWriter
from agent.sinks.http import Spool, SpoolBusy
from agent.sinks.serializers import Rfc5424, epoch_of, hec_batch, json_line, octet_frame, webhook_batch
from agent.sinks.syslog import TcpWriter, UdpWriter

CTX = AuditContext(device_id="dev", hostname="pc 1", user="张三")

# RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG]
RFC5424 = re.compile(
    rb'^<(?P<pri>\d{1,3})>1 (?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<host>[!-~]{1,255}) '
    rb'(?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) '
    rb'(?P<sd>\[shareguard@32473( [^= \]"]{1,32}="([^"\\\]]|\\["\\\]])*")+\]) \xef\xbb\xbf(?P<msg>.*)$', re.S)


def _alert():
    return make_event("alert_raised", CTX, level="block", mode="balanced", apps=["zoom"], sensitive=["icbc"],
                      reasons=['quote " backslash \\ bracket ]'])


def test_rfc5424_message_matches_the_grammar():
    event = _alert()
    m = RFC5424.match(Rfc5424()(event))
    assert m, Rfc5424()(event)
    assert int(m["pri"]) == 16 * 8 + 1            # local0.alert
    assert m["host"] == b"pc_1" and m["app"] == b"shareguard" and m["msgid"] == b"alert_raised"
    assert json.loads(m["msg"].decode("utf-8")) == event
    assert f'event_id="{event["event_id"]}"'.encode() in m["sd"]
    assert 'user="张三"'.encode() in m["sd"]


def test_every_event_type_fits_msgid():
    assert all(len(t) <= 32 for t in EVENT_TYPES)
    assert set(EVENT_IDS) == set(EVENT_TYPES) and len(set(EVENT_IDS.values())) == len(EVENT_IDS)


def test_octet_counting_frame_counts_bytes_not_characters():
    msg = "é".encode("utf-8")
    assert octet_frame(msg) == b"2 \xc3\xa9"


def test_hec_and_webhook_bodies():
    events = [_alert(), make_event("agent_started", CTX, pid=1, platform="linux")]
    body = hec_batch(events, index="sec").decode("utf-8")
    parsed, i, dec = [], 0, json.JSONDecoder()
    while i < len(body):
        obj, i = dec.raw_decode(body, i)
        parsed.append(obj)
        i += 1
    assert [p["event"] for p in parsed] == events
    assert parsed[0]["index"] == "sec" and parsed[0]["host"] == "pc 1"
    assert abs(parsed[0]["time"] - epoch_of(events[0]["time"])) < 0.001
    hook = json.loads(webhook_batch(events))
    assert hook == {"schema": 1, "events": events}


def test_file_writer_is_0600_and_rotates(tmp_path):
    path = tmp_path / "logs" / "events.jsonl"
    writer = RotatingFileWriter(str(path), max_bytes=4096, backups=2)
    event = _alert()
    data = json_line(event)
    for _ in range(3 * 4096 // len(data) + 3):
        writer.write(data, event)
        writer.flush()
    writer.close()
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(path.parent)) == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    for name in os.listdir(path.parent):
        lines = (path.parent / name).read_bytes().splitlines()
        assert all(json.loads(x)["event_id"] == event["event_id"] for x in lines)
        assert os.path.getsize(path.parent / name) <= 4096


def test_file_writer_tightens_an_existing_world_readable_file(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("")
    os.chmod(path, 0o644)
    writer = RotatingFileWriter(str(path))
    writer.write(b"{}\n", {})
    writer.close()
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_spool_recovers_open_segments_and_skips_a_torn_line(tmp_path):
    spool = Spool(str(tmp_path), batch_size=3)
    for i in range(4):
        spool.append(json_line({"n": i}))
    spool.flush()
    with pytest.raises(SpoolBusy):
        Spool(str(tmp_path))                 # one agent per spool directory
    # Simulate a kill mid-write: a partial line at the end of the open segment.
    open_segment = [n for n in os.listdir(tmp_path) if n.endswith(".open")][0]
    with open(tmp_path / open_segment, "ab") as f:
        f.write(b'{"n": 9')
    spool.close()
    again = Spool(str(tmp_path), batch_size=3)
    pending = again.pending()
    assert len(pending) == 2 and not any(n.endswith(".open") for n in os.listdir(tmp_path))
    assert [e["n"] for n in pending for e in again.read(n)] == [0, 1, 2, 3]
    again.ack(pending[0])
    assert again.pending() == pending[1:]
    again.append(json_line({"n": 4}))        # new segments continue the sequence
    again.seal_if_due(force=True)
    assert again.pending()[-1] > pending[-1]
    again.close()


def test_spool_limit_drops_oldest_and_reports(tmp_path):
    lost = []
    spool = Spool(str(tmp_path), batch_size=10, max_bytes=2000, on_drop=lambda n, why: lost.append((n, why)))
    for i in range(100):
        spool.append(json_line({"n": i, "pad": "x" * 40}))
    spool.close()
    assert lost and all(why == "spool full" for _, why in lost)
    kept = sum(len(spool.read(n)) for n in spool.pending())
    assert kept + sum(n for n, _ in lost) == 100


class FakeAdvapi:
    def __init__(self):
        self.calls = []

    def RegisterEventSourceW(self, server, source):
        self.calls.append(("register", server, source))
        return 42

    def ReportEventW(self, handle, etype, category, event_id, sid, nstrings, datasize, strings, raw):
        self.calls.append(("report", handle, etype, category, event_id, nstrings, strings[0]))
        return 1

    def DeregisterEventSource(self, handle):
        self.calls.append(("deregister", handle))
        return 1


def test_eventlog_writer_reports_with_stable_ids():
    api = FakeAdvapi()
    writer = EventLogWriter("ShareGuard", advapi32=api)
    event = _alert()
    assert writer.write(json_line(event), event)
    writer.close()
    assert api.calls[0] == ("register", None, "ShareGuard")
    _, handle, etype, _, event_id, n, text = api.calls[1]
    assert (handle, etype, event_id, n) == (42, EVENTLOG_ERROR_TYPE, 1500, 1)
    assert json.loads(text) == event
    assert api.calls[2] == ("deregister", 42)


def test_syslog_writers_to_a_dead_port_fail_fast_without_raising():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # closed once we leave the block
    tcp = TcpWriter("127.0.0.1", port, connect_timeout=0.5)
    event = _alert()
    assert tcp.write(b"x", event) is False
    assert tcp.write(b"x", event) is False  # in backoff: no new connect attempt
    assert UdpWriter("127.0.0.1", port).write(b"x", event) in (True, False)


def test_udp_writer_delivers_one_datagram_per_event():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        w = UdpWriter("127.0.0.1", rx.getsockname()[1])
        event = _alert()
        msg = Rfc5424()(event)
        assert w.write(msg, event)
        assert rx.recv(65535) == msg
        w.close()


def test_build_sinks_reports_unavailable_sinks_and_builds_the_rest(tmp_path):
    sinks, problems = build_sinks([
        {"type": "file"},
        {"type": "syslog", "host": "127.0.0.1", "port": 5514, "protocol": "tcp"},
        {"type": "http", "url": "http://127.0.0.1:9/hec", "spool_dir": str(tmp_path / "spool")},
        {"type": "eventlog"},
    ], str(tmp_path), platform="linux")
    assert [s.name for s in sinks] == ["file#1", "syslog#2", "http#3"]
    assert problems == ["sink eventlog#4: the Windows Event Log exists only on Windows"]
    for s in sinks:
        s.close()
