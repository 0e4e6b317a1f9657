"""Shared steps for tests: onboard people through the real dispatcher; find, by reflection, every callback
class and where the production dispatcher handles it (behind which role guards)."""

from __future__ import annotations

import importlib
import itertools
import math
import pkgutil
import re
import types
import typing
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackQueryFilter
from magic_filter import MagicFilter

import bot.callbacks
from bot.callbacks import Callback
from bot.demo.harness import Client, Harness
from bot.domain.entities import Role
from bot.middlewares.access import RequireRole

LINK_RE = re.compile(r"https://t\.me/\S+\?start=([A-Za-z0-9_-]+)")


def token_in(text: str) -> str:
    m = LINK_RE.search(text)
    assert m, f"no invitation link in: {text!r}"
    return m.group(1)


async def onboard_curator(h: Harness, curator_id: int = 1000, lang: str = "ru") -> Client:
    c = h.user(curator_id, "Curator", lang)
    await c.send("/start")
    await c.click("✅ Даю согласие" if lang == "ru" else "✅ I consent")
    await c.send("Куратова Анна Сергеевна" if lang == "ru" else "Anna Curator")
    return c


async def invite(curator: Client, role_button: str) -> str:
    await curator.send("/invite")
    replies = await curator.click(role_button)
    return token_in(replies[-1].text or "")


async def onboard_mentee(
    h: Harness,
    curator: Client,
    user_id: int,
    lang: str = "ru",
    adult: bool = True,
    name: str = "Петров Иван",
    group: str = "9А",
) -> Client:
    token = await invite(curator, "наставляемый" if curator.language_code == "ru" else "mentee")
    u = h.user(user_id, "Mentee", lang)
    await u.send(f"/start {token}")
    await u.click("✅ Даю согласие" if lang == "ru" else "✅ I consent")
    await u.send(name)
    await u.send(group)
    yes, no = ("Да", "Нет") if lang == "ru" else ("Yes", "No")
    await u.click(yes if adult else no)
    return u


async def onboard_mentor(
    h: Harness, curator: Client, user_id: int, lang: str = "ru", name: str = "Сидорова Ольга Павловна"
) -> Client:
    token = await invite(curator, "наставник" if curator.language_code == "ru" else "mentor")
    u = h.user(user_id, "Mentor", lang)
    await u.send(f"/start {token}")
    await u.click("✅ Даю согласие" if lang == "ru" else "✅ I consent")
    await u.send(name)
    await u.send("учитель математики" if lang == "ru" else "maths teacher")
    # Where mentors may be pupils or students (pupil–pupil mentoring), every mentor is asked their age.
    yes = "Да" if lang == "ru" else "Yes"
    if any(b.get("text") == yes for b in u.last().buttons()):
        await u.click(yes)
    return u


# ------------------------------------------------------------------------ access map, found by reflection
@dataclass(frozen=True)
class Route:
    """One production handler of a callback data class, where the dispatcher tries it."""

    cls: type[Callback]
    rule: MagicFilter | None
    guards: tuple[frozenset[Role], ...]  # every RequireRole on the router chain must let the person through
    extra_filters: bool  # the handler needs more than its callback data (a state, say)
    where: str

    @property
    def curators_only(self) -> bool:
        return any(g <= {Role.CURATOR} for g in self.guards)

    def matches(self, data: str) -> bool:
        try:
            cb = self.cls.unpack(data)
        except (TypeError, ValueError):
            return False
        return self.rule is None or bool(self.rule.resolve(cb))


def callback_classes() -> list[type[Callback]]:
    """Every Callback subclass the product defines: the bot.callbacks package imported whole, then the
    subclasses of Callback wherever they were declared (test modules excepted)."""
    for info in pkgutil.walk_packages(bot.callbacks.__path__, "bot.callbacks."):
        importlib.import_module(info.name)
    found, todo = [], list(Callback.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if not cls.__module__.startswith("tests"):
            found.append(cls)
    return sorted(set(found), key=lambda c: (c.__prefix__, c.__name__))


def _guards(router: Router, event: str) -> tuple[frozenset[Role], ...]:
    out = []
    for r in router.chain_head:
        for m in r.observers[event].middleware:
            if isinstance(m, RequireRole):
                out.append(frozenset(m.roles))
    return tuple(out)


def callback_routes(dp: Router) -> list[Route]:
    """Every callback_query handler of the production dispatcher with a callback data filter, in the order
    the dispatcher tries them."""
    routes = []
    for router in dp.chain_tail:
        guards = _guards(router, "callback_query")
        for handler in router.callback_query.handlers:
            data_filters = [
                f.callback for f in handler.filters or [] if isinstance(f.callback, CallbackQueryFilter)
            ]
            for f in data_filters:
                routes.append(
                    Route(
                        f.callback_data,
                        f.rule,
                        guards,
                        len(handler.filters) > 1,
                        f"{router.name}:{getattr(handler.callback, '__qualname__', handler.callback)}",
                    )
                )
    return routes


def guarded_commands(dp: Router, roles: set[Role]) -> list[str]:
    """The commands registered on routers whose guards admit only `roles`."""
    found = []
    for router in dp.chain_tail:
        if not any(g <= roles for g in _guards(router, "message")):
            continue
        for handler in router.message.handlers:
            for f in handler.filters or []:
                if isinstance(f.callback, Command):
                    found += [c if isinstance(c, str) else c.pattern for c in f.callback.commands]
    return sorted(set(found))


def _constants(obj: Any, out: list[Any]) -> None:
    if isinstance(obj, MagicFilter):
        for op in obj._operations:
            for slot in (s for k in type(op).__mro__ for s in getattr(k, "__slots__", ())):
                _constants(getattr(op, slot, None), out)
    elif isinstance(obj, (str, Enum)):
        out.append(obj)
    elif isinstance(obj, (tuple, list, set, frozenset)):
        for x in obj:
            _constants(x, out)


def _field_values(annotation: Any, words: list[str], ids: list[int]) -> list[Any]:
    args = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else ()
    )
    kinds = [a for a in args if a is not type(None)] or [annotation]
    values: list[Any] = []
    for kind in kinds:
        if isinstance(kind, type) and issubclass(kind, Enum):
            values += list(kind)
        elif kind is bool:
            values += [True, False]
        elif kind is int:
            values += ids
        elif kind is str:
            values += words
    return list(dict.fromkeys(values))


def plausible_data(cls: type[Callback], routes: list[Route], ids: list[int]) -> list[str]:
    """Data a forger would try: ints an existing id, enums every member, free strings every constant the
    handlers compare with. Every value of every field appears; the whole product when it is small."""
    words: list[str] = []
    for r in routes:
        if r.cls is cls:
            _constants(r.rule, words)
    words = [str(w.value if isinstance(w, Enum) else w) for w in words if isinstance(w, str)]
    words = words or [*(r.value for r in Role), "x"]  # a free string: a role is what such fields name most
    words = list(dict.fromkeys(words))
    choices = [_field_values(f.annotation, words, ids) or [ids[0]] for f in cls.model_fields.values()]
    combos = list(itertools.product(*choices)) if math.prod(len(c) for c in choices) <= 40 else []
    widest = max((len(c) for c in choices), default=0)
    combos += [tuple(c[i % len(c)] for c in choices) for i in range(widest)]
    out = []
    for combo in dict.fromkeys(combos):
        try:
            data = cls(**dict(zip(cls.model_fields, combo, strict=True))).pack()
        except ValueError:
            continue
        out.append(data)
    return out or [cls.__prefix__]
