"""What the others in a pair are told when someone leaves: only what is true. A child whose parent erased
their data did not "withdraw consent" themselves; the mentor hears that the mentee left, nothing more."""

from __future__ import annotations

from bot.domain.entities import Status
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentor, token_in
from tests.test_privacy import join, pid_of


async def test_mentor_hears_that_the_mentee_left_not_why(h):
    h = h.unpaced()
    c = await onboard_curator(h)
    kid = await join(h, c, 7_880_001, "Лесная Вера", "5Б", adult=False)
    parent = h.user(7_880_002, "P", "ru")
    await parent.send(f"/start {token_in(kid.texts()[-1])}")
    await parent.click("✅ Даю согласие")
    await parent.send("Лесная Ольга")
    mentor = await onboard_mentor(h, c, 7_880_003, name="Полевая Нина Ивановна")
    kid_id, mentor_id = await pid_of(h, 7_880_001), await pid_of(h, 7_880_003)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.participants.get(kid_id)).status == Status.ACTIVE
        pair_id = await repos.pairs.create(None, mentor_id, None, now)
        await repos.pairs.add_member(pair_id, kid_id, now)
    await h.deliver_outbox()
    before = len(mentor.texts())

    await parent.send("/forget")
    await parent.click("Данные ребёнка: Лесная Вера")
    await parent.click("Да, удалить навсегда")
    await h.deliver_outbox()

    told = mentor.texts()[before:]
    assert len(told) == 1, told
    assert "вышел из программы" in told[0]
    assert "соглас" not in told[0]  # neither "withdrew consent" nor any other reason that may not be true
    assert "Лесная" not in told[0]
