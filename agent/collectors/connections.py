"""Sockets of every process, with psutil (every OS).

``psutil.net_connections`` needs root on macOS (and hides other users' pids
elsewhere). When the system-wide call is refused, the source is reported
unavailable and the sockets of this user's own processes are read one by
one instead: remote tools started by the victim run as the victim.
"""

from __future__ import annotations

import socket
from typing import Iterable, List, Optional, Tuple

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
    """All inet sockets, plus ``("connections", reason)`` when only part could be read.

    ``processes`` and ``user`` are used only for the per-process fallback.
    """
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
