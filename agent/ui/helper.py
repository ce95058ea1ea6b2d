"""The warm UI helper process: tray icon, toasts and the blocking warning.

Started by :class:`agent.responders.ui_client.UiClient` as ``python -m agent.ui.helper``
and kept running, so showing the warning costs a few milliseconds, and a
crash here (Tk, pystray, a notification daemon) never stops detection: the
parent restarts it and shows the current state again.

What the parent and the helper say to each other is defined in
agent.ui.protocol (one JSON object per line, typed on both sides), each line
authenticated by agent.ui.channel: the first line from the parent is its
per-launch secret, every later line in either direction carries a sequence
number and an HMAC. On POSIX stdin and stdout are one socketpair, which nobody
can open through /proc/<pid>/fd. The helper acknowledges every parent message
once handled (:class:`agent.ui.protocol.Ack`) so the parent can tell a deaf
helper and restart it. A refused or malformed line is logged and ignored: it
never stops the helper from handling the next one.

On POSIX a message is handled the moment it arrives: Tk watches the channel's
descriptor (a file handler) and each wake-up takes every complete line
(agent/ui/line_reader.py); the tray thread wakes Tk through a pipe. Tk cannot
watch pipes or sockets on Windows, so there a thread reads the channel and Tk
polls its queue every PUMP_MS.

stdin closing means the parent is gone: the helper exits, so no warning or
frozen-looking screen outlives the guard.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import traceback
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple, Union

if TYPE_CHECKING:
    import tkinter as tk

    from agent.ui.toast import Toaster
    from agent.ui.tray import TrayIcon

from agent.policy.keys import default_hotlines, key_default
from agent.ui import protocol
from agent.ui.channel import TO_AGENT, TO_HELPER, ChannelError, Opener, Sealer, read_hello
from agent.ui.line_reader import Line, LineReader

PUMP_MS = 15


class Helper:
    """Owns the Tk root (main thread), the tray thread and the toast worker."""

    def __init__(self, out=None, secret: bytes = b"") -> None:
        import tkinter as tk

        from agent.ui.warning_window import WarningWindow

        self.tk = tk
        self.out = out or sys.stdout
        self._out_lock = threading.Lock()
        self._sealer = Sealer(secret, TO_AGENT)
        self._opener = Opener(secret, TO_HELPER)
        # (sequence number to acknowledge, or 0 for our own: a callable posted by the
        # tray thread), and on Windows the parent's messages; None when stdin closed.
        self.inbox: "queue.Queue[Optional[Tuple[int, Union[protocol.ParentMessage, Callable[[], None]]]]]" = \
            queue.Queue()
        self.root = tk.Tk(className="ShareGuard")
        self.root.withdraw()
        self.config: Dict = {"lang": "en", "countdown_seconds": key_default("countdown_seconds"),
                             "hotlines": default_hotlines()}
        self.view: Dict = {"state": "watching"}
        self.tooltip = "ShareGuard"
        self.tray: Optional[TrayIcon] = None
        self.toaster: Optional[Toaster] = None
        self.menu: Optional[tk.Menu] = None
        self.warning = WarningWindow(self.root, self._on_choice, self._report)
        self._wake_r: Optional[int] = None  # POSIX: a byte here runs the queued callables
        self._wake_w: Optional[int] = None

    # --- plumbing -----------------------------------------------------------------
    def send(self, message: protocol.HelperMessage) -> None:
        """Write one message to the parent; a closed pipe means the parent is gone."""
        with self._out_lock:
            try:
                self.out.write(self._sealer.seal(protocol.to_wire(message)) + "\n")
                self.out.flush()
            except (BrokenPipeError, ValueError, OSError):
                os._exit(0)

    def log(self, level: str, message: str) -> None:
        self.send(protocol.Log(level=level, message=message))

    def _report(self, info: Dict) -> None:
        """The warning window's report (``event`` plus its fields) to the parent."""
        details = dict(info)
        self.send(protocol.Report(event=str(details.pop("event", "")), details=details))

    def take_line(self, line: Line) -> Optional[Tuple[int, protocol.ParentMessage]]:
        """Check one channel line: (its sequence number, the message), or None if refused.

        A refused line is logged and never acted on; one that is authentic but
        not understood is acknowledged too (the helper is not deaf).
        """
        if isinstance(line, str) and not line.strip():
            return None
        try:
            if isinstance(line, ChannelError):
                raise line
            data = self._opener.open(line)
        except ChannelError as exc:
            # Forged, replayed or damaged: never acted on, and never a reason to stop reading.
            self.log("warning", f"helper refused a line: {exc}")
            return None
        try:
            return self._opener.last, protocol.parent_message(data)
        except protocol.ProtocolError as exc:
            # From the parent but not understood: say so, and acknowledge it (we are not deaf).
            self.log("warning", f"helper refused a message: {exc}")
            self.send(protocol.Ack(seq=self._opener.last))
            return None

    def read_channel(self, reader: LineReader) -> None:
        """Windows: a thread blocks on the channel and queues each message for the pump."""
        while True:
            line = reader.read_line()
            if line is None:
                break
            taken = self.take_line(line)
            if taken is not None:
                self.inbox.put(taken)
        self.inbox.put(None)

    def on_readable(self, reader: LineReader) -> None:
        """POSIX: Tk's file handler; handles at once every message that has arrived."""
        try:
            lines = reader.read_ready()
            for line in lines:
                taken = self.take_line(line)
                if taken is not None:
                    self.handle(*taken)
        except Exception:
            self.log("error", "helper channel:\n" + traceback.format_exc())
        if reader.eof:
            self.root.tk.deletefilehandler(reader.fd)
            self.quit()

    def handle(self, seq: int, msg: Union[protocol.ParentMessage, Callable[[], None]]) -> None:
        """Act on one message on Tk's thread, then acknowledge it (``seq`` 0: our own, no ack)."""
        self.dispatch(msg)
        if seq:
            self.send(protocol.Ack(seq=seq))

    def post(self, action: Callable[[], None]) -> None:
        """Run ``action`` on Tk's thread (Tk is not thread-safe); callable from any thread."""
        self.inbox.put((0, action))
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b"!")
            except OSError:
                pass  # the pipe is full: a wake-up is already pending

    def pump(self) -> None:
        """Handle queued messages on Tk's thread; acknowledge each."""
        try:
            while True:
                item = self.inbox.get_nowait()
                if item is None:
                    self.quit()
                    return
                self.handle(*item)
        except queue.Empty:
            pass
        except Exception:
            self.log("error", "helper pump:\n" + traceback.format_exc())

    def _poll(self) -> None:
        # Windows: Tk cannot watch a pipe or a socket there, so the queue is polled.
        self.pump()
        self.root.after(PUMP_MS, self._poll)

    def _on_wake(self, fd: int) -> None:
        try:
            os.read(fd, 4096)
        except OSError:
            pass
        self.pump()

    def dispatch(self, msg: Union[protocol.ParentMessage, Callable[[], None]]) -> None:
        try:
            if isinstance(msg, (protocol.Config, protocol.AlertTexts)):
                self.configure(msg)
            elif isinstance(msg, protocol.ShowView):
                self.show_view(msg.view or {}, msg.tooltip or "ShareGuard")
            elif isinstance(msg, protocol.Toast):
                self.toast(msg.title, msg.body)
            elif isinstance(msg, protocol.Quit):
                self.quit()
            else:
                # A callable posted from another thread of this process (tray clicks).
                msg()
        except Exception:
            self.log("error", f"helper failed on {msg!r}:\n" + traceback.format_exc())

    # --- parts ------------------------------------------------------------------------
    def configure(self, msg: Union[protocol.Config, protocol.AlertTexts]) -> None:
        from agent.ui.toast import Toaster

        first = self.toaster is None
        # A second config (a reloaded policy) and an alert's texts update the first.
        self.config.update({k: v for k, v in protocol.to_wire(msg).items() if k != "op"})
        if first:
            self.toaster = Toaster(on_result=lambda ok, why: self.send(protocol.ToastResult(ok=ok, why=why)))
            tray_ok, tray_error = False, "tray disabled"
            if self.config.get("tray", True):
                tray_ok, tray_error = self.start_tray()
            self.send(protocol.Ready(tray=tray_ok, tray_error=None if tray_ok else tray_error,
                                     toasts=self.toaster.available, toasts_why=self.toaster.why, pid=os.getpid()))
        if isinstance(msg, protocol.Config):
            # Build the warning hidden now (or again for a new language), after this
            # message is acknowledged: an alert then only fills in its texts.
            self.warning.prepare_soon(self.config)

    def start_tray(self):
        from agent.ui.tray import TrayIcon

        self.tray = TrayIcon("ShareGuard", self.menu_entries, self._tray_clicked)
        if self.tray.start(self.view.get("state", "watching"), self.tooltip):
            return True, None
        error = self.tray.error
        if self.tray._icon is None:
            self.tray = None  # no icon at all; with an icon but no host, keep it to dock later
        return False, error

    def show_view(self, view: Dict, tooltip: str) -> None:
        self.view, self.tooltip = view, tooltip
        # The warning first: redrawing the tray icon takes 10-30 ms (pystray), and the
        # warning is mapped (Tk waits for the window manager) before that starts.
        if view.get("alert"):
            self.warning.show(view, self.config)
        elif self.warning.showing:
            self.warning.hide()
        if self.tray is not None:
            self.tray.update(view.get("state", "watching"), tooltip)

    def toast(self, title: str, body: str) -> None:
        if self.toaster is None:
            self.send(protocol.ToastResult(ok=False, why="helper not configured yet"))
            return
        self.toaster.show(title, body)

    def _on_choice(self, choice: str, alert_key: str) -> None:
        self.send(protocol.Choice(choice=choice, alert_key=alert_key))

    # --- the tray menu ---------------------------------------------------------------
    def menu_entries(self):
        """The tray menu, in the user's language; policy can forbid pause and quit."""
        from agent.ui.messages import t
        from agent.ui.tray import MenuEntry

        lang = self.config.get("lang", "en")
        entries: List[MenuEntry] = [MenuEntry(self.tooltip)]
        if self.view.get("state") == "paused":
            entries.append(MenuEntry(t("tray.menu.resume", lang), lambda: self.send(protocol.Control(op="resume"))))
        elif self.config.get("allow_pause", True):
            entries.append(MenuEntry(t("tray.menu.pause_15", lang),
                                     lambda: self.send(protocol.Control(op="pause", seconds=15 * 60))))
            entries.append(MenuEntry(t("tray.menu.pause_60", lang),
                                     lambda: self.send(protocol.Control(op="pause", seconds=60 * 60))))
        else:
            entries.append(MenuEntry(t("tray.menu.pause_forbidden", lang)))
        entries.append(MenuEntry(t("tray.menu.log_folder", lang), self.open_log_folder))
        entries.append(MenuEntry(t("tray.menu.help", lang),
                                 lambda: self.post(self.show_help)))
        if self.config.get("allow_quit", True):
            entries.append(MenuEntry(t("tray.menu.quit", lang), lambda: self.send(protocol.Control(op="quit"))))
        else:
            entries.append(MenuEntry(t("tray.menu.quit_forbidden", lang)))
        return entries

    def _tray_clicked(self) -> None:
        # Called on the tray thread: hand over to Tk's thread.
        self.post(self.popup_menu)

    def popup_menu(self, x: Optional[int] = None, y: Optional[int] = None) -> None:
        """Show the tray menu as a Tk popup at the pointer (backends without menus)."""
        from agent.ui.warning_window import pick_font_family

        if self.warning.showing:
            return  # the warning needs an answer first
        if self.menu is not None:
            self.menu.destroy()
        family = pick_font_family(self.root, self.config.get("lang", "en"))
        # Large type for older eyes; the state line stays readable (not the pale grey of a disabled item).
        self.menu = self.tk.Menu(self.root, tearoff=False, font=(family, -18), disabledforeground="#303030",
                                 activebackground="#1565c0", activeforeground="#ffffff")
        for i, entry in enumerate(self.menu_entries()):
            if i == 1:
                self.menu.add_separator()
            self.menu.add_command(label=entry.text, command=entry.action,
                                  state="normal" if entry.action else "disabled",
                                  font=(family, -18, "bold") if i == 0 else (family, -18))
        if x is None or y is None:
            x, y = self.menu_position()
        self.menu.tk_popup(x, y)
        self.root.after(100, self._report_menu)

    def menu_position(self):
        """Open the menu beside the tray icon (below a top panel, above a bottom one), not over it."""
        px, py = self.root.winfo_pointerxy()
        rect = self.tray.screen_rect() if self.tray is not None else None
        if rect is None or self.menu is None:
            return px, py
        self.menu.update_idletasks()
        width, height = self.menu.winfo_reqwidth(), self.menu.winfo_reqheight()
        screen_w, screen_h = self.root.winfo_screenwidth(), self.root.winfo_screenheight()
        ix, iy, iw, ih = rect
        x = max(0, min(ix + iw - width, screen_w - width))
        y = iy + ih if iy + ih / 2 < screen_h / 2 else max(0, iy - height)
        return x, y

    def _report_menu(self) -> None:
        # Where each entry is on screen: lets tests (and accessibility tools) find them.
        menu = self.menu
        if menu is None or not menu.winfo_ismapped():
            return
        last = menu.index("end") or 0
        entries = []
        for i in range(last + 1):
            if menu.type(i) == "separator":
                continue
            top = menu.yposition(i)
            bottom = menu.yposition(i + 1) if i < last else menu.winfo_height()
            entries.append({"label": menu.entrycget(i, "label"), "y0": menu.winfo_rooty() + top,
                            "y1": menu.winfo_rooty() + bottom})
        self.send(protocol.Report(event="menu", details={"x": menu.winfo_rootx(), "y": menu.winfo_rooty(),
                                                         "width": menu.winfo_width(), "entries": entries}))

    def open_log_folder(self) -> None:
        folder = self.config.get("log_dir") or os.path.expanduser("~")
        os.makedirs(folder, exist_ok=True)
        try:
            if sys.platform == "win32":
                os.startfile(folder)  # type: ignore[attr-defined]
            elif sys.platform == "darwin":
                subprocess.Popen(["open", folder])
            else:
                subprocess.Popen(["xdg-open", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.log("info", f"opened the event log folder {folder}")
        except OSError as exc:
            self.log("warning", f"cannot open the event log folder {folder}: {exc}")

    def show_help(self) -> None:
        from agent.ui.messages import t
        from agent.ui.warning_window import pick_font_family

        lang = self.config.get("lang", "en")
        family = pick_font_family(self.root, lang)
        win = self.tk.Toplevel(self.root, class_="ShareGuardHelp", padx=24, pady=24)
        win.title(t("help.title", lang))
        text = t("help.body", lang)
        if self.config.get("help_url"):
            text += "\n\n" + str(self.config["help_url"])
        self.tk.Label(win, text=text, font=(family, -17), wraplength=560, justify="left").pack()
        self.tk.Button(win, text=t("help.close", lang), font=(family, -16), command=win.destroy).pack(pady=(16, 0))
        win.lift()

    # --- life cycle --------------------------------------------------------------------
    def run(self, reader: LineReader) -> None:
        """Handle the channel until it closes: at once on POSIX, by polling on Windows."""
        if os.name == "posix":
            # Woken by the descriptor itself: no polling delay, no idle wake-ups.
            self._wake_r, self._wake_w = os.pipe()
            self.root.tk.createfilehandler(self._wake_r, self.tk.READABLE, lambda fd, mask: self._on_wake(fd))
            self.root.tk.createfilehandler(reader.fd, self.tk.READABLE, lambda fd, mask: self.on_readable(reader))
            # Lines that came in with the hello are already in the reader's buffer.
            self.root.after_idle(self.on_readable, reader)
        else:
            threading.Thread(target=self.read_channel, args=(reader,), name="channel", daemon=True).start()
            self.root.after(PUMP_MS, self._poll)
        self.root.mainloop()

    def quit(self) -> None:
        self.warning.close()
        if self.tray is not None:
            self.tray.stop()
        self.root.after(50, self.root.destroy)


def main() -> int:
    """Entry point of ``python -m agent.ui.helper``."""
    # Only our protocol may go to stdout: everything else (library prints,
    # plyer tracebacks) goes to stderr, which the parent logs.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    reader = LineReader(sys.stdin.fileno())
    try:
        hello = reader.read_line()   # first, before anything else can speak
        secret = read_hello(hello if isinstance(hello, str) else "")
    except ChannelError as exc:
        print(f"ShareGuard UI helper: {exc}", file=sys.stderr)
        return 2
    try:
        helper = Helper(out=out, secret=secret)
    except Exception as exc:  # e.g. TclError: no display
        fatal = protocol.to_wire(protocol.Fatal(message=f"{type(exc).__name__}: {exc}"))
        out.write(Sealer(secret, TO_AGENT).seal(fatal) + "\n")
        out.flush()
        return 2
    helper.run(reader)
    return 0


if __name__ == "__main__":
    sys.exit(main())
