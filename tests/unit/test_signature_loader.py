"""The signature loader: every problem as file:line with what to change, all at once."""

import os
import subprocess
import sys
import textwrap

import pytest

from agent.cli import main as shareguard
from agent.signatures.loader import (
    SignatureError,
    load_signatures,
    signature_files,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
if not os.path.exists(PYTHON):
    PYTHON = sys.executable

GOOD_APPS = """\
schema: 1
family: apps
apps:
  - id: zoom
    kind: meeting
    name: {en: Zoom, zh_CN: Zoom}
    source: "test"
    processes:
      - {name: Zoom.exe, platforms: [windows]}
      - zoom
    signals:
      - grade: in_session
        process: {name: CptHost.exe, platforms: [windows]}
        source: "test"
      - grade: sharing
        window: {class: ZPFloatToolbarClass, title: 'Screen sharing meeting controls'}
        platforms: [windows]
        source: "test"
      - grade: sharing
        window: {title: '^as_toolbar$', same_app: true}
        source: "test"
  - id: rustdesk
    kind: remote_control
    name: {en: RustDesk, zh_CN: RustDesk}
    source: "test"
    processes: [{name: rustdesk}]
    signals:
      - grade: sharing
        process: {name: rustdesk, args: ["--cm"]}
        source: "test"
      - grade: in_session
        connection: {remote_ports: ["21116-21118", 443], local_ports: [21118]}
        source: "test"
"""

GOOD_FINANCE = """\
schema: 1
family: finance
region: cn
contexts:
  - id: icbc
    category: bank
    name: {zh_CN: 中国工商银行, en: Industrial and Commercial Bank of China}
    strong: [中国工商银行, ICBC]
    weak: [工行]
    patterns: ['icbc\\s+online']
    domains: [icbc.com.cn]
    source: "https://www.icbc.com.cn"
"""

GOOD_RULES = """\
schema: 1
family: title_rules
source: "test"
context_words: [银行, bank]
exclude_titles: ['\\.xlsx?\\b']
exclude_processes:
  - {name: EXCEL.EXE, platforms: [windows]}
"""


def write(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(tmp_path)


def problems_of(path):
    with pytest.raises(SignatureError) as info:
        load_signatures(path)
    return info.value.problems


def only_problem(path):
    problems = problems_of(path)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_valid_directory_loads_every_family(tmp_path):
    root = write(tmp_path, {"apps.yaml": GOOD_APPS, "finance/cn.yaml": GOOD_FINANCE, "title_rules.yaml": GOOD_RULES})
    sigs = load_signatures(root)
    assert [a.id for a in sigs.apps] == ["zoom", "rustdesk"]
    zoom = sigs.app("zoom")
    assert zoom.names == {"en": "Zoom", "zh_CN": "Zoom"}
    assert [p.name for p in zoom.processes] == ["Zoom.exe", "zoom"]
    assert zoom.processes[0].platforms == ("windows",)
    assert [s.label for s in zoom.signals] == [
        "process:CptHost.exe", "window-class:ZPFloatToolbarClass", "window-title:^as_toolbar$"]
    assert zoom.signals[1].window.wm_class == "ZPFloatToolbarClass"
    assert zoom.signals[1].platforms == ("windows",)
    assert zoom.signals[2].window.same_app is True
    assert zoom.has_share_signal
    assert zoom.origin.endswith("apps.yaml:4")
    rust = sigs.app("rustdesk")
    assert rust.signals[0].label == "process-args:rustdesk --cm"
    assert rust.signals[1].connection.remote_ports == (21116, 21117, 21118, 443)
    assert rust.signals[1].connection.statuses == ("ESTABLISHED",)
    assert rust.signals[1].label == "port:21116,21117,21118,443"
    (icbc,) = sigs.sensitive
    assert (icbc.id, icbc.category, icbc.region, icbc.weak) == ("icbc", "bank", "cn", ("工行",))
    assert sigs.title_rules.context_words == ("银行", "bank")
    assert sigs.title_rules.exclude_processes[0].name == "EXCEL.EXE"
    assert len(sigs.files) == 3 and len(sigs.version) == 12


def test_version_follows_content_and_single_file_loads(tmp_path):
    root = write(tmp_path, {"apps.yaml": GOOD_APPS})
    first = load_signatures(root).version
    assert load_signatures(root).version == first
    (tmp_path / "apps.yaml").write_text(GOOD_APPS.replace("Zoom.exe", "Zoom64.exe"), encoding="utf-8")
    assert load_signatures(root).version != first
    single = load_signatures(str(tmp_path / "apps.yaml"))
    assert single.files == (str(tmp_path / "apps.yaml"),)


def test_yaml_syntax_error_names_the_line(tmp_path):
    root = write(tmp_path, {"bad.yaml": "schema: 1\nfamily: apps\napps:\n  - id: x\n    kind: [meeting\n"})
    p = only_problem(root)
    assert p.file.endswith("bad.yaml") and p.line in (5, 6)
    assert "not valid YAML" in p.message


def test_unknown_key_lists_allowed_keys(tmp_path):
    root = write(tmp_path, {"a.yaml": GOOD_APPS.replace("    kind: meeting\n", "    kind: meeting\n    colour: red\n")})
    p = only_problem(root)
    assert (os.path.basename(p.file), p.line) == ("a.yaml", 6)
    assert p.message == ("unknown key 'colour' in app 'zoom'; expected one of: "
                         "id, kind, name, source, processes, signals, calls, fallback, stream_min_rate")
    assert str(p).endswith("a.yaml:6: " + p.message)


def test_missing_source(tmp_path):
    root = write(tmp_path, {"a.yaml": GOOD_APPS.replace('    source: "test"\n    processes:\n      - {name: Zoom',
                                                        '    processes:\n      - {name: Zoom')})
    p = only_problem(root)
    assert p.line == 4 and p.message == "app 'zoom': missing required key 'source'"


def test_missing_signal_source(tmp_path):
    text = GOOD_APPS.replace("        process: {name: CptHost.exe, platforms: [windows]}\n        source: \"test\"\n",
                             "        process: {name: CptHost.exe, platforms: [windows]}\n")
    p = only_problem(write(tmp_path, {"a.yaml": text}))
    assert p.line == 12 and p.message == "app 'zoom': signal 1: missing required key 'source'"


def test_bad_regex(tmp_path):
    root = write(tmp_path, {"a.yaml": GOOD_APPS.replace("'^as_toolbar$'", "'^as_(toolbar$'")})
    p = only_problem(root)
    assert p.line == 20
    assert "app 'zoom': signal 3: window: title: bad regular expression '^as_(toolbar$'" in p.message


def test_regex_matching_everything_is_refused(tmp_path):
    p = only_problem(write(tmp_path, {"r.yaml": GOOD_RULES.replace("'\\.xlsx?\\b'", "'.*'")}))
    assert p.line == 5 and "matches an empty text" in p.message


def test_duplicate_id_across_files_reports_both_places(tmp_path):
    root = write(tmp_path, {"a.yaml": GOOD_APPS, "sub/b.yaml": GOOD_APPS.replace("id: zoom", "id: zoom2")})
    problems = problems_of(root)
    assert len(problems) == 2
    places = sorted((os.path.relpath(p.file, root), p.line) for p in problems)
    assert places == [("a.yaml", 22), (os.path.join("sub", "b.yaml"), 22)]
    for p in problems:
        assert "duplicate app id 'rustdesk'" in p.message and "also at" in p.message


def test_wrong_type(tmp_path):
    root = write(tmp_path, {"a.yaml": GOOD_APPS.replace("{name: rustdesk, args: [\"--cm\"]}",
                                                        "{name: rustdesk, args: \"--cm\"}")})
    p = only_problem(root)
    assert p.line == 29
    assert p.message == "app 'rustdesk': signal 1: process: args must be a list, got str '--cm'"


def test_bad_enums(tmp_path):
    text = (GOOD_APPS.replace("kind: remote_control", "kind: remote")
            .replace("{name: Zoom.exe, platforms: [windows]}", "{name: Zoom.exe, platforms: [win32]}")
            .replace("grade: in_session\n        process", "grade: running\n        process"))
    problems = problems_of(write(tmp_path, {"a.yaml": text}))
    got = {(p.line, p.message) for p in problems}
    assert got == {
        (9, "app 'zoom': process 1: platform is str 'win32'; expected one of: windows, darwin, linux"),
        (12, "app 'zoom': signal 1: grade is str 'running'; expected one of: in_session, sharing"),
        (23, "app 'rustdesk': kind is str 'remote'; expected one of: meeting, remote_control, browser"),
    }


def test_missing_zh_cn_name(tmp_path):
    p = only_problem(write(tmp_path, {"f.yaml": GOOD_FINANCE.replace("zh_CN: 中国工商银行, ", "")}))
    assert p.line == 7 and p.message == "context 'icbc': name has no 'zh_CN' text; give both en and zh_CN"


def test_signal_with_two_matchers(tmp_path):
    text = GOOD_APPS.replace("        process: {name: CptHost.exe, platforms: [windows]}\n",
                             "        process: {name: CptHost.exe, platforms: [windows]}\n        window: {class: X}\n")
    p = only_problem(write(tmp_path, {"meetings.yaml": text}))
    assert p.line == 12
    assert p.message == "app 'zoom': signal 1 has 'process' and 'window'; keep exactly one"


def test_schema_family_and_category(tmp_path):
    root = write(tmp_path, {
        "a.yaml": GOOD_APPS.replace("schema: 1", "schema: 2"),
        "b.yaml": "schema: 1\nfamily: banks\n",
        "c.yaml": GOOD_FINANCE.replace("category: bank", "category: shop"),
        "d.yaml": "",
        "e.yaml": "- just\n- a list\n",
    })
    got = {(os.path.basename(p.file), p.line, p.message) for p in problems_of(root)}
    assert got == {
        ("a.yaml", 1, "schema is int 2; this agent reads schema: 1"),
        ("b.yaml", 2, "family is str 'banks'; expected one of: apps, finance, title_rules"),
        ("c.yaml", 6, "context 'icbc': category is str 'shop'; expected one of: bank, loan, payment, "
                      "credit_report, investment"),
        ("d.yaml", 1, "file is empty; it needs 'schema: 1' and 'family:'"),
        ("e.yaml", 1, "top level must be a mapping with 'schema: 1' and 'family:', got a list"),
    }


def test_problems_of_all_files_are_collected_and_str_lists_them(tmp_path):
    root = write(tmp_path, {"a.yaml": GOOD_APPS.replace("kind: meeting", "kind: x"),
                            "b.yaml": GOOD_FINANCE.replace("category: bank", "category: y")})
    with pytest.raises(SignatureError) as info:
        load_signatures(root)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(os.path.join(root, "a.yaml") + ":5: ")
    assert lines[1].startswith(os.path.join(root, "b.yaml") + ":6: ")


def test_bad_ports_and_process_paths(tmp_path):
    text = (GOOD_APPS.replace('local_ports: [21118]', 'local_ports: [70000]')
            .replace("      - zoom\n", "      - 'C:\\Zoom\\Zoom.exe'\n"))
    got = {(p.line, p.message) for p in problems_of(write(tmp_path, {"a.yaml": text}))}
    assert (10, "app 'zoom': process 2: name 'C:\\\\Zoom\\\\Zoom.exe' must be an executable name, not a path; "
                "use exe_contains for paths") in got
    assert any(line == 32 and "local_ports: int 70000 is not a port" in msg for line, msg in got)


def test_missing_path_and_empty_dir(tmp_path):
    assert "no such file" in only_problem(str(tmp_path / "nope")).message
    assert "no *.yaml" in only_problem(str(tmp_path)).message


def test_signature_files_recursive_sorted_and_skips_hidden(tmp_path):
    write(tmp_path, {"b.yaml": GOOD_RULES, "a/z.yaml": GOOD_APPS, ".git/x.yaml": "junk: [",
                     "notes.txt": "x", "a/.hidden.yaml": "junk: ["})
    rels = [os.path.relpath(f, tmp_path) for f in signature_files(str(tmp_path))]
    assert rels == [os.path.join("a", "z.yaml"), "b.yaml"]


# ---------------------------------------------------------------- the command


def run_cmd(*args):
    return subprocess.run([PYTHON, "-m", "agent", "signatures", *args], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": ""})


def test_validate_command_ok_and_problem_exit_codes(tmp_path):
    root = write(tmp_path, {"apps.yaml": GOOD_APPS, "finance/cn.yaml": GOOD_FINANCE})
    ok = run_cmd("validate", root)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: 2 apps, 1 sensitive contexts from 2 files (version ")
    (tmp_path / "apps.yaml").write_text(GOOD_APPS.replace("kind: meeting", "kind: meetin"), encoding="utf-8")
    bad = run_cmd("validate", root)
    assert bad.returncode == 2
    assert os.path.join(root, "apps.yaml") + ":5: app 'zoom': kind is str 'meetin'" in bad.stderr
    assert "Traceback" not in bad.stderr and bad.stdout == ""


def test_list_command_json(tmp_path, capsys):
    import json
    root = write(tmp_path, {"apps.yaml": GOOD_APPS, "finance/cn.yaml": GOOD_FINANCE})
    assert shareguard(["signatures", "list", root, "--kind", "remote_control", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["rustdesk"]
    assert rows[0]["signals"][0] == {"grade": "sharing", "label": "process-args:rustdesk --cm"}
    assert shareguard(["signatures", "list", root, "--kind", "sensitive"]) == 0
    assert capsys.readouterr().out.split()[0] == "icbc"


def test_shareguard_cli_validate(tmp_path):
    """Through the real `python -m agent` entry point."""
    root = write(tmp_path, {"apps.yaml": GOOD_APPS})
    ok = subprocess.run([PYTHON, "-m", "agent", "signatures", "validate", root], cwd=ROOT,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: 2 apps"), ok.stderr
    (tmp_path / "apps.yaml").write_text("schema: 1\nfamily: apps\napps: [", encoding="utf-8")
    bad = subprocess.run([PYTHON, "-m", "agent", "signatures", "validate", root], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "apps.yaml:" in bad.stderr and "Traceback" not in bad.stderr


DEVICE_APP = GOOD_APPS + """\
  - id: wemeet
    kind: meeting
    name: {en: Tencent Meeting, zh_CN: 腾讯会议}
    source: "test"
    processes: [wemeetapp.exe]
    signals:
      - grade: in_session
        device: {devices: [microphone]}
        source: "test"
      - grade: in_session
        device: {}
        source: "test"
"""


def test_device_signals_load_with_derived_labels(tmp_path):
    app = load_signatures(write(tmp_path, {"apps.yaml": DEVICE_APP})).app("wemeet")
    assert [s.device.devices for s in app.signals] == [("microphone",), ("microphone", "camera")]
    assert [s.label for s in app.signals] == ["device:microphone", "device:microphone,camera"]
    assert not app.has_share_signal


@pytest.mark.parametrize("signal,needle", [
    ("grade: sharing\n        device: {devices: [microphone]}", "a device signal can only prove 'in_session'"),
    ("grade: in_session\n        device: {devices: [screen]}", "devices"),
    ("grade: in_session\n        device: {devices: []}", "devices must not be empty"),
    ("grade: in_session\n        device: {kinds: [camera]}", "unknown key 'kinds'"),
])
def test_bad_device_signals_are_clear_errors(tmp_path, signal, needle):
    text = DEVICE_APP.replace("grade: in_session\n        device: {devices: [microphone]}", signal)
    problem = only_problem(write(tmp_path, {"apps.yaml": text}))
    assert needle in problem.message and problem.file.endswith("apps.yaml") and problem.line > 1
