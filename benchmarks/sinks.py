"""Events/s through each sink (file, syslog udp/tcp, HTTP HEC via the spool), loopback only.

.venv/bin/python benchmarks/sinks.py
"""

import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agent.audit import AuditContext, AuditLog
from agent.sinks.base import Sink
from agent.sinks.file import RotatingFileWriter
from agent.sinks.http import HttpWriter
from agent.sinks.serializers import Rfc5424, json_line
from agent.sinks.syslog import TcpWriter, UdpWriter

N = 20000
d = tempfile.mkdtemp()


def run(name, sink, n=N, wait=None):
    audit = AuditLog(AuditContext(device_id="b"), [sink], queue_size=n + 10)
    t = time.perf_counter()
    for i in range(n):
        audit.emit("share_started", app="zoom", kind="meeting", state="sharing", pids=[i])
    emit_t = time.perf_counter() - t
    audit.flush(120)
    if wait:
        wait()
    total = time.perf_counter() - t
    audit.close()
    print(f"{name:28s} emit {n / emit_t:9.0f}/s   end-to-end {n / total:9.0f}/s  (dropped {sink.dropped})")


run("file (fsync per burst)", Sink("f", json_line, RotatingFileWriter(d + "/e.jsonl")))
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
run("syslog udp (loopback)", Sink("u", Rfc5424(), UdpWriter("127.0.0.1", rx.getsockname()[1])))
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()


def drain():
    c, _ = srv.accept()
    while c.recv(1 << 20):
        pass


threading.Thread(target=drain, daemon=True).start()
run("syslog tcp (loopback)", Sink("t", Rfc5424(), TcpWriter("127.0.0.1", srv.getsockname()[1])))
count = [0]


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        count[0] += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


hs = ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=hs.serve_forever, daemon=True).start()
w = HttpWriter(f"http://127.0.0.1:{hs.server_address[1]}/", d + "/spool", batch_size=100, flush_seconds=0.2)
run("http hec (spool, batch 100)", Sink("h", json_line, w), wait=lambda: w.drain(120))
