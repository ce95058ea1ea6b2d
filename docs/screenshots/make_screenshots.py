"""Regenerate the screenshots in this folder (needs Xvfb, openbox, trayer, dunst, ImageMagick).

    .venv/bin/python docs/screenshots/make_screenshots.py
    .venv/bin/python docs/screenshots/make_screenshots.py --windows   # warning-windows-*.png, under Wine
    .venv/bin/python docs/screenshots/make_screenshots.py --tab       # warning-tab-*.png only

Each picture is taken from a real session: the real UI helper, a real tray
host (trayer) and a real notification daemon (dunst), under Xvfb 1280x800.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from agent.model import SensitiveFinding, ShareFinding, Verdict  # noqa: E402
from tests.gui.uikit import SNAP, block_verdict, calm_verdict, remote_share, start_ui, wait_until  # noqa: E402
from tests.support import fakeapps  # noqa: E402
from tests.support.xsession import x_session  # noqa: E402


def crop(src, dest, geometry):
    subprocess.run(["convert", src, "-crop", geometry, "+repage", dest], check=True)


def background(session):
    # A plain desktop colour, so the crops do not look like a black void.
    if subprocess.run(["which", "xsetroot"], capture_output=True).returncode == 0:
        session.run("xsetroot", "-solid", "#2f5d8a", check=False)


def warning(lang, tool_name="ToDesk", window=("中国工商银行 - 个人网上银行", "BankApp"),
            verdict=lambda pid: block_verdict(remote_share(pid)), name="warning"):
    """The blocking warning over a finance window, as ``verdict(pid of the sharing tool)`` says."""
    with x_session(wm=True, tray=True, notifications=True) as s:
        background(s)
        tool = fakeapps.start_fake_process(tool_name)
        bank = fakeapps.open_window(s, window[0], wm_class=window[1])
        ui, _ = start_ui(s, lang, countdown_seconds=10)
        try:
            ui.handle(verdict(tool.pid), SNAP)
            ui.wait_report(lambda m: m.get("event") == "geometry", 20)
            time.sleep(2.2)  # countdown visibly running
            s.screenshot(os.path.join(HERE, f"{name}-{lang}.png"))
        finally:
            ui.close()
            bank.close()
            fakeapps.stop(tool)


def tab_share_verdict(pid):
    """What the engine says when a page shares the bank's own tab (docs/detection.md section 3):
    the browser shares one tab, and that tab is the bank's real site (registrable domain only)."""
    share = ShareFinding(app="chromium", name="Chromium", kind="browser", state="sharing", pids=(pid,),
                         evidence=("page-capture:browser", "page-shared-tab"),
                         session_key=f"chromium:sharing:tab:{pid}", surface="browser")
    bank = SensitiveFinding(id="icbc", name="中国工商银行", name_en="ICBC", category="bank", pids=(pid,),
                            evidence="page-url", site="icbc.com.cn", shared=True)
    return Verdict(alert=True, level="block", shares=(share,), sensitive=(bank,), blocking_shares=("chromium",),
                   actions=("show_block_warning",))


def tab_warning(lang):
    """The warning for a shared browser tab: a browser window showing the bank under the warning."""
    warning(lang, "chromium", ("中国工商银行个人网上银行 ICBC - Chromium", "chromium"), tab_share_verdict,
            "warning-tab")


def tray_and_toast(lang):
    with x_session(wm=True, tray=True, notifications=True) as s:
        background(s)
        ui, _ = start_ui(s, lang)
        tmp = os.path.join(s.workdir, "full.png")
        try:
            share = ShareFinding(app="todesk", name="ToDesk", kind="remote_control", state="in_session",
                                 pids=(1,), first_seen=True)
            ui.handle(calm_verdict(level="notice", shares=(share,), first_seen=("todesk",)), SNAP)
            ui.wait_report(lambda m: m.get("type") == "toast_result", 10)
            time.sleep(1.0)
            s.screenshot(tmp)
            crop(tmp, os.path.join(HERE, "toast.png" if lang == "zh_CN" else f"toast-{lang}.png"), "560x240+720+0")
            s.run("dunstctl", "close-all", check=False)
            icon = s.run("xdotool", "search", "--classname", "ShareGuardSystemTrayIcon").stdout.split()[0]
            s.run("xdotool", "mousemove", "--window", icon, "8", "8")

            def open_menu():
                s.run("xdotool", "click", "1")
                try:
                    return ui.wait_report(lambda m: m.get("event") == "menu", 2)
                except TimeoutError:
                    return None
            menu = wait_until(open_menu, 15, "menu")
            entry = menu["entries"][1]
            s.run("xdotool", "mousemove", str(menu["x"] + 30), str((entry["y0"] + entry["y1"]) // 2))
            time.sleep(0.5)
            s.screenshot(tmp)
            # Frame the icon and the menu below it, with a margin, up to the screen's right edge.
            left = max(0, min(menu["x"], 1280 - 560) - 16)
            bottom = min(800, menu["entries"][-1]["y1"] + 24)
            crop(tmp, os.path.join(HERE, "tray-menu.png" if lang == "zh_CN" else f"tray-menu-{lang}.png"),
                 f"{1280 - left}x{bottom}+{left}+0")
        finally:
            ui.close()


def windows_warning(lang):
    """The warning as the Windows build shows it: the Windows Python with Tk under Wine (tests/wine/)."""
    from tests.support import wine
    env = wine.provisioned()
    with x_session(wm=True, tray=True) as s:
        background(s)
        environ = env.env(DISPLAY=s.display)
        server = env.keep_server(environ)
        ui, _ = wine.start_windows_ui(env, environ, lang, log_dir=os.path.join(s.workdir, "ui"))
        try:
            ui.handle(block_verdict(remote_share(4242), freeze=False), SNAP)
            ui.wait_report(lambda m: m.get("event") == "geometry", 60)
            time.sleep(2.2)  # countdown visibly running
            s.screenshot(os.path.join(HERE, f"warning-windows-{lang}.png"))
        finally:
            ui.close()
            env.stop()
            server.wait(timeout=60)


def retry(fn, *args):
    # Openbox occasionally fails to open a fresh Xvfb display on a busy machine.
    for _ in range(3):
        try:
            return fn(*args)
        except RuntimeError as exc:
            print(f"retrying {fn.__name__}{args}: {exc}", file=sys.stderr)
    raise SystemExit(f"{fn.__name__}{args} failed three times")


if __name__ == "__main__":
    for lang in ("en", "zh_CN"):
        if "--windows" in sys.argv:
            retry(windows_warning, lang)
            continue
        retry(tab_warning, lang)
        if "--tab" in sys.argv:
            continue
        retry(warning, lang)
        retry(tray_and_toast, lang)
    print("screenshots written to", HERE)
