"""The companion channel on Windows: a named pipe only this user can open.

Written with ctypes against kernel32/advapi32 (no pywin32). The pipe's
security descriptor is built from SDDL ``O:<SID>D:P(A;;GA;;;<SID>)``: owned
by the user, a protected DACL with one entry, full access for that user,
so other users (and services running as others) cannot open it. It also
rejects remote clients (``PIPE_REJECT_REMOTE_CLIENTS``), and the first
instance is created with ``FILE_FLAG_FIRST_PIPE_INSTANCE`` so the agent
fails instead of sharing a name someone else created first. The host, in
turn, checks that the pipe's owner is its own user before sending anything.
"""

from __future__ import annotations

import ctypes
import io
import logging
import sys
import time
from ctypes import wintypes
from typing import Optional

#: ctypes' Windows-only parts, looked up by name so the module imports (and type-checks) anywhere;
#: it is used only on Windows (agent.companion.channel).
_WinDLL = getattr(ctypes, "WinDLL", None)
_get_last_error = getattr(ctypes, "get_last_error", lambda: 0)
_FormatError = getattr(ctypes, "FormatError", lambda code: f"error {code}")

log = logging.getLogger("shareguard.companion.pipe")

PIPE_ACCESS_DUPLEX = 0x00000003
FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000
PIPE_TYPE_BYTE = 0x0
PIPE_READMODE_BYTE = 0x0
PIPE_WAIT = 0x0
PIPE_REJECT_REMOTE_CLIENTS = 0x00000008
PIPE_UNLIMITED_INSTANCES = 255
BUFFER = 65536
GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
OPEN_EXISTING = 3
ERROR_FILE_NOT_FOUND = 2
ERROR_BROKEN_PIPE = 109
ERROR_PIPE_BUSY = 231
ERROR_PIPE_CONNECTED = 535
ERROR_NO_DATA = 232
TOKEN_QUERY = 0x0008
TOKEN_USER_CLASS = 1
SE_KERNEL_OBJECT = 6
OWNER_SECURITY_INFORMATION = 0x1
SDDL_REVISION_1 = 1
INVALID_HANDLE_VALUE = ctypes.c_void_p(-1).value


class SECURITY_ATTRIBUTES(ctypes.Structure):
    _fields_ = [("nLength", wintypes.DWORD), ("lpSecurityDescriptor", ctypes.c_void_p),
                ("bInheritHandle", wintypes.BOOL)]


def _dlls():
    if sys.platform != "win32" or _WinDLL is None:
        raise OSError("named pipes of the browser companion exist only on Windows")
    kernel32 = _WinDLL("kernel32", use_last_error=True)
    advapi32 = _WinDLL("advapi32", use_last_error=True)
    kernel32.CreateNamedPipeW.restype = wintypes.HANDLE
    kernel32.CreateNamedPipeW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, wintypes.DWORD,
                                          wintypes.DWORD, wintypes.DWORD, wintypes.DWORD,
                                          ctypes.POINTER(SECURITY_ATTRIBUTES)]
    kernel32.CreateFileW.restype = wintypes.HANDLE
    kernel32.CreateFileW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p,
                                     wintypes.DWORD, wintypes.DWORD, wintypes.HANDLE]
    kernel32.ConnectNamedPipe.argtypes = [wintypes.HANDLE, ctypes.c_void_p]
    kernel32.DisconnectNamedPipe.argtypes = [wintypes.HANDLE]
    kernel32.ReadFile.argtypes = [wintypes.HANDLE, ctypes.c_void_p, wintypes.DWORD,
                                  ctypes.POINTER(wintypes.DWORD), ctypes.c_void_p]
    kernel32.WriteFile.argtypes = [wintypes.HANDLE, ctypes.c_void_p, wintypes.DWORD,
                                   ctypes.POINTER(wintypes.DWORD), ctypes.c_void_p]
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    kernel32.WaitNamedPipeW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD]
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    kernel32.LocalFree.argtypes = [ctypes.c_void_p]
    kernel32.GetNamedPipeClientProcessId.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.ULONG)]
    advapi32.OpenProcessToken.argtypes = [wintypes.HANDLE, wintypes.DWORD, ctypes.POINTER(wintypes.HANDLE)]
    advapi32.GetTokenInformation.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD,
                                             ctypes.POINTER(wintypes.DWORD)]
    advapi32.ConvertSidToStringSidW.argtypes = [ctypes.c_void_p, ctypes.POINTER(wintypes.LPWSTR)]
    advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.argtypes = [
        wintypes.LPCWSTR, wintypes.DWORD, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(wintypes.ULONG)]
    advapi32.GetSecurityInfo.restype = wintypes.DWORD
    advapi32.GetSecurityInfo.argtypes = [wintypes.HANDLE, ctypes.c_int, wintypes.DWORD,
                                         ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p),
                                         ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    return kernel32, advapi32


