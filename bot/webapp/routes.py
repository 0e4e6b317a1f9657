"""Access by route group, as the chat's routers do it: an endpoint registered on the curators' group runs only
for an active curator, its unit of work scoped to the curator's institution (storage/tenancy.py); one on the
coordinators' group only for a coordinator. Nobody extends a list of paths to protect a new endpoint.

Each request: the initData checked (401), the person and roles read from the database (403), the query or
body validated (422, the message in the person's language), one unit of work committed at the end, and the
outbox woken when it holds something new. Every endpoint is declared with its models, which is what the
OpenAPI document is generated from."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from bot.domain.entities import ParticipantDTO, Role, Status
from bot.i18n import Translator
from bot.operator import operator_ids
from bot.services import institutions
from bot.webapp import schemas as s
from bot.webapp.auth import Unauthorized, telegram_user
from storage.tenancy import OutsideInstitution, set_scope
from storage.uow import Repos, unit_of_work

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("nastavnik.desk")
BODY_MAX = 64 * 1024  # a JSON body; an imported file has its own limit


class Access(StrEnum):
    DESK = "desk"  # a curator or a coordinator: the desk opens (which pages: /api/me's `can`)
    CURATOR = "curator"
    COORDINATOR = "coordinator"
    ADMIN = "admin"  # curators, coordinators and the operator: the API's documentation


ROLES: dict[Access, set[Role]] = {
    Access.DESK: {Role.CURATOR, Role.COORDINATOR},
    Access.CURATOR: {Role.CURATOR},
    Access.COORDINATOR: {Role.COORDINATOR},
    Access.ADMIN: {Role.CURATOR, Role.COORDINATOR},
}


class Refusal(Exception):
    """An endpoint's refusal: the status, a stable code and the text key of the message."""

    def __init__(
        self, status: int, code: str, key: str | None = None, *, message: str | None = None, **params: Any
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.key, self.params = status, code, key or f"desk.error.{code}", params
        self.message = message  # already worded (a use case's own error text)
        self.errors: list[str] = []

    def body(self, t: Translator) -> s.Error:
        message = self.message or t(self.key, **self.params)
        return s.Error(error=self.code, message=message, errors=self.errors)


@dataclass
class Desk:
    """One request's context, what a handler gets."""

    app: App
    request: web.Request
    repos: Repos
    me: ParticipantDTO
    t: Translator
    now: datetime
    query: Any = None
    body: Any = None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.app.settings.tz).date()


