"""The agent <-> UI helper channel (agent/ui/channel.py): only authentic, ordered,
bounded JSON objects get through; everything else is refused with a reason."""

import pytest

from agent.ui.channel import (
    MAX_LINE,
    TO_AGENT,
    TO_HELPER,
    ChannelError,
    Opener,
    Sealer,
    hello_line,
    new_secret,
    read_hello,
)


def pair(direction=TO_AGENT):
    secret = new_secret()
    return Sealer(secret, direction), Opener(secret, direction)


def test_a_sealed_message_opens_once_and_in_order():
    sealer, opener = pair()
    first, second = sealer.seal({"type": "choice", "choice": "continue"}), sealer.seal({"type": "ack", "n": 1})
    assert opener.open(first) == {"type": "choice", "choice": "continue"}
    assert opener.open(second)["type"] == "ack"
    with pytest.raises(ChannelError, match="replayed"):
        opener.open(first)


@pytest.mark.parametrize("line", [
    '{"type":"choice","choice":"continue"}',                 # what a forger writes into /proc/<pid>/fd
    "5",                                                      # a bare number
    "",                                                       # an empty line
    "0" * 64 + ' 1 {"type":"choice","choice":"continue"}',   # a made-up code
    "x" * (MAX_LINE + 1),                                     # too long
])
def test_forged_and_garbage_lines_are_refused(line):
    _, opener = pair()
    with pytest.raises(ChannelError):
        opener.open(line)


def test_a_line_cannot_be_reflected_to_the_other_side_or_altered():
    secret = new_secret()
    to_helper = Sealer(secret, TO_HELPER).seal({"op": "view", "view": {}})
    with pytest.raises(ChannelError, match="authentication"):
        Opener(secret, TO_AGENT).open(to_helper)
    altered = to_helper.replace('"view":{}', '"view":{"alert":false}')
    with pytest.raises(ChannelError, match="authentication"):
        Opener(secret, TO_HELPER).open(altered)
    with pytest.raises(ChannelError, match="authentication"):
        Opener(new_secret(), TO_HELPER).open(to_helper)      # another launch's secret


@pytest.mark.parametrize("body", ["5", "[1, 2]", '"text"', "null", "[" * 100000 + "]" * 100000])
def test_authentic_but_not_an_object_is_refused(body):
    secret = new_secret()
    from agent.ui.channel import _mac
    with pytest.raises(ChannelError):
        Opener(secret, TO_AGENT).open(f"{_mac(secret, TO_AGENT, 1, body)} 1 {body}")


def test_hello_carries_the_secret():
    secret = new_secret()
    assert read_hello(hello_line(secret)) == secret
    for bad in ("hello", "hello zz", "{}", "hello " + "ab" * 8):
        with pytest.raises(ChannelError):
            read_hello(bad)
