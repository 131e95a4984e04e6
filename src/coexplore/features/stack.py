"""The per-pixel feature stack of one year for land-use classification.

Feature groups (names ``source:season:feature``):

* ``landsat8``: seasonal composites (median) of the OLI bands and TIR
  brightness temperature, spectral indices (:mod:`.indices`) and tasseled cap
  components (:mod:`.tasseled_cap`) per season, and GLCM texture
  (:mod:`.texture`) of one band or of tasseled cap brightness in one season
  (summer NIR by default: canopy, pits and dumps differ most in texture then);
* ``sentinel1``: seasonal composites of VV and VH sigma0 (dB) and their
  ratio VV/VH as the dB difference ``VV - VH``;
* ``drone``: annual median of the drone bands (texture by default) where a
  flight covered the pixel in the year, NaN elsewhere: drone flights cover
  only parts of a study area, and the classifiers' pipelines impute the
  gaps (:mod:`coexplore.models.classical`);
* ``meteo``: annual mean and standard deviation of the monthly
  meteorological fields (interpolated station data);
* ``dem``: elevation, slope and aspect (Horn 1981, :mod:`.terrain`);
* ``geology`` (off by default): lithology code and fault layer.

Each feature carries ``source``, ``season`` (``spring``..``winter``,
``annual`` or ``static``) and ``group`` coordinates.

Dask-backed cubes give a lazy, dask-backed stack: composites, indices and
tasseled cap work per tile, GLCM texture and terrain per tile with a halo
(:mod:`coexplore.chunked`), so writing the stack computes it tile by tile
with the numbers of the in-memory computation (tests/unit/test_chunk_edges.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields

import dask.array
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from ..errors import ConfigError, DataError
from ..sensors import Landsat8, Meteo, Sentinel1, Static
from .indices import INDEX_FORMULAS, compute_indices
from .seasonal import SEASONS, seasonal_composites
from .tasseled_cap import BAIG2014_COEFFICIENTS, TC_BANDS, tasseled_cap
from .terrain import terrain_features
from .texture import GLCM_FEATURES, glcm_texture


@dataclass(frozen=True)
class FeatureConfig:
    """Which features :func:`build_feature_stack` computes.

    Attributes
    ----------
    sources
        Cubes to use; each must be passed.
    seasons
        Seasons composited (from :data:`coexplore.features.seasonal.SEASONS`).
    composite
        ``"median"`` or ``"mean"`` seasonal compositing.
    optical_bands
        Landsat 8 cube bands kept as features.
    indices
        Spectral indices (keys of :data:`coexplore.features.indices.INDEX_FORMULAS`).
    tasseled_cap
        Add brightness, greenness, wetness per season.
    texture_input
        Landsat 8 band, or ``"brightness"``, of which GLCM texture is computed;
        ``""`` disables texture.
    texture_season
        Season of the texture input.
    texture_window, texture_levels
        GLCM window (pixels, odd) and grey levels.
    texture_features
        GLCM features (from :data:`coexplore.features.texture.GLCM_FEATURES`).
    sar_bands
        Sentinel-1 bands kept.
    sar_ratio
        Add VV/VH as the dB difference.
    drone_bands
        Drone bands aggregated (annual median).
    meteo_variables
        Meteorological variables aggregated (annual mean and std).
    terrain
        Add elevation, slope, aspect from ``static["dem"]``.
    geology
        Add lithology and fault from ``static["geology"]``.
    """

    sources: tuple[str, ...] = ("landsat8", "sentinel1", "drone", "meteo")
    seasons: tuple[str, ...] = SEASONS
    composite: str = "median"
    optical_bands: tuple[str, ...] = (*Landsat8.reflective, "tir")
    indices: tuple[str, ...] = tuple(INDEX_FORMULAS)
    tasseled_cap: bool = True
    texture_input: str = "nir"
    texture_season: str = "summer"
    texture_window: int = 7
    texture_levels: int = 16
    texture_features: tuple[str, ...] = GLCM_FEATURES
    sar_bands: tuple[str, ...] = Sentinel1.bands
    sar_ratio: bool = True
    drone_bands: tuple[str, ...] = ("texture",)
    meteo_variables: tuple[str, ...] = tuple(Meteo.variables)
    terrain: bool = True
    geology: bool = False

    def __post_init__(self) -> None:
        bad_seasons = [s for s in (*self.seasons, self.texture_season) if s not in SEASONS]
        if bad_seasons:
            raise ConfigError(f"unknown season(s) {bad_seasons}; choose among {list(SEASONS)}")
        if self.composite not in ("median", "mean"):
            raise ConfigError(f"features.composite={self.composite!r}; use 'median' or 'mean'")
        bad_idx = [i for i in self.indices if i not in INDEX_FORMULAS]
        if bad_idx:
            raise ConfigError(
                f"unknown index(es) {bad_idx} in features.indices; choose among {sorted(INDEX_FORMULAS)}"
            )
        bad_tex = [f for f in self.texture_features if f not in GLCM_FEATURES]
        if bad_tex:
            raise ConfigError(
                f"unknown GLCM feature(s) {bad_tex}; choose among {list(GLCM_FEATURES)}"
            )
        if self.texture_window < 3 or self.texture_window % 2 == 0:
            raise ConfigError(f"features.texture_window={self.texture_window} must be odd and >= 3")
        if self.texture_levels < 2:
            raise ConfigError(f"features.texture_levels={self.texture_levels} must be >= 2")

    @classmethod
    def from_mapping(cls, cfg: Mapping | None) -> FeatureConfig:
        """Build from a config block; lists become tuples.

        Raises
        ------
        ConfigError
            On an unknown key.
        """
        if cfg is None:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(
                f"unknown feature option(s) {unknown}; valid options are {sorted(known)}"
            )
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
        return cls(**values)


@contextmanager
def quiet_nan_reductions() -> Iterator[None]:
    """Silence NumPy's warnings on all-NaN pixels (gaps, no drone flight),
    which are expected and stay NaN. Wrap the computation of a dask-backed
    stack in it too: its reductions run when it is computed."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Degrees of freedom", RuntimeWarning)
        yield


