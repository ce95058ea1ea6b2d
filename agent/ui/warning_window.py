"""The blocking warning: a Tk window over every monitor that waits for a choice.

It runs in the UI helper process (agent.ui.helper), on Tk's main thread.

Why it is built this way:
- A remote caller can click anything we draw, so the remote tool is frozen
  while this shows (agent.responders.process_control), and "continue" only
  becomes possible after a countdown the caller cannot skip.
- Fullscreen + topmost + a global grab: keyboard and pointer go to this
  window only, so Escape, Alt+F4 and window-manager shortcuts reach nothing;
  WM_DELETE_WINDOW (the close button, Alt+F4 in openbox) is ignored.
- A watchdog re-raises, re-maps and re-focuses the window while it shows; if
  the whole helper is killed, the parent restarts it and shows it again.
- It is built ahead, hidden (withdrawn, with its widgets, fonts, geometry and
  the fullscreen/topmost states set before the first map), when the helper
  starts and again after each close: an alert then only fills in the texts
  and maps it, so the window manager maps it once, already full-screen
  (benchmarks/README.md, warning latency). Each alert gets a fresh build, so
  nothing of a previous alert (texts, shrunk type) can show.
"""

from __future__ import annotations

import math
import sys
import time
import tkinter as tk
import tkinter.font as tkfont
from typing import Any, Callable, Dict, List, Optional, Union

from agent.policy.keys import default_hotlines
from agent.ui import messages
from agent.ui.messages import t
from agent.ui.monitors import monitors

#: Preferred fonts, first found wins: CJK-capable faces so 中文 renders everywhere.
FONT_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei",
                 "PingFang SC", "WenQuanYi Micro Hei", "Droid Sans Fallback")

RED, DARK_RED, WHITE, INK, GREY = "#b71c1c", "#7f0000", "#ffffff", "#1a1a1a", "#5f6368"
PAPER, QUOTE_BG = "#fff8e1", "#ffecb3"

#: After a choice, the same alert is not shown again for this long, so a
#: verdict computed before the engine saw the choice does not flash it back.
CHOICE_GRACE_SECONDS = 5.0

WATCHDOG_MS = 300
#: After the warning is up, the monitors are checked again (off the path to the map):
#: a layout changed since the hidden build gets the warning rebuilt over the new one.
MONITOR_CHECK_MS = 100


#: For English, Latin faces first: CJK faces draw quotes and bullets full-width.
LATIN_FAMILIES = ("Noto Sans", "Segoe UI", "Helvetica Neue", "DejaVu Sans")


def other_monitor_key(rect, primary) -> str:
    """The message for a secondary monitor: which way to look for the full warning."""
    cx, cy = rect[0] + rect[2] / 2, rect[1] + rect[3] / 2
    px, py = primary[0] + primary[2] / 2, primary[1] + primary[3] / 2
    dx, dy = px - cx, py - cy
    if dx == 0 and dy == 0:
        return "warning.other_monitor"
    if abs(dx) >= abs(dy):
        return "warning.other_monitor.left" if dx < 0 else "warning.other_monitor.right"
    return "warning.other_monitor.up" if dy < 0 else "warning.other_monitor.down"


def pick_font_family(root: tk.Misc, lang: str = "zh_CN") -> str:
    """The first suitable family installed (CJK-capable for zh_CN), else Tk's default."""
    installed = set(tkfont.families(root))
    for family in (LATIN_FAMILIES if lang == "en" else ()) + FONT_FAMILIES:
        if family in installed:
            return family
    return tkfont.nametofont("TkDefaultFont", root).actual("family")


