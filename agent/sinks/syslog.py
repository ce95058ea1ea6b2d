"""Syslog transports: UDP datagrams and TCP with RFC 6587 octet counting.

Syslog has no acknowledgement, so these writers do not spool: while the
collector is unreachable events are counted as dropped (and reported by an
``events_dropped`` event to the other sinks). TCP reconnects with backoff,
so a dead collector costs one failed connect per backoff period, on the
sink's own thread, never on detection.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Dict, Optional

from agent.sinks.base import Writer, log
from agent.sinks.serializers import octet_frame


class UdpWriter(Writer):
    name = "syslog-udp"

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, int(port))
        self._sock: Optional[socket.socket] = None

    def write(self, data: bytes, event: Dict[str, Any]) -> bool:
        try:
            if self._sock is None:
                family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
            self._sock.sendto(data, self.address)
            return True
        except OSError as e:
            log.debug("syslog udp %s: %s", self.address, e)
            return False

    def close(self) -> None:
        if self._sock:
            self._sock.close()
            self._sock = None


class TcpWriter(Writer):
    name = "syslog-tcp"

    def __init__(self, host: str, port: int, connect_timeout: float = 2.0, max_backoff: float = 30.0,
                 send_timeout: float = 10.0) -> None:
        self.address = (host, int(port))
        self.connect_timeout = connect_timeout
        #: A peer that accepts but never reads blocks sendall this long; the event
        #: is then counted lost and the connection is dropped (a partly sent
        #: frame would corrupt the octet-counted stream).
        self.send_timeout = send_timeout
        self.max_backoff = max_backoff
        self._sock: Optional[socket.socket] = None
        self._backoff = 0.0
        self._retry_at = 0.0

    def _connect(self) -> Optional[socket.socket]:
        if self._sock is not None:
            return self._sock
        if time.monotonic() < self._retry_at:
            return None
        try:
            sock = socket.create_connection(self.address, timeout=self.connect_timeout)
            sock.settimeout(self.send_timeout)
            self._sock = sock
            self._backoff = 0.0
            return sock
        except OSError as e:
            self._backoff = min(self.max_backoff, max(0.5, self._backoff * 2))
            self._retry_at = time.monotonic() + self._backoff
            log.debug("syslog tcp %s: %s (retry in %.1fs)", self.address, e, self._backoff)
            return None

    def write(self, data: bytes, event: Dict[str, Any]) -> bool:
        # One retry: a collector restart shows up as a broken pipe on the first send.
        for _ in range(2):
            sock = self._connect()
            if sock is None:
                return False
            try:
                sock.sendall(octet_frame(data))
                return True
            except OSError:
                self._drop()
        return False

    def _drop(self) -> None:
        if self._sock:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None

    def close(self) -> None:
        self._drop()
