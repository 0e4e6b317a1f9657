"""Hostile input (issues #14, #20): crafted files, non-ASCII digits, forged buttons, texts past Telegram's
limits. Everything goes through the real dispatcher and the fake Bot API, which enforces Telegram's limits."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
import zipfile

import pytest

from bot import files
from bot.testing.harness import Client, Harness
from handlers import roadmap as roadmap_handlers
from tests.helpers import onboard_curator

_msg_ids = itertools.count(8_000_000)


# --- 1. files --------------------------------------------------------------------------------


def shared_strings_bomb(count: int) -> bytes:
    """A valid XLSX whose sharedStrings.xml holds `count` empty strings: ≈27 KB for a million of them,
    which openpyxl takes seconds and hundreds of megabytes to read."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{ns}" xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
            "</sheetData></worksheet>"
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{ns}">' + "<si><t/></si>" * count + "</sst>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>' + text)
    return buffer.getvalue()


@pytest.fixture
def uploads(monkeypatch) -> dict[str, bytes]:
    """Telegram's file server: the bytes of a document by its file_id."""
    stored: dict[str, bytes] = {}

    async def download(bot, document):
        return stored[document.file_id]

    monkeypatch.setattr(roadmap_handlers, "download", download)
    return stored


async def upload(client: Client, uploads: dict[str, bytes], name: str, data: bytes) -> None:
    uploads[name] = data
    message = {
        "message_id": next(_msg_ids),
        "date": int(time.time()),
        "chat": {"id": client.id, "type": "private"},
        "from": client._from(),
        "document": {"file_id": name, "file_unique_id": name, "file_name": name, "file_size": len(data)},
        "caption": "/roadmap",
    }
    await client.h.feed({"message": message})


async def _while_importing(
    h: Harness, curator: Client, uploads: dict[str, bytes], data: bytes
) -> tuple[float, bool]:
    """Upload `data` as the curator and, right after, another person asks for /help; returns how long
    /help took from the upload and whether the import was still going when /help was answered."""
    other = h.user(4242, "Other", "ru")
    await other.send("/help")  # a first answer outside the measurement (lazy imports, the first session)
    started = time.monotonic()
    importing = asyncio.create_task(upload(curator, uploads, "roadmap.xlsx", data))
    await asyncio.sleep(0.05)  # the import is under way
    replies = await other.send("/help")
    took = time.monotonic() - started
    still_importing = not importing.done()
    await importing
    assert replies, "/help got no answer"
    return took, still_importing


async def test_a_shared_strings_bomb_is_refused_and_the_bot_keeps_answering(h, uploads):
    bomb = shared_strings_bomb(1_000_000)
    assert len(bomb) < 30_000
    curator = await onboard_curator(h)
    took, _ = await _while_importing(h, curator, uploads, bomb)
    assert took < 1.0, f"/help waited {took:.1f} s behind the import"
    assert "устроен слишком сложно" in curator.last().text
    assert "roadmap.xlsx" in curator.last().text


async def test_a_file_that_parses_too_long_is_stopped(h, uploads, monkeypatch):
    # Under the zip limits (a patient attacker), but the worker overruns its time: it is killed.
    monkeypatch.setattr(files, "LIMITS", files.Limits(max_ratio=10**6, max_shared_strings=10**9, seconds=0.5))
    curator = await onboard_curator(h)
    took, still_importing = await _while_importing(h, curator, uploads, shared_strings_bomb(2_000_000))
    assert took < 1.0, f"/help waited {took:.1f} s behind the import"
    assert still_importing
    assert "читается слишком долго" in curator.last().text


async def test_a_valid_xlsx_roadmap_still_imports_through_the_worker(h, uploads):
    from pathlib import Path

    curator = await onboard_curator(h)
    data = (Path(__file__).parent / "fixtures" / "roadmaps" / "seed_002.xlsx").read_bytes()
    await upload(curator, uploads, "seed_002.xlsx", data)
    assert "Дорожная карта загружена: мероприятий — 23." in curator.last().text