def _cube(obj: xr.DataArray | xr.Dataset, source: str) -> xr.DataArray:
    if isinstance(obj, xr.Dataset):
        if "data" not in obj:
            raise DataError(
                f"cube {source!r} has no 'data' variable; pass the cube store's Dataset"
            )
        return obj["data"]
    return obj


def _require(cube: xr.DataArray, source: str, needed: Sequence[str], purpose: str) -> None:
    have = [str(b) for b in np.asarray(cube["band"].values).tolist()]
    for band in needed:
        if band not in have:
            raise DataError(
                f"cube {source!r} has no band {band!r}, needed for {purpose}; it has {have}. "
                f"Rebuild the {source} cube with that band or change the feature config"
            )


class _Stack:
    """Collects (y, x) feature images with their name, source, season and group.

    Images stay dask arrays when the cubes are dask-backed, so the stack is
    computed (and written) tile by tile.
    """

    def __init__(self, y: xr.DataArray, x: xr.DataArray) -> None:
        self.y, self.x = y, x
        self.arrays: list[np.ndarray | dask.array.Array] = []
        self.meta: list[tuple[str, str, str, str]] = []

    def add(
        self, arr: xr.DataArray | np.ndarray, *, source: str, season: str, group: str, name: str
    ) -> None:
        values = arr.data if isinstance(arr, xr.DataArray) else arr
        if not isinstance(values, dask.array.Array):
            values = np.asarray(values)
        values = values.astype(np.float32)
        if values.shape != (self.y.size, self.x.size):
            raise DataError(
                f"feature {source}:{season}:{name} has shape {values.shape}, not the grid "
                f"{(self.y.size, self.x.size)}; put all cubes on the common grid"
            )
        self.arrays.append(values)
        self.meta.append((f"{source}:{season}:{name}", source, season, group))

    def stacked(self) -> np.ndarray | dask.array.Array:
        if any(isinstance(a, dask.array.Array) for a in self.arrays):
            return dask.array.stack([dask.array.asarray(a) for a in self.arrays])
        return np.stack(self.arrays)

    def add_bands(
        self, da: xr.DataArray, *, source: str, season: str, group: str, suffix: str = ""
    ) -> None:
        for band in np.asarray(da["band"].values).tolist():
            self.add(
                da.sel(band=band).transpose("y", "x"),
                source=source,
                season=season,
                group=group,
                name=f"{band}{suffix}",
            )


