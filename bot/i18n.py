"""All user-facing text lives in locales/<lang>/*.yaml; this module only looks it up."""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from typing import Any

import yaml

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
    """Which form a count takes: Russian "1 наставляемый ждёт", "2 наставляемых ждут", "5 наставляемых ждут"
    (one / few / many); English has one and many (few is written like many)."""
    n = abs(n)
    if lang != "ru":
        return "one" if n == 1 else "many"
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "ru"
        self._cat = catalog(self.lang)

    def __call__(self, key: str, **params: Any) -> str:
        text = self._cat.get(key)
        if text is None:
            text = catalog("ru").get(key)
            log.error("missing translation key=%s lang=%s", key, self.lang)
            if text is None:
                return key
        return text.format(**params) if params else text

    def plural(self, key: str, n: int, **params: Any) -> str:
        """`key.one`, `key.few` or `key.many`, whichever agrees with `n` (given to the text as {n})."""
        return self(f"{key}.{plural_form(self.lang, n)}", n=n, **params)

    def has(self, key: str) -> bool:
        return key in self._cat
