#!/usr/bin/env python3
"""Generate signatures/remote_control_lolrmm.yaml from the LOLRMM catalog.

Usage: ``tools/gen_lolrmm.py LOLRMM_YAML_DIR OUT.yaml`` (``make signatures``).

LOLRMM (github.com/magicsword-io/LOLRMM, Apache-2.0) lists remote monitoring
and management tools and RATs, but has no process-name field. Executable names
are derived from the basenames of ``Details.InstallationPaths`` and
``Details.PEMetadata`` ``Filename``/``OriginalFileName``:

* ``*.exe`` -> a Windows process; ``X.app`` -> the macOS process ``X``;
  an extension-less file under a POSIX path (``/usr/bin/tmate``) or an
  extension-less PE file name -> a Unix process.
* directories, installers that are not programs (``.msi``, ``.pkg``, ``.dll``),
  free text, and wildcard-only or bracket patterns are skipped.
* generic names that would raise false alarms (``explorer.exe``, ``agent.exe``)
  are dropped: see tools/data/lolrmm_exclusions.yaml, one reason per entry.
* tools whose names overlap the hand-written app signatures in the output
  directory (remote_control.yaml and friends) are skipped: curated entries win.
* files describing the same tool (the same name, or a shared executable) are
  merged into one entry.

Every entry is ``kind: remote_control`` with grade ``running`` only: the
catalog's ports are too generic (443, 80) to prove a session. Output is sorted
and deterministic.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import os
import re
import sys
from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml

#: libyaml when present: the catalog is ~300 files.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

LOLRMM_PROJECT = "LOLRMM (https://github.com/magicsword-io/LOLRMM)"
LOLRMM_COMMIT = "3c75cf091b10bf7e8ecd576055c44d172b35ff21"

#: The exclusions (denied names and wildcards, skipped catalog files), each with its reason.
EXCLUSIONS = os.path.join(HERE, "data", "lolrmm_exclusions.yaml")


def load_exclusions(path: str = EXCLUSIONS) -> Tuple[Dict[str, str], Tuple[Tuple[str, str], ...], Dict[str, str]]:
    """``(denied names, denied patterns, skipped tools)`` from the data file, each entry -> its reason.

    An entry without a reason is an error: every exclusion must say why.
    """
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=FAST_LOADER) or {}

    def entries(section: str, key: str) -> List[Tuple[str, str]]:
        out = []
        for entry in data.get(section) or []:
            if not isinstance(entry, dict) or not str(entry.get(key) or "").strip() \
                    or not str(entry.get("reason") or "").strip():
                raise ValueError(f"{path}: {section}: every entry needs '{key}' and a 'reason', got {entry!r}")
            out.append((str(entry[key]), str(entry["reason"])))
        return out

    return (dict(entries("denied_names", "name")), tuple(entries("denied_patterns", "pattern")),
            dict(entries("skipped_tools", "file")))


#: Executable names (casefolded, without ``.exe``) never emitted, wildcard denials, and LOLRMM
#: files (by stem) left out as a whole: see tools/data/lolrmm_exclusions.yaml for each reason.
DENYLIST, DENY_PATTERNS, SKIP_TOOLS = load_exclusions()

#: Unix locations that hold configuration or unit files, never programs.
CONFIG_DIRS = ("/etc/", "/lib/", "/usr/lib/systemd/", "/library/", "/var/", "/usr/share/")

NAME_OK = re.compile(r"^[^\s\"'<>|:]+( [^\s\"'<>|:]+)*$")


def _stem(name: str) -> str:
    folded = name.casefold()
    return folded[:-4] if folded.endswith(".exe") else folded


def _is_denied(name: str) -> Optional[str]:
    """The denylist reason for ``name`` (or a wildcard broad enough to match a denied name)."""
    stem = _stem(name)
    if stem in DENYLIST:
        return DENYLIST[stem]
    for pattern, reason in DENY_PATTERNS:
        if fnmatch.fnmatchcase(stem, pattern):
            return reason
    if "*" in stem or "?" in stem:
        for denied, reason in DENYLIST.items():
            if fnmatch.fnmatchcase(denied, stem):
                return f"wildcard matches '{denied}' ({reason})"
    return None


def name_from_path(raw: object) -> Tuple[Optional[Tuple[str, Tuple[str, ...]]], str]:
    """``((name, platforms), "")`` for an installation path, or ``(None, reason)``."""
    text = str(raw if raw is not None else "").strip().strip("'\"")
    if not text:
        return None, "empty"
    windows = "\\" in text or re.match(r"^[A-Za-z]:", text) is not None or "%" in text
    posix = text.startswith("/") or text.startswith("~/")
    if text.endswith(("\\", "/")):
        return None, "directory"
    base = re.split(r"[\\/]+", text)[-1].strip()
    folded = base.casefold()
    if folded.endswith(".exe"):
        return (base, ("windows",)), ""
    if folded.endswith(".app"):
        return (base[:-4], ("darwin",)), ""
    if ".app/contents/macos/" in text.casefold():
        return (base, ("darwin",)), ""
    if posix and not windows and "." not in base:
        if any(text.casefold().startswith(d) for d in CONFIG_DIRS):
            return None, "configuration file"
        if text.startswith("/Applications/"):
            return (base, ("darwin",)), ""
        return (base, ("linux", "darwin")), ""
    return None, "not a program"


def name_from_pe(raw: object) -> Tuple[Optional[Tuple[str, Tuple[str, ...]]], str]:
    """``((name, platforms), "")`` for a PEMetadata file name, or ``(None, reason)``."""
    text = str(raw if raw is not None else "").strip().strip("'\"")
    if not text:
        return None, "empty"
    base = re.split(r"[\\/]+", text)[-1].strip()
    if base.casefold().endswith(".exe"):
        return (base, ("windows",)), ""
    if "." not in base and " " not in base:
        # An extension-less program name (glpi-agent, tmate): a Unix build.
        return (base, ()), ""
    return None, "not a program"


def _check_name(name: str) -> str:
    """Why ``name`` cannot be used as a process matcher, or ""."""
    if "[" in name or "]" in name:
        return "unsupported wildcard"
    literal = _stem(name).replace("*", "").replace("?", "")
    # A wildcard needs 4 literal characters: "g2a*" (GoToAssist) also matched any "g2a..."
    # program; plain names need 3.
    wild = "*" in name or "?" in name
    if len(literal.strip(" ._-")) < (4 if wild else 3):
        return "too broad"
    if not NAME_OK.match(name):
        return "not a program"
    denied = _is_denied(name)
    if denied:
        return "denylisted"
    return ""


def _as_list(value: object) -> List[object]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_") or "tool"


class Tool:
    """One LOLRMM file (or several merged) and the executable names derived from it."""

    def __init__(self, file: str, name: str):
        self.files = [file]
        self.name = name
        self.processes: Dict[str, Tuple[str, ...]] = {}  # name -> platforms

    def add(self, name: str, platforms: Tuple[str, ...]) -> None:
        # Keep the first spelling; merge platform sets ("" = all platforms wins).
        key = next((k for k in self.processes if _same(k, name)), None)
        if key is None:
            self.processes[name] = platforms
        elif self.processes[key] and platforms:
            self.processes[key] = tuple(sorted(set(self.processes[key]) | set(platforms)))
        else:
            self.processes[key] = ()


def _same(a: str, b: str) -> bool:
    """Same executable, compared the way Windows would (casefolded, .exe optional)."""
    return _stem(a) == _stem(b)


def _overlaps(a: str, b: str) -> bool:
    """True when either name (or wildcard) can match the other."""
    sa, sb = _stem(a), _stem(b)
    return sa == sb or fnmatch.fnmatchcase(sa, sb) or fnmatch.fnmatchcase(sb, sa)


def read_tools(lolrmm_dir: str, stats: Counter) -> List[Tool]:
    """Parse every LOLRMM yaml file into :class:`Tool` objects (one per file)."""
    tools = []
    paths = glob.glob(os.path.join(lolrmm_dir, "*.yaml")) + glob.glob(os.path.join(lolrmm_dir, "*.yml"))
    stems = {os.path.splitext(os.path.basename(p))[0] for p in paths}
    for stale in sorted(set(SKIP_TOOLS) - stems):
        print(f"warning: SKIP_TOOLS names {stale!r}, which is not in {lolrmm_dir}", file=sys.stderr)
    for path in sorted(paths, key=os.path.basename):
        file = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as fh:
                data = yaml.load(fh, Loader=FAST_LOADER)
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            print(f"warning: {file}: cannot read: {exc}", file=sys.stderr)
            stats["skipped tool: unreadable file"] += 1
            continue
        stats["tools read"] += 1
        if os.path.splitext(file)[0] in SKIP_TOOLS:
            stats["skipped tool: not desktop control (SKIP_TOOLS)"] += 1
            continue
        if not isinstance(data, dict) or not str(data.get("Name") or "").strip():
            stats["skipped tool: no Name"] += 1
            continue
        tool = Tool(file, str(data["Name"]).strip())
        raw_details = data.get("Details")
        details = raw_details if isinstance(raw_details, dict) else {}
        found = []
        for raw in _as_list(details.get("InstallationPaths")):
            found.append(name_from_path(raw))
        for meta in _as_list(details.get("PEMetadata")):
            if isinstance(meta, dict):
                for key in ("Filename", "OriginalFileName"):
                    for raw in _as_list(meta.get(key)):
                        found.append(name_from_pe(raw))
        for result, reason in found:
            if result is None:
                stats[f"skipped path: {reason}"] += 1
                continue
            name, platforms = result
            why = _check_name(name)
            if why:
                stats[f"skipped name: {why}"] += 1
                continue
            tool.add(name, platforms)
        tools.append(tool)
    return tools


def merge_tools(tools: Sequence[Tool]) -> List[Tool]:
    """Merge files that describe one tool: the same Name or a shared executable."""
    parent = list(range(len(tools)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_key: Dict[str, int] = {}
    for i, tool in enumerate(tools):
        keys = ["name:" + _slug(tool.name)] + ["exe:" + _stem(p) for p in tool.processes]
        for key in keys:
            if key in by_key:
                union(by_key[key], i)
            else:
                by_key[key] = i
    groups: Dict[int, Tool] = {}
    for i, tool in enumerate(tools):
        root = find(i)
        if root not in groups:
            merged = Tool(tool.files[0], tool.name)
            groups[root] = merged
        else:
            merged = groups[root]
            merged.files.extend(f for f in tool.files if f not in merged.files)
        for name, platforms in tool.processes.items():
            merged.add(name, platforms)
    return [groups[k] for k in sorted(groups)]


def curated_names(out_path: str) -> Tuple[Set[str], List[str]]:
    """App ids and process names of the hand-written app files next to ``out_path``."""
    folder = os.path.dirname(os.path.abspath(out_path))
    out_name = os.path.basename(out_path)
    ids: Set[str] = set()
    names: List[str] = []
    for path in sorted(glob.glob(os.path.join(folder, "*.yaml"))):
        if os.path.basename(path) == out_name:
            continue
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        if not isinstance(data, dict) or data.get("family") != "apps":
            continue
        for app in data.get("apps") or []:
            ids.add(str(app.get("id")))
            names.extend(str(p["name"] if isinstance(p, dict) else p) for p in app.get("processes") or [])
            for signal in app.get("signals") or []:
                proc = signal.get("process")
                if isinstance(proc, dict) and proc.get("name"):
                    names.append(str(proc["name"]))
    return ids, names


def _quote(text: str) -> str:
    """A YAML scalar for ``text`` (JSON-style double quotes are valid YAML)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(tools: Sequence[Tool]) -> str:
    """The generated YAML text (deterministic)."""
    lines = [
        "# Remote-control tools from the LOLRMM catalog.",
        "# generated by tools/gen_lolrmm.py, do not edit (run `make signatures`).",
        "#",
        f"# Data derived from {LOLRMM_PROJECT},",
        f"# commit {LOLRMM_COMMIT}, licensed under the Apache License, Version 2.0",
        "# (http://www.apache.org/licenses/LICENSE-2.0). See NOTICE.",
        "# Process names are derived from the catalog's installation paths and PE",
        "# metadata; every entry is grade `running` only (catalog ports are too generic).",
        "schema: 1",
        "family: apps",
        f"source: {_quote('LOLRMM ' + LOLRMM_COMMIT[:12] + ' (Apache-2.0), see NOTICE')}",
        "apps:",
    ]
    for tool in tools:
        stem = os.path.splitext(tool.files[0])[0]
        source = "LOLRMM " + ", ".join("yaml/" + f for f in tool.files) + " (Apache-2.0)"
        lines.append(f"  - id: lolrmm.{_slug(stem)}")
        lines.append("    kind: remote_control")
        lines.append(f"    name: {{en: {_quote(tool.name)}, zh_CN: {_quote(tool.name)}}}")
        lines.append(f"    source: {_quote(source)}")
        lines.append("    processes:")
        for name in sorted(tool.processes, key=lambda n: (n.casefold(), n)):
            platforms = tool.processes[name]
            if platforms:
                lines.append(f"      - {{name: {_quote(name)}, platforms: [{', '.join(platforms)}]}}")
            else:
                lines.append(f"      - {{name: {_quote(name)}}}")
    return "\n".join(lines) + "\n"


