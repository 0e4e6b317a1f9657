"""Callback data: the curator's dashboard and digest."""

from __future__ import annotations

from bot.callbacks import Callback


class NudgePairCb(Callback, prefix="cn"):
    pair: int


class OpenPairCb(Callback, prefix="co"):
    pair: int
