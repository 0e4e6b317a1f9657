"""`nastavnik demo`: a whole mentoring programme offline — no token, no network.

A curator, mentors, mentees and parents (bot/demo/casts/*.yaml) go through a programme year against the
in-process fake Telegram (bot/demo/telegram.py) with a simulated clock: invitations, consents, intake
questionnaires, the mentor base, matching, the five stages of the meeting sequence with their reminders and
feedback, the overdue digest, the monitoring survey, an announcement and the final surveys, then the
dashboard, the export workbook and the charts. The runner (bot/demo/runner.py) drives the bot only as people
would; a step the bot does not let them take fails the run.

`--template ID` runs one of the five seed programme templates (bot/programmes/<id>.yaml): the curator creates
the programme from it through /programme, a small cast fitted to it lives through the same story, and the
meetings follow the template's stage plan, reminders, monitoring months and KPI targets."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from bot.demo.cast import load_cast, template_casts
from bot.demo.runner import CHART_NAMES, PNG_MAGIC, Demo, DemoError, DemoResult, run_logged

__all__ = ["CHART_NAMES", "PNG_MAGIC", "TEMPLATE_CASTS", "DemoError", "DemoResult", "main", "run_demo"]
DEFAULT_OUT = Path("demo-output")
TEMPLATE_CASTS = template_casts()


def template_ids() -> list[str]:
    """The seed programme templates the demo can run (bot/programmes/*.yaml), in the order of their seeds."""
    from bot.domain.programme_templates import load_templates

    return [t.id for t in sorted(load_templates().values(), key=lambda t: t.seed)]


async def run_demo(
    out_dir: Path,
    lang: str = "ru",
    seed: int = 1,
    echo: Callable[[str], None] = print,
    *,
    quick: bool = False,
    template: str | None = None,
) -> DemoResult:
    """Run the programme into ``out_dir`` (created; the previous demo's files there are replaced): the
    transcript, the export workbook, the three charts and the demo's SQLite database. ``quick`` stops after
    the matching; ``template`` (see ``template_ids()``) runs a programme the curator creates from that
    template with the cast made for it. Raises DemoError when a step cannot be done."""
    if template is not None and template not in TEMPLATE_CASTS:
        raise DemoError(f"no cast for the template {template!r}; known: {', '.join(TEMPLATE_CASTS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    demo = Demo(out_dir, lang if lang in ("ru", "en") else "ru", seed, echo, load_cast(template or "default"))
    return await run_logged(demo, lambda: demo.run(quick), echo)


def run_in_process(
    out_dir: Path, template: str | None = None, lang: str = "ru", seed: int = 1
) -> tuple[DemoResult, list[str]]:
    """``run_demo`` in a fresh event loop, with the transcript lines returned instead of printed: picklable,
    so that several runs can go side by side in worker processes (the tests run them two at a time)."""
    lines: list[str] = []
    result = asyncio.run(run_demo(out_dir, lang, seed, lines.append, template=template))
    return result, lines


def main(argv: list[str] | None = None) -> int:
    """`nastavnik demo [--template ID] [--out DIR] [--lang ru|en]`: no token, no network, no settings. Exits
    with 1 (and says why) when a step of the story could not be done or the bot logged an error."""
    parser = argparse.ArgumentParser(
        prog="nastavnik demo",
        description="Run a whole mentoring programme offline (a fake Telegram, a simulated clock): print "
        "the transcript, write the export workbook and the charts.",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})"
    )
    parser.add_argument(
        "--lang", choices=("ru", "en"), default="ru", help="language of the bot and the transcript"
    )
    parser.add_argument(
        "--template",
        choices=template_ids(),
        default=None,
        help="run a programme created from this seed programme template (default: the hand-made school "
        "programme on the default settings)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated people's choices")
    parser.add_argument("--quick", action="store_true", help="stop after the matching (a few seconds)")
    parser.add_argument("--quiet", action="store_true", help="print only the totals, not the transcript")
    parser.add_argument(
        "--district",
        action="store_true",
        help="run a district instead: a coordinator, three institutions with programmes from three "
        "templates, the consolidated report (default folder ./demo-output/district)",
    )
    args = parser.parse_args(argv)
    if args.district:
        from bot.demo.district import main_district

        return main_district(args, DEFAULT_OUT)
    shown: list[str] = []
    echo = shown.append if args.quiet else print
    try:
        result = asyncio.run(
            run_demo(args.out, args.lang, args.seed, echo, quick=args.quick, template=args.template)
        )
    except DemoError as exc:
        print(f"nastavnik demo: failed: {exc}", file=sys.stderr)
        return 1
    if args.quiet:
        last_gap = len(shown) - shown[::-1].index("") if "" in shown else 0
        print("\n".join(shown[last_gap:]))  # the totals
    if result.problems:
        print(
            f"nastavnik demo: failed: {len(result.problems)} remark(s), see the transcript", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
