"""Rendering: sections -> one self-contained HTML file (figures as base64
PNG data URIs, CSS inline, a Content-Security-Policy that forbids any network
access at view time), the figures as PNG files for ``snakemake --report``,
and the index page of all areas."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .. import __version__
from ..io.atomic import atomic_path
from .blocks import Figure, Note, Preformatted, Section, Table, slugify
from .context import ReportContext
from .provenance import provenance_section
from .sections_data import quality_section, study_area_section
from .sections_deep import deep_section, robustness_section
from .sections_models import classical_section, fusion_section
from .sections_products import products_section

log = logging.getLogger(__name__)

#: The sections of a study-area report, in order.
SECTIONS: tuple[Callable[[ReportContext], Section], ...] = (
    study_area_section,
    quality_section,
    fusion_section,
    classical_section,
    deep_section,
    robustness_section,
    products_section,
    provenance_section,
)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("coexplore.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests.update(
        figure_block=lambda b: isinstance(b, Figure),
        table_block=lambda b: isinstance(b, Table),
        note_block=lambda b: isinstance(b, Note),
        pre_block=lambda b: isinstance(b, Preformatted),
    )
    return env


def build_sections(ctx: ReportContext) -> list[Section]:
    """Build every section of :data:`SECTIONS` from the run's files.

    Parameters
    ----------
    ctx
        The report context.

    Returns
    -------
    list of Section

    Raises
    ------
    InputError
        If a file of the run exists but is malformed.
    """
    sections = []
    for builder in SECTIONS:
        section = builder(ctx)
        log.info(
            "section %s: %d figure(s), %d table(s)",
            section.id,
            len(section.figures),
            len(section.tables),
        )
        sections.append(section)
    return sections


def render_html(sections: Sequence[Section], *, title: str, subtitle: str, results: str) -> str:
    """The report page.

    Parameters
    ----------
    sections
        Built sections.
    title, subtitle
        Header lines.
    results
        How captions' relative paths are anchored (shown in the footer).

    Returns
    -------
    str
        A complete HTML document.
    """
    template = _environment().get_template("report.html.j2")
    return template.render(
        sections=sections, title=title, subtitle=subtitle, results=results, version=__version__
    )


def write_figures(sections: Sequence[Section], folder: str | Path) -> list[Path]:
    """Write every figure as ``<section>-<nn>-<title>.png`` into ``folder``, atomically.

    Parameters
    ----------
    sections
        Built sections.
    folder
        Target folder (replaced as a whole).

    Returns
    -------
    list of Path
        The written files.
    """
    names = []
    n = 0
    for section in sections:
        for fig in section.figures:
            n += 1
            names.append((f"{section.id}-{n:02d}-{slugify(fig.title)}.png", fig))
    folder = Path(folder)
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        for name, fig in names:
            (tmp / name).write_bytes(fig.png)
    return [folder / name for name, _ in names]


def render_report(
    ctx: ReportContext, out_html: str | Path, *, figures_dir: str | Path | None = None
) -> list[Section]:
    """Build the sections of one area and write the report (and its figures).

    Parameters
    ----------
    ctx
        The report context.
    out_html
        ``results/{area}/report/report.html``.
    figures_dir
        Where to write the figures as PNG files too (``None``: not written).

    Returns
    -------
    list of Section
        What was rendered.

    Raises
    ------
    InputError
        If a file of the run exists but is malformed (nothing is written).
    ConfigError
        If the configuration has no block for ``ctx.area_id``.
    """
    sections = build_sections(ctx)
    area = ctx.area
    period = f"{area['time']['start']} to {area['time']['end']}" if "time" in area else ""
    html = render_html(
        sections,
        title=f"coexplore report: {ctx.area_id}",
        subtitle=f"Study area {ctx.area_id}, {period}; sources: {', '.join(ctx.sources)}.",
        results=f"results/{ctx.area_id}",
    )
    if figures_dir is not None:
        write_figures(sections, figures_dir)
    with atomic_path(out_html) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return sections


@dataclass(frozen=True)
class IndexEntry:
    """One row of the index page.

    Attributes
    ----------
    area
        Area id.
    href
        Relative link to the area's report.
    period
        Study period.
    sources
        Sources, comma-separated.
    """

    area: str
    href: str
    period: str
    sources: str


def render_index(
    reports: Mapping[str, str | Path],
    out: str | Path,
    *,
    config: Mapping[str, Any] | None = None,
    title: str = "coexplore: study-area reports",
) -> Path:
    """Write the index page linking every area's report with relative links.

    Parameters
    ----------
    reports
        Area id -> report file.
    out
        The index file (``results/index.html``).
    config
        The run's configuration (period and sources per area), optional.
    title
        Page title.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    areas = (config or {}).get("areas", {})
    entries = []
    for area_id, report in reports.items():
        cfg = areas.get(area_id, {})
        time = cfg.get("time", {})
        href = Path(os.path.relpath(Path(report).resolve(), out.resolve().parent)).as_posix()
        entries.append(
            IndexEntry(
                area=area_id,
                href=href,
                period=f"{time['start']} to {time['end']}" if time else "",
                sources=", ".join(cfg.get("sources", [])),
            )
        )
    html = (
        _environment()
        .get_template("index.html.j2")
        .render(entries=entries, title=title, version=__version__)
    )
    with atomic_path(out) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return out
