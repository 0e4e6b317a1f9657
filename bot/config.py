"""Settings from the environment and .env — created once in the composition root and passed down."""

from __future__ import annotations

from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///data/nastavnik.db"
TELEGRAM_API_URL = "https://api.telegram.org"
# Telegram allows 1-256 characters of A-Z a-z 0-9 _ -; a short one can be guessed, and the secret is all that
# stands between the open port and acting as any user.
WEBHOOK_SECRET_MIN = 32
SECRET_HINT = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


class SettingsError(Exception):
    """A missing or malformed setting; its text is the one line shown to the operator."""


class DatabaseSettings(BaseSettings):
    """What the maintenance commands need: no token."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_SQLITE_URL

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return value


class Settings(DatabaseSettings):
    bot_token: SecretStr
    bot_api_url: str = TELEGRAM_API_URL
    redis_url: str | None = None
    curator_ids: Annotated[tuple[int, ...], NoDecode] = ()
    timezone: str = "Europe/Moscow"
    default_language: str = "ru"
    invitation_ttl_days: int = Field(default=14, ge=1, le=365)
    digest_hour: int = Field(default=9, ge=0, le=23)
    forms_dir: str | None = None
    outbox_rate_per_second: float = Field(default=29.0, gt=0, le=30)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    log_json: bool = False
    log_level: str = "INFO"
    # An aggregate over fewer people than this reaches the coordinator as "< N" (never the exact count).
    small_numbers: int = Field(default=5, ge=2, le=50)
    # Who runs the bot and answers for the personal data (152-FZ operator), and how to reach them: /privacy
    # and the bot's description show both. Empty: the texts name "the institution" and "the curator".
    privacy_operator_name: str = Field(default="", max_length=200)
    privacy_contact: str = Field(default="", max_length=200)
    # Health and metrics in polling mode (webhook mode serves them on WEBHOOK_HOST:WEBHOOK_PORT).
    web_enabled: bool = True
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    # Daily SQLite backups (none for PostgreSQL: pg_dump); BACKUP_KEEP=0 turns them off.
    backup_dir: str | None = None
    backup_keep: int = Field(default=7, ge=0, le=365)
    backup_hour: int = Field(default=3, ge=0, le=23)
    # Who hears of failures (empty: the first of CURATOR_IDS), and when the outbox counts as stuck.
    operator_ids: Annotated[tuple[int, ...], NoDecode] = ()
    outbox_stuck_minutes: int = Field(default=15, ge=1, le=1440)
    # The curator's desk (Telegram Mini App): its public HTTPS address, where Telegram opens it (the bot's web
    # server, WEB_HOST:WEB_PORT or the webhook's, behind TLS). Empty: no desk, the bot runs as before.
    web_app_url: str | None = None
    # How old the Mini App's signed initData may be before the desk asks to open it again (seconds).
    web_app_auth_max_age: int = Field(default=3600, ge=60, le=86400)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not raw:
            raise ValueError("is empty: put the token from @BotFather into .env (see .env.example)")
        head, sep, tail = raw.partition(":")
        if not (sep and head.isdigit() and len(tail) >= 20):
            raise ValueError("expected a token like 123456:ABC... from @BotFather")
        return SecretStr(raw)

    @field_validator("bot_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("forms_dir", mode="before")
    @classmethod
    def _forms_dir(cls, value: object) -> object:
        if value in ("", None):
            return None
        from pathlib import Path

        if not Path(str(value)).is_dir():
            raise ValueError("not a folder")
        return value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not str(value).startswith(("https://", "http://")):
            raise ValueError("expected the public https:// URL Telegram should post updates to")
        return str(value).rstrip("/")

    @field_validator("web_app_url", mode="before")
    @classmethod
    def _web_app_url(cls, value: object) -> object:
        if value in ("", None):
            return None
        text = str(value).strip()
        # Telegram opens Mini Apps over HTTPS only; plain http is for a test on this machine.
        if not text.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("expected the desk's public https:// address, e.g. https://bot.school.ru/app/")
        return text if text.endswith("/") else text + "/"

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if value in ("", None):
            return None
        import re

        if not re.fullmatch(rf"[A-Za-z0-9_-]{{{WEBHOOK_SECRET_MIN},256}}", str(value)):
            raise ValueError(
                f"expected {WEBHOOK_SECRET_MIN}-256 characters of A-Z, a-z, 0-9, _ and -; {SECRET_HINT}"
            )
        return value

    @field_validator("backup_dir", mode="before")
    @classmethod
    def _backup_dir(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not str(value).startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected redis://host:port/db")
        return value

    @field_validator("curator_ids", "operator_ids", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("expected comma-separated numeric Telegram user ids")
            return tuple(int(p) for p in parts)
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone (expected e.g. Europe/Moscow)") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _lang(cls, value: str) -> str:
        if value not in ("ru", "en"):
            raise ValueError("expected ru or en")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        from bot.logging_setup import check_level

        return check_level(value)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        # Without the secret header check anyone who reaches the port can post updates as any user.
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(f"WEBHOOK_SECRET is not set: webhook mode (WEBHOOK_URL) needs it; {SECRET_HINT}")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


S = TypeVar("S", bound=DatabaseSettings)


def load_settings(cls: type[S] = Settings, **overrides: object) -> S:  # type: ignore[assignment]
    """Build settings or raise SettingsError whose text names the first bad setting, in one line."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        if not err.get("loc"):  # a rule across settings: its message names them
            raise SettingsError(err["msg"].removeprefix("Value error, ")) from None
        name = str(err["loc"][0]).upper() if err.get("loc") else "settings"
        if err["type"] == "missing":
            raise SettingsError(f"{name} is not set (see .env.example)") from None
        message = err["msg"].removeprefix("Value error, ")
        if message.startswith("is empty"):
            raise SettingsError(f"{name} {message}") from None
        raise SettingsError(f"{name} is malformed: {message}") from None
