"""Mineral prospectivity from Landsat 8 alteration evidence, lithology and faults.

Evidence layers
---------------
* Band-ratio alteration indices of surface reflectance: clay/hydroxyl
  ``swir1 / swir2`` (Al-OH and Mg-OH absorption near 2.2 um lowers SWIR2),
  iron oxide ``red / blue`` (ferric iron absorbs in the blue), ferrous
  ``swir1 / nir`` (broad ferrous absorption near 0.9-1.0 um lowers NIR).
* Feature-oriented principal components (the Crosta technique: Crosta and
  Moore 1989; Loughlin 1991): a PCA (covariance matrix) of four bands chosen
  so that only one target mineral group has diagnostic contrast among them:
  hydroxyl with blue, nir, swir1, swir2 (TM 1, 4, 5, 7 in Loughlin), iron
  oxide with blue, red, nir, swir1 (TM 1, 3, 4, 5). The component whose
  loadings contrast the reflective and the absorbing band most strongly
  (largest ``|l_bright - l_dark|``) is the alteration component; it is signed
  so that alteration is bright (``l_bright - l_dark > 0``).
* Lithology: a favourability weight per lithology code (expert knowledge,
  given in the config).
* Structure: proximity to mapped faults, ``exp(-d / decay)`` with ``d`` the
  Euclidean distance to the nearest fault pixel
  (``scipy.ndimage.distance_transform_edt``).

Each spectral layer is turned into a fuzzy membership by a linear ramp
between its 2nd and 98th percentiles (fuzzy "large"), and the memberships are
combined either by a weighted overlay (sum of w_i mu_i / sum of w_i over the
layers with data) or by the fuzzy gamma operator (Bonham-Carter 1994)
``mu = (1 - prod(1 - mu_i))**gamma * prod(mu_i)**(1 - gamma)``. Either way the
map lies in 0..1.

Evaluation against the hidden ore zone uses the ROC AUC
(``sklearn.metrics.roc_auc_score``) and the success-rate curve: the fraction
of ore pixels captured when the area is taken in decreasing order of
prospectivity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from ..errors import DataError
from ._common import check_aligned

ALTERATION_INDICES: dict[str, tuple[str, str]] = {
    "clay": ("swir1", "swir2"),
    "iron_oxide": ("red", "blue"),
    "ferrous": ("swir1", "nir"),
}
"""Index name -> (numerator band, denominator band)."""

CROSTA_SETS: dict[str, dict[str, object]] = {
    "hydroxyl_pc": {"bands": ("blue", "nir", "swir1", "swir2"), "bright": "swir1", "dark": "swir2"},
    "iron_oxide_pc": {"bands": ("blue", "red", "nir", "swir1"), "bright": "red", "dark": "blue"},
}
"""Feature-oriented PCA band sets (Loughlin 1991, Landsat 8 equivalents)."""

DEFAULT_EVIDENCE_WEIGHTS: dict[str, float] = {
    "hydroxyl_pc": 0.20,
    "iron_oxide_pc": 0.10,
    "clay": 0.15,
    "iron_oxide": 0.10,
    "ferrous": 0.05,
    "lithology": 0.20,
    "faults": 0.20,
}
"""Knowledge-driven default weights of the weighted overlay: hydrothermal
alteration (hydroxyl evidence counted twice, by ratio and by component),
host lithology and structural control weigh alike; ferrous iron, which also
marks unaltered mafic rocks, weighs least. Override them from the config."""


def _reflectance(sr: xr.DataArray) -> xr.DataArray:
    """(band, y, x) reflectance; a (time, band, y, x) input is reduced by its median."""
    if "band" not in sr.dims:
        raise DataError(f"reflectance DataArray has dims {sr.dims}; expected a 'band' dimension")
    if "time" in sr.dims:
        sr = sr.median("time", skipna=True)
    return sr.transpose("band", ...)


def _get_band(sr: xr.DataArray, name: str) -> np.ndarray:
    names = [str(b) for b in sr["band"].values]
    if name not in names:
        raise DataError(
            f"band {name!r} is missing from the reflectance (bands: {names}); "
            "pass the landsat8 cube with its reflective bands"
        )
    return sr.sel(band=name).values.astype(np.float64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, NaN elsewhere (no reflectance ratio of a non-positive value)."""
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    np.divide(num, den, out=out, where=ok)
    return out


