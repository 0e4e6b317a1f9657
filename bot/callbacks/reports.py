"""Callback data: the curator's /export."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


class ExportCb(Callback, prefix="ce"):
    f: ExportFormat


class ReportDocCb(Callback, prefix="rd"):
    """The school year of the analytic report (/report_doc), named by the calendar year it starts in."""

    y: int
