"""Sockets of the given processes (every OS).

The collector asks only for the processes whose sockets the engine looks
at (meeting, remote-control and browser apps). On Linux they are read from
procfs: each given process's ``fd`` directory names its socket inodes, and
one read of ``/proc/net/{tcp,tcp6,udp,udp6}`` gives those sockets'
addresses, so the cost follows the candidates, not the machine.

Elsewhere ``psutil.net_connections`` is asked system-wide; it needs root on
macOS (and hides other users' pids elsewhere). When the system-wide call is
refused, the source is reported unavailable and the sockets of this user's
own processes are read one by one instead: remote tools started by the
victim run as the victim.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from typing import Dict, Iterable, List, Optional, Tuple

import psutil

from agent import i18n
from agent.collectors.reasons import reason
from agent.model import Connection, ProcessInfo

Unavailable = Tuple[str, str]

MESSAGES = i18n.register(__name__, {
    "refused": {
        "en": "system-wide socket list refused ({error}); showing only this user's processes",
        "zh_CN": "系统级网络连接列表被拒绝（{error}）；只显示当前用户进程的连接",
    },
    "failed": {
        "en": "system-wide socket list failed: {error}; showing only this user's processes",
        "zh_CN": "无法读取系统级网络连接列表：{error}；只显示当前用户进程的连接",
    },
})


def _address(addr) -> str:
    """psutil's (ip, port) as "ip:port" ("[ip]:port" for IPv6), "" when empty."""
    if not addr:
        return ""
    ip, port = addr[0], addr[1]
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def to_connection(sconn, pid: Optional[int] = None) -> Connection:
    """Convert one psutil connection tuple."""
    proto = "udp" if sconn.type == socket.SOCK_DGRAM else "tcp"
    status = "" if sconn.status == psutil.CONN_NONE else str(sconn.status)
    return Connection(pid=pid if pid is not None else getattr(sconn, "pid", None), proto=proto,
                      status=status, local=_address(sconn.laddr), remote=_address(sconn.raddr))


def read_connections(processes: Iterable[ProcessInfo] = (),
                     user: Optional[str] = None) -> Tuple[Tuple[Connection, ...], Tuple[Unavailable, ...]]:
    """The inet sockets of ``processes``, plus ``("connections", reason)`` when only part could be read.

    On Linux only the given processes' sockets are read (those of processes
    whose descriptors are refused are left out). Elsewhere the system-wide
    list is returned; ``user`` serves the per-process fallback.
    """
    if sys.platform.startswith("linux") and os.path.isdir(PROC_NET):
        return procfs_connections(processes), ()
    return system_connections(processes, user)


def system_connections(processes: Iterable[ProcessInfo] = (), user: Optional[str] = None
                       ) -> Tuple[Tuple[Connection, ...], Tuple[Unavailable, ...]]:
    """Every inet socket (psutil, system-wide); this user's processes one by one when refused."""
    try:
        return tuple(to_connection(c) for c in psutil.net_connections(kind="inet")), ()
    except psutil.AccessDenied as exc:
        why = reason(MESSAGES, "refused", error=exc.msg or "access denied")
    except (OSError, psutil.Error) as exc:
        why = reason(MESSAGES, "failed", error=exc)
    return tuple(_per_process(processes, user)), (("connections", why),)


def _per_process(processes: Iterable[ProcessInfo], user: Optional[str]) -> List[Connection]:
    out: List[Connection] = []
    for info in processes:
        if user is not None and info.user != user:
            continue  # another user's sockets would be refused anyway; skip the syscalls
        try:
            conns = psutil.Process(info.pid).net_connections(kind="inet")
        except psutil.Error:
            continue
        out.extend(to_connection(c, info.pid) for c in conns)
    return out


# -- Linux: procfs ---------------------------------------------------------------------
PROC_NET = "/proc/net"

#: The kernel's TCP state numbers (include/net/tcp_states.h) in psutil's spelling.
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
              12: "SYN_RECV"}

_TABLES = (("tcp", "tcp", socket.AF_INET), ("tcp6", "tcp", socket.AF_INET6),
           ("udp", "udp", socket.AF_INET), ("udp6", "udp", socket.AF_INET6))


def process_socket_inodes(pid: int, proc: str = "/proc") -> Tuple[int, ...]:
    """The inodes of the sockets ``pid`` holds open, from its ``fd`` links (empty when its
    descriptors are not ours to see, or it is gone)."""
    try:
        entries = os.scandir(f"{proc}/{pid}/fd")
    except OSError:
        return ()
    found = []
    with entries:
        for entry in entries:
            try:
                target = os.readlink(entry.path)
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:["):
                found.append(int(target[8:-1]))
    return tuple(found)


def socket_inodes(pids: Iterable[int], proc: str = "/proc") -> Dict[str, int]:
    """``{socket inode: pid}`` for the given processes, the inode as ``/proc/net`` prints it."""
    return {str(inode): pid for pid in pids for inode in process_socket_inodes(pid, proc)}


def decode_endpoint(text: str, family: int) -> str:
    """``/proc/net`` "0100007F:1F90" as "127.0.0.1:8080" ("" for port 0, as psutil has it).

    The address is printed as 32-bit words in host order, so each word's
    bytes are turned around on a little-endian machine.
    """
    hex_ip, _, hex_port = text.partition(":")
    port = int(hex_port, 16)
    if not port:
        return ""
    raw = bytes.fromhex(hex_ip)
    if sys.byteorder == "little":
        words = len(raw) // 4
        raw = struct.pack(f">{words}I", *struct.unpack(f"<{words}I", raw))
    ip = socket.inet_ntop(family, raw)
    return f"[{ip}]:{port}" if family == socket.AF_INET6 else f"{ip}:{port}"


def procfs_connections(processes: Iterable[ProcessInfo], net: str = PROC_NET) -> Tuple[Connection, ...]:
    """The inet sockets of ``processes`` from procfs (Linux)."""
    owners = socket_inodes(p.pid for p in processes)
    if not owners:
        return ()
    out: List[Connection] = []
    for table, proto, family in _TABLES:
        try:
            with open(f"{net}/{table}", encoding="ascii", errors="replace") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue  # no IPv6, for one
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[9] not in owners:
                continue
            status = TCP_STATES.get(int(fields[3], 16), "") if proto == "tcp" else ""
            out.append(Connection(pid=owners[fields[9]], proto=proto, status=status,
                                  local=decode_endpoint(fields[1], family),
                                  remote=decode_endpoint(fields[2], family)))
    return tuple(out)
