"""docs/policy.md and docs/events.md are generated from the tables and up to date."""

import os
import re
import subprocess
import sys

from agent.audit.events import EVENT_TYPES
from agent.policy.keys import KEYS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_generated_docs_are_up_to_date():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_policy_docs.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_key_is_documented_with_type_default_and_since():
    text = open(os.path.join(ROOT, "docs", "policy.md"), encoding="utf-8").read()
    for key in KEYS:
        row = re.search(rf"^\| `{key.name}` \|(.*)$", text, re.M)
        assert row, f"{key.name} missing from docs/policy.md"
        assert key.since in row.group(1) and key.description.split(".")[0][:30] in row.group(1)


def test_every_event_type_is_documented():
    text = open(os.path.join(ROOT, "docs", "events.md"), encoding="utf-8").read()
    for name, spec in EVENT_TYPES.items():
        assert f"### `{name}`" in text
        for field in spec.required:
            assert f"`{field}`" in text


def test_example_policy_in_the_docs_is_valid():
    import yaml

    from agent.policy import validate_mapping
    text = open(os.path.join(ROOT, "docs", "policy.md"), encoding="utf-8").read()
    example = yaml.safe_load(text.split("```yaml", 1)[1].split("```", 1)[0])
    values, problems = validate_mapping(example, "docs/policy.md")
    assert not problems and values
