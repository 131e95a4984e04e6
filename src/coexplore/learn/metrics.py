"""Accuracy assessment of land-use maps.

* :func:`accuracy_report`: overall accuracy, Cohen's kappa, per-class
  precision / recall / F1 and the confusion matrix of a test sample
  (scikit-learn).
* :func:`area_adjusted_accuracy`: the stratified estimators of Olofsson et
  al. (2014), "Good practices for estimating area and assessing accuracy of
  land change", Remote Sensing of Environment 148:42-57:
  with map class ``i`` covering ``W_i`` of the mapped area and an error
  matrix of sample counts ``n_ij`` (rows map class, columns reference class),
  the estimated area proportions ``p_ij = W_i n_ij / n_i.`` give the user's
  accuracy ``U_i = p_ii / p_i.``, the producer's accuracy
  ``P_j = p_jj / p_.j``, the overall accuracy ``O = sum p_jj`` and the
  reference area of each class ``A_tot p_.j``, each with a standard error
  and a 95 % confidence interval (``1.96 SE``).

The estimators assume the test sample was drawn by stratified random
sampling with the map classes as strata (:func:`sample_by_map_class`) or
by simple random sampling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
)

from ..errors import DataError
from ..sensors import LandUse


@dataclass(frozen=True)
class AccuracyReport:
    """Accuracy of a classification on a test sample.

    Attributes
    ----------
    overall_accuracy
        Share of correctly classified samples (0..1).
    kappa
        Cohen's kappa.
    per_class
        Index class code; columns ``name``, ``precision`` (user's accuracy),
        ``recall`` (producer's accuracy), ``f1``, ``support``.
    confusion
        Counts, index reference class, columns predicted class.
    """

    overall_accuracy: float
    kappa: float
    per_class: pd.DataFrame
    confusion: pd.DataFrame


def accuracy_report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    labels: Sequence[int] | None = None,
    class_names: Mapping[int, str] | None = None,
) -> AccuracyReport:
    """OA, kappa, per-class precision/recall/F1 and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred
        Reference and predicted class codes of the test samples.
    labels
        Classes of the tables, in order; the union of both by default.
    class_names
        Names per code; :attr:`coexplore.sensors.LandUse.codes` by default.

    Returns
    -------
    AccuracyReport

    Raises
    ------
    DataError
        If the two vectors differ in length or are empty.
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.size != y_pred.size or y_true.size == 0:
        raise DataError(
            f"{y_true.size} reference and {y_pred.size} predicted labels; "
            "pass two non-empty vectors of equal length"
        )
    if labels is None:
        labels = np.union1d(y_true, y_pred).tolist()
    labels = [int(v) for v in labels]
    names = dict(LandUse.codes if class_names is None else class_names)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_class = pd.DataFrame(
        {
            "name": [names.get(c, str(c)) for c in labels],
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        },
        index=pd.Index(labels, name="class"),
    )
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    confusion = pd.DataFrame(
        cm,
        index=pd.Index(labels, name="reference"),
        columns=pd.Index(labels, name="predicted"),
    )
    return AccuracyReport(
        overall_accuracy=float(accuracy_score(y_true, y_pred)),
        kappa=float(cohen_kappa_score(y_true, y_pred, labels=labels)),
        per_class=per_class,
        confusion=confusion,
    )


@dataclass(frozen=True)
class AreaAdjustedAccuracy:
    """Olofsson et al. (2014) estimates.

    Attributes
    ----------
    overall_accuracy, overall_accuracy_se
        Estimated overall accuracy and its standard error.
    per_class
        Index class code; columns ``map_area``, ``weight`` (``W_i``),
        ``users_accuracy``, ``users_accuracy_se``, ``producers_accuracy``,
        ``producers_accuracy_se``, ``area`` (estimated reference area, unit of
        ``map_area``), ``area_se``, and the 95 % half-widths ``*_ci95``.
    proportions
        Estimated area proportions ``p_ij`` (map x reference).
    z
        The normal quantile of the intervals.
    """

    overall_accuracy: float
    overall_accuracy_se: float
    per_class: pd.DataFrame
    proportions: pd.DataFrame
    z: float

    @property
    def overall_accuracy_ci95(self) -> float:
        """Half-width of the confidence interval of the overall accuracy."""
        return self.z * self.overall_accuracy_se


def area_adjusted_accuracy(
    counts: np.ndarray | pd.DataFrame,
    map_area: Mapping[int, float] | Sequence[float] | np.ndarray,
    *,
    labels: Sequence[int] | None = None,
    z: float = 1.96,
) -> AreaAdjustedAccuracy:
    """Area-weighted accuracy and area estimates (Olofsson et al. 2014).

    Parameters
    ----------
    counts
        Error matrix of sample counts, rows = map class, columns = reference
        class, same class order on both axes (a DataFrame's index gives the
        labels).
    map_area
        Mapped area (pixels, ha, ...) of each class, as ``{class: area}`` or in
        the order of the matrix.
    labels
        Class codes in matrix order (default: the DataFrame index, else 1..k).
    z
        Normal quantile of the confidence intervals (1.96 for 95 %).

    Returns
    -------
    AreaAdjustedAccuracy

    Raises
    ------
    DataError
        A non-square matrix, a map area missing or negative, a mapped class
        with fewer than two samples (its variance needs ``n_i. >= 2``), or no
        mapped area.

    Examples
    --------
    The worked example of Olofsson et al. (2014) (deforestation, forest gain, stable
    forest, stable non-forest; map areas in 30 m pixels):

    >>> n = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
    >>> r = area_adjusted_accuracy(n, [200000, 150000, 3200000, 6450000])
    >>> round(r.overall_accuracy, 2), round(r.overall_accuracy_ci95, 2)
    (0.95, 0.02)
    """
    if isinstance(counts, pd.DataFrame):
        if labels is None:
            labels = [int(v) for v in counts.index]
        n = counts.to_numpy(dtype=np.float64)
    else:
        n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 2 or n.shape[0] != n.shape[1]:
        raise DataError(f"error matrix of shape {n.shape} is not square (map x reference)")
    k = n.shape[0]
    labels = list(range(1, k + 1)) if labels is None else [int(v) for v in labels]
    if len(labels) != k:
        raise DataError(f"{len(labels)} labels for a {k} x {k} error matrix")
    if isinstance(map_area, Mapping):
        missing = [c for c in labels if c not in map_area]
        if missing:
            raise DataError(f"no map area given for class(es) {missing}; give one per matrix class")
        a = np.array([float(map_area[c]) for c in labels])
    else:
        a = np.asarray(map_area, dtype=np.float64)
        if a.shape != (k,):
            raise DataError(f"{a.size} map areas for {k} classes; give one per matrix class")
    if (a < 0).any() or not np.isfinite(a).all() or a.sum() <= 0:
        raise DataError(f"map areas {a.tolist()} must be finite, non-negative and not all zero")
    n_i = n.sum(axis=1)
    thin = [labels[i] for i in range(k) if a[i] > 0 and n_i[i] < 2]
    if thin:
        raise DataError(
            f"mapped class(es) {thin} have fewer than 2 test samples; the stratified variance "
            "needs at least 2 per mapped class: sample more (sample_by_map_class)"
        )
    a_tot = a.sum()
    w = a / a_tot
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n_i[:, None] > 0, n / n_i[:, None], 0.0)  # n_ij / n_i.
        p = w[:, None] * share  # estimated area proportions
        denom = np.where(n_i > 1, n_i - 1.0, np.inf)
        users = np.where(n_i > 0, np.diag(share), np.nan)
        users_var = users * (1 - users) / denom
        overall = float(np.trace(p))
        overall_var = float(np.nansum(w**2 * users * (1 - users) / denom))
        p_ref = p.sum(axis=0)  # estimated reference proportions p_.j
        producers = np.where(p_ref > 0, np.diag(p) / p_ref, np.nan)
        # variance of P_j: N_j. mapped area of class j, N^_.j = sum_i N_i. n_ij / n_i.
        n_hat = (a[:, None] * share).sum(axis=0)
        producers_var = np.full(k, np.nan)
        for j in range(k):
            if n_hat[j] <= 0:
                continue
            own = a[j] ** 2 * (1 - producers[j]) ** 2 * users[j] * (1 - users[j]) / denom[j]
            others = sum(
                a[i] ** 2 * share[i, j] * (1 - share[i, j]) / denom[i] for i in range(k) if i != j
            )
            if not np.isfinite(own):
                own = 0.0
            producers_var[j] = (own + producers[j] ** 2 * others) / n_hat[j] ** 2
        area_se = a_tot * np.sqrt((w[:, None] ** 2 * share * (1 - share) / denom[:, None]).sum(0))
    table = pd.DataFrame(
        {
            "map_area": a,
            "weight": w,
            "users_accuracy": users,
            "users_accuracy_se": np.sqrt(users_var),
            "producers_accuracy": producers,
            "producers_accuracy_se": np.sqrt(producers_var),
            "area": a_tot * p_ref,
            "area_se": area_se,
        },
        index=pd.Index(labels, name="class"),
    )
    for col in ("users_accuracy", "producers_accuracy", "area"):
        table[f"{col}_ci95"] = z * table[f"{col}_se"]
    return AreaAdjustedAccuracy(
        overall_accuracy=overall,
        overall_accuracy_se=float(np.sqrt(overall_var)),
        per_class=table,
        proportions=pd.DataFrame(
            p, index=pd.Index(labels, name="map"), columns=pd.Index(labels, name="reference")
        ),
        z=float(z),
    )


def map_class_areas(
    class_map: np.ndarray, *, labels: Sequence[int], pixel_area: float = 1.0, nodata: int = 0
) -> dict[int, float]:
    """Mapped area of each class (pixel count times ``pixel_area``).

    Parameters
    ----------
    class_map
        Map of class codes.
    labels
        Classes counted.
    pixel_area
        Area of one pixel (e.g. 100 m^2 at 10 m, 0.01 ha).
    nodata
        Code not counted.

    Returns
    -------
    dict of int to float
    """
    m = np.asarray(class_map)
    return {int(c): float(np.count_nonzero(m == c)) * pixel_area for c in labels if c != nodata}


def sample_by_map_class(
    class_map: np.ndarray,
    reference: np.ndarray,
    *,
    per_class: int,
    seed: int | np.random.Generator,
    mask: np.ndarray | None = None,
    nodata: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified random sample by map class, for :func:`area_adjusted_accuracy`.

    Parameters
    ----------
    class_map
        Predicted map (y, x).
    reference
        Ground truth (y, x); ``nodata`` cells are not sampled.
    per_class
        Samples per map class (all cells of a class that has fewer).
    seed
        Seed or generator.
    mask
        Cells eligible (e.g. the test split); all by default.
    nodata
        Nodata code of both rasters.

    Returns
    -------
    tuple of numpy.ndarray
        ``(map labels, reference labels, flat cell indices)`` of the sample.

    Raises
    ------
    DataError
        If the rasters differ in shape or no cell is eligible.
    """
    m = np.asarray(class_map)
    ref = np.asarray(reference)
    if m.shape != ref.shape or (mask is not None and np.shape(mask) != m.shape):
        raise DataError(
            f"map {m.shape}, reference {ref.shape} and mask {np.shape(mask)} differ in shape"
        )
    ok = (m != nodata) & (ref != nodata)
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    if not ok.any():
        raise DataError("no cell is both mapped and labelled (and in the mask); nothing to sample")
    rng = np.random.default_rng(seed)
    flat_m, flat_ok = m.ravel(), ok.ravel()
    picks = []
    for c in np.unique(flat_m[flat_ok]):
        cells = np.flatnonzero(flat_ok & (flat_m == c))
        picks.append(rng.choice(cells, size=min(per_class, cells.size), replace=False))
    idx = np.sort(np.concatenate(picks))
    return flat_m[idx], ref.ravel()[idx], idx
