"""Wiring for ``shareguard run``: policy, signatures, collector, engine, responders.

Kept apart from :mod:`agent.runtime` so the loop stays small and testable
with fakes, and so every "degrade, don't die" decision of start-up is in one
place: a broken policy keeps defaults (with an event), broken signatures keep
the built-in set, no display means console mode, no tray host or
notification daemon means the other responders carry on.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any, List, Optional

from agent import __version__, i18n
from agent.engine import Engine
from agent.runtime import Runtime
from agent.state import StateStore

log = logging.getLogger("shareguard.app")

MESSAGES = i18n.register(__name__, {
    "console_no_display": {
        "en": "ShareGuard: no graphical display found ({why}). Running in console mode: alerts are printed "
              "here and written to the event log; no warning window can be shown. Press Ctrl+C to stop.",
        "zh_CN": "ShareGuard：未找到图形显示（{why}）。以控制台模式运行：警报会打印在这里并写入事件日志，"
                 "但无法显示警告窗口。按 Ctrl+C 停止。",
    },
    "console_forced": {
        "en": "ShareGuard: console mode. Alerts are printed here and written to the event log. Press Ctrl+C to stop.",
        "zh_CN": "ShareGuard：控制台模式。警报会打印在这里并写入事件日志。按 Ctrl+C 停止。",
    },
    "signatures_broken": {
        "en": "ShareGuard: the signatures in {path} have errors and were not loaded:\n{problems}\n"
              "Using the built-in signatures instead.",
        "zh_CN": "ShareGuard：{path} 中的特征库有错误，未被加载：\n{problems}\n改用内置特征库。",
    },
    "policy_problem": {
        "en": "ShareGuard policy: {problem}",
        "zh_CN": "ShareGuard 策略：{problem}",
    },
})


@dataclass
class App:
    """A wired agent: the runtime plus what must be closed with it."""

    runtime: Runtime
    policy: Any
    lang: str
    audit: Any = None
    closers: List[Any] = field(default_factory=list)

    def close(self) -> None:
        if self.audit is not None:
            try:
                self.audit.emit("agent_stopped")
            except Exception:
                log.exception("could not record agent_stopped")
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")


def _load_policy(policy_path: Optional[str]):
    from agent.policy import load_policy

    return load_policy(machine_path=policy_path)


def _signature_source(policy, signatures_path: Optional[str], audit, lang: str, out):
    """A hot-reloading signature source; a broken ``--signatures`` falls back to built-in."""
    from agent.signatures.loader import SignatureError, load_signatures
    from agent.signatures.reloader import SignatureSource

    if signatures_path:
        try:
            load_signatures(signatures_path)
        except SignatureError as exc:
            print(i18n.tr(MESSAGES, "signatures_broken", lang, path=signatures_path, problems=exc), file=out)
            if audit is not None:
                audit.emit("signatures_rejected", code="invalid_content", path=signatures_path, reason=str(exc))
            signatures_path = None

    def on_event(kind: str, **fields: Any) -> None:
        if audit is not None:
            audit.emit(kind, **fields)
        level = logging.WARNING if kind.endswith("rejected") else logging.INFO
        log.log(level, "%s %s", kind, fields)

    return SignatureSource(policy.get("signature_bundle") or None, policy.get("signature_pubkey") or None,
                           builtin_dir=signatures_path, on_event=on_event)


def build_app(console: bool = False, signatures_path: Optional[str] = None, policy_path: Optional[str] = None,
              poll_seconds: Optional[float] = None, out=None) -> Optional[App]:
    """Build everything ``shareguard run`` needs; None (exit 2) only if nothing can run."""
    out = out or sys.stderr
    policy = _load_policy(policy_path)
    lang = i18n.detect_language(policy.get("language"))
    for problem in policy.problems:
        print(i18n.tr(MESSAGES, "policy_problem", lang, problem=problem), file=out)

    from agent.audit import AuditLog, AuditResponder

    audit = AuditLog.from_policy(policy)
    closers: List[Any] = [audit.close]
    audit.emit("agent_started", version=__version__)
    for kind, fields in policy.notices:
        audit.emit(kind, **fields)

    source = _signature_source(policy, signatures_path, audit, lang, out)
    signatures = source.current()
    from agent.collectors import get_collector

    collector = get_collector()
    store = StateStore()
    engine = Engine(signatures, policy.engine_policy(), known_executables=store.load_known_executables())

    # The runtime exists before the UI so the tray can drive its pause/quit controls.
    responders: List[Any] = [AuditResponder(audit)]
    runtime = Runtime(collector, engine, (), poll_seconds=poll_seconds or 2.0, signature_source=source,
                      state_store=store)
    display_ok, why = (False, "--console") if console else _display()
    if display_ok:
        from agent.ui import build_responders

        responders += build_responders(policy, lang, audit, runtime)
    else:
        from agent.ui.console import ConsoleResponder

        key = "console_forced" if console else "console_no_display"
        print(i18n.tr(MESSAGES, key, lang, why=why), file=out, flush=True)
        responders.append(ConsoleResponder(lang))
    runtime.add_responders(responders)
    return App(runtime=runtime, policy=policy, lang=lang, audit=audit, closers=closers)


def _display():
    from agent.ui import has_display

    return has_display()
