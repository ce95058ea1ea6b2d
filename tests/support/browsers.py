"""Real browsers with the companion loaded, and pages from a local HTTP server.

Pages are served on 127.0.0.1 only; the browser maps the seeds' domains to it
(Chromium ``--host-resolver-rules``, Firefox ``network.dns.localDomains``).
Each page's title comes from the table handed to :class:`PageServer`; a
page with ``?share=SURFACE`` starts a display capture on load and stops it
when the test calls :meth:`PageServer.command` with ``stop``.
"""

from __future__ import annotations

import html
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
from typing import Dict, List, Optional

from tests.support.waiting import wait_until
from tests.support.xsession import require, require_programs

SHARE_SCRIPT = """
<script>
// Test page: starts a display capture when the test says so (long-poll on /control).
const me = new URLSearchParams(location.search).get("id") || "page";
const base = document.title;
let stream = null;
async function share(surface, self) {
  const options = {video: {displaySurface: surface}, audio: false};
  if (surface === "browser") { options.preferCurrentTab = self; options.selfBrowserSurface = "include"; }
  try {
    stream = await navigator.mediaDevices.getDisplayMedia(options);
    document.title = base + " [sharing]";
  } catch (e) {
    document.title = base + " [error " + e.name + "]";
  }
}
async function poll() {
  while (true) {
    try {
      const r = await fetch("/control?id=" + me, {cache: "no-store"});
      const cmd = await r.text();
      if (cmd === "stop" && stream) { stream.getTracks().forEach((t) => t.stop()); stream = null;
        document.title = base + " [stopped]"; }
      if (cmd.startsWith("share:")) { const [, surface, self] = cmd.split(":"); await share(surface, self === "self"); }
    } catch (e) { await new Promise((ok) => setTimeout(ok, 200)); }
  }
}
poll();
</script>
"""


