"""Signed signature bundles: one file IT can copy to every machine.

Format (``*.sgb``, format version 1) -- a gzip-compressed tar holding exactly:

``manifest.json``
    UTF-8 JSON: ``{"format": "shareguard-signature-bundle", "format_version": 1,
    "version": "...", "created": "2026-11-21T06:50:00Z", "key_id": "<16 hex>",
    "files": {"meetings.yaml": {"sha256": "<hex>", "size": 1234}, ...}}``.
``manifest.sig``
    The ed25519 signature of the exact bytes of ``manifest.json``, base64.
``files/<relative path>``
    The signature YAML tree (``files/finance/cn.yaml`` ...).

The signature covers the manifest only; the manifest pins the sha256 and size
of every file, so one signature check plus one hash per file proves the whole
tree, and a file that is not listed is an error (nothing unsigned gets in).

Keys: ``shareguard signatures keygen OUT`` writes ``OUT`` (private key, PKCS#8
PEM, mode 0600) and ``OUT.pub`` (public key, SubjectPublicKeyInfo PEM).
:func:`load_public_key` also accepts the raw 32-byte public key in base64,
the form that fits in a policy value (registry, .mobileconfig, YAML).

Reading is defensive because the bundle comes from a share IT controls but
an attacker may reach: only regular files, no absolute paths, no ``..``, no
links or devices, bounded member count and sizes, and the content is held in
memory and written by us into a private directory (never ``tar.extractall``).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Union

from agent import i18n
from agent.sourcefile import brief

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "shareguard-signature-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FILES_PREFIX = "files/"

#: Limits that keep a hostile bundle from exhausting memory or disk.
MAX_BUNDLE_BYTES = 16 * 1024 * 1024        # the compressed file
MAX_TOTAL_BYTES = 64 * 1024 * 1024         # all members, uncompressed
MAX_FILE_BYTES = 8 * 1024 * 1024           # one member
MAX_MEMBERS = 4000

#: Open flag that refuses to follow a symbolic link (not on Windows, where O_EXCL suffices).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

#: A relative path we are willing to write: plain names joined by "/".
_SAFE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")

MESSAGES = i18n.register(__name__, {
    "missing": {
        "en": "bundle {path} does not exist or cannot be read: {detail}",
        "zh_CN": "签名包 {path} 不存在或无法读取：{detail}",
    },
    "too_large": {
        "en": "bundle {path} is larger than the limit ({limit} bytes); split or trim it",
        "zh_CN": "签名包 {path} 超过大小上限（{limit} 字节），请精简",
    },
    "corrupt": {
        "en": "bundle {path} is not a complete .sgb archive (truncated or damaged: {detail}); copy it again",
        "zh_CN": "签名包 {path} 不是完整的 .sgb 文件（被截断或损坏：{detail}），请重新复制",
    },
    "unsafe_member": {
        "en": "bundle {path} contains an unsafe entry {member!r}: {detail}; "
              "rebuild it with `shareguard signatures bundle`",
        "zh_CN": "签名包 {path} 含有不安全的条目 {member!r}：{detail}；请用 `shareguard signatures bundle` 重新打包",
    },
    "no_manifest": {
        "en": "bundle {path} has no {name}; rebuild it with `shareguard signatures bundle`",
        "zh_CN": "签名包 {path} 缺少 {name}；请用 `shareguard signatures bundle` 重新打包",
    },
    "bad_signature": {
        "en": "bundle {path} is not signed by the pinned key (bundle key {bundle_key}, pinned key {pinned_key}); "
              "sign it with the key whose public half is in the policy",
        "zh_CN": "签名包 {path} 的签名与策略中固定的公钥不符（签名包密钥 {bundle_key}，固定密钥 {pinned_key}）；"
                 "请用与策略公钥配对的私钥签名",
    },
    "bad_manifest": {
        "en": "bundle {path}: manifest is invalid: {detail}",
        "zh_CN": "签名包 {path}：清单无效：{detail}",
    },
    "hash_mismatch": {
        "en": "bundle {path}: file {member} does not match the signed manifest (changed after signing)",
        "zh_CN": "签名包 {path}：文件 {member} 与已签名清单不符（签名后被修改）",
    },
    "unlisted_file": {
        "en": "bundle {path}: file {member} is not listed in the signed manifest",
        "zh_CN": "签名包 {path}：文件 {member} 未列入已签名清单",
    },
    "missing_file": {
        "en": "bundle {path}: file {member} is listed in the manifest but absent",
        "zh_CN": "签名包 {path}：清单列出的文件 {member} 不存在",
    },
    "bad_key": {
        "en": "key {source} is not a usable ed25519 {which} key: {detail}",
        "zh_CN": "密钥 {source} 不是可用的 ed25519 {which}密钥：{detail}",
    },
    "empty_dir": {
        "en": "{path} holds no *.yaml signature files",
        "zh_CN": "{path} 中没有 *.yaml 签名文件",
    },
    "crypto_unavailable": {
        "en": "signature bundles cannot be checked: the cryptography package does not load ({detail}); "
              "reinstall ShareGuard, or remove the bundle setting to use the built-in signatures",
        "zh_CN": "无法校验签名包：cryptography 组件无法加载（{detail}）；"
                 "请重新安装 ShareGuard，或删除签名包设置以使用内置特征库",
    },
})


class BundleError(Exception):
    """A bundle or key that must not be trusted; ``code`` is stable, ``str()`` is English."""

    def __init__(self, code: str, **values: object):
        self.code = code
        self.values = values
        super().__init__(i18n.tr(MESSAGES, code, "en", **values))

    def message(self, lang: str = "en") -> str:
        """The reason in ``lang`` (zh_CN or en)."""
        return i18n.tr(MESSAGES, self.code, lang, **self.values)


@dataclass(frozen=True)
class Manifest:
    """The signed description of a bundle."""

    version: str
    created: str
    key_id: str
    files: Mapping[str, Mapping[str, object]]


@dataclass
class VerifiedBundle:
    """A bundle whose signature and every file hash checked out."""

    path: str
    manifest: Manifest
    files: Dict[str, bytes] = field(default_factory=dict)

    def extract(self, target_dir: str) -> str:
        """Write the files under ``target_dir`` (which must exist and be private); return it."""
        for rel, data in sorted(self.files.items()):
            dest = os.path.join(target_dir, *rel.split("/"))
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
            # O_EXCL: never follow or overwrite something already there.
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        return target_dir


# --------------------------------------------------------------------------- keys


def _crypto() -> SimpleNamespace:
    """The ed25519 pieces of ``cryptography``, imported only when a bundle or key is handled.

    The guard must start without it (issue 12 bug 3: cryptography 42+ does not
    load under Wine 8, a broken install can miss its DLL): with no bundle
    configured nothing here runs, and with one the failure is a clear BundleError.
    """
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    except Exception as exc:  # ImportError, or OSError from a native library that does not load
        raise BundleError("crypto_unavailable", detail=f"{type(exc).__name__}: {exc}") from None
    return SimpleNamespace(InvalidSignature=InvalidSignature, serialization=serialization,
                           Ed25519PrivateKey=Ed25519PrivateKey, Ed25519PublicKey=Ed25519PublicKey)


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint (16 hex of sha256 of the raw key) shown in messages and the manifest."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    serialization = _crypto().serialization
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_base64(public_key: Ed25519PublicKey) -> str:
    """The raw public key in base64 (44 characters): the form policy values carry."""
    return base64.b64encode(_raw_public(public_key)).decode("ascii")


def generate_keypair(out_path: str) -> Ed25519PublicKey:
    """Write a new private key to ``out_path`` (0600) and its public key to ``out_path + '.pub'``."""
    crypto = _crypto()
    serialization = crypto.serialization
    private = crypto.Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key()
    public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # O_EXCL (with O_NOFOLLOW where it exists): never write through a link planted
    # at either name, and never overwrite a key; FileExistsError tells the caller.
    for path, data, mode in ((out_path, pem, 0o600), (out_path + ".pub", public_pem, 0o644)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return public


def load_private_key(path: str) -> Ed25519PrivateKey:
    """Read a PKCS#8 PEM ed25519 private key (as written by :func:`generate_keypair`)."""
    crypto = _crypto()
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        key = crypto.serialization.load_pem_private_key(data, password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise BundleError("bad_key", source=path, which="private", detail=str(exc) or type(exc).__name__) from None
    if not isinstance(key, crypto.Ed25519PrivateKey):
        raise BundleError("bad_key", source=path, which="private", detail=f"{type(key).__name__}, not ed25519")
    return key


def load_public_key(value: Union[str, bytes, Ed25519PublicKey]) -> Ed25519PublicKey:
    """A pinned public key from a key object, PEM text, the raw 32 bytes in base64 or hex, or a file holding one."""
    crypto = _crypto()
    if isinstance(value, crypto.Ed25519PublicKey):
        return value
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    source = "(inline)"
    stripped = text.strip()
    if stripped and "BEGIN" not in stripped and not _looks_base64_key(stripped):
        source = stripped
        try:
            with open(stripped, "r", encoding="utf-8") as fh:
                stripped = fh.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise BundleError("bad_key", source=source, which="public", detail=str(exc)) from None
    try:
        if "BEGIN" in stripped:
            key = crypto.serialization.load_pem_public_key(stripped.encode("ascii"))
            if not isinstance(key, crypto.Ed25519PublicKey):
                raise ValueError(f"{type(key).__name__}, not ed25519")
            return key
        if re.fullmatch(r"[0-9a-fA-F]{64}", stripped):
            raw = bytes.fromhex(stripped)        # policy accepts hex too (agent.policy.keys)
        else:
            raw = base64.b64decode(stripped, validate=True)
        if len(raw) != 32:
            raise ValueError(f"raw key must be 32 bytes, got {len(raw)}")
        return crypto.Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BundleError("bad_key", source=source, which="public", detail=str(exc)) from None


def _looks_base64_key(text: str) -> bool:
    """A raw key written inline (base64 or hex) rather than a file name."""
    return re.fullmatch(r"[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64}", text) is not None


# --------------------------------------------------------------------------- writing


def _yaml_tree(directory: str) -> List[str]:
    """Relative ``/`` paths of the files the loader would read under ``directory``, sorted."""
    from agent.signatures.loader import signature_files  # the loader decides what a signature file is
    if not os.path.isdir(directory):
        return []
    return [os.path.relpath(f, directory).replace(os.sep, "/") for f in signature_files(directory)]


def _utc_now() -> str:
    # SOURCE_DATE_EPOCH makes a bundle byte-for-byte reproducible in a build pipeline.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def build_bundle(directory: str, private_key: Ed25519PrivateKey, out_path: str, version: Optional[str] = None,
                 created: Optional[str] = None) -> Manifest:
    """Pack every ``*.yaml`` under ``directory`` into a signed bundle at ``out_path``.

    The caller validates the tree first (the CLI runs the loader); this only
    packs and signs. The archive is deterministic for equal inputs.
    """
    names = _yaml_tree(directory)
    if not names:
        raise BundleError("empty_dir", path=directory)
    contents: Dict[str, bytes] = {}
    for rel in names:
        _check_member_name(out_path, FILES_PREFIX + rel)
        with open(os.path.join(directory, *rel.split("/")), "rb") as fh:
            contents[rel] = fh.read()
    created = created or _utc_now()
    manifest = Manifest(
        version=version or created.replace("-", "").replace(":", "").rstrip("Z").replace("T", "."),
        created=created,
        key_id=key_id(private_key.public_key()),
        files={rel: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for rel, data in contents.items()},
    )
    manifest_bytes = (json.dumps({
        "format": FORMAT, "format_version": FORMAT_VERSION, "version": manifest.version,
        "created": manifest.created, "key_id": manifest.key_id, "files": manifest.files,
    }, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    signature = base64.b64encode(private_key.sign(manifest_bytes)) + b"\n"
    members = [(MANIFEST, manifest_bytes), (SIGNATURE, signature)]
    members += [(FILES_PREFIX + rel, data) for rel, data in contents.items()]
    # A fresh temporary name (mkstemp: O_EXCL, random) beside the output, so a link
    # planted at a predictable "OUT.tmp" is never written through.
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out_path)), prefix=".sgb-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        os.chmod(tmp, 0o644)
        # Rename into place so an agent polling the path never sees half a bundle; a
        # rename replaces a link at OUT itself, it never writes to where the link points.
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return manifest


