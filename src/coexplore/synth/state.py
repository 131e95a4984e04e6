"""The hidden land-surface state: static fields, event years and annual land use.

The state lives on an *extended* 10 m grid (the study area plus the widest
sensor margin) so that sensors looking past the area edge still see land.
Static fields (terrain, geology, ore and alteration, per-pixel variability)
are rasters; the dynamics are encoded as event years per pixel (when it was
built, mined, reclaimed) plus the basins' water potential, so the land use
of any year and the water of any day follow without storing time series:

``landuse(Y)``: vegetation; natural bare patches; ``built_year - 1 <= Y <
built_year`` construction site (bare), then built-up; the paved road
built-up; the haul road bare; ``mine_year - 1`` pre-stripped (bare), then
mining; ``reclaim_year`` onwards reclaimed; water where the river runs or the
basin is wet in more than half of the year's months.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..errors import ConfigError
from ..grid import Grid
from ..sensors import LandUse
from .climate import Climate, generate_climate
from .fields import distance_to_polyline, ellipse_radius, gaussian_field, signed_side
from .scenery import RIVER_HALF_WIDTH_M, Excavation, Scenery, build_scenery
from .settings import SENTINEL1_MARGIN_M, SynthSettings, parse_area
from .streams import rng_for

VEGETATION, WATER, BUILT_UP, BARE_LAND, MINING, RECLAIMED = (
    next(k for k, v in LandUse.codes.items() if v == name)
    for name in ("vegetation", "water", "built_up", "bare_land", "mining", "reclaimed")
)
GRANITE, SANDSTONE, LIMESTONE, SCHIST, ALLUVIUM = 1, 2, 3, 4, 5
#: share of the study area that is naturally bare (outcrops, badlands)
BARE_SHARE = 0.13
NEVER = np.float32(np.inf)


@dataclass(frozen=True, eq=False)
class LandState:
    """The hidden state of one synthetic study area.

    All rasters are (rows, cols) on :attr:`ext`, the 10 m grid of the study
    area extended by :attr:`margin_m` on every side; :attr:`window` selects
    the study area.

    Attributes
    ----------
    settings
        Parsed area settings.
    scenery
        Feature layout.
    climate
        Daily regional weather.
    grid, ext
        The study-area grid and the extended grid.
    margin_m
        Extension of :attr:`ext` beyond :attr:`grid` on each side (metres).
    elevation, slope, aspect
        Pre-mining terrain (metres; radians; downslope azimuth clockwise from north, radians).
    lithology, fault
        Geology (codes of ``sensors.Static.lithology``; fault trace).
    ore, alteration
        Ore zone mask; alteration intensity 0..1 (1 over the ore, decaying outwards).
    wetness
        Topographic wetness 0..1.
    water_potential
        Depth (metres) of basin water at the reference level (negative: above it).
    river
        Permanent river channel.
    veg_density
        Peak green cover of natural vegetation 0..1.
    bare_natural
        Naturally bare patches.
    brightness
        Within-class multiplicative reflectance factor (spatially correlated).
    speckle
        Static fine-scale reflectance variation (relative).
    roughness
        Surface roughness 0..1 (radar).
    garden
        Green share of built-up pixels.
    built_year, mine_year, reclaim_year
        First year a pixel is built-up, mining, reclaimed (inf: never).
    paved_road, haul_road
        Road masks.
    """

    settings: SynthSettings
    scenery: Scenery
    climate: Climate
    grid: Grid
    ext: Grid
    margin_m: float
    elevation: np.ndarray
    slope: np.ndarray
    aspect: np.ndarray
    lithology: np.ndarray
    fault: np.ndarray
    ore: np.ndarray
    alteration: np.ndarray
    wetness: np.ndarray
    water_potential: np.ndarray
    river: np.ndarray
    veg_density: np.ndarray
    bare_natural: np.ndarray
    brightness: np.ndarray
    speckle: np.ndarray
    roughness: np.ndarray
    garden: np.ndarray
    built_year: np.ndarray
    mine_year: np.ndarray
    reclaim_year: np.ndarray
    paved_road: np.ndarray
    haul_road: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def seed(self) -> int:
        """The study area seed."""
        return self.settings.seed

    @property
    def years(self) -> tuple[int, ...]:
        """Study years."""
        return self.settings.years

    @property
    def window(self) -> tuple[slice, slice]:
        """Row and column slices of the study area inside :attr:`ext`."""
        off = int(round(self.margin_m / self.grid.resolution))
        return (slice(off, off + self.grid.height), slice(off, off + self.grid.width))

    def crop(self, array: np.ndarray) -> np.ndarray:
        """The study-area part of an extended-grid array (last two axes)."""
        rows, cols = self.window
        return array[..., rows, cols]

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre map coordinates (x, y) of :attr:`ext` as 2-D arrays."""
        if "coords" not in self._cache:
            self._cache["coords"] = np.meshgrid(self.ext.x_coords(), self.ext.y_coords())
        return self._cache["coords"]

    def wet_months(self, year: int) -> tuple[np.ndarray, int]:
        """Months of ``year`` in which each basin pixel holds water, and the months counted."""
        levels = self.climate.monthly_water_level(year)
        levels = levels[np.isfinite(levels)]
        count = np.zeros(self.ext.shape, dtype=np.int16)
        for level in levels:
            count += (self.water_potential + level > 0).astype(np.int16)
        return count, len(levels)

    def landuse(self, year: int, *, extended: bool = False) -> np.ndarray:
        """Land-use classes (``sensors.LandUse`` codes) of ``year``.

        Parameters
        ----------
        year
            Calendar year (any; the dynamics extrapolate outside the period).
        extended
            Return the extended grid instead of the study area.

        Returns
        -------
        numpy.ndarray
            uint8 class codes 1..6.
        """
        key = ("landuse", year)
        if key not in self._cache:
            y = np.float32(year)
            cls = np.full(self.ext.shape, VEGETATION, dtype=np.uint8)
            cls[self.bare_natural] = BARE_LAND
            cls[(self.built_year - 1 <= y) & (y < self.built_year)] = BARE_LAND
            cls[y >= self.built_year] = BUILT_UP
            cls[self.paved_road] = BUILT_UP
            if year >= self.scenery.main_pit.opened:
                cls[self.haul_road] = BARE_LAND
            cls[(self.mine_year - 1 <= y) & (y < self.mine_year)] = BARE_LAND
            cls[y >= self.mine_year] = MINING
            cls[y >= self.reclaim_year] = RECLAIMED
            wet, months = self.wet_months(year)
            water = self.river | (2 * wet > months) if months else self.river.copy()
            cls[water] = WATER
            self._cache[key] = cls
        cls = self._cache[key]
        return (cls if extended else self.crop(cls)).copy()

    def ore_zone(self) -> np.ndarray:
        """The ore zone on the study-area grid (uint8 0/1)."""
        return self.crop(self.ore).astype(np.uint8)