def _landsat_features(stack: _Stack, cube: xr.DataArray, cfg: FeatureConfig, year: int) -> None:
    source = "landsat8"
    needed = list(cfg.optical_bands)
    for name in cfg.indices:
        needed += list(INDEX_FORMULAS[name].bands)
    if cfg.tasseled_cap or cfg.texture_input == "brightness":
        needed += list(TC_BANDS)
    if cfg.texture_input and cfg.texture_input not in BAIG2014_COEFFICIENTS:
        needed.append(cfg.texture_input)
    needed = list(dict.fromkeys(needed))
    _require(cube, source, needed, "the land-use features")
    seasons = list(
        dict.fromkeys([*cfg.seasons, *([cfg.texture_season] if cfg.texture_input else [])])
    )
    comp = seasonal_composites(
        cube.sel(band=needed), year=year, seasons=seasons, statistic=cfg.composite, source=source
    )
    for season in cfg.seasons:
        s = comp.sel(season=season, drop=True)
        if cfg.optical_bands:
            stack.add_bands(
                s.sel(band=list(cfg.optical_bands)), source=source, season=season, group="band"
            )
        if cfg.indices:
            stack.add_bands(
                compute_indices(s, names=cfg.indices), source=source, season=season, group="index"
            )
        if cfg.tasseled_cap:
            stack.add_bands(tasseled_cap(s), source=source, season=season, group="tasseled_cap")
    if cfg.texture_input:
        s = comp.sel(season=cfg.texture_season, drop=True)
        if cfg.texture_input in BAIG2014_COEFFICIENTS:
            image = tasseled_cap(s, components=(cfg.texture_input,)).isel(band=0, drop=True)
        else:
            image = s.sel(band=cfg.texture_input, drop=True)
        tex = glcm_texture(
            image,
            window=cfg.texture_window,
            levels=cfg.texture_levels,
            features=cfg.texture_features,
        )
        stack.add_bands(
            tex.assign_coords(band=[f"{cfg.texture_input}_glcm_{f}" for f in cfg.texture_features]),
            source=source,
            season=cfg.texture_season,
            group="texture",
        )


def _year_steps(cube: xr.DataArray, year: int, source: str) -> xr.DataArray:
    times = pd.DatetimeIndex(cube["time"].values)
    sel = np.flatnonzero(times.year == year)
    if sel.size == 0:
        span = f"{times.min():%Y-%m} to {times.max():%Y-%m}" if len(times) else "no time steps"
        raise DataError(
            f"cube {source!r} has no time step in {year} (it covers {span}); "
            f"build it over {year} or choose another year"
        )
    sub = cube.isel(time=sel)
    return sub.chunk({"time": -1}) if sub.chunks is not None else sub


