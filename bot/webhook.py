"""Webhook mode: an aiohttp server with /webhook (Telegram's secret token checked on every request),
/healthz and /metrics (bot/metrics.py). Any instance handles any update; only the leader runs the
scheduler."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.app import App
from bot.metrics import DESK_BODY_MAX, Metrics, add_routes
from scheduler.leader import Leadership

log = logging.getLogger("nastavnik.webhook")
WEBHOOK_PATH = "/webhook"


class UpdatesHandler(SimpleRequestHandler):
    async def close(self) -> None:
        """aiogram closes the bot session when the web server stops; App.close does it after the updates being
        handled have finished (their replies still need it)."""


def make_web_app(app: App, metrics: Metrics, leadership: Leadership) -> web.Application:
    secret = app.settings.webhook_secret.get_secret_value() if app.settings.webhook_secret else None
    if not secret:
        # aiogram skips the header check when the secret is empty: anyone could post updates as anyone.
        raise RuntimeError("webhook mode needs WEBHOOK_SECRET")
    web_app = web.Application(client_max_size=DESK_BODY_MAX)
    # Handled before the answer: if the instance dies mid-update, Telegram retries it (with another instance).
    UpdatesHandler(dispatcher=app.dp, bot=app.bot, secret_token=secret, handle_in_background=False).register(
        web_app, path=WEBHOOK_PATH
    )
    add_routes(web_app, app, metrics, lambda: leadership.is_leader)
    if app.settings.web_app_url:
        from bot.webapp.server import add_desk

        add_desk(web_app, app)
    return web_app


async def run_webhook(app: App) -> None:
    from handlers.menu import refresh_desk_menus, set_default_menus

    async def elected() -> None:
        await app.reminders.rearm_all()
        if not app.scheduler.running:
            app.scheduler.start()
        else:
            app.scheduler.resume()

    async def lost() -> None:
        if app.scheduler.running:
            app.scheduler.pause()

    leadership = Leadership(app.settings.database_url, elected, lost)
    web_app = make_web_app(app, app.metrics, leadership)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.webhook_host, app.settings.webhook_port)
    await site.start()
    sender_task = asyncio.create_task(app.sender.run(), name="outbox")
    leader_task = asyncio.create_task(leadership.run(), name="leadership")
    if app.operator is not None:
        app.dp["background"].add(app.operator.start())  # App.close stops it
    secret = app.settings.webhook_secret.get_secret_value() if app.settings.webhook_secret else None
    try:
        await app.bot.set_webhook(
            f"{app.settings.webhook_url}{WEBHOOK_PATH}", secret_token=secret, drop_pending_updates=False
        )
        await set_default_menus(app.bot, app.settings.default_language, app.settings)
        await refresh_desk_menus(app.bot, app.factory, app.settings, app.clock())
        log.info("webhook mode: listening on %s:%s", app.settings.webhook_host, app.settings.webhook_port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("webhook mode: stopping")
    finally:
        # Stop taking updates and let the requests in flight finish, then App.close (updates still handled
        # past aiogram's 55 s answer, the sender, the scheduler, the database), leadership last.
        await runner.cleanup()
        await app.close()
        await asyncio.gather(sender_task, return_exceptions=True)
        await leadership.stop()
        await asyncio.gather(leader_task, return_exceptions=True)
