"""What a report is rendered from: the area's results folder, its
configuration, the ground-truth rasters and the report options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import area_years
from ..errors import ConfigError

#: Co-registration target (pixels) used when the configuration names none.
DEFAULT_COREG_TARGET_PX = 0.5


@dataclass(frozen=True)
class ReportOptions:
    """Options of the report (the ``report:`` block of the configuration).

    Attributes
    ----------
    rgb_months
        Months searched for the clearest Landsat true-colour composite.
    figure_dpi
        Resolution of the embedded figures.
    max_preview_pixels
        Longest side of a map figure; larger rasters are decimated for display.
    max_table_rows
        Rows shown of long tables (the CSV files hold all of them).
    """

    rgb_months: tuple[int, ...] = (6, 7, 8)
    figure_dpi: int = 90
    max_preview_pixels: int = 600
    max_table_rows: int = 30

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> ReportOptions:
        """Options from the ``report:`` block (missing keys take the defaults).

        Parameters
        ----------
        cfg
            The block, or ``None``.

        Returns
        -------
        ReportOptions

        Raises
        ------
        ConfigError
            On an unknown key or a value out of range.
        """
        cfg = dict(cfg or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(
                f"report: unknown key(s) {unknown}; the known keys are {sorted(known)}"
            )
        opts = cls(**{k: tuple(v) if k == "rgb_months" else v for k, v in cfg.items()})
        if not opts.rgb_months or any(not 1 <= int(m) <= 12 for m in opts.rgb_months):
            raise ConfigError(
                f"report.rgb_months = {list(opts.rgb_months)}: give one or more months 1..12"
            )
        for name, low in (("figure_dpi", 20), ("max_preview_pixels", 16), ("max_table_rows", 1)):
            value = getattr(opts, name)
            if not isinstance(value, int) or value < low:
                raise ConfigError(f"report.{name} = {value!r}: must be an integer >= {low}")
        return opts


@dataclass(frozen=True)
class ReportContext:
    """Everything a section reads.

    Attributes
    ----------
    results
        The area's results folder (``results/{area}``).
    area_id
        The area's id.
    config
        The configuration of the run, restricted to this area (shown in
        the provenance section).
    truth
        Year -> ground-truth land-use raster.
    options
        Report options.
    repo
        Folder whose git commit is reported.
    versions
        Versions known to the caller that this environment may lack
        (e.g. Snakemake's, from the workflow process).
    """

    results: Path
    area_id: str
    config: Mapping[str, Any]
    truth: Mapping[int, Path] = field(default_factory=dict)
    options: ReportOptions = field(default_factory=ReportOptions)
    repo: Path = Path(".")
    versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def area(self) -> Mapping[str, Any]:
        """The area's configuration block."""
        try:
            return self.config["areas"][self.area_id]
        except KeyError as exc:
            raise ConfigError(
                f"area {self.area_id!r} is not in the configuration's areas "
                f"({sorted(self.config.get('areas', {}))}); pass the configuration of the run"
            ) from exc

    @property
    def years(self) -> list[int]:
        """Calendar years of the study period."""
        return area_years(self.area)

    @property
    def sources(self) -> list[str]:
        """Sources of the area."""
        return list(self.area.get("sources", []))

    @property
    def coreg_target_px(self) -> float:
        """Co-registration residual target (``cube.coregistration.max_residual_px``)."""
        coreg = self.config.get("cube", {}).get("coregistration", {})
        return float(coreg.get("max_residual_px", DEFAULT_COREG_TARGET_PX))

    def path(self, *parts: str) -> Path:
        """A path under the results folder."""
        return self.results.joinpath(*parts)

    def rel(self, path: Path) -> str:
        """``path`` relative to the results folder (for captions)."""
        try:
            return str(Path(path).relative_to(self.results))
        except ValueError:
            return str(path)
