"""Policy ``sinks`` -> Sink objects (serializer x writer)."""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Tuple

from agent.sinks.base import Sink, Writer
from agent.sinks.serializers import Rfc5424, json_line


def build_sinks(configs: List[Dict[str, Any]], log_dir: str,
                on_drop: Optional[Callable[[str, int, str], None]] = None,
                platform: Optional[str] = None) -> Tuple[List[Sink], List[str]]:
    """Build every configured sink. Returns ``(sinks, problems)``: a sink that
    cannot start (e.g. eventlog off Windows, a busy spool) is reported, and
    the others still run."""
    from agent.policy.paths import current_platform
    platform = platform or current_platform()
    sinks: List[Sink] = []
    problems: List[str] = []
    for i, cfg in enumerate(configs):
        kind = cfg.get("type")
        name = f"{kind}#{i + 1}"
        try:
            sinks.append(_build(name, cfg, log_dir, on_drop, platform))
        except Exception as e:  # one bad sink must not silence the others
            explicit = {k: cfg[k] for k in ("path", "spool_dir") if cfg.get(k)}
            if not explicit:
                problems.append(f"sink {name}: {e}")
                continue
            # A path another account owns or planted (docs/security.md): keep the
            # sink, in this user's own log folder, and say so.
            try:
                sinks.append(_build(name, {k: v for k, v in cfg.items() if k not in explicit}, log_dir,
                                    on_drop, platform))
                problems.append(f"sink {name}: cannot use {', '.join(map(str, explicit.values()))} ({e}); "
                                f"writing to {log_dir} instead")
            except Exception as e2:
                problems.append(f"sink {name}: {e}; and in {log_dir}: {e2}")
    return sinks, problems


def _build(name: str, cfg: Dict[str, Any], log_dir: str, on_drop, platform: str) -> Sink:
    kind = cfg["type"]
    if kind == "file":
        from agent.sinks.file import RotatingFileWriter
        writer: Writer = RotatingFileWriter(cfg.get("path") or os.path.join(log_dir, "events.jsonl"),
                                    max_bytes=cfg.get("max_bytes", 10 * 1024 * 1024),
                                    backups=cfg.get("backups", 5), fsync=cfg.get("fsync", True))
        return Sink(name, json_line, writer)
    if kind == "syslog":
        from agent.sinks import syslog
        host, port = cfg.get("host", "127.0.0.1"), int(cfg.get("port", 514))
        writer = (syslog.TcpWriter(host, port) if cfg.get("protocol", "udp") == "tcp"
                  else syslog.UdpWriter(host, port))
        ser = Rfc5424(facility=cfg.get("facility", 16), app_name=cfg.get("app_name", "shareguard"),
                      enterprise_number=cfg.get("enterprise_number", 32473))
        return Sink(name, ser, writer)
    if kind == "http":
        from agent.sinks.http import HttpWriter
        spool = cfg.get("spool_dir") or os.path.join(log_dir, "spool", _slug(cfg["url"]))
        writer = HttpWriter(cfg["url"], spool, fmt=cfg.get("format", "hec"), token=cfg.get("token", ""),
                            headers=cfg.get("headers"), batch_size=cfg.get("batch_size", 100),
                            flush_seconds=cfg.get("flush_seconds", 2.0),
                            timeout_seconds=cfg.get("timeout_seconds", 10.0),
                            retry_max_seconds=cfg.get("retry_max_seconds", 60.0),
                            max_spool_mb=cfg.get("max_spool_mb", 50), index=cfg.get("index", ""),
                            sourcetype=cfg.get("sourcetype", "shareguard:event"),
                            on_drop=(lambda n, why: on_drop(name, n, why)) if on_drop else None)
        return Sink(name, json_line, writer)
    if kind == "eventlog":
        if platform != "windows":
            raise RuntimeError("the Windows Event Log exists only on Windows")
        from agent.sinks.eventlog import EventLogWriter
        return Sink(name, json_line, EventLogWriter(cfg.get("source", "ShareGuard")))
    raise ValueError(f"unknown sink type {kind!r}")


def _slug(url: str) -> str:
    import hashlib
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
