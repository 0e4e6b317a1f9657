"""The curator's desk in a real browser: Debian's headless Chromium, driven by Playwright, opens the page the
production web server serves, signed in with initData as Telegram signs it. A curator filters participants,
approves a proposed pair (and the announcement reaches the mentee's chat), imports a roadmap and marks an item
done (and the chat's /roadmap agrees); a mentee is refused. Screenshots of every page at phone and desktop
width go to tests/artifacts/ for a reviewer."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web

from bot.demo.harness import Harness, make_settings
from bot.domain import roadmap as rm
from bot.domain.entities import Role
from bot.metrics import polling_web_app
from storage.uow import unit_of_work
from tests.conftest import CURATOR_ID
from tests.helpers import onboard_curator
from tests.test_matching_flow import mentee_answers, mentor_answers, seed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
WAIT = 15_000  # ms: a page drawn, a button's answer


def _chromium() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    reason = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the browser tests fail rather than skip", pytrace=False)
    print(f"\nskipped: {reason}")
    pytest.skip(reason)


@pytest.fixture
async def served(db_url, fake) -> AsyncIterator[tuple[Harness, str]]:
    """The bot with the desk on, its web server listening on a free local port."""
    settings = make_settings(db_url, curator_ids=str(CURATOR_ID), web_app_url="http://127.0.0.1/app/")
    h = await Harness.start(settings, fake)
    runner = web.AppRunner(polling_web_app(h.app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield h, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await h.close()


@pytest.fixture
async def browser():
    path = _chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=path, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


def _url(base: str, h: Harness, telegram_id: int, page: str) -> str:
    theme = quote('{"bg_color":"#ffffff","text_color":"#1b1b1b","button_color":"#2481cc"}')
    data = quote(h.fake.init_data(telegram_id, first_name="Анна"), safe="")
    launch = f"tgWebAppData={data}&tgWebAppVersion=8.0&tgWebAppPlatform=tdesktop&tgWebAppThemeParams={theme}"
    return f"{base}/app/?page={page}#{launch}"


async def _ready(page, name: str) -> None:
    # Locators and selectors only: the page's CSP forbids eval, which wait_for_function's strings need.
    await page.wait_for_selector(f"body[data-ready={name}]", timeout=WAIT)


async def _count(page, selector: str, n: int) -> None:
    from playwright.async_api import expect

    await expect(page.locator(selector)).to_have_count(n, timeout=WAIT)


async def _shoot(page, name: str) -> None:
    """The current page at phone and desktop width, into tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(ARTIFACTS / f"desk-{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(PHONE)


async def _go(page, name: str) -> None:
    await page.click(f"nav#nav a[data-page={name}]")
    await _ready(page, name)


async def test_a_curator_works_the_desk_and_the_chat_sees_it(served, browser):
    from playwright.async_api import expect

    h, base = served
    curator = await onboard_curator(h)
    mentees = [
        await seed(h, Role.MENTEE, "Иванова Мария", mentee_answers(["math"])),
        await seed(h, Role.MENTEE, "Смирнов Олег", mentee_answers(["physics"])),
    ]
    await seed(h, Role.MENTOR, "Петрова Ольга Павловна", mentor_answers(["math"], 1))
    await seed(h, Role.MENTOR, "Кузнецов Игорь Васильевич", mentor_answers(["physics"], 1))
    errors: list[str] = []
    page = await browser.new_page(viewport=PHONE)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Participants: everyone, then the mentees only, then a search.
    await page.goto(_url(base, h, CURATOR_ID, "participants"))
    await _ready(page, "participants")
    assert await page.locator("table#people tbody tr").count() == 5
    await _shoot(page, "participants")
    await page.select_option("select#role", "mentee")
    await _count(page, "table#people tbody tr", 2)
    rows = await page.locator("table#people tbody tr").all_inner_texts()
    assert any("Иванова Мария" in r for r in rows) and any("Смирнов Олег" in r for r in rows)
    await page.fill("input#q", "иванова")
    await _count(page, "table#people tbody tr", 1)
    await page.click("table#people tbody tr")
    await page.wait_for_selector("section#card", state="visible", timeout=WAIT)
    assert "Иванова Мария" in await page.inner_text("section#card")
    # The card's actions are the chat card's: a reminder goes out through the outbox, once a day.
    await page.click("button#card-nudge")
    await expect(page.locator("#flash")).to_have_text("Напоминание отправлено.", timeout=WAIT)
    await h.deliver_outbox()
    nudge = "Куратор программы наставничества напоминает о себе"
    assert any(nudge in (m.text or "") for m in h.fake.delivered_to(mentees[0][1]))
    await page.click("button#card-reach")
    await expect(page.locator("section#card .badge.warn")).to_have_count(1, timeout=WAIT)
    await expect(page.locator("button#card-reach")).to_have_text("Связь есть: снять отметку", timeout=WAIT)
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.participants.get(mentees[0][0])).unreachable is True
    await _shoot(page, "card")
    await page.click("button#card-reach")
    await expect(page.locator("section#card .badge.warn")).to_have_count(0, timeout=WAIT)
    await page.click("button#card-close")
    await page.wait_for_selector("section#card", state="hidden", timeout=WAIT)

    # Matching: propose, tick the first proposal, approve it.
    await _go(page, "matching")
    await page.click("button#run")
    await page.wait_for_selector("table#proposals tbody tr input.pick", timeout=WAIT)
    assert await page.locator("table#proposals tbody tr input.pick").count() == 2
    first = page.locator("table#proposals tbody tr").first
    approved_mentee = await first.inner_text()
    await first.locator("input.pick").check()
    await page.click("button#approve")
    await _count(page, "table#proposals tbody tr input.pick", 1)
    assert await page.inner_text("#flash")
    await _shoot(page, "matching")
    async with unit_of_work(h.app.factory) as repos:
        active = await repos.pairs.active()
    assert len(active) == 1
    paired = active[0].mentee_ids[0]
    tg = next(t for pid, t in mentees if pid == paired)
    await h.deliver_outbox()
    told = "\n".join(m.text or "" for m in h.fake.delivered_to(tg))
    assert "наставник" in told.lower(), told  # the chat's own announcement, through the outbox
    name = "Иванова Мария" if paired == mentees[0][0] else "Смирнов Олег"
    assert name in approved_mentee

    # By hand: the other mentee with the mentor who is full now; the page says what that breaks, then insists.
    await expect(page.locator("#manual-mentee option")).to_have_count(1, timeout=WAIT)
    other_id, other_tg = next((pid, t) for pid, t in mentees if pid != paired)
    assert await page.input_value("#manual-mentee") == str(other_id)
    options = page.locator("#manual-mentor option")
    full = await options.filter(has_text="занято 1 из 1").get_attribute("value")
    await page.select_option("#manual-mentor", full)
    await page.click("button#manual-pair")
    await page.wait_for_selector("#manual-warning:not([hidden]) #manual-violations li", timeout=WAIT)
    async with unit_of_work(h.app.factory) as repos:
        assert len(await repos.pairs.active()) == 1 and await repos.pairs.active_of_mentee(other_id) is None
    await _shoot(page, "manual")
    await page.click("button#manual-force")
    await expect(page.locator("#flash")).to_have_text(
        "Пара создана, участникам отправлены сообщения.", timeout=WAIT
    )
    await expect(page.locator("#manual-mentee option")).to_have_count(0, timeout=WAIT)
    await h.deliver_outbox()
    assert "наставник" in "\n".join(m.text or "" for m in h.fake.delivered_to(other_tg)).lower()

    # Roadmap: import the template file, mark the first item done; the chat's /roadmap agrees.
    await _go(page, "roadmap")
    # The template's header, an activity done once and a yearly one.
    template = (
        "Мероприятие;Ответственный;Срок;Результат\n"
        "Анкетирование наставляемых;Куратор программы;до 25 декабря 2026;Анкеты собраны\n"
        "Формирование наставнических пар;Куратор программы;до 30 октября ежегодно;Приказ\n"
    ).encode()
    assert template.split(b"\n")[0] == rm.roadmap_template_csv().decode("utf-8-sig").splitlines()[0].encode()
    await page.set_input_files(
        "input#import-file", files=[{"name": "roadmap.csv", "mimeType": "text/csv", "buffer": template}]
    )
    await page.click("button#import")
    await page.wait_for_selector("table#roadmap tbody tr button.done", timeout=WAIT)
    async with unit_of_work(h.app.factory) as repos:
        items = await repos.roadmap.list(None, status=None)
    assert items and all(i.status == "open" for i in items)
    once = next(i for i in items if i.deadline_kind != rm.DeadlineKind.RECURRING.value)
    row = page.locator(f"table#roadmap tbody tr[data-id='{once.id}']")
    await row.locator("button.done").click()
    await _count(page, f"table#roadmap tbody tr[data-id='{once.id}'] button.done", 0)
    async with unit_of_work(h.app.factory) as repos:
        done = await repos.roadmap.get(once.id)
    assert done is not None and done.status == "done"
    await _shoot(page, "roadmap")
    await page.click("button#view-timeline")
    await page.wait_for_selector("svg#timeline", timeout=WAIT)
    await _shoot(page, "timeline")
    chat = "\n".join(r.text or "" for r in await curator.send("/roadmap"))
    assert "открыто — 1, выполнено — 1" in chat, chat  # the chat's /roadmap counts the desk's mark
    # One more activity from the form, its deadline in the documents' words.
    await page.click("button#view-table")
    await page.fill("input#add-activity", "Педсовет по итогам полугодия")
    soon = h.app.clock().astimezone(h.app.settings.tz).date() + timedelta(days=7)
    await page.fill("input#add-deadline", f"до {soon:%d.%m.%Y}")
    await page.click("button#add")
    await page.wait_for_selector(
        "table#roadmap tbody tr:has-text('Педсовет по итогам полугодия')", timeout=WAIT
    )
    assert await page.input_value("input#add-activity") == ""
    chat = "\n".join(r.text or "" for r in await curator.send("/roadmap"))
    assert "Педсовет по итогам полугодия" in chat and "открыто — 2, выполнено — 1" in chat, chat

    # Pairs: the approved pair at its first stage, with its mentor and mentee.
    await _go(page, "pairs")
    pair = page.locator(f"li.pair[data-id='{active[0].id}']")
    await expect(pair).to_have_count(1, timeout=WAIT)
    text = await pair.inner_text()
    assert name in text and ("Петрова Ольга Павловна" in text or "Кузнецов Игорь Васильевич" in text), text
    await _shoot(page, "pairs")
    # KPIs: a row per indicator with its traffic light, and the chart drawn from the same data.
    await _go(page, "kpis")
    rows = page.locator("table#kpis tbody tr")
    assert await rows.count() > 0
    assert await page.locator("table#kpis tbody tr .light").count() == await rows.count()
    assert await page.locator("svg#kpi-chart g.kpi").count() == await rows.count()
    await _shoot(page, "kpis")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    assert not errors, errors


