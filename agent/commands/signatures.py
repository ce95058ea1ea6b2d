"""``shareguard signatures validate | list | bundle | verify | keygen``.

``validate`` is what a signature author or IT admin runs after editing a file:
it prints every problem as ``file:line: message`` and exits 2, or a one-line
summary and exits 0. ``list`` shows what the agent will look for. ``keygen``,
``bundle`` and ``verify`` are the IT signing workflow (docs/it-deployment.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Callable, Dict, List, Optional

from agent import i18n
from agent.signatures import bundle as sgb
from agent.signatures.model import APP_KINDS, SignatureSet
from agent.sourcefile import printable

MESSAGES = i18n.register(__name__, {
    "help": {"en": "check or list the signature files", "zh_CN": "检查或列出特征文件"},
    "validate_help": {
        "en": "check signature files (default: the built-in set); exit 2 on problems",
        "zh_CN": "检查特征文件（默认：内置特征）；有问题时退出码为 2",
    },
    "path_help": {"en": "a signature directory or one .yaml file", "zh_CN": "特征目录或单个 .yaml 文件"},
    "list_help": {"en": "list the loaded app signatures and sensitive contexts",
                  "zh_CN": "列出已加载的应用特征和敏感场景"},
    "kind_help": {
        "en": "only apps of this kind (meeting, remote_control, browser) or 'sensitive'",
        "zh_CN": "只列出此类应用（meeting、remote_control、browser）或 'sensitive'",
    },
    "json_help": {"en": "one JSON object per line", "zh_CN": "每行输出一个 JSON 对象"},
    "ok": {
        "en": "OK: {apps} apps, {contexts} sensitive contexts from {files} files (version {version})",
        "zh_CN": "正常：{apps} 个应用、{contexts} 个敏感场景，来自 {files} 个文件（版本 {version}）",
    },
    "problems": {
        "en": "{count} problem(s) in the signature files; fix them and run this command again:",
        "zh_CN": "特征文件中有 {count} 个问题；请修正后重新运行此命令：",
    },

    "keygen_done": {
        "en": "wrote private key {private} (keep it offline) and public key {public}\n"
              "public key for policy (signature_pubkey): {b64}\nkey id: {key_id}",
        "zh_CN": "已写入私钥 {private}（请离线保管）和公钥 {public}\n"
                 "策略中填写的公钥（signature_pubkey）：{b64}\n密钥 ID：{key_id}",
    },
    "keygen_exists": {
        "en": "{path} already exists; choose another name (an existing key is never overwritten)",
        "zh_CN": "{path} 已存在；请换一个文件名（不会覆盖已有密钥）",
    },
    "invalid_tree": {
        "en": "{path} has invalid signatures; fix these before signing:\n{problems}",
        "zh_CN": "{path} 中的签名有错误，签名打包前请先修正：\n{problems}",
    },
    "bundle_done": {
        "en": "wrote {out}: version {version}, {count} files, signed by key {key_id}",
        "zh_CN": "已写入 {out}：版本 {version}，{count} 个文件，签名密钥 {key_id}",
    },
    "verify_ok": {
        "en": "OK {path}: version {version}, created {created}, {count} files, signed by pinned key {key_id}",
        "zh_CN": "验证通过 {path}：版本 {version}，创建于 {created}，{count} 个文件，由固定密钥 {key_id} 签名",
    },
    "write_failed": {
        "en": "cannot write {path}: {detail}",
        "zh_CN": "无法写入 {path}：{detail}",
    },
    "verify_bad": {
        "en": "REJECTED: {reason}",
        "zh_CN": "已拒绝：{reason}",
    },
})


NAME = "signatures"
HELP = i18n.tr(MESSAGES, "help", i18n.detect_language())
DESCRIPTION = HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-commands of ``shareguard signatures``."""
    lang = i18n.detect_language()
    sub = parser.add_subparsers(dest="signatures_command", metavar="SUBCOMMAND")
    parser.set_defaults(signatures_help=parser.format_help)

    validate = sub.add_parser("validate", help=i18n.tr(MESSAGES, "validate_help", lang))
    validate.add_argument("path", nargs="?", default=None, help=i18n.tr(MESSAGES, "path_help", lang))

    listing = sub.add_parser("list", help=i18n.tr(MESSAGES, "list_help", lang))
    listing.add_argument("path", nargs="?", default=None, help=i18n.tr(MESSAGES, "path_help", lang))
    listing.add_argument("--kind", choices=APP_KINDS + ("sensitive",), help=i18n.tr(MESSAGES, "kind_help", lang))
    listing.add_argument("--json", action="store_true", help=i18n.tr(MESSAGES, "json_help", lang))

    p = sub.add_parser(
        "bundle", help="validate a signature directory and pack it into a signed .sgb bundle",
        description="Validate every *.yaml under DIR, then write a gzip tar with a manifest "
                    "(version, created time, sha256 of each file) signed with an ed25519 key.")
    p.add_argument("dir", metavar="DIR", help="signature directory (like signatures/ in the source tree)")
    p.add_argument("--key", "-k", required=True, metavar="K",
                   help="private key file from `shareguard signatures keygen`")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="bundle file to write (e.g. signatures.sgb)")
    p.add_argument("--version", dest="bundle_version", metavar="V",
                   help="version recorded in the manifest (default: the UTC creation time, YYYYMMDD.HHMMSS)")
    p.add_argument("--no-validate", action="store_true", help="skip loading DIR before signing (not recommended)")

    p = sub.add_parser(
        "verify", help="check a bundle's signature and contents against a public key",
        description="Exit 0 when BUNDLE is signed by the pinned key and every file matches its signed hash "
                    "and loads; exit 2 with the reason otherwise.")
    p.add_argument("bundle", metavar="BUNDLE")
    p.add_argument("--pubkey", "-p", required=True, metavar="P",
                   help="public key: a .pub PEM file, or the base64 value used in policy")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser(
        "keygen", help="create an ed25519 signing key pair (OUT and OUT.pub)",
        description="Write the private key to OUT (PKCS#8 PEM, mode 0600) and the public key to OUT.pub "
                    "(PEM); print the base64 public key to put in policy (signature_pubkey).")
    p.add_argument("out", metavar="OUT")


