"""English and Simplified Chinese UI strings stay in step, and every key the UI uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from tabs.common import LOCALES, load_translations

ROOT = Path(__file__).resolve().parents[2]


def used_keys() -> set[str]:
    sources = [ROOT / "app.py", *sorted((ROOT / "tabs").glob("*.py"))]
    return {key for path in sources for key in re.findall(r"i18n\(\"([a-z0-9_.]+)\"\)", path.read_text("utf-8"))}


def test_locales_have_the_same_keys() -> None:
    translations = load_translations()
    assert set(translations) == set(LOCALES)
    assert set(translations["en"]) == set(translations["zh-CN"])


def test_every_key_used_in_the_ui_is_translated() -> None:
    keys = used_keys()
    assert len(keys) > 20
    for locale, strings in load_translations().items():
        missing = keys - set(strings)
        assert not missing, f"{locale} lacks {sorted(missing)}"


def test_no_translation_is_empty_or_untranslated() -> None:
    translations = load_translations()
    for key, text in translations["zh-CN"].items():
        assert text.strip(), key
        if re.search(r"[A-Za-z]{4,}", translations["en"][key]) and key not in ("tabs.models",):
            assert re.search(r"[\u4e00-\u9fff]", text), f"zh-CN {key} looks untranslated: {text!r}"
