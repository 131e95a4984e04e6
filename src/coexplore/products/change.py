"""Mining change detection between annual composites.

Two detectors are compared on the same bitemporal pairs (every pair of
consecutive years, plus first-to-last):

* a classical baseline, change vector analysis (CVA; Malila 1980): the
  magnitude of the spectral difference vector between two dates, thresholded
  automatically with Otsu's method (``skimage.filters.threshold_otsu``);
* a learned detector, :class:`SiameseFFTChangeNet`: a small siamese CNN whose
  bitemporal features are fused both in the spatial domain and in the
  frequency domain (amplitude and phase of ``torch.fft.rfft2`` of the feature
  maps, in the spirit of ChangeFFT), trained on the training blocks of the
  ground-truth change and predicting a dense change probability.

The ground-truth change of a pair is mining-related land-use change (a pixel
whose class differs between the two years and is mining or reclaimed in
either year, see :func:`change_truth`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from skimage.filters import threshold_otsu

from ..errors import DataError
from ..learn.splits import TEST, TRAIN
from ._common import (
    BARE,
    MINING,
    NODATA,
    RECLAIMED,
    LanduseByYear,
    annual_composites,
    bitemporal_pairs,
    stack_years,
)
from .change_net import ChangeNetConfig, FrequencyFusion, SiameseChangeDetector, SiameseFFTChangeNet

__all__ = [
    "ChangeNetConfig",
    "FrequencyFusion",
    "SiameseChangeDetector",
    "SiameseFFTChangeNet",
    "annual_composites",
    "bitemporal_pairs",
    "change_metrics",
    "change_truth",
    "change_vector_analysis",
    "disturbance_areas",
    "otsu_change",
    "run_change_detection",
]


def change_vector_analysis(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Change vector analysis of two (band, y, x) composites.

    Parameters
    ----------
    before, after
        Composites of the same bands, shape (band, y, x) (or (band,) for a
        single vector).

    Returns
    -------
    magnitude : numpy.ndarray
        Euclidean norm of ``after - before`` over the bands, (y, x) float64;
        NaN where any band is NaN.
    direction : numpy.ndarray
        Sector code of the change direction (Malila 1980, generalised to n
        bands): bit k is set where band k increased, so 2**n sectors; int16,
        -1 where the magnitude is NaN.

    Raises
    ------
    DataError
        If the shapes differ or there are more than 15 bands (sector codes
        would overflow int16).
    """
    b = np.asarray(before, dtype=np.float64)
    a = np.asarray(after, dtype=np.float64)
    if a.shape != b.shape:
        raise DataError(
            f"before composite has shape {b.shape} but after has {a.shape}; "
            "use the same bands on the same grid for both dates"
        )
    if b.shape[0] > 15:
        raise DataError(f"{b.shape[0]} bands given; CVA direction codes support at most 15")
    diff = a - b
    magnitude = np.sqrt(np.sum(diff * diff, axis=0))
    weights = (2 ** np.arange(b.shape[0])).reshape((-1,) + (1,) * (b.ndim - 1))
    direction = np.sum((diff > 0) * weights, axis=0).astype(np.int16)
    direction = np.where(np.isfinite(magnitude), direction, -1).astype(np.int16)
    return magnitude, direction