def alteration_indices(sr: xr.DataArray) -> xr.DataArray:
    """Band-ratio alteration indices of Landsat 8 surface reflectance.

    Parameters
    ----------
    sr
        Reflectance (band, y, x), or (time, band, y, x) reduced by the median
        over time, with band names from ``sensors.Landsat8``.

    Returns
    -------
    xarray.DataArray
        (index, y, x) with index ``clay`` (swir1/swir2), ``iron_oxide``
        (red/blue), ``ferrous`` (swir1/nir); NaN where the denominator is not
        positive.

    Raises
    ------
    DataError
        If a needed band is missing.
    """
    sr = _reflectance(sr)
    layers = [_ratio(_get_band(sr, n), _get_band(sr, d)) for n, d in ALTERATION_INDICES.values()]
    spatial = [d for d in sr.dims if d != "band"]
    coords = {d: sr[d].values for d in spatial if d in sr.coords}
    coords["index"] = list(ALTERATION_INDICES)
    return xr.DataArray(np.stack(layers), dims=("index", *spatial), coords=coords)


@dataclass(frozen=True)
class CrostaResult:
    """Feature-oriented PCA result.

    Attributes
    ----------
    component
        Selected component scores (y, x), signed so alteration is bright; NaN
        where any input band is NaN.
    loadings
        Eigenvectors, DataFrame (component ``PC1..PCn`` x band), after signing
        the selected row.
    selected
        Index (0-based) of the selected component.
    explained_variance_ratio
        Variance share of each component.
    """

    component: np.ndarray
    loadings: pd.DataFrame
    selected: int
    explained_variance_ratio: np.ndarray


def crosta_pca(sr: xr.DataArray, *, bands: tuple[str, ...], bright: str, dark: str) -> CrostaResult:
    """Crosta feature-oriented principal component for one mineral group.

    Parameters
    ----------
    sr
        Reflectance (band, y, x) (or with ``time``, reduced by the median).
    bands
        The four (or more) bands of the PCA.
    bright, dark
        Bands where the target mineral is reflective and absorbing (e.g.
        ``swir1`` and ``swir2`` for hydroxyl).

    Returns
    -------
    CrostaResult

    Raises
    ------
    DataError
        If ``bright``/``dark`` are not among ``bands``, a band is missing or
        fewer pixels than bands are valid.
    """
    if bright not in bands or dark not in bands or bright == dark:
        raise DataError(
            f"bright={bright!r} and dark={dark!r} must be two different bands of {bands}"
        )
    sr = _reflectance(sr)
    stack = np.stack([_get_band(sr, b) for b in bands])
    shape = stack.shape[1:]
    flat = stack.reshape(len(bands), -1).T
    ok = np.all(np.isfinite(flat), axis=1)
    if ok.sum() <= len(bands):
        raise DataError(
            f"only {int(ok.sum())} pixels have all of {bands}; the PCA needs more valid pixels"
        )
    pca = PCA(n_components=len(bands)).fit(flat[ok])
    comps = pca.components_.copy()
    ib, id_ = bands.index(bright), bands.index(dark)
    contrast = comps[:, ib] - comps[:, id_]
    sel = int(np.argmax(np.abs(contrast)))
    if contrast[sel] < 0:
        comps[sel] *= -1.0
    scores = np.full(flat.shape[0], np.nan)
    scores[ok] = (flat[ok] - pca.mean_) @ comps[sel]
    loadings = pd.DataFrame(
        comps, index=[f"PC{i + 1}" for i in range(len(bands))], columns=list(bands)
    )
    return CrostaResult(
        component=scores.reshape(shape),
        loadings=loadings,
        selected=sel,
        explained_variance_ratio=pca.explained_variance_ratio_,
    )


def fuzzy_membership(
    values: np.ndarray, *, low_pct: float = 2.0, high_pct: float = 98.0
) -> np.ndarray:
    """Linear fuzzy "large" membership between two percentiles of the finite values.

    Parameters
    ----------
    values
        Evidence layer.
    low_pct, high_pct
        Percentiles mapped to 0 and 1; values outside are clipped.

    Returns
    -------
    numpy.ndarray
        Membership in [0, 1], NaN where ``values`` is NaN (0.5 everywhere if
        the layer is constant: it carries no evidence either way).

    Raises
    ------
    DataError
        If the percentiles are not ordered or the layer has no finite value.
    """
    if not 0 <= low_pct < high_pct <= 100:
        raise DataError(f"percentiles ({low_pct}, {high_pct}) must satisfy 0 <= low < high <= 100")
    v = np.asarray(values, dtype=np.float64)
    fin = np.isfinite(v)
    if not fin.any():
        raise DataError("evidence layer has no finite value; check the input bands")
    lo, hi = np.percentile(v[fin], [low_pct, high_pct])
    if hi <= lo:
        return np.where(fin, 0.5, np.nan)
    return np.where(fin, np.clip((v - lo) / (hi - lo), 0.0, 1.0), np.nan)