class WarningWindow:
    """Shows and hides the blocking warning; reports choices through ``on_choice``.

    ``on_choice(choice, alert_key)``: choice is ``continue``, ``stop_sharing`` or
    ``hotline``. ``on_report(info)``: called when the window is mapped
    (``event: shown`` with the monotonic time) and when its layout settles
    (``event: geometry`` with the window and button rectangles).
    """

    def __init__(self, root: tk.Tk, on_choice: Callable[[str, str], None],
                 on_report: Callable[[Dict], None]) -> None:
        self.root = root
        self.on_choice = on_choice
        self.on_report = on_report
        self.family = pick_font_family(root)
        self._last_geometry: Optional[Dict] = None
        self.windows: List[tk.Toplevel] = []
        self.view: Optional[Dict] = None
        self.key = ""
        self.remaining = 0
        self._countdown_end = 0.0  # monotonic time "continue" becomes possible
        # Tk "after" job ids, kept to cancel them.
        self._tick_job: Optional[str] = None
        self._watch_job: Optional[str] = None
        self._report_job: Optional[str] = None
        self._chosen: Dict[str, float] = {}
        self.widgets: Dict[str, Union[tk.Label, tk.Button]] = {}
        self.mapped_at: Optional[float] = None
        self._screen_height = 0
        self._shown = False
        self._closed = False
        self._built_lang = ""  # the language of the windows built (hidden or shown)
        self._rects: List = []  # the monitors they cover
        self._base_fonts: Dict[str, str] = {}  # each widget's font before any fitting
        self._shrunk = False
        self._prepare_job: Optional[str] = None
        self._building = False
        self._monitor_job: Optional[str] = None
        self.config: Dict = {}

    # --- public ---------------------------------------------------------------
    @property
    def showing(self) -> bool:
        return self._shown

    def prepare_soon(self, config: Dict) -> None:
        """Build the warning hidden (:meth:`prepare`) at Tk's next idle moment."""
        if self._prepare_job is None and not self._closed:
            self._prepare_job = self.root.after_idle(self.prepare, config)

    def prepare(self, config: Dict) -> None:
        """Build the warning hidden for ``config``'s language, unless it is up or ready.

        Called when the helper has its configuration and after each close, so
        :meth:`show` has only texts to fill in.
        """
        self._prepare_job = None
        if self._closed or self._shown or self._building:
            # Never inside a build: building runs Tk's idle tasks, this among them.
            return
        lang = config.get("lang", "en")
        if self.windows and self._built_lang == lang:
            return
        self._discard()
        self.view, self.key, self.config = None, "", config  # no alert yet: no alert's words
        self._build(config)

    def show(self, view: Dict, config: Dict) -> None:
        """Show (or refresh) the warning for ``view`` (see agent.ui.view.summarize)."""
        key = view.get("alert_key") or "alert"
        chosen_at = self._chosen.get(key)
        if chosen_at is not None and time.monotonic() - chosen_at < CHOICE_GRACE_SECONDS:
            return
        if self.showing and key == self.key:
            self.view = view
            self._fill_texts(config)
            return
        if self.showing:
            # The same danger with a changed session (a helper process joined,
            # a pid list changed): refresh in place. Rebuilding would flash the
            # screen and restart the countdown under a frightened person's
            # eyes. Only a new app among the blocking ones restarts the countdown.
            before = {s.get("app") for s in (self.view or {}).get("blocking") or []}
            after = {s.get("app") for s in view.get("blocking") or []}
            self.view, self.key = view, key
            if not after <= before:
                self._start_countdown(config)
                if self._tick_job is not None:
                    self.root.after_cancel(self._tick_job)
                self._tick()
            self._fill_texts(config)
            self._schedule_report()
            return
        self._cancel_prepare()  # this alert's windows are built here, not at the next idle
        self.view, self.key, self.config = view, key, config
        if not self.windows or self._built_lang != config.get("lang", "en"):
            self._discard()
            self._build(config)  # not built ahead (yet), or for another language
        self._start_countdown(config)
        self._fill_texts(config)
        self._tick()
        self._reveal()
        self._watchdog()
        self._monitor_job = self.root.after(MONITOR_CHECK_MS, self._check_monitors)

    def hide(self) -> None:
        """Take the warning down (the danger is over or a choice was made); build the next one."""
        was_shown = self._shown
        self._discard()
        if was_shown:
            self.prepare_soon(self.config)  # off the path of this close

    def close(self) -> None:
        """The helper quits: take everything down and build nothing more."""
        self._closed = True
        self._cancel_prepare()
        self._discard()

    def _cancel_prepare(self) -> None:
        if self._prepare_job is not None:
            self.root.after_cancel(self._prepare_job)
            self._prepare_job = None

    def _discard(self) -> None:
        """Destroy the windows, shown or hidden, and cancel their timers."""
        for job in (self._tick_job, self._watch_job, self._report_job, self._monitor_job):
            if job is not None:
                self.root.after_cancel(job)
        self._tick_job = self._watch_job = self._report_job = self._monitor_job = None
        for w in self.windows:
            try:
                w.grab_release()
                w.destroy()
            except tk.TclError:
                pass
        self.windows = []
        self.widgets = {}
        self._base_fonts = {}
        self._shrunk = False
        self._shown = False
        self.mapped_at = None
        self._last_geometry = None

    def _reveal(self) -> None:
        """Map the built windows, the main one first; the first map is the real one."""
        self._shown = True
        for win in self.windows:
            win.deiconify()
        # Tk's deiconify sends the map request and waits for the window manager's
        # map: the main window is on screen when this returns (no idle pass needed).
        main = self.windows[0]
        main.lift()
        main.focus_force()

    def _check_monitors(self) -> None:
        self._monitor_job = None
        if not self._shown:
            return
        rects = self._monitor_rects()
        if rects == self._rects:
            return
        # A monitor came, went or moved since the hidden build: cover the new layout.
        print(f"ShareGuard warning: monitors changed from {self._rects} to {rects}; rebuilt over them",
              file=sys.stderr, flush=True)
        view, key, config = self.view, self.key, self.config
        self._discard()
        self.view, self.key, self.config = view or {}, key, config
        self._build(config)  # the countdown goes on: its end is a time, not a count
        self._fill_texts(config)
        self._tick()
        self._reveal()
        self._watchdog()

    def _monitor_rects(self) -> List:
        return monitors((self.root.winfo_screenwidth(), self.root.winfo_screenheight()))

    # --- building ---------------------------------------------------------------
    def _font(self, scale: float, bold: bool = False) -> tuple:
        return (self.family, -int(self.base * scale), "bold" if bold else "normal")

    def _toplevel(self, rect, lang: str) -> tk.Toplevel:
        x, y, w, h = rect
        win = tk.Toplevel(self.root, class_="ShareGuardWarning", bg=RED)
        # Hidden until an alert: Tk never maps a window withdrawn before it goes idle,
        # and it gives the window manager the states below with the first map.
        win.withdraw()
        win.title(t("warning.window_title", lang))
        win.geometry(f"{w}x{h}+{x}+{y}")
        win.protocol("WM_DELETE_WINDOW", lambda: None)
        # Swallow the keys people (and scammers) use to close windows.
        for seq in ("<Escape>", "<Alt-F4>", "<Alt-Key-F4>", "<Control-w>", "<Control-q>"):
            win.bind(seq, lambda e: "break")
        win.attributes("-topmost", True)
        try:
            win.attributes("-fullscreen", True)
        except tk.TclError:
            pass
        return win

    def _build(self, config: Dict) -> None:
        """Build every window, withdrawn, with the language's fixed texts in place."""
        self._building = True
        try:
            self._build_windows(config)
        finally:
            self._building = False

    def _build_windows(self, config: Dict) -> None:
        lang = config.get("lang", "en")
        self.family = pick_font_family(self.root, lang)
        self.root.update_idletasks()
        rects = self._monitor_rects()
        self._built_lang, self._rects = lang, rects
        primary = rects[0]
        # Type size follows the screen so the same layout fits 1280x800 and 4K.
        self.base = max(13, min(28, int(min(primary[3] / 46, primary[2] / 70))))
        if lang == "zh_CN":
            self.base = int(self.base * 1.12)  # CJK glyphs need a little more size to read easily
        main = self._toplevel(primary, lang)
        self._screen_height = primary[3]
        self.windows.append(main)
        # Bound before the content is built: fitting the text runs idle tasks,
        # which may map the window, and the "shown" report must not miss it.
        main.bind("<Map>", self._on_map, add="+")
        main.bind("<Configure>", lambda e: self._schedule_report(), add="+")
        self._build_content(main, primary, config)
        for rect in rects[1:]:
            other = self._toplevel(rect, lang)
            box = tk.Frame(other, bg=RED)
            box.place(relx=0.5, rely=0.5, anchor="center")
            tk.Label(box, text=t(other_monitor_key(rect, primary), lang), bg=RED, fg=WHITE,
                     font=self._font(2.0, True), wraplength=int(rect[2] * 0.8)).pack()
            # The safe choice is on every screen: a person may be looking at this one.
            tk.Button(box, text=t("warning.button.stop", lang), bg=WHITE, fg=RED, activebackground="#ffebee",
                      activeforeground=DARK_RED, font=self._font(1.6, True), bd=0, cursor="hand2",
                      padx=int(self.base * 2), pady=int(self.base * 0.8),
                      command=lambda: self._choose("stop_sharing")).pack(pady=(int(self.base * 2), 0))
            self.windows.append(other)
        # Layout, font metrics and the fit for the fixed texts are done now, not at the alert.
        self.root.update_idletasks()

    def _build_content(self, win: tk.Toplevel, rect, config: Dict) -> None:
        width = rect[2]
        wrap = int(width * 0.86)
        pad = int(self.base * 1.2)
        band = tk.Frame(win, bg=RED)
        band.pack(fill="x")
        self.widgets["headline"] = tk.Label(band, bg=RED, fg=WHITE, font=self._font(2.2, True),
                                            wraplength=wrap, justify="center")
        self.widgets["headline"].pack(padx=pad, pady=(pad, int(pad / 3)))
        self.widgets["lead"] = tk.Label(band, bg=RED, fg=WHITE, font=self._font(1.25), wraplength=wrap,
                                        justify="center")
        self.widgets["lead"].pack(padx=pad, pady=(0, pad))

        body = tk.Frame(win, bg=PAPER)
        body.pack(fill="both", expand=True)
        # Buttons are packed first so that on a small screen the text is
        # squeezed, never the buttons.
        buttons = tk.Frame(body, bg=PAPER)
        buttons.pack(side="bottom", fill="x", pady=pad)
        inner = tk.Frame(body, bg=PAPER)
        inner.pack(padx=int(width * 0.07), pady=(pad, 0), fill="x")
        self.widgets["detected_title"] = tk.Label(inner, bg=PAPER, fg=INK, font=self._font(1.15, True),
                                                  anchor="w")
        self.widgets["detected_title"].pack(fill="x")
        self.widgets["detected"] = tk.Label(inner, bg=PAPER, fg=DARK_RED, font=self._font(1.5, True),
                                            justify="left", anchor="w", wraplength=wrap)
        self.widgets["detected"].pack(fill="x", pady=(int(pad / 4), 0))
        self.widgets["frozen"] = tk.Label(inner, bg=PAPER, fg=INK, font=self._font(1.1), justify="left",
                                          anchor="w", wraplength=wrap)
        self.widgets["frozen"].pack(fill="x", pady=(int(pad / 4), 0))

        quote = tk.Frame(inner, bg=QUOTE_BG)
        quote.pack(fill="x", pady=(int(pad / 2), 0))
        self.widgets["quote"] = tk.Label(quote, bg=QUOTE_BG, fg=INK, font=self._font(1.2, True),
                                         justify="left", anchor="w", wraplength=wrap - 2 * pad)
        self.widgets["quote"].pack(fill="x", padx=pad, pady=(int(pad / 2), 0))
        self.widgets["source"] = tk.Label(quote, bg=QUOTE_BG, fg=GREY, font=self._font(0.9), anchor="e",
                                          justify="right", wraplength=wrap - 2 * pad)
        self.widgets["source"].pack(fill="x", padx=pad, pady=(2, int(pad / 2)))
        # The organisation's own words (policy custom_message) stand apart from
        # the official quote so they are never read as the authorities' text.
        self.widgets["custom"] = tk.Label(inner, bg=PAPER, fg=INK, font=self._font(1.1, True), justify="left",
                                          anchor="w", wraplength=wrap)
        self.widgets["custom"].pack(fill="x", pady=(int(pad / 2), 0))
        self.widgets["tips"] = tk.Label(inner, bg=PAPER, fg=INK, font=self._font(1.05), justify="left",
                                        anchor="w", wraplength=wrap)
        self.widgets["tips"].pack(fill="x", pady=(int(pad / 2), 0))
        self.widgets["hotline_text"] = tk.Label(inner, bg=PAPER, fg=DARK_RED, font=self._font(1.1, True),
                                                justify="left", anchor="w", wraplength=wrap)
        self.widgets["hotline_text"].pack(fill="x", pady=(int(pad / 2), 0))

        # The safe choice is the first, biggest, reddest button and has the
        # focus (Enter presses it); "continue" is the smallest and quietest.
        self.widgets["safe_choice"] = tk.Label(buttons, bg=PAPER, fg=DARK_RED, font=self._font(1.3, True),
                                               wraplength=wrap)
        self.widgets["safe_choice"].grid(row=0, column=0, columnspan=3, pady=(0, int(pad / 2)))
        self.widgets["stop"] = tk.Button(buttons, bg=RED, fg=WHITE, activebackground=DARK_RED,
                                         activeforeground=WHITE, command=lambda: self._choose("stop_sharing"),
                                         font=self._font(1.6, True), bd=0, padx=pad, pady=int(pad * 0.8),
                                         cursor="hand2", highlightthickness=3, highlightcolor=INK,
                                         highlightbackground=PAPER, wraplength=int(width / 2) - 3 * pad)
        # Stop gets two of four columns, hotline and continue one each.
        small_wrap = int(width / 4) - 2 * pad
        self.widgets["hotline"] = tk.Button(buttons, bg="#1565c0", fg=WHITE, activebackground="#0d47a1",
                                            activeforeground=WHITE, command=self._hotline,
                                            font=self._font(1.1, True), bd=0, padx=int(pad / 2),
                                            pady=int(pad / 2), cursor="hand2", highlightthickness=0,
                                            wraplength=small_wrap)
        self.widgets["continue"] = tk.Button(buttons, bg="#e0e0e0", fg=INK, disabledforeground="#6b6b6b",
                                             command=self._continue, font=self._font(1.0), bd=0,
                                             padx=int(pad / 2), pady=int(pad / 2), cursor="hand2",
                                             highlightthickness=0, wraplength=small_wrap)
        for i, (name, weight) in enumerate((("stop", 2), ("hotline", 1), ("continue", 1))):
            buttons.columnconfigure(i, weight=weight, uniform="buttons")
            self.widgets[name].grid(row=1, column=i, padx=int(pad / 2), sticky="nsew")
        self._base_fonts = {name: str(widget.cget("font")) for name, widget in self.widgets.items()}
        self._fill_texts(config)
        self.widgets["stop"].focus_set()

    def _fill_texts(self, config: Dict) -> None:
        lang = config.get("lang", "en")
        view = self.view or {}
        w = self.widgets
        if not w:
            return
        w["headline"].configure(text=t("warning.headline", lang))
        w["lead"].configure(text=t("warning.lead", lang))
        w["detected_title"].configure(text=t("warning.detected_title", lang))
        w["detected"].configure(text="\n".join("\u25cf " + line for line in messages.detected_lines(view, lang)))
        frozen = view.get("frozen") or []
        w["frozen"].configure(text=t("warning.frozen", lang, apps=messages.join(frozen, lang)) if frozen else "")
        custom = config.get("custom_message")
        w["quote"].configure(text=t("warning.official_quote", lang))
        w["custom"].configure(text=custom or "")
        if custom:
            w["custom"].pack(fill="x", pady=(int(self.base * 0.6), 0), before=w["tips"])
        else:
            w["custom"].pack_forget()
        w["source"].configure(text=t("warning.official_source", lang))
        w["tips"].configure(text="\n".join("\u2022 " + tip for tip in messages.official_tips(lang)))
        hotlines = config.get("hotlines") or default_hotlines()
        help_url = config.get("help_url")
        w["hotline_text"].configure(text=t("warning.hotline", lang, hotlines=" / ".join(hotlines))
                                    + ("\n" + t("warning.help_url", lang, url=help_url) if help_url else ""))
        w["safe_choice"].configure(text=t("warning.safe_choice", lang))
        w["stop"].configure(text=t("warning.button.stop", lang))
        w["hotline"].configure(text=t("warning.button.hotline", lang, hotline=hotlines[0]))
        self._update_continue()
        if self._shrunk:
            # Fit these texts from the full type size, as a window built for them would.
            for name, font in self._base_fonts.items():
                self.widgets[name].configure(font=font)
            self._shrunk = False
        self._fit()

    def _fit(self, min_pixels: int = 11) -> None:
        """Shrink the type until the main window's content fits its screen.

        A long custom message from IT, a long app name or a 1024x600 screen
        would otherwise push the hotline line out of sight under the buttons.
        Each pass scales every font of the main window by 0.9, down to
        ``min_pixels``; the buttons keep their order and stay on screen.
        """
        if not self.windows:
            return
        main = self.windows[0]
        for _ in range(8):
            main.update_idletasks()
            if main.winfo_reqheight() <= self._screen_height:
                return
            shrunk = False
            for widget in self.widgets.values():
                # Fonts are (family, -pixels, weight) tuples (see _font).
                family, size, *style = self.root.tk.splitlist(widget.cget("font"))
                pixels = abs(int(size))
                if pixels > min_pixels:
                    widget.configure(font=(family, -max(min_pixels, int(pixels * 0.9)), *style))
                    shrunk = self._shrunk = True
            if not shrunk:
                return

    # --- behaviour ----------------------------------------------------------------
    def _update_continue(self) -> None:
        lang = self.config.get("lang", "en")
        button = self.widgets.get("continue")
        if button is None:
            return
        if self.remaining > 0:
            button.configure(state="disabled", cursor="arrow",
                             text=t("warning.button.continue_wait", lang, seconds=self.remaining))
        else:
            button.configure(state="normal", cursor="hand2", text=t("warning.button.continue", lang))

    def _start_countdown(self, config: Dict) -> None:
        seconds = max(0, int(config.get("countdown_seconds", 10)))
        self._countdown_end = time.monotonic() + seconds
        self.remaining = seconds

    def _tick(self) -> None:
        """Show the seconds left and enable "continue" at the end, by the monotonic clock.

        Tk's timers follow the wall clock and may fire early or late; the agent
        refuses a "continue" before its own monotonic countdown ends (started
        when it sent the alert, just before this one), so the button must never
        be enabled before this end. Each tick reads the clock and waits for the
        next whole second.
        """
        left = self._countdown_end - time.monotonic()
        self.remaining = max(0, math.ceil(left))
        self._update_continue()
        if self.remaining > 0:
            self._tick_job = self.root.after(int((left - (self.remaining - 1)) * 1000) + 1, self._tick)
        else:
            self._tick_job = None

    def _continue(self) -> None:
        # Tk ignores clicks on a disabled button; this guard covers keyboard
        # activation and any event that slips through before the countdown ends.
        if self.remaining > 0 or time.monotonic() < self._countdown_end:
            return
        self._choose("continue")

    def _hotline(self) -> None:
        lang = self.config.get("lang", "en")
        hotline = (self.config.get("hotlines") or default_hotlines())[0]
        self.widgets["hotline_text"].configure(text=t("warning.hotline_shown", lang, hotline=hotline))
        self.on_choice("hotline", self.key)

    def _choose(self, choice: str) -> None:
        key = self.key
        self._chosen[key] = time.monotonic()
        self.hide()
        self.on_choice(choice, key)

    def _on_map(self, event) -> None:
        if not self._shown or event.widget is not self.windows[0]:
            return
        if self.mapped_at is None:
            self.mapped_at = time.monotonic()
            self.on_report({"event": "shown", "alert_key": self.key, "mapped_at": self.mapped_at,
                            "wall_time": time.time()})
        self._grab()

    def _grab(self) -> None:
        if not self.windows:
            return
        main = self.windows[0]
        try:
            main.grab_set_global()
        except tk.TclError:
            # Another client holds a grab (a menu, a screen locker): fall back
            # to a local grab and keep retrying from the watchdog.
            try:
                main.grab_set()
            except tk.TclError:
                pass

    def _watchdog(self) -> None:
        """Keep every warning window mapped, on top and focused while it shows."""
        for win in self.windows:
            try:
                if win.state() != "normal":
                    win.deiconify()
                win.attributes("-topmost", True)
                win.lift()
            except tk.TclError:
                pass
        if self.windows:
            main = self.windows[0]
            try:
                if main.grab_status() != "global":
                    self._grab()
                if main.focus_get() is None:
                    main.focus_force()
            except (tk.TclError, KeyError):
                pass
        self._watch_job = self.root.after(WATCHDOG_MS, self._watchdog)

    def _schedule_report(self) -> None:
        if not self._shown:
            return  # a hidden build's layout is nobody's business
        if self._report_job is not None:
            self.root.after_cancel(self._report_job)
        self._report_job = self.root.after(150, self._report_geometry)

    def _report_geometry(self) -> None:
        self._report_job = None
        if not self._shown:
            return
        windows: List[Dict[str, int]] = []
        buttons: Dict[str, List[int]] = {}
        info: Dict[str, Any] = {"event": "geometry", "alert_key": self.key, "windows": windows, "buttons": buttons}
        for win in self.windows:
            windows.append({"id": int(win.wm_frame(), 16) if win.wm_frame() else win.winfo_id(),
                                    "x": win.winfo_rootx(), "y": win.winfo_rooty(),
                                    "width": win.winfo_width(), "height": win.winfo_height()})
        for name in ("stop", "hotline", "continue"):
            b = self.widgets.get(name)
            if b is not None:
                buttons[name] = [b.winfo_rootx(), b.winfo_rooty(), b.winfo_width(), b.winfo_height()]
        if any(w["width"] <= 1 for w in windows) or any(b[2] <= 1 for b in buttons.values()):
            # Not laid out yet (Tk under Windows places a once-withdrawn window's widgets
            # only after the map settles): a report now would send clicks to (0, 0).
            self._report_job = self.root.after(50, self._report_geometry)
            return
        if info != self._last_geometry:
            self._last_geometry = info
            self.on_report(info)
