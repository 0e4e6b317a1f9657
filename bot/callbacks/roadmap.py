"""Callback data: the curator's roadmap (/roadmap menu and its items)."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class RoadmapAction(StrEnum):
    TEMPLATE_CSV = "csv"
    TEMPLATE_XLSX = "xlsx"
    ADD = "add"
    FILE = "file"


class RoadmapCb(Callback, prefix="cq"):
    a: RoadmapAction


class ItemAction(StrEnum):
    DONE = "done"  # done, asked for a note
    MOVE = "move"
    BARE = "bare"  # done without a note


class ItemCb(Callback, prefix="cw"):
    a: ItemAction
    i: int