Handler = Callable[[Desk], Awaitable[BaseModel | web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    response: type[BaseModel]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    multipart: bool = False


@dataclass
class Group:
    access: Access
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        response: type[BaseModel],
        *,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        multipart: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            summary = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
            self.endpoints.append(
                Endpoint(method, path, handler, self.access, summary, response, query, body, multipart)
            )
            return handler

        return register

    def get(self, path: str, response: type[BaseModel], **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, response, **kw)

    def post(self, path: str, response: type[BaseModel], **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, response, **kw)


def error(t: Translator, status: int, code: str, key: str | None = None, **params: Any) -> web.Response:
    return reply(s.Error(error=code, message=t(key or f"desk.error.{code}", **params)), status)


def reply(model: BaseModel, status: int = 200) -> web.Response:
    response = web.Response(
        body=model.model_dump_json().encode(), status=status, content_type="application/json"
    )
    response.enable_compression()  # gzip when the client takes it (every browser does)
    return response


def _allowed(me: ParticipantDTO | None, access: Access, operators: set[int]) -> bool:
    if me is None or me.status == Status.WITHDRAWN.value or not me.full_name:
        return False
    if access is Access.ADMIN and me.telegram_id in operators:
        return True
    return bool(me.roles & ROLES[access])


async def _parse(endpoint: Endpoint, request: web.Request, desk: Desk) -> None:
    if endpoint.query is not None:
        desk.query = endpoint.query.model_validate(
            {k: v for k, v in request.query.items() if v != ""}, strict=False
        )
    if endpoint.body is not None:
        if request.content_length is not None and request.content_length > BODY_MAX:
            raise Refusal(413, "too_big")
        raw = await request.read()
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise Refusal(400, "bad_json") from None
        desk.body = endpoint.body.model_validate(data)


def wrap(app: App, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    settings = app.settings
    token = settings.bot_token.get_secret_value()
    max_age = timedelta(seconds=settings.web_app_auth_max_age)
    operators = set(operator_ids(settings.operator_ids, settings.curator_ids))

    async def handle(request: web.Request) -> web.StreamResponse:
        now = app.clock()
        t = Translator(settings.default_language)
        try:
            telegram_id = telegram_user(token, request.headers.get("Authorization"), now, max_age)
        except Unauthorized as refused:
            log.warning("desk: refused %s %s (%s)", request.method, endpoint.path, refused.reason)
            return error(t, 401, "unauthorized")
        async with unit_of_work(app.factory) as repos:
            me = await repos.participants.by_telegram_id(telegram_id)
            if me is not None:
                t = Translator(me.language)
            if not _allowed(me, endpoint.access, operators):
                log.warning(
                    "desk: forbidden %s %s participant=%s need=%s",
                    request.method,
                    endpoint.path,
                    me.id if me else None,
                    endpoint.access.value,
                )
                return error(t, 403, "forbidden", f"desk.error.forbidden.{endpoint.access.value}")
            assert me is not None
            desk = Desk(app, request, repos, me, t, now)
            scoped = endpoint.access is Access.CURATOR
            if scoped:
                scope = await institutions.enter(repos, me.id, now)
            try:
                await _parse(endpoint, request, desk)
                result = await endpoint.handler(desk)
            except ValidationError as exc:
                await repos.session.rollback()
                where = ".".join(str(x) for x in exc.errors()[0].get("loc", ())) or "body"
                log.info("desk: invalid %s %s (%s)", request.method, endpoint.path, where)
                return error(t, 422, "invalid")
            except Refusal as refused:
                await repos.session.rollback()
                return reply(refused.body(t), refused.status)
            except OutsideInstitution as refused:
                await repos.session.rollback()
                log.warning(
                    "desk: institution boundary: participant=%s institution=%s asked for %s #%s",
                    me.id,
                    scope.institution_id,
                    refused.kind,
                    refused.object_id,
                )
                await repos.audit.log(
                    "access.outside_institution",
                    now,
                    actor_id=me.id,
                    object_type=refused.kind,
                    object_id=refused.object_id if isinstance(refused.object_id, int) else None,
                )
                return error(t, 403, "other_institution")
            finally:
                if scoped:
                    set_scope(repos.session, None)
        if request.method != "GET":
            app.sender.notify()  # what the action queued (an approved pair's announcements) goes out now
        return result if isinstance(result, web.StreamResponse) else reply(result)

    return handle


# -- OpenAPI -------------------------------------------------------------------------------------------
def _parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def openapi(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the endpoints, built from their declarations and models."""
    models = {s.Error} | {e.response for e in endpoints} | {e.body for e in endpoints if e.body}
    _, defs = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    ref = lambda m: {"$ref": f"#/components/schemas/{m.__name__}"}  # noqa: E731
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        operation: dict[str, Any] = {
            "summary": e.summary,
            "operationId": e.handler.__name__,
            "tags": [e.access.value],
            "security": [{"initData": []}],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": ref(e.response)}}},
                **{
                    str(code): {
                        "description": text,
                        "content": {"application/json": {"schema": ref(s.Error)}},
                    }
                    for code, text in (
                        (401, "No valid initData (missing, forged, another bot's, expired)"),
                        (403, "Not allowed to this person, or an object of another institution"),
                        (422, "Invalid parameters"),
                    )
                },
            },
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in _path_params(e.path)
        ]
        if e.query is not None:
            params += _parameters(e.query)
        if params:
            operation["parameters"] = params
        if e.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(e.body)}},
            }
        if e.multipart:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    }
                },
            }
        paths.setdefault(e.path, {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Nastavnik: the curator's desk",
            "version": version,
            "description": "The JSON API behind the Telegram Mini App. Every request carries the Mini App's "
            "initData: `Authorization: tma <initData>`.",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "initData": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "tma <the raw initData string Telegram passes to the Mini App>",
                }
            },
        },
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
