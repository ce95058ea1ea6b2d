"""The parent side of the UI helper: a Responder that feeds the helper process.

Detection never waits for the UI: :meth:`UiClient.handle` only writes one
JSON line to the helper's channel. The helper runs the tray, toasts and the
blocking warning; agent.ui.protocol defines what they say. If it dies, a
supervisor thread starts it again at once and re-sends the current state,
so a warning killed while the danger lasts comes back.

Nothing the helper says is trusted blindly (docs/security.md): the channel
is private and authenticated (agent/ui/channel.py), every message's fields
are checked (agent/ui/protocol.py), a "continue" before the countdown has
run out by this process's own clock is ignored, and a helper that does not
acknowledge a message within ACK_SECONDS is deaf: it is killed, restarted
and reported (``ui_helper_restarted``).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional

from agent.audit import AuditTrail
from agent.audit.events import current_user
from agent.model import Snapshot, UserEvent, Verdict
from agent.policy.keys import default_hotlines
from agent.policy.placeholders import expand
from agent.policy.reader import PolicyReader
from agent.responders.base import EventSink, Responder
from agent.responders.process_control import emit_if_known
from agent.ui import RuntimeControls, messages, paused_until, policy_value, protocol
from agent.ui.channel import TO_AGENT, TO_HELPER, Opener, Sealer, hello_line, new_secret
from agent.ui.messages import t
from agent.ui.protocol import UI_HELPER_FLAG
from agent.ui.view import summarize

log = logging.getLogger(__name__)

#: Choices that go back to the engine; "hotline" is only recorded.
ENGINE_CHOICES = ("continue", "stop_sharing", "dismiss")

#: Restarts allowed per minute while no alert is up (a crash loop stays cheap);
#: while an alert is up the helper is always restarted at once.
CALM_RESTARTS_PER_MINUTE = 5

#: A running helper acknowledges each message in milliseconds; one that has not
#: within this many seconds is deaf (wedged, or stopped) and is restarted.
ACK_SECONDS = 5.0
#: The same bound while it starts (Tk, tray and notification service set-up).
START_SECONDS = 30.0
#: Choices that take the warning down early: only after the countdown, by our clock.
COUNTDOWN_CHOICES = ("continue", "dismiss")


def hotline_list(value: Any) -> List[str]:
    """Policy ``hotlines`` (mapping region -> number, list, or text) as a list of numbers."""
    if isinstance(value, dict):
        return [str(v) for v in value.values()] or default_hotlines()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value] or default_hotlines()
    return [str(value)] if value else default_hotlines()


def helper_command(python: Optional[str] = None) -> List[str]:
    """The command that starts the UI helper process.

    From sources or a wheel: ``python -m agent.ui.helper``. In a frozen build
    (PyInstaller) ``sys.executable`` is shareguard.exe itself, which has no
    ``-m``: it is started with the hidden ``--ui-helper`` argument instead.
    """
    if python is None and getattr(sys, "frozen", False):
        return [sys.executable, UI_HELPER_FLAG]
    return [python or sys.executable, "-m", "agent.ui.helper"]


class UiClient(Responder):
    """Responder that mirrors verdicts into the warm UI helper process."""

    name = "ui"

    def __init__(self, policy: Optional[PolicyReader], lang: str, audit: Optional[AuditTrail] = None,
                 controls: Optional[RuntimeControls] = None,
                 log_dir: str = "", python: Optional[str] = None, env: Optional[Dict[str, str]] = None,
                 tray: bool = True) -> None:
        self.policy = policy
        self.lang = lang
        self.audit = audit
        self.controls = controls
        self.python = python
        self.env = env
        self.default_log_dir = log_dir
        self.config = self._config(policy, lang, tray)
        self.post_event: EventSink = lambda event: None
        self.proc: Optional[subprocess.Popen] = None
        self._write_lock = threading.Lock()
        # Held while a helper is started and while close() takes the current one: a
        # restart racing close() would otherwise leave a helper nobody closes, showing
        # its warning after the guard stopped (found by the GUI tier run in a loop).
        self._spawn_lock = threading.Lock()
        self._cond = threading.Condition()
        self._closing = False
        self._restarts: Deque[float] = deque(maxlen=50)
        self.restart_count = 0
        self.last_view: Optional[Dict] = None
        self.last_tooltip = ""
        self.reports: List[Dict] = []
        self.ready: Optional[Dict] = None
        self.toasts_ok = True
        self._toasts_reported = False
        self._fallback_notice = ""
        self._toasted_first_seen: set = set()
        self._alert_key = ""  # the alert whose policy texts the helper has
        self._alert_texts: Optional[protocol.AlertTexts] = None
        self._alert_sent_at = 0.0  # monotonic time the current warning's countdown began
        self._alert_apps: set = set()  # the apps that warning names
        self._channel: Optional[Any] = None  # the agent's end of the helper's channel (file-like)
        self._sealer: Optional[Sealer] = None
        self._unacked: Dict[int, float] = {}  # sequence number -> monotonic time sent
        self._deaf = ""  # why the supervisor killed the helper
        self._ready_proc: Optional[subprocess.Popen] = None  # the helper that said "ready"
        self._toasted_warning = ""

    def _policy_texts(self, view: Dict) -> protocol.AlertTexts:
        """Record that the warning goes up, then the policy's custom message and
        help URL with their placeholders filled in for this alert.

        %event_id% is the id of the ``warning_shown`` audit event, so the IT
        page a help URL opens can find the very event in the fleet's logs.
        """
        apps = [s["name"] for s in view.get("blocking", [])]
        event = self._emit("warning_shown", apps=[s["app"] for s in view.get("blocking", [])]) or {}
        context = self.audit.context if self.audit is not None else None
        values = {
            "hostname": event.get("hostname") or socket.gethostname(),
            "username": event.get("user") or current_user(),
            "app": ", ".join(apps),
            # Without an audit log there is no event to point at; a fresh id
            # still lets the person quote one reference to IT.
            "event_id": event.get("event_id") or uuid.uuid4().hex,
            "device_id": event.get("device_id") or getattr(context, "device_id", ""),
        }
        return protocol.AlertTexts(custom_message=expand(self.config.custom_message, values),
                                   help_url=expand(self.config.help_url, values, url=True))

    def _config(self, policy: Optional[PolicyReader], lang: str, tray: bool) -> protocol.Config:
        """The helper's ``config`` message for ``policy`` in ``lang``."""
        return protocol.Config(
            lang=lang, tray=tray,
            countdown_seconds=int(policy_value(policy, "countdown_seconds")),
            hotlines=tuple(hotline_list(policy_value(policy, "hotlines"))),
            custom_message=policy_value(policy, "custom_message") or "",
            help_url=policy_value(policy, "help_url") or "",
            allow_pause=bool(policy_value(policy, "allow_pause")),
            allow_quit=bool(policy_value(policy, "allow_quit")),
            # The folder events really go to first: a machine log_dir holds one subfolder per user.
            log_dir=self.default_log_dir or policy_value(policy, "log_dir") or "",
        )

    def apply_policy(self, policy: PolicyReader, lang: str) -> None:
        """A reloaded policy: new language, countdown, hotlines, pause/quit rights.

        The helper takes a second ``config`` message as an update; the next
        verdict redraws the tooltip in the new language.
        """
        self.policy, self.lang = policy, lang
        self.config = self._config(policy, lang, self.config.tray)
        self.last_view = None
        if self.proc is not None:
            self._send(self.config)

    # --- Responder --------------------------------------------------------------
    def start(self, post_event: Optional[EventSink] = None) -> None:
        """Start the helper and its supervisor."""
        if post_event is not None:
            self.post_event = post_event
        self._spawn()
        threading.Thread(target=self._supervise, name="ui-supervisor", daemon=True).start()

    def handle(self, verdict: Verdict, snapshot: Snapshot) -> None:
        """Send the verdict's summary (and any toast it calls for) to the helper."""
        view = summarize(verdict, paused=paused_until(self.controls) > time.time())
        self._toasts_for(view)
        tooltip = self.tooltip(view)
        if view == self.last_view and tooltip == self.last_tooltip:
            return  # nothing on screen would change
        self.last_view, self.last_tooltip = view, tooltip
        if not view.get("alert"):
            self._alert_key = ""
            self._alert_apps = set()
        elif view.get("alert_key") != self._alert_key:
            apps = {s.get("app") for s in view.get("blocking") or []}
            if not self._alert_key or not apps <= self._alert_apps:
                # Our countdown clock restarts exactly when the warning's does
                # (agent/ui/warning_window.py): a new warning, or a new app in it.
                self._alert_sent_at = time.monotonic()
                self._alert_apps = apps
            self._alert_key = view["alert_key"]
            self._alert_texts = self._policy_texts(view)
            self._send(self._alert_texts)
        self._send(protocol.ShowView(view=view, tooltip=tooltip))

    def close(self) -> None:
        """Stop the helper (its windows go with it)."""
        with self._spawn_lock:
            self._closing = True
            proc = self.proc
        if proc is None:
            return
        self._send(protocol.Quit())
        self._close_channel()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)

    # --- words ---------------------------------------------------------------------
    def tooltip(self, view: Dict) -> str:
        """The tray tooltip: the state in one line (plus an undelivered notice)."""
        lang, state = self.lang, view.get("state")
        if state == "paused":
            until = time.strftime("%H:%M", time.localtime(paused_until(self.controls)))
            text = t("tray.state.paused", lang, until=until)
        elif state == "alert":
            # Red either way; the word says whether the warning is up (block)
            # or this is a caution (warning level: e.g. a remote tool merely running).
            key = "tray.state.alert" if view.get("alert") else "tray.state.careful"
            text = t(key, lang, details=messages.join(messages.detected_lines(view, lang), lang))
        elif state == "share":
            shares = messages.join([messages.describe_share(s, lang) for s in view["shares"]], lang)
            text = t("tray.state.share", lang, shares=shares)
        else:
            text = t("tray.state.watching", lang)
        if self._fallback_notice and not self.toasts_ok:
            text += "\n" + self._fallback_notice
        return text

    def _toasts_for(self, view: Dict) -> None:
        lang = self.lang
        # Monitor mode lists first-seen apps for the log only (level none): no toast.
        first_seen = (view.get("first_seen") or []) if view.get("level") != "none" else []
        for share in first_seen:
            if share["app"] in self._toasted_first_seen:
                continue
            self._toasted_first_seen.add(share["app"])
            self.toast(t("toast.first_seen.title", lang, app=share["name"]),
                       t("toast.first_seen.body", lang, app=share["name"]))
        key = view.get("warning_key") or ""
        if key and key != self._toasted_warning:
            names = [messages.sensitive_name(s, lang) for s in view.get("sensitive") or []]
            apps = [s["name"] for s in view.get("blocking") or []]
            posing = [messages.sensitive_name(s, lang) for s in view.get("sensitive") or []
                      if s.get("basis") == "impersonation"]
            if posing and not apps:
                # No share at all: the warning is about the page itself (docs/detection.md).
                self.toast(t("toast.impersonation.title", lang, name=posing[0]),
                           t("toast.impersonation.body", lang, name=posing[0]))
            else:
                self.toast(t("toast.warning.title", lang, sensitive=messages.join(names, lang),
                             app=messages.join(apps, lang)), t("toast.warning.body", lang))
        self._toasted_warning = key

    def toast(self, title: str, body: str) -> None:
        """Show a toast; without a notification service it goes into the tooltip."""
        if not self.toasts_ok:
            self._fallback_notice = title
            return
        self._send(protocol.Toast(title=title, body=body))
        self._fallback_notice = title

    def report_ended(self, ended: List[Dict]) -> None:
        """Called by the ProcessController: tell the user what "stop sharing" ended."""
        if ended:
            # Name the app the person knows ("RustDesk"), not its process ("rustdesk").
            by_pid = {pid: s["name"] for s in (self.last_view or {}).get("blocking", []) for pid in s.get("pids", ())}
            names = sorted({by_pid.get(e.get("pid"), e.get("name", "?")) for e in ended})
            self.toast(t("toast.ended.title", self.lang),
                       t("toast.ended.body", self.lang, apps=messages.join(names, self.lang)))

    # --- the helper process -------------------------------------------------------------
    def helper_pids(self) -> set:
        """Pids of our helper process (the ProcessController never touches them)."""
        proc = self.proc
        return {proc.pid} if proc is not None else set()

    def _spawn(self) -> None:
        with self._spawn_lock:
            if not self._closing:
                self._start_helper()

    def _start_helper(self) -> None:
        env = dict(self.env if self.env is not None else os.environ)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONIOENCODING", "utf-8")
        self._close_channel()   # the previous helper's, if any
        secret = new_secret()
        reader: Any    # lines from the helper
        writer: Any    # lines to the helper (write, flush, close)
        if hasattr(socket, "socketpair") and os.name == "posix":
            # One socketpair for the helper's stdin and stdout: unlike a pipe, a
            # socket cannot be opened by others through /proc/<pid>/fd.
            ours, theirs = socket.socketpair()
            try:
                proc = subprocess.Popen(helper_command(self.python), stdin=theirs.fileno(), stdout=theirs.fileno(),
                                        stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8")
            finally:
                theirs.close()
            reader = ours.makefile("r", encoding="utf-8", newline="\n")
            writer = _SocketWriter(ours)
        else:   # Windows: pipes; the HMAC is what guards them (docs/security.md)
            proc = subprocess.Popen(helper_command(self.python), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8", bufsize=1)
            reader, writer = proc.stdout, proc.stdin
        with self._write_lock:
            self.proc, self._channel = proc, writer
            self._sealer = Sealer(secret, TO_HELPER)
            self._unacked = {}
            self._write_line(hello_line(secret))
        opener = Opener(secret, TO_AGENT)
        threading.Thread(target=self._read_stdout, args=(proc, reader, opener), name="ui-read", daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(proc,), name="ui-stderr", daemon=True).start()
        self._send(self.config)
        if self._alert_texts is not None and self.last_view is not None and self.last_view.get("alert"):
            self._send(self._alert_texts)  # a restarted helper shows the same filled-in texts
        if self.last_view is not None:
            self._send(protocol.ShowView(view=self.last_view, tooltip=self.last_tooltip))

    def _supervise(self) -> None:
        while not self._closing:
            proc = self.proc
            code = self._wait_or_deaf(proc) if proc is not None else None
            if self._closing:
                return
            alert = bool(self.last_view and self.last_view.get("alert"))
            now = time.monotonic()
            recent = sum(1 for t0 in self._restarts if now - t0 < 60)
            reason, self._deaf = self._deaf or f"exited with status {code}", ""
            log.error("the UI helper (pid %s) %s; restarting%s", proc.pid if proc else "?",
                      reason, " at once: an alert is up" if alert else "")
            self._emit("ui_helper_restarted", exit_status=code, alert=alert, reason=reason)
            if not alert and recent >= CALM_RESTARTS_PER_MINUTE:
                time.sleep(30)
            elif recent >= 1:
                time.sleep(0.2)
            if self._closing:
                return
            self._restarts.append(time.monotonic())
            self.restart_count += 1
            try:
                self._spawn()
            except OSError as exc:
                log.error("cannot restart the UI helper: %s", exc)
                time.sleep(5)

    def _wait_or_deaf(self, proc: subprocess.Popen) -> Optional[int]:
        """Wait until the helper exits, or kill it once it is deaf; its exit status."""
        while True:
            try:
                return proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            if self._closing:
                return None
            with self._write_lock:
                oldest = min(self._unacked.values(), default=None)
                started = self._ready_proc is proc
            bound = ACK_SECONDS if started else START_SECONDS
            if oldest is not None and time.monotonic() - oldest > bound:
                self._deaf = f"did not answer within {bound:g} s (alive but deaf)"
                log.error("the UI helper (pid %s) %s; killing it", proc.pid, self._deaf)
                proc.kill()

    def _send(self, message: protocol.ParentMessage) -> None:
        self._send_wire(protocol.to_wire(message))

    def _send_wire(self, data: Dict[str, Any]) -> None:
        """Seal one JSON object onto the channel and wait for its acknowledgement."""
        with self._write_lock:
            if self.proc is None or self._channel is None or self._sealer is None:
                return
            line = self._sealer.seal(data)
            self._unacked[self._sealer.last] = time.monotonic()
            self._write_line(line)

    def _write_line(self, line: str) -> None:
        channel = self._channel
        if channel is None:
            return
        try:
            channel.write(line + "\n")
            channel.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the supervisor restarts it and re-sends the state

    def _close_channel(self) -> None:
        channel = self._channel
        try:
            if channel is not None:
                channel.close()   # the helper reads end-of-file and exits
        except OSError:
            pass

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr or ():
            line = line.rstrip()
            if line:
                log.warning("ui helper: %s", line)

    def _read_stdout(self, proc: subprocess.Popen, reader: Any, opener: Opener) -> None:
        try:
            for line in reader:
                try:
                    raw = opener.open(line)
                    msg = protocol.helper_message(raw)
                except protocol.ProtocolError as exc:   # a ChannelError too
                    # Forged, replayed or malformed: never acted on (docs/security.md).
                    log.warning("refused a message on the UI helper channel: %s", exc)
                    continue
                if isinstance(msg, protocol.Ack):
                    with self._write_lock:
                        if proc is self.proc:
                            for seq in [s for s in self._unacked if s <= msg.seq]:
                                del self._unacked[seq]
                    continue
                if isinstance(msg, protocol.Ready):
                    with self._write_lock:
                        self._ready_proc = proc
                try:
                    self._handle_message(raw, msg)
                except Exception:
                    log.exception("cannot handle the UI helper's message %r", msg)
        except (OSError, ValueError):
            pass   # the channel closed under us: the supervisor handles the helper
        finally:
            try:
                reader.close()
            except OSError:
                pass

    def _on_message(self, raw: Dict[str, Any]) -> None:
        """Act on one helper message; ``raw``, its JSON object, is kept for tests and logs."""
        self._handle_message(raw, protocol.helper_message(raw))

    def _handle_message(self, raw: Dict[str, Any], msg: protocol.HelperMessage) -> None:
        if isinstance(msg, protocol.Ready):
            self.ready = raw
            if not msg.tray:
                log.warning("no tray icon: %s", msg.tray_error)
            if not msg.toasts:
                self._toasts_unavailable(msg.toasts_why or "unknown")
        elif isinstance(msg, protocol.Choice):
            self._on_choice(msg.choice, msg.alert_key)
        elif isinstance(msg, protocol.Control):
            self._on_control(msg)
        elif isinstance(msg, protocol.ToastResult):
            if not msg.ok:
                self._toasts_unavailable(msg.why or "unknown")
        elif isinstance(msg, protocol.Log):
            level = {"error": logging.ERROR, "warning": logging.WARNING}.get(msg.level, logging.INFO)
            log.log(level, "ui helper: %s", msg.message)
        elif isinstance(msg, protocol.Report):
            if msg.event == "shown":
                log.info("the warning is on screen")
        elif isinstance(msg, protocol.Fatal):
            log.error("the UI helper cannot start: %s", msg.message)
        with self._cond:
            if not isinstance(msg, (protocol.Log, protocol.Fatal, protocol.Ack)):
                self.reports.append(raw)
            self._cond.notify_all()

    def _on_choice(self, choice: str, alert_key: str) -> None:
        view = self.last_view or {}
        if choice in COUNTDOWN_CHOICES and not self._countdown_over(alert_key):
            return
        if choice in ENGINE_CHOICES:
            # The audit responder records it when the engine receives it.
            self.post_event(UserEvent(choice))
        else:
            self._emit("user_choice", action=choice, apps=[s["app"] for s in view.get("blocking", [])],
                       sensitive=[s["id"] for s in view.get("sensitive", [])])

    def _countdown_over(self, alert_key: str) -> bool:
        """May the warning of ``alert_key`` be taken down now? By our own clock, not the helper's."""
        countdown = float(self.config.countdown_seconds or 0)
        elapsed = time.monotonic() - self._alert_sent_at
        if alert_key != self._alert_key:
            log.warning("ignored a choice for warning %r: the warning up is %r", alert_key, self._alert_key)
        elif elapsed < countdown:
            log.warning("ignored 'continue' %.1f s into a %g s countdown (not from the warning's button)",
                        elapsed, countdown)
        else:
            return True
        # Send the view again at the next verdict: a helper that hid its warning shows it again.
        self.last_view = None
        return False

    def _on_control(self, msg: protocol.Control) -> None:
        op, controls = msg.op, self.controls
        if op == "pause" and self.config.allow_pause:
            seconds = float(msg.seconds or 0)
            self._emit("paused", seconds=seconds)
            if controls is not None:
                controls.pause(seconds)
        elif op == "resume":
            self._emit("resumed")
            if controls is not None:
                controls.resume()
        elif op == "quit" and self.config.allow_quit:
            self._emit("quit_by_user")
            if controls is not None:
                controls.quit()
        else:
            log.warning("tray asked for %r, which policy does not allow", op)

    def _toasts_unavailable(self, why: str) -> None:
        self.toasts_ok = False
        if not self._toasts_reported:
            # Say it once, plainly; the tooltip carries notices from now on.
            self._toasts_reported = True
            log.warning("%s (%s)", t("toast.unavailable", "en"), why)
            self._emit("notifications_unavailable", reason=why)

    def _emit(self, event_type: str, **fields: Any) -> Optional[Dict]:
        return emit_if_known(self.audit, event_type, **fields)

    # --- for tests and benchmarks ----------------------------------------------------
    def wait_report(self, predicate: Callable[[Dict], bool], timeout: float = 15.0) -> Dict:
        """Wait until the helper sent a message matching ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for msg in self.reports:
                    if predicate(msg):
                        return msg
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching UI helper message within {timeout}s: {self.reports[-5:]}")
                self._cond.wait(left)


class _SocketWriter:
    """Text lines into one end of the helper's socketpair; close() half-closes it
    so the helper sees end-of-file, then releases the socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._file = sock.makefile("w", encoding="utf-8", newline="\n")

    def write(self, text: str) -> None:
        self._file.write(text)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        try:
            self._file.close()
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._sock.close()
