"""A real rsyslogd on loopback receives the RFC 5424 events the agent raises
while a scenario with a blocking alert is replayed through the engine.

rsyslog parses each message itself (the template prints its own view of
protocol version, APP-NAME, MSGID and STRUCTURED-DATA), so a malformed
header or SD element would show up as a parse failure, not just as bytes.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import time

import pytest

from agent.audit import AuditContext, AuditLog
from agent.engine import Engine
from agent.responders.audit import AuditResponder
from agent.signatures.loader import load_signatures
from agent.sinks.base import Sink
from agent.sinks.serializers import Rfc5424
from agent.sinks.syslog import TcpWriter, UdpWriter
from agent.snapshot_io import load_scenario
from tests.support.xsession import require

pytestmark = pytest.mark.live

SCENARIO = textwrap.dedent("""\
    platform: windows
    steps:
      - processes:
          - {pid: 4120, name: Zoom.exe, exe: 'C:\\\\Program Files\\\\Zoom\\\\bin\\\\Zoom.exe'}
        windows:
          - {pid: 4120, title: 'Zoom Meeting', class: ZPContentViewWndClass}
      - processes:
          - {pid: 4120, name: Zoom.exe, exe: 'C:\\\\Program Files\\\\Zoom\\\\bin\\\\Zoom.exe'}
          - {pid: 7000, name: msedge.exe}
        windows:
          - {pid: 4120, title: 'Screen sharing meeting controls', class: ZPFloatToolbarClass}
          - {pid: 7000, title: '中国工商银行 - 个人网上银行 - Microsoft Edge', class: Chrome_WidgetWin_1}
      - processes:
          - {pid: 4120, name: Zoom.exe, exe: 'C:\\\\Program Files\\\\Zoom\\\\bin\\\\Zoom.exe'}
          - {pid: 7000, name: msedge.exe}
        windows:
          - {pid: 4120, title: 'Screen sharing meeting controls', class: ZPFloatToolbarClass}
          - {pid: 7000, title: '中国工商银行 - 个人网上银行 - Microsoft Edge', class: Chrome_WidgetWin_1}
        events:
          - {action: stop_sharing}
    """)


def _free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def rsyslog(tmp_path):
    exe = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    require(os.path.exists(exe), "rsyslogd is not installed (apt-get install rsyslog)")
    udp, tcp = _free_port(socket.SOCK_DGRAM), _free_port()
    out = tmp_path / "received.log"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(textwrap.dedent(f"""\
        global(workDirectory="{tmp_path}")
        module(load="imudp")
        module(load="imtcp")
        input(type="imudp" address="127.0.0.1" port="{udp}")
        input(type="imtcp" address="127.0.0.1" port="{tcp}")
        template(name="sg" type="string"
                 string="%inputname%|%protocol-version%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
        *.* action(type="omfile" file="{out}" template="sg")
        """))
    proc = subprocess.Popen([exe, "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslogd.pid")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:   # ready when the TCP input accepts
        try:
            socket.create_connection(("127.0.0.1", tcp), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("rsyslogd did not start: " + proc.stdout.read().decode(errors="replace"))
            time.sleep(0.05)
    try:
        yield {"udp": udp, "tcp": tcp, "out": out}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _received(out, want_ids, inputs):
    """Poll rsyslog's output until every (input, event_id) arrived."""
    deadline = time.monotonic() + 20
    rows = []
    while time.monotonic() < deadline:
        text = out.read_text(encoding="utf-8") if out.exists() else ""
        # rsyslog may be mid-way through writing the last line: read complete lines only.
        rows = text[: text.rfind("\n") + 1].splitlines()
        got = {(r.split("|", 1)[0], _event_of(r)["event_id"]) for r in rows}
        if all((i, e) in got for i in inputs for e in want_ids):
            break
        time.sleep(0.05)
    return rows


def _event_of(row):
    msg = row.split("|", 5)[5]
    return json.loads(msg.lstrip("\ufeff"))


def test_replayed_alert_reaches_rsyslog_over_udp_and_tcp(rsyslog, tmp_path):
    scenario_file = tmp_path / "alert.yaml"
    scenario_file.write_text(SCENARIO, encoding="utf-8")
    scenario = load_scenario(str(scenario_file))
    sinks = [Sink("udp", Rfc5424(), UdpWriter("127.0.0.1", rsyslog["udp"])),
             Sink("tcp", Rfc5424(), TcpWriter("127.0.0.1", rsyslog["tcp"]))]
    audit = AuditLog(AuditContext(device_id="test-device"), sinks)
    responder = AuditResponder(audit)
    engine = Engine(load_signatures())
    sent = []
    original_emit = audit.emit
    audit.emit = lambda type_, **f: sent.append(original_emit(type_, **f)) or sent[-1]
    verdicts = []
    for snapshot in scenario.steps:
        verdict = engine.evaluate(snapshot)
        verdicts.append(verdict)
        responder.handle(verdict, snapshot)
    audit.flush()
    audit.close()

    assert [v.alert for v in verdicts] == [False, True, False]
    types = [e["type"] for e in sent]
    for wanted in ("share_started", "sensitive_opened", "alert_raised", "user_choice", "alert_cleared"):
        assert wanted in types, types

    rows = _received(rsyslog["out"], [e["event_id"] for e in sent], ("imudp", "imtcp"))
    by_key = {}
    for row in rows:
        inputname, version, app, msgid, sd, _ = row.split("|", 5)
        event = _event_of(row)
        by_key.setdefault((inputname, event["event_id"]), []).append((version, app, msgid, sd, event))
    for event in sent:
        for inputname in ("imudp", "imtcp"):
            copies = by_key.get((inputname, event["event_id"]))
            assert copies, f"{event['type']} missing on {inputname}"
            assert len(copies) == 1, f"{event['type']} arrived {len(copies)} times on {inputname}"
            version, app, msgid, sd, received = copies[0]
            # rsyslog's own parse of the RFC 5424 header and structured data:
            assert (version, app, msgid) == ("1", "shareguard", event["type"])
            assert sd.startswith("[shareguard@32473 ") and f'event_id="{event["event_id"]}"' in sd
            assert received == event
    alert = next(e for e in sent if e["type"] == "alert_raised")
    assert alert["apps"] == ["zoom"] and alert["sensitive"] == ["icbc"]
    # Privacy: the raw bank title is not in any event unless policy asks for titles.
    assert "个人网上银行" not in rsyslog["out"].read_text(encoding="utf-8")


def test_tcp_writer_reconnects_after_the_connection_breaks(rsyslog):
    writer = TcpWriter("127.0.0.1", rsyslog["tcp"])
    ser = Rfc5424()
    from agent.audit.events import make_event
    ctx = AuditContext(device_id="d")
    first = make_event("agent_started", ctx, pid=1, platform="linux")
    assert writer.write(ser(first), first)
    # Kill the peer's side of this connection by closing ours behind the writer's back:
    writer._sock.close()
    second = make_event("agent_stopped", ctx, reason="test")
    assert writer.write(ser(second), second)   # reconnects within the same call
    writer.close()
    rows = _received(rsyslog["out"], [first["event_id"], second["event_id"]], ("imtcp",))
    assert {_event_of(r)["event_id"] for r in rows} >= {first["event_id"], second["event_id"]}
