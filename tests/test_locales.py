"""Every user-facing text exists in both languages; every menu command has a description."""

from __future__ import annotations

import re

from bot.domain.entities import Role
from bot.i18n import catalog
from bot.services.commands import commands_for


def test_ru_and_en_have_the_same_keys_and_placeholders():
    ru, en = catalog("ru"), catalog("en")
    assert set(ru) == set(en)
    # A date is "05.09.2026" in Russian and "5 September 2026" in English: other fields, same call.
    for key in set(ru) - {"registry.date"}:
        assert set(re.findall(r"{(\w+)[^}]*}", ru[key])) == set(re.findall(r"{(\w+)[^}]*}", en[key])), key


def test_no_yaml_boolean_keys_slipped_in():
    assert not [k for k in catalog("ru") if k.split(".")[-1] in ("True", "False")]


def test_every_menu_command_is_described():
    for role in Role:
        for command in commands_for([role]):
            for lang in ("ru", "en"):
                assert f"commands.{command}" in catalog(lang), (lang, command)
