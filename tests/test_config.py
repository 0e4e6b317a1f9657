from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_setting_and_nothing_else():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^#?\s*([A-Z][A-Z_]+)=", text, flags=re.M))
    assert names == {f.upper() for f in Settings.model_fields}


def test_env_example_as_is_refuses_to_start_with_a_clear_line(tmp_path, monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match=r"^BOT_TOKEN is empty"):
        load_settings()


def test_defaults_and_parsing(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("BOT_TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv("CURATOR_IDS", " 5, 6 ,7")
    s = load_settings()
    assert s.curator_ids == (5, 6, 7)
    assert s.database_url.startswith("sqlite+aiosqlite:///data/")
    assert s.timezone == "Europe/Moscow" and s.default_language == "ru" and s.redis_url is None
    assert "A" * 35 not in repr(s) and "A" * 35 not in str(s.model_dump())


def _clean_env(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("BOT_TOKEN", "123456:" + "A" * 35)


def test_webhook_mode_without_a_secret_refuses_to_start(monkeypatch, tmp_path):
    """Without a secret aiogram accepts any POST to /webhook: anyone who reaches the port acts as anyone."""
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org")
    monkeypatch.setenv("WEBHOOK_SECRET", "")
    with pytest.raises(SettingsError) as err:
        load_settings()
    line = str(err.value)
    assert line.startswith("WEBHOOK_SECRET is not set") and "\n" not in line
    assert "secrets.token_urlsafe(32)" in line


@pytest.mark.parametrize("secret", ["a" * 16, "a" * 31, "x" * 40 + "!", "a" * 257])
def test_webhook_secret_must_be_long_enough_and_in_telegrams_alphabet(monkeypatch, tmp_path, secret):
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org")
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    with pytest.raises(SettingsError, match=r"^WEBHOOK_SECRET is malformed: expected 32-256 characters"):
        load_settings()


def test_webhook_mode_with_a_good_secret_and_polling_without_one(monkeypatch, tmp_path):
    import secrets

    _clean_env(monkeypatch, tmp_path)
    assert load_settings().webhook_url is None  # polling needs no secret
    good = secrets.token_urlsafe(32)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/")
    monkeypatch.setenv("WEBHOOK_SECRET", good)
    s = load_settings()
    assert s.webhook_url == "https://bot.example.org" and s.webhook_secret.get_secret_value() == good
    assert good not in repr(s)
