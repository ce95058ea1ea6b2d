"""Can a non-admin write a file on Windows? (owner and DACL check)

%ProgramData% lets ordinary users create files in new subfolders (CREATOR
OWNER gets full control), so a policy.yaml there is only policy if its
owner and every write-granting ACE belong to administrators, SYSTEM or
TrustedInstaller. The decision is a pure function of (owner, ACEs) so it is
tested everywhere; only :func:`read_security` touches Windows.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Iterable, List, Optional, Tuple

#: SIDs allowed to own or write machine policy.
ADMIN_SIDS = {
    "S-1-5-18",       # LocalSystem
    "S-1-5-32-544",   # BUILTIN\Administrators
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",  # TrustedInstaller
}

ACCESS_ALLOWED_ACE_TYPE = 0
INHERIT_ONLY_ACE = 0x08
# Rights that let the holder change the file's content or its ACL.
WRITE_RIGHTS = (0x0002 | 0x0004 | 0x00010000 | 0x00040000 | 0x00080000  # data, append, DELETE, WRITE_DAC, WRITE_OWNER
                | 0x40000000 | 0x10000000)                              # GENERIC_WRITE, GENERIC_ALL

Ace = Tuple[int, int, int, str]   # (type, flags, mask, sid)


def decide(owner: Optional[str], aces: Optional[Iterable[Ace]]) -> Optional[str]:
    """The reason a non-admin could write, or None. ``aces=None`` is a NULL DACL."""
    if owner not in ADMIN_SIDS:
        return f"owned by {owner or 'nobody'}, not by Administrators/SYSTEM"
    if aces is None:
        return "has no access control list (everyone may write)"
    for ace_type, flags, mask, sid in aces:
        if ace_type != ACCESS_ALLOWED_ACE_TYPE or flags & INHERIT_ONLY_ACE:
            continue
        if mask & WRITE_RIGHTS and sid not in ADMIN_SIDS:
            return f"{sid} may write it (access mask 0x{mask:08x})"
    return None


def insecure_reason(path: str) -> Optional[str]:
    """Owner/DACL check of ``path`` (Windows only)."""
    try:
        owner, aces = read_security(path)
    except OSError as e:
        return f"cannot read its security descriptor: {e}"
    return decide(owner, aces)


def read_security(path: str) -> Tuple[Optional[str], Optional[List[Ace]]]:
    """Read the owner SID string and the DACL entries of ``path``."""
    if sys.platform != "win32":  # also tells mypy (run on Linux) the rest is Windows code
        raise OSError("security descriptors are read on Windows only")
    from ctypes import wintypes
    advapi = ctypes.WinDLL("advapi32", use_last_error=True)
    kernel = ctypes.WinDLL("kernel32", use_last_error=True)
    SE_FILE_OBJECT = 1
    OWNER_SECURITY_INFORMATION, DACL_SECURITY_INFORMATION = 0x1, 0x4
    owner = ctypes.c_void_p()
    dacl = ctypes.c_void_p()
    sd = ctypes.c_void_p()
    advapi.GetNamedSecurityInfoW.argtypes = [
        wintypes.LPCWSTR, ctypes.c_int, wintypes.DWORD, ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
    advapi.GetNamedSecurityInfoW.restype = wintypes.DWORD
    rc = advapi.GetNamedSecurityInfoW(path, SE_FILE_OBJECT,
                                      OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                      ctypes.byref(owner), None, ctypes.byref(dacl), None, ctypes.byref(sd))
    if rc != 0:
        raise OSError(rc, ctypes.FormatError(rc))
    try:
        owner_sid = _sid_string(advapi, kernel, owner)
        if not dacl.value:
            return owner_sid, None

        class ACL_SIZE_INFORMATION(ctypes.Structure):
            _fields_ = [("AceCount", wintypes.DWORD), ("AclBytesInUse", wintypes.DWORD),
                        ("AclBytesFree", wintypes.DWORD)]

        class ACE_HEADER(ctypes.Structure):
            _fields_ = [("AceType", ctypes.c_ubyte), ("AceFlags", ctypes.c_ubyte),
                        ("AceSize", wintypes.WORD)]

        class ACCESS_ALLOWED_ACE(ctypes.Structure):
            _fields_ = [("Header", ACE_HEADER), ("Mask", wintypes.DWORD), ("SidStart", wintypes.DWORD)]

        info = ACL_SIZE_INFORMATION()
        AclSizeInformation = 2
        if not advapi.GetAclInformation(dacl, ctypes.byref(info), ctypes.sizeof(info), AclSizeInformation):
            raise ctypes.WinError(ctypes.get_last_error())
        aces: List[Ace] = []
        for i in range(info.AceCount):
            p = ctypes.c_void_p()
            if not advapi.GetAce(dacl, i, ctypes.byref(p)):
                raise ctypes.WinError(ctypes.get_last_error())
            ace = ctypes.cast(p, ctypes.POINTER(ACCESS_ALLOWED_ACE)).contents
            sid_ptr = ctypes.c_void_p(p.value + ACCESS_ALLOWED_ACE.SidStart.offset)
            sid = _sid_string(advapi, kernel, sid_ptr) if ace.Header.AceType == 0 else ""
            aces.append((ace.Header.AceType, ace.Header.AceFlags, ace.Mask, sid or ""))
        return owner_sid, aces
    finally:
        kernel.LocalFree(sd)


def _sid_string(advapi, kernel, sid: ctypes.c_void_p) -> Optional[str]:
    if not sid.value:
        return None
    out = ctypes.c_wchar_p()
    if not advapi.ConvertSidToStringSidW(sid, ctypes.byref(out)):
        return None
    try:
        return out.value
    finally:
        kernel.LocalFree(out)
