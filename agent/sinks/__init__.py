"""Audit sinks: serializers (json, RFC 5424, HEC, webhook) x writers (file,
syslog udp/tcp, HTTP with a disk spool, Windows Event Log)."""

from agent.sinks.base import MemoryWriter, Sink, Writer
from agent.sinks.factory import build_sinks

__all__ = ["MemoryWriter", "Sink", "Writer", "build_sinks"]
