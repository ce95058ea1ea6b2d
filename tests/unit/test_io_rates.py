"""Bytes sent by a process, sockets included (agent/collectors/socket_bytes.py), through the meter."""

from agent.collectors.iorate import IoMeter
from agent.collectors.socket_bytes import ProcessBytes, parse_ss

SS = """\
0      0      127.0.0.1:57365 127.0.0.1:57260 users:(("ToDesk",pid=4120,fd=4))
\t bbr wscale:10,10 rto:204 mss:47616 cwnd:14 bytes_sent:123456 bytes_acked:123457 bytes_received:900 segs_out:6
0      0      10.0.0.5:50123 1.2.3.4:443 users:(("chrome",pid=77,fd=31))
\t cubic bytes_acked:5000000 bytes_received:8000000
"""


def test_parse_ss_reads_each_socket_of_each_pid():
    assert parse_ss(SS) == {4120: {"127.0.0.1:57365 127.0.0.1:57260": (123457, 900)},
                            77: {"10.0.0.5:50123 1.2.3.4:443": (5000000, 8000000)}}


def test_socket_bytes_are_added_and_never_go_back_when_sockets_close():
    clock = [0.0]
    table = {10: {"a": (1000, 0)}}
    own = {10: (500.0, 100.0)}
    read = ProcessBytes(process=lambda pid: own.get(pid), sockets=lambda: table, clock=lambda: clock[0])
    assert read(10) == (1500.0, 100.0)
    clock[0] = 1.0
    table = {10: {"a": (401000, 0), "b": (100000, 50)}}  # a sent 400 KB; b is new
    assert read(10) == (500.0 + 1000 + 400000 + 100000, 150.0)
    clock[0] = 2.0
    table = {10: {"b": (100000, 50)}}  # a closed: what it carried stays counted
    assert read(10) == (501500.0, 150.0)
    assert read(99) is None  # a process we cannot read


def test_the_meter_turns_socket_bytes_into_a_rate():
    clock = [0.0]
    table = {10: {"a": (0, 0)}}
    read = ProcessBytes(process=lambda pid: (0.0, 0.0), sockets=lambda: table, clock=lambda: clock[0], refresh=0.0)
    meter = IoMeter(read=read, clock=lambda: clock[0])
    assert meter.rates([10]) == ()
    for second in range(1, 6):
        clock[0] = float(second)
        table = {10: {"a": (300_000 * second, 1000 * second)}}
        rates = dict(meter.rates([10]))
    assert rates[10].sent == 300_000.0 and rates[10].received == 1000.0 and rates[10].seconds == 5.0
