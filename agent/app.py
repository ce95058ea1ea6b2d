"""Wiring for ``shareguard run``: policy, signatures, collector, engine, responders.

The one place that builds and wires the guard (agent.commands.run calls
:func:`build_app`). Kept apart from :mod:`agent.runtime`, which never imports
it, so the loop stays small and testable with fakes, and so every "degrade,
don't die" decision of start-up is in one place: a broken policy keeps defaults (with an event), broken signatures keep
the built-in set, no display means console mode, no tray host or
notification daemon means the other responders carry on.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, TextIO, Tuple

from agent import i18n
from agent.audit import AuditLog
from agent.engine import Engine
from agent.policy import Policy, load_policy
from agent.responders.base import Responder
from agent.runtime import Runtime
from agent.signatures.reloader import SignatureSource
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
    policy: Policy
    lang: str
    audit: Optional[AuditLog] = None
    closers: List[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        if self.audit is not None:
            try:
                self.audit.emit("agent_stopped", reason="quit", dropped_events=self.audit.dropped)
            except Exception:
                log.exception("could not record agent_stopped")
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")


def _signature_event(audit: AuditLog, kind: str, fields: dict) -> None:
    """Log and record the signature source's reports (already in the audit schema)."""
    level = logging.WARNING if kind.endswith("rejected") else logging.INFO
    log.log(level, "%s %s", kind, fields)
    audit.emit(kind, **fields)


def _signature_source(policy: Policy, signatures_path: Optional[str], audit: AuditLog, lang: str,
                      out: TextIO) -> SignatureSource:
    """A hot-reloading signature source; a broken ``--signatures`` falls back to built-in."""
    from agent.signatures.loader import SignatureError, load_signatures

    if signatures_path:
        try:
            load_signatures(signatures_path)
        except SignatureError as exc:
            print(i18n.tr(MESSAGES, "signatures_broken", lang, path=signatures_path, problems=exc), file=out)
            _signature_event(audit, "signatures_rejected", {"source": signatures_path,
                                                            "problems": [str(p) for p in exc.problems]})
            signatures_path = None
    return SignatureSource(policy.get("signature_bundle") or None, policy.get("signature_pubkey") or None,
                           builtin_dir=signatures_path,
                           on_event=lambda kind, **fields: _signature_event(audit, kind, fields))


class PolicyWatch:
    """Reloads the policy when a policy file changes (checked every few seconds).

    A changed machine file is also a tamper sign (``policy_file_changed``);
    a broken new file keeps the last good values (the loader does that).
    """

    INTERVAL = 5.0

    def __init__(self, policy: Policy, policy_path: Optional[str], engine: Engine, audit: AuditLog,
                 source: SignatureSource) -> None:
        from agent.audit.tamper import PolicyFileWatch
        from agent.policy import paths

        self.policy, self.policy_path, self.engine, self.audit, self.source = policy, policy_path, engine, audit, source
        #: Called with (policy, lang) after a reload: responders that show or
        #: act by policy (the UI's language, countdown, hotlines; the grace period).
        self.listeners: List[Callable[[Policy, str], None]] = []
        self._machine = PolicyFileWatch(policy.machine_files)
        self._user = PolicyFileWatch([paths.user_settings_file()])
        self._next = 0.0

    def __call__(self, now: float) -> None:
        if now < self._next:
            return
        self._next = now + self.INTERVAL
        machine = self._machine.check()
        user = self._user.check()
        for kind, fields in machine:
            self.audit.emit(kind, **fields)
        if not (machine or user):
            return
        self.policy = load_policy(machine_path=self.policy_path, previous=self.policy)
        self.audit.report_policy(self.policy)
        self.engine.set_policy(self.policy.engine_policy())
        self.source.reconfigure(self.policy.get("signature_bundle") or None,
                                self.policy.get("signature_pubkey") or None)
        lang = i18n.detect_language(self.policy.get("language"))
        for listener in self.listeners:
            listener(self.policy, lang)
        log.info("policy reloaded: mode=%s", self.policy.get("mode"))


def build_app(console: bool = False, signatures_path: Optional[str] = None, policy_path: Optional[str] = None,
              poll_seconds: float = 2.0, out: Optional[TextIO] = None) -> App:
    """Build everything ``shareguard run`` needs. Nothing here stops the guard:
    each broken part degrades (see the module docstring)."""
    out = out or sys.stderr
    policy = load_policy(machine_path=policy_path)
    lang = i18n.detect_language(policy.get("language"))
    for problem in policy.problems:
        print(i18n.tr(MESSAGES, "policy_problem", lang, problem=problem), file=out)

    from agent.audit.tamper import Heartbeat
    from agent.collectors import get_collector
    from agent.policy import paths
    from agent.responders.audit import AuditResponder

    audit = AuditLog.from_policy(policy)
    heartbeat = Heartbeat(paths.state_dir())
    closers: List[Callable[[], None]] = [audit.close, heartbeat.stop]
    audit.report_policy(policy)
    for kind, fields in heartbeat.start():
        audit.emit(kind, **fields)

    source = _signature_source(policy, signatures_path, audit, lang, out)
    collector = _with_companion(get_collector())
    audit.emit("agent_started", pid=os.getpid(), platform=collector.platform, collector=collector.name)
    store = StateStore(paths.state_dir())
    engine = Engine(source.current(), policy.engine_policy(), known_executables=store.load_known_executables())

    # The runtime exists before the UI so the tray can drive its pause/quit controls.
    responders: List[Responder] = [AuditResponder(audit)]
    runtime = Runtime(collector, engine, (), poll_seconds=poll_seconds, signature_source=source,
                      state_store=store)
    policy_watch = PolicyWatch(policy, policy_path, engine, audit, source)
    runtime.housekeeping += [lambda now: heartbeat.beat(), policy_watch]
    display_ok, why = (False, "--console") if console else _display()
    if display_ok:
        from agent.responders import build_responders

        responders += build_responders(policy, lang, audit, runtime)
    else:
        from agent.responders.console import ConsoleResponder

        key = "console_forced" if console else "console_no_display"
        print(i18n.tr(MESSAGES, key, lang, why=why), file=out, flush=True)
        # Freeze for real in console mode too: the audit log and the console line
        # say "frozen", so it must be true (issue 11 item 9). Same safety rules.
        from agent.responders.process_control import ProcessController

        responders += [ConsoleResponder(lang),
                       ProcessController(audit=audit, grace_seconds=float(policy.get("end_grace_seconds")))]
    runtime.add_responders(responders)
    policy_watch.listeners += [r.apply_policy for r in responders]
    return App(runtime=runtime, policy=policy, lang=lang, audit=audit, closers=closers)


def _with_companion(collector: Any) -> Any:
    """The collector plus the browser companion's pages (titles alone if the channel cannot open)."""
    from agent.companion.collector import WithPages
    from agent.companion.receiver import CompanionReceiver

    receiver = CompanionReceiver()
    receiver.start()
    return WithPages(collector, receiver)


def _display() -> Tuple[bool, str]:
    from agent.ui import has_display

    return has_display()
