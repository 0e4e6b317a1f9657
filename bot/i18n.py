"""All user-facing text lives in locales/<lang>/*.yaml; this module only looks it up."""

from __future__ import annotations

import logging
import string
from functools import cache
from importlib import resources
from typing import Any

import yaml

from bot.domain import grammar

LANGUAGES = ("ru", "en")
log = logging.getLogger(__name__)


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = str(node)


@cache
def catalog(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    folder = resources.files("locales") / lang
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            _flatten("", yaml.safe_load(entry.read_text(encoding="utf-8")) or {}, out)
    return out


def pick_language(code: str | None, default: str = "ru") -> str:
    """Telegram's language_code ('en-GB', 'ru') → one of ours."""
    if code:
        base = code.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return default


def plural_form(lang: str, n: int) -> str:
    """Which form a count takes: Russian "1 встреча", "2 встречи", "5 встреч" (one / few / many); English has
    one and the rest, which the catalogue writes as many (its few repeats many, so both languages have the
    same keys)."""
    return grammar.plural_form(lang, n)


class _Counting(string.Formatter):
    """str.format plus one spec: "{days:@days}" writes the count with its noun, "3 дня", through
    Translator.plural("count.days", days). The text says how a count is worded; the caller passes a number."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.startswith("@"):
            # A count may come already written for reading ("6 905"): its digits choose the form, and it is
            # shown as written.
            digits = "".join(ch for ch in str(value) if ch.isdigit())
            n = value if isinstance(value, int) else int(digits or 0)
            return self.t(f"count.{format_spec[1:]}.{plural_form(self.t.lang, n)}", n=value)
        return super().format_field(value, format_spec)


class Translator:
    def __init__(self, lang: str, register: str | None = None) -> None:
        """``register`` "ty": a pupil reads the «ты» wording of any text that has one (`<key>_ty`)."""
        self.lang = lang if lang in LANGUAGES else "ru"
        self._cat = catalog(self.lang)
        self.ty = register == "ty"

    def __call__(self, key: str, /, **params: Any) -> str:
        text = (self._cat.get(f"{key}_ty") if self.ty else None) or self._cat.get(key)
        if text is None:
            text = catalog("ru").get(key)
            log.error("missing translation key=%s lang=%s", key, self.lang)
            if text is None:
                return key
        if not params:
            return text
        return _Counting(self).format(text, **params) if ":@" in text else text.format(**params)

    def plural(self, key: str, n: int, /, **params: Any) -> str:
        """`key.one`, `key.few` or `key.many`, whichever agrees with `n` (given to the text as {n})."""
        return self(f"{key}.{plural_form(self.lang, n)}", n=n, **params)

    def g(self, key: str, gender: str | None, /, **params: Any) -> str:
        """`key.m` or `key.f` agreeing with the person the text is about; `key.n`, a wording that needs no
        gender, when it is unknown (None)."""
        return grammar.agree(self, key, gender, **params)

    def has(self, key: str) -> bool:
        return key in self._cat