# --------------------------------------------------------------------------- reading


def _check_member_name(path: str, name: str) -> str:
    """Return the relative path under files/ (or the manifest names); raise on anything unsafe."""
    if name in (MANIFEST, SIGNATURE):
        return name
    detail = None
    if "\\" in name or "\0" in name:
        detail = "backslash or NUL in the name"
    elif name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        detail = "absolute path"
    elif ".." in name.split("/"):
        detail = "'..' in the path"
    elif not name.startswith(FILES_PREFIX):
        detail = "outside files/"
    else:
        parts = name[len(FILES_PREFIX):].split("/")
        if not all(_SAFE_PART.match(p) for p in parts):
            detail = "empty, hidden or unusual path component"
        elif not name.endswith(".yaml"):
            detail = "not a .yaml file"
    if detail:
        raise BundleError("unsafe_member", path=path, member=name, detail=detail)
    return name[len(FILES_PREFIX):]


# --------------------------------------------------------------------------- bounded archive reading
#
# Nothing of a bundle is interpreted before its signature is checked except this
# framing, and it is bounded: the gzip stream is inflated in pieces up to
# MAX_ARCHIVE_BYTES, every tar header is 512 bytes with a checksum, a PAX header
# may hold at most MAX_PAX_BYTES, and only regular files, folders and PAX headers
# are accepted (tarfile would read a PAX header of any size into memory).