def _error(what: str) -> OSError:
    code = _get_last_error()
    return OSError(code, f"{what} failed: {_FormatError(code).strip()} (error {code})")


def _sid_string(advapi32, kernel32, psid) -> str:
    out = wintypes.LPWSTR()
    if not advapi32.ConvertSidToStringSidW(psid, ctypes.byref(out)):
        raise _error("ConvertSidToStringSidW")
    try:
        return out.value or ""
    finally:
        kernel32.LocalFree(ctypes.cast(out, ctypes.c_void_p))


def current_user_sid() -> str:
    """The string SID (S-1-5-21-...) of the user running this process."""
    kernel32, advapi32 = _dlls()
    token = wintypes.HANDLE()
    if not advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), TOKEN_QUERY, ctypes.byref(token)):
        raise _error("OpenProcessToken")
    try:
        size = wintypes.DWORD()
        advapi32.GetTokenInformation(token, TOKEN_USER_CLASS, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        if not advapi32.GetTokenInformation(token, TOKEN_USER_CLASS, buf, size, ctypes.byref(size)):
            raise _error("GetTokenInformation")
        # TOKEN_USER starts with SID_AND_ATTRIBUTES { PSID Sid; DWORD Attributes; }.
        psid = ctypes.cast(buf, ctypes.POINTER(ctypes.c_void_p))[0]
        return _sid_string(advapi32, kernel32, ctypes.c_void_p(psid))
    finally:
        kernel32.CloseHandle(token)


def user_only_sddl(sid: str) -> str:
    """The pipe's security descriptor: owned by ``sid``, a protected DACL granting only ``sid``.

    The owner is set explicitly: the default owner comes from the token and may be a
    group (Administrators for an elevated admin; Wine gives Domain Users), and the host
    checks the owner before it sends anything.
    """
    return f"O:{sid}D:P(A;;GA;;;{sid})"


def pipe_name(sid: Optional[str] = None) -> str:
    """This user's pipe name (per SID, so two users never meet on one name)."""
    return r"\\.\pipe\shareguard-companion-" + (sid or current_user_sid())


class _PipeRaw(io.RawIOBase):
    """A pipe handle as a raw stream (ReadFile/WriteFile); EOF when the other end closed."""

    def __init__(self, handle, kernel32, server: bool) -> None:
        self.handle, self._k, self._server = handle, kernel32, server

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        got = wintypes.DWORD()
        array = (ctypes.c_char * len(buffer)).from_buffer(buffer)
        if not self._k.ReadFile(self.handle, array, len(buffer), ctypes.byref(got), None):
            if _get_last_error() in (ERROR_BROKEN_PIPE, ERROR_NO_DATA):
                return 0
            raise _error("ReadFile")
        return got.value

    def write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            done = wintypes.DWORD()
            chunk = bytes(view[:BUFFER])
            if not self._k.WriteFile(self.handle, chunk, len(chunk), ctypes.byref(done), None):
                raise _error("WriteFile")
            view = view[done.value:]

    def close(self) -> None:
        if self.handle:
            if self._server:
                self._k.DisconnectNamedPipe(self.handle)
            self._k.CloseHandle(self.handle)
            self.handle = None
        super().close()


class _PipeSocket:
    """Just enough of a socket for :class:`agent.companion.channel.Connection`."""

    def __init__(self, raw: _PipeRaw) -> None:
        self._raw = raw

    def makefile(self, mode: str = "rb"):
        return io.BufferedReader(self._raw)

    def sendall(self, data: bytes) -> None:
        self._raw.write_all(data)

    def settimeout(self, seconds) -> None:  # reads block; the host keeps its own watchdog
        pass

    def close(self) -> None:
        self._raw.close()


class PipeListener:
    """The agent's end: accepts one client per pipe instance."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._k, self._a = _dlls()
        self._sid = current_user_sid()
        self._sd = ctypes.c_void_p()
        if not self._a.ConvertStringSecurityDescriptorToSecurityDescriptorW(
                user_only_sddl(self._sid), SDDL_REVISION_1, ctypes.byref(self._sd), None):
            raise _error("ConvertStringSecurityDescriptorToSecurityDescriptorW")
        self._first = True
        self._closed = False
        # The first instance exists as soon as the agent listens (and a name someone else holds
        # fails here, at start); each accept() makes the next one before it returns, so a host
        # never finds the name missing while the agent runs.
        self._pending = self._instance()

    def _instance(self):
        attrs = SECURITY_ATTRIBUTES(ctypes.sizeof(SECURITY_ATTRIBUTES), self._sd, False)
        flags = PIPE_ACCESS_DUPLEX | (FILE_FLAG_FIRST_PIPE_INSTANCE if self._first else 0)
        handle = self._k.CreateNamedPipeW(self.name, flags,
                                          PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                                          PIPE_UNLIMITED_INSTANCES, BUFFER, BUFFER, 0, ctypes.byref(attrs))
        if handle in (None, INVALID_HANDLE_VALUE):
            from agent.companion.channel import ChannelError

            raise ChannelError(f"cannot create {self.name}: {_error('CreateNamedPipeW')} "
                               "(another ShareGuard agent, or someone else, holds the name)")
        self._first = False
        return handle

    def accept(self):
        """Wait for the next client; None once closed."""
        from agent.companion.channel import Connection

        while not self._closed:
            handle, self._pending = self._pending or self._instance(), None
            ok = self._k.ConnectNamedPipe(handle, None)
            if not ok and _get_last_error() != ERROR_PIPE_CONNECTED:
                self._k.CloseHandle(handle)
                if self._closed:
                    return None
                log.warning("browser companion pipe: a client failed to connect: %s", _error("ConnectNamedPipe"))
                continue
            if self._closed:
                self._k.CloseHandle(handle)
                return None
            client = wintypes.ULONG()
            self._k.GetNamedPipeClientProcessId(handle, ctypes.byref(client))
            log.debug("browser companion pipe: client pid %s", client.value)
            self._pending = self._instance()
            return Connection(_PipeSocket(_PipeRaw(handle, self._k, server=True)))
        return None

    def close(self) -> None:
        """Stop accepting: a last self-connection unblocks a waiting accept()."""
        self._closed = True
        handle = self._k.CreateFileW(self.name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, None)
        if handle not in (None, INVALID_HANDLE_VALUE):
            self._k.CloseHandle(handle)
        if self._sd:
            self._k.LocalFree(self._sd)
            self._sd = ctypes.c_void_p()


def pipe_owner_sid(handle) -> str:
    """The owner SID of an open pipe (who created it)."""
    kernel32, advapi32 = _dlls()
    owner = ctypes.c_void_p()
    descriptor = ctypes.c_void_p()
    status = advapi32.GetSecurityInfo(handle, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, ctypes.byref(owner),
                                      None, None, None, ctypes.byref(descriptor))
    if status != 0:
        raise OSError(status, f"GetSecurityInfo failed (error {status})")
    try:
        return _sid_string(advapi32, kernel32, owner)
    finally:
        kernel32.LocalFree(descriptor)


def connect(name: str, timeout: float = 2.0):
    """The host's end; refuses a pipe that another user created."""
    from agent.companion.channel import ChannelError, Connection

    kernel32, _ = _dlls()
    deadline = time.monotonic() + timeout
    while True:
        handle = kernel32.CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, None)
        if handle not in (None, INVALID_HANDLE_VALUE):
            break
        code = _get_last_error()
        if code == ERROR_PIPE_BUSY and time.monotonic() < deadline:
            kernel32.WaitNamedPipeW(name, max(1, int((deadline - time.monotonic()) * 1000)))
            continue
        raise ChannelError(f"no ShareGuard agent listens on {name} (error {code})")
    owner = pipe_owner_sid(handle)
    mine = current_user_sid()
    if owner != mine:
        kernel32.CloseHandle(handle)
        raise ChannelError(f"{name} belongs to {owner}, not to this user ({mine}): not sending anything")
    return Connection(_PipeSocket(_PipeRaw(handle, kernel32, server=False)))
