"""Windows side: the browser companion's named pipe, for real, in a Windows Python under Wine.

    python.exe companion_pipe.py

Prints one JSON object: the pipe name, the SDDL it was created with, the owner
SID the host read back, what the agent end received from the host end, and
what a second listener on the same name got (it must be refused).
"""

import json
import sys
import threading

assert sys.platform == "win32"

from agent.companion import _win_pipe, channel  # noqa: E402


def main() -> int:
    sid = _win_pipe.current_user_sid()
    name = _win_pipe.pipe_name(sid) + "-test"
    listener = _win_pipe.PipeListener(name)
    got = {}

    def serve():
        conn = listener.accept()
        got["first"] = conn.receive()
        conn.send({"type": "status", "browsers": []})
        got["after"] = conn.receive()
        conn.close()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    client = _win_pipe.connect(name, timeout=10)
    client.send({"type": "hello", "browser": "edge", "title": "中国工商银行"})
    reply = client.receive()
    # While the agent's pipe exists, nobody can create it first or beside it.
    second = "not refused"
    try:
        _win_pipe.PipeListener(name)
    except channel.ChannelError as exc:
        second = "refused: " + str(exc)[:80]
    client.close()
    server.join(10)
    listener.close()
    print(json.dumps({"name": name, "sid": sid, "sddl": _win_pipe.user_only_sddl(sid), "received": got.get("first"),
                      "end": got.get("after"), "reply": reply, "second_listener": second}))  # ASCII: cp1252 stdout
    return 0


if __name__ == "__main__":
    sys.exit(main())