def build_feature_stack(
    cubes: Mapping[str, xr.Dataset | xr.DataArray],
    *,
    year: int,
    static: Mapping[str, xr.Dataset | xr.DataArray] | None = None,
    config: FeatureConfig | Mapping | None = None,
) -> xr.DataArray:
    """Build the (feature, y, x) stack of one year from the source cubes.

    Parameters
    ----------
    cubes
        Cube Datasets (variable ``data``) or DataArrays (time, band, y, x) by
        source name (``landsat8``, ``sentinel1``, ``drone``, ``meteo``), all on
        the common grid.
    year
        Year of the features (seasons as in :mod:`.seasonal`: the winter is
        December of ``year - 1`` to February).
    static
        Static layers (band, y, x) by name: ``dem`` (band ``elevation``) for
        terrain, ``geology`` (``lithology``, ``fault``) if enabled.
    config
        :class:`FeatureConfig` or its mapping.

    Returns
    -------
    xarray.DataArray
        dims (feature, y, x) float32, dask-backed (not yet computed) when any
        cube is; coords ``feature`` (``source:season:name``),
        ``source``, ``season``, ``group``, the grid's y/x and CRS; ``attrs["year"]``.

    Raises
    ------
    DataError
        A configured cube or static layer is absent, a needed band is absent from
        a cube (the message names both), or a season/year has no time step.
    ConfigError
        An invalid feature option.

    Examples
    --------
    >>> stack = build_feature_stack({"landsat8": l8}, year=2021, static={"dem": dem},
    ...                             config={"sources": ["landsat8"]})  # doctest: +SKIP
    >>> stack.sel(feature="landsat8:summer:ndvi")  # doctest: +SKIP
    """
    cfg = config if isinstance(config, FeatureConfig) else FeatureConfig.from_mapping(config)
    static = dict(static or {})
    unknown = [s for s in cfg.sources if s not in ("landsat8", "sentinel1", "drone", "meteo")]
    if unknown:
        raise ConfigError(f"unknown source(s) {unknown} in features.sources")
    missing = [s for s in cfg.sources if s not in cubes]
    if missing:
        raise DataError(
            f"cube(s) {missing} are configured in features.sources but not given "
            f"(given: {sorted(cubes)}); build them or remove them from features.sources"
        )
    if not cfg.sources:
        raise ConfigError("features.sources is empty; name at least one cube")
    arrays = {s: _cube(cubes[s], s) for s in cfg.sources}
    ref = arrays[cfg.sources[0]]
    stack = _Stack(ref["y"], ref["x"])
    with quiet_nan_reductions():
        if "landsat8" in arrays:
            _landsat_features(stack, arrays["landsat8"], cfg, year)
        if "sentinel1" in arrays:
            s1 = arrays["sentinel1"]
            needed = list(dict.fromkeys([*cfg.sar_bands, *(("vv", "vh") if cfg.sar_ratio else ())]))
            _require(s1, "sentinel1", needed, "the SAR features")
            comp = seasonal_composites(
                s1.sel(band=needed),
                year=year,
                seasons=cfg.seasons,
                statistic=cfg.composite,
                source="sentinel1",
            )
            for season in cfg.seasons:
                s = comp.sel(season=season, drop=True)
                stack.add_bands(
                    s.sel(band=list(cfg.sar_bands)), source="sentinel1", season=season, group="sar"
                )
                if cfg.sar_ratio:
                    stack.add(
                        s.sel(band="vv") - s.sel(band="vh"),
                        source="sentinel1",
                        season=season,
                        group="sar",
                        name="vv_vh_ratio_db",
                    )
        if "drone" in arrays:
            _require(arrays["drone"], "drone", cfg.drone_bands, "the drone features")
            sub = _year_steps(arrays["drone"].sel(band=list(cfg.drone_bands)), year, "drone")
            stack.add_bands(
                sub.median("time", skipna=True),
                source="drone",
                season="annual",
                group="drone",
            )
        if "meteo" in arrays:
            _require(arrays["meteo"], "meteo", cfg.meteo_variables, "the meteorological features")
            sub = _year_steps(arrays["meteo"].sel(band=list(cfg.meteo_variables)), year, "meteo")
            stack.add_bands(
                sub.mean("time"),
                source="meteo",
                season="annual",
                group="meteo",
                suffix="_mean",
            )
            stack.add_bands(
                sub.std("time"),
                source="meteo",
                season="annual",
                group="meteo",
                suffix="_std",
            )
        if cfg.terrain:
            if "dem" not in static:
                raise DataError(
                    "static layer 'dem' is not given; pass static={'dem': ...} or set features.terrain false"
                )
            dem = _cube(static["dem"], "dem")
            _require(dem, "dem", Static.dem, "the terrain features")
            terrain = terrain_features(dem.sel(band=list(Static.dem)))
            stack.add_bands(terrain, source="dem", season="static", group="terrain")
        if cfg.geology:
            if "geology" not in static:
                raise DataError(
                    "static layer 'geology' is not given; pass it or set features.geology false"
                )
            geo = _cube(static["geology"], "geology")
            _require(geo, "geology", Static.geology, "the geology features")
            stack.add_bands(
                geo.sel(band=list(Static.geology)),
                source="geology",
                season="static",
                group="geology",
            )
    if not stack.arrays:
        raise ConfigError("the feature config selects no feature; enable at least one group")
    names, sources, seasons, groups = (list(v) for v in zip(*stack.meta, strict=True))
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"feature names {dupes} occur twice; remove the duplicate config entries")
    out = xr.DataArray(
        stack.stacked(),
        dims=("feature", "y", "x"),
        coords={
            "feature": names,
            "source": ("feature", sources),
            "season": ("feature", seasons),
            "group": ("feature", groups),
            "y": ref["y"].values,
            "x": ref["x"].values,
        },
        name="features",
        attrs={"year": int(year), "drone_coverage": "NaN outside drone flights"},
    )
    crs = ref.rio.crs
    if crs is not None:
        out = out.rio.write_crs(crs)
    return out
