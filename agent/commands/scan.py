"""``shareguard scan``: one live look at the machine, judged and explained.

Collects one snapshot with this OS's collector, runs the engine on it and
prints what runs, what shares (and how sure we are), which sensitive windows
are open, the verdict, and which sources could not be read. ``--json``
prints the verdict object of docs/replay.md plus ``unavailable``;
``--dump`` writes the snapshot as a replay file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any, Dict, Optional, TextIO, Tuple

from agent import i18n
from agent.engine.policy import EnginePolicy
from agent.model import Snapshot, Verdict

EXIT_OK, EXIT_CANNOT_RUN = 0, 2

MESSAGES = i18n.register(__name__, {
    "header": {"en": "ShareGuard scan ({platform}): {processes} processes, {windows} windows, "
                     "{connections} sockets, {capture} capture facts",
               "zh_CN": "ShareGuard 扫描（{platform}）：{processes} 个进程，{windows} 个窗口，"
                        "{connections} 个连接，{capture} 条屏幕采集信息"},
    "shares": {"en": "Apps that can share the screen:", "zh_CN": "可共享屏幕的应用："},
    "no_shares": {"en": "Apps that can share the screen: none running",
                  "zh_CN": "可共享屏幕的应用：没有在运行"},
    "share_line": {"en": "  {name} ({kind}): {state}{trusted}  pids {pids}  [{evidence}]",
                   "zh_CN": "  {name}（{kind}）：{state}{trusted}  进程 {pids}  [{evidence}]"},
    "trusted": {"en": ", trusted by policy", "zh_CN": "，策略已信任"},
    "sensitive": {"en": "Sensitive windows and apps:", "zh_CN": "敏感窗口和应用："},
    "no_sensitive": {"en": "Sensitive windows and apps: none", "zh_CN": "敏感窗口和应用：无"},
    "sensitive_line": {"en": "  {name} ({category})  pids {pids}  [{evidence}]",
                       "zh_CN": "  {name}（{category}）  进程 {pids}  [{evidence}]"},
    "verdict_alert": {"en": "Verdict: ALERT, level {level}: the blocking warning would be shown now",
                      "zh_CN": "结论：警报，级别 {level}：此时会弹出阻止警告"},
    "verdict_ok": {"en": "Verdict: no alert, level {level}", "zh_CN": "结论：无警报，级别 {level}"},
    "reason": {"en": "  reason: {text}", "zh_CN": "  原因：{text}"},
    "unavailable": {"en": "Not seen (could not be read):", "zh_CN": "未能读取的来源："},
    "browsers": {"en": "Browser companion: {text}", "zh_CN": "浏览器助手：{text}"},
    "unavailable_line": {"en": "  {source}: {reason}", "zh_CN": "  {source}：{reason}"},
    "dumped": {"en": "Snapshot written to {path} (it contains window titles and page addresses)",
               "zh_CN": "快照已写入 {path}（其中包含窗口标题和网页地址）"},
    "state.running": {"en": "running", "zh_CN": "正在运行"},
    "state.in_session": {"en": "in a session", "zh_CN": "会话中"},
    "state.sharing": {"en": "SHARING the screen", "zh_CN": "正在共享屏幕"},
    "kind.meeting": {"en": "meeting", "zh_CN": "会议"},
    "kind.remote_control": {"en": "remote control", "zh_CN": "远程控制"},
    "kind.browser": {"en": "browser", "zh_CN": "浏览器"},
    "kind.os": {"en": "system capture", "zh_CN": "系统屏幕采集"},
    "category.bank": {"en": "bank", "zh_CN": "银行"},
    "category.loan": {"en": "loan", "zh_CN": "贷款"},
    "category.payment": {"en": "payment", "zh_CN": "支付"},
    "category.credit_report": {"en": "credit report", "zh_CN": "征信"},
    "category.investment": {"en": "investment", "zh_CN": "投资理财"},
    "level.none": {"en": "none", "zh_CN": "无"},
    "level.notice": {"en": "notice", "zh_CN": "提示"},
    "level.warning": {"en": "warning", "zh_CN": "警告"},
    "level.block": {"en": "block", "zh_CN": "阻止"},
    "err_collector": {"en": "shareguard scan: cannot look at this machine:\n{error}",
                      "zh_CN": "shareguard scan：无法读取本机状态：\n{error}"},
    "err_signatures": {"en": "shareguard scan: signatures are invalid:\n{error}",
                       "zh_CN": "shareguard scan：特征库文件有误：\n{error}"},
    "err_policy": {"en": "shareguard scan: policy problem: {problem}",
                   "zh_CN": "shareguard scan：策略问题：{problem}"},
    "err_dump": {"en": "shareguard scan: cannot write {path}: {error}",
                 "zh_CN": "shareguard scan：无法写入 {path}：{error}"},
})

NAME = "scan"
HELP = "judge this machine once and explain what is seen"
DESCRIPTION = """\
Look at this machine once: which meeting and remote-control apps run, whether
one is in a session or sharing the screen, which bank, loan, payment or
credit-report windows are open, and what ShareGuard would do now.

