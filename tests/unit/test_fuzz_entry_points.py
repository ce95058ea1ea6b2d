"""Fuzz every file-reading entry point (issue 11 item 4; docs/security.md "Hostile files").

``replay``, ``replay --policy``, ``policy validate``, the policy loader,
``signatures validate`` and ``signatures verify`` get generated files:
random YAML-ish text, random data as YAML or JSON, and the hostile shapes
of the report (4,300+ digit integers, huge times, deep nesting, aliases,
unhashable keys, lone surrogates, non-UTF-8 bytes and file names, a bundle
holding ``a.yaml`` and ``a.yaml/b.yaml``). Every input must end in exit
status 0 or 2 with short, printable messages: never an exception.

Bounded for CI: a fixed number of examples per entry point, no deadline,
no example database; nothing here measures time.
"""

import argparse
import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from unittest import mock

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.commands import policy as policy_commands
from agent.commands import replay
from agent.commands import signatures as signature_commands
from agent.policy import load_policy
from agent.signatures import bundle as sgb
from agent.signatures.loader import load_signatures
from agent.snapshot_io import SCENARIO_KEYS, SNAPSHOT_KEYS

FUZZ = settings(max_examples=int(os.environ.get("SHAREGUARD_FUZZ_EXAMPLES", "60")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
BUILTIN = load_signatures()
KEY_DIR = tempfile.mkdtemp(prefix="sg-fuzz-key-")
PRIVATE = os.path.join(KEY_DIR, "k")
PUBLIC = sgb.generate_keypair(PRIVATE)
PRIVATE_KEY = sgb.load_private_key(PRIVATE)

# --------------------------------------------------------------------------- generated files

HOSTILE = [
    "x: " + "9" * 4301, "at: " + "9" * 400, "create_time: 1" + "0" * 320, "at: 1.0e999", "at: .nan",
    "x: " + "[" * 700 + "]" * 700, "x: " + "{a: " * 300 + "1" + "}" * 300, '"\\ud800": 1', 'x: "\\udfff"',
    "? [a, b]\n: 1", "? {a: 1}\n: 2", "{[1]: 2}", "a: &a [1]\nb: *a\nc: *a", "a: *nothing", "x: !!binary AAAA",
    "x: !!python/name:os.system", "x: !foo bar", "--- a\n--- b", "x: 2026-13-45", "\t- a", "a: b: c",
    "mode: &m strict\npolicy: {mode: *m}", "steps: [" + "{}," * 50 + "]", "processes: [{pid: 1e400}]",
    "windows: [{title: [x], pid: -99999999999999999999}]", "events: [{action: continue}, {action: [x]}]",
    "platform: [linux]", "unavailable: [1, [2], {source: {a: 1}}]", "policy: [mode]", "expect: *x",
    "hotlines: {cn: {a: 1}}", "sinks: [{type: http, url: 5}]", "locked: [mode, nope, 5]",
    "schema: 1\nfamily: apps\napps: [{id: x, kind: meeting, name: {en: a, zh_CN: b}, source: s, processes: [\"*\"]}]",
    "schema: 1\nfamily: finance\ncontexts: [{id: y, category: bank, name: {en: a, zh_CN: b}, source: s, "
    "patterns: ['(']}]",
    "schema: 1\nfamily: title_rules\nsource: s\nexclude_titles: ['']",
]
KEYS = list(dict.fromkeys(list(SCENARIO_KEYS) + list(SNAPSHOT_KEYS) + [
    "pid", "name", "title", "class", "create_time", "action", "mode", "snooze_minutes", "hotlines", "sinks",
    "schema", "family", "apps", "contexts", "id", "kind", "source", "signals", "processes", "grade"]))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 50), max_value=10 ** 50),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["continue", "linux", "windows", "bank", "meeting", "zoom", "9" * 60, "", "~"]))
data = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5)),
    max_leaves=25)
yamlish = st.text(alphabet=st.sampled_from(list("[]{}:,-?&*!|>'\"#%@`\n\t \\ab19.") + ["\ud800", "\xff", "é"]),
                  max_size=120)


def _dump(value, as_json):
    try:
        return json.dumps(value, ensure_ascii=False) if as_json else yaml.safe_dump(value, allow_unicode=True)
    except (ValueError, TypeError, yaml.YAMLError):
        return "x: 1\n"


@st.composite
def file_bytes(draw):
    """The bytes of one generated file."""
    kind = draw(st.sampled_from(["data", "json", "hostile", "yamlish", "mixed", "binary"]))
    if kind == "binary":
        return draw(st.binary(max_size=200))
    if kind == "hostile":
        text = "\n".join(draw(st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=3)))
    elif kind == "yamlish":
        text = draw(yamlish)
    elif kind == "mixed":
        text = _dump(draw(data), False) + draw(st.sampled_from(HOSTILE))
    else:
        text = _dump(draw(data), kind == "json")
    return text.encode("utf-8", "surrogatepass")


file_names = st.sampled_from(["case.yaml", "case.json", "fall\udcff.yaml", "é.yaml", "sp ace.yaml", "a\udc80b.yaml"])


def _write(directory, name, content):
    path = os.path.join(directory, name)
    with open(os.fsencode(path), "wb") as fh:
        fh.write(content)
    return path


