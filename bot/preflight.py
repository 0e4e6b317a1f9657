"""What start-up makes sure of before it migrates or serves anything: the institution's forms are valid,
the database's folder exists, the database opens, Redis answers and the Bot API's host can be reached. A
failure is a StartupError: one line for the operator naming the service, the setting to look at and the
cause (no traceback, no token, no password), and the exit code: 2 for a setting to correct, 1 for a service
that cannot be reached."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import DEFAULT_SQLITE_URL, Settings
from bot.logging_setup import redact
from storage.db import create_engine, sqlite_path

CONNECT_TIMEOUT = 10  # seconds each service gets to answer at start
SETTING_EXIT, SERVICE_EXIT = 2, 1
# The default database's folder (./data/, relative to the working directory): the one folder made on the
# first start. Any other missing folder is more likely a typo in DATABASE_URL than a wish for a new one.
DEFAULT_DATA_DIR = sqlite_path(DEFAULT_SQLITE_URL).parent  # type: ignore[union-attr]


class StartupError(Exception):
    """Start-up cannot go on; the text is the one line shown to the operator."""

    def __init__(self, message: str, code: int = SERVICE_EXIT) -> None:
        super().__init__(message)
        self.code = code


def reason(exc: BaseException) -> str:
    """The cause in a few words: the driver's own message, first line only, with any token hidden."""
    exc = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT} s"
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    lines = text.strip().splitlines()
    return redact(re.sub(r"^<class '[\w.]+'>: ", "", lines[0])) if lines else type(exc).__name__


def database_label(url: str) -> str:
    """The database as the operator knows it: a file, or host:port/name (never the user or password)."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    if not url.startswith("postgresql"):
        return "in memory"
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def database_error(url: str, exc: BaseException) -> StartupError:
    return StartupError(f"the database {database_label(url)} cannot be used (DATABASE_URL): {reason(exc)}")


def check_database_folder(url: str) -> None:
    path = sqlite_path(url)
    if path is None or path.parent.is_dir():
        return
    if path.parent.resolve() == DEFAULT_DATA_DIR.resolve():
        return  # the documented default: created with the database
    state = "is not a folder" if path.parent.exists() else "does not exist"
    raise StartupError(
        f"the folder {path.parent} for the database file {state} (DATABASE_URL): "
        "create it first, or correct the path",
        SETTING_EXIT,
    )


async def check_database(url: str) -> None:
    """Open the database once (a new SQLite file is created here, in a folder that exists)."""
    check_database_folder(url)
    from sqlalchemy.exc import SQLAlchemyError

    failures: tuple[type[BaseException], ...] = (OSError, SQLAlchemyError)
    if url.startswith("postgresql"):
        import asyncpg

        failures += (asyncpg.PostgresError, asyncpg.InterfaceError)
        engine = create_engine(url, connect_args={"timeout": CONNECT_TIMEOUT})
    else:
        engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except failures as exc:
        raise database_error(url, exc) from None
    finally:
        await engine.dispose()


async def check_redis(url: str) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    parts = urlsplit(url)
    label = f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else parts.path
    client = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise StartupError(f"Redis at {label} cannot be reached (REDIS_URL): {reason(exc)}") from None
    finally:
        await client.aclose()


async def check_bot_api(api_url: str) -> None:
    """Whether the Bot API's host answers at all (a TCP connection, no request): the token is checked by the
    bot's own first request, getMe."""
    parts = urlsplit(api_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise bot_api_error(api_url, reason(exc)) from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def bot_api_error(api_url: str, cause: str) -> StartupError:
    return StartupError(f"the Bot API at {api_url} cannot be reached (BOT_API_URL): {redact(cause)}")


def check_forms(settings: Settings) -> None:
    """The institution's own forms (FORMS_DIR) are read again when the app is built; a mistake in one is
    the operator's to correct, so it is found before any service is asked."""
    if not settings.forms_dir:
        return
    from bot.domain.forms import FormError, load_forms

    try:
        load_forms(Path(settings.forms_dir))
    except FormError as exc:
        raise StartupError(f"form {exc}", SETTING_EXIT) from None


def check_files(settings: Settings) -> None:
    """What can be checked without asking anyone, before the slow imports: the operator hears of a typo at
    once."""
    check_forms(settings)
    check_database_folder(settings.database_url)


async def check_services(settings: Settings) -> None:
    await check_database(settings.database_url)
    if settings.redis_url:
        await check_redis(settings.redis_url)
    await check_bot_api(settings.bot_api_url)
