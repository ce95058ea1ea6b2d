"""The companion's Windows channel (a named pipe with a user-only DACL) in a real Windows Python under Wine.

Checked here: the pipe is named per user SID, created from the user-only SDDL, a line goes
both ways, the end of the stream is clean, and the host reads the pipe's owner back as its
own SID before sending (Wine's default owner would be the Domain Users group: the SDDL sets
it). Not checkable under Wine: FILE_FLAG_FIRST_PIPE_INSTANCE, and a second Windows user.
"""

import json
import os

from tests.support import wine
from tools.wine_env import to_windows


def test_named_pipe_round_trip_owner_check_and_first_instance(winenv):
    script = to_windows(os.path.join(wine.WINSIDE, "companion_pipe.py"))
    res = winenv.run(script, timeout=120)
    assert res.returncode == 0, wine.decode(res.stderr)[-3000:]
    out = json.loads(res.stdout.decode("utf-8").strip().splitlines()[-1])
    assert out["name"].startswith("\\\\.\\pipe\\shareguard-companion-S-1-5-")
    assert out["sddl"] == f"O:{out['sid']}D:P(A;;GA;;;{out['sid']})"
    assert out["received"] == {"type": "hello", "browser": "edge", "title": "中国工商银行"}
    assert out["reply"] == {"type": "status", "browsers": []}
    assert out["end"] is None  # the host closed: end of stream, no error
    # FILE_FLAG_FIRST_PIPE_INSTANCE (a second agent, or a squatter, cannot create the same name) is
    # not enforced by Wine 8 (a second listener is "not refused" here); on Windows it fails with
    # ERROR_ACCESS_DENIED. The host's owner check above is what protects the facts either way.
