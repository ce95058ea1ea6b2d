"""Where policy, state and logs live on each OS, and who may write them.

Machine policy is admin-owned: a machine file that a non-admin could write
is not policy at all (anyone could trust their own remote tool with it), so
:func:`insecure_reason` is checked before a machine file is read.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import List, Mapping, Optional

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


def machine_policy_file(platform: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> str:
    """The admin-owned policy YAML file of this OS."""
    platform = platform or current_platform()
    env = os.environ if environ is None else environ
    if platform == "windows":
        base = env.get("ProgramData") or env.get("PROGRAMDATA") or r"C:\ProgramData"
        return base.rstrip("\\") + "\\ShareGuard\\policy.yaml"
    if platform == "darwin":
        return "/Library/Application Support/ShareGuard/policy.yaml"
    return "/etc/shareguard/policy.yaml"


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
    writable by group or others (a sticky world-writable directory such as
    /tmp is fine: others cannot replace a root-owned file in it).
    Windows: see :mod:`agent.policy._windows_acl`.
    """
    platform = platform or current_platform()
    if platform == "windows":
        from agent.policy import _windows_acl
        return _windows_acl.insecure_reason(path)
    try:
        st = os.stat(path)
    except OSError as e:
        return f"cannot stat: {e.strerror}"
    reason = _posix_reason(path, st, is_dir=False)
    if reason:
        return reason
    parent = os.path.dirname(os.path.abspath(path))
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
    if st.st_mode & stat.S_IWGRP and st.st_gid != 0 and not sticky:
        return f"{path} is writable by group {st.st_gid} (mode {stat.S_IMODE(st.st_mode):o})"
    return None
