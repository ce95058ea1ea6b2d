"""``shareguard browser install|uninstall|status|build|pack``: the browser companion's registration.

Registers the native-messaging host (``shareguard native-host``) with Chrome, Chromium,
Edge and Firefox, per user or machine-wide (agent.companion.install), shows what is
registered and which browsers report to the running agent, and writes or packs the
extension (agent.companion.extension). docs/it-deployment.md, docs/privacy.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, TextIO

from agent import i18n

MESSAGES = i18n.register(__name__, {
    "installed": {"en": "Browser companion host registered ({scope}):", "zh_CN": "浏览器助手主机已注册（{scope}）："},
    "uninstalled": {"en": "Browser companion host removed ({scope}):", "zh_CN": "浏览器助手主机已移除（{scope}）："},
    "nothing": {"en": "  nothing to remove", "zh_CN": "  没有需要移除的内容"},
    "next_step": {"en": "Now load the extension: docs/it-deployment.md (policy), or `shareguard browser build DIR` "
                        "and load DIR/chromium unpacked (chrome://extensions, developer mode).",
                  "zh_CN": "接下来加载扩展：参见 docs/it-deployment.md（策略部署），"
                           "或运行 `shareguard browser build 目录`，"
                           "在 chrome://extensions（开发者模式）中加载 目录/chromium。"},
    "needs_admin": {"en": "shareguard browser: --system writes machine folders: run it as root/administrator "
                          "({error})",
                    "zh_CN": "shareguard browser：--system 会写入系统目录，请以 root/管理员身份运行（{error}）"},
    "status_header": {"en": "Native-messaging host registration:", "zh_CN": "原生消息主机注册情况："},
    "state_yes": {"en": "registered", "zh_CN": "已注册"},
    "state_no": {"en": "not registered", "zh_CN": "未注册"},
    "state_bad": {"en": "BROKEN: {problem}", "zh_CN": "有问题：{problem}"},
    "agent_none": {"en": "Agent: not running for this user (browser facts cannot be received).",
                   "zh_CN": "代理：未为当前用户运行（无法接收浏览器信息）。"},
    "agent_browsers": {"en": "Agent: running; browsers reporting: {browsers}",
                       "zh_CN": "代理：正在运行；正在报告的浏览器：{browsers}"},
    "agent_no_browsers": {"en": "Agent: running; no browser reports (extension not loaded, or browser closed): "
                                "window titles are used.",
                          "zh_CN": "代理：正在运行；没有浏览器在报告（扩展未加载或浏览器已关闭），改用窗口标题判断。"},
    "built": {"en": "Extension written: {path}", "zh_CN": "扩展已写入：{path}"},
    "packed": {"en": "Packed {path}: extension id {id}", "zh_CN": "已打包 {path}：扩展 ID {id}"},
})


NAME = "browser"
HELP = "register the browser companion with Chrome, Chromium, Edge, Firefox"
DESCRIPTION = ("Register (or remove) the browser companion's native-messaging host for Chrome, Chromium, Edge "
               "and Firefox, per user or for the whole machine, and show what is registered. "
               "See docs/it-deployment.md and docs/privacy.md.")


def _t(key: str, lang: Optional[str] = None, **kw: Any) -> str:
    return i18n.tr(MESSAGES, key, lang or i18n.detect_language(), **kw)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-commands: install, uninstall, status, build, pack."""
    sub = parser.add_subparsers(dest="browser_command", metavar="ACTION", required=True)
    for name, helptext in (("install", "register the host (and load the extension where the browser allows it)"),
                           ("uninstall", "remove the host registration"),
                           ("status", "show registrations and which browsers report to the agent")):
        s = sub.add_parser(name, help=helptext, description=helptext)
        scope = s.add_mutually_exclusive_group()
        scope.add_argument("--user", dest="scope", action="store_const", const="user",
                           help="this user only (default for install/uninstall)")
        scope.add_argument("--system", dest="scope", action="store_const", const="system",
                           help="every user of this machine (root/administrator)")
        if name != "status":
            s.add_argument("--browser", action="append", choices=("chrome", "chromium", "edge", "firefox"),
                           help="only this browser (repeatable; default: all four)")
        if name == "install":
            s.add_argument("--extension-id", action="append", default=[], metavar="ID",
                           help="also allow this Chromium extension id (your own packed or store build)")
            s.add_argument("--no-extension", action="store_true",
                           help="register the host only; do not load the extension")
        if name == "status":
            s.add_argument("--json", action="store_true", help="machine-readable output")
    s = sub.add_parser("pack", help="pack the Chromium extension into a signed .crx (for ExtensionInstallForcelist)",
                       description="Pack the Chromium-family extension into OUT (.crx, CRX3) signed with KEY "
                                   "(an RSA key in PEM; created if missing) and print its extension id. "
                                   "See docs/it-deployment.md.")
    s.add_argument("out")
    s.add_argument("--key", required=True, metavar="KEY.pem")
    s = sub.add_parser("build", help="write the extension for Chromium-family browsers and Firefox into DIR",
                       description="Write DIR/chromium (load unpacked), DIR/firefox and DIR/shareguard-companion.xpi.")
    s.add_argument("dir")


