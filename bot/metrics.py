"""Prometheus metrics and the /healthz and /metrics endpoints, in both modes: on the webhook's port in webhook
mode (bot/webhook.py), on WEB_HOST:WEB_PORT in polling mode (`serve_health`).

One registry per app, never prometheus-client's global one, so that several apps can live in one process
(tests, the demo). Counters move where things happen (an update handled, a send's outcome, an alert queued);
what the database knows (the outbox by status, reminders pending and late) and the backups' state are read
when Prometheus scrapes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from bot.domain.statuses import OutboxStatus
from bot.operator import AlertKind
from storage.repositories.health import HealthRepo
from storage.uow import unit_of_work

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("nastavnik.metrics")
DESK_BODY_MAX = 3 * 1024 * 1024  # the largest request the web server takes: a roadmap file of the desk
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A send's outcome as the outbox sender records it (bot/outbox.py) → the label: delivered, refused for flood
# control (429), blocked by the person (403), failed (any other refusal or error; retried up to 5 times), and
# uncertain (no answer after the request left: Telegram may have it, never sent again).
SEND_OUTCOMES = ("delivered", "429", "403", "failed", "uncertain")
_SEND_LABEL: dict[str, str] = {
    OutboxStatus.SENT: "delivered",
    OutboxStatus.UNREACHABLE: "403",
    OutboxStatus.UNCERTAIN: "uncertain",
}


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.updates = Counter("nastavnik_updates", "Updates handled, by outcome", ["outcome"], registry=r)
        self.handler_seconds = Histogram(
            "nastavnik_handler_seconds", "Time to handle one update", buckets=BUCKETS, registry=r
        )
        self.sends = Counter(
            "nastavnik_outbox_sends", "Outbox send attempts, by outcome", ["outcome"], registry=r
        )
        self.outbox = Gauge("nastavnik_outbox_messages", "Outbox messages, by status", ["status"], registry=r)
        self.outbox_wait = Gauge(
            "nastavnik_outbox_oldest_wait_seconds",
            "How long the oldest message due has waited to go out (0: none waits)",
            registry=r,
        )
        self.reminders_pending = Gauge("nastavnik_reminders_pending", "Reminders not yet sent", registry=r)
        self.reminders_late = Gauge(
            "nastavnik_reminders_late", "Reminders not yet sent whose time has passed", registry=r
        )
        self.leader = Gauge(
            "nastavnik_scheduler_leader", "1 when this instance runs the scheduler", registry=r
        )
        self.database_up = Gauge(
            "nastavnik_database_up", "1 when the database answered the last scrape", registry=r
        )
        self.backup_enabled = Gauge(
            "nastavnik_backup_enabled", "1 when daily SQLite backups are on", registry=r
        )
        self.backup_ok = Gauge(
            "nastavnik_backup_last_ok",
            "1 when the latest backup succeeded (before any attempt since the start: 1 if a backup is kept)",
            registry=r,
        )
        self.backup_success = Gauge(
            "nastavnik_backup_last_success_timestamp_seconds",
            "When the newest kept backup was made (Unix time; 0: none)",
            registry=r,
        )
        self.backup_failure = Gauge(
            "nastavnik_backup_last_failure_timestamp_seconds",
            "When a backup last failed since the start (Unix time; 0: none)",
            registry=r,
        )
        self.backup_files = Gauge("nastavnik_backup_files", "Backups kept in BACKUP_DIR", registry=r)
        self.backup_size = Gauge(
            "nastavnik_backup_last_size_bytes", "Size of the newest kept backup", registry=r
        )
        self.alerts = Counter(
            "nastavnik_operator_alerts", "Alerts queued for the operator, by kind", ["kind"], registry=r
        )
        # Every label a dashboard asks for exists from the start, at 0.
        for outcome in ("ok", "error"):
            self.updates.labels(outcome)
        for outcome in SEND_OUTCOMES:
            self.sends.labels(outcome)
        for status in OutboxStatus:
            self.outbox.labels(status.value)
        for kind in AlertKind:
            self.alerts.labels(kind.value)

    # -- where things happen ---------------------------------------------------------------------------
    def observe(self, seconds: float, outcome: str) -> None:
        self.updates.labels(outcome).inc()
        self.handler_seconds.observe(seconds)

    def sent(self, result: str, error: str | None) -> None:
        """A send's outcome, as bot/outbox.py records it."""
        label = _SEND_LABEL.get(result)
        if label is None:
            label = "429" if error == "429" else "failed"
        self.sends.labels(label).inc()

    def alerted(self, kind: str) -> None:
        self.alerts.labels(kind).inc()

    # -- read at scrape time ---------------------------------------------------------------------------
    async def refresh(self, app: App, leader: bool) -> None:
        self.leader.set(int(leader))
        now = app.clock()
        try:
            async with unit_of_work(app.factory) as repos:
                counts = await repos.outbox.counts()
                pending = await repos.reminders.pending()
                wait = await HealthRepo(repos.session).outbox_wait(now)
        except Exception as exc:  # a scrape still answers: the database is what is down
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            self.database_up.set(0)
        else:
            self.database_up.set(1)
            for status in OutboxStatus:
                self.outbox.labels(status.value).set(counts.get(status.value, 0))
            self.reminders_pending.set(len(pending))
            self.reminders_late.set(sum(1 for r in pending if r.due_at < now))
            self.outbox_wait.set(max((now - wait.oldest).total_seconds(), 0) if wait.oldest else 0)
        backups = app.backups
        self.backup_enabled.set(int(backups is not None))
        if backups is not None:
            state = backups.state()
            self.backup_ok.set(int(state.last_ok))
            self.backup_success.set(state.last_success.timestamp() if state.last_success else 0)
            self.backup_failure.set(state.last_failure.timestamp() if state.last_failure else 0)
            self.backup_files.set(state.files)
            self.backup_size.set(state.last_size)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware(BaseMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await handler(event, data)
        except Exception:
            outcome = "error"
            raise
        finally:
            self.metrics.observe(time.perf_counter() - started, outcome)


def add_routes(web_app: web.Application, app: App, metrics: Metrics, is_leader: Callable[[], bool]) -> None:
    """/healthz (the database reachable, whether this instance leads the scheduler) and /metrics."""

    async def healthz(_: web.Request) -> web.Response:
        try:
            async with unit_of_work(app.factory) as repos:
                await repos.outbox.counts()
        except Exception:  # the database is what "healthy" means here
            return web.json_response({"ok": False, "db": False}, status=503)
        return web.json_response({"ok": True, "db": True, "leader": is_leader()})

    async def metrics_view(_: web.Request) -> web.Response:
        await metrics.refresh(app, is_leader())
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics_view)


def polling_web_app(app: App) -> web.Application:
    """What polling mode serves: /healthz, /metrics and, with WEB_APP_URL, the curator's desk."""
    web_app = web.Application(client_max_size=DESK_BODY_MAX)
    add_routes(web_app, app, app.metrics, lambda: app.scheduler.running)
    if app.settings.web_app_url:
        from bot.webapp.server import add_desk

        add_desk(web_app, app)
    return web_app


async def serve_health(app: App) -> web.AppRunner | None:
    """Polling mode: /healthz and /metrics on WEB_HOST:WEB_PORT (WEB_ENABLED=false: none). A port taken by
    something else is logged and the bot runs on without them: answering people matters more."""
    settings = app.settings
    if not settings.web_enabled:
        return None
    web_app = polling_web_app(app)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
    except OSError as exc:
        log.error(
            "health and metrics not served: cannot listen on %s:%s (%s)",
            settings.web_host,
            settings.web_port,
            exc.strerror or type(exc).__name__,
        )
        await runner.cleanup()
        return None
    log.info("health and metrics on http://%s:%s/healthz and /metrics", settings.web_host, settings.web_port)
    return runner