class PageServer:
    """A loopback HTTP server: host name -> page title; long-poll control per page id."""

    def __init__(self, titles: Dict[str, str]) -> None:
        self.titles = dict(titles)
        self._commands: Dict[str, List[str]] = {}
        self._cond = threading.Condition()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/control":
                    page = urllib.parse.parse_qs(url.query).get("id", ["page"])[0]
                    body = server._wait_command(page).encode()
                    self._send(body, "text/plain")
                    return
                host = (self.headers.get("Host") or "").split(":")[0]
                title = server.titles.get(host, host)
                body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                        f"</head><body><h1>{html.escape(title)}</h1>{SHARE_SCRIPT}</body></html>").encode()
                self._send(body, "text/html; charset=utf-8")

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the page navigated away mid-poll

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, host: str, path: str = "/", **query: str) -> str:
        q = ("?" + urllib.parse.urlencode(query)) if query else ""
        return f"http://{host}:{self.port}{path}{q}"

    def command(self, page: str, cmd: str) -> None:
        with self._cond:
            self._commands.setdefault(page, []).append(cmd)
            self._cond.notify_all()

    def _wait_command(self, page: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._commands.get(page):
                left = deadline - time.monotonic()
                if left <= 0:
                    return ""
                self._cond.wait(left)
            return self._commands[page].pop(0)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def chromium_binary() -> str:
    require_programs("chromium")
    return shutil.which("chromium") or "chromium"


def chromium_command(user_data_dir: str, extension_dir: str, hosts: List[str], port: int, urls: List[str],
                     lang: str = "en-US", tab_title: Optional[str] = None) -> List[str]:
    """Chromium as root in a test: fresh profile, the companion unpacked, the seeds' hosts on loopback."""
    rules = ",".join(f"MAP {h} 127.0.0.1" for h in hosts) + ",EXCLUDE localhost"
    secure = ",".join(f"http://{h}:{port}" for h in hosts)
    cmd = [chromium_binary(), "--no-sandbox", "--disable-background-networking", "--disable-component-update",
           "--no-first-run", "--disable-sync", "--no-default-browser-check", "--disable-gpu",
           "--password-store=basic", f"--user-data-dir={user_data_dir}", f"--lang={lang}",
           f"--load-extension={extension_dir}", f"--disable-extensions-except={extension_dir}",
           f"--host-resolver-rules={rules}", f"--unsafely-treat-insecure-origin-as-secure={secure}",
           "--auto-accept-this-tab-capture", "--auto-select-desktop-capture-source=Entire screen"]
    if tab_title:
        cmd.append(f"--auto-select-tab-capture-source-by-title={tab_title}")
    return cmd + urls


def firefox_binary() -> str:
    require_programs("firefox-esr")
    return shutil.which("firefox-esr") or "firefox-esr"


def firefox_profile(profile: str, xpi: str, hosts: List[str], port: int) -> None:
    """A fresh Firefox ESR profile with the unsigned companion side-loaded (ESR honours signatures=false)."""
    from agent.companion import FIREFOX_ID

    os.makedirs(os.path.join(profile, "extensions"), exist_ok=True)
    shutil.copyfile(xpi, os.path.join(profile, "extensions", FIREFOX_ID + ".xpi"))
    prefs = {
        "xpinstall.signatures.required": False,
        "extensions.autoDisableScopes": 0,
        "extensions.enabledScopes": 15,
        "extensions.startupScanScopes": 15,
        "network.dns.localDomains": ",".join(hosts),
        "dom.securecontext.allowlist": ",".join(hosts),
        "browser.shell.checkDefaultBrowser": False,
        "browser.startup.homepage_override.mstone": "ignore",
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.reportingpolicy.firstRun": False,
        "app.update.enabled": False,
        "extensions.update.enabled": False,
        "browser.aboutwelcome.enabled": False,
        "trailhead.firstrun.didSeeAboutWelcome": True,
        "browser.tabs.warnOnClose": False,
    }
    with open(os.path.join(profile, "user.js"), "w", encoding="utf-8") as fh:
        for key, value in prefs.items():
            fh.write(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail saying ``what``."""
    return wait_until(predicate, timeout, what, interval, show_last=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


__all__ = ["PageServer", "chromium_command", "firefox_profile", "wait_for", "stop", "require"]


class ChromiumRig:
    """Chromium under a test X session with the companion really installed.

    The host is registered the way ``shareguard browser install --user`` does it
    (in a throwaway HOME whose ~/.config/chromium is the profile); the agent's
    receiver listens on a private channel in a temp folder that the host finds
    through ``SHAREGUARD_COMPANION_CHANNEL``.
    """

    def __init__(self, session, workdir: str, titles: Dict[str, str], lang: str = "en-US",
                 tab_title: Optional[str] = None) -> None:
        from agent.companion import extension, install
        from agent.companion.receiver import CompanionReceiver

        self.session, self.workdir = session, workdir
        self.server = PageServer(titles)
        self.hosts = sorted(titles)
        self.home = os.path.join(workdir, "home")
        self.socket = os.path.join(workdir, "run", "companion.sock")
        install.install(install.Layout(platform="linux", scope="user", home=self.home), ["chromium"])
        self.extension = extension.build_tree("chromium", os.path.join(workdir, "extension"))
        self.receiver = CompanionReceiver(self.socket)
        assert self.receiver.start(), self.receiver.problem
        self.env = dict(session.env, HOME=self.home, SHAREGUARD_COMPANION_CHANNEL=self.socket,
                        LANGUAGE=lang.replace("-", "_"), LANG=lang.replace("-", "_") + ".UTF-8")
        self.lang, self.tab_title = lang, tab_title
        self.procs: List[subprocess.Popen] = []
        self.log = os.path.join(workdir, "chromium.log")

    def command(self, urls: List[str], new_window: bool = False) -> List[str]:
        cmd = chromium_command(os.path.join(self.home, ".config", "chromium"), self.extension, self.hosts,
                               self.server.port, urls, lang=self.lang, tab_title=self.tab_title)
        if new_window:
            cmd.insert(-len(urls), "--new-window")
        return cmd

    def open(self, url: str, new_window: bool = True) -> None:
        """Open ``url`` (the first call starts the browser; later ones open a window in it)."""
        first = not self.procs
        with open(self.log, "a") as log:
            self.procs.append(subprocess.Popen(self.command([url], new_window=not first and new_window), env=self.env,
                                               stdout=log, stderr=subprocess.STDOUT))
        if first:
            wait_for(lambda: self.reporting(), 60, "Chromium's companion to report (see chromium.log)")

    def process_tree(self) -> set:
        """The pids of the browsers started here and of all their children."""
        import psutil

        pids = set()
        for proc in self.procs:
            try:
                root = psutil.Process(proc.pid)
                pids |= {proc.pid} | {c.pid for c in root.children(recursive=True)}
            except psutil.Error:
                continue
        return pids

    def reporting(self) -> bool:
        return any(b["reporting"] for b in self.receiver.reports.browsers())

    def pages(self):
        return self.receiver.pages()

    def page(self, host: str):
        """The reported page on ``host`` (None if not reported)."""
        for p in self.pages():
            if f"//{host}:" in p.url:
                return p
        return None

    def wait_page(self, host: str, what: str, timeout: float = 20, **expected):
        def check():
            p = self.page(host)
            return p if p is not None and all(getattr(p, k) == v for k, v in expected.items()) else None
        return wait_for(check, timeout, f"{what} ({host} with {expected}); pages: {self.pages()}")

    def close(self) -> None:
        for proc in self.procs:
            stop(proc)
        self.receiver.stop()
        self.server.close()


class CompanionGuard:
    """The agent's judging half over a rig: the Linux collector on the rig's display plus its
    receiver's pages, and the engine with the built-in signatures."""

    def __init__(self, rig) -> None:
        from agent.collectors._linux import LinuxApi, LinuxCollector
        from agent.companion.collector import WithPages
        from agent.engine import Engine
        from agent.signatures.loader import load_signatures

        self.rig = rig
        self.collector = WithPages(LinuxCollector(LinuxApi(display=rig.session.display), connections=None),
                                   rig.receiver)
        self.engine = Engine(load_signatures(None))
        self.snapshot = None

    def verdict(self):
        """The engine's verdict on this display, for the processes of the rig's browser only:
        other tests on the machine may run share tools (a RustDesk, a Zoom) at the same time."""
        import dataclasses

        snap = self.collector.snapshot()
        mine = self.rig.process_tree()
        self.snapshot = dataclasses.replace(snap, processes=tuple(p for p in snap.processes if p.pid in mine))
        return self.engine.evaluate(self.snapshot)

    def until(self, what: str, predicate, timeout: float = 20):
        """The first verdict for which ``predicate`` holds (fails with the last verdict and pages)."""
        last: list = []

        def check():
            v = self.verdict()
            last[:] = [v]
            return v if predicate(v) else None
        try:
            return wait_for(check, timeout, what)
        except AssertionError:
            v = last[0] if last else None
            raise AssertionError(f"{what}: last verdict {v and v.to_json()}; pages {self.rig.pages()}") from None
