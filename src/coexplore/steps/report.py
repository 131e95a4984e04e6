"""Steps render_report and render_index: the per-area HTML report and the
index page of all areas."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import area_years
from ..report import ReportContext, ReportOptions, render_index, render_report

log = logging.getLogger(__name__)


def report_input_files(
    area_id: str,
    area: Mapping[str, Any],
    *,
    truth: Sequence[str | Path],
    extra: Sequence[str] = (),
) -> dict[str, list[str]]:
    """The files the report of one area reads, as the rule's named inputs.

    Parameters
    ----------
    area_id
        The area's id.
    area
        The area's configuration block (``sources``, ``time``).
    truth
        Ground-truth land-use rasters, one per study year.
    extra
        The area's other final targets (products, deep models, robustness)
        that the configuration produces; the report waits for and renders them.

    Returns
    -------
    dict
        Input name -> paths (for ``unpack``).

    Examples
    --------
    >>> area = {"sources": ["landsat8"], "time": {"start": "2021-01-01", "end": "2021-12-31"}}
    >>> files = report_input_files("a", area, truth=["t.tif"])
    >>> files["maps"], files["cubes"]
    (['results/a/maps/landuse_2021.tif'], ['results/a/cubes/landsat8.zarr', 'results/a/cubes/dem.zarr'])
    """
    base = f"results/{area_id}"
    srcs = list(area["sources"])
    years = area_years(dict(area))
    classical = f"{base}/models/classical"
    files = {
        "qa": [f"{base}/qa/scenes.csv"] + ([f"{base}/qa/meteo_qc.csv"] if "meteo" in srcs else []),
        "cubes": [f"{base}/cubes/{s}.zarr" for s in ("landsat8", "sentinel1") if s in srcs]
        + [f"{base}/cubes/dem.zarr"],
        "truth": [str(p) for p in truth],
        "maps": [f"{base}/maps/landuse_{y}.tif" for y in years],
        "fusion": [
            f"{base}/fusion/{n}"
            for n in ("weights.csv", "pca.csv", "mi_matrix.csv", "summary.json")
        ],
        "features": [
            f"{base}/features/{n}.csv" for n in ("ranking", "selection", "selection_vs_seed")
        ],
        "classical": [f"{classical}/{n}.csv" for n in ("metrics", "per_class", "seed_comparison")]
        + [f"{classical}/area_adjusted_{y}.csv" for y in years],
        "extra": [str(p) for p in extra],
    }
    return files


def step_render_report(
    results_dir: str | Path,
    out_html: str | Path,
    out_figures: str | Path | None,
    *,
    area_id: str,
    config: Mapping[str, Any],
    truth: Mapping[int, str | Path],
    options: Mapping[str, Any] | None = None,
    repo: str | Path = ".",
    versions: Mapping[str, str] | None = None,
) -> Path:
    """Render ``results/{area}/report/report.html`` (and its figures as PNG files).

    Parameters
    ----------
    results_dir
        The area's results folder (``results/{area}``).
    out_html
        The report file.
    out_figures
        Folder for the figures as PNG files (``snakemake --report``), or ``None``.
    area_id
        The area's id.
    config
        The run's configuration (at least this area's block; shown in the report).
    truth
        Year -> ground-truth land-use raster.
    options
        The ``report:`` block of the configuration.
    repo
        Folder whose git commit is reported.
    versions
        Versions the rule's environment may lack (Snakemake's).

    Returns
    -------
    Path
        ``out_html``.

    Raises
    ------
    ConfigError
        If ``options`` is invalid or ``config`` lacks the area.
    InputError
        If a file of the run is malformed (nothing is written).
    """
    ctx = ReportContext(
        results=Path(results_dir),
        area_id=area_id,
        config=config,
        truth={int(y): Path(p) for y, p in truth.items()},
        options=ReportOptions.from_config(options),
        repo=Path(repo),
        versions=dict(versions or {}),
    )
    sections = render_report(ctx, out_html, figures_dir=out_figures)
    log.info(
        "report %s: %d sections, %d figures, %d tables",
        out_html,
        len(sections),
        sum(len(s.figures) for s in sections),
        sum(len(s.tables) for s in sections),
    )
    return Path(out_html)


def step_render_index(
    reports: Mapping[str, str | Path], out: str | Path, *, config: Mapping[str, Any] | None = None
) -> Path:
    """Render ``results/index.html`` linking every area's report.

    Parameters
    ----------
    reports
        Area id -> report file.
    out
        The index file.
    config
        The run's configuration (period and sources per area).

    Returns
    -------
    Path
        ``out``.
    """
    return render_index(reports, out, config=config)
