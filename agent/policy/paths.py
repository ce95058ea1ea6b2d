"""Where policy, state and logs live on each OS, and who may write them.

Machine policy is admin-owned: a machine file that a non-admin could write
is not policy at all (anyone could trust their own remote tool with it), so
:func:`insecure_reason` is checked before a machine file is read.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import Any, List, Optional

APP = "ShareGuard"
#: macOS preference domain of the MDM configuration profile.
MACOS_DOMAIN = "com.shareguard.agent"
#: Windows registry policy key (Group Policy writes here).
REGISTRY_KEY = r"SOFTWARE\Policies\ShareGuard"


def current_platform() -> str:
    """``windows`` | ``darwin`` | ``linux`` (other POSIX systems count as linux)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "darwin"
    return "linux"


def machine_policy_file(platform: Optional[str] = None, program_data: Optional[str] = None) -> str:
    """The admin-owned policy YAML file of this OS.

    On Windows the folder is the ProgramData known folder as the system
    reports it (:func:`windows_program_data`), never ``%ProgramData%``: any
    user can set that variable for the programs they start.
    """
    platform = platform or current_platform()
    if platform == "windows":
        base = program_data or windows_program_data()
        return base.rstrip("\\") + "\\ShareGuard\\policy.yaml"
    if platform == "darwin":
        return "/Library/Application Support/ShareGuard/policy.yaml"
    return "/etc/shareguard/policy.yaml"


#: Where ProgramData is when neither the shell nor the registry answers.
DEFAULT_PROGRAM_DATA = r"C:\ProgramData"
#: FOLDERID_ProgramData {62AB5D82-FDC1-4DC3-A9DD-070D1D495D97}, as GUID fields.
_FOLDERID_PROGRAM_DATA = (0x62AB5D82, 0xFDC1, 0x4DC3, (0xA9, 0xDD, 0x07, 0x0D, 0x1D, 0x49, 0x5D, 0x97))
_PROFILE_LIST = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList"


def windows_program_data(shell32: Any = None, winreg: Any = None) -> str:
    """The ProgramData folder from SHGetKnownFolderPath, else the registry, else C:\\ProgramData.

    Both sources are machine-wide and admin-owned; the environment is not
    consulted. ``shell32``/``winreg`` are injected by tests.
    """
    path = _known_folder(shell32)
    if not path:
        path = _registry_program_data(winreg)
    return path or DEFAULT_PROGRAM_DATA


def _known_folder(shell32: Any = None) -> Optional[str]:
    try:
        import ctypes
        from ctypes import wintypes

        class GUID(ctypes.Structure):
            _fields_ = [("Data1", wintypes.DWORD), ("Data2", wintypes.WORD), ("Data3", wintypes.WORD),
                        ("Data4", ctypes.c_ubyte * 8)]

        if shell32 is None:
            shell32 = ctypes.WinDLL("shell32")  # type: ignore[attr-defined]
        d1, d2, d3, d4 = _FOLDERID_PROGRAM_DATA
        guid = GUID(d1, d2, d3, (ctypes.c_ubyte * 8)(*d4))
        out = ctypes.c_wchar_p()
        if shell32.SHGetKnownFolderPath(ctypes.byref(guid), 0, None, ctypes.byref(out)) != 0:
            return None
        try:
            return out.value
        finally:
            ctypes.windll.ole32.CoTaskMemFree(out)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, OSError, TypeError):
        return None


def _registry_program_data(winreg: Any = None) -> Optional[str]:
    try:
        if winreg is None:
            import winreg
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, _PROFILE_LIST) as key:
            value, _kind = winreg.QueryValueEx(key, "ProgramData")
    except (ImportError, OSError):
        return None
    # REG_EXPAND_SZ "%SystemDrive%\ProgramData": the system drive, again not from the environment.
    return str(value).replace("%SystemDrive%", _system_drive()) if value else None


def _system_drive() -> str:
    try:
        import ctypes
        buf = ctypes.create_unicode_buffer(260)
        if ctypes.windll.kernel32.GetWindowsDirectoryW(buf, 260):  # type: ignore[attr-defined]
            return buf.value[:2]
    except (ImportError, AttributeError, OSError):
        pass
    return "C:"


def real_user_name() -> Optional[str]:
    """The name of the account this process runs as (POSIX), not ``$USER``, which anyone can set."""
    try:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return None


def macos_managed_plists(user: Optional[str] = None) -> List[str]:
    """Managed-preference plists an MDM profile installs, most specific first."""
    base = "/Library/Managed Preferences"
    out = []
    if user:
        out.append(f"{base}/{user}/{MACOS_DOMAIN}.plist")
    out.append(f"{base}/{MACOS_DOMAIN}.plist")
    return out


def user_settings_file() -> str:
    """The user's own settings file (platformdirs config dir)."""
    import platformdirs
    return os.path.join(platformdirs.user_config_dir(APP, appauthor=False), "settings.yaml")


def state_dir() -> str:
    """Per-user state: device id, heartbeat, known executables."""
    import platformdirs
    return platformdirs.user_state_dir(APP, appauthor=False)


def default_log_dir() -> str:
    """Per-user log dir: event log and HTTP spool when policy log_dir is empty."""
    import platformdirs
    return platformdirs.user_log_dir(APP, appauthor=False)


def insecure_reason(path: str, platform: Optional[str] = None) -> Optional[str]:
    """Why a non-admin could change ``path`` (or None if only admins can).

    POSIX: the file and every parent directory must be owned by root and not
    writable by group (whatever the group, as docs/policy.md says) or others
    (a sticky world-writable directory such as /tmp is fine: others cannot
    replace a root-owned file in it). For a symbolic link both chains are
    checked: the link's own folders and every folder of the file it leads
    to, or whoever owns the target's folder could delete or swap it.
    Windows: see :mod:`agent.policy._windows_acl`.
    """
    platform = platform or current_platform()
    if platform == "windows":
        from agent.policy import _windows_acl
        return _windows_acl.insecure_reason(path)
    reason = _chain_reason(os.path.abspath(path))
    if reason:
        return reason
    target = os.path.realpath(path)
    return _chain_reason(target) if target != os.path.abspath(path) else None


def _chain_reason(path: str) -> Optional[str]:
    """Why a non-root user could change ``path`` or one of its parent folders (None if nobody can)."""
    try:
        st = os.stat(path)
    except OSError as e:
        return f"cannot stat {path}: {e.strerror}"
    reason = _posix_reason(path, st, is_dir=False)
    if reason:
        return reason
    parent = os.path.dirname(path)
    while True:
        try:
            dst = os.stat(parent)
        except OSError as e:
            return f"cannot stat {parent}: {e.strerror}"
        reason = _posix_reason(parent, dst, is_dir=True)
        if reason:
            return reason
        up = os.path.dirname(parent)
        if up == parent:
            return None
        parent = up


def _posix_reason(path: str, st: os.stat_result, is_dir: bool) -> Optional[str]:
    if st.st_uid != 0:
        return f"{path} is owned by uid {st.st_uid}, not root"
    sticky = is_dir and bool(st.st_mode & stat.S_ISVTX)
    if st.st_mode & stat.S_IWOTH and not sticky:
        return f"{path} is writable by everyone (mode {stat.S_IMODE(st.st_mode):o})"
    if st.st_mode & stat.S_IWGRP and not sticky:
        # Group root too: membership of a group is not being root (docs/policy.md).
        return f"{path} is writable by group {st.st_gid} (mode {stat.S_IMODE(st.st_mode):o})"
    return None
