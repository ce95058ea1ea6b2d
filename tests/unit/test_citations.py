"""Comments and docstrings in agent/, and the signature data, cite documents inside the repository, and those exist.

The design notes the project started from are not shipped with it; a reader
of the code must be able to open every page it points to.
"""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTSIDE = re.compile(r"SIGNALS\.md|spec/replay\.md|design/\w+\.md|\.\./shared|/work/shared")
DOCS = re.compile(r"\bdocs/[\w./-]+\.md")


def _sources():
    """Code in agent/ and the signature data (whose ``source:`` fields cite the facts)."""
    for top, suffixes in (("agent", (".py",)), ("signatures", (".yaml", ".yml"))):
        yield from _files(top, suffixes)


def _files(top, suffixes):
    for folder, dirs, files in os.walk(os.path.join(ROOT, top)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in sorted(files):
            if name.endswith(suffixes):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    yield os.path.relpath(path, ROOT), f.read()


def test_no_citation_of_files_outside_the_repository():
    found = [f"{path}: {m.group(0)}" for path, text in _sources() for m in OUTSIDE.finditer(text)]
    assert not found, found


def test_every_cited_doc_exists():
    cited = {m.group(0) for _, text in _sources() for m in DOCS.finditer(text)}
    assert cited, "the code cites docs/ pages; the pattern must find them"
    missing = sorted(c for c in cited if not os.path.isfile(os.path.join(ROOT, c)))
    assert not missing, missing