def otsu_change(
    magnitude: np.ndarray, *, valid: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Binary change mask from a change magnitude by Otsu's automatic threshold.

    Parameters
    ----------
    magnitude
        Change magnitude (e.g. CVA), any shape; NaN cells are ignored.
    valid
        Optional boolean mask of cells to use for the threshold.

    Returns
    -------
    mask : numpy.ndarray
        True where ``magnitude > threshold`` (False at NaN / invalid cells).
    threshold : float
        Otsu's threshold of the valid finite values.

    Raises
    ------
    DataError
        If fewer than two distinct finite values are available.
    """
    m = np.asarray(magnitude, dtype=np.float64)
    ok = np.isfinite(m) if valid is None else (np.isfinite(m) & np.asarray(valid, bool))
    vals = m[ok]
    if np.unique(vals).size < 2:
        raise DataError(
            f"Otsu's threshold needs at least two distinct finite magnitudes, got "
            f"{np.unique(vals).size}; the composites are empty or identical"
        )
    thr = float(threshold_otsu(vals))
    return (m > thr) & ok, thr


def change_truth(
    before: np.ndarray,
    after: np.ndarray,
    *,
    classes: Sequence[int] | None = (MINING, RECLAIMED),
) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth change between two land-use maps.

    Parameters
    ----------
    before, after
        Land-use maps (uint8 classes, 0 = nodata) of the same grid.
    classes
        A change counts when the class differs and is in ``classes`` in
        either year (default: mining-related change, to or from mining and
        to or from reclaimed); ``None`` counts every class change.

    Returns
    -------
    change : numpy.ndarray
        Boolean change map.
    valid : numpy.ndarray
        Where both maps have data.

    Raises
    ------
    DataError
        If the maps differ in shape.
    """
    b, a = np.asarray(before), np.asarray(after)
    if a.shape != b.shape:
        raise DataError(f"land-use maps have shapes {b.shape} and {a.shape}; use the same grid")
    valid = (b != NODATA) & (a != NODATA)
    change = (a != b) & valid
    if classes is not None:
        cls = np.asarray(list(classes))
        change &= np.isin(a, cls) | np.isin(b, cls)
    return change, valid


def change_metrics(
    pred: np.ndarray, truth: np.ndarray, *, valid: np.ndarray | None = None
) -> dict[str, float]:
    """Precision, recall, F1 and IoU of the change class.

    Parameters
    ----------
    pred, truth
        Boolean change maps of the same shape.
    valid
        Cells to score (all if ``None``).

    Returns
    -------
    dict
        ``precision`` = TP/(TP+FP), ``recall`` = TP/(TP+FN),
        ``f1`` = 2TP/(2TP+FP+FN), ``iou`` = TP/(TP+FP+FN). A ratio whose
        denominator is zero is 0.0 (scikit-learn's ``zero_division=0``).

    Raises
    ------
    DataError
        If the shapes differ.
    """
    p, t = np.asarray(pred, bool), np.asarray(truth, bool)
    if p.shape != t.shape or (valid is not None and np.shape(valid) != p.shape):
        raise DataError(
            f"prediction {p.shape}, truth {t.shape} and valid {np.shape(valid)} shapes differ; "
            "score maps of the same grid"
        )
    if valid is not None:
        v = np.asarray(valid, bool)
        p, t = p[v], t[v]
    tp = float(np.sum(p & t))
    fp = float(np.sum(p & ~t))
    fn = float(np.sum(~p & t))

    def ratio(num: float, den: float) -> float:
        return num / den if den > 0 else 0.0

    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "iou": ratio(tp, tp + fp + fn),
    }


def disturbance_areas(landuse_by_year: LanduseByYear, pixel_area: float) -> pd.DataFrame:
    """Area newly disturbed and newly reclaimed between consecutive years.

    Parameters
    ----------
    landuse_by_year
        Mapping year -> land-use map (or DataArray (year, y, x)).
    pixel_area
        Area of one pixel in square metres (100 for the 10 m grid).

    Returns
    -------
    pandas.DataFrame
        One row per consecutive pair with ``year_from``, ``year``,
        ``disturbed_ha`` (pixels that became mining or bare land from any
        other class), ``reclaimed_ha`` (pixels that became reclaimed),
        ``mining_ha`` and ``reclaimed_total_ha`` (totals in ``year``).
        Pixels with nodata in either year are not counted.

    Raises
    ------
    DataError
        If fewer than two years are given, the maps differ in shape or
        ``pixel_area`` is not positive.
    """
    if not pixel_area > 0:
        raise DataError(f"pixel_area={pixel_area!r} m2 must be positive (100 for a 10 m grid)")
    years, stack = stack_years(landuse_by_year)
    if len(years) < 2:
        raise DataError(
            f"disturbance areas need land-use maps for at least 2 years, got {years}; "
            "add maps for more years"
        )
    to_ha = pixel_area / 1.0e4
    disturbed_classes = np.array([MINING, BARE])
    rows = []
    for i in range(1, len(years)):
        b, a = stack[i - 1], stack[i]
        ok = (a != NODATA) & (b != NODATA)
        disturbed = ok & np.isin(a, disturbed_classes) & ~np.isin(b, disturbed_classes)
        reclaimed = ok & (a == RECLAIMED) & (b != RECLAIMED)
        rows.append(
            {
                "year_from": years[i - 1],
                "year": years[i],
                "disturbed_ha": float(disturbed.sum()) * to_ha,
                "reclaimed_ha": float(reclaimed.sum()) * to_ha,
                "mining_ha": float((a == MINING).sum()) * to_ha,
                "reclaimed_total_ha": float((a == RECLAIMED).sum()) * to_ha,
            }
        )
    return pd.DataFrame(rows)


