"""Reading files that people send to the bot, without letting one file stop the bot.

A spreadsheet is a zip of XML: a 20 KB file of a million tiny shared strings kept the event loop busy for
seconds and grew the process by hundreds of megabytes. So every parse of a user's file goes through `parse`:
the zip's directory is checked first (entries, declared sizes, compression ratio — cheap, nothing is
inflated), then the parser runs in a separate process with a memory ceiling (RLIMIT_AS), killed when it
overruns its time. The event loop only waits, so everyone else keeps getting answers meanwhile."""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import resource
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# Locale keys (locales/*/safety.yaml) of the refusals; the roadmap import reports them like its own errors.
TOO_BIG = "safety.file.too_big"
TOO_COMPLEX = "safety.file.too_complex"
TOO_SLOW = "safety.file.too_slow"
BROKEN = "safety.file.broken"
REFUSALS = (TOO_BIG, TOO_COMPLEX, TOO_SLOW, BROKEN)

_ZIP_MAGIC = b"PK\x03\x04"
# The workers are forked from a small server that has already imported the parsers (fast to start, and
# never a fork of the bot's own process with its threads and open connections).
_PRELOAD = ["bot.domain.roadmap", "openpyxl"]


@dataclass(frozen=True)
class Limits:
    """Generous for any real table a school sends (a roadmap is a few dozen kilobytes)."""

    max_entries: int = 500
    max_uncompressed: int = 50 * 1024 * 1024  # all members together, as the zip directory declares them
    max_ratio: int = 100  # per member; XML of real spreadsheets compresses 5–20 times
    max_shared_strings: int = 8 * 1024 * 1024  # xl/sharedStrings.xml, inflated
    seconds: float = 15.0
    memory: int = 768 * 1024 * 1024  # the worker's address space (it starts at ≈170 MB)


LIMITS = Limits()


class Refused(Exception):
    """The file was not parsed; `code` is the locale key of what to tell the person."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def check_zip(data: bytes, limits: Limits = LIMITS) -> None:
    """Refuse a zip (XLSX, DOCX…) whose directory promises more than any real document needs.

    The sizes are the ones the directory declares; a member that inflates past its declared size fails
    the CRC check inside the worker, which is killed by its limits in any case."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise Refused(BROKEN) from None
    if len(infos) > limits.max_entries:
        raise Refused(TOO_COMPLEX)
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > limits.max_ratio * max(info.compress_size, 1) and info.file_size > 64 * 1024:
            raise Refused(TOO_COMPLEX)
        if info.filename.lower().endswith("sharedstrings.xml") and info.file_size > limits.max_shared_strings:
            raise Refused(TOO_COMPLEX)
    if total > limits.max_uncompressed:
        raise Refused(TOO_COMPLEX)


def _child(conn: Connection, memory: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        result: tuple[str, Any] = ("ok", fn(*args))
    except MemoryError:
        result = ("refused", TOO_BIG)
    except Exception as exc:  # the parser's own errors are its result; anything else means a broken file
        result = ("refused", BROKEN)
        log.warning("file parser failed: %s", type(exc).__name__)
    try:
        conn.send(result)
    except MemoryError:
        conn.send(("refused", TOO_BIG))
    finally:
        conn.close()


_context: Any = None


def _ctx() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(_PRELOAD)
    return _context


def _run(fn: Callable[..., T], args: tuple[Any, ...], limits: Limits) -> T:
    """Blocking: one worker process for one file, killed past the time limit."""
    ctx = _ctx()
    receive, send = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_child, args=(send, limits.memory, fn, args), daemon=True)
    worker.start()
    send.close()
    try:
        if not receive.poll(limits.seconds):
            raise Refused(TOO_SLOW)
        try:
            status, value = receive.recv()
        except (EOFError, OSError):  # the worker died (out of memory while allocating, a crash)
            raise Refused(TOO_BIG) from None
    finally:
        receive.close()
        if worker.is_alive():
            worker.kill()
        worker.join(5)
        worker.close()
    if status != "ok":
        raise Refused(value)
    return value  # type: ignore[no-any-return]


async def parse(fn: Callable[..., T], *args: Any, limits: Limits | None = None) -> T:
    """`fn(*args)` in a worker process, after the zip check of every zip among `args`; raises Refused.

    `fn` must be a module-level function: it is pickled to the worker."""
    limits = limits or LIMITS
    for arg in args:
        if isinstance(arg, bytes) and arg.startswith(_ZIP_MAGIC):
            check_zip(arg, limits)
    return await asyncio.to_thread(_run, fn, args, limits)
