"""The companion extension's files: ready-to-load trees, a Firefox .xpi, a signed .crx
(``shareguard browser pack``, for IT's ExtensionInstallForcelist).

browser/extension holds the code and the Chromium manifest; browser/firefox
holds the Firefox manifest for the same code. Installed wheels carry both
folders as ``agent/_bundled_browser`` (pyproject.toml).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import zipfile
from typing import Dict, Optional

CODE_FILES = ("background.js", "capture-main.js", "capture-relay.js")
TARGETS = ("chromium", "firefox")


def source_dir() -> str:
    """browser/ in a source tree, or the copy bundled into the wheel."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(os.path.dirname(here), "browser"), os.path.join(here, "_bundled_browser")):
        if os.path.isfile(os.path.join(candidate, "extension", "manifest.json")):
            return candidate
    raise FileNotFoundError("the companion extension's files (browser/) are not installed with ShareGuard")


def manifest(target: str) -> Dict:
    """The manifest for ``chromium`` (also Chrome, Edge) or ``firefox``."""
    sub = "extension" if target == "chromium" else "firefox"
    with open(os.path.join(source_dir(), sub, "manifest.json"), encoding="utf-8") as fh:
        return json.load(fh)


def version() -> str:
    return manifest("chromium")["version"]


def build_tree(target: str, out_dir: str) -> str:
    """Write a loadable extension folder for ``target``; returns its path."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: one of {', '.join(TARGETS)}")
    os.makedirs(out_dir, exist_ok=True)
    for name in CODE_FILES:
        shutil.copyfile(os.path.join(source_dir(), "extension", name), os.path.join(out_dir, name))
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest(target), fh, indent=2, ensure_ascii=False)
    return out_dir


def _zip(target: str, drop_key: bool = False) -> bytes:
    buf = io.BytesIO()
    data = manifest(target)
    if drop_key:
        data.pop("key", None)  # a packed extension's id comes from the signing key
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False))
        for name in CODE_FILES:
            zf.write(os.path.join(source_dir(), "extension", name), name)
    return buf.getvalue()


def build_xpi(path: str) -> str:
    """The Firefox add-on as an (unsigned) .xpi; Firefox ESR loads it with signatures off."""
    with open(path, "wb") as fh:
        fh.write(_zip("firefox"))
    return path


def extension_id(public_der: bytes) -> str:
    """Chromium's extension id of a public key: sha256, first 16 bytes, hex digits as a..p."""
    digest = hashlib.sha256(public_der).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A protobuf length-delimited field (wire type 2)."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def load_or_create_key(path: str):
    """The RSA key a machine signs its .crx with (created 0600 on first use)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if os.path.exists(path):
        with open(path, "rb") as fh:
            return serialization.load_pem_private_key(fh.read(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def build_crx(path: str, key_path: str) -> str:
    """A CRX3 package of the Chromium extension signed with ``key_path``; returns the id.

    CRX3 layout: "Cr24", version 3, header length, a CrxFileHeader protobuf
    (sha256_with_rsa proof = public key + signature; signed_header_data =
    SignedData{crx_id}), then the zip. The signature covers
    "CRX3 SignedData\\x00" + len(signed data) + signed data + zip.
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = load_or_create_key(key_path)
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    crx_id = hashlib.sha256(public).digest()[:16]
    signed_data = _field(1, crx_id)
    archive = _zip("chromium", drop_key=True)
    message = b"CRX3 SignedData\x00" + struct.pack("<I", len(signed_data)) + signed_data + archive
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    proof = _field(1, public) + _field(2, signature)
    header = _field(2, proof) + _field(10000, signed_data)
    with open(path, "wb") as fh:
        fh.write(b"Cr24" + struct.pack("<II", 3, len(header)) + header + archive)
    return extension_id(public)


def crx_id(path: str) -> Optional[str]:
    """The id a .crx was signed for (None if it is not a CRX3 file)."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"Cr24":
            return None
        _, size = struct.unpack("<II", head[4:])
        header = fh.read(size)
    # signed_header_data (field 10000) holds SignedData{crx_id (field 1, 16 bytes)}.
    marker = _varint((10000 << 3) | 2) + _varint(18) + _varint((1 << 3) | 2) + _varint(16)
    at = header.find(marker)
    if at < 0:
        return None
    raw = header[at + len(marker):at + len(marker) + 16]
    return "".join(chr(ord("a") + int(c, 16)) for c in raw.hex())