async def test_a_mentee_opening_the_desk_is_refused(served, browser):
    h, base = served
    await onboard_curator(h)
    _, tg = await seed(h, Role.MENTEE, "Иванова Мария", mentee_answers(["math"]))
    page = await browser.new_page(viewport=PHONE)
    await page.goto(_url(base, h, tg, "participants"))
    await page.wait_for_selector("text=только кураторам программ", timeout=WAIT)
    assert await page.locator("table#people tbody tr").count() == 0
    assert "Иванова" not in await page.inner_text("body")
    await _shoot(page, "refused")


async def test_a_coordinator_sees_the_districts_aggregates_and_no_names(served, browser):
    from tests.test_district import COORDINATOR, NAMES, _coordinator, _institution, _new_programme

    h, base = served
    coordinator = await _coordinator(h)
    school, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    await _new_programme(school)
    page = await browser.new_page(viewport=PHONE)
    await page.goto(_url(base, h, COORDINATOR, "district"))
    await _ready(page, "district")
    assert await page.locator("nav#nav a").count() == 1  # the district only: no institution's pages
    table = await page.inner_text("table#district")
    assert "Школа № 1" in table
    assert NAMES[0] not in await page.inner_text("body")  # the curator's name never reaches the centre
    await _shoot(page, "district")