def run(args: argparse.Namespace) -> int:
    """Run one ``signatures`` sub-command; without one, print the usage and exit 2."""
    action = SUBCOMMANDS.get(args.signatures_command or "")
    if action is None:
        print(args.signatures_help(), file=sys.stderr, end="")
        return 2
    return action(args)


def _load(path: Optional[str], lang: str) -> Optional[SignatureSet]:
    """Load or print the problems (stderr); None on problems."""
    from agent.signatures.loader import SignatureError, load_signatures

    try:
        return load_signatures(path)
    except SignatureError as exc:
        print(i18n.tr(MESSAGES, "problems", lang, count=len(exc.problems)), file=sys.stderr)
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return None


def _validate(args: argparse.Namespace) -> int:
    """``shareguard signatures validate [PATH]``: 0 when clean, 2 with file:line problems."""
    lang = i18n.detect_language()
    signatures = _load(args.path, lang)
    if signatures is None:
        return 2
    print(i18n.tr(
        MESSAGES, "ok", lang, apps=len(signatures.apps), contexts=len(signatures.sensitive),
        files=len(signatures.files), version=signatures.version,
    ))
    return 0


def _list(args: argparse.Namespace) -> int:
    """``shareguard signatures list``: one line (or JSON object) per app or sensitive context."""
    lang = i18n.detect_language()
    signatures = _load(args.path, lang)
    if signatures is None:
        return 2
    rows: List[dict] = []
    if args.kind != "sensitive":
        for app in signatures.apps:
            if args.kind and app.kind != args.kind:
                continue
            rows.append({
                "id": app.id, "kind": app.kind, "name": app.display_name(lang),
                "processes": [p.name for p in app.processes],
                "signals": [{"grade": s.grade, "label": s.label} for s in app.signals],
                "origin": app.origin,
            })
    if args.kind in (None, "sensitive"):
        for ctx in signatures.sensitive:
            rows.append({
                "id": ctx.id, "kind": "sensitive", "category": ctx.category, "name": ctx.display_name(lang),
                "region": ctx.region, "origin": ctx.origin,
            })
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False, sort_keys=True))
        elif row["kind"] == "sensitive":
            print(f"{row['id']:<32} sensitive/{row['category']:<14} {row['name']}")
        else:
            grades = ",".join(sorted({s["grade"] for s in row["signals"]})) or "running"
            print(f"{row['id']:<32} {row['kind']:<24} {grades:<20} {row['name']}")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    lang = i18n.detect_language()
    for path in (args.out, args.out + ".pub"):
        if os.path.lexists(path):  # lexists: a dangling link planted there counts too
            print(i18n.tr(MESSAGES, "keygen_exists", lang, path=printable(path)), file=sys.stderr)
            return 2
    try:
        public = sgb.generate_keypair(args.out)
    except FileExistsError as exc:  # created between the check and the write
        print(i18n.tr(MESSAGES, "keygen_exists", lang, path=printable(exc.filename or args.out)), file=sys.stderr)
        return 2
    except OSError as exc:
        print(i18n.tr(MESSAGES, "write_failed", lang, path=printable(exc.filename or args.out),
                      detail=exc.strerror or str(exc)), file=sys.stderr)
        return 2
    print(i18n.tr(MESSAGES, "keygen_done", lang, private=args.out, public=args.out + ".pub",
                  b64=sgb.public_key_base64(public), key_id=sgb.key_id(public)))
    return 0