--json prints the verdict object of `shareguard replay --json` (alert, level,
shares, sensitive, reasons, actions, ...) plus "unavailable": the sources that
could not be read, each {"source", "reason"}.
--dump FILE writes the snapshot as a replay file (YAML, or JSON for *.json)
for `shareguard replay FILE`. PRIVACY: the dump holds every window title,
process command line and socket of this session (titles can show names and
account numbers); share it only with people you trust.

A scan has no memory, so it never raises first-seen notices.
Exit status: 0 after a scan, whether or not it found an alert (read "alert"
from --json); 2 when it cannot run (no collector, invalid signatures or
policy, dump not writable).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shareguard scan``."""
    parser.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    parser.add_argument("--dump", metavar="FILE",
                        help="also write the snapshot as a replay file (contains window titles)")
    parser.add_argument("--signatures", metavar="PATH", help="signature directory or file (default: built-in)")
    parser.add_argument("--policy", metavar="FILE",
                        help="use this machine policy file instead of the installed one")


def _load_policy(path: Optional[str], err: TextIO) -> Tuple[EnginePolicy, Optional[str]]:
    """(EnginePolicy, language override) of the machine's (or ``path``'s) policy."""
    from agent.policy import load_policy

    policy = load_policy(machine_path=path)
    for problem in policy.problems:
        print(i18n.tr(MESSAGES, "err_policy", i18n.detect_language(), problem=str(problem)), file=err)
    return policy.engine_policy(), policy.values.get("language")


def collect() -> Snapshot:
    """One snapshot from this OS's collector (raises CollectorUnavailable).

    Pages come from the running agent, which holds the browser companion's
    channel (docs/privacy.md): a scan alone cannot hear the browsers.
    """
    from agent.collectors import get_collector
    collector = get_collector()
    try:
        snapshot = collector.snapshot()
    finally:
        collector.close()
    return with_agent_pages(snapshot)


def with_agent_pages(snapshot: Snapshot, status: Optional[Dict[str, Any]] = None) -> Snapshot:
    """``snapshot`` plus the pages the running agent holds; the status rides in ``companion``."""
    from agent.companion.receiver import ask_agent, pages_from_json

    status = ask_agent() if status is None else status
    COMPANION_STATUS.clear()
    COMPANION_STATUS.append(status)
    if not status:
        return snapshot
    return dataclasses.replace(snapshot, pages=pages_from_json(status.get("pages", [])))


#: The running agent's companion status seen by the last :func:`collect` ([None] without an agent).
COMPANION_STATUS: list = []


def scan_json(snapshot: Snapshot, verdict: Verdict) -> Dict[str, Any]:
    """The --json object: the replay verdict plus what could not be read."""
    out = verdict.to_json()
    out["unavailable"] = [{"source": s, "reason": r} for s, r in snapshot.unavailable]
    status = COMPANION_STATUS[0] if COMPANION_STATUS else None
    out["browsers"] = {"agent_running": status is not None,
                       "reporting": [b for b in (status or {}).get("browsers", []) if b.get("reporting")]}
    return out


def render(snapshot: Snapshot, verdict: Verdict, lang: str) -> str:
    """The human summary, in ``lang``."""
    def t(key: str, **kw: object) -> str:
        return i18n.tr(MESSAGES, key, lang, **kw)

    def tr_opt(prefix: str, value: str) -> str:
        key = f"{prefix}.{value}"
        return t(key) if key in MESSAGES else value

    lines = [t("header", platform=snapshot.platform, processes=len(snapshot.processes),
               windows=len(snapshot.windows), connections=len(snapshot.connections),
               capture=len(snapshot.capture))]
    if verdict.shares:
        lines.append(t("shares"))
        for s in verdict.shares:
            lines.append(t("share_line", name=s.name or s.app, kind=tr_opt("kind", s.kind),
                           state=tr_opt("state", s.state), trusted=t("trusted") if s.trusted else "",
                           pids=", ".join(map(str, s.pids)) or "-", evidence=", ".join(s.evidence)))
    else:
        lines.append(t("no_shares"))
    if verdict.sensitive:
        lines.append(t("sensitive"))
        for found in verdict.sensitive:
            name = found.name_en if lang == "en" and found.name_en else found.name
            lines.append(t("sensitive_line", name=name, category=tr_opt("category", found.category),
                           pids=", ".join(map(str, found.pids)) or "-", evidence=found.evidence))
    else:
        lines.append(t("no_sensitive"))
    level = tr_opt("level", verdict.level)
    lines.append(t("verdict_alert", level=level) if verdict.alert else t("verdict_ok", level=level))
    lines.extend(t("reason", text=r) for r in verdict.reasons)
    from agent.commands.browser import describe_agent

    lines.append(t("browsers", text=describe_agent(COMPANION_STATUS[0] if COMPANION_STATUS else None, lang)))
    if snapshot.unavailable:
        lines.append(t("unavailable"))
        lines.extend(t("unavailable_line", source=s, reason=r) for s, r in snapshot.unavailable)
    return "\n".join(lines)


def run(args: argparse.Namespace, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """Entry point of ``shareguard scan``."""
    out = out or sys.stdout  # looked up now, so redirected streams are honoured
    err = err or sys.stderr
    from agent.collectors import CollectorUnavailable
    from agent.engine import Engine
    from agent.signatures.loader import SignatureError, load_signatures

    engine_policy, lang_override = _load_policy(args.policy, err)
    lang = i18n.detect_language(lang_override)
    try:
        signatures = load_signatures(args.signatures)
    except SignatureError as exc:
        print(i18n.tr(MESSAGES, "err_signatures", lang, error=exc), file=err)
        return EXIT_CANNOT_RUN
    try:
        snapshot = collect()
    except CollectorUnavailable as exc:
        print(i18n.tr(MESSAGES, "err_collector", lang, error=exc), file=err)
        return EXIT_CANNOT_RUN
    # One look has no history: every app would be "first seen", which says
    # nothing, so everything running counts as known.
    engine_policy = dataclasses.replace(engine_policy, first_seen_notice=False)
    known = {p.exe.casefold() for p in snapshot.processes if p.exe}
    known.update(p.name.casefold() for p in snapshot.processes if p.name)
    verdict = Engine(signatures, engine_policy, known_executables=known).evaluate(snapshot)
    if args.dump:
        from agent.snapshot_io import dump_snapshot
        try:
            dump_snapshot(snapshot, args.dump)
        except OSError as exc:
            print(i18n.tr(MESSAGES, "err_dump", lang, path=args.dump, error=exc.strerror or exc), file=err)
            return EXIT_CANNOT_RUN
    if args.json:
        print(json.dumps(scan_json(snapshot, verdict), ensure_ascii=False), file=out)
    else:
        print(render(snapshot, verdict, lang), file=out)
        if args.dump:
            print(i18n.tr(MESSAGES, "dumped", lang, path=args.dump), file=out)
    return EXIT_OK
