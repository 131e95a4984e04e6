"""Building blocks of the report: figures (PNG bytes), tables (DataFrames
with a caption), notes and preformatted text, grouped into sections.

Blocks are plain values; :mod:`coexplore.report.render` turns them into HTML
with the Jinja2 templates, so the same blocks can also be written out as
separate PNG files for ``snakemake --report``.
"""

from __future__ import annotations

import base64
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure

#: Shown in a table cell that has no value.
MISSING = "–"


def slugify(text: str) -> str:
    """A lower-case ASCII identifier for ids and file names.

    Parameters
    ----------
    text
        Any title.

    Returns
    -------
    str
        Runs of characters other than ``a-z0-9`` replaced by one ``-``.

    Examples
    --------
    >>> slugify("Co-registration: residuals (px)")
    'co-registration-residuals-px'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


def format_value(value: Any) -> str:
    """Format one table cell.

    Floats get five significant digits (``65.924``, ``0.56848``), values of
    1000 and more are rounded to integers with thousands separators, very
    small ones use exponent notation; NaN and None become :data:`MISSING`.

    Parameters
    ----------
    value
        A cell of a DataFrame.

    Returns
    -------
    str
        The text shown in the cell (escaped later by the template).

    Examples
    --------
    >>> [format_value(v) for v in (65.924276, 0.568481, 12345.6, 1.0077e-06, float("nan"), 3)]
    ['65.924', '0.56848', '12,346', '1.008e-06', '–', '3']
    """
    if value is None:
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return MISSING
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if v == 0:
            return "0"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) < 1e-3:
            return f"{v:.3e}"
        return f"{v:.5g}"
    if value is pd.NaT:
        return MISSING
    if isinstance(value, pd.Timestamp):
        text = value.isoformat(sep=" ")
        return text.removesuffix(" 00:00:00")
    return str(value)


@dataclass(frozen=True)
class Figure:
    """A figure as PNG bytes.

    Attributes
    ----------
    title
        Short title (also the file name stem when figures are written out).
    png
        PNG-encoded image.
    caption
        What the figure shows and where its numbers come from.
    """

    title: str
    png: bytes
    caption: str = ""

    @property
    def data_uri(self) -> str:
        """The image as a ``data:image/png;base64,`` URI (self-contained HTML)."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Table:
    """A table with a caption, rendered as a real ``<table>`` element.

    Attributes
    ----------
    id
        Unique HTML id (``tab-...``); tests and readers find tables by it.
    caption
        The ``<caption>``: what the rows are and which file they come from.
    frame
        The values; the index is shown as the first column(s) unless it is
        a default RangeIndex.
    note
        Optional line under the table (e.g. rows left out).
    """

    id: str
    caption: str
    frame: pd.DataFrame
    note: str = ""

    @property
    def header(self) -> list[str]:
        """Column labels, index names first when the index is shown."""
        cols = [str(c) for c in self.frame.columns]
        if self.show_index:
            names = [str(n) if n is not None else "" for n in self.frame.index.names]
            return names + cols
        return cols

    @property
    def show_index(self) -> bool:
        """Whether the index carries information (not a default 0..n-1 range)."""
        idx = self.frame.index
        return not (
            isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1 and idx.name is None
        )

    @property
    def rows(self) -> list[list[tuple[str, bool]]]:
        """Formatted cells, each ``(text, is_number)``, index cells first."""
        out = []
        for key, row in zip(self.frame.index, self.frame.itertuples(index=False), strict=True):
            cells: list[tuple[str, bool]] = []
            if self.show_index:
                keys = key if isinstance(key, tuple) else (key,)
                cells += [(format_value(k), False) for k in keys]
            cells += [(format_value(v), _is_number(v)) for v in row]
            out.append(cells)
        return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


@dataclass(frozen=True)
class Note:
    """One line of text (e.g. why a section is empty)."""

    text: str


@dataclass(frozen=True)
class Preformatted:
    """Verbatim text (the configuration as YAML)."""

    title: str
    text: str


Block = Figure | Table | Note | Preformatted


@dataclass
class Section:
    """A titled part of the report.

    Attributes
    ----------
    id
        HTML id, used by the table of contents.
    title
        Heading.
    intro
        One paragraph under the heading.
    blocks
        Figures, tables, notes, in order.
    """

    id: str
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block | None) -> None:
        """Append a block (``None`` is ignored, for optional figures)."""
        if block is not None:
            self.blocks.append(block)

    @property
    def tables(self) -> list[Table]:
        """The tables of the section."""
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def figures(self) -> list[Figure]:
        """The figures of the section."""
        return [b for b in self.blocks if isinstance(b, Figure)]


def figure_png(fig: MplFigure, *, dpi: int = 100) -> bytes:
    """Encode a matplotlib figure as PNG (Agg, no software tag: same input, same bytes).

    Parameters
    ----------
    fig
        A figure built with :class:`matplotlib.figure.Figure` (no pyplot state).
    dpi
        Resolution.

    Returns
    -------
    bytes
        The PNG file.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def make_figure(fig: MplFigure, title: str, caption: str = "", *, dpi: int = 100) -> Figure:
    """Encode ``fig`` and wrap it as a :class:`Figure` block."""
    return Figure(title=title, png=figure_png(fig, dpi=dpi), caption=caption)