def _check_output(status, *streams):
    assert status in (0, 2), status
    for text in streams:
        assert "Traceback" not in text
        text.encode("utf-8")  # printable: no lone surrogate reaches the terminal
        assert all(len(line) < 4000 for line in text.splitlines())


def _captured(call):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = call()
    return status, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- the six entry points


@FUZZ
@given(content=file_bytes(), name=file_names)
def test_replay_any_scenario(content, name):
    with tempfile.TemporaryDirectory() as tmp, mock.patch("agent.signatures.loader.load_signatures",
                                                          return_value=BUILTIN):
        path = _write(tmp, name, content)
        args = argparse.Namespace(files=[path], json=True, signatures=None, policy=None, quiet_warnings=False)
        out, err = io.StringIO(), io.StringIO()
        _check_output(replay.run(args, out, err), out.getvalue(), err.getvalue())


@FUZZ
@given(content=file_bytes(), name=file_names)
def test_replay_with_any_policy_file(content, name):
    with tempfile.TemporaryDirectory() as tmp, mock.patch("agent.signatures.loader.load_signatures",
                                                          return_value=BUILTIN):
        scenario = _write(tmp, "s.yaml", b"platform: linux\nprocesses: [{pid: 1, name: rustdesk}]\n")
        args = argparse.Namespace(files=[scenario], json=True, signatures=None, policy=_write(tmp, name, content),
                                  quiet_warnings=False)
        out, err = io.StringIO(), io.StringIO()
        _check_output(replay.run(args, out, err), out.getvalue(), err.getvalue())


@FUZZ
@given(content=file_bytes(), name=file_names, user=st.booleans())
def test_policy_validate_any_file(content, name, user):
    with tempfile.TemporaryDirectory() as tmp:
        args = argparse.Namespace(policy_command="validate", file=_write(tmp, name, content), user=user)
        _check_output(*_captured(lambda: policy_commands.run(args)))


@FUZZ
@given(machine=file_bytes(), user=file_bytes())
def test_policy_loader_any_files(machine, user):
    with tempfile.TemporaryDirectory() as tmp:
        policy = load_policy(_write(tmp, "policy.yaml", machine), _write(tmp, "settings\udcff.yaml", user),
                             platform="linux", insecure_check=lambda p: None)
        assert set(policy.values) >= {"mode", "hotlines"}
        for problem in policy.problems:
            str(problem).encode("utf-8")
            assert len(str(problem)) < 1000
        json.dumps(policy.to_json(), ensure_ascii=False).encode("utf-8")


@FUZZ
@given(content=file_bytes(), name=file_names)
def test_signatures_validate_any_file(content, name):
    with tempfile.TemporaryDirectory() as tmp:
        _write(tmp, name if name.endswith(".yaml") else name + ".yaml", content)
        args = argparse.Namespace(signatures_command="validate", path=tmp)
        _check_output(*_captured(lambda: signature_commands.run(args)))


MEMBER_NAMES = ["files/a.yaml", "files/a.yaml/b.yaml", "files/x/y.yaml", "files/../e.yaml", "/abs.yaml",
                "files/\u00e9.yaml", "files/" + "d/" * 60 + "deep.yaml", "manifest.json", "files/.h.yaml", "other"]


@st.composite
def bundles(draw):
    """A .sgb: members with names from odd to fine, a manifest signed or not, maybe damaged."""
    members = draw(st.lists(st.tuples(st.sampled_from(MEMBER_NAMES), file_bytes()), max_size=4))
    files = {n[len("files/"):]: d for n, d in members if n.startswith("files/")}
    if draw(st.booleans()):
        manifest = json.dumps({"format": sgb.FORMAT, "format_version": draw(st.sampled_from([1, 2, "1", None])),
                               "version": "v", "created": "2026-11-27T00:00:00Z", "key_id": "k",
                               "files": {r: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                                         for r, d in files.items()}}).encode()
    else:
        manifest = draw(file_bytes())
    signature = base64.b64encode(PRIVATE_KEY.sign(manifest)) if draw(st.booleans()) else draw(st.binary(max_size=90))
    entries = [("manifest.json", manifest), ("manifest.sig", signature)] + members
    buf = io.BytesIO()
    fmt = draw(st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT]))
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w", format=fmt) as tar:
        for name, blob in entries:
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            info.type = draw(st.sampled_from([tarfile.REGTYPE] * 6 + [tarfile.DIRTYPE, tarfile.SYMTYPE]))
            if info.type != tarfile.REGTYPE:
                info.size, blob = 0, b""
            try:
                tar.addfile(info, io.BytesIO(blob))
            except ValueError:   # a name the format cannot hold
                continue
    raw = buf.getvalue()
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip", "junk"]))
    if damage == "truncate":
        raw = raw[:draw(st.integers(min_value=0, max_value=len(raw)))]
    elif damage == "flip" and raw:
        at = draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw = raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1:]
    elif damage == "junk":
        raw = draw(st.binary(max_size=300))
    return raw


@FUZZ
@given(raw=bundles(), name=st.sampled_from(["b.sgb", "b\udcff.sgb"]), as_json=st.booleans())
def test_signatures_verify_any_bundle(raw, name, as_json):
    with tempfile.TemporaryDirectory() as tmp:
        args = argparse.Namespace(signatures_command="verify", bundle=_write(tmp, name, raw),
                                  pubkey=sgb.public_key_base64(PUBLIC), json=as_json)
        _check_output(*_captured(lambda: signature_commands.run(args)))