#: Inflated archive size: every member plus its headers and padding.
MAX_ARCHIVE_BYTES = MAX_TOTAL_BYTES + (MAX_MEMBERS + 2) * 2048
#: One PAX extended header (ours only ever carry a long path).
MAX_PAX_BYTES = 64 * 1024
_BLOCK = 512


class _Gunzip:
    """Inflates a gzip blob in pieces, never producing more than ``limit`` bytes."""

    def __init__(self, path: str, blob: bytes, limit: int) -> None:
        self.path, self.limit = path, limit
        self._z = zlib.decompressobj(wbits=31)   # gzip framing
        self._pending = blob
        self._buf = bytearray()
        self.produced = 0

    def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or fewer where the stream ends."""
        while len(self._buf) < n and not self._z.eof and self._pending:
            chunk = self._z.decompress(self._pending, 1 << 16)
            self._pending = self._z.unconsumed_tail
            self.produced += len(chunk)
            if self.produced > self.limit:
                raise BundleError("too_large", path=self.path, limit=self.limit)
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def _octal(path: str, field: bytes) -> int:
    text = field.split(b"\0", 1)[0].strip(b" \0")
    if not text:
        return 0
    if not re.fullmatch(rb"[0-7]{1,12}", text):
        raise BundleError("corrupt", path=path, detail="a tar header number is not octal")
    return int(text, 8)


def _pax_records(path: str, data: bytes) -> Dict[str, str]:
    """``key=value`` records of a PAX header (each ``"<len> key=value\\n"``)."""
    out: Dict[str, str] = {}
    pos = 0
    while pos < len(data):
        match = re.match(rb"([0-9]{1,6}) ", data[pos:pos + 8])
        if not match or int(match.group(1)) <= len(match.group(0)):
            raise BundleError("corrupt", path=path, detail="a PAX header record is malformed")
        record = data[pos:pos + int(match.group(1))]
        pos += int(match.group(1))
        key, sep, value = record[len(match.group(0)):].rstrip(b"\n").partition(b"=")
        if not sep:
            raise BundleError("corrupt", path=path, detail="a PAX header record is malformed")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
    return out


def _read_members(path: str) -> Dict[str, bytes]:
    """Every member's bytes, after bounded framing checks (nothing else is interpreted)."""
    try:
        with open(path, "rb") as fh:
            blob = fh.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise BundleError("missing", path=path, detail=exc.strerror or str(exc)) from None
    if len(blob) > MAX_BUNDLE_BYTES:
        raise BundleError("too_large", path=path, limit=MAX_BUNDLE_BYTES)
    stream = _Gunzip(path, blob, MAX_ARCHIVE_BYTES)
    members: Dict[str, bytes] = {}
    total = count = 0
    pax: Dict[str, str] = {}
    try:
        while True:
            header = stream.read(_BLOCK)
            if len(header) < _BLOCK:
                raise BundleError("corrupt", path=path, detail="the archive is cut short")
            if header == bytes(_BLOCK):
                break   # end of archive
            count += 1
            if count > MAX_MEMBERS:
                raise BundleError("too_large", path=path, limit=f"{MAX_MEMBERS} entries")
            stored = _octal(path, header[148:156])
            if stored != sum(header[:148]) + 8 * 32 + sum(header[156:]):
                raise BundleError("corrupt", path=path, detail="a tar header checksum is wrong")
            kind = header[156:157]
            size = _octal(path, header[124:136])
            name_bytes = header[:100].split(b"\0", 1)[0]
            if header[257:262] == b"ustar" and header[345:500].strip(b"\0"):
                name_bytes = header[345:500].split(b"\0", 1)[0] + b"/" + name_bytes
            name = name_bytes.decode("utf-8", "surrogateescape")
            if kind in (b"x", b"g"):
                if size > MAX_PAX_BYTES:
                    raise BundleError("too_large", path=path, limit=f"{MAX_PAX_BYTES} bytes of PAX header")
                records = _pax_records(path, _take(stream, path, size))
                if kind == b"x":
                    pax = records
                continue
            name = pax.get("path", name)
            if "size" in pax:
                if not re.fullmatch(r"[0-9]{1,12}", pax["size"]):
                    raise BundleError("corrupt", path=path, detail="a PAX size is not a number")
                size = int(pax["size"])
            pax = {}
            if kind == b"5":
                _check_member_name(path, name.rstrip("/") + "/dir.yaml")
                _take(stream, path, size)
                continue
            if kind not in (b"0", b"\0", b"7"):
                what = "link" if kind in (b"1", b"2") else "special file"
                raise BundleError("unsafe_member", path=path, member=name, detail=f"{what}, not a regular file")
            if name in members:
                raise BundleError("unsafe_member", path=path, member=name, detail="appears twice")
            if size > MAX_FILE_BYTES or total + size > MAX_TOTAL_BYTES:
                raise BundleError("too_large", path=path, limit=MAX_TOTAL_BYTES)
            members[name] = _take(stream, path, size)
            total += size
    except zlib.error as exc:
        raise BundleError("corrupt", path=path, detail=f"not gzip data ({exc})") from None
    return members


