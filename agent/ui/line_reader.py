"""Complete lines from the UI helper's channel, read straight from its file descriptor.

Why not a Python text file (``for line in sys.stdin``): a buffered reader takes
everything the socket holds at once, so after a wake-up on the descriptor
(Tk's file handler) the lines it keeps in its buffer leave the descriptor
quiet, and they would wait for the next message to arrive. Here the buffer is
ours: the hello is read from it, and every wake-up hands over ALL the complete
lines received so far, whatever read they came in.

The descriptor's flags are never changed: the helper's stdin and stdout are
the same socket (agent/responders/ui_client.py), and O_NONBLOCK on one would
make writes of acknowledgements fail with EAGAIN. Reads that must not block
ask ``select`` first (POSIX only; on Windows the reader thread blocks).
"""

from __future__ import annotations

import os
import select
from typing import List, Optional, Union

from agent.ui.channel import MAX_LINE, ChannelError

#: Bytes asked per read: the longest message a few times over is a handful of reads.
CHUNK = 64 * 1024
#: A line's bytes beyond this are dropped (UTF-8: at most 4 bytes per character of MAX_LINE).
MAX_LINE_BYTES = 4 * MAX_LINE

Line = Union[str, ChannelError]


class LineReader:
    """Splits what arrives on ``fd`` into lines (without the newline).

    A line over the limit comes out as a :class:`ChannelError` in its place, so
    the caller reports it like any other refused line and reads on.
    """

    def __init__(self, fd: int, max_bytes: int = MAX_LINE_BYTES) -> None:
        self.fd = fd
        self.max_bytes = max_bytes
        self.eof = False
        self._buf = bytearray()
        self._dropped = 0  # bytes of the current over-long line thrown away
        self._lines: List[Line] = []

    def read_line(self) -> Optional[Line]:
        """The next line, blocking until it is complete; None at end of file."""
        while not self._lines and not self.eof:
            self._receive()
        return self._lines.pop(0) if self._lines else None

    def read_ready(self) -> List[Line]:
        """Every complete line available now, without blocking (POSIX); may be empty.

        Call it when the descriptor is readable; it reads until nothing more is
        waiting, so one wake-up takes all messages that arrived together.
        """
        while not self.eof:
            readable, _, _ = select.select([self.fd], [], [], 0)
            if not readable:
                break
            self._receive()
        lines, self._lines = self._lines, []
        return lines

    def _receive(self) -> None:
        try:
            data = os.read(self.fd, CHUNK)
        except InterruptedError:
            return
        except OSError:
            data = b""  # a reset channel is a closed one
        if not data:
            self.eof = True
            return
        self._buf += data
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                break
            raw = bytes(self._buf[:end])
            del self._buf[:end + 1]
            if self._dropped:
                self._lines.append(ChannelError(f"line of over {self._dropped + len(raw)} bytes is over the limit"))
                self._dropped = 0
            else:
                # Damaged UTF-8 becomes U+FFFD, so the HMAC check refuses the line.
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\r"))
        if len(self._buf) > self.max_bytes:
            # No end in sight: keep counting, never keep the bytes.
            self._dropped += len(self._buf)
            self._buf.clear()
