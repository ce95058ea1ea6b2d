"""Bytes sent by a process, sockets included (agent/collectors/socket_bytes.py), through the meter."""

import os
import socket
import struct
import subprocess
import sys

import pytest

from agent.collectors import socket_bytes
from agent.collectors.iorate import IoMeter
from agent.collectors.socket_bytes import ProcessBytes, parse_ss, read_sockets, read_ss, read_tcp_diag
from tests.support import waiting
from tests.support.xsession import require_programs

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sock_diag netlink and /proc are Linux")

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


#: (bytes acked, bytes received) of each side once everything is acknowledged; the client's
#: acked count includes its SYN, as `ss` shows it.
SENT_BY_CLIENT, SENT_BY_SERVER = (200_001, 3000), (3000, 200_000)


@pytest.fixture
def loopback_pair():
    """A real TCP connection over loopback: 200,000 bytes one way, 3,000 back, all received."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    client.sendall(b"x" * 200_000)
    got = 0
    while got < 200_000:
        got += len(accepted.recv(65536))
    accepted.sendall(b"y" * 3000)
    got = 0
    while got < 3000:
        got += len(client.recv(4096))
    # Both sides' acknowledgements arrive on their own time (delayed ACKs): wait for them.
    client_ino, accepted_ino = _inode(client), _inode(accepted)
    waiting.wait_until(lambda: {k: v for k, v in read_tcp_diag().items() if k in (client_ino, accepted_ino)}
                       == {client_ino: SENT_BY_CLIENT, accepted_ino: SENT_BY_SERVER}, 10,
                       "the kernel counters of both sides", show_last=False)
    yield client, accepted
    for s in (client, accepted, server):
        s.close()


def _inode(sock):
    return os.fstat(sock.fileno()).st_ino


@linux
def test_the_kernel_counters_of_a_real_connection_are_read_from_netlink(loopback_pair):
    client, accepted = loopback_pair
    table = read_tcp_diag()
    assert table[_inode(client)] == SENT_BY_CLIENT
    assert table[_inode(accepted)] == SENT_BY_SERVER


@linux
def test_a_pid_gets_only_its_own_sockets(loopback_pair):
    client, accepted = loopback_pair
    sockets = read_sockets()
    mine = sockets.get(os.getpid())
    assert mine == {str(_inode(client)): SENT_BY_CLIENT, str(_inode(accepted)): SENT_BY_SERVER}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert sockets.get(child.pid) is None  # a process without sockets has none
    finally:
        child.kill()
        child.wait()
    assert sockets.get(2 ** 22 + 12345) is None  # no such process


@linux
def test_netlink_and_ss_agree_on_the_same_sockets(loopback_pair):
    require_programs("ss")
    mine_ss = sorted(read_ss().get(os.getpid(), {}).values())
    mine_netlink = sorted(read_sockets().get(os.getpid(), {}).values())
    assert mine_ss == mine_netlink == sorted([SENT_BY_CLIENT, SENT_BY_SERVER])


def test_without_netlink_the_sockets_come_from_ss(monkeypatch):
    def refused():
        raise PermissionError("netlink refused")
    monkeypatch.setattr(socket_bytes, "read_tcp_diag", refused)
    monkeypatch.setattr(socket_bytes, "read_ss", lambda: {7: {"a b": (1, 2)}})
    monkeypatch.setattr(socket_bytes.sys, "platform", "linux")
    assert socket_bytes.read_sockets() == {7: {"a b": (1, 2)}}


def test_a_refused_dump_is_an_error_and_a_reply_is_read_to_its_end():
    out = {}
    tcp_info = bytes(120) + struct.pack("=QQ", 5000, 60) + bytes(40)
    attr = struct.pack("=HH", 4 + len(tcp_info), socket_bytes.INET_DIAG_INFO) + tcp_info
    body = struct.pack("=BBBB48sIIIII", 2, 1, 0, 0, bytes(48), 0, 0, 0, 1000, 4242) + attr
    message = struct.pack("=IHHII", 16 + len(body), socket_bytes.SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body
    assert socket_bytes.parse_diag(message, out) is False  # more to come
    assert out == {4242: (5000, 60)}
    assert socket_bytes.parse_diag(struct.pack("=IHHIIi", 20, socket_bytes.NLMSG_DONE, 2, 1, 0, 0), out) is True
    with pytest.raises(OSError):
        socket_bytes.parse_diag(struct.pack("=IHHIIi", 20, socket_bytes.NLMSG_ERROR, 0, 1, 0, -1), out)