def lithology_favourability(
    lithology: np.ndarray, weights: Mapping[int, float], *, default: float | None = None
) -> np.ndarray:
    """Favourability (0..1) of each pixel's lithology.

    Parameters
    ----------
    lithology
        Integer lithology codes (``sensors.Static.lithology``); 0 or NaN is nodata.
    weights
        Code -> favourability in [0, 1].
    default
        Weight of codes absent from ``weights``; ``None`` makes them an error.

    Returns
    -------
    numpy.ndarray
        float64 favourability, NaN at nodata.

    Raises
    ------
    DataError
        If a weight lies outside [0, 1], or a code has no weight and no default.
    """
    bad = {k: v for k, v in weights.items() if not 0.0 <= float(v) <= 1.0}
    if bad:
        raise DataError(f"lithology weights {bad} lie outside [0, 1]; give favourabilities 0..1")
    lith = np.asarray(lithology, dtype=np.float64)
    nodata = ~np.isfinite(lith) | (lith == 0)
    codes = np.unique(lith[~nodata]).astype(int)
    missing = [int(c) for c in codes if c not in weights]
    if missing and default is None:
        raise DataError(
            f"lithology codes {missing} have no favourability weight (weights given for "
            f"{sorted(weights)}); add them to the lithology weights in the config"
        )
    out = np.full(lith.shape, np.nan)
    for c in codes:
        out[lith == c] = float(weights.get(int(c), default))
    return out


def fault_proximity(fault: np.ndarray, *, pixel_size: float, decay_m: float) -> np.ndarray:
    """Structural evidence ``exp(-d / decay_m)`` from the distance to the nearest fault.

    Parameters
    ----------
    fault
        Fault raster (1/True on a fault, 0 elsewhere; NaN is treated as 0).
    pixel_size
        Pixel edge in metres.
    decay_m
        e-folding distance in metres.

    Returns
    -------
    numpy.ndarray
        Proximity in (0, 1], 1 on faults; all zeros if no fault is mapped.

    Raises
    ------
    DataError
        If ``pixel_size`` or ``decay_m`` is not positive.
    """
    if not (pixel_size > 0 and decay_m > 0):
        raise DataError(f"pixel_size={pixel_size!r} and decay_m={decay_m!r} must be positive")
    f = np.nan_to_num(np.asarray(fault, dtype=np.float64)) > 0
    if not f.any():
        return np.zeros(f.shape)
    dist = ndimage.distance_transform_edt(~f, sampling=pixel_size)
    return np.exp(-dist / decay_m)


def fuzzy_gamma(memberships: list[np.ndarray], *, gamma: float) -> np.ndarray:
    """Fuzzy gamma combination (Bonham-Carter 1994) of memberships in [0, 1].

    ``(1 - prod(1 - mu_i))**gamma * prod(mu_i)**(1 - gamma)``: gamma = 0 is the
    fuzzy product, gamma = 1 the fuzzy algebraic sum.

    Raises
    ------
    DataError
        If gamma is outside [0, 1] or no membership is given.
    """
    if not 0.0 <= gamma <= 1.0:
        raise DataError(f"gamma={gamma!r} must lie in [0, 1] (0.9 is usual)")
    if not memberships:
        raise DataError("no membership layer to combine")
    mu = np.stack([np.asarray(m, dtype=np.float64) for m in memberships])
    alg_sum = 1.0 - np.prod(1.0 - mu, axis=0)
    alg_prod = np.prod(mu, axis=0)
    return alg_sum**gamma * alg_prod ** (1.0 - gamma)