def _take(stream: _Gunzip, path: str, size: int) -> bytes:
    """A member's ``size`` bytes and its padding to the next 512-byte block."""
    data = stream.read(size)
    padding = -size % _BLOCK
    if len(data) != size or len(stream.read(padding)) != padding:
        raise BundleError("corrupt", path=path, detail="a member is cut short")
    return data


#: A signed manifest larger than this is refused (ours are a few kilobytes).
MAX_MANIFEST_BYTES = 1024 * 1024


def _parse_manifest(path: str, data: bytes) -> Manifest:
    def bad(detail: str) -> BundleError:
        return BundleError("bad_manifest", path=path, detail=detail)

    if len(data) > MAX_MANIFEST_BYTES:
        raise bad(f"larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"not JSON ({brief(str(exc))[1:-1]})") from None
    except RecursionError:
        raise bad("nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f"'format' must be {FORMAT!r}")
    if doc.get("format_version") != FORMAT_VERSION:
        raise bad(f"format_version {brief(doc.get('format_version'))} is not supported "
                  f"(this agent reads {FORMAT_VERSION})")
    files = doc.get("files")
    if not isinstance(files, dict) or not files:
        raise bad("'files' must be a non-empty mapping")
    for rel, entry in files.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) \
                or not isinstance(entry.get("size"), int):
            raise bad(f"entry {brief(rel)} needs 'sha256' (hex) and 'size' (integer)")
    for key in ("version", "created"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            raise bad(f"'{key}' must be a non-empty string")
    return Manifest(version=doc["version"][:64], created=doc["created"][:64], key_id=str(doc.get("key_id", ""))[:32],
                    files=files)


def _check_tree(path: str, names: Iterable[str]) -> None:
    """Refuse a member that is also a folder of another (``a.yaml`` and ``a.yaml/b.yaml``)."""
    files = set(names)
    for name in sorted(files):
        parts = name.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in files:
                raise BundleError("unsafe_member", path=path, member=name,
                                  detail=f"{folder} is both a file and a folder")


def verify_bundle(path: str, public_key: Union[str, bytes, Ed25519PublicKey]) -> VerifiedBundle:
    """Check a bundle against the pinned key; return its files or raise :class:`BundleError`.

    Order matters: only the bounded framing (gzip, tar headers) is read
    before the signature over the manifest bytes is checked; then the
    member names, the manifest's shape and every file against its signed
    hash. Anything unexpected is a BundleError, never another exception.
    """
    pinned = load_public_key(public_key)
    members = _read_members(path)
    for name in (MANIFEST, SIGNATURE):
        if name not in members:
            raise BundleError("no_manifest", path=path, name=name)
    manifest_bytes = members.pop(MANIFEST)
    try:
        signature = base64.b64decode(members.pop(SIGNATURE).strip(), validate=True)
        pinned.verify(signature, manifest_bytes)
    except (_crypto().InvalidSignature, binascii.Error, ValueError):
        bundle_key = _claimed_key_id(manifest_bytes)
        raise BundleError("bad_signature", path=path, bundle_key=bundle_key, pinned_key=key_id(pinned)) from None
    for name in members:
        _check_member_name(path, name)
    _check_tree(path, members)
    manifest = _parse_manifest(path, manifest_bytes)
    files: Dict[str, bytes] = {}
    for name, data in members.items():
        rel = name[len(FILES_PREFIX):]
        entry = manifest.files.get(rel)
        if entry is None:
            raise BundleError("unlisted_file", path=path, member=rel)
        if entry["size"] != len(data) or entry["sha256"] != hashlib.sha256(data).hexdigest():
            raise BundleError("hash_mismatch", path=path, member=rel)
        files[rel] = data
    for rel in manifest.files:
        if rel not in files:
            raise BundleError("missing_file", path=path, member=brief(rel)[1:-1])
    return VerifiedBundle(path=path, manifest=manifest, files=files)


_KEY_ID = re.compile(rb'"key_id"\s*:\s*"([0-9A-Za-z]{1,32})"')


def _claimed_key_id(manifest_bytes: bytes) -> str:
    """The key id the (untrusted, unverified) manifest claims, for the error message only.

    Found by a bounded pattern search, never by parsing: nothing unverified is parsed.
    """
    match = _KEY_ID.search(manifest_bytes[:4096])
    return match.group(1).decode("ascii") if match else "unknown"


def extract_to_private_dir(bundle: VerifiedBundle, prefix: str = "shareguard-sig-") -> str:
    """Extract a verified bundle into a new 0700 temporary directory; the caller removes it."""
    target = tempfile.mkdtemp(prefix=prefix)
    try:
        return bundle.extract(target)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        raise
