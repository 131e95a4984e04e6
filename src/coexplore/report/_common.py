"""Helpers shared by the section builders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .blocks import Figure, Note, Section, Table, make_figure
from .context import ReportContext


class SectionInputs:
    """Looks up a section's files under the results folder and remembers the
    absent ones, so the section can say in one line what it lacks."""

    def __init__(self, ctx: ReportContext) -> None:
        self.ctx = ctx
        self.missing: list[str] = []

    def get(self, *parts: str) -> Path | None:
        """The file if it exists, else ``None`` (recorded as missing)."""
        path = self.ctx.path(*parts)
        if path.exists():
            return path
        self.missing.append("/".join(parts))
        return None

    def glob(self, pattern: str) -> list[Path]:
        """Files matching ``pattern`` (sorted); none recorded as missing."""
        found = sorted(p for p in self.ctx.results.glob(pattern) if not p.name.startswith("."))
        if not found:
            self.missing.append(pattern)
        return found

    def external(self, path: Path | None, label: str) -> Path | None:
        """A file outside the results folder (ground truth), tracked the same way."""
        if path is not None and Path(path).exists():
            return Path(path)
        self.missing.append(label)
        return None


def finish(section: Section, inputs: SectionInputs, absent: str) -> Section:
    """Close a section: one line naming the absent inputs.

    Parameters
    ----------
    section
        The section built so far.
    inputs
        Its input tracker.
    absent
        What an empty section says (e.g. "No deep-model results in this run").

    Returns
    -------
    Section
        The same section.
    """
    if inputs.missing:
        names = ", ".join(inputs.missing)
        if not section.blocks:
            section.add(Note(f"{absent}: {names} not found."))
        else:
            section.add(Note(f"Not produced by this run: {names}."))
    return section


def limit_rows(frame: pd.DataFrame, n: int) -> tuple[pd.DataFrame, str]:
    """The first ``n`` rows and a note saying how many were left out."""
    if len(frame) <= n:
        return frame, ""
    return frame.head(n), f"First {n} of {len(frame)} rows; the CSV file holds all of them."


def table(
    ctx: ReportContext, id: str, caption: str, frame: pd.DataFrame, *, long: bool = False
) -> Table:
    """A table block; ``long`` tables are cut to ``options.max_table_rows``."""
    note = ""
    if long:
        frame, note = limit_rows(frame, ctx.options.max_table_rows)
    return Table(id=id, caption=caption, frame=frame, note=note)


def figure(ctx: ReportContext, fig, title: str, caption: str = "") -> Figure:
    """Encode a matplotlib figure at the report's resolution."""
    return make_figure(fig, title, caption, dpi=ctx.options.figure_dpi)
