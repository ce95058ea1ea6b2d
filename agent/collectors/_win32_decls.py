"""ctypes declarations of the Win32 calls the Windows collector uses.

Declarations (types, constants, prototypes) are plain data and import on
every OS, so the spec table can be checked on Linux; only :func:`load`
touches ``ctypes.WinDLL``, which exists on Windows alone. Every function gets
``argtypes``, ``restype`` and, where the API reports failure in its return
value, an ``errcheck`` that turns it into ``OSError`` with the Win32 error
code (so a wrong handle is an exception, not a silently empty result).
"""

from __future__ import annotations

import ctypes
from ctypes import wintypes
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable, Optional, Sequence

# WINFUNCTYPE (stdcall) exists only on Windows; on x64 stdcall and cdecl are the
# same convention, and elsewhere the prototypes are never called, only declared.
_FUNCTYPE = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)

# --- types -----------------------------------------------------------------
LRESULT = ctypes.c_ssize_t  # LONG_PTR
HRESULT = ctypes.c_long  # checked by _check_hresult (ctypes.HRESULT is Windows-only)
HWINEVENTHOOK = wintypes.HANDLE


class MSG(ctypes.Structure):
    """The MSG structure filled by GetMessageW/PeekMessageW."""

    _fields_ = [
        ("hwnd", wintypes.HWND),
        ("message", wintypes.UINT),
        ("wParam", wintypes.WPARAM),
        ("lParam", wintypes.LPARAM),
        ("time", wintypes.DWORD),
        ("pt", wintypes.POINT),
        ("lPrivate", wintypes.DWORD),
    ]


#: BOOL CALLBACK EnumWindowsProc(HWND, LPARAM)
WNDENUMPROC = _FUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)
#: void CALLBACK WinEventProc(HWINEVENTHOOK, DWORD event, HWND, LONG idObject,
#: LONG idChild, DWORD idEventThread, DWORD dwmsEventTime)
WINEVENTPROC = _FUNCTYPE(None, HWINEVENTHOOK, wintypes.DWORD, wintypes.HWND, wintypes.LONG,
                         wintypes.LONG, wintypes.DWORD, wintypes.DWORD)

# --- constants (winuser.h, dwmapi.h) ----------------------------------------
EVENT_SYSTEM_FOREGROUND = 0x0003
EVENT_OBJECT_CREATE = 0x8000
EVENT_OBJECT_DESTROY = 0x8001
EVENT_OBJECT_SHOW = 0x8002
EVENT_OBJECT_NAMECHANGE = 0x800C
WINEVENT_OUTOFCONTEXT = 0x0000
WINEVENT_SKIPOWNPROCESS = 0x0002
OBJID_WINDOW = 0
CHILDID_SELF = 0
WM_QUIT = 0x0012
PM_NOREMOVE = 0x0000
DWMWA_CLOAKED = 14
#: Cloak reasons (bit flags in the DWORD DWMWA_CLOAKED returns).
DWM_CLOAKED_APP = 0x1
DWM_CLOAKED_SHELL = 0x2  # e.g. a window on another virtual desktop, a suspended UWP frame
DWM_CLOAKED_INHERITED = 0x4
ERROR_INVALID_THREAD_ID = 1444
GA_ROOT = 2
WM_USER = 0x0400


# --- errcheck helpers ------------------------------------------------------
def _win_error(func) -> OSError:
    """OSError carrying the thread's last Win32 error (saved by use_last_error)."""
    get_last_error = getattr(ctypes, "get_last_error", None)
    code = get_last_error() if get_last_error else 0
    name = getattr(func, "__name__", "win32 call")
    win_error = getattr(ctypes, "WinError", None)
    if win_error is not None and code:
        err = win_error(code)
        err.strerror = f"{name}: {err.strerror}"
        return err
    return OSError(0, f"{name} failed (error {code})", None, code)


def _check_nonzero(result, func, args):
    """For calls that return 0/NULL on failure (BOOL, handles, counts)."""
    if not result:
        raise _win_error(func)
    return result


def _check_hresult(result, func, args):
    """For COM-style calls: a negative HRESULT is a failure."""
    if result < 0:
        raise OSError(0, f"{getattr(func, '__name__', 'call')} failed (HRESULT 0x{result & 0xFFFFFFFF:08X})")
    return result


def _check_getmessage(result, func, args):
    """GetMessageW returns -1 on error, 0 on WM_QUIT, else a message."""
    if result == -1:
        raise _win_error(func)
    return result


@dataclass(frozen=True)
class FuncSpec:
    """How one exported function is declared."""

    dll: str
    name: str
    restype: object
    argtypes: Sequence[object]
    errcheck: Optional[Callable] = None
    optional: bool = False  # a missing DLL/function leaves the attribute None


