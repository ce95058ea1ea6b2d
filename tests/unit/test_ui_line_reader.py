"""The UI helper's channel reader (agent/ui/line_reader.py) on a real socketpair.

What the Tk file handler relies on: one wake-up hands over every complete line
that has arrived, lines the hello read brought along are not left waiting for
the next message, and the socket's blocking mode (shared with the helper's
stdout) is never touched.
"""

import os
import socket
import sys

import pytest

from agent.ui.channel import ChannelError
from agent.ui.line_reader import LineReader

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="select() on a socketpair descriptor")


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_one_wakeup_takes_every_line_sent_together(pair):
    ours, theirs = pair
    reader = LineReader(theirs.fileno())
    ours.sendall(b"one\ntwo\nthree\n")
    assert reader.read_ready() == ["one", "two", "three"]
    assert reader.read_ready() == []  # nothing left, and it did not block
    assert not reader.eof


def test_a_line_cut_across_writes_comes_out_whole_once(pair):
    ours, theirs = pair
    reader = LineReader(theirs.fileno())
    text = "中国工商银行 ICBC\n".encode("utf-8")
    ours.sendall(text[:5])  # the cut falls inside a Chinese character
    assert reader.read_ready() == []
    ours.sendall(text[5:] + b"next")
    assert reader.read_ready() == ["中国工商银行 ICBC"]
    ours.sendall(b"\n")
    assert reader.read_ready() == ["next"]


def test_lines_that_came_with_the_hello_are_not_left_behind(pair):
    ours, theirs = pair
    reader = LineReader(theirs.fileno())
    ours.sendall(b"hello 00\nconfig\nshow\n")
    assert reader.read_line() == "hello 00"
    # Nothing more will arrive on the socket: the two lines must come from the reader's buffer.
    assert reader.read_ready() == ["config", "show"]


def test_an_over_long_line_is_refused_in_its_place_and_reading_goes_on(pair):
    ours, theirs = pair
    reader = LineReader(theirs.fileno(), max_bytes=1000)
    ours.sendall(b"before\n" + b"x" * 5000)
    assert reader.read_ready() == ["before"]
    ours.sendall(b"x" * 3000 + b"\nafter\n")
    lines = reader.read_ready()
    assert len(lines) == 2 and isinstance(lines[0], ChannelError) and "over the limit" in str(lines[0])
    assert lines[1] == "after"


def test_damaged_utf8_is_replaced_so_the_hmac_check_refuses_it(pair):
    ours, theirs = pair
    reader = LineReader(theirs.fileno())
    ours.sendall(b"ab\xff\xfecd\n")
    assert reader.read_ready() == ["ab\ufffd\ufffdcd"]


def test_end_of_file_is_reported_after_the_last_lines(pair):
    ours, theirs = pair
    reader = LineReader(theirs.fileno())
    ours.sendall(b"last\n")
    ours.shutdown(socket.SHUT_WR)
    assert reader.read_ready() == ["last"]
    assert reader.eof
    assert reader.read_line() is None


def test_the_descriptor_stays_blocking(pair):
    # stdin and stdout of the helper are one socket: O_NONBLOCK set for reading
    # would make its acknowledgements fail with EAGAIN when the buffer is full.
    ours, theirs = pair
    reader = LineReader(theirs.fileno())
    ours.sendall(b"a\n")
    reader.read_ready()
    assert os.get_blocking(theirs.fileno())