def generate(lolrmm_dir: str, out_path: str) -> Counter:
    """Write ``out_path`` from ``lolrmm_dir``; return the summary counters."""
    stats: Counter = Counter()
    tools = merge_tools(read_tools(lolrmm_dir, stats))
    ids, names = curated_names(out_path)
    kept = []
    for tool in tools:
        if not tool.processes:
            stats["skipped tool: no usable process name"] += 1
            continue
        if any(_overlaps(p, c) for p in tool.processes for c in names) or _slug(tool.name) in ids:
            stats["skipped tool: covered by curated signatures"] += 1
            continue
        kept.append(tool)
    # Merged entries keep distinct ids: the first file's stem is unique per group.
    kept.sort(key=lambda t: _slug(os.path.splitext(t.files[0])[0]))
    stats["entries written"] = len(kept)
    stats["tools merged away"] = sum(len(t.files) - 1 for t in tools)
    text = render(kept)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, out_path)
    return stats


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lolrmm_dir", help="the LOLRMM yaml/ directory")
    parser.add_argument("out", help="the output file, e.g. signatures/remote_control_lolrmm.yaml")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not os.path.isdir(args.lolrmm_dir):
        print(f"error: {args.lolrmm_dir}: not a directory", file=sys.stderr)
        return 2
    stats = generate(args.lolrmm_dir, args.out)
    print(f"tools read: {stats['tools read']}")
    print(f"entries written: {stats['entries written']} -> {args.out}")
    print(f"tools merged away (same tool in several files): {stats['tools merged away']}")
    for key in sorted(k for k in stats if k.startswith("skipped")):
        print(f"{key}: {stats[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
