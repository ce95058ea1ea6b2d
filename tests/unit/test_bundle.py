"""Signed signature bundles: round trip, every way a bundle can be bad, and hot reload."""

import base64
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from agent.signatures import bundle as sgb
from agent.signatures.reloader import SignatureSource

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

APPS = """\
schema: 1
family: apps
apps:
  - id: zoom
    kind: meeting
    name: {en: Zoom, zh_CN: Zoom}
    source: "test fixture"
    processes:
      - {name: zoom, platforms: [linux]}
"""
FINANCE = """\
schema: 1
family: finance
region: cn
contexts:
  - id: icbc
    category: bank
    name: {zh_CN: 中国工商银行, en: Industrial and Commercial Bank of China}
    strong: [中国工商银行]
    source: "test fixture"
"""
RULES = """\
schema: 1
family: title_rules
source: "test fixture"
context_words: [银行]
exclude_titles: []
exclude_processes: []
"""
EXTRA_APP = """\
  - id: anydesk
    kind: remote_control
    name: {en: AnyDesk, zh_CN: AnyDesk}
    source: "test fixture"
    processes:
      - {name: anydesk, platforms: [linux]}
"""


def write_tree(root, extra_app=False):
    os.makedirs(os.path.join(root, "finance"), exist_ok=True)
    with open(os.path.join(root, "apps.yaml"), "w", encoding="utf-8") as fh:
        fh.write(APPS + (EXTRA_APP if extra_app else ""))
    with open(os.path.join(root, "finance", "cn.yaml"), "w", encoding="utf-8") as fh:
        fh.write(FINANCE)
    with open(os.path.join(root, "title_rules.yaml"), "w", encoding="utf-8") as fh:
        fh.write(RULES)
    return str(root)


@pytest.fixture
def keys(tmp_path):
    priv = str(tmp_path / "signing.key")
    public = sgb.generate_keypair(priv)
    return priv, public


@pytest.fixture
def tree(tmp_path):
    return write_tree(tmp_path / "sigs")


def make_bundle(tmp_path, tree, keys, name="good.sgb", **kw):
    out = str(tmp_path / name)
    sgb.build_bundle(tree, sgb.load_private_key(keys[0]), out, **kw)
    return out


def members_of(path):
    with tarfile.open(path, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isreg() else b"") for m in tar.getmembers()]


