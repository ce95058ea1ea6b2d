"""Windows side: run ShareGuard (or a probe) under Wine with the test harness's fixes.

    python.exe harness.py [--unreadable-name chrome.exe] [--without-cryptography] cli scan --json
    python.exe harness.py probe collector        # one snapshot as JSON
    python.exe harness.py probe watcher SECONDS  # WinEvent wake-ups while windows come and go

Wine 8 limit worked around HERE, in the harness, not in the product:
psutil 7.2 reads process names with an ``NtQuerySystemInformation`` class Wine 8
does not implement, so ``Process.name()`` raises a plain ``OSError`` (WinError 87)
for every process. The fallback below reads the image path with
``QueryFullProcessImageNameW`` instead, which Wine implements. On a real Windows
psutil's own call works and the fallback is never reached.
"""

import ctypes
import json
import ntpath
import sys
import time
from ctypes import wintypes

import psutil

# Windows only (it runs in the Windows python under Wine); this also tells mypy on Linux to skip the rest.
assert sys.platform == "win32"

PROCESS_QUERY_LIMITED_INFORMATION = 0x1000


def _image_name(pid: int) -> str:
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    kernel32.QueryFullProcessImageNameW.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.LPWSTR,
                                                    ctypes.POINTER(wintypes.DWORD)]
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    handle = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        raise psutil.AccessDenied(pid)
    try:
        buf = ctypes.create_unicode_buffer(32768)
        size = wintypes.DWORD(len(buf))
        if not kernel32.QueryFullProcessImageNameW(handle, 0, buf, ctypes.byref(size)):
            raise psutil.AccessDenied(pid)
        return ntpath.basename(buf.value)
    finally:
        kernel32.CloseHandle(handle)


def install_name_fallback(unreadable: str = "") -> None:
    """Make ``psutil.Process.name()`` fall back to QueryFullProcessImageNameW (Wine 8 limit).

    ``unreadable``: an image name whose processes keep raising the plain ``OSError``
    psutil gives (bug 2 of issue 12: one such process must not empty the list).
    """
    original = psutil.Process.name

    def name(self):
        try:
            return original(self)
        except psutil.Error:
            raise
        except OSError:
            found = _image_name(self.pid)
            if unreadable and found.lower() == unreadable.lower():
                raise
            return found

    psutil.Process.name = name


def probe_collector() -> int:
    from agent.collectors import get_collector
    from agent.snapshot_io import snapshot_to_dict
    snap = get_collector().snapshot()
    sys.stdout.buffer.write(json.dumps(snapshot_to_dict(snap), ensure_ascii=False).encode("utf-8") + b"\n")
    return 0


def probe_watcher(seconds: float) -> int:
    """Count the collector's window-event wake-ups; print one line per wake-up."""
    from agent.collectors import get_collector
    collector = get_collector()
    start = time.monotonic()

    def wake():
        sys.stdout.write(f"wake {time.monotonic() - start:.2f}\n")
        sys.stdout.flush()

    collector.start_watch(wake)
    sys.stdout.write("watching\n")
    sys.stdout.flush()
    time.sleep(seconds)
    collector.stop_watch()
    sys.stdout.write("stopped\n")
    sys.stdout.flush()
    return 0


def main(argv) -> int:
    unreadable = ""
    if argv and argv[0] == "--unreadable-name":
        unreadable, argv = argv[1], argv[2:]
    if argv and argv[0] == "--without-cryptography":
        # As when cryptography does not load (42+ under Wine 8, a broken install): any import fails.
        sys.modules["cryptography"] = None
        argv = argv[1:]
    install_name_fallback(unreadable)
    what, rest = argv[0], argv[1:]
    if what == "cli":
        from agent.cli import main as cli_main
        return cli_main(rest)
    if what == "probe" and rest[0] == "collector":
        return probe_collector()
    if what == "probe" and rest[0] == "watcher":
        return probe_watcher(float(rest[1]))
    raise SystemExit(f"harness.py: unknown command {argv!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
