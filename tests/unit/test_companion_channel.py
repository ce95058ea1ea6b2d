"""The local channel: same user only, never the network, peers checked both ways."""

import os
import select
import shutil
import socket
import stat
import tempfile
import threading

import pytest

from agent.companion import channel
from tests.support.other_user import fork_as, run_as
from tests.support.xsession import require

OTHER_UID = 54321  # a uid no account uses: the test's throwaway second user


def test_socket_and_folder_are_private_and_a_line_round_trips(tmp_path):
    path = str(tmp_path / "run" / "companion.sock")
    listener = channel.listen(path)
    try:
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        got = []
        t = threading.Thread(target=lambda: got.append(listener.accept()))
        t.start()
        client = channel.connect(path)
        t.join(5)
        server = got[0]
        client.send({"type": "state", "title": "中国工商银行"})
        assert server.receive() == {"type": "state", "title": "中国工商银行"}
        assert server.peer_uid == os.getuid() and client.peer_uid == os.getuid()
        client.close()
        assert server.receive() is None
        server.close()
    finally:
        listener.close()
    assert not os.path.exists(path)


def test_a_second_agent_cannot_take_the_channel_but_a_stale_socket_is_replaced(tmp_path):
    path = str(tmp_path / "run" / "companion.sock")
    first = channel.listen(path)
    with pytest.raises(channel.ChannelError, match="already listens"):
        channel.listen(path)
    first.close()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # a socket file nobody listens on
    stale.close()
    channel.listen(path).close()


def test_open_or_foreign_folder_is_refused(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    with pytest.raises(channel.ChannelError, match="open to other users"):
        channel.connect(str(folder / "companion.sock"))
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(channel.ChannelError, match="not a folder"):
        channel.connect(str(link / "companion.sock"))


def test_no_agent_is_a_clear_error(tmp_path):
    with pytest.raises(channel.ChannelError, match="agent"):
        channel.connect(str(tmp_path / "nothing" / "companion.sock"))


def test_runtime_dir_is_the_users_own(tmp_path):
    assert channel.runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path)}) == str(tmp_path / "shareguard")
    assert channel.runtime_dir({}) == f"/tmp/shareguard-{os.getuid()}"
    assert channel.runtime_dir({"TMPDIR": "/var/folders/x/T/"}, platform="darwin") == "/var/folders/x/T/shareguard"


@pytest.fixture
def open_dir():
    """A folder every uid can traverse (pytest's own tmp folders are root-only)."""
    path = tempfile.mkdtemp(prefix="sg-channel-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_another_user_cannot_connect(open_dir):
    require(os.geteuid() == 0, "needs root to create a second uid (CI runs as root)")
    path = os.path.join(open_dir, "run", "companion.sock")
    listener = channel.listen(path)

    def other():
        # The OS refuses (folder 0700, socket 0600) ...
        raw = socket.socket(socket.AF_UNIX)
        try:
            raw.connect(path)
            return 1
        except PermissionError:
            pass
        # ... and the host's own check says why before trying.
        try:
            channel.connect(path)
            return 2
        except channel.ChannelError as exc:
            return 0 if "belongs to uid 0" in str(exc) else 3

    try:
        assert run_as(OTHER_UID, other) == 0
    finally:
        listener.close()


def test_the_agent_refuses_a_connection_from_another_uid_even_where_modes_let_it_in(open_dir):
    """Root passes file modes; the peer-credential check still turns it away."""
    require(os.geteuid() == 0, "needs root to run the agent end as a second uid (CI runs as root)")
    path = os.path.join(open_dir, "run", "companion.sock")
    os.mkdir(os.path.dirname(path), 0o700)
    os.chown(os.path.dirname(path), OTHER_UID, OTHER_UID)  # the second user's own runtime folder
    ready_r, ready_w = os.pipe()

    def agent_end():
        try:
            listener = channel.listen(path)
        except Exception:
            os.write(ready_w, b"0")
            raise
        os.write(ready_w, b"1")
        conn = listener.accept()  # returns only for a connection from OTHER_UID itself
        return 0 if conn is None else 1

    pid = fork_as(OTHER_UID, agent_end)
    try:
        assert select.select([ready_r], [], [], 10)[0], "the second user's agent did not start"
        assert os.read(ready_r, 1) == b"1"
        raw = socket.socket(socket.AF_UNIX)
        raw.settimeout(10)
        raw.connect(path)  # root may open the socket file ...
        try:
            raw.sendall(b'{"type":"state"}\n')
            answer = raw.recv(10)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""  # the agent closed it first, or with our line unread: a reset
        assert answer == b""  # ... but the agent closed it unread
        raw.close()
        with pytest.raises(channel.ChannelError, match="belongs to uid"):
            channel.connect(path)  # and the host end refuses a folder and server of another uid
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        for fd in (ready_r, ready_w):
            os.close(fd)
