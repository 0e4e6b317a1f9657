"""The Mini App on the bot's own web server (polling: WEB_HOST:WEB_PORT beside /healthz; webhook: beside
/webhook): the page and its files from the package (/app/), the JSON API (/api/), with the security headers
every response of theirs carries. Mounted only when WEB_APP_URL is set."""

from __future__ import annotations

import mimetypes
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.i18n import Translator
from bot.webapp import api
from bot.webapp import schemas as s
from bot.webapp.routes import reply, wrap

if TYPE_CHECKING:
    from bot.app import App

APP_PATH = "/app/"
# Everything from this origin, nothing inline, nothing from elsewhere; framed only by Telegram's web client
# (the phone and desktop apps open it in a web view, not a frame).
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors https://web.telegram.org https://*.telegram.org"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files as shipped in the package, read once: name → (content, type)."""
    folder = resources.files("bot.webapp") / "static"
    out = {}
    for entry in folder.iterdir():
        if entry.is_file() and not entry.name.startswith("."):
            kind = mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind.endswith("javascript"):
                kind += "; charset=utf-8"
            out[entry.name] = (entry.read_bytes(), kind)
    return out


def security_headers(language: str) -> Any:
    """The headers of every page and API answer; an API path that does not exist answers in JSON too."""

    @web.middleware
    async def middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
        return await _secured(request, handler, language)

    return middleware


async def _secured(request: web.Request, handler: web.Handler, language: str) -> web.StreamResponse:
    path = request.path
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        if path.startswith("/api/") and exc.status in (404, 405):
            # The page reads {"error", "message"} from every API answer.
            t = Translator(language)
            response = reply(s.Error(error="not_found", message=t("desk.error.not_found")), exc.status)
    if path.startswith(("/app", "/api")):
        response.headers["Content-Security-Policy"] = PAGE_CSP if path.startswith("/app") else API_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if path.startswith("/api") or path in ("/app", APP_PATH):
            response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException):
        raise response
    return response


def add_desk(web_app: web.Application, app: App) -> None:
    """The Mini App's page, files and API on ``web_app``."""
    files = static_files()

    def serve(name: str) -> web.Response:
        content, kind = files[name]
        response = web.Response(body=content, headers={"Content-Type": kind})
        response.enable_compression()
        return response

    async def page(_: web.Request) -> web.Response:
        return serve("index.html")

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files or name == "index.html":
            raise web.HTTPNotFound()
        response = serve(name)
        response.headers["Cache-Control"] = "no-cache"  # revalidated: a new release is seen at once
        return response

    async def to_page(_: web.Request) -> web.Response:
        raise web.HTTPFound(APP_PATH)

    web_app.middlewares.append(security_headers(app.settings.default_language))
    web_app.router.add_get("/app", to_page)
    web_app.router.add_get(APP_PATH, page)
    web_app.router.add_get("/app/static/{name}", asset)
    for endpoint in api.endpoints():
        web_app.router.add_route(endpoint.method, endpoint.path, wrap(app, endpoint))
