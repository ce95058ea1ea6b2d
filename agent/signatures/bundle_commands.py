"""``shareguard signatures bundle | verify | keygen``: the IT signing workflow.

:mod:`agent.signatures.commands` owns the ``signatures`` group and calls
:func:`add_parsers` with its sub-parsers object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from agent import i18n
from agent.signatures import bundle as sgb
from agent.sourcefile import printable

MESSAGES = i18n.register(__name__, {
    "keygen_done": {
        "en": "wrote private key {private} (keep it offline) and public key {public}\n"
              "public key for policy (signature_bundle_pubkey): {b64}\nkey id: {key_id}",
        "zh_CN": "已写入私钥 {private}（请离线保管）和公钥 {public}\n"
                 "策略中填写的公钥（signature_bundle_pubkey）：{b64}\n密钥 ID：{key_id}",
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


def add_parsers(sig_subparsers) -> None:
    """Add ``bundle``, ``verify`` and ``keygen`` under ``shareguard signatures``."""
    p = sig_subparsers.add_parser(
        "bundle", help="validate a signature directory and pack it into a signed .sgb bundle",
        description="Validate every *.yaml under DIR, then write a gzip tar with a manifest "
                    "(version, created time, sha256 of each file) signed with an ed25519 key.")
    p.add_argument("dir", metavar="DIR", help="signature directory (like signatures/ in the source tree)")
    p.add_argument("--key", "-k", required=True, metavar="K", help="private key file from `shareguard signatures keygen`")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="bundle file to write (e.g. signatures.sgb)")
    p.add_argument("--version", dest="bundle_version", metavar="V",
                   help="version recorded in the manifest (default: the UTC creation time, YYYYMMDD.HHMMSS)")
    p.add_argument("--no-validate", action="store_true", help="skip loading DIR before signing (not recommended)")
    p.set_defaults(func=cmd_bundle)

    p = sig_subparsers.add_parser(
        "verify", help="check a bundle's signature and contents against a public key",
        description="Exit 0 when BUNDLE is signed by the pinned key and every file matches its signed hash "
                    "and loads; exit 2 with the reason otherwise.")
    p.add_argument("bundle", metavar="BUNDLE")
    p.add_argument("--pubkey", "-p", required=True, metavar="P",
                   help="public key: a .pub PEM file, or the base64 value used in policy")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_verify)

    p = sig_subparsers.add_parser(
        "keygen", help="create an ed25519 signing key pair (OUT and OUT.pub)",
        description="Write the private key to OUT (PKCS#8 PEM, mode 0600) and the public key to OUT.pub "
                    "(PEM); print the base64 public key to put in policy.")
    p.add_argument("out", metavar="OUT")
    p.set_defaults(func=cmd_keygen)


def _lang() -> str:
    return i18n.detect_language()


def cmd_keygen(args: argparse.Namespace) -> int:
    lang = _lang()
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


def cmd_bundle(args: argparse.Namespace) -> int:
    lang = _lang()
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


def cmd_verify(args: argparse.Namespace) -> int:
    lang = _lang()
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