def _bundle(args: argparse.Namespace) -> int:
    lang = i18n.detect_language()
    try:
        key = sgb.load_private_key(args.key)
        if not args.no_validate:
            from agent.signatures.loader import SignatureError, load_signatures
            try:
                load_signatures(args.dir)
            except SignatureError as exc:
                print(i18n.tr(MESSAGES, "invalid_tree", lang, path=printable(args.dir), problems=str(exc)),
                      file=sys.stderr)
                return 2
        manifest = sgb.build_bundle(args.dir, key, args.output, version=args.bundle_version)
    except sgb.BundleError as exc:
        print(printable(exc.message(lang)), file=sys.stderr)
        return 2
    except OSError as exc:
        print(i18n.tr(MESSAGES, "write_failed", lang, path=printable(exc.filename or args.output),
                      detail=exc.strerror or str(exc)), file=sys.stderr)
        return 2
    print(i18n.tr(MESSAGES, "bundle_done", lang, out=args.output, version=manifest.version,
                  count=len(manifest.files), key_id=manifest.key_id))
    return 0


def _verify(args: argparse.Namespace) -> int:
    lang = i18n.detect_language()
    result = {"bundle": args.bundle, "ok": False}
    try:
        verified = sgb.verify_bundle(args.bundle, args.pubkey)
        # A signed bundle must also load: check the content the way the agent will.
        from agent.signatures.loader import SignatureError, load_signatures
        try:
            tmp = sgb.extract_to_private_dir(verified)
        except OSError as exc:
            raise _ContentError(f"cannot extract {args.bundle}: {exc.strerror or exc}") from None
        try:
            load_signatures(tmp)
        except SignatureError as exc:
            raise _ContentError(str(exc).replace(tmp + os.sep, args.bundle + "!")) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except sgb.BundleError as exc:
        result.update(code=exc.code, reason=printable(str(exc)))
        reason = printable(exc.message(lang))
    except _ContentError as exc:
        result.update(code="invalid_content", reason=printable(str(exc)))
        reason = printable(str(exc))
    else:
        m = verified.manifest
        result.update(bundle=printable(args.bundle), ok=True, version=m.version, created=m.created, key_id=m.key_id,
                      files=sorted(verified.files))
        if args.json:
            print(json.dumps(result, ensure_ascii=False, indent=1))
        else:
            print(i18n.tr(MESSAGES, "verify_ok", lang, path=printable(args.bundle), version=m.version,
                          created=m.created,
                          count=len(verified.files), key_id=m.key_id))
        return 0
    result["bundle"] = printable(args.bundle)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(i18n.tr(MESSAGES, "verify_bad", lang, reason=reason), file=sys.stderr)
    return 2


class _ContentError(Exception):
    """A correctly signed bundle whose YAML does not load."""


#: Sub-command name -> what it runs.
SUBCOMMANDS: Dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _validate, "list": _list, "bundle": _bundle, "verify": _verify, "keygen": _keygen,
}
