"""The native-messaging host: framing, refused messages, and a port that never breaks."""

import io
import json
import logging
import struct

import pytest

from agent.companion import host, protocol


def frame(obj=None, raw=None):
    body = raw if raw is not None else json.dumps(obj).encode()
    return struct.pack("=I", len(body)) + body


def replies(data: bytes):
    out: list = []
    stream = io.BytesIO(data)
    while True:
        body = protocol.read_frame(stream)
        if body is None:
            return out
        out.append(json.loads(body))


class FakeRelay:
    def __init__(self, up=True):
        self.sent, self.up, self.closed = [], up, False

    def send(self, fact):
        self.sent.append(fact)
        return self.up

    def close(self):
        self.closed = True


STATE = {"type": "state", "seq": 3, "causes": ["tab_switched"],
         "windows": [{"id": 1, "focused": True, "state": "normal",
                      "tab": {"id": 7, "url": "https://www.icbc.com.cn/login", "title": "中国工商银行"}}],
         "captures": [{"tab": 9, "surface": "browser", "shared_tab": 7}]}


def run(data: bytes, relay=None, argv=("chrome-extension://abc/",)):
    relay = relay or FakeRelay()
    out = io.BytesIO()
    assert host.serve(io.BytesIO(data), out, relay, argv, pid_of_browser=4242) == 0
    return relay, replies(out.getvalue())


def test_relays_hello_and_state_and_acknowledges():
    relay, answers = run(frame({"type": "hello", "browser": "chromium", "extension": "1.0.0"}) + frame(STATE))
    hello, state, bye = relay.sent
    assert hello["browser_pid"] == 4242 and hello["caller"] == "chrome-extension://abc/"
    assert state["windows"][0]["tab"]["url"] == "https://www.icbc.com.cn/login"
    assert state["captures"] == [{"tab": 9, "surface": "browser", "shared_tab": 7}]
    assert bye == {"type": "bye"} and relay.closed
    assert [a["type"] for a in answers] == ["ack", "ack"] and answers[1]["seq"] == 3 and answers[1]["agent"]


def test_frame_in_native_byte_order_round_trips():
    stream = io.BytesIO(protocol.encode_frame({"a": "中"}))
    assert json.loads(protocol.read_frame(stream)) == {"a": "中"}
    assert protocol.read_frame(stream) is None


@pytest.mark.parametrize("body, why", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (json.dumps([1, 2]).encode(), "expected an object"),
    (json.dumps({"type": "exec", "cmd": "rm"}).encode(), "unknown message type"),
    (json.dumps({"type": "state", "windows": "x"}).encode(), "windows: expected a list"),
    (json.dumps({"type": "state", "windows": [{"id": "1"}]}).encode(), "windows[0].id: expected an integer"),
    (json.dumps({"type": "state", "captures": [{"tab": True}]}).encode(), "captures[0].tab: expected an integer"),
])
def test_malformed_messages_are_refused_with_a_clear_line_and_the_next_one_is_read(body, why, caplog):
    with caplog.at_level(logging.WARNING, "shareguard.native-host"):
        relay, answers = run(frame(raw=body) + frame(STATE))
    assert answers[0]["type"] == "error" and why in answers[0]["error"]
    assert answers[1]["type"] == "ack"
    assert [f["type"] for f in relay.sent] == ["state", "bye"]
    assert any(why in r.getMessage() and "refused message 1" in r.getMessage() for r in caplog.records)


def test_oversized_message_is_skipped_whole_and_the_port_stays_usable(caplog):
    big = b"x" * (protocol.MAX_MESSAGE + 1)
    with caplog.at_level(logging.WARNING, "shareguard.native-host"):
        relay, answers = run(frame(raw=big) + frame(STATE))
    assert answers[0]["type"] == "error" and "limit" in answers[0]["error"]
    assert relay.sent[0]["type"] == "state"
    assert any(f"refused a {len(big)}-byte message" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("data, why", [
    (b"\x10\x00", "inside a length prefix"),
    (struct.pack("=I", 100) + b'{"type":', "8 of 100 bytes"),
    (struct.pack("=I", protocol.MAX_MESSAGE + 10) + b"x" * 20, "ended after 20 bytes"),
])
def test_truncated_input_ends_the_host_cleanly_with_a_log_line(data, why, caplog):
    with caplog.at_level(logging.WARNING, "shareguard.native-host"):
        relay, answers = run(frame(STATE) + data)
    assert [f["type"] for f in relay.sent] == ["state", "bye"]
    assert len(answers) == 1
    assert any(why in r.getMessage() for r in caplog.records)


def test_strings_are_cut_and_unknown_keys_dropped():
    long_state = {"type": "state", "page_html": "<html>", "windows": [
        {"id": 1, "state": "weird", "cookie": "x", "tab": {"id": 2, "url": "https://a.example/" + "p" * 5000,
                                                           "title": "t" * 2000, "body": "secret"}}]}
    fact = protocol.parse_fact(long_state)
    tab = fact["windows"][0]["tab"]
    assert set(tab) == {"id", "url", "title"} and len(tab["url"]) == protocol.MAX_URL
    assert len(tab["title"]) == protocol.MAX_TITLE and fact["windows"][0]["state"] == "normal"
    assert "page_html" not in fact and "cookie" not in fact["windows"][0]


def test_agent_missing_is_said_once_and_facts_are_dropped(caplog):
    from agent.companion.channel import ChannelError

    attempts = []

    def refuse():
        attempts.append(1)
        raise ChannelError("no agent")

    now = [0.0]
    relay = host.Relay(connect=refuse, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "shareguard.native-host"):
        assert relay.send({"type": "state"}) is False
        assert relay.send({"type": "state"}) is False  # within the retry interval: no second attempt
        now[0] += host.RECONNECT_SECONDS + 0.1
        assert relay.send({"type": "state"}) is False
    assert len(attempts) == 2
    assert sum("not reachable" in r.getMessage() for r in caplog.records) == 1


def test_reconnect_repeats_the_hello_first():
    class Conn:
        def __init__(self):
            self.sent = []

        def send(self, fact):
            self.sent.append(fact["type"])

        def close(self):
            pass

    conns = []
    relay = host.Relay(connect=lambda: conns.append(Conn()) or conns[-1], clock=lambda: 100.0 * len(conns))
    relay.send({"type": "hello"})
    relay.close()
    relay.send({"type": "state"})
    assert conns[0].sent == ["hello"] and conns[1].sent == ["hello", "state"]


def test_host_survives_a_relay_that_raises(caplog):
    class Broken(FakeRelay):
        def send(self, fact):
            if fact["type"] == "state":
                raise RuntimeError("boom")
            return True

    with caplog.at_level(logging.ERROR, "shareguard.native-host"):
        relay, answers = run(frame(STATE) + frame(STATE), relay=Broken())
    assert answers == []  # no ack for what was not relayed, but no crash either
    assert sum("could not relay" in r.getMessage() for r in caplog.records) == 2


def test_caller_names_chrome_and_firefox():
    assert host.caller(["chrome-extension://abc/", "--parent-window=0"]) == "chrome-extension://abc/"
    assert host.caller(["/usr/lib/mozilla/native-messaging-hosts/x.json", "companion@shareguard.org"]) == \
        "moz-extension:companion@shareguard.org"
