"""The per-area HTML report: sections built from the run's files, rendered
with Jinja2 into one self-contained page, and the index of all areas."""

from .blocks import Figure, Note, Preformatted, Section, Table
from .context import ReportContext, ReportOptions
from .render import (
    SECTIONS,
    build_sections,
    render_html,
    render_index,
    render_report,
    write_figures,
)

__all__ = [
    "SECTIONS",
    "Figure",
    "Note",
    "Preformatted",
    "ReportContext",
    "ReportOptions",
    "Section",
    "Table",
    "build_sections",
    "render_html",
    "render_index",
    "render_report",
    "write_figures",
]
