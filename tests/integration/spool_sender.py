"""Agent-side sender for tests/integration/test_http_spool.py (a real process to SIGKILL).

    spool_sender.py emit|drain|emit-and-drain URL SPOOL_DIR IDS_FILE COUNT BATCH

emit: send COUNT events through AuditLog -> HttpWriter, wait until they are
in the spool (fsynced), print SPOOLED, then idle until killed.
drain: open the spool left behind, print DRAINED once it is empty, idle.
"""

import os
import sys
import time

from agent.audit import AuditContext, AuditLog
from agent.sinks.base import Sink
from agent.sinks.http import HttpWriter
from agent.sinks.serializers import json_line


def main() -> int:
    mode, url, spool, ids_file, count, batch = sys.argv[1:7]
    writer = HttpWriter(url, spool, fmt="hec", token="test-token", batch_size=int(batch),
                        flush_seconds=0.2, timeout_seconds=5, retry_max_seconds=0.5)
    audit = AuditLog(AuditContext(device_id="spool-test"), [Sink("http", json_line, writer)])
    if mode.startswith("emit"):
        with open(ids_file, "w") as f:
            for i in range(int(count)):
                event = audit.emit("share_started", app="zoom", kind="meeting", state="sharing", pids=[i])
                f.write(event["event_id"] + "\n")
            f.flush()
            os.fsync(f.fileno())
        audit.flush(timeout=60)   # every event appended and fsynced to the spool
        print("SPOOLED", flush=True)
    if mode.endswith("drain"):
        writer.drain(timeout=120)
        print("DRAINED" if not writer.spool.pending() else "NOT DRAINED", flush=True)
    if mode == "emit-and-drain":
        audit.close()
        return 0
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
