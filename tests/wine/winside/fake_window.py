"""Windows side: one real top-level Win32 window, in a process named like an app.

Run by the Windows python (copied as chrome.exe, Zoom.exe, ...) under Wine:

    chrome.exe fake_window.py --title "招商银行 - Google Chrome" --class Chrome_WidgetWin_1

It prints ``ready <hwnd> <pid>`` once the window is shown, then obeys one
command per line on stdin: ``title <text>`` (rename), ``front`` (bring to the
foreground), ``hide``, ``quit``. End of stdin also quits, so a test that dies leaves
no window behind.
"""

import argparse
import ctypes
import sys
import threading
from ctypes import wintypes

# Windows only (it runs in the Windows python under Wine); this also tells mypy on Linux to skip the rest.
assert sys.platform == "win32"

user32 = ctypes.WinDLL("user32", use_last_error=True)
kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

WNDPROC = ctypes.WINFUNCTYPE(ctypes.c_ssize_t, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM)


class WNDCLASSEXW(ctypes.Structure):
    _fields_ = [("cbSize", wintypes.UINT), ("style", wintypes.UINT), ("lpfnWndProc", WNDPROC),
                ("cbClsExtra", ctypes.c_int), ("cbWndExtra", ctypes.c_int), ("hInstance", wintypes.HINSTANCE),
                ("hIcon", wintypes.HICON), ("hCursor", wintypes.HANDLE), ("hbrBackground", wintypes.HBRUSH),
                ("lpszMenuName", wintypes.LPCWSTR), ("lpszClassName", wintypes.LPCWSTR),
                ("hIconSm", wintypes.HICON)]


user32.DefWindowProcW.restype = ctypes.c_ssize_t
user32.DefWindowProcW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]
user32.RegisterClassExW.argtypes = [ctypes.POINTER(WNDCLASSEXW)]
user32.RegisterClassExW.restype = wintypes.ATOM
user32.CreateWindowExW.restype = wintypes.HWND
user32.CreateWindowExW.argtypes = [wintypes.DWORD, wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD,
                                   ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, wintypes.HWND,
                                   wintypes.HMENU, wintypes.HINSTANCE, wintypes.LPVOID]
user32.SetWindowTextW.argtypes = [wintypes.HWND, wintypes.LPCWSTR]
user32.PostThreadMessageW.argtypes = [wintypes.DWORD, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]
user32.SetForegroundWindow.argtypes = [wintypes.HWND]
user32.ShowWindow.argtypes = [wintypes.HWND, ctypes.c_int]
user32.GetMessageW.argtypes = [ctypes.POINTER(wintypes.MSG), wintypes.HWND, wintypes.UINT, wintypes.UINT]
user32.DispatchMessageW.argtypes = [ctypes.POINTER(wintypes.MSG)]
user32.TranslateMessage.argtypes = [ctypes.POINTER(wintypes.MSG)]
kernel32.GetModuleHandleW.restype = wintypes.HMODULE

WS_OVERLAPPEDWINDOW = 0x00CF0000
WM_QUIT = 0x0012
WM_APP = 0x8000
SW_SHOW = 5
SW_HIDE = 0


@WNDPROC
def _wndproc(hwnd, msg, wparam, lparam):
    return user32.DefWindowProcW(hwnd, msg, wparam, lparam)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--title", required=True)
    parser.add_argument("--class", dest="wm_class", default="ShareGuardTestWindow")
    parser.add_argument("--size", default="640x400")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    instance = kernel32.GetModuleHandleW(None)
    wc = WNDCLASSEXW(cbSize=ctypes.sizeof(WNDCLASSEXW), lpfnWndProc=_wndproc, hInstance=instance,
                     lpszClassName=args.wm_class)
    if not user32.RegisterClassExW(ctypes.byref(wc)):
        raise ctypes.WinError(ctypes.get_last_error())
    hwnd = user32.CreateWindowExW(0, args.wm_class, args.title, WS_OVERLAPPEDWINDOW, 40, 40, width, height,
                                  None, None, instance, None)
    if not hwnd:
        raise ctypes.WinError(ctypes.get_last_error())
    user32.ShowWindow(hwnd, SW_SHOW)
    user32.UpdateWindow(hwnd)
    thread_id = kernel32.GetCurrentThreadId()
    commands = []

    def read_commands():
        # stdin is a pipe (Wine needs pipes, not files): one command per line, EOF = quit.
        for raw in sys.stdin.buffer:
            commands.append(raw.decode("utf-8").rstrip("\r\n"))
            user32.PostThreadMessageW(thread_id, WM_APP, 0, 0)
        user32.PostThreadMessageW(thread_id, WM_QUIT, 0, 0)

    threading.Thread(target=read_commands, daemon=True).start()
    sys.stdout.write(f"ready {hwnd} {kernel32.GetCurrentProcessId()}\n")
    sys.stdout.flush()

    msg = wintypes.MSG()
    while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:
        if msg.message == WM_APP:
            while commands:
                verb, _, rest = commands.pop(0).partition(" ")
                if verb == "title":
                    user32.SetWindowTextW(hwnd, rest)
                elif verb == "front":
                    user32.SetForegroundWindow(hwnd)
                elif verb == "hide":
                    user32.ShowWindow(hwnd, SW_HIDE)
                elif verb == "quit":
                    user32.PostQuitMessage(0)
                sys.stdout.write(f"done {verb}\n")
                sys.stdout.flush()
            continue
        user32.TranslateMessage(ctypes.byref(msg))
        user32.DispatchMessageW(ctypes.byref(msg))
    user32.DestroyWindow(hwnd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
