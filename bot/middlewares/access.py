"""Access by router: a router put behind only_for (or made by curators_only) runs its handlers only for an
active person holding one of the roles; anyone else is refused, forged button data included. A handler is
protected by where it is registered, with no list of prefixes or commands to keep."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.domain.entities import ParticipantDTO, Role, Status
from bot.i18n import Translator
from bot.services import institutions
from storage.tenancy import OutsideInstitution, set_scope
from storage.uow import Repos

log = logging.getLogger("nastavnik.access")


def _allowed(me: ParticipantDTO | None, roles: set[Role]) -> bool:
    if me is None or me.status == Status.WITHDRAWN.value or not me.full_name:
        return False
    return bool(me.roles & roles)


async def _refuse(event: TelegramObject, data: dict[str, Any], roles: set[Role]) -> None:
    t: Translator = data["t"]
    me = data.get("me")
    log.warning(
        "access denied update_id=%s participant=%s need=%s",
        data.get("event_update").update_id if data.get("event_update") else None,
        me.id if me else None,
        ",".join(sorted(roles)),
    )
    key = "access.denied" if roles == {Role.CURATOR} else "access.denied_role"
    if isinstance(event, CallbackQuery):
        await event.answer(t(key), show_alert=True)
    elif isinstance(event, Message):
        await event.answer(t(key))
    return None


class RequireRole(BaseMiddleware):
    """The guard of a router: every handler registered on it (and on its sub-routers) runs only for an active
    person holding one of `roles`; anyone else is told so and nothing happens. An inner middleware, so it runs
    after a handler of this router matched: a refused press is answered, not passed to another router."""

    def __init__(self, roles: set[Role]) -> None:
        self.roles = roles

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if _allowed(data.get("me"), self.roles):
            return await handler(event, data)
        return await _refuse(event, data, self.roles)


def only_for(router: Router, *roles: Role) -> Router:
    """Put `router` behind a role guard: whatever is registered on it is protected, no list to extend."""
    guard = RequireRole(set(roles))
    router.message.middleware(guard)
    router.callback_query.middleware(guard)
    return router


class InstitutionScope(BaseMiddleware):
    """The second guard of a curator's router: the handler's unit of work sees only the institution the
    curator works in (storage/tenancy.py). A button or command naming another institution's object is
    refused here: nothing it did is kept, the attempt is logged and audited (ids only), the curator told."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        repos: Repos = data["repos"]
        me: ParticipantDTO = data["me"]
        t: Translator = data["t"]
        scope = await institutions.enter(repos, me.id, data["clock"]())
        try:
            return await handler(event, data)
        except OutsideInstitution as refused:
            await repos.session.rollback()
            log.warning(
                "institution boundary: participant=%s institution=%s asked for %s #%s",
                me.id,
                scope.institution_id,
                refused.kind,
                refused.object_id,
            )
            await repos.audit.log(
                "access.outside_institution",
                data["clock"](),
                actor_id=me.id,
                object_type=refused.kind,
                object_id=refused.object_id if isinstance(refused.object_id, int) else None,
            )
            await _tell(event, t("access.other_institution"))
            return None
        finally:
            set_scope(repos.session, None)


async def _tell(event: TelegramObject, text: str) -> None:
    if isinstance(event, CallbackQuery):
        try:
            await event.answer(text, show_alert=True)
            return
        except TelegramBadRequest:  # the handler answered the press already
            if isinstance(event.message, Message):
                await event.message.answer(text)
            return
    if isinstance(event, Message):
        await event.answer(text)


def curators_only(name: str) -> Router:
    """A router for curator commands and buttons: curators only, each in their own institution."""
    router = only_for(Router(name=name), Role.CURATOR)
    scope = InstitutionScope()
    router.message.middleware(scope)
    router.callback_query.middleware(scope)
    return router