def prospectivity_map(
    sr: xr.DataArray,
    lithology: np.ndarray,
    fault: np.ndarray,
    *,
    pixel_size: float,
    lithology_weights: Mapping[int, float],
    fault_decay_m: float = 500.0,
    evidence_weights: Mapping[str, float] | None = None,
    method: str = "weighted",
    gamma: float = 0.9,
) -> xr.Dataset:
    """Prospectivity map (0..1) from alteration evidence, lithology and faults.

    Parameters
    ----------
    sr
        Landsat 8 reflectance (band, y, x), or the cube's (time, band, y, x)
        reduced by the median over time.
    lithology, fault
        Geology layers (y, x) on the same grid.
    pixel_size
        Pixel edge in metres.
    lithology_weights
        Lithology code -> favourability in [0, 1].
    fault_decay_m
        e-folding distance of the fault proximity.
    evidence_weights
        Layer -> weight for the weighted overlay (default
        :data:`DEFAULT_EVIDENCE_WEIGHTS`); layers: ``clay``, ``iron_oxide``,
        ``ferrous``, ``hydroxyl_pc``, ``iron_oxide_pc``, ``lithology``,
        ``faults``. Layers with weight 0 are left out (also of the gamma
        operator).
    method
        ``"weighted"``: weighted mean of the memberships available at each
        pixel (weights renormalised where a layer is NaN); ``"gamma"``: fuzzy
        gamma of all layers with memberships clipped to [0.01, 0.99] (NaN
        where any layer is NaN).
    gamma
        Gamma of the fuzzy gamma operator.

    Returns
    -------
    xarray.Dataset
        Dims (y, x): ``prospectivity`` and one membership variable per
        evidence layer; y/x coordinates copied from ``sr``; attrs record the
        method, weights and the Crosta loadings' selected components.

    Raises
    ------
    DataError
        If the layers are misaligned, a weight is negative or unknown, all
        weights are zero or ``method`` is unknown.
    """
    if method not in ("weighted", "gamma"):
        raise DataError(f"method {method!r} is unknown; use 'weighted' or 'gamma'")
    weights = dict(DEFAULT_EVIDENCE_WEIGHTS if evidence_weights is None else evidence_weights)
    unknown = set(weights) - set(DEFAULT_EVIDENCE_WEIGHTS)
    if unknown:
        raise DataError(
            f"unknown evidence layers {sorted(unknown)}; use {sorted(DEFAULT_EVIDENCE_WEIGHTS)}"
        )
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise DataError(f"evidence weights {weights} must be >= 0 with a positive sum")
    sr = _reflectance(sr)
    check_aligned(reflectance=sr.values, lithology=np.asarray(lithology), fault=np.asarray(fault))
    idx = alteration_indices(sr)
    layers: dict[str, np.ndarray] = {}
    attrs: dict[str, str | float] = {"method": method}
    for name in ALTERATION_INDICES:
        if weights.get(name, 0) > 0:
            layers[name] = fuzzy_membership(idx.sel(index=name).values)
    for name, spec in CROSTA_SETS.items():
        if weights.get(name, 0) > 0:
            res = crosta_pca(sr, bands=spec["bands"], bright=spec["bright"], dark=spec["dark"])
            layers[name] = fuzzy_membership(res.component)
            attrs[f"{name}_component"] = f"PC{res.selected + 1}"
            attrs[f"{name}_loadings"] = res.loadings.iloc[res.selected].round(4).to_json()
    if weights.get("lithology", 0) > 0:
        layers["lithology"] = lithology_favourability(lithology, lithology_weights)
    if weights.get("faults", 0) > 0:
        layers["faults"] = fault_proximity(fault, pixel_size=pixel_size, decay_m=fault_decay_m)
    names = list(layers)
    mu = np.stack([layers[n] for n in names])
    if method == "weighted":
        w = np.array([weights[n] for n in names])[:, None, None] * np.isfinite(mu)
        wsum = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(wsum > 0, np.nansum(np.nan_to_num(mu) * w, axis=0) / wsum, np.nan)
    else:
        # memberships are kept inside [0.01, 0.99] for the gamma operator, so
        # that one layer at exactly 0 (e.g. below its 2nd percentile) does not
        # veto all other evidence through the product term
        score = fuzzy_gamma([np.clip(layers[n], 0.01, 0.99) for n in names], gamma=gamma)
        attrs["gamma"] = gamma
    attrs["weights"] = str({n: weights[n] for n in names})
    spatial = [d for d in sr.dims if d != "band"]
    coords = {d: sr[d].values for d in spatial if d in sr.coords}
    data_vars = {"prospectivity": (spatial, score.astype(np.float32))}
    data_vars.update({n: (spatial, layers[n].astype(np.float32)) for n in names})
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _score_truth(
    score: np.ndarray, ore: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(score, dtype=np.float64)
    o = np.asarray(ore)
    if s.shape != o.shape or (valid is not None and np.shape(valid) != s.shape):
        raise DataError(
            f"prospectivity {s.shape}, ore zone {o.shape} and valid {np.shape(valid)} differ in "
            "shape; evaluate on the common grid"
        )
    ok = np.isfinite(s) & np.isfinite(o.astype(np.float64))
    if valid is not None:
        ok &= np.asarray(valid, bool)
    s, y = s[ok], o[ok].astype(np.float64) > 0
    if y.all() or not y.any():
        raise DataError(
            f"the ore zone has {'only ore' if y.all() else 'no ore'} among the {y.size} valid "
            "pixels; the evaluation needs both ore and background"
        )
    return s, y


def prospectivity_auc(
    score: np.ndarray, ore: np.ndarray, *, valid: np.ndarray | None = None
) -> float:
    """ROC AUC of a prospectivity map against the ore zone (``roc_auc_score``).

    Raises
    ------
    DataError
        If the shapes differ or the valid ore zone is all ore or all background.
    """
    s, y = _score_truth(score, ore, valid)
    return float(roc_auc_score(y, s))


def success_rate_curve(
    score: np.ndarray, ore: np.ndarray, *, valid: np.ndarray | None = None, n_points: int = 101
) -> pd.DataFrame:
    """Fraction of ore captured against the fraction of area, ranked by prospectivity.

    Pixels are taken in decreasing order of ``score`` (ties in a stable
    order); the curve is sampled at ``n_points`` evenly spaced area fractions
    from 0 to 1 (linear interpolation between pixels).

    Returns
    -------
    pandas.DataFrame
        ``area_fraction`` and ``ore_fraction`` columns; ``attrs["auc"]`` is
        the area under the curve (0.5 for a random map, 1 for a perfect one
        with a vanishing ore share).

    Raises
    ------
    DataError
        As :func:`prospectivity_auc`, or if ``n_points < 2``.
    """
    if n_points < 2:
        raise DataError(f"n_points={n_points} must be >= 2")
    s, y = _score_truth(score, ore, valid)
    order = np.argsort(-s, kind="stable")
    captured = np.concatenate([[0.0], np.cumsum(y[order]) / y.sum()])
    area = np.arange(captured.size) / s.size
    grid = np.linspace(0.0, 1.0, n_points)
    curve = pd.DataFrame({"area_fraction": grid, "ore_fraction": np.interp(grid, area, captured)})
    curve.attrs["auc"] = float(np.trapezoid(captured, area))
    return curve


def evaluate_prospectivity(
    score: np.ndarray,
    ore: np.ndarray,
    *,
    valid: np.ndarray | None = None,
    top_fraction: float = 0.1,
    n_points: int = 101,
) -> tuple[dict[str, float], pd.DataFrame]:
    """ROC AUC, success-rate curve and ore captured in the top of the ranking.

    Parameters
    ----------
    score, ore, valid
        As :func:`prospectivity_auc`.
    top_fraction
        Area fraction for the ``ore_captured_top`` figure (0.1: the 10 % most
        prospective area).
    n_points
        Samples of the success-rate curve.

    Returns
    -------
    summary : dict
        ``roc_auc``, ``success_auc`` and ``ore_captured_top`` (fraction of ore
        in the top ``top_fraction`` of the area), ``top_fraction``.
    curve : pandas.DataFrame
        The success-rate curve.

    Raises
    ------
    DataError
        As :func:`prospectivity_auc`, or if ``top_fraction`` is not in (0, 1].
    """
    if not 0 < top_fraction <= 1:
        raise DataError(f"top_fraction={top_fraction!r} must lie in (0, 1]")
    auc = prospectivity_auc(score, ore, valid=valid)
    curve = success_rate_curve(score, ore, valid=valid, n_points=n_points)
    s, y = _score_truth(score, ore, valid)
    order = np.argsort(-s, kind="stable")
    k = int(np.ceil(top_fraction * s.size))
    summary = {
        "roc_auc": auc,
        "success_auc": curve.attrs["auc"],
        "ore_captured_top": float(y[order[:k]].sum() / y.sum()),
        "top_fraction": float(top_fraction),
    }
    return summary, curve