def write_members(path, members, raw_infos=()):
    """Write a tar.gz from (TarInfo, bytes) pairs, exactly as given (to forge bad bundles)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
        for info in raw_infos:
            tar.addfile(info)
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())


def rewrite(src, dst, change):
    """Copy a bundle, passing each (name, data) through ``change`` (return None to drop)."""
    out = []
    for info, data in members_of(src):
        new = change(info.name, data)
        if new is not None:
            out.append((tarfile.TarInfo(info.name), new))
    write_members(dst, out)
    return dst


def test_round_trip(tmp_path, tree, keys):
    path = make_bundle(tmp_path, tree, keys, version="2026.11.1")
    verified = sgb.verify_bundle(path, keys[1])
    assert verified.manifest.version == "2026.11.1"
    assert sorted(verified.files) == ["apps.yaml", "finance/cn.yaml", "title_rules.yaml"]
    assert verified.manifest.key_id == sgb.key_id(keys[1])
    # The base64 form that goes into policy verifies too, and so does the .pub file path.
    assert sgb.verify_bundle(path, sgb.public_key_base64(keys[1])).manifest.version == "2026.11.1"
    assert sgb.verify_bundle(path, keys[0] + ".pub").files == verified.files
    raw_hex = base64.b64decode(sgb.public_key_base64(keys[1])).hex()
    assert sgb.verify_bundle(path, raw_hex).manifest.key_id == verified.manifest.key_id


def test_bundle_is_reproducible(tmp_path, tree, keys):
    a = make_bundle(tmp_path, tree, keys, "a.sgb", version="1", created="2026-01-01T00:00:00Z")
    b = make_bundle(tmp_path, tree, keys, "b.sgb", version="1", created="2026-01-01T00:00:00Z")
    with open(a, "rb") as fa, open(b, "rb") as fb:
        assert fa.read() == fb.read()


def test_private_key_file_is_private(keys):
    assert os.stat(keys[0]).st_mode & 0o077 == 0


def reject(path, key, code):
    with pytest.raises(sgb.BundleError) as info:
        sgb.verify_bundle(path, key)
    assert info.value.code == code, str(info.value)
    # Every reason names the bundle and exists in both languages.
    assert path in str(info.value) and path in info.value.message("zh_CN")
    return info.value


def test_tampered_file_content_rejected(tmp_path, tree, keys):
    good = make_bundle(tmp_path, tree, keys)
    bad = rewrite(good, str(tmp_path / "bad.sgb"),
                  lambda n, d: d.replace(b"name: zoom", b"name: zoomx") if n == "files/apps.yaml" else d)
    err = reject(bad, keys[1], "hash_mismatch")
    assert "apps.yaml" in str(err)


def test_tampered_manifest_rejected(tmp_path, tree, keys):
    good = make_bundle(tmp_path, tree, keys)

    def change(name, data):
        if name == "manifest.json":
            doc = json.loads(data)
            doc["version"] = "9999"
            return json.dumps(doc).encode()
        return data

    err = reject(rewrite(good, str(tmp_path / "bad.sgb"), change), keys[1], "bad_signature")
    assert "pinned key" in str(err)


def test_wrong_key_rejected(tmp_path, tree, keys):
    good = make_bundle(tmp_path, tree, keys)
    other = sgb.generate_keypair(str(tmp_path / "other.key"))
    err = reject(good, other, "bad_signature")
    assert sgb.key_id(other) in str(err) and sgb.key_id(keys[1]) in str(err)


def test_extra_file_rejected(tmp_path, tree, keys):
    good = make_bundle(tmp_path, tree, keys)
    members = [(tarfile.TarInfo(i.name), d) for i, d in members_of(good)]
    members.append((tarfile.TarInfo("files/evil.yaml"), APPS.replace("zoom", "evil").encode()))
    bad = str(tmp_path / "bad.sgb")
    write_members(bad, members)
    assert "evil.yaml" in str(reject(bad, keys[1], "unlisted_file"))


def test_missing_file_rejected(tmp_path, tree, keys):
    good = make_bundle(tmp_path, tree, keys)
    bad = rewrite(good, str(tmp_path / "bad.sgb"), lambda n, d: None if n == "files/title_rules.yaml" else d)
    reject(bad, keys[1], "missing_file")


@pytest.mark.parametrize("name", ["../escape.yaml", "files/../../escape.yaml", "/etc/cron.d/x.yaml",
                                  "files/.hidden.yaml", "other/x.yaml", "files/a\\..\\b.yaml"])
def test_path_traversal_member_rejected(tmp_path, tree, keys, name):
    good = make_bundle(tmp_path, tree, keys)
    members = [(tarfile.TarInfo(i.name), d) for i, d in members_of(good)]
    members.insert(0, (tarfile.TarInfo(name), b"x: 1\n"))
    bad = str(tmp_path / "bad.sgb")
    write_members(bad, members)
    reject(bad, keys[1], "unsafe_member")
    assert not os.path.exists(tmp_path / "escape.yaml")


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE])
def test_link_and_special_members_rejected(tmp_path, tree, keys, kind):
    good = make_bundle(tmp_path, tree, keys)
    link = tarfile.TarInfo("files/link.yaml")
    link.type, link.linkname = kind, "/etc/passwd"
    bad = str(tmp_path / "bad.sgb")
    write_members(bad, [(tarfile.TarInfo(i.name), d) for i, d in members_of(good)], raw_infos=[link])
    reject(bad, keys[1], "unsafe_member")


def test_truncated_archive_rejected(tmp_path, tree, keys):
    good = make_bundle(tmp_path, tree, keys)
    with open(good, "rb") as fh:
        data = fh.read()
    bad = str(tmp_path / "bad.sgb")
    with open(bad, "wb") as fh:
        fh.write(data[: len(data) // 2])
    reject(bad, keys[1], "corrupt")


def test_not_an_archive_and_missing_file(tmp_path, keys):
    junk = tmp_path / "junk.sgb"
    junk.write_bytes(b"hello, not a bundle")
    reject(str(junk), keys[1], "corrupt")
    reject(str(tmp_path / "absent.sgb"), keys[1], "missing")


def test_oversized_member_rejected(tmp_path, tree, keys, monkeypatch):
    good = make_bundle(tmp_path, tree, keys)
    monkeypatch.setattr(sgb, "MAX_FILE_BYTES", 50)
    reject(good, keys[1], "too_large")


def test_bad_public_key_reports_clearly(tmp_path):
    with pytest.raises(sgb.BundleError) as info:
        sgb.load_public_key(base64.b64encode(b"short").decode())
    assert info.value.code == "bad_key"
    with pytest.raises(sgb.BundleError):
        sgb.load_public_key(str(tmp_path / "nope.pub"))


# --------------------------------------------------------------------------- reloader


class Events(list):
    """Records events, holding them to the audit schema the real sink enforces."""

    def __call__(self, type_, **fields):
        from agent.audit.events import EVENT_TYPES
        spec = EVENT_TYPES[type_]
        assert set(spec.required) <= set(fields) <= set(spec.required) | set(spec.optional), (type_, fields)
        self.append((type_, fields))

    def types(self):
        return [t for t, _ in self]


def replace_atomically(src, dst):
    os.replace(src, dst)


def test_reloader_loads_good_bundle_over_builtin(tmp_path, tree, keys):
    builtin = write_tree(tmp_path / "builtin")
    live = str(tmp_path / "live.sgb")
    make_bundle(tmp_path, write_tree(tmp_path / "v1", extra_app=True), keys, "live.sgb", version="v1")
    events = Events()
    source = SignatureSource(live, sgb.public_key_base64(keys[1]), builtin, events)
    assert source.current().version == "v1"
    assert {a.id for a in source.current().apps} == {"zoom", "anydesk"}
    assert events.types() == ["signatures_loaded"] and events[0][1]["version"] == "v1"
    assert events[0][1]["source"] == live and events[0][1]["count"] == 3
    assert source.check() is False  # unchanged file: nothing to do


def test_tampered_bundle_rejected_and_old_signatures_stay(tmp_path, keys):
    builtin = write_tree(tmp_path / "builtin")
    live = str(tmp_path / "live.sgb")
    make_bundle(tmp_path, write_tree(tmp_path / "v1", extra_app=True), keys, "live.sgb", version="v1",
                created="2026-01-01T00:00:00Z")
    events = Events()
    source = SignatureSource(live, keys[1], builtin, events)
    before = source.current()
    assert before.version == "v1"

    # An attacker edits a YAML file inside the live bundle (drops the remote tool).
    forged = rewrite(live, str(tmp_path / "forged.sgb"),
                     lambda n, d: d.replace(b"anydesk", b"notepad") if n == "files/apps.yaml" else d)
    replace_atomically(forged, live)
    assert source.check() is False
    assert source.current() is before
    assert {a.id for a in source.current().apps} == {"zoom", "anydesk"}
    kind, fields = events[-1]
    assert kind == "signatures_rejected" and source.last_rejection.code == "hash_mismatch"
    assert "apps.yaml" in fields["problems"][0] and "kept signatures version v1" in fields["problems"]
    # Reported once, not on every poll.
    assert source.check() is False and events.types().count("signatures_rejected") == 1


def test_in_place_change_keeping_mtime_and_size_is_noticed(tmp_path, keys):
    live = make_bundle(tmp_path, write_tree(tmp_path / "v1"), keys, "live.sgb", version="v1")
    events = Events()
    source = SignatureSource(live, keys[1], write_tree(tmp_path / "builtin"), events)
    st = os.stat(live)
    with open(live, "r+b") as fh:  # same inode and size, then mtime put back (like `cp -p`)
        data = bytearray(fh.read())
        data[len(data) // 2] ^= 0xFF
        fh.seek(0)
        fh.write(data)
    os.utime(live, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(live).st_size == st.st_size and os.stat(live).st_mtime_ns == st.st_mtime_ns
    assert source.check() is False and source.current().version == "v1"
    assert events[-1][0] == "signatures_rejected"


def test_hot_reload_picks_up_new_good_bundle(tmp_path, keys):
    builtin = write_tree(tmp_path / "builtin")
    live = str(tmp_path / "live.sgb")
    events = Events()
    source = SignatureSource(live, keys[1], builtin, events)  # nothing there yet
    assert source.current().version != "v2"
    assert events.types() == ["signatures_rejected"] and source.last_rejection.code == "missing"

    new = make_bundle(tmp_path, write_tree(tmp_path / "v2", extra_app=True), keys, "v2.sgb", version="v2")
    replace_atomically(new, live)
    assert source.check() is True
    assert source.current().version == "v2"
    assert source.current().app("anydesk") is not None
    assert events[-1][0] == "signatures_loaded" and events[-1][1]["version"] == "v2"
    assert source.last_rejection is None


def test_reloader_rejects_wrong_key_and_unsigned_config(tmp_path, tree, keys):
    builtin = write_tree(tmp_path / "builtin")
    live = make_bundle(tmp_path, tree, keys, "live.sgb", version="v1")
    other = sgb.generate_keypair(str(tmp_path / "other.key"))
    events = Events()
    source = SignatureSource(live, other, builtin, events)
    assert source.current().version != "v1"
    assert events[-1][0] == "signatures_rejected" and source.last_rejection.code == "bad_signature"
    events2 = Events()
    unsigned = SignatureSource(live, None, builtin, events2)
    assert unsigned.last_rejection.code == "no_key" and unsigned.current().version != "v1"


def test_reloader_rejects_signed_but_invalid_content(tmp_path, keys):
    builtin = write_tree(tmp_path / "builtin")
    broken = write_tree(tmp_path / "broken")
    with open(os.path.join(broken, "apps.yaml"), "a", encoding="utf-8") as fh:
        fh.write("    colour: blue\n")  # an unknown key: signed, but not valid signatures
    live = make_bundle(tmp_path, broken, keys, "live.sgb", version="v-broken")
    events = Events()
    source = SignatureSource(live, keys[1], builtin, events)
    assert source.current().version != "v-broken"
    assert source.current().app("zoom") is not None  # the built-in set stays
    kind, fields = events[-1]
    assert kind == "signatures_rejected" and source.last_rejection.code == "invalid_content"
    assert "live.sgb!apps.yaml" in fields["problems"][0]


def test_reloader_refuses_rollback_to_older_bundle(tmp_path, tree, keys):
    builtin = write_tree(tmp_path / "builtin")
    live = str(tmp_path / "live.sgb")
    old = make_bundle(tmp_path, tree, keys, "old.sgb", version="v1", created="2026-01-01T00:00:00Z")
    new = make_bundle(tmp_path, tree, keys, "new.sgb", version="v2", created="2026-02-01T00:00:00Z")
    os.link(new, live)
    events = Events()
    source = SignatureSource(live, keys[1], builtin, events)
    assert source.current().version == "v2"
    replace_atomically(old, live)
    assert source.check() is False and source.current().version == "v2"
    assert source.last_rejection.code == "rollback"


def test_failing_event_sink_does_not_undo_a_load(tmp_path, tree, keys):
    def broken_sink(_type, **_fields):
        raise ValueError("sink bug")

    live = make_bundle(tmp_path, tree, keys, "live.sgb", version="v1")
    source = SignatureSource(live, keys[1], write_tree(tmp_path / "builtin"), broken_sink)
    assert source.current().version == "v1"


def test_reconfigure_without_bundle_returns_to_builtin(tmp_path, tree, keys):
    builtin = write_tree(tmp_path / "builtin")
    live = make_bundle(tmp_path, tree, keys, "live.sgb", version="v1")
    source = SignatureSource(live, keys[1], builtin, Events())
    assert source.current().version == "v1"
    assert source.reconfigure(None, None) is True
    assert source.current().version != "v1"


# --------------------------------------------------------------------------- CLI


def run_cli(*args, cwd=None):
    env = dict(os.environ, LANG="C.UTF-8", PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "agent", "signatures", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


def test_cli_keygen_bundle_verify(tmp_path, tree):
    key = str(tmp_path / "k")
    r = run_cli("keygen", key)
    assert r.returncode == 0, r.stderr
    b64 = [line.split(": ", 1)[1] for line in r.stdout.splitlines() if "(signature_pubkey)" in line][0]
    assert run_cli("keygen", key).returncode == 2  # never overwrites a key
    out = str(tmp_path / "s.sgb")
    r = run_cli("bundle", tree, "--key", key, "-o", out, "--version", "7")
    assert r.returncode == 0, r.stderr
    r = run_cli("verify", out, "--pubkey", b64, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == "7"
    forged = rewrite(out, str(tmp_path / "f.sgb"), lambda n, d: d + b"# x\n" if n.endswith("cn.yaml") else d)
    r = run_cli("verify", forged, "--pubkey", key + ".pub")
    assert r.returncode == 2 and "REJECTED" in r.stderr and "cn.yaml" in r.stderr


def test_cli_bundle_refuses_invalid_tree(tmp_path, tree):
    key = str(tmp_path / "k")
    assert run_cli("keygen", key).returncode == 0
    with open(os.path.join(tree, "apps.yaml"), "a", encoding="utf-8") as fh:
        fh.write("    colour: blue\n")
    r = run_cli("bundle", tree, "--key", key, "-o", str(tmp_path / "s.sgb"))
    assert r.returncode == 2 and "apps.yaml" in r.stderr
    assert not os.path.exists(tmp_path / "s.sgb")


def test_gzip_bomb_guard_uses_sizes_not_trust(tmp_path, keys, monkeypatch):
    # A member whose header claims a small size but whose stream is cut: reported as corrupt, not read forever.
    big = tmp_path / "big.sgb"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = 10_000
        tar.addfile(info, io.BytesIO(b"x" * 10_000))
    big.write_bytes(gzip.compress(buf.getvalue()[:3000]))
    reject(str(big), keys[1], "corrupt")
