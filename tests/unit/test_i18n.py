"""Every string a person sees exists in zh_CN and en, with the same placeholders."""

import importlib
import pkgutil
import string

import pytest

import agent
from agent import i18n

# Modules that need a live display to import (pystray picks its X backend at import).
_NEEDS_DISPLAY = {"agent.ui.tray"}


def _import_all():
    for info in pkgutil.walk_packages(agent.__path__, "agent."):
        if info.name in _NEEDS_DISPLAY or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    return i18n.REGISTRY


def _fields(text):
    return sorted({name for _, name, _, _ in string.Formatter().parse(text) if name})


def test_every_message_table_has_both_languages_and_same_placeholders():
    registry = _import_all()
    assert len(registry) >= 8, sorted(registry)
    problems = []
    for module, table in registry.items():
        for key, entry in table.items():
            for lang in i18n.LANGUAGES:
                if not entry.get(lang, "").strip():
                    problems.append(f"{module}:{key}: missing {lang}")
            if _fields(entry.get("en", "")) != _fields(entry.get("zh_CN", "")):
                problems.append(f"{module}:{key}: placeholders differ {_fields(entry['en'])} vs "
                                f"{_fields(entry.get('zh_CN', ''))}")
            if "zh_CN" in entry and entry["zh_CN"] == entry.get("en") and any(c.isalpha() for c in entry["en"]):
                problems.append(f"{module}:{key}: zh_CN is the English text")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env,expected", [
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LANG": "zh_TW.UTF-8"}, "zh_CN"),
    ({"LANG": "en_GB.UTF-8"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh_CN"),
    ({"LANG": "C"}, "en"),
    ({"LANGUAGE": "zh_CN:en"}, "zh_CN"),
])
def test_language_follows_the_os_locale(env, expected):
    assert i18n.detect_language(None, env) == expected


def test_policy_override_wins():
    assert i18n.detect_language("en", {"LANG": "zh_CN.UTF-8"}) == "en"
    assert i18n.detect_language("zh_CN", {"LANG": "en_US.UTF-8"}) == "zh_CN"
    assert i18n.detect_language("auto", {"LANG": "zh_CN.UTF-8"}) == "zh_CN"


def test_tr_formats_and_falls_back_to_english():
    table = {"k": {"en": "{app} is open", "zh_CN": "{app} 已打开"}, "only_en": {"en": "x"}}
    assert i18n.tr(table, "k", "zh_CN", app="工商银行") == "工商银行 已打开"
    assert i18n.tr(table, "only_en", "zh_CN") == "x"
