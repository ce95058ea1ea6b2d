"""Screen capture under Wayland (and X11 portals): PipeWire screen-cast nodes.

On Wayland no client can read other windows, but every screen cast goes
through PipeWire, where the compositor (or its portal) publishes the stream
as a node. The stream's own name is in ``media.name``; ``node.name`` is the
publishing program's name (PipeWire fills it from ``application.name``).
Recorded from live sessions (tests/fixtures/pw-dump/, docs/collectors-linux.md):

- GNOME (mutter): ``media.name`` "meta-screen-cast-src", ``media.class``
  "Stream/Output/Video", ``node.name`` "mutter" — high confidence.
- wlroots (xdg-desktop-portal-wlr): ``media.name`` "xdpw-stream-XXXXXX",
  ``media.class`` "Video/Source", ``node.name`` "xdg-desktop-portal-wlr" —
  high confidence.
- KDE (KWin): ``media.name`` "kwin-screencast-<output or app>" — not
  verified live, so low confidence.

A source is sharing while its state is ``running``; without a consumer it
goes ``idle`` (or ``suspended``), which is not a share. The fact belongs to
the app receiving the picture: the node at the other end of the source's
link, whose pid is its client's ``application.process.id`` (a portal
client's ``pipewire.sec.pid`` is the portal's pid, never the app's). Only
when nothing is linked does the fact carry the producer's pid.

:func:`parse_pw_dump` is pure and tested on recorded ``pw-dump`` output;
:class:`PipeWireCapture` runs ``pw-dump``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any, Dict, List, Mapping, Optional, Tuple

from agent import i18n
from agent.collectors.base import paced
from agent.collectors.reasons import reason
from agent.model import CaptureFact, DeviceUse

Unavailable = Tuple[str, str]

MESSAGES = i18n.register(__name__, {
    "pw_dump_missing_wayland": {
        "en": "{command} not found: Wayland screen casts cannot be seen (install pipewire-bin)",
        "zh_CN": "找不到 {command}：无法看到 Wayland 屏幕投射（请安装 pipewire-bin）",
    },
    "pw_dump_missing_x11": {
        "en": "X11 has no screen-capture indicator and PipeWire (pw-dump) is absent: only per-app share "
              "signals are used",
        "zh_CN": "X11 没有屏幕捕获指示，且没有 PipeWire（pw-dump）：只使用各应用自身的共享信号",
    },
    "pw_dump_timeout": {
        "en": "{command} did not answer within {seconds} s",
        "zh_CN": "{command} 在 {seconds} 秒内没有响应",
    },
    "pw_dump_start": {
        "en": "{command} failed to start: {error}",
        "zh_CN": "{command} 无法启动：{error}",
    },
    "pw_dump_failed": {
        "en": "{command} failed (exit {code}): {error}",
        "zh_CN": "{command} 运行失败（退出码 {code}）：{error}",
    },
    "pw_dump_json": {
        "en": "{command} printed invalid JSON: {error}",
        "zh_CN": "{command} 输出的 JSON 无效：{error}",
    },
})

PW_DUMP_TIMEOUT = 2.0

NODE = "PipeWire:Interface:Node"
CLIENT = "PipeWire:Interface:Client"
LINK = "PipeWire:Interface:Link"


#: media.class values a screen-cast source node has (GNOME/KWin streams, xdpw's portal node).
SOURCE_CLASSES = ("Stream/Output/Video", "Video/Source")


def load_pw_dump(text: str) -> List[Any]:
    """The PipeWire objects in ``pw-dump`` output (raises ValueError on bad JSON).

    ``pw-dump`` prints one JSON array, but when objects go away while it
    dumps (a stream ending) it also prints small arrays such as
    ``[{"id": 36, "info": null}]``, one after the other (seen live with
    PipeWire 0.3.65). They are applied in order: an object with ``info``
    null removes that id, any other replaces it.
    """
    decoder = json.JSONDecoder()
    by_id: Dict[Any, Any] = {}
    loose: List[Any] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        batch, pos = decoder.raw_decode(text, pos)
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not isinstance(batch, list):
            raise ValueError(f"expected a JSON array, got {type(batch).__name__}")
        for obj in batch:
            oid = obj.get("id") if isinstance(obj, Mapping) else None
            if oid is None:
                loose.append(obj)
            elif obj.get("info") is None and "type" not in obj:
                by_id.pop(oid, None)
            else:
                by_id[oid] = obj
    return list(by_id.values()) + loose


def classify_node(props: Mapping[str, Any]) -> Optional[Tuple[str, str]]:
    """(kind, confidence) when a node's properties show a screen cast, else None.

    Matches ``media.name`` (the stream's name, which the compositor or portal
    sets) and never ``node.name`` (the program's name).
    """
    media_name = str(props.get("media.name") or "")
    media_class = str(props.get("media.class") or "")
    if media_name.startswith("meta-screen-cast-src") and media_class == "Stream/Output/Video":
        return "gnome", "high"
    if media_name.startswith("xdpw-stream") and media_class == "Video/Source":
        return "wlroots", "high"
    if media_name.startswith("kwin-screencast") and media_class in SOURCE_CLASSES:
        return "kde", "low"
    return None


def _as_int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _props(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    info = obj.get("info") or {}
    props = info.get("props") if isinstance(info, Mapping) else None
    return props if isinstance(props, Mapping) else {}


def parse_pw_dump(objects: Any) -> Tuple[CaptureFact, ...]:
    """Capture facts from ``pw-dump`` JSON (a list of PipeWire objects).

    Unknown or malformed objects are skipped: this reads what another
    program printed, so it never raises on shape.
    """
    if not isinstance(objects, list):
        return ()
    by_id: Dict[int, Mapping[str, Any]] = {}
    links: List[Mapping[str, Any]] = []
    for obj in objects:
        if not isinstance(obj, Mapping):
            continue
        oid = _as_int(obj.get("id"))
        if oid is not None:
            by_id[oid] = obj
        if obj.get("type") == LINK:
            links.append(obj)
    facts: List[CaptureFact] = []
    for oid, obj in sorted(by_id.items()):
        if obj.get("type") != NODE:
            continue
        props = _props(obj)
        found = classify_node(props)
        if found is None:
            continue
        kind, confidence = found
        state = str((obj.get("info") or {}).get("state") or "")
        # running = frames flow to someone; idle/suspended = nobody takes them.
        active = state == "running"
        detail = f"{kind}: {props.get('media.name') or props.get('node.name') or ''} ({state or 'unknown state'})"
        consumers = _consumers(oid, links, by_id)
        if not consumers:
            facts.append(CaptureFact(source="pipewire", active=active, pid=_pid_of(obj, by_id),
                                     detail=detail, confidence=confidence))
        for consumer_name, consumer_pid in consumers:
            who = f" -> {consumer_name or 'unknown app'}" + (f" (pid {consumer_pid})" if consumer_pid else "")
            facts.append(CaptureFact(source="pipewire", active=active, pid=consumer_pid,
                                     detail=detail + who, confidence=confidence))
    return tuple(facts)


def parse_pw_dump_devices(objects: Any) -> Tuple[DeviceUse, ...]:
    """Microphones in use now, per app, from ``pw-dump`` JSON.

    An application's audio capture stream (``media.class``
    "Stream/Input/Audio", state running) means it records sound: for a
    meeting app, a call is under way. Malformed objects are skipped.
    """
    if not isinstance(objects, list):
        return ()
    by_id: Dict[int, Mapping[str, Any]] = {}
    for o in objects:
        oid = _as_int(o.get("id")) if isinstance(o, Mapping) else None
        if oid is not None:
            by_id[oid] = o
    uses: List[DeviceUse] = []
    for _oid, obj in sorted(by_id.items()):
        if obj.get("type") != NODE or str(_props(obj).get("media.class") or "") != "Stream/Input/Audio":
            continue
        if str((obj.get("info") or {}).get("state") or "") != "running":
            continue
        pid = _pid_of(obj, by_id)
        if pid is None:
            continue  # a stream we cannot tie to a process proves nothing about an app
        uses.append(DeviceUse(device="microphone", pid=pid, source="pipewire", detail=_app_name(obj, by_id)))
    return tuple(uses)


def _pid_of(node: Mapping[str, Any], by_id: Mapping[int, Mapping[str, Any]]) -> Optional[int]:
    """The pid of the process that owns a node (node props, else its client's)."""
    props = _props(node)
    pid = _as_int(props.get("application.process.id"))
    if pid is not None:
        return pid
    client = by_id.get(_as_int(props.get("client.id")) or -1)
    if client is not None:
        return _as_int(_props(client).get("application.process.id"))
    return None


def _app_name(node: Mapping[str, Any], by_id: Mapping[int, Mapping[str, Any]]) -> str:
    # The client names the app ("Firefox"); node names are stream names
    # ("webrtc-consume-stream"), used only when nothing better exists.
    props = _props(node)
    name = props.get("application.name")
    client = by_id.get(_as_int(props.get("client.id")) or -1)
    if not name and client is not None:
        cprops = _props(client)
        name = cprops.get("application.name") or cprops.get("application.process.binary")
    return str(name or props.get("node.name") or "")


def _consumers(node_id: int, links: List[Mapping[str, Any]],
               by_id: Mapping[int, Mapping[str, Any]]) -> List[Tuple[str, Optional[int]]]:
    """(app name, pid) of each node the screen-cast node feeds, once per app.

    Links in state ``active`` count first; if none is active (a link being
    set up), any link to a node does.
    """
    found: Dict[str, List[Tuple[str, Optional[int]]]] = {"active": [], "other": []}
    for link in links:
        info = link.get("info") or {}
        if not isinstance(info, Mapping) or _as_int(info.get("output-node-id")) != node_id:
            continue
        target = by_id.get(_as_int(info.get("input-node-id")) or -1)
        if target is None:
            continue
        entry = (_app_name(target, by_id), _pid_of(target, by_id))
        bucket = found["active" if info.get("state") == "active" else "other"]
        if entry not in bucket:
            bucket.append(entry)
    return found["active"] or found["other"]


class PipeWireCapture:
    """Runs ``pw-dump`` (at most once per ``min_interval`` seconds) and parses it.

    One ``pw-dump`` answers both :meth:`read` (screen casts) and
    :meth:`read_devices` (microphones in use).
    """

    #: Seconds before trying again after ``pw-dump`` failed (no PipeWire daemon, not installed).
    RETRY_SECONDS = 30.0

    def __init__(self, command: str = "pw-dump", min_interval: float = 1.0,
                 environ: Optional[Mapping[str, str]] = None, background: bool = False) -> None:
        self.command = command
        self.min_interval = min_interval
        self.pace = {"pw-dump": min_interval}
        self._env = environ
        #: The agent runs ``pw-dump`` off the detection thread (see agent/collectors/base.py, paced).
        self.refresh_in_background = background

    def _wayland(self) -> bool:
        env = os.environ if self._env is None else self._env
        return bool(env.get("WAYLAND_DISPLAY")) or env.get("XDG_SESSION_TYPE") == "wayland"

    def read(self) -> Tuple[Tuple[CaptureFact, ...], Tuple[Unavailable, ...]]:
        """Capture facts now, and ``("capture", reason)`` when they cannot be read."""
        facts, _devices, unavailable = self.dump()
        return facts, unavailable

    def read_devices(self) -> Tuple[Tuple[DeviceUse, ...], Tuple[Unavailable, ...]]:
        """Microphones in use per app, from the same ``pw-dump`` as :meth:`read`.

        A failed read gives no devices: an old call must not look live. Its
        reason is reported once, under ``capture``, by :meth:`read`.
        """
        return self.dump()[1], ()

    def _run(self) -> Tuple[Tuple[CaptureFact, ...], Tuple[DeviceUse, ...], Tuple[Unavailable, ...]]:
        exe = shutil.which(self.command)
        if exe is None:
            key = "pw_dump_missing_wayland" if self._wayland() else "pw_dump_missing_x11"
            return (), (), (("capture", reason(MESSAGES, key, command=self.command)),)
        try:
            done = subprocess.run([exe], capture_output=True, timeout=PW_DUMP_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return (), (), (("capture", reason(MESSAGES, "pw_dump_timeout", command=self.command,
                                               seconds=f"{PW_DUMP_TIMEOUT:g}")),)
        except OSError as exc:
            return (), (), (("capture", reason(MESSAGES, "pw_dump_start", command=self.command, error=exc)),)
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            return (), (), (("capture", reason(MESSAGES, "pw_dump_failed", command=self.command,
                                               code=done.returncode,
                                               error=err[-1] if err else "no PipeWire daemon?")),)
        try:
            objects = load_pw_dump(done.stdout.decode("utf-8", "replace"))
        except ValueError as exc:
            return (), (), (("capture", reason(MESSAGES, "pw_dump_json", command=self.command, error=exc)),)
        return parse_pw_dump(objects), parse_pw_dump_devices(objects), ()

    @paced("pw-dump")
    def dump(self) -> Tuple[Tuple[CaptureFact, ...], Tuple[DeviceUse, ...], Tuple[Unavailable, ...]]:
        """(capture facts, devices, unavailable) from one ``pw-dump`` run.

        After a failure the next run waits :data:`RETRY_SECONDS`: a missing
        daemon is not fixed within a second, and each run is a process start.
        """
        got = self._run()
        self.pace["pw-dump"] = self.RETRY_SECONDS if got[2] and self.min_interval else self.min_interval
        return got
