"""English and Simplified Chinese UI strings stay in step, and every key the UI uses exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from backends.core.settings import Settings
from tabs.common import LOCALES, load_translations

ROOT = Path(__file__).resolve().parents[2]


class RecordingI18n(gr.I18n):
    """The studio's translations, remembering every key the UI asks for (literals and variables alike)."""

    def __init__(self) -> None:
        super().__init__(**load_translations())
        self.asked: set[str] = set()

    def __call__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__call__(key)


@pytest.fixture(scope="module")
def asked(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every i18n key the whole UI uses, recorded while app.py builds it (tiny profile, nothing loaded)."""
    import app

    settings = Settings(profile="tiny", device="cpu", data_dir=tmp_path_factory.mktemp("i18n-data"), offline=True)
    ctx = app.create_context(settings)
    ctx.i18n = RecordingI18n()
    app.build_demo(ctx)
    return ctx.i18n.asked


def test_locales_have_the_same_keys() -> None:
    translations = load_translations()
    assert set(translations) == set(LOCALES)
    assert set(translations["en"]) == set(translations["zh-CN"])


def test_every_key_used_in_the_ui_is_translated(asked: set[str]) -> None:
    keys = asked
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
