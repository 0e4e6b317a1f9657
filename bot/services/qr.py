"""An invitation link as a QR code with the link printed under it: a PNG a curator can show on a screen or
print for a parents' meeting, and which still works typed by hand when the camera fails.

The code is segno's (pure Python), its modules drawn pixel for pixel — no resampling, so every module is a
square of MODULE_PX pixels — on matplotlib's Agg canvas (the object API, no pyplot: safe in a worker thread),
which also sets the lines under it in DejaVu Sans, the font that ships with matplotlib (Cyrillic included)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import segno
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MODULE_PX = 10  # pixels per module: ≈ 3 cm for a 45-module code printed at 300 dpi, read from a metre away
QUIET = 4  # modules of white around the code, as the standard asks
LINE_PX = 34  # height of one line of text under the code
FONT_PT = 13.0
DPI = 100
ERROR = "m"  # at least 15 % of the code may be smudged or folded
MIN_WIDTH = 640  # pixels: room for a link and a programme's title in a readable size
MARGIN = 3 * MODULE_PX  # left and right of the text


def matrix(link: str) -> list[list[bool]]:
    """The code's modules (True: dark), row by row, without the quiet zone."""
    code = segno.make(link, error=ERROR, micro=False)  # a higher level where the same size allows
    return [[bool(v) for v in row] for row in code.matrix]


def png(link: str, lines: Sequence[str] = ()) -> bytes:
    """The code of `link` with `lines` and then the link itself set under it, centred."""
    modules = np.array(matrix(link), dtype=bool)
    modules = np.pad(modules, QUIET, constant_values=False)
    pixels = np.kron(modules, np.ones((MODULE_PX, MODULE_PX), dtype=bool))
    image = np.where(pixels, 0.0, 1.0)
    text = [*lines, link]
    width = max(image.shape[1], MIN_WIDTH)
    height = image.shape[0] + LINE_PX * len(text) + LINE_PX // 2
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    left = (width - image.shape[1]) // 2
    fig.figimage(image, xo=left, yo=height - image.shape[0], cmap="gray", vmin=0.0, vmax=1.0, origin="upper")
    renderer = canvas.get_renderer()
    room = width - 2 * MARGIN
    for n, line in enumerate(text):
        y = (height - image.shape[0] - LINE_PX * (n + 0.5)) / height
        artist = fig.text(0.5, y, line, ha="center", va="center", fontsize=FONT_PT, family="DejaVu Sans")
        wide = artist.get_window_extent(renderer).width
        if wide > room:  # a long link or title is set smaller rather than cut
            artist.set_fontsize(FONT_PT * room / wide)
    out = io.BytesIO()
    canvas.print_png(out, metadata={"Software": None})
    return out.getvalue()
