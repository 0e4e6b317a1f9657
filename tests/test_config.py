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
