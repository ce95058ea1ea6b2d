"""Windows CapabilityAccessManager ConsentStore: which apps use a capability now.

Windows records, per user (HKCU) and per machine (HKLM), when each app last
started and stopped using a privacy-gated capability::

    SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\CapabilityAccessManager\\
      ConsentStore\\<capability>\\<PackageFamilyName>                 (packaged app)
      ConsentStore\\<capability>\\NonPackaged\\C:#Program Files#x#x.exe  (desktop app)

each with REG_QWORD ``LastUsedTimeStart`` / ``LastUsedTimeStop`` FILETIMEs.
A stop time of 0 while a start time is set means "in use now".

Why this is only *evidence* (docs/platforms.md, ConsentStore): the keys are proven for
webcam and microphone; for the screen-capture capabilities
(``graphicsCaptureProgrammatic``, ``graphicsCaptureWithoutBorder``) only
apps using Windows.Graphics.Capture are recorded, and DXGI/GDI capture (what
most meeting and remote tools use) never touches them. So the collector
reports screen-capture entries as ``capture`` facts with ``confidence="low"``.
Webcam/microphone entries are never capture facts (a camera in use is not a
screen being shown); they are reported as ``devices`` tied to the running
app, which lets a meeting app with no share-only signal (Tencent Meeting,
DingTalk) be graded ``in_session`` while it holds the microphone.

The parsing here is pure (FILETIMEs, ``#``-paths, package names) and the
registry is reached through a tiny reader interface, so tests feed recorded
values through the same code the agent runs on Windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Protocol, Tuple

CONSENT_STORE = r"SOFTWARE\Microsoft\Windows\CurrentVersion\CapabilityAccessManager\ConsentStore"

#: Capabilities that are about the screen. Only these become capture facts.
SCREEN_CAPABILITIES = ("graphicsCaptureProgrammatic", "graphicsCaptureWithoutBorder")

#: Never reported as screen capture: they say a camera or microphone is on (a
#: call), not that the screen is being sent. They become ``devices``.
NON_SCREEN_CAPABILITIES = ("webcam", "microphone")

#: HKCU first: per-user entries are where desktop apps of the logged-in user land.
HIVES = ("HKCU", "HKLM")

_NON_PACKAGED = "NonPackaged"

#: 100-ns intervals between 1601-01-01 (FILETIME epoch) and 1970-01-01.
_FILETIME_UNIX_OFFSET = 116444736000000000


class RegistryReader(Protocol):
    """The two registry reads the ConsentStore parser needs.

    Both return empty results for a missing key; a key that exists but cannot
    be read raises ``OSError`` (the caller records it as unavailable).
    """

    def subkeys(self, hive: str, path: str) -> List[str]:
        ...

    def values(self, hive: str, path: str) -> Dict[str, object]:
        ...


@dataclass(frozen=True)
class ConsentUse:
    """One app's use of one capability, merged over HKCU and HKLM.

    ``app`` is a decoded executable path (``C:\\...\\app.exe``) for desktop
    apps or the package family name for packaged apps; ``display`` is the
    short name a person recognises (``app.exe`` / ``Microsoft.ScreenSketch``).
    """

    capability: str
    app: str
    display: str
    packaged: bool
    start: Optional[float]  # epoch seconds, None when never started
    stop: Optional[float]  # epoch seconds, None when 0 (not stopped)
    in_use: bool
    hives: Tuple[str, ...] = ()


def filetime_to_epoch(value: object) -> Optional[float]:
    """Convert a FILETIME (100-ns ticks since 1601) to epoch seconds.

    0, missing or malformed values return None: ConsentStore writes 0 for
    "not stopped yet", which callers read as "in use now".
    """
    if isinstance(value, bytes):
        # A REG_BINARY copy of the QWORD (seen in exported .reg files).
        if len(value) != 8:
            return None
        value = int.from_bytes(value, "little")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    return (value - _FILETIME_UNIX_OFFSET) / 1e7


def epoch_to_filetime(seconds: float) -> int:
    """The inverse of :func:`filetime_to_epoch` (for fixtures and tests)."""
    return int(round(seconds * 1e7)) + _FILETIME_UNIX_OFFSET


def decode_nonpackaged_path(key_name: str) -> str:
    """Turn a NonPackaged subkey name into the executable path.

    Registry key names cannot contain ``\\``, so Windows writes the path with
    ``#`` instead: ``C:#Program Files#Zoom#bin#Zoom.exe``. ``#`` is legal in
    Windows file names but rare; a literal ``#`` in a path cannot be told
    apart, which only affects the shown path, not the in-use decision.
    """
    return key_name.replace("#", "\\")


def exe_basename(path: str) -> str:
    """The file name of a Windows path (``C:\\a\\Zoom.exe`` -> ``Zoom.exe``)."""
    return path.replace("/", "\\").rsplit("\\", 1)[-1]


def package_display_name(family_name: str) -> str:
    """``Microsoft.ScreenSketch_8wekyb3d8bbwe`` -> ``Microsoft.ScreenSketch``.

    A package family name is ``<name>_<publisher hash>``; the publisher hash
    is 13 base-32 characters and never contains ``_``.
    """
    name, sep, publisher = family_name.rpartition("_")
    if sep and name and len(publisher) == 13:
        return name
    return family_name


def is_in_use(start: Optional[float], stop: Optional[float]) -> bool:
    """In use when it started and has not stopped since.

    A stop of 0 (None here) after a start is the documented "in use" marker;
    a stop older than the start means the same thing (the start was written,
    the stop not yet).
    """
    if start is None:
        return False
    return stop is None or stop < start


def _entry(capability: str, app: str, display: str, packaged: bool, values: Mapping[str, object],
           hive: str) -> Optional[ConsentUse]:
    start = filetime_to_epoch(values.get("LastUsedTimeStart"))
    stop = filetime_to_epoch(values.get("LastUsedTimeStop"))
    if start is None and stop is None:
        # Only a consent decision ("Value" = Allow/Deny), never used.
        return None
    return ConsentUse(capability, app, display, packaged, start, stop, is_in_use(start, stop), (hive,))


def _merge(a: ConsentUse, b: ConsentUse) -> ConsentUse:
    # The same app may be recorded in both hives (per-user and per-machine
    # views of one use). In use if either says so; keep the latest times.
    def latest(x: Optional[float], y: Optional[float]) -> Optional[float]:
        if x is None:
            return y
        if y is None:
            return x
        return max(x, y)

    return ConsentUse(
        a.capability, a.app, a.display, a.packaged,
        latest(a.start, b.start), latest(a.stop, b.stop) if not (a.in_use or b.in_use) else None,
        a.in_use or b.in_use, a.hives + tuple(h for h in b.hives if h not in a.hives),
    )


def read_consent_store(
    reader: RegistryReader,
    capabilities: Iterable[str] = SCREEN_CAPABILITIES,
    hives: Iterable[str] = HIVES,
) -> Tuple[List[ConsentUse], List[Tuple[str, str]]]:
    """Read every app entry of ``capabilities`` in ``hives``.

    Returns ``(uses, problems)``: uses merged per (capability, app)
    (casefolded, since Windows paths are case-insensitive), and
    ``(where, error)`` pairs for keys that exist but could not be read.
    Missing keys are normal (a capability never used) and not problems.
    """
    merged: Dict[Tuple[str, str], ConsentUse] = {}
    problems: List[Tuple[str, str]] = []

    def add(use: Optional[ConsentUse]) -> None:
        if use is None:
            return
        key = (use.capability, use.app.casefold())
        merged[key] = _merge(merged[key], use) if key in merged else use

    for hive in hives:
        for capability in capabilities:
            base = CONSENT_STORE + "\\" + capability
            try:
                children = reader.subkeys(hive, base)
            except OSError as exc:
                problems.append((f"{hive}\\{base}", str(exc)))
                continue
            for child in children:
                path = base + "\\" + child
                try:
                    if child == _NON_PACKAGED:
                        for name in reader.subkeys(hive, path):
                            exe = decode_nonpackaged_path(name)
                            add(_entry(capability, exe, exe_basename(exe), False,
                                       reader.values(hive, path + "\\" + name), hive))
                    else:
                        add(_entry(capability, child, package_display_name(child), True,
                                   reader.values(hive, path), hive))
                except OSError as exc:
                    problems.append((f"{hive}\\{path}", str(exc)))
    uses = sorted(merged.values(), key=lambda u: (u.capability, u.app.casefold()))
    return uses, problems


# Windows-only standard module; the parser above works everywhere. Typed Any:
# mypy runs on Linux, where typeshed hides winreg's contents.
_winreg: Any
try:
    import winreg
    _winreg = winreg
except ImportError:  # pragma: no cover - exercised on Windows only
    _winreg = None


class WinregReader:
    """:class:`RegistryReader` over the real registry (Windows only).

    Opens keys with ``KEY_WOW64_64KEY`` so a 32-bit Python reads the same
    64-bit view Windows writes the ConsentStore to.
    """

    def __init__(self) -> None:
        if _winreg is None:
            raise OSError("winreg is only available on Windows")
        self._hives = {"HKCU": _winreg.HKEY_CURRENT_USER, "HKLM": _winreg.HKEY_LOCAL_MACHINE}
        self._access = _winreg.KEY_READ | getattr(_winreg, "KEY_WOW64_64KEY", 0)

    def _open(self, hive: str, path: str):
        return _winreg.OpenKey(self._hives[hive], path, 0, self._access)

    def subkeys(self, hive: str, path: str) -> List[str]:
        """Names of the subkeys of ``hive\\path`` ([] when the key is missing)."""
        try:
            key = self._open(hive, path)
        except FileNotFoundError:
            return []
        names = []
        with key:
            index = 0
            while True:
                try:
                    names.append(_winreg.EnumKey(key, index))
                except OSError:  # ERROR_NO_MORE_ITEMS ends the enumeration
                    return names
                index += 1

    def values(self, hive: str, path: str) -> Dict[str, object]:
        """Values of ``hive\\path`` as {name: data} ({} when the key is missing)."""
        try:
            key = self._open(hive, path)
        except FileNotFoundError:
            return {}
        found: Dict[str, object] = {}
        with key:
            index = 0
            while True:
                try:
                    name, data, _type = _winreg.EnumValue(key, index)
                except OSError:
                    return found
                found[name] = data
                index += 1
