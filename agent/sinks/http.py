"""HTTP JSON batches (Splunk HEC or a generic webhook) through an on-disk spool.

Every event is first appended to the spool (one JSON line; the open segment
is fsynced on each burst), so once spooled, a collector that is down, a
network outage or a killed agent loses nothing (events still in the audit
queue when the agent is killed are counted and reported: docs/events.md,
"What can be lost"). A sender thread posts sealed segments oldest
first; a segment is deleted (one atomic unlink) only after a 2xx answer.

Delivery guarantee, honestly: HTTP gives at-least-once. If the agent dies
after the collector accepted a batch but before the unlink, that batch is
sent again on restart. The window is the few microseconds between reading
the response and the unlink, and each event carries a unique ``event_id``
so a collector (or a Splunk search with ``dedup event_id``) can detect a
duplicate. Kills at any other moment, including the whole time the
collector is down, produce neither loss nor duplicates.

Layout of the spool directory (one agent per directory, held by a lock):
    0000000000000042.open    the segment being appended to
    0000000000000041.ready   sealed, waiting to be posted
A segment is sealed (renamed .open -> .ready) when it holds ``batch_size``
events or is ``flush_seconds`` old. On start, leftover ``.open`` segments
of a killed agent are sealed; a torn last line (killed mid-write) is
skipped when the segment is read.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional

from agent.safe_files import open_nofollow, private_dir
from agent.sinks.base import Writer, log
from agent.sinks.serializers import hec_batch, webhook_batch


class SpoolBusy(RuntimeError):
    """Another agent process owns this spool directory."""


class Spool:
    """The durable queue of serialized events, in segments of one batch each."""

    #: os.write, replaceable per instance to inject faults (a full disk) in tests.
    _os_write = staticmethod(os.write)

    def __init__(self, directory: str, batch_size: int = 100, flush_seconds: float = 2.0,
                 max_bytes: int = 50 * 1024 * 1024,
                 on_drop: Optional[Callable[[int, str], None]] = None) -> None:
        self.dir = directory
        self.batch_size = int(batch_size)
        self.flush_seconds = float(flush_seconds)
        self.max_bytes = int(max_bytes)
        self.on_drop = on_drop
        self.ready = threading.Event()       # set when a sealed segment waits
        self._lock = threading.Lock()
        self._fd: Optional[int] = None
        self._open_path = ""
        self._open_count = 0
        self._open_since = 0.0
        self._dirty = False
        private_dir(directory)   # ours and 0700, never through a planted link (docs/security.md)
        self._lock_fd = _lock_dir(directory)
        self._seq = self._max_seq()
        self._recover()

    # -- file names ---------------------------------------------------------
    def _max_seq(self) -> int:
        seqs = [int(n.split(".")[0]) for n in os.listdir(self.dir)
                if n.endswith((".open", ".ready")) and n.split(".")[0].isdigit()]
        return max(seqs, default=0)

    def _recover(self) -> None:
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".open"):
                path = os.path.join(self.dir, name)
                if os.path.getsize(path) == 0:
                    os.remove(path)
                else:
                    os.replace(path, path[:-5] + ".ready")
        _fsync_dir(self.dir)
        if self.pending():
            self.ready.set()

    def pending(self) -> List[str]:
        """Sealed segments, oldest first."""
        return sorted(n for n in os.listdir(self.dir) if n.endswith(".ready"))

    # -- writing ------------------------------------------------------------
    def append(self, line: bytes) -> None:
        """Add one JSON line (durable after the next :meth:`flush`)."""
        with self._lock:
            if self._fd is None:
                self._seq += 1
                self._open_path = os.path.join(self.dir, f"{self._seq:016d}.open")
                self._fd = open_nofollow(self._open_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL)
                self._open_count = 0
                self._open_since = time.monotonic()
            data = line if line.endswith(b"\n") else line + b"\n"
            start = os.fstat(self._fd).st_size
            view = memoryview(data)
            try:
                while view:
                    view = view[self._os_write(self._fd, view):]
            except OSError:
                # A full disk mid-line: cut the fragment off, or the next line
                # would be glued to it and skipped as torn when read (uncounted).
                try:
                    os.ftruncate(self._fd, start)
                except OSError:
                    os.close(self._fd)      # a fresh segment next time; the reader skips the fragment
                    self._fd = None
                raise
            self._open_count += 1
            self._dirty = True
            if self._open_count >= self.batch_size:
                self._seal_locked()

    def flush(self) -> None:
        """fsync the open segment: everything appended so far survives a kill or power cut."""
        with self._lock:
            if self._fd is not None and self._dirty:
                os.fsync(self._fd)
                self._dirty = False

    def seal_if_due(self, force: bool = False) -> None:
        """Seal the open segment when it is ``flush_seconds`` old (or now)."""
        with self._lock:
            if self._fd is not None and (force or time.monotonic() - self._open_since >= self.flush_seconds):
                self._seal_locked()

    def _seal_locked(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        os.fsync(fd)
        os.close(fd)
        self._dirty = False
        os.replace(self._open_path, self._open_path[:-5] + ".ready")
        _fsync_dir(self.dir)
        self._enforce_limit()
        self.ready.set()

    def _enforce_limit(self) -> None:
        # The sender thread may ack (delete) a segment at any moment, so a
        # segment vanishing under us is normal, not an error.
        sizes = {}
        for n in self.pending():
            try:
                sizes[n] = os.path.getsize(os.path.join(self.dir, n))
            except FileNotFoundError:
                pass
        names = sorted(sizes)
        total = sum(sizes.values())
        while total > self.max_bytes and len(names) > 1:
            oldest = names.pop(0)
            total -= sizes[oldest]
            try:
                lost = len(self.read(oldest))
                os.remove(os.path.join(self.dir, oldest))
            except FileNotFoundError:
                continue   # delivered meanwhile
            if self.on_drop:
                self.on_drop(lost, "spool full")

    # -- reading / acknowledging ------------------------------------------
    def read(self, name: str) -> List[Dict[str, Any]]:
        """The events of one segment; a torn or corrupt line is skipped."""
        events = []
        with open(os.path.join(self.dir, name), "rb") as f:
            for raw in f.read().split(b"\n"):
                if not raw.strip():
                    continue
                try:
                    events.append(json.loads(raw))
                except ValueError:
                    log.warning("spool %s: skipping a torn line in %s", self.dir, name)
        return events

    def ack(self, name: str) -> None:
        """The collector has it: remove the segment (atomic) and make that durable."""
        try:
            os.remove(os.path.join(self.dir, name))
        except FileNotFoundError:
            return   # dropped by the size limit while it was being posted
        _fsync_dir(self.dir)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
        _unlock_dir(self._lock_fd)


class HttpWriter(Writer):
    """Spools every event and posts batches from its own thread."""

    name = "http"

    def __init__(self, url: str, spool_dir: str, fmt: str = "hec", token: str = "",
                 headers: Optional[Dict[str, str]] = None, batch_size: int = 100,
                 flush_seconds: float = 2.0, timeout_seconds: float = 10.0,
                 retry_max_seconds: float = 60.0, max_spool_mb: float = 50,
                 index: str = "", sourcetype: str = "shareguard:event",
                 on_drop: Optional[Callable[[int, str], None]] = None) -> None:
        self.url = url
        self.fmt = fmt
        self.timeout = float(timeout_seconds)
        self.retry_max = float(retry_max_seconds)
        self.index = index
        self.sourcetype = sourcetype
        self.headers = {"Content-Type": "application/json", "User-Agent": "ShareGuard"}
        if token:
            self.headers["Authorization"] = f"Splunk {token}" if fmt == "hec" else f"Bearer {token}"
        self.headers.update(headers or {})
        self.spool = Spool(spool_dir, batch_size, flush_seconds, int(max_spool_mb * 1024 * 1024), on_drop)
        self.sent_batches = 0
        self.sent_events = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shareguard-http-sender", daemon=True)
        self._thread.start()

    def write(self, data: bytes, event: Dict[str, Any]) -> bool:
        self.spool.append(data)
        return True

    def flush(self) -> None:
        self.spool.flush()

    def tick(self) -> None:
        self.spool.seal_if_due()

    def body(self, events: List[Dict[str, Any]]) -> bytes:
        if self.fmt == "hec":
            return hec_batch(events, self.index, self.sourcetype)
        return webhook_batch(events)

    def post(self, body: bytes) -> None:
        """POST one batch; raises on anything but 2xx."""
        req = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            resp.read()
            if not 200 <= resp.status < 300:
                raise urllib.error.HTTPError(self.url, resp.status, resp.reason, resp.headers, None)

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            self.spool.seal_if_due()
            names = self.spool.pending()
            if not names:
                self.spool.ready.wait(min(1.0, self.spool.flush_seconds or 1.0))
                self.spool.ready.clear()
                continue
            name = names[0]
            try:
                events = self.spool.read(name)
                if events:
                    self.post(self.body(events))
                # Acknowledge right after the 2xx: this is the only window in
                # which a kill can cause a resend (see the module docstring).
                self.spool.ack(name)
                self.sent_batches += 1
                self.sent_events += len(events)
                backoff = 0.0
            except (OSError, urllib.error.URLError, ValueError) as e:
                self.failures += 1
                backoff = min(self.retry_max, max(0.25, backoff * 2))
                log.info("http sink %s: %s; retrying in %.1fs", self.url, e, backoff)
                self._stop.wait(backoff)

    def drain(self, timeout: float) -> bool:
        """Seal and wait until the spool is empty (tests, clean shutdown)."""
        self.spool.flush()
        self.spool.seal_if_due(force=True)
        deadline = time.monotonic() + timeout
        while self.spool.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.spool.pending()

    def close(self) -> None:
        # Seal what we have so the next start sends it; do not wait for a
        # collector that may be down (shutdown must be quick).
        self.spool.seal_if_due(force=True)
        self._stop.set()
        self.spool.ready.set()
        self._thread.join(timeout=self.timeout + 1)
        self.spool.close()


def _fsync_dir(path: str) -> None:
    # A rename/unlink is durable only once the directory is synced (POSIX);
    # Windows cannot open directories this way and NTFS journals metadata.
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_dir(path: str):
    lock_path = os.path.join(path, ".lock")
    f = os.fdopen(open_nofollow(lock_path, os.O_RDWR | os.O_CREAT), "r+b")
    try:
        if sys.platform == "win32":
            import msvcrt
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise SpoolBusy(f"{path} is used by another ShareGuard process") from None
    return f


def _unlock_dir(f) -> None:
    try:
        f.close()   # closing releases flock / msvcrt locks
    except OSError:
        pass
