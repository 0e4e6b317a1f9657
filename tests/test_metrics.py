"""Health and metrics in every mode: /healthz and /metrics on WEB_HOST:WEB_PORT while the bot long-polls (on
the webhook's port in webhook mode), Prometheus exposition from one registry per app, the outbox's send
outcomes counted where the sender records them, and a Grafana dashboard that asks only for metrics the bot
exposes."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app import run_polling
from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.metrics import serve_health
from bot.services.notify import notify
from bot.webhook import WEBHOOK_PATH, make_web_app
from scheduler.leader import Leadership
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "nastavnik-dashboard.json"
SECRET = "metrics-test-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) → value, as Prometheus reads the exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


async def get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=5)) as r:
            return r.status, await r.text()


async def scrape(h: Harness) -> dict:
    """/metrics of this app, served the way polling mode serves it."""
    runner = await serve_health(h.app)
    assert runner is not None
    try:
        status, text = await get(h.app.settings.web_port, "/metrics")
    finally:
        await runner.cleanup()
    assert status == 200
    return samples(text)


def start_update(fake: FakeTelegram, user_id: int) -> dict:
    return {
        "update_id": fake.next_update_id(),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "ru"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_polling_mode_serves_health_and_metrics_on_the_web_port(db_url):
    fake = FakeTelegram()
    port = free_port()
    h = await Harness.start(make_settings(db_url, curator_ids="1000", web_port=port), fake)
    polling = asyncio.create_task(run_polling(h.app))
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                status, body = await get(port, "/healthz")
                break
            except aiohttp.ClientError:
                assert time.monotonic() < deadline, "/healthz never answered"
                await asyncio.sleep(0.05)
        assert status == 200 and json.loads(body) == {"ok": True, "db": True, "leader": True}

        # An update that arrives through long polling is counted, with its handling time.
        fake.push_update(start_update(fake, 5151))
        while not fake.delivered_to(5151):
            assert time.monotonic() < deadline, "the bot never answered /start"
            await asyncio.sleep(0.05)
        status, text = await get(port, "/metrics")
        assert status == 200
        found = samples(text)
        assert value(found, "nastavnik_updates_total", outcome="ok") >= 1
        assert value(found, "nastavnik_handler_seconds_count") >= 1
        assert value(found, "nastavnik_scheduler_leader") == 1
        assert value(found, "nastavnik_database_up") == 1
        assert value(found, "nastavnik_outbox_messages", status="pending") >= 0
        assert value(found, "process_resident_memory_bytes") > 0
        assert value(found, "nastavnik_backup_enabled") == 1  # SQLite: daily backups are on by default
    finally:
        await h.app.dp.stop_polling()
        await asyncio.wait_for(polling, 30)
    # The server stops with the bot.
    try:
        await get(port, "/healthz")
        raise AssertionError("/healthz still answers after the bot stopped")
    except aiohttp.ClientError:
        pass


async def test_web_enabled_false_serves_nothing(db_url):
    port = free_port()
    h = await Harness.start(make_settings(db_url, web_port=port, web_enabled=False))
    try:
        assert await serve_health(h.app) is None
        try:
            await get(port, "/healthz")
            raise AssertionError("something answers on the port")
        except aiohttp.ClientError:
            pass
    finally:
        await h.close()


async def test_send_outcomes_are_counted_as_the_outbox_records_them(db_url, fake):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000", web_port=free_port()), fake)).unpaced()
    try:
        curator = await onboard_curator(h)
        names = ("Петров Иван", "Сидоров Пётр", "Кузнецов Олег")
        mentees = [await onboard_mentee(h, curator, 3000 + i, name=name) for i, name in enumerate(names)]
        await h.deliver_outbox()  # whatever onboarding queued for the curator
        before = await scrape(h)
        async with unit_of_work(h.app.factory) as repos:
            people = [await repos.participants.by_telegram_id(m.id) for m in mentees]
            queued = await notify(
                repos, h.app.clock(), people, "errors.apology", kind="test", dedup="metrics"
            )
        assert queued == 3
        fake.blocked.add(mentees[0].id)  # 403
        fake.fail_next(429, method="sendMessage", retry_after=1)  # the first send meets flood control
        await h.deliver_outbox()
        await asyncio.sleep(1.1)  # Telegram's retry_after
        await h.deliver_outbox()
        found = await scrape(h)
    finally:
        await h.close()

    def grew(outcome: str) -> float:
        name = "nastavnik_outbox_sends_total"
        return value(found, name, outcome=outcome) - value(before, name, outcome=outcome)

    assert grew("403") == 1
    assert grew("429") == 1
    assert grew("delivered") == 2  # the two who did not block the bot, one of them after the 429
    assert grew("failed") == 0 and grew("uncertain") == 0
    assert value(found, "nastavnik_outbox_messages", status="unreachable") >= 1


async def test_each_app_has_its_own_registry(db_url, tmp_path, migrated_sqlite):
    import shutil

    shutil.copyfile(migrated_sqlite, tmp_path / "other.db")
    one = await Harness.start(make_settings(db_url, web_port=free_port()))
    two = await Harness.start(make_settings(f"sqlite+aiosqlite:///{tmp_path}/other.db", web_port=free_port()))
    try:
        for n in range(3):
            await one.user(6000 + n).send("/start")
        await two.user(6100).send("/start")
        first, second = await scrape(one), await scrape(two)
    finally:
        await one.close()
        await two.close()
    assert value(first, "nastavnik_updates_total", outcome="ok") == 3
    assert value(second, "nastavnik_updates_total", outcome="ok") == 1


async def test_webhook_mode_serves_the_same_metrics(db_url, fake):
    h = await Harness.start(
        make_settings(db_url, webhook_url="https://bot.example.org", webhook_secret=SECRET), fake
    )

    async def nothing() -> None:
        return None

    client = TestClient(TestServer(make_web_app(h.app, h.app.metrics, Leadership(db_url, nothing, nothing))))
    await client.start_server()
    try:
        resp = await client.post(
            WEBHOOK_PATH, json=start_update(fake, 7171), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert resp.status == 200
        resp = await client.get("/metrics")
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        found = samples(await resp.text())
    finally:
        await client.close()
        await h.close()
    assert value(found, "nastavnik_updates_total", outcome="ok") == 1
    assert value(found, "nastavnik_scheduler_leader") == 0  # the leadership loop never ran


async def test_the_dashboard_asks_only_for_metrics_the_bot_exposes(db_url):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    h = await Harness.start(make_settings(db_url, web_port=free_port()))
    try:
        exposed = {name for name, _ in await scrape(h)}
    finally:
        await h.close()
    queried: dict[str, list[str]] = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            names = re.findall(r"\b(?:nastavnik|process|python)_[a-z0-9_]+", target["expr"])
            assert names, (panel["title"], target["expr"])
            for name in names:
                queried.setdefault(name, []).append(panel["title"])
    missing = {name: panels for name, panels in queried.items() if name not in exposed}
    assert not missing, missing
    # Every metric of the brief has a panel: outcomes, latency, queue, sends, reminders, leadership, process,
    # backups.
    for needed in (
        "nastavnik_updates_total",
        "nastavnik_handler_seconds_bucket",
        "nastavnik_outbox_messages",
        "nastavnik_outbox_sends_total",
        "nastavnik_reminders_pending",
        "nastavnik_reminders_late",
        "nastavnik_scheduler_leader",
        "process_resident_memory_bytes",
        "nastavnik_backup_last_ok",
        "nastavnik_backup_last_success_timestamp_seconds",
    ):
        assert needed in queried, needed
