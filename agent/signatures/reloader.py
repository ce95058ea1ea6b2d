"""Hot reload of signatures from a signed bundle named by policy.

The runtime owns one :class:`SignatureSource` and calls :meth:`check` from
its loop (every few seconds is fine: an unchanged bundle costs one ``stat``).
When the file changes, the bundle is verified against the pinned key,
extracted into a private temporary directory, loaded, and swapped in. Any
failure keeps the last good set -- a broken or forged bundle must never
leave the guard without signatures -- and is reported once per bundle
state through ``on_event``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from typing import Callable, NamedTuple, Optional, Tuple

from agent.signatures.bundle import BundleError, extract_to_private_dir, load_public_key, verify_bundle
from agent.signatures.model import SignatureSet

#: on_event(type, **fields): the audit log's ``emit`` fits. Fields follow agent/audit/events.py:
#: ``signatures_loaded(source, version, count)``, ``signatures_rejected(source, problems)``.
EventSink = Callable[..., None]

log = logging.getLogger(__name__)


class Rejection(NamedTuple):
    """Why the last bundle was refused: a stable ``code`` and an English ``reason``."""

    code: str
    reason: str

_StatKey = Optional[Tuple[int, int, int, int]]


def _default_loader(path: Optional[str]) -> SignatureSet:
    # Imported late so this module stays importable while the loader is edited.
    from agent.signatures.loader import load_signatures
    return load_signatures(path)


class SignatureSource:
    """The signatures in force: a verified policy bundle, else the built-in set.

    ``policy_bundle_path``: the bundle location from policy (None/"" = none).
    ``pinned_pubkey``: PEM, base64 raw key, a key file path or key object; a
    bundle is never loaded without one. ``builtin_dir``: the shipped
    signatures (None = the loader's default). ``on_event(type, **fields)``
    receives ``signatures_loaded`` / ``signatures_rejected``.
    """

    def __init__(self, policy_bundle_path: Optional[str], pinned_pubkey, builtin_dir: Optional[str] = None,
                 on_event: Optional[EventSink] = None,
                 loader: Callable[[Optional[str]], SignatureSet] = _default_loader):
        self._loader = loader
        self._on_event = on_event if on_event is not None else (lambda _type, **_fields: None)
        #: The most recent refusal (None after a successful load): for status displays and tests.
        self.last_rejection: Optional[Rejection] = None
        self._builtin = self._load_builtin(builtin_dir)
        self._current = self._builtin
        self._path = policy_bundle_path or None
        self._pubkey = pinned_pubkey
        self._seen: _StatKey = None
        self._last_created = ""
        self._reported_missing = False
        self.check()

    # ------------------------------------------------------------------ public

    def current(self) -> SignatureSet:
        """The set to evaluate with now (a plain attribute read: safe from any thread)."""
        return self._current

    @property
    def bundle_path(self) -> Optional[str]:
        return self._path

    def reconfigure(self, policy_bundle_path: Optional[str], pinned_pubkey) -> bool:
        """Policy changed: point at a new location/key and check at once; returns like :meth:`check`."""
        if (policy_bundle_path or None) != self._path or pinned_pubkey != self._pubkey:
            self._path = policy_bundle_path or None
            self._pubkey = pinned_pubkey
            self._seen = None
            self._reported_missing = False
            if self._path is None and self._current is not self._builtin:
                # Policy no longer names a bundle: fall back to what shipped.
                self._current = self._builtin
                self._emit("signatures_loaded", source="builtin", version=self._builtin.version,
                           count=_count(self._builtin))
                return True
        return self.check()

    def check(self) -> bool:
        """Reload if the bundle file changed; True when a new set is now current."""
        if not self._path:
            return False
        key = self._stat()
        if key is None:
            if not self._reported_missing:
                self._reported_missing = True
                self._seen = None
                self._reject("missing", f"bundle {self._path} does not exist or cannot be read; keeping "
                             f"signatures {self._current.version}")
            return False
        self._reported_missing = False
        if key == self._seen:
            return False
        self._seen = key
        return self._load_bundle()

    # ------------------------------------------------------------------ internals

    def _load_builtin(self, builtin_dir: Optional[str]) -> SignatureSet:
        try:
            return self._loader(builtin_dir)
        except Exception as exc:  # a packaging bug must not stop the guard; say so loudly
            self.last_rejection = Rejection("invalid_content", f"built-in signatures failed to load: {exc}")
            self._emit("signatures_rejected", source=builtin_dir or "builtin", problems=[self.last_rejection.reason])
            return SignatureSet()

    def _stat(self) -> _StatKey:
        if self._path is None:
            return None
        try:
            st = os.stat(self._path)
        except (OSError, ValueError):  # ValueError: a NUL in the policy's path
            return None
        # ctime too: `cp -p` can keep mtime and size, but nobody can set ctime back.
        return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)

    def _emit(self, kind: str, **fields) -> None:
        # A failing event sink must never undo or block a signature decision.
        try:
            self._on_event(kind, **fields)
        except Exception:
            log.exception("could not report %s", kind)

    def _reject(self, code: str, reason: str) -> None:
        self.last_rejection = Rejection(code, reason)
        kept = f"kept signatures version {self._current.version}"
        self._emit("signatures_rejected", source=self._path, problems=[f"{code}: {reason}", kept])

    def _load_bundle(self) -> bool:
        if self._path is None:
            return False  # no bundle named by policy
        if not self._pubkey:
            self._reject("no_key", f"policy names bundle {self._path} but no pinned public key; an unsigned "
                         "bundle is never loaded")
            return False
        try:
            bundle = verify_bundle(self._path, load_public_key(self._pubkey))
        except BundleError as exc:
            self._reject(exc.code, str(exc))
            return False
        except Exception as exc:  # whatever a hostile file provokes, the guard keeps its last good set
            log.exception("bundle %s could not be checked", self._path)
            self._reject("corrupt", f"bundle {self._path} could not be checked ({type(exc).__name__}); "
                         "copy it again")
            return False
        manifest = bundle.manifest
        if self._last_created and manifest.created < self._last_created:
            # A signed but older bundle put back in place: refuse the rollback.
            self._reject("rollback", f"bundle {self._path} version {manifest.version} was created "
                         f"{manifest.created}, before the loaded one ({self._last_created}); re-sign it to roll back")
            return False
        try:
            tmp = extract_to_private_dir(bundle)
        except OSError as exc:
            self._reject("extract_failed", f"cannot extract bundle {self._path}: {exc.strerror or exc}")
            return False
        try:
            loaded = self._loader(tmp)
        except Exception as exc:  # SignatureError, or anything a loader bug raises
            problems = getattr(exc, "problems", None)
            detail = "; ".join(_relabel(str(p), tmp, self._path) for p in problems[:5]) if problems else repr(exc)
            self._reject("invalid_content", f"bundle {self._path} is signed but its signatures are invalid: {detail}")
            return False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._current = dataclasses.replace(loaded, version=manifest.version)
        self._last_created = manifest.created
        self.last_rejection = None
        log.info("signatures bundle %s loaded: version %s created %s key %s", self._path, manifest.version,
                 manifest.created, manifest.key_id)
        self._emit("signatures_loaded", source=self._path, version=manifest.version, count=_count(self._current))
        return True


def _count(signatures: SignatureSet) -> int:
    return len(signatures.apps) + len(signatures.sensitive)


def _relabel(text: str, tmp: str, bundle_path: str) -> str:
    """Show 'bundle.sgb!finance/cn.yaml:3' instead of a temporary path."""
    return text.replace(tmp + os.sep, bundle_path + "!").replace(tmp, bundle_path)
