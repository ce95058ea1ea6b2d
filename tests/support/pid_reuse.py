"""Forced pid reuse, run as root inside a new pid namespace (tests/unit/test_process_table.py).

    unshare --pid --fork --mount-proc python -m tests.support.pid_reuse

In its own pid namespace this script is alone, so writing N-1 to
``/proc/sys/kernel/ns_last_pid`` makes the next child get pid N for sure.
For both table modes (exits watched by pidfd, and the ``/proc`` inode
alone), a process named ``first_tool`` is seen at pid N, ends, and
``second_tool`` is started at the same pid N; the incremental table must then
equal a fresh full read. Prints one JSON line per mode; exit status 0 only
when every check held.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from agent.collectors.processes import ProcessTable, ProcfsLister
from tests.support.fakeapps import start_fake_process, stop


def _force_next_pid(pid: int) -> None:
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(pid - 1))


def _run(watch_exits: bool, directory: str) -> dict:
    # A clock an hour ahead: nothing counts as young, so only the identity
    # token (and, when watched, the exit) can reveal the new process.
    table = ProcessTable(watch_exits=watch_exits, clock=lambda: time.time() + 3600)
    first = start_fake_process("first_tool", ["--one"], directory=directory)
    pid = first.pid
    before = {p.pid: p.name for p in table.refresh()}
    inode_before = ProcfsLister().list()[pid]
    stop(first)
    _force_next_pid(pid)
    second = start_fake_process("second_tool", ["--two"], directory=directory)
    try:
        inode_after = ProcfsLister().list()[second.pid]
        incremental = {p.pid: p for p in table.refresh()}
        full = {p.pid: p for p in ProcessTable(watch_exits=False).refresh()}
        return {
            "watch_exits": watch_exits, "pid": pid, "reused": second.pid == pid,
            "before": before.get(pid), "after": incremental[pid].name if pid in incremental else None,
            "inode_changed": inode_before != inode_after,
            "equal": incremental == full,
        }
    finally:
        stop(second)
        table.close()


def main() -> int:
    ok = True
    with tempfile.TemporaryDirectory(prefix="sg-reuse-") as directory:
        for watch in (True, False):
            result = _run(watch, directory)
            print(json.dumps(result), flush=True)
            ok = ok and result["reused"] and result["before"] == "first_tool" and \
                result["after"] == "second_tool" and result["inode_changed"] and result["equal"]
    return 0 if ok else 1


if __name__ == "__main__":
    if os.getpid() != 1:
        sys.exit("run me as pid 1 of a new pid namespace (unshare --pid --fork --mount-proc)")
    sys.exit(main())
