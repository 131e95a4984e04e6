"""Provenance of a run: the configuration, package versions, the git commit
and per-rule runtimes and memory from Snakemake's benchmark files."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..errors import InputError
from ._common import figure, table
from .blocks import Note, Preformatted, Section
from .context import ReportContext
from .figures import bar_figure

#: Distributions whose versions the report lists.
PACKAGES: tuple[str, ...] = (
    "coexplore",
    "numpy",
    "pandas",
    "xarray",
    "rioxarray",
    "rasterio",
    "zarr",
    "dask",
    "scipy",
    "scikit-learn",
    "scikit-image",
    "torch",
    "matplotlib",
    "snakemake",
)


def package_versions(names: Sequence[str] = PACKAGES) -> pd.DataFrame:
    """Installed versions of ``names`` (``"not installed"`` where absent) and GDAL's.

    Parameters
    ----------
    names
        Distribution names.

    Returns
    -------
    pandas.DataFrame
        Indexed by package, one column ``version``.
    """
    rows = {}
    for name in names:
        try:
            rows[name] = version(name)
        except PackageNotFoundError:
            rows[name] = "not installed"
    try:
        import rasterio

        rows["GDAL (in rasterio)"] = rasterio.__gdal_version__
    except ImportError:
        rows["GDAL (in rasterio)"] = "not installed"
    return pd.DataFrame({"version": rows}).rename_axis("package")


def git_commit(repo: str | Path) -> str:
    """``git rev-parse HEAD`` in ``repo``, or ``"unknown"`` (no git, not a checkout).

    Parameters
    ----------
    repo
        A folder inside the working tree.

    Returns
    -------
    str
        The commit hash, with ``" (uncommitted changes)"`` appended when the
        tracked files differ from it.
    """
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (uncommitted changes)" if dirty else head or "unknown"


def read_benchmarks(folder: str | Path) -> pd.DataFrame:
    """Every Snakemake benchmark file under ``folder`` as one table.

    Parameters
    ----------
    folder
        ``results/{area}/benchmarks``; a rule's file is ``<rule>.tsv`` or
        ``<rule>/<job>.tsv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``rule``, ``job`` and the benchmark columns (``s`` wall
        seconds, ``max_rss`` MB, ``cpu_time`` s, ...); one row per repeat.

    Raises
    ------
    InputError
        If a file is not a Snakemake benchmark table.
    """
    folder = Path(folder)
    frames = []
    for path in sorted(folder.rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(path, f"not a benchmark table ({exc})", "rerun its rule") from exc
        if not {"s", "max_rss"} <= set(frame.columns):
            raise InputError(
                path,
                f"lacks the columns s and max_rss (has {list(frame.columns)})",
                "it is not a Snakemake benchmark file; remove it or rerun its rule",
            )
        rel = path.relative_to(folder).with_suffix("")
        frame.insert(0, "job", "/".join(rel.parts[1:]) or "")
        frame.insert(0, "rule", rel.parts[0])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def runtime_summary(bench: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, total and longest wall time, largest max RSS, total CPU time.

    Examples
    --------
    >>> b = pd.DataFrame({"rule": ["a", "a", "b"], "job": ["x", "y", ""],
    ...                   "s": [1.0, 3.0, 2.0], "max_rss": [10.0, 30.0, 5.0],
    ...                   "cpu_time": [1.0, 2.0, 0.5]})
    >>> runtime_summary(b).loc["a"].tolist()
    [2.0, 4.0, 3.0, 30.0, 3.0]
    """
    agg: dict[str, tuple[str, str]] = {
        "jobs": ("job", "count"),
        "wall s, total": ("s", "sum"),
        "wall s, longest job": ("s", "max"),
        "max RSS (MB)": ("max_rss", "max"),
    }
    if "cpu_time" in bench:
        agg["CPU s, total"] = ("cpu_time", "sum")
    out = bench.groupby("rule").agg(**agg)
    out["jobs"] = out["jobs"].astype(float)
    return out.sort_values("wall s, total", ascending=False)


def config_yaml(config: Mapping[str, Any]) -> str:
    """The configuration as YAML (values that YAML cannot hold as strings)."""
    plain = json.loads(json.dumps(config, default=str))
    return yaml.safe_dump(plain, sort_keys=False, default_flow_style=None, width=100)


def provenance_section(ctx: ReportContext) -> Section:
    """Configuration, versions, commit and runtimes of the run.

    Parameters
    ----------
    ctx
        The report context.

    Returns
    -------
    Section

    Raises
    ------
    InputError
        If a benchmark file is malformed.
    """
    sec = Section(
        "provenance",
        "Provenance",
        "What produced these results: the configuration, the software and the code "
        "version, and what each rule cost.",
    )
    versions = package_versions()
    for name, value in ctx.versions.items():
        versions.loc[name] = str(value)
    versions.loc["git commit"] = git_commit(ctx.repo)
    sec.add(
        table(
            ctx,
            "tab-provenance-versions",
            "Package versions of the environment that rendered this report, and the "
            "git commit of the workflow.",
            versions,
        )
    )
    bench = read_benchmarks(ctx.path("benchmarks"))
    if bench.empty:
        sec.add(Note("No benchmark files (benchmarks/**/*.tsv) were found."))
    else:
        summary = runtime_summary(bench)
        sec.add(
            table(
                ctx,
                "tab-provenance-runtimes",
                "Runtime and peak memory per rule from Snakemake's benchmark files "
                "(benchmarks/**/*.tsv); max RSS is the largest of the rule's jobs.",
                summary,
            )
        )
        sec.add(
            figure(
                ctx,
                bar_figure(summary[["wall s, total"]], ylabel="wall time (s)", horizontal=True),
                "Runtime per rule",
                "Summed wall time of each rule's jobs.",
            )
        )
    sec.add(Preformatted("Configuration (YAML)", config_yaml(ctx.config)))
    return sec