def run_change_detection(
    composites: xr.DataArray,
    landuse_by_year: LanduseByYear,
    *,
    split: np.ndarray,
    config: ChangeNetConfig | None = None,
    seed: int,
    classes: Sequence[int] | None = (MINING, RECLAIMED),
    threshold: float = 0.5,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> tuple[xr.Dataset, pd.DataFrame]:
    """Classical and learned change detection on every bitemporal pair, evaluated on the test split.

    Parameters
    ----------
    composites
        Annual composites (year, band, y, x) (see ``annual_composites``).
    landuse_by_year
        Ground-truth land use per year (training labels and evaluation).
    split
        Split codes (y, x) from ``learn.splits.spatial_blocks``; the network
        trains on TRAIN pixels, metrics are computed on TEST pixels.
    config
        Network settings.
    seed
        Training seed.
    classes
        Classes defining the truth change (see :func:`change_truth`).
    threshold
        Probability above which the network calls change.
    pairs
        Bitemporal pairs (year_from, year_to) to compare; ``None`` takes
        :func:`bitemporal_pairs` of the years shared by composites and truth.

    Returns
    -------
    maps : xarray.Dataset
        Dims (pair, y, x): ``cva_magnitude``, ``cva_change``,
        ``net_probability``, ``net_change`` and ``truth_change``; ``pair``
        labels like ``"2019-2020"``; x/y coordinates copied from ``composites``.
    metrics : pandas.DataFrame
        One row per (pair, method) with ``year_from``, ``year_to``, ``method``
        (``cva_otsu``, ``siamese_fft``), ``threshold``, ``precision``,
        ``recall``, ``f1``, ``iou`` and ``n_test``.

    Raises
    ------
    DataError
        If fewer than two years are shared by the composites and the truth,
        the grids differ, or a given pair is not ordered or lacks a year.
    """
    years_lu, lu = stack_years(landuse_by_year)
    comp_years = [int(y) for y in composites["year"].values]
    common = sorted(set(years_lu) & set(comp_years))
    if pairs is None:
        pairs = bitemporal_pairs(common)
    else:
        pairs = [(int(a), int(b)) for a, b in pairs]
        if not pairs:
            raise DataError("no bitemporal pair given; list at least one (year_from, year_to)")
        for y0, y1 in pairs:
            if not y0 < y1 or y0 not in common or y1 not in common:
                raise DataError(
                    f"pair ({y0}, {y1}) needs year_from < year_to, both among the years with "
                    f"composites and land use {common}; fix the pairs"
                )
    if lu.shape[1:] != composites.shape[-2:] or np.shape(split) != lu.shape[1:]:
        raise DataError(
            f"composites grid {composites.shape[-2:]}, land-use grid {lu.shape[1:]} and split "
            f"grid {np.shape(split)} differ; resample them onto the common grid"
        )
    lu_of = dict(zip(years_lu, lu, strict=True))
    comp_of = {y: composites.sel(year=y).values.astype(np.float32) for y in common}
    split = np.asarray(split)

    bitemporal, truths, valids = [], [], []
    for y0, y1 in pairs:
        t, v = change_truth(lu_of[y0], lu_of[y1], classes=classes)
        bitemporal.append((comp_of[y0], comp_of[y1]))
        truths.append(t)
        valids.append(v)
    detector = SiameseChangeDetector(config, seed=seed).fit(
        bitemporal, truths, [v & (split == TRAIN) for v in valids]
    )

    layers: dict[str, list[np.ndarray]] = {k: [] for k in ("mag", "cva", "prob", "net", "truth")}
    rows = []
    for (y0, y1), (b, a), t, v in zip(pairs, bitemporal, truths, valids, strict=True):
        mag, _ = change_vector_analysis(b, a)
        cva, thr = otsu_change(mag)
        prob = detector.predict_proba(b, a)
        net = prob > threshold
        test = v & (split == TEST) & np.isfinite(mag)
        for method, pred, th in (("cva_otsu", cva, thr), ("siamese_fft", net, threshold)):
            rows.append(
                {
                    "year_from": y0,
                    "year_to": y1,
                    "method": method,
                    "threshold": th,
                    **change_metrics(pred, t, valid=test),
                    "n_test": int(test.sum()),
                }
            )
        for key, val in zip(
            ("mag", "cva", "prob", "net", "truth"), (mag, cva, prob, net, t), strict=True
        ):
            layers[key].append(val)
    dims = ("pair", "y", "x")
    coords = {"pair": [f"{a}-{b}" for a, b in pairs]}
    for c in ("y", "x"):
        if c in composites.coords:
            coords[c] = composites[c].values
    maps = xr.Dataset(
        {
            "cva_magnitude": (dims, np.stack(layers["mag"]).astype(np.float32)),
            "cva_change": (dims, np.stack(layers["cva"])),
            "net_probability": (dims, np.stack(layers["prob"]).astype(np.float32)),
            "net_change": (dims, np.stack(layers["net"])),
            "truth_change": (dims, np.stack(layers["truth"])),
        },
        coords=coords,
    )
    return maps, pd.DataFrame(rows)
