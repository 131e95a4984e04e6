"""Parsed settings of a synthetic study area: one area's config block, with
the schema defaults filled in and checked for what synthesis needs."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from pyproj import CRS, Transformer

from ..errors import ConfigError
from ..grid import Grid
from ..sensors import SOURCES

# Defaults of the synth block (mirrors workflow/schemas/config.schema.yaml, so a
# config that did not go through the schema still works).
LANDSAT_DEFAULTS: dict[str, float | int] = {
    "revisit_days": 16,
    "wrs_path": 123,
    "wrs_row": 32,
    "margin_m": 600.0,
    "distortion_px": 1.5,
    "n_gcps": 12,
    "gcp_noise_px": 0.15,
    "cloud_probability": 0.35,
}
SENTINEL1_DEFAULTS: dict[str, object] = {
    "start": "2019-01-01",
    "end": "2022-12-31",
    "revisit_days": 12,
    "looks": 4.0,
}
DRONE_DEFAULTS: dict[str, object] = {
    "dates": ["2023-03-20", "2023-06-20", "2023-09-20"],
    "resolution": 0.1,
    "size_m": 300.0,
}
METEO_DEFAULTS: dict[str, float | int] = {
    "n_stations": 5,
    "gap_fraction": 0.05,
    "outlier_fraction": 0.005,
}

#: Sentinel-1 radar images cover the study area plus this margin (metres).
SENTINEL1_MARGIN_M = 400.0
#: Smallest study area side the scenery is laid out for (metres).
MIN_EXTENT_M = 500.0


@dataclass(frozen=True)
class LandsatSettings:
    """``synth.landsat8``: revisit, WRS path/row, scene margin, geometry and cloud knobs."""

    revisit_days: int
    wrs_path: int
    wrs_row: int
    margin_m: float
    distortion_px: float
    n_gcps: int
    gcp_noise_px: float
    cloud_probability: float


@dataclass(frozen=True)
class Sentinel1Settings:
    """``synth.sentinel1``: acquisition window, revisit and number of looks."""

    start: dt.date
    end: dt.date
    revisit_days: int
    looks: float


@dataclass(frozen=True)
class DroneSettings:
    """``synth.drone``: flight dates, pixel size and square footprint edge (metres)."""

    dates: tuple[dt.date, ...]
    resolution: float
    size_m: float


@dataclass(frozen=True)
class MeteoSettings:
    """``synth.meteo``: number of stations and the defect rates of their records."""

    n_stations: int
    gap_fraction: float
    outlier_fraction: float


@dataclass(frozen=True)
class SynthSettings:
    """One study area's config, parsed and checked for synthesis.

    Attributes
    ----------
    area_id
        Area id (used only in messages and metadata).
    seed
        Seed of every random stream.
    grid
        The common 10 m grid.
    start, end
        Study period (inclusive).
    sources
        Sources to synthesise.
    landsat8, sentinel1, drone, meteo
        Per-source settings.
    """

    area_id: str
    seed: int
    grid: Grid
    start: dt.date
    end: dt.date
    sources: tuple[str, ...]
    landsat8: LandsatSettings
    sentinel1: Sentinel1Settings
    drone: DroneSettings
    meteo: MeteoSettings
    centre_lonlat: tuple[float, float] = field(default=(0.0, 0.0))

    @property
    def years(self) -> tuple[int, ...]:
        """Calendar years of the study period."""
        return tuple(range(self.start.year, self.end.year + 1))

    @property
    def utm_zone(self) -> int | None:
        """UTM zone number of the grid CRS (EPSG:326xx / 327xx), else None."""
        code = CRS.from_user_input(self.grid.crs).to_epsg() or 0
        if 32601 <= code <= 32660 or 32701 <= code <= 32760:
            return code % 100
        return None


def _date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{what} = {value!r} is not a date; write it as YYYY-MM-DD") from exc


def _block(area: Mapping, name: str, defaults: Mapping[str, object]) -> dict[str, object]:
    synth = area.get("synth") or {}
    if not isinstance(synth, Mapping):
        raise ConfigError(f"synth = {synth!r} must be a mapping of per-source settings")
    given = synth.get(name) or {}
    if not isinstance(given, Mapping):
        raise ConfigError(f"synth.{name} = {given!r} must be a mapping of settings")
    return {**defaults, **given}


def _positive(
    value: object, what: str, *, integer: bool = False, allow_zero: bool = False
) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} = {value!r} is not a number") from exc
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{what} = {value!r} must be {bound}")
    if integer and number != int(number):
        raise ConfigError(f"{what} = {value!r} must be a whole number")
    return number


def _fraction(value: object, what: str) -> float:
    number = _positive(value, what, allow_zero=True)
    if number > 1:
        raise ConfigError(f"{what} = {value!r} must lie in [0, 1]")
    return number


def parse_area(area: Mapping) -> SynthSettings:
    """Parse and check one study area's config for synthesis.

    Parameters
    ----------
    area
        The area block (``grid``, ``time``, ``sources``, ``seed``, ``synth``);
        missing ``synth`` keys take the schema defaults.

    Returns
    -------
    SynthSettings

    Raises
    ------
    ConfigError
        On a missing block, a non-metric or non-UTM CRS (Landsat needs a UTM
        zone), an area smaller than 500 m, a reversed period, a non-positive
        revisit, a drone date outside the period, or a Sentinel-1 window
        outside the period.
    """
    for key in ("grid", "time"):
        if key not in area:
            raise ConfigError(f"study area {area.get('id', '?')!r} has no {key!r} block; add it")
    grid = Grid.from_config(area["grid"])
    crs = CRS.from_user_input(grid.crs)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise ConfigError(
            f"grid.crs = {area['grid']['crs']!r} is not a projected CRS in metres; "
            "use a UTM zone such as EPSG:32650"
        )
    left, bottom, right, top = grid.bounds
    if min(right - left, top - bottom) < MIN_EXTENT_M:
        raise ConfigError(
            f"grid.extent {list(area['grid']['extent'])} is smaller than {MIN_EXTENT_M:.0f} m "
            "on a side; the synthetic scenery needs room for a mine, a village and a lake"
        )
    start = _date(area["time"].get("start"), "time.start")
    end = _date(area["time"].get("end"), "time.end")
    if end < start:
        raise ConfigError(f"time.end {end} is before time.start {start}; swap them")
    sources = tuple(area.get("sources") or SOURCES)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ConfigError(f"sources {unknown} are unknown; use some of {list(SOURCES)}")
    seed = area.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed = {seed!r} must be a non-negative integer")

    ls = _block(area, "landsat8", LANDSAT_DEFAULTS)
    landsat = LandsatSettings(
        revisit_days=int(
            _positive(ls["revisit_days"], "synth.landsat8.revisit_days", integer=True)
        ),
        wrs_path=int(_positive(ls["wrs_path"], "synth.landsat8.wrs_path", integer=True)),
        wrs_row=int(_positive(ls["wrs_row"], "synth.landsat8.wrs_row", integer=True)),
        margin_m=_positive(ls["margin_m"], "synth.landsat8.margin_m", allow_zero=True),
        distortion_px=_positive(
            ls["distortion_px"], "synth.landsat8.distortion_px", allow_zero=True
        ),
        n_gcps=int(_positive(ls["n_gcps"], "synth.landsat8.n_gcps", integer=True)),
        gcp_noise_px=_positive(ls["gcp_noise_px"], "synth.landsat8.gcp_noise_px", allow_zero=True),
        cloud_probability=_fraction(ls["cloud_probability"], "synth.landsat8.cloud_probability"),
    )
    if landsat.n_gcps < 3:
        raise ConfigError(
            f"synth.landsat8.n_gcps = {landsat.n_gcps} is too few for an affine fit; use >= 3"
        )

    s1 = _block(area, "sentinel1", SENTINEL1_DEFAULTS)
    sentinel1 = Sentinel1Settings(
        start=_date(s1["start"], "synth.sentinel1.start"),
        end=_date(s1["end"], "synth.sentinel1.end"),
        revisit_days=int(
            _positive(s1["revisit_days"], "synth.sentinel1.revisit_days", integer=True)
        ),
        looks=_positive(s1["looks"], "synth.sentinel1.looks"),
    )

    dr = _block(area, "drone", DRONE_DEFAULTS)
    dates = tuple(_date(d, "synth.drone.dates[]") for d in (dr["dates"] or []))
    if len(set(dates)) != len(dates):
        raise ConfigError(
            f"synth.drone.dates {[str(d) for d in dates]} repeat a date; list each once"
        )
    drone = DroneSettings(
        dates=tuple(sorted(dates)),
        resolution=_positive(dr["resolution"], "synth.drone.resolution"),
        size_m=_positive(dr["size_m"], "synth.drone.size_m"),
    )

    me = _block(area, "meteo", METEO_DEFAULTS)
    meteo = MeteoSettings(
        n_stations=int(_positive(me["n_stations"], "synth.meteo.n_stations", integer=True)),
        gap_fraction=_fraction(me["gap_fraction"], "synth.meteo.gap_fraction"),
        outlier_fraction=_fraction(me["outlier_fraction"], "synth.meteo.outlier_fraction"),
    )

    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform((left + right) / 2, (bottom + top) / 2)
    settings = SynthSettings(
        area_id=str(area.get("id", "area")),
        seed=seed,
        grid=grid,
        start=start,
        end=end,
        sources=sources,
        landsat8=landsat,
        sentinel1=sentinel1,
        drone=drone,
        meteo=meteo,
        centre_lonlat=(float(lon), float(lat)),
    )
    if "landsat8" in sources and settings.utm_zone is None:
        raise ConfigError(
            f"grid.crs = {area['grid']['crs']!r} is not a WGS 84 UTM zone; Landsat 8 products "
            "are delivered in UTM, so use EPSG:326xx (north) or EPSG:327xx (south)"
        )
    if "drone" in sources:
        outside = [str(d) for d in drone.dates if not start <= d <= end]
        if outside:
            raise ConfigError(
                f"synth.drone.dates {outside} lie outside the study period {start}..{end}; "
                "move the flights into the period"
            )
        if drone.size_m > min(right - left, top - bottom):
            raise ConfigError(
                f"synth.drone.size_m = {drone.size_m} exceeds the study area side; use a smaller square"
            )
    if "sentinel1" in sources:
        if sentinel1.end < sentinel1.start:
            raise ConfigError(
                f"synth.sentinel1.end {sentinel1.end} is before synth.sentinel1.start "
                f"{sentinel1.start}; swap them"
            )
        if sentinel1.end < start or sentinel1.start > end:
            raise ConfigError(
                f"synth.sentinel1 window {sentinel1.start}..{sentinel1.end} does not overlap the "
                f"study period {start}..{end}; move it into the period"
            )
    return settings
