"""Text the server composes, in the reader's language: keyed strings with parameters, and error messages.

Gradio translates component labels in the browser (``gr.I18n``), but a line a handler writes ("3 pairs left", a
table header, an error) is made on the server, so it is translated here, in the locale of the browser that asked.

Two kinds of text:

- **Keyed strings** (``text(locale, key, **params)``): the same JSON files as the UI labels, with ``{name}``
  parameters filled in after the lookup.
- **Messages** the backends write: errors (``InvalidInput``, ``ModelUnavailable``, ...), leaderboard notes, quality
  flags. Backends stay free of any UI code and keep writing plain English f-strings; the English *template* of each
  message (its f-string with every ``{expression}`` written as ``{}``) is the key of its translation,
  gettext-style. ``message(locale, text)`` finds
  the template a message was made from, takes the values back out of it and puts them into the translation (whose
  placeholders are numbered, ``{0}``, ``{1}``, so a language may reorder them). A value that is itself a translated
  message (``"... is not available: {why}"``) is translated too. A message with no template stays English.

Pure standard library: no gradio, so the arena's command line could use it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

DEFAULT_LOCALE = "en"
PLACEHOLDER = "{}"
MIN_LITERAL = 4  # a template needs this much fixed text to be recognised (a bare "{}" would match anything)


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    translation: str
    literal: int  # characters of fixed text: the most specific template wins


def pick_locale(candidates: tuple[str | None, ...], available: tuple[str, ...]) -> str:
    """The first candidate the studio has strings for, matched case-insensitively and by language alone.

    Args:
        candidates: preferred locales, best first; each may be an ``Accept-Language`` header
            (``"zh-CN,zh;q=0.9,en;q=0.8"``) or a plain tag (``"zh-CN"``, ``"zh"``); None and "" are skipped.
        available: the locales the studio has.

    Returns:
        An element of ``available`` (``"en"`` when nothing matches).
    """
    by_lower = {a.lower(): a for a in available}
    by_language = {a.split("-")[0].lower(): a for a in reversed(available)}  # "zh" -> the first zh-* locale
    for candidate in candidates:
        for tag in _tags(candidate or ""):
            if tag in by_lower:
                return by_lower[tag]
            if tag.split("-")[0] in by_language:
                return by_language[tag.split("-")[0]]
    return DEFAULT_LOCALE if DEFAULT_LOCALE in available else available[0]


def _tags(header: str) -> list[str]:
    """Language tags of an Accept-Language header, by decreasing quality."""
    weighted = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        if tag and tag != "*":
            weighted.append((-quality, index, tag.lower().replace("_", "-")))
    return [tag for _, _, tag in sorted(weighted)]


def template_pattern(template: str) -> re.Pattern[str]:
    """The regular expression matching messages made from an English ``template`` (``{}`` for each value)."""
    parts = [re.escape(p) for p in template.split(PLACEHOLDER)]
    return re.compile("^" + "(.+?)".join(parts) + "$", re.DOTALL)


class Catalog:
    """The studio's server-side strings and message templates, per locale.

    Args:
        strings: ``{locale: {key: text}}``; texts may hold ``{name}`` parameters.
        messages: ``{locale: {english template: translation}}``; templates use ``{}`` per value, translations
            ``{0}``, ``{1}``, ... in any order.
    """

    def __init__(self, strings: Mapping[str, Mapping[str, str]],
                 messages: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.locales = tuple(strings)
        self._strings = MappingProxyType({k: MappingProxyType(dict(v)) for k, v in strings.items()})
        compiled = {}
        for locale, table in (messages or {}).items():
            templates = [_Template(template_pattern(t), tr, len(t.replace(PLACEHOLDER, "")))
                         for t, tr in table.items() if len(t.replace(PLACEHOLDER, "").strip()) >= MIN_LITERAL]
            compiled[locale] = tuple(sorted(templates, key=lambda t: -t.literal))
        self._messages = MappingProxyType(compiled)

    def has(self, key: str) -> bool:
        """Whether the default locale defines ``key``."""
        return key in self._strings.get(DEFAULT_LOCALE, {})

    def text(self, locale: str, key: str, **params: object) -> str:
        """The string ``key`` in ``locale`` (English when that locale lacks it), with ``params`` filled in.

        A missing key comes back as the key itself, so a slip shows on screen (and in the i18n tests) rather than
        raising inside a handler.
        """
        table = self._strings.get(locale) or {}
        template = table.get(key) or self._strings.get(DEFAULT_LOCALE, {}).get(key) or key
        try:
            return template.format(**params) if params else template
        except (KeyError, IndexError, ValueError):
            return template

    def message(self, locale: str, text: str, depth: int = 2) -> str:
        """``text`` (an English message from the backends) in ``locale``, or unchanged when no template made it.

        Args:
            locale: the reader's locale.
            text: the message (for ``InvalidInput``, without its field prefix).
            depth: how deep values that are messages themselves are translated.
        """
        for template in self._messages.get(locale, ()):
            match = template.pattern.match(text)
            if match is None:
                continue
            values = [self.message(locale, v, depth - 1) if depth > 1 else v for v in match.groups()]
            try:
                return template.translation.format(*values)
            except (IndexError, KeyError, ValueError):
                return text
        return text

    def knows(self, locale: str, text: str) -> bool:
        """Whether some template of ``locale`` matches the message ``text``."""
        return any(t.pattern.match(text) for t in self._messages.get(locale, ()))