def _winreg() -> Any:
    if sys.platform != "win32":
        return None
    import winreg

    return winreg


def run(args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """Entry point of ``shareguard browser ...``."""
    from agent.companion import extension, install

    out = out or sys.stdout
    action = args.browser_command
    if action == "build":
        for target in extension.TARGETS:
            print(_t("built", path=extension.build_tree(target, os.path.join(args.dir, target))), file=out)
        print(_t("built", path=extension.build_xpi(os.path.join(args.dir, "shareguard-companion.xpi"))), file=out)
        return 0
    if action == "pack":
        print(_t("packed", path=args.out, id=extension.build_crx(args.out, args.key)), file=out)
        return 0
    if action == "status":
        return _status(args, out)
    scope = args.scope or "user"
    layout = install.default_layout(scope)
    browsers = args.browser or install.BROWSERS
    try:
        if action == "install":
            lines = install.install(layout, browsers, args.extension_id, winreg=_winreg(),
                                    load_extension=not args.no_extension)
        else:
            lines = install.uninstall(layout, browsers, winreg=_winreg())
    except PermissionError as exc:
        print(_t("needs_admin", error=exc), file=sys.stderr)
        return 2
    print(_t("installed" if action == "install" else "uninstalled", scope=scope), file=out)
    for line in lines:
        print("  " + line, file=out)
    if action == "uninstall" and not lines:
        print(_t("nothing"), file=out)
    if action == "install":
        print(_t("next_step"), file=out)
    return 0


def _status(args: argparse.Namespace, out: TextIO) -> int:
    from agent.companion import install
    from agent.companion.receiver import ask_agent

    scopes: List[str] = [args.scope] if args.scope else list(install.SCOPES)
    rows: List[Dict[str, Any]] = []
    for scope in scopes:
        rows += install.status(install.default_layout(scope), winreg=_winreg())
    agent = ask_agent()
    browsers = agent.get("browsers", []) if agent else None
    if args.json:
        print(json.dumps({"registrations": rows, "agent_running": agent is not None, "browsers": browsers},
                         ensure_ascii=False, indent=2), file=out)
        return 0
    print(_t("status_header"), file=out)
    for row in rows:
        state = _t("state_yes") if row["registered"] else (_t("state_bad", problem=row["problem"]) if row["problem"]
                                                           else _t("state_no"))
        print(f"  {row['browser']:9} {row['scope']:7} {state}  {row['manifest']}", file=out)
    print(describe_agent(agent), file=out)
    return 0


def describe_agent(agent, lang: Optional[str] = None) -> str:
    """One line: is the agent running, and which browsers report to it."""
    if agent is None:
        return _t("agent_none", lang)
    reporting = [b for b in agent.get("browsers", []) if b.get("reporting")]
    if not reporting:
        return _t("agent_no_browsers", lang)
    return _t("agent_browsers", lang, browsers=", ".join(f"{b['browser']} (pid {b['pid']}, {b['windows']} windows)"
                                                  for b in reporting))