_W = wintypes
FUNCTIONS = (
    FuncSpec("user32", "EnumWindows", _W.BOOL, (WNDENUMPROC, _W.LPARAM), _check_nonzero),
    # EnumChildWindows' return value is the last callback's, not an error flag.
    FuncSpec("user32", "EnumChildWindows", _W.BOOL, (_W.HWND, WNDENUMPROC, _W.LPARAM)),
    # Length/text 0 is also an empty title: no errcheck, the caller reads "".
    FuncSpec("user32", "GetWindowTextLengthW", ctypes.c_int, (_W.HWND,)),
    FuncSpec("user32", "GetWindowTextW", ctypes.c_int, (_W.HWND, _W.LPWSTR, ctypes.c_int)),
    FuncSpec("user32", "GetClassNameW", ctypes.c_int, (_W.HWND, _W.LPWSTR, ctypes.c_int), _check_nonzero),
    FuncSpec("user32", "GetWindowThreadProcessId", _W.DWORD, (_W.HWND, ctypes.POINTER(_W.DWORD)), _check_nonzero),
    FuncSpec("user32", "IsWindowVisible", _W.BOOL, (_W.HWND,)),
    FuncSpec("user32", "IsIconic", _W.BOOL, (_W.HWND,)),
    FuncSpec("user32", "GetForegroundWindow", _W.HWND, ()),  # NULL while focus changes: not an error
    FuncSpec("user32", "GetAncestor", _W.HWND, (_W.HWND, _W.UINT)),
    FuncSpec("user32", "SetWinEventHook", HWINEVENTHOOK,
             (_W.DWORD, _W.DWORD, _W.HMODULE, WINEVENTPROC, _W.DWORD, _W.DWORD, _W.DWORD), _check_nonzero),
    FuncSpec("user32", "UnhookWinEvent", _W.BOOL, (HWINEVENTHOOK,), _check_nonzero),
    FuncSpec("user32", "GetMessageW", _W.BOOL, (ctypes.POINTER(MSG), _W.HWND, _W.UINT, _W.UINT), _check_getmessage),
    FuncSpec("user32", "PeekMessageW", _W.BOOL, (ctypes.POINTER(MSG), _W.HWND, _W.UINT, _W.UINT, _W.UINT)),
    FuncSpec("user32", "TranslateMessage", _W.BOOL, (ctypes.POINTER(MSG),)),
    FuncSpec("user32", "DispatchMessageW", LRESULT, (ctypes.POINTER(MSG),)),
    FuncSpec("user32", "PostThreadMessageW", _W.BOOL, (_W.DWORD, _W.UINT, _W.WPARAM, _W.LPARAM), _check_nonzero),
    FuncSpec("kernel32", "GetCurrentThreadId", _W.DWORD, ()),
    # dwmapi is absent on some Server Core installs: then nothing counts as cloaked.
    FuncSpec("dwmapi", "DwmGetWindowAttribute", HRESULT, (_W.HWND, _W.DWORD, _W.LPVOID, _W.DWORD),
             _check_hresult, optional=True),
)


def _default_loader(name: str):
    win_dll = getattr(ctypes, "WinDLL", None)
    if win_dll is None:
        raise OSError("ctypes.WinDLL is only available on Windows")
    # use_last_error: errcheck reads the error saved right after the call,
    # not one overwritten by the interpreter in between.
    return win_dll(name, use_last_error=True)


def bind(spec: FuncSpec, dll) -> object:
    """Fetch ``spec.name`` from a loaded DLL and declare its signature."""
    func = getattr(dll, spec.name)
    func.restype = spec.restype
    func.argtypes = list(spec.argtypes)
    if spec.errcheck is not None:
        func.errcheck = spec.errcheck
    return func


def load(loader: Callable[[str], object] = _default_loader, specs: Sequence[FuncSpec] = FUNCTIONS) -> SimpleNamespace:
    """Load the DLLs and return a namespace of declared functions.

    Raises ``OSError`` off Windows (or when a required DLL/function is
    missing); optional functions that are missing are set to None.
    """
    dlls = {}
    funcs = {}
    for spec in specs:
        try:
            if spec.dll not in dlls:
                dlls[spec.dll] = loader(spec.dll)
            funcs[spec.name] = bind(spec, dlls[spec.dll])
        except (OSError, AttributeError) as exc:
            if not spec.optional:
                raise OSError(f"cannot load {spec.dll}!{spec.name}: {exc}") from exc
            funcs[spec.name] = None
    return SimpleNamespace(**funcs)
