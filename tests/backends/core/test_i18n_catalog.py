"""Server-side text in the reader's language: keyed strings with parameters, locale choice, and backend messages
translated through their English templates."""

from __future__ import annotations

from backends.core.i18n import Catalog, pick_locale

STRINGS = {"en": {"hello": "Hello {name}", "only_en": "English"}, "zh-CN": {"hello": "你好 {name}"}}
MESSAGES = {"zh-CN": {
    "{} is not a multiple of {}, which {} needs (try {} or {})": "{0} 不是 {1} 的倍数（{2} 需要），可试 {3} 或 {4}",
    "{} is not available: {}": "{0} 不可用：{1}",
    "needs ARK_API_KEY": "需要 ARK_API_KEY",
    "must not be empty": "不能为空",
    "{}": "must never match everything",
}}


def test_pick_locale_from_cookie_then_header() -> None:
    available = ("en", "zh-CN")
    assert pick_locale(("zh-CN", "en-US,en;q=0.9"), available) == "zh-CN"
    assert pick_locale((None, "zh-TW,zh;q=0.9,en;q=0.8"), available) == "zh-CN"  # by language
    assert pick_locale((None, "fr-FR,en;q=0.5,zh-CN;q=0.9"), available) == "zh-CN"  # by quality
    assert pick_locale(("", "de"), available) == "en"
    assert pick_locale((None, None), available) == "en"


def test_keyed_strings_fill_parameters_and_fall_back_to_english() -> None:
    catalog = Catalog(STRINGS)
    assert catalog.text("zh-CN", "hello", name="李") == "你好 李"
    assert catalog.text("zh-CN", "only_en") == "English"
    assert catalog.text("zh-CN", "missing.key") == "missing.key"
    assert catalog.has("hello") and not catalog.has("missing.key")


def test_messages_are_matched_by_template_and_values_reordered_and_nested() -> None:
    catalog = Catalog(STRINGS, MESSAGES)
    assert catalog.message("zh-CN", "520 is not a multiple of 32, which t2i/cogview4 needs (try 512 or 544)") == \
        "520 不是 32 的倍数（t2i/cogview4 需要），可试 512 或 544"
    assert catalog.message("zh-CN", "Seedream (t2i/seedream) is not available: needs ARK_API_KEY") == \
        "Seedream (t2i/seedream) 不可用：需要 ARK_API_KEY"
    assert catalog.message("zh-CN", "something nobody wrote a template for") == "something nobody wrote a template for"
    assert catalog.message("en", "must not be empty") == "must not be empty"
    assert catalog.knows("zh-CN", "must not be empty") and not catalog.knows("zh-CN", "other")
