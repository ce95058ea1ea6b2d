"""Find and load signature files into the frozen objects of :mod:`agent.signatures.model`.

This module is the discovery half: which files make a signature set (every
``*.yaml`` under a directory, hidden entries skipped), the set's version
digest, and the public API. The schema of one file lives in
:mod:`agent.signatures.schema` (docs/signatures.md). Every problem of every
file is collected before :class:`SignatureError` is raised, so one run of
``shareguard signatures validate`` shows everything that needs fixing.

The running guard loads through agent.signatures.reloader.SignatureSource,
which keeps the last good set when a file or bundle is broken.
"""

from __future__ import annotations

import hashlib
import os
from typing import List, Optional, Sequence, Tuple

from agent.signatures.model import SignatureSet, TitleRules
from agent.signatures.schema import SchemaReader
from agent.sourcefile import MAX_FILE_BYTES, Problem, SourceError


class SignatureError(SourceError):
    """Raised by :func:`load_signatures` with every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__(problems)


def builtin_signature_dir() -> str:
    """The signatures shipped with the agent.

    An installed wheel carries them as ``agent/_bundled_signatures``; a source
    checkout reads ``<repo>/signatures`` directly.
    """
    agent_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bundled = os.path.join(agent_dir, "_bundled_signatures")
    if os.path.isdir(bundled):
        return bundled
    return os.path.join(os.path.dirname(agent_dir), "signatures")


def signature_files(path: str) -> List[str]:
    """Every ``*.yaml`` under ``path`` (recursively, sorted; hidden entries skipped), or ``[path]``."""
    if not os.path.isdir(path):
        return [path]
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.endswith(".yaml") and not name.startswith("."):
                found.append(os.path.join(root, name))
    return sorted(found, key=lambda p: os.path.relpath(p, path).replace(os.sep, "/"))


def load_signatures(path: Optional[str] = None) -> SignatureSet:
    """Load a signature directory (recursively) or one file; raise :class:`SignatureError` on any problem."""
    signatures, problems = _load(path)
    if problems or signatures is None:  # no set comes without a problem that says why
        raise SignatureError(problems)
    return signatures


# --------------------------------------------------------------------------- files


def _load(path: Optional[str]) -> Tuple[Optional[SignatureSet], List[Problem]]:
    root = builtin_signature_dir() if path is None else str(path)
    if not os.path.exists(root):
        return None, [Problem(root, 0, "no such file or directory")]
    files = signature_files(root)
    if not files:
        return None, [Problem(root, 0, "no *.yaml signature files found")]
    builder = SchemaReader()
    digest = hashlib.sha256()
    for file in files:
        try:
            with open(file, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            builder.problems.append(Problem(file, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        if len(data) > MAX_FILE_BYTES:
            builder.problems.append(Problem(file, 0, f"larger than {MAX_FILE_BYTES} bytes; split the file"))
            continue
        rel = os.path.relpath(file, root).replace(os.sep, "/") if os.path.isdir(root) else os.path.basename(file)
        # fsencode: a file name that is not UTF-8 still hashes (and is reported, printable).
        digest.update(os.fsencode(rel) + b"\0" + hashlib.sha256(data).digest())
        builder.load_file(file, data)
    builder.finish()
    if builder.problems:
        return None, builder.problems
    signatures = SignatureSet(
        apps=tuple(builder.apps),
        sensitive=tuple(builder.contexts),
        title_rules=builder.title_rules or TitleRules(),
        version=digest.hexdigest()[:12],
        files=tuple(files),
    )
    return signatures, []


