"""Window titles from sway's IPC tree (agent/collectors/_linux_sway.py).

tests/fixtures/sway/tree-bank-tab.json is sway 1.7's GET_TREE reply recorded
by the live tier (tests/wayland/test_sway_live.py): Chromium (pid 12185) with
the bank tab in front of the tab that shares the screen.
"""

import json
import os
import socket
import struct
import threading

import pytest

from agent.collectors._linux_sway import GET_TREE, MAGIC, SwayWindows, parse_tree
from agent.model import WindowInfo

TREE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "sway", "tree-bank-tab.json")


def load_tree():
    with open(TREE, encoding="utf-8") as f:
        return json.load(f)


def test_recorded_tree_gives_the_chromium_window_with_its_title_and_pid():
    assert parse_tree(load_tree()) == (WindowInfo(title="中国工商银行 - 个人网上银行 - Chromium", pid=12185,
                                                  wm_class="chromium", visible=True, foreground=True, window_id=5),)


def test_xwayland_windows_use_their_x11_class_and_hidden_ones_are_not_visible():
    tree = {"type": "root", "nodes": [{"type": "workspace", "nodes": [], "floating_nodes": [
        {"type": "floating_con", "pid": 77, "name": "招商银行", "app_id": None, "visible": False,
         "window_properties": {"class": "firefox"}, "id": 9}]}]}
    assert parse_tree(tree) == (WindowInfo(title="招商银行", pid=77, wm_class="firefox", visible=False,
                                           foreground=False, window_id=9),)


@pytest.mark.parametrize("bad", [None, [], "x", {"nodes": "x"}, {"nodes": [None, {"type": "con", "pid": "7"}]}])
def test_malformed_trees_give_no_windows(bad):
    assert parse_tree(bad) == ()


def _serve_once(path, reply):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    asked = []

    def run():
        conn, _ = server.accept()
        with conn:
            head = conn.recv(14)
            asked.append(struct.unpack("=II", head[6:])[1])
            conn.sendall(reply)
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, asked


def test_read_asks_the_socket_for_the_tree(tmp_path):
    body = json.dumps(load_tree()).encode("utf-8")
    path = str(tmp_path / "sway-ipc.sock")
    thread, asked = _serve_once(path, MAGIC + struct.pack("=II", len(body), GET_TREE) + body)
    windows, missing = SwayWindows(path).read()
    thread.join(5)
    assert asked == [GET_TREE] and missing == () and windows[0].pid == 12185


def test_a_dead_or_foreign_socket_is_reported_not_raised(tmp_path):
    windows, missing = SwayWindows(str(tmp_path / "nothing.sock")).read()
    assert windows == () and missing[0][0] == "windows" and "did not answer" in missing[0][1]
    path = str(tmp_path / "other.sock")
    thread, _ = _serve_once(path, b"HTTP/1.1 400 Bad Request\r\n\r\n")
    windows, missing = SwayWindows(path).read()
    thread.join(5)
    assert windows == () and "not an i3-ipc reply" in missing[0][1]
    assert SwayWindows(None).read()[1][0][1].startswith("SWAYSOCK is not set")


def test_the_linux_collector_reads_sway_when_swaysock_is_set(monkeypatch, tmp_path):
    from agent.collectors._linux import LinuxApi

    monkeypatch.setenv("SWAYSOCK", str(tmp_path / "sway-ipc.sock"))
    assert isinstance(LinuxApi().windows, SwayWindows)
    monkeypatch.delenv("SWAYSOCK")
    assert not isinstance(LinuxApi(display=":sg-none").windows, SwayWindows)


def test_watcher_subscribes_to_window_events_and_wakes_on_each(tmp_path):
    from agent.collectors._linux_sway import SUBSCRIBE, SwayWatcher

    path = str(tmp_path / "sway-ipc.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    got = {}
    woken = threading.Semaphore(0)
    event = json.dumps({"change": "title", "container": {"name": "中国工商银行"}}).encode("utf-8")

    def sway():
        conn, _ = server.accept()
        head = conn.recv(14)
        length, kind = struct.unpack("=II", head[6:])
        got["kind"], got["payload"] = kind, conn.recv(length)
        ok = b'{"success": true}'
        conn.sendall(MAGIC + struct.pack("=II", len(ok), SUBSCRIBE) + ok)
        for _ in range(2):
            conn.sendall(MAGIC + struct.pack("=II", len(event), 0x80000003) + event)
        got["conn"] = conn

    thread = threading.Thread(target=sway, daemon=True)
    thread.start()
    watcher = SwayWatcher(woken.release, path)
    assert watcher.start() is not None
    assert woken.acquire(timeout=5) and woken.acquire(timeout=5)
    assert got["kind"] == SUBSCRIBE and json.loads(got["payload"]) == ["window"]
    watcher.stop(timeout=30)  # closing the socket ends the thread's blocking read
    assert not watcher.thread.is_alive()
    got["conn"].close()
    server.close()


def test_watcher_does_not_start_without_sway(tmp_path):
    from agent.collectors._linux_sway import SwayWatcher

    assert SwayWatcher(lambda: None, str(tmp_path / "none.sock")).start() is None
    assert SwayWatcher(lambda: None, None).start() is None or "SWAYSOCK" in os.environ
