"""Patch time-series samples for the deep models, stored as memory-mapped arrays.

A sample is a square patch of ``patch_size`` pixels centred on a labelled
pixel, seen over the ``n_steps`` monthly steps that end in December of its
reference year ``Y`` (a year of ground truth):

- ``x``: the cube's channels, ``(T, C, P, P)``;
- ``external``: ``(T, n_external)`` features per step (see
  :func:`external_features`): the meteorology at the patch centre with its
  anomaly, lag and trailing means, and a history of mining activity derived
  from the imagery only (the patch's fraction of bright bare-soil pixels,
  NDVI and BSI statistics) plus the season. No ground truth is an input.
- ``label``: the land-use class (1..6) of the centre pixel in year ``Y``;
- ``target``: the fraction of the patch that is disturbed land (classes
  ``bare_land`` and ``mining``) in year ``Y + 1``. For the last year of
  truth there is no ``Y + 1``: by default (``last_year_target="same_year"``)
  the target falls back to year ``Y`` and every sample records its target
  year, so a user can exclude those; ``"drop"`` leaves those samples out.

A patch takes the split of its centre and is only a candidate when every
pixel of it lies in that split's blocks, so no patch straddles two splits.
Classes are sampled evenly up to each split's budget. Missing values (the
cubes are gap-filled, this is a guard) are filled with the training mean;
per-channel and per-feature normalisation statistics come from the training
split only and are stored in ``meta.json``; :class:`SampleDataset` applies
them when it reads.

Files written (atomically, into a temporary folder renamed at the end)::

    out_dir/meta.json
    out_dir/{split}_x.npy         float32 (N, T, C, P, P)
    out_dir/{split}_external.npy  float32 (N, T, F)
    out_dir/{split}_label.npy     uint8   (N,)       land-use class 1..6
    out_dir/{split}_target.npy    float32 (N,)       disturbed fraction
    out_dir/{split}_position.npy  int32   (N, 4)     year, row, col, target year
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from numpy.lib.format import open_memmap
from scipy import ndimage
from torch.utils.data import Dataset

from ..errors import ConfigError, DataError, InputError
from ..io.atomic import atomic_path
from ..learn.splits import SPLIT_NAMES
from ..sensors import LandUse

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = tuple(SPLIT_NAMES[k] for k in sorted(SPLIT_NAMES))
#: land-use codes counted as disturbed land in the regression target
DISTURBED_CLASSES: tuple[int, ...] = tuple(
    code for code, name in LandUse.codes.items() if name in ("bare_land", "mining")
)
#: Landsat bands the bare-soil statistics need, by role
INDEX_BANDS: tuple[str, ...] = ("blue", "red", "nir", "swir1")
#: per-step statistics of a patch computed by :func:`patch_statistics`
PATCH_STATISTICS: tuple[str, ...] = (
    "bare_fraction",
    "ndvi_mean",
    "ndvi_std",
    "bsi_mean",
    "bsi_centre",
)
META_VERSION = 1


# --------------------------------------------------------------------------- indices


def spectral_indices(
    blue: np.ndarray, red: np.ndarray, nir: np.ndarray, swir1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """NDVI and the bare soil index (BSI) of surface reflectances.

    ``NDVI = (nir - red) / (nir + red)``;
    ``BSI = ((swir1 + red) - (nir + blue)) / ((swir1 + red) + (nir + blue))``
    (Rikimaru et al. 2002). A zero denominator gives NaN.

    Parameters
    ----------
    blue, red, nir, swir1
        Reflectance arrays of one shape.

    Returns
    -------
    tuple of numpy.ndarray
        ``(ndvi, bsi)`` as float64.

    Examples
    --------
    >>> ndvi, bsi = spectral_indices(*map(np.array, (0.1, 0.2, 0.3, 0.4)))
    >>> round(float(ndvi), 6), round(float(bsi), 6)
    (0.2, 0.2)
    """
    blue, red, nir, swir1 = (np.asarray(a, dtype=np.float64) for a in (blue, red, nir, swir1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
        bsi = ((swir1 + red) - (nir + blue)) / ((swir1 + red) + (nir + blue))
    return np.where(np.isfinite(ndvi), ndvi, np.nan), np.where(np.isfinite(bsi), bsi, np.nan)


def _window_mean(values: np.ndarray, size: int) -> np.ndarray:
    """Mean of the finite values in the ``size`` window of every pixel of the
    last two axes (the window of pixel ``c`` spans ``c - size//2`` to
    ``c - size//2 + size - 1``, like a patch); NaN where the window has none.
    Borders are mirrored (like torch's ``reflect`` padding)."""
    valid = np.isfinite(values)
    filled = np.where(valid, values, 0.0)
    axes = (values.ndim - 2, values.ndim - 1)
    total = ndimage.uniform_filter(filled, size=size, axes=axes, mode="mirror")
    count = ndimage.uniform_filter(valid.astype(np.float64), size=size, axes=axes, mode="mirror")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0.5 / size**2, total / count, np.nan)


def patch_statistics(
    bands: np.ndarray,
    *,
    patch_size: int,
    bsi_threshold: float = 0.0,
    ndvi_threshold: float = 0.2,
) -> np.ndarray:
    """Per-step statistics of the patch around every pixel (box filters).

    A pixel is *bare soil* when ``BSI > bsi_threshold`` and
    ``NDVI < ndvi_threshold``. The statistics (:data:`PATCH_STATISTICS`) are
    the patch's bare-soil fraction, NDVI mean and standard deviation, BSI
    mean, and the BSI of the centre pixel.

    Parameters
    ----------
    bands
        ``(T, 4, H, W)`` reflectance of blue, red, nir, swir1.
    patch_size
        Patch edge in pixels.
    bsi_threshold, ndvi_threshold
        Bare-soil thresholds.

    Returns
    -------
    numpy.ndarray
        ``(T, 5, H, W)`` float32.

    Raises
    ------
    DataError
        If ``bands`` is not ``(T, 4, H, W)``.
    """
    if bands.ndim != 4 or bands.shape[1] != len(INDEX_BANDS):
        raise DataError(f"bands have shape {bands.shape}; expected (T, 4, H, W) with {INDEX_BANDS}")
    ndvi, bsi = spectral_indices(*(bands[:, k] for k in range(len(INDEX_BANDS))))
    bare = ((bsi > bsi_threshold) & (ndvi < ndvi_threshold)).astype(np.float64)
    bare[np.isnan(bsi) | np.isnan(ndvi)] = np.nan
    ndvi_mean = _window_mean(ndvi, patch_size)
    ndvi_var = _window_mean(ndvi**2, patch_size) - ndvi_mean**2
    stats = np.stack(
        [
            _window_mean(bare, patch_size),
            ndvi_mean,
            np.sqrt(np.clip(ndvi_var, 0.0, None)),
            _window_mean(bsi, patch_size),
            bsi,
        ],
        axis=1,
    )
    return stats.astype(np.float32)


# --------------------------------------------------------------------------- external


def _trailing(series: np.ndarray, window: int, reducer: str) -> np.ndarray:
    """Trailing ``window`` mean or max along axis 0; the first value is
    repeated before the series start, so early steps use what exists."""
    padded = np.concatenate([np.repeat(series[:1], window - 1, axis=0), series], axis=0)
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
    return view.mean(axis=-1) if reducer == "mean" else view.max(axis=-1)


def _lag(series: np.ndarray, lag: int) -> np.ndarray:
    """``series[t - lag]`` along axis 0, the first value for ``t < lag``."""
    index = np.clip(np.arange(series.shape[0]) - lag, 0, None)
    return series[index]


def external_feature_names(variables: Sequence[str], *, n_external: int = 32) -> list[str]:
    """Names of the external features, in the order of :func:`external_features`.

    Raises
    ------
    ConfigError
        If the documented features outnumber ``n_external``.
    """
    names = [
        f"{v}_{kind}" for v in variables for kind in ("value", "anomaly", "lag1", "mean3", "mean12")
    ]
    names += [
        "bare_fraction",
        "bare_fraction_diff1",
        "bare_fraction_max12",
        "bare_fraction_diff12",
        "ndvi_mean",
        "ndvi_diff12",
        "ndvi_std",
        "bsi_mean",
        "bsi_centre",
        "bsi_diff12",
        "month_sin",
        "month_cos",
    ]
    if len(names) > n_external:
        raise ConfigError(
            f"{len(names)} external features ({len(variables)} meteo variables x 5 + 12) do not "
            f"fit n_external={n_external}; raise n_external to at least {len(names)}"
        )
    return names + [f"pad_{k}" for k in range(n_external - len(names))]


def external_features(
    meteo: np.ndarray,
    stats: np.ndarray,
    months: np.ndarray,
    *,
    variables: Sequence[str],
    n_external: int = 32,
) -> np.ndarray:
    """External feature series of ``M`` positions over the whole time axis.

    Per meteorological variable (5 each): the value at the position, its
    anomaly from the calendar-month mean over the series, the value one
    month earlier, trailing 3- and 12-month means. From the patch statistics
    (12): bare-soil fraction, its change from the previous month, its
    trailing 12-month maximum and change over 12 months (the mining-activity
    history), NDVI mean and its 12-month change, NDVI standard deviation,
    BSI mean, centre BSI and its 12-month change, and ``sin``/``cos`` of the
    month. Four variables give exactly 32 features; fewer are padded with
    zero columns named ``pad_k``. Lags before the first step repeat the
    first value.

    Parameters
    ----------
    meteo
        ``(T, V, M)`` meteorology at each position.
    stats
        ``(T, 5, M)`` patch statistics (:func:`patch_statistics`).
    months
        ``(T,)`` calendar month (1..12) of each step.
    variables
        Names of the ``V`` meteorological variables.
    n_external
        Number of features returned.

    Returns
    -------
    numpy.ndarray
        ``(T, n_external, M)`` float32.

    Raises
    ------
    DataError
        If the shapes disagree.
    ConfigError
        If the features do not fit in ``n_external``.
    """
    names = external_feature_names(variables, n_external=n_external)
    t = len(months)
    if meteo.ndim != 3 or meteo.shape[:2] != (t, len(variables)):
        raise DataError(f"meteo has shape {meteo.shape}; expected ({t}, {len(variables)}, M)")
    if stats.shape != (t, len(PATCH_STATISTICS), meteo.shape[2]):
        raise DataError(
            f"patch statistics have shape {stats.shape}; expected ({t}, "
            f"{len(PATCH_STATISTICS)}, {meteo.shape[2]})"
        )
    months = np.asarray(months)
    columns: list[np.ndarray] = []
    meteo = meteo.astype(np.float64)
    for v in range(len(variables)):
        series = meteo[:, v]
        climatology = np.empty_like(series)
        for month in np.unique(months):
            at = months == month
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN month -> NaN
                climatology[at] = np.nanmean(series[at], axis=0)
        columns += [
            series,
            series - climatology,
            _lag(series, 1),
            _trailing(series, 3, "mean"),
            _trailing(series, 12, "mean"),
        ]
    stats = stats.astype(np.float64)
    bare, ndvi, ndvi_std, bsi, bsi_centre = (stats[:, k] for k in range(len(PATCH_STATISTICS)))
    angle = 2.0 * np.pi * (months - 1) / 12.0
    ones = np.ones_like(bare)
    columns += [
        bare,
        bare - _lag(bare, 1),
        _trailing(bare, 12, "max"),
        bare - _lag(bare, 12),
        ndvi,
        ndvi - _lag(ndvi, 12),
        ndvi_std,
        bsi,
        bsi_centre,
        bsi_centre - _lag(bsi_centre, 12),
        np.sin(angle)[:, None] * ones,
        np.cos(angle)[:, None] * ones,
    ]
    columns += [np.zeros_like(bare)] * (len(names) - len(columns))
    return np.stack(columns, axis=1).astype(np.float32)


# --------------------------------------------------------------------------- helpers


def _channel_dim(da: xr.DataArray, candidates: Sequence[str], what: str) -> str:
    for name in candidates:
        if name in da.dims:
            return name
    raise DataError(
        f"{what} has dims {da.dims}; expected one of {tuple(candidates)} as its channel dimension"
    )


def _resolve_index_bands(channels: list[str], index_bands: Mapping[str, str] | None) -> list[int]:
    """Positions of the blue, red, nir, swir1 channels in ``channels``."""
    positions = []
    for role in INDEX_BANDS:
        wanted = (index_bands or {}).get(role, role)
        if wanted in channels:
            positions.append(channels.index(wanted))
            continue
        matches = [c for c in channels if c.endswith((f":{wanted}", f"_{wanted}"))]
        if len(matches) != 1:
            raise DataError(
                f"cannot find the {role!r} channel among {channels} (matches: {matches}); "
                f"pass index_bands={{'{role}': '<channel name>'}}"
            )
        positions.append(channels.index(matches[0]))
    return positions


def _channel_groups(cube: xr.DataArray, dim: str, channels: list[str]) -> dict[str, list[int]]:
    """Modality groups: a ``source`` coordinate on the channel axis, else the
    prefix before ``:`` in channel names, else one group."""
    if "source" in cube.coords and cube.coords["source"].dims == (dim,):
        keys = [str(s) for s in cube.coords["source"].values]
    elif all(":" in c for c in channels):
        keys = [c.split(":", 1)[0] for c in channels]
    else:
        keys = ["all"] * len(channels)
    groups: dict[str, list[int]] = {}
    for k, key in enumerate(keys):
        groups.setdefault(key, []).append(k)
    return groups


def _allocate(available: np.ndarray, budget: int) -> np.ndarray:
    """Even allocation of ``budget`` over classes capped by availability
    (water-filling: classes with fewer candidates give their share to others)."""
    alloc = np.zeros_like(available)
    remaining = int(min(budget, available.sum()))
    open_ = available > 0
    while remaining > 0 and open_.any():
        share = max(remaining // int(open_.sum()), 1)
        for k in np.flatnonzero(open_):
            take = min(share, available[k] - alloc[k], remaining)
            alloc[k] += take
            remaining -= take
            if alloc[k] == available[k]:
                open_[k] = False
            if remaining == 0:
                break
    return alloc


def _window_counts(mask: np.ndarray, size: int) -> np.ndarray:
    """Exact number of true pixels in each pixel's patch window (box filter)."""
    mean = ndimage.uniform_filter(mask.astype(np.float64), size=size, mode="constant")
    return np.rint(mean * size * size).astype(np.int64)


def _year_windows(
    times: pd.DatetimeIndex, years: Sequence[int], n_steps: int
) -> tuple[dict[int, tuple[int, int]], dict[int, str]]:
    """Time-index window ``[start, end]`` of each usable year, and why others are skipped."""
    windows: dict[int, tuple[int, int]] = {}
    skipped: dict[int, str] = {}
    for year in years:
        in_year = np.flatnonzero(times.year == year)
        if in_year.size == 0:
            skipped[year] = "the cube has no time step in this year"
            continue
        end = int(in_year.max())
        if times[end].month != 12:
            skipped[year] = f"the cube ends in month {times[end].month}, before December"
            continue
        start = end - n_steps + 1
        if start < 0:
            skipped[year] = f"fewer than n_steps={n_steps} months before the year's end"
            continue
        span = times[start : end + 1]
        steps = (span.year * 12 + span.month).to_numpy()
        if np.any(np.diff(steps) != 1):
            raise DataError(
                f"cube time axis {list(span.strftime('%Y-%m'))} is not one step per month; "
                "build the cube on a monthly time axis"
            )
        windows[year] = (start, end)
    return windows, skipped


# --------------------------------------------------------------------------- build


def build_samples(
    cube: xr.DataArray,
    external: xr.DataArray,
    labels: Mapping[int, np.ndarray],
    splits: np.ndarray,
    *,
    patch_size: int,
    n_steps: int,
    n_external: int = 32,
    samples_per_split: Mapping[str, int] | int,
    seed: int,
    out_dir: str | Path,
    index_bands: Mapping[str, str] | None = None,
    bsi_threshold: float = 0.0,
    ndvi_threshold: float = 0.2,
    last_year_target: str = "same_year",
    block_rows: int = 64,
) -> dict:
    """Sample patch time series, write them as memory-mapped arrays.

    Parameters
    ----------
    cube
        ``(time, channel|band, y, x)`` monthly cube of all image channels,
        including the reflectances named by ``index_bands``.
    external
        Meteorology ``(time, feature|band, y, x)`` or ``(time, feature|band)``
        with the cube's time steps.
    labels
        Year -> land-use raster ``(y, x)`` (classes 1..6, 0 nodata).
    splits
        ``(y, x)`` split codes (0 train, 1 val, 2 test), from
        :func:`coexplore.learn.splits.spatial_blocks`.
    patch_size
        Patch edge in pixels.
    n_steps
        Monthly steps per sample, ending in December of the reference year.
    n_external
        External features per step (see :func:`external_features`).
    samples_per_split
        Most samples per split (``{"train": n, "val": n, "test": n}`` or one
        number for all); each split's budget is shared evenly by the classes.
    seed
        Seed of the sampling.
    out_dir
        Folder written (replaced atomically).
    index_bands
        Channel names of the blue, red, nir and swir1 reflectances, where
        they differ from those names (``{"red": "landsat8:red", ...}``).
    bsi_threshold, ndvi_threshold
        Bare-soil thresholds of :func:`patch_statistics`.
    last_year_target
        ``"same_year"`` (the last year's target uses its own truth, recorded
        per sample) or ``"drop"`` (no samples from the last year).
    block_rows
        Rows of patch origins read from the cube at once (memory bound).

    Returns
    -------
    dict
        Summary: counts per split and class, usable and skipped years, the
        number of same-year targets and of filled missing values.

    Raises
    ------
    DataError
        If shapes, dims, times or classes do not fit, or the training split
        gets no sample.
    ConfigError
        If an option is out of range.

    Examples
    --------
    >>> summary = build_samples(cube, meteo, {2020: lab20, 2021: lab21}, splits,
    ...                         patch_size=16, n_steps=12, samples_per_split=1000,
    ...                         seed=0, out_dir="results/a/samples")  # doctest: +SKIP
    """
    if patch_size < 1 or n_steps < 1 or block_rows < 1:
        raise ConfigError(
            f"patch_size={patch_size}, n_steps={n_steps}, block_rows={block_rows}: all must be >= 1"
        )
    if last_year_target not in ("same_year", "drop"):
        raise ConfigError(
            f"last_year_target={last_year_target!r} is unknown; use 'same_year' or 'drop'"
        )
    if isinstance(samples_per_split, int):
        budgets = dict.fromkeys(SPLITS, samples_per_split)
    else:
        unknown = sorted(set(samples_per_split) - set(SPLITS))
        if unknown:
            raise ConfigError(f"samples_per_split has unknown splits {unknown}; use {SPLITS}")
        budgets = {s: int(samples_per_split.get(s, 0)) for s in SPLITS}
    if not labels:
        raise DataError("labels is empty; give at least one year of land-use truth")
    labels = {int(year): np.asarray(lab) for year, lab in labels.items()}

    cdim = _channel_dim(cube, ("channel", "band"), "cube")
    cube = cube.transpose("time", cdim, "y", "x")
    edim = _channel_dim(external, ("feature", "band", "variable"), "external")
    spatial_external = "y" in external.dims
    external = external.transpose("time", edim, *(("y", "x") if spatial_external else ()))
    channels = [str(c) for c in cube[cdim].values]
    variables = [str(v) for v in external[edim].values]
    feature_names = external_feature_names(variables, n_external=n_external)
    index_pos = _resolve_index_bands(channels, index_bands)
    height, width = cube.sizes["y"], cube.sizes["x"]
    splits = np.asarray(splits)
    if splits.shape != (height, width):
        raise DataError(f"splits have shape {splits.shape}; expected the cube's {(height, width)}")
    if spatial_external and (external.sizes["y"], external.sizes["x"]) != (height, width):
        raise DataError(
            f"external grid {(external.sizes['y'], external.sizes['x'])} differs from the "
            f"cube's {(height, width)}; put both on the common grid"
        )
    times = pd.DatetimeIndex(cube["time"].values)
    try:
        external = external.sel(time=cube["time"].values)
    except KeyError as exc:
        raise DataError(
            f"external series lacks some of the cube's time steps ({exc}); build it on the same "
            "monthly axis"
        ) from exc
    for year, lab in labels.items():
        if lab.shape != (height, width):
            raise DataError(f"labels[{year}] has shape {lab.shape}; expected {(height, width)}")
        bad = np.setdiff1d(np.unique(lab), [LandUse.nodata, *LandUse.codes])
        if bad.size:
            raise DataError(
                f"labels[{year}] has classes {bad.tolist()} outside 1..6 (0 = nodata); "
                "recode the truth raster with sensors.LandUse codes"
            )

    years = sorted(int(y) for y in labels)
    windows, skipped = _year_windows(times, years, n_steps)
    if last_year_target == "drop":
        for year in [y for y in windows if y + 1 not in labels]:
            del windows[year]
            skipped[year] = "no truth for the next year (last_year_target='drop')"
    if not windows:
        raise DataError(f"no usable year among {years}: {skipped}; extend the cube or n_steps")

    candidates = _candidates(labels, splits, windows, patch_size=patch_size)
    samples = _stratified(candidates, budgets, seed=seed)
    counts = {s: int((samples["split"] == c).sum()) for c, s in SPLIT_NAMES.items()}
    if counts["train"] == 0:
        raise DataError(
            "the training split got no sample; lower patch_size, enlarge the split blocks "
            "or raise samples_per_split"
        )

    n_channels = len(channels)
    out_dir = Path(out_dir)
    months = times.month.to_numpy()
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        arrays = {}
        for code, split in SPLIT_NAMES.items():
            n = counts[split]
            shapes = {
                "x": ((n, n_steps, n_channels, patch_size, patch_size), np.float32),
                "external": ((n, n_steps, n_external), np.float32),
                "label": ((n,), np.uint8),
                "target": ((n,), np.float32),
                "position": ((n, 4), np.int32),
            }
            arrays[code] = {
                name: _new_array(tmp / f"{split}_{name}.npy", shape, dtype)
                for name, (shape, dtype) in shapes.items()
            }
        _extract(
            samples,
            cube,
            external,
            arrays,
            windows=windows,
            months=months,
            variables=variables,
            index_pos=index_pos,
            patch_size=patch_size,
            n_external=n_external,
            block_rows=block_rows,
            bsi_threshold=bsi_threshold,
            ndvi_threshold=ndvi_threshold,
        )
        stats, filled = _normalisation(arrays)
        class_counts = {
            split: {
                int(k): int(v)
                for k, v in samples[samples["split"] == code]["label"]
                .value_counts()
                .sort_index()
                .items()
            }
            for code, split in SPLIT_NAMES.items()
        }
        same_year = {
            split: int(
                ((samples["split"] == code) & (samples["target_year"] == samples["year"])).sum()
            )
            for code, split in SPLIT_NAMES.items()
        }
        meta = {
            "version": META_VERSION,
            "channels": channels,
            "channel_groups": _channel_groups(cube, cdim, channels),
            "external_features": feature_names,
            "meteo_variables": variables,
            "index_bands": [channels[k] for k in index_pos],
            "patch_size": patch_size,
            "n_steps": n_steps,
            "n_external": n_external,
            "n_classes": len(LandUse.codes),
            "classes": {str(k): v for k, v in LandUse.codes.items()},
            "seed": seed,
            "samples_per_split": budgets,
            "n_samples": counts,
            "counts": class_counts,
            "years": sorted(windows),
            "windows": {
                str(y): [str(times[a].date()), str(times[b].date())]
                for y, (a, b) in windows.items()
            },
            "skipped_years": {str(y): r for y, r in skipped.items()},
            "target": (
                "fraction of the patch's valid truth pixels in classes "
                f"{list(DISTURBED_CLASSES)} (bare_land, mining) in year + 1"
            ),
            "last_year_target": last_year_target,
            "target_same_year": same_year,
            "bare_soil": {"bsi_threshold": bsi_threshold, "ndvi_threshold": ndvi_threshold},
            "stats": stats,
            "nan_filled": filled,
        }
        for split_arrays in arrays.values():
            for arr in split_arrays.values():
                if isinstance(arr, np.memmap):
                    arr.flush()
        arrays.clear()
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    log.info("wrote %s samples to %s (%s)", counts, out_dir, class_counts)
    return {
        "out_dir": str(out_dir),
        "n_samples": counts,
        "counts": class_counts,
        "years": sorted(windows),
        "skipped_years": skipped,
        "target_same_year": same_year,
        "nan_filled": filled,
    }


def _candidates(
    labels: Mapping[int, np.ndarray],
    splits: np.ndarray,
    windows: Mapping[int, tuple[int, int]],
    *,
    patch_size: int,
) -> pd.DataFrame:
    """Every usable (year, centre) with its split, class and target: the
    whole patch lies inside the image and inside one split's blocks, and the
    centre has a class."""
    height, width = splits.shape
    half = patch_size // 2
    inside = np.zeros((height, width), dtype=bool)
    inside[half : height - patch_size + half + 1, half : width - patch_size + half + 1] = True
    one_split = ndimage.minimum_filter(splits, size=patch_size, mode="nearest") == (
        ndimage.maximum_filter(splits, size=patch_size, mode="nearest")
    )
    cand = []
    for year in windows:
        lab = np.asarray(labels[year])
        target_year = year + 1 if year + 1 in labels else year
        truth = np.asarray(labels[target_year])
        disturbed = _window_counts(np.isin(truth, DISTURBED_CLASSES), patch_size)
        valid = _window_counts(truth != LandUse.nodata, patch_size)
        ok = inside & one_split & (lab != LandUse.nodata) & (valid > 0)
        rows, cols = np.nonzero(ok)
        cand.append(
            pd.DataFrame(
                {
                    "year": year,
                    "row": rows,
                    "col": cols,
                    "split": splits[rows, cols].astype(int),
                    "label": lab[rows, cols].astype(int),
                    "target": disturbed[rows, cols] / valid[rows, cols],
                    "target_year": target_year,
                }
            )
        )
    return pd.concat(cand, ignore_index=True)


def _stratified(candidates: pd.DataFrame, budgets: Mapping[str, int], *, seed: int) -> pd.DataFrame:
    """Per split, classes sampled evenly up to the split's budget; rows sorted
    by split, row, col, year with ``slot`` = position in the split's arrays."""
    rng = np.random.default_rng(seed)
    chosen = []
    for code, split in SPLIT_NAMES.items():
        pool = candidates[candidates["split"] == code]
        classes = sorted(pool["label"].unique())
        available = np.array([(pool["label"] == k).sum() for k in classes], dtype=np.int64)
        alloc = _allocate(available, budgets[split])
        for k, n in zip(classes, alloc, strict=True):
            if n:
                idx = pool.index[pool["label"] == k].to_numpy()
                chosen.append(candidates.loc[np.sort(rng.choice(idx, size=int(n), replace=False))])
    if not chosen:
        raise DataError("no candidate patch in any split; lower patch_size or check the labels")
    samples = pd.concat(chosen).sort_values(["split", "row", "col", "year"], kind="stable")
    samples["slot"] = samples.groupby("split").cumcount()
    return samples


def _new_array(path: Path, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A writable memory-mapped ``.npy`` (a plain saved array when empty:
    a zero-length file cannot be mapped)."""
    if int(np.prod(shape)) == 0:
        arr = np.zeros(shape, dtype=dtype)
        np.save(path, arr)
        return arr
    return open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def _extract(
    samples: pd.DataFrame,
    cube: xr.DataArray,
    external: xr.DataArray,
    arrays: dict[int, dict[str, np.ndarray]],
    *,
    windows: dict[int, tuple[int, int]],
    months: np.ndarray,
    variables: list[str],
    index_pos: list[int],
    patch_size: int,
    n_external: int,
    block_rows: int,
    bsi_threshold: float,
    ndvi_threshold: float,
) -> None:
    """Read the cube by blocks of rows and fill the sample arrays."""
    half = patch_size // 2
    height = cube.sizes["y"]
    spatial_external = external.ndim == 4
    if not spatial_external:
        meteo_all = np.asarray(external.values, dtype=np.float64)
    tops = samples["row"].to_numpy() - half
    for block in np.unique(tops // block_rows):
        r0 = int(block) * block_rows
        r1 = min(r0 + block_rows + patch_size - 1, height)
        part = samples[(tops // block_rows) == block]
        data = np.asarray(cube.isel(y=slice(r0, r1)).values, dtype=np.float32)
        stats = patch_statistics(
            data[:, index_pos],
            patch_size=patch_size,
            bsi_threshold=bsi_threshold,
            ndvi_threshold=ndvi_threshold,
        )
        rows = part["row"].to_numpy() - r0
        cols = part["col"].to_numpy()
        if spatial_external:
            meteo = np.asarray(external.isel(y=slice(r0, r1)).values, dtype=np.float64)
            meteo_at = meteo[:, :, rows, cols]
        else:
            meteo_at = np.repeat(meteo_all[:, :, None], len(part), axis=2)
        ext = external_features(
            meteo_at, stats[:, :, rows, cols], months, variables=variables, n_external=n_external
        )
        for j, s in enumerate(part.itertuples(index=False)):
            start, end = windows[s.year]
            top, left = s.row - r0 - half, s.col - half
            out = arrays[s.split]
            out["x"][s.slot] = data[
                start : end + 1, :, top : top + patch_size, left : left + patch_size
            ]
            out["external"][s.slot] = ext[start : end + 1, :, j]
            out["label"][s.slot] = s.label
            out["target"][s.slot] = s.target
            out["position"][s.slot] = (s.year, s.row, s.col, s.target_year)


def _normalisation(arrays: dict[int, dict[str, np.ndarray]]) -> tuple[dict, dict]:
    """Train-split mean and standard deviation per channel and per external
    feature; missing values in every split are set to the train mean."""
    stats: dict[str, list[float]] = {}
    filled: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    chunk = 256
    for name, axes in (("x", (0, 1, 3, 4)), ("external", (0, 1))):
        train = arrays[0][name]
        n_feat = train.shape[2]
        total = np.zeros(n_feat)
        total_sq = np.zeros(n_feat)
        count = np.zeros(n_feat)
        for i in range(0, train.shape[0], chunk):
            block = np.asarray(train[i : i + chunk], dtype=np.float64)
            valid = np.isfinite(block)
            block = np.where(valid, block, 0.0)
            total += block.sum(axis=axes)
            total_sq += (block**2).sum(axis=axes)
            count += valid.sum(axis=axes)
        if np.any(count == 0):
            missing = np.flatnonzero(count == 0).tolist()
            raise DataError(
                f"{name} inputs {missing} have no finite value in the training split; "
                "check the cube's gap filling"
            )
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
        # a constant input is left unscaled (only centred)
        std = np.where(std > 1e-12, std, 1.0)
        shape = [1] * train.ndim
        shape[2] = n_feat
        fill = mean.astype(np.float32).reshape(shape[1:])
        for code, split in SPLIT_NAMES.items():
            arr = arrays[code][name]
            n_filled = 0
            for i in range(0, arr.shape[0], chunk):
                block = arr[i : i + chunk]
                bad = ~np.isfinite(block)
                if bad.any():
                    n_filled += int(bad.sum())
                    block[...] = np.where(bad, fill, block)
            filled[split][name] = n_filled
        key = "channel" if name == "x" else "external"
        stats[f"{key}_mean"] = mean.tolist()
        stats[f"{key}_std"] = std.tolist()
    return stats, filled


# --------------------------------------------------------------------------- reading


def load_meta(data_dir: str | Path) -> dict:
    """Read a sample folder's ``meta.json``.

    Raises
    ------
    InputError
        If the folder has no readable ``meta.json``.
    """
    path = Path(data_dir) / "meta.json"
    if not path.is_file():
        raise InputError(path, "no meta.json", "build the samples first (build_samples)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc})", "rebuild the samples") from exc


class SampleDataset(Dataset):
    """Samples of one split, read from the memory-mapped arrays and normalised.

    Items are ``(x, external, label_index, target)``: float32 ``(T, C, P, P)``,
    float32 ``(T, F)``, int64 class index (class code - 1) and float32.

    Parameters
    ----------
    data_dir
        Folder written by :func:`build_samples`.
    split
        ``"train"``, ``"val"`` or ``"test"``.
    normalise
        Apply the training statistics.

    Raises
    ------
    ConfigError
        If ``split`` is unknown.
    InputError
        If the folder or an array is missing.
    """

    def __init__(self, data_dir: str | Path, split: str, *, normalise: bool = True) -> None:
        if split not in SPLITS:
            raise ConfigError(f"split {split!r} is unknown; use one of {SPLITS}")
        self.data_dir = Path(data_dir)
        self.split = split
        self.meta = load_meta(self.data_dir)
        self.normalise = normalise
        stats = self.meta["stats"]
        self._x_mean = np.asarray(stats["channel_mean"], np.float32)[None, :, None, None]
        self._x_scale = 1.0 / np.asarray(stats["channel_std"], np.float32)[None, :, None, None]
        self._e_mean = np.asarray(stats["external_mean"], np.float32)[None, :]
        self._e_scale = 1.0 / np.asarray(stats["external_std"], np.float32)[None, :]
        self._n = int(self.meta["n_samples"][split])
        self._arrays: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        # opened lazily so that DataLoader workers each map the files themselves
        if self._arrays is None:
            arrays = {}
            for name in ("x", "external", "label", "target", "position"):
                path = self.data_dir / f"{self.split}_{name}.npy"
                if not path.is_file():
                    raise InputError(path, "sample array is missing", "rebuild the samples")
                arrays[name] = np.load(path, mmap_mode="r" if self._n else None)
            self._arrays = arrays
        return self._arrays

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_arrays"] = None
        return state

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        a = self._load()
        x = np.array(a["x"][i], dtype=np.float32)
        ext = np.array(a["external"][i], dtype=np.float32)
        if self.normalise:
            x = (x - self._x_mean) * self._x_scale
            ext = (ext - self._e_mean) * self._e_scale
        return (
            torch.from_numpy(x),
            torch.from_numpy(ext),
            torch.tensor(int(a["label"][i]) - 1, dtype=torch.int64),
            torch.tensor(float(a["target"][i]), dtype=torch.float32),
        )

    @property
    def labels(self) -> np.ndarray:
        """Land-use class codes (1..6) of all samples."""
        return np.asarray(self._load()["label"])

    @property
    def targets(self) -> np.ndarray:
        """Regression targets of all samples."""
        return np.asarray(self._load()["target"])

    @property
    def positions(self) -> np.ndarray:
        """``(N, 4)`` year, row, col, target year of all samples."""
        return np.asarray(self._load()["position"])
