"""Shared steps for tests: onboard people through the real dispatcher."""

from __future__ import annotations

import re

from bot.demo.harness import Client, Harness

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
    h: Harness, curator: Client, user_id: int, lang: str = "ru", adult: bool = True, name: str = "Петров Иван"
) -> Client:
    token = await invite(curator, "наставляемый" if curator.language_code == "ru" else "mentee")
    u = h.user(user_id, "Mentee", lang)
    await u.send(f"/start {token}")
    await u.click("✅ Даю согласие" if lang == "ru" else "✅ I consent")
    await u.send(name)
    await u.send("9А")
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