def extended_margin(settings: SynthSettings) -> float:
    """Margin of the extended grid around the study area.

    Parameters
    ----------
    settings
        Parsed area settings.

    Returns
    -------
    float
        The widest sensor margin (Landsat ``margin_m``, Sentinel-1 400 m)
        plus 200 m, rounded up to 30 m steps (metres).
    """
    widest = max(settings.landsat8.margin_m, SENTINEL1_MARGIN_M)
    return float(math.ceil((widest + 200.0) / 30.0) * 30.0)


def _excavation_years(
    x: np.ndarray, y: np.ndarray, exc: Excavation, warp: np.ndarray, *, reclaim_lag: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Year each pixel is first excavated (area grows linearly in time) and reclaimed."""
    r = ellipse_radius(x, y, exc.centre, exc.semi_axes, exc.angle_deg) / (1.0 + 0.25 * warp)
    n_years = exc.full - exc.opened + 1
    start = np.maximum(exc.opened, exc.opened - 1 + np.ceil(r**2 * n_years))
    start = np.where(r <= 1.0, start, np.inf).astype(np.float32)
    if exc.reclaim == "all":
        eligible = np.ones(r.shape, dtype=bool)
    elif exc.reclaim == "back":
        ang = np.radians(exc.back_deg)
        dx, dy = x - exc.centre[0], y - exc.centre[1]
        cos_back = (dx * np.cos(ang) + dy * np.sin(ang)) / np.maximum(np.hypot(dx, dy), 1e-6)
        eligible = (r > 0.35) & (cos_back > 0.0)
    else:
        eligible = np.zeros(r.shape, dtype=bool)
    reclaim = np.where(eligible & np.isfinite(start), start + reclaim_lag, np.inf)
    return start, reclaim.astype(np.float32)


def generate_state(area: Mapping) -> LandState:
    """Generate the hidden land-surface state of a study area.

    Parameters
    ----------
    area
        One study area's config block (``seed``, ``grid``, ``time``, ``synth``...).

    Returns
    -------
    LandState
        Deterministic in the config: the same seed gives identical arrays.

    Raises
    ------
    ConfigError
        If the config is invalid.

    Examples
    --------
    >>> area = {"seed": 3, "grid": {"crs": "EPSG:32650", "resolution": 10,
    ...         "extent": [500000, 4400000, 501000, 4401000]},
    ...         "time": {"start": "2021-01-01", "end": "2021-12-31"}, "sources": ["meteo"]}
    >>> state = generate_state(area)
    >>> state.landuse(2021).shape
    (100, 100)
    """
    settings = parse_area(area)
    return state_from_settings(settings)


def state_from_settings(settings: SynthSettings) -> LandState:
    """:func:`generate_state` for already parsed settings.

    Parameters
    ----------
    settings
        Parsed area settings (:func:`coexplore.synth.plan.parse_area`).

    Returns
    -------
    LandState
    """
    scenery = build_scenery(settings)
    climate = generate_climate(
        settings.seed, settings.start, settings.end, latitude=settings.centre_lonlat[1]
    )
    res = settings.grid.resolution
    margin = extended_margin(settings)
    left, bottom, right, top = settings.grid.bounds
    ext = Grid.from_bounds(
        settings.grid.crs, (left - margin, bottom - margin, right + margin, top + margin), res
    )
    shape = ext.shape
    x, y = np.meshgrid(ext.x_coords(), ext.y_coords())
    rng = rng_for(settings.seed, "state")
    s = scenery.scale

    def field_px(sigma_m: float) -> np.ndarray:
        return gaussian_field(rng, shape, sigma_m / res)

    # terrain
    elevation = scenery.elevation(x, y).astype(np.float32)
    dz_dy_rows, dz_dx = np.gradient(elevation.astype(np.float64), res)
    dz_dy = -dz_dy_rows  # rows run south
    slope = np.arctan(np.hypot(dz_dx, dz_dy)).astype(np.float32)
    aspect = (np.arctan2(-dz_dx, -dz_dy) % (2 * np.pi)).astype(np.float32)
    dv = scenery.valley_distance(x, y)
    low = (elevation - np.percentile(elevation, 5)) / max(float(np.ptp(elevation)), 1.0)
    wetness = np.clip(
        0.65 * np.exp(-((dv / (1.6 * scenery.valley_half_width)) ** 2)) + 0.35 * (1 - low), 0, 1
    ).astype(np.float32)

    # geology
    ox, oy = scenery.ore_centre
    b = np.radians(scenery.bedding_angle_deg)
    side = np.sign(signed_side(x, y, scenery.ore_centre, scenery.fault_angle_deg))
    strat = (
        (x - ox) * np.cos(b)
        + (y - oy) * np.sin(b)
        + 200.0 * s * field_px(400.0 * s)
        + scenery.fault_throw * side
    )
    units = np.array([SANDSTONE, LIMESTONE, SCHIST], dtype=np.uint8)
    lithology = units[np.floor(strat / scenery.bedding_width).astype(np.int64) % 3]
    rg = np.hypot(x - scenery.granite_centre[0], y - scenery.granite_centre[1])
    # the contact wanders, except near the ore body, which sits on it
    d_ore = np.hypot(x - ox, y - oy)
    pin = 1.0 - np.exp(-((d_ore / (600.0 * s)) ** 2))
    rg = rg / scenery.granite_radius / (1.0 + 0.12 * pin * field_px(300.0 * s))
    lithology[rg < 1.0] = GRANITE
    alluvial = dv < scenery.valley_half_width * (1.0 + 0.2 * field_px(150.0 * s))
    lithology[alluvial] = ALLUVIUM
    fault = np.zeros(shape, dtype=bool)
    for line in scenery.faults:
        fault |= distance_to_polyline(x, y, line) < 0.71 * res

    # ore body and alteration halo
    r_ore = ellipse_radius(x, y, scenery.ore_centre, scenery.ore_semi_axes, scenery.fault_angle_deg)
    ore = r_ore / (1.0 + 0.2 * field_px(50.0)) < 1.0
    dist_out = ndimage.distance_transform_edt(~ore) * res
    alteration = np.exp(-dist_out / scenery.halo_m) * (0.8 + 0.2 * np.tanh(field_px(40.0)))
    alteration = np.where(alteration < 0.05, 0.0, np.clip(alteration, 0, 1)).astype(np.float32)
    alteration[ore] = 1.0

    # water basins and river
    potential = np.full(shape, -10.0)
    for basin in (scenery.lake, *scenery.ponds):
        r = ellipse_radius(x, y, basin.centre, basin.semi_axes, basin.angle_deg)
        r = r / (1.0 + 0.12 * field_px(0.5 * min(basin.semi_axes)))
        potential = np.maximum(potential, basin.depth_m * (1.0 - r**2))
    river = dv < RIVER_HALF_WIDTH_M

    # dynamics: village, excavations, roads
    v_r = ellipse_radius(
        x, y, scenery.village_centre, scenery.village_semi_axes, scenery.village_angle_deg
    ) / (1.0 + 0.3 * field_px(80.0 * s))
    n_v = scenery.village_full - scenery.village_founded + 1
    built_year = np.where(
        v_r <= 1.0, scenery.village_founded - 1 + np.ceil(v_r**2 * n_v), np.inf
    ).astype(np.float32)
    mine_year = np.full(shape, np.inf, dtype=np.float32)
    reclaim_year = np.full(shape, np.inf, dtype=np.float32)
    lag = (3.0 + np.round(1.0 + np.tanh(field_px(60.0)))).astype(np.float32)
    for exc in scenery.excavations:
        warp = field_px(0.25 * min(exc.semi_axes))
        start, reclaim = _excavation_years(x, y, exc, warp, reclaim_lag=lag)
        first_time = start < mine_year
        mine_year = np.minimum(mine_year, start)
        reclaim_year = np.where(first_time, reclaim, reclaim_year)
    paved_road = distance_to_polyline(x, y, scenery.paved_road) < 0.71 * res
    haul_road = distance_to_polyline(x, y, scenery.haul_road) < 0.71 * res
    haul_road &= ~np.isfinite(mine_year)

    # natural bare patches: ridges, steep slopes, limestone and granite outcrops, altered ground
    elev_n = (elevation - elevation.mean()) / max(float(elevation.std()), 1.0)
    score = (
        0.9 * field_px(120.0)
        + 0.5 * np.clip(slope / 0.25, 0, 2)
        + 0.35 * elev_n
        + 1.1 * alteration
        + 0.4 * (lithology == LIMESTONE)
        + 0.2 * (lithology == GRANITE)
        - 0.8 * (lithology == ALLUVIUM)
        + 0.15 * field_px(15.0)
    )
    rows, cols = _window(settings.grid, margin)
    threshold = np.quantile(score[rows, cols], 1.0 - BARE_SHARE)
    bare_natural = (score > threshold) & (potential < -0.8) & ~river

    veg_density = np.clip(
        0.72
        + 0.15 * field_px(80.0)
        + 0.12 * wetness
        - 0.3 * alteration
        - 0.1 * (score > threshold - 0.4),
        0.2,
        1.0,
    ).astype(np.float32)
    brightness = np.exp(0.10 * field_px(30.0) + 0.05 * field_px(8.0)).astype(np.float32)
    speckle = (0.03 * rng.standard_normal(shape)).astype(np.float32)
    roughness = (0.5 + 0.5 * np.tanh(field_px(20.0))).astype(np.float32)
    garden = np.clip(0.2 + 0.1 * field_px(20.0), 0.03, 0.45).astype(np.float32)

    return LandState(
        settings=settings,
        scenery=scenery,
        climate=climate,
        grid=settings.grid,
        ext=ext,
        margin_m=margin,
        elevation=elevation,
        slope=slope,
        aspect=aspect,
        lithology=lithology,
        fault=fault,
        ore=ore,
        alteration=alteration,
        wetness=wetness,
        water_potential=potential.astype(np.float32),
        river=river,
        veg_density=veg_density,
        bare_natural=bare_natural,
        brightness=brightness,
        speckle=speckle,
        roughness=roughness,
        garden=garden,
        built_year=built_year,
        mine_year=mine_year,
        reclaim_year=reclaim_year,
        paved_road=paved_road,
        haul_road=haul_road,
    )


def _window(grid: Grid, margin: float) -> tuple[slice, slice]:
    off = int(round(margin / grid.resolution))
    return slice(off, off + grid.height), slice(off, off + grid.width)


def date_of(value: dt.date | str | np.datetime64) -> dt.date:
    """A calendar date from a date, an ISO string or a numpy/pandas datetime.

    Parameters
    ----------
    value
        ``datetime.date``/``datetime``/``pandas.Timestamp``, ``numpy.datetime64``
        or a string starting with ``YYYY-MM-DD``.

    Returns
    -------
    datetime.date

    Raises
    ------
    ConfigError
        If a string is not an ISO date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return dt.date.fromisoformat(str(value.astype("datetime64[D]")))
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ConfigError(f"date {value!r} is not an ISO date; write it as YYYY-MM-DD") from exc
