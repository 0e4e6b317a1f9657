"""Arbitrary text and callback data thrown at the questionnaire engine: no crash, nothing invalid stored."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.domain.forms import is_valid_value, load_form
from storage.models import FormResponse
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee

FIXTURE = Path(__file__).parent / "fixtures" / "forms" / "all_types.yaml"

texts = st.text(max_size=300) | st.sampled_from(
    [
        "",
        " ",
        "0",
        "10",
        "-1",
        "25.12.2026",
        "31.02.2026",
        "да",
        "Синий",
        "/cancel",
        "/start",
        "x" * 5000,
        "\x00",
        "1" * 30,
    ]
)
form_cb = st.builds(
    lambda r, q, a, v: f"fq:{r}:{q}:{a}:{v}",
    st.integers(-2, 5),
    st.integers(-3, 12),
    st.sampled_from(["p", "t", "d", "s", "b", "e", "k", "m", "x", "z"]),
    st.sampled_from(["", "0", "1", "2", "9", "-1", "yes", "no", "abc", "99999999999"]),
)
raw_cb = st.text(max_size=64)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("text"), texts),
        st.tuples(st.just("press"), form_cb | raw_cb),
        st.tuples(st.just("click"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=25,
)


async def _scenario(tmp: Path, steps: list[tuple[str, object]]) -> None:
    h = await Harness.start(
        make_settings(f"sqlite+aiosqlite:///{tmp}/fz.db", curator_ids="1000"), FakeTelegram()
    )
    try:
        c = await onboard_curator(h)
        u = await onboard_mentee(h, c, 2300)
        engine = h.app.dp["engine"]
        engine.forms["all_types"] = load_form(FIXTURE)
        async with unit_of_work(h.app.factory) as repos:
            me = await repos.participants.by_telegram_id(2300)
            open_r = await repos.forms.open_for(me.id)
            await repos.forms.discard(open_r.id)
            await engine.begin(repos, me.id, "all_types", h.app.clock())
        await u.send("/start")
        for kind, arg in steps:
            if kind == "text":
                await u.send(str(arg) or " ")
            elif kind == "press":
                await u.press(str(arg))
            else:
                buttons = [b for m in u.h.fake.delivered_to(u.id)[-3:] for b in m.buttons()]
                if buttons:
                    await u.press(buttons[int(arg) % len(buttons)]["callback_data"])
        apologies = [t for t in u.texts() + u.alerts() if "что-то пошло не так" in t]
        assert not apologies, "a handler crashed"
        async with unit_of_work(h.app.factory) as repos:
            rows = (await repos.session.scalars(select(FormResponse))).all()
            for row in rows:
                form = engine.forms[row.form_id]
                for key, value in (row.answers or {}).items():
                    assert key in form.keys
                    if value is not None:
                        assert is_valid_value(form.question(key), value), (row.form_id, key, value)
                if row.current_key is not None:
                    assert row.current_key in form.keys
    finally:
        await h.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_engine_never_crashes_never_stores_invalid(tmp_path_factory, steps):
    quiet = logging.getLogger("nastavnik")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # thousands of expected refusals; restored for the tests after this one
    try:
        asyncio.run(_scenario(tmp_path_factory.mktemp("fz"), steps))
    finally:
        quiet.setLevel(level)
