"""Feature selection: Relief-F, random-forest importance and their combination.

* Relief-F (Kononenko 1994; Robnik-Sikonja & Kononenko 2003): for sampled
  instances R, the k nearest hits H (same class) and the k nearest misses
  M(C) of every other class C are found with the Manhattan distance on
  range-scaled features, and the weight of feature A is updated as ::

      W[A] -= sum_j diff(A, R, H_j) / (m k)
      W[A] += sum_{C != class(R)} P(C) / (1 - P(class(R))) sum_j diff(A, R, M_j(C)) / (m k)

  with ``diff = |a - b| / (max A - min A)``. Neighbours are searched with
  :class:`sklearn.neighbors.NearestNeighbors` per class. The update rule is
  written out here rather than taken from scikit-rebate (0.8.4 installs and
  gives the same weights on two-class data) because its multiclass ReliefF
  weights the misses by their share among the pooled neighbours instead of
  Kononenko's class priors ``P(C) / (1 - P(class(R)))``, and it builds the
  full O(n^2) distance matrix (about 6 times slower on 2000 x 100 samples).
* Random forest importance (:class:`sklearn.ensemble.RandomForestClassifier`):
  mean decrease in impurity, or permutation importance on a held-out,
  stratified 30 % of the samples.
* Combined ranking: each method ranks the features (1 = best, ties share
  the mean rank), ranks are normalised to [0, 1] by ``(rank - 1) / (p - 1)``
  and averaged; the combined score is ``1 - mean normalised rank`` (1 = first
  for every method). Averaging ranks rather than scores makes the two
  methods' very different score scales irrelevant.

Missing values (NaN, e.g. outside drone flights) are imputed by the column
median of the samples before scoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors

from ..errors import ConfigError, DataError

METHODS: tuple[str, ...] = ("all", "rf", "relieff", "combined")


def _check_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise DataError(
            f"features of shape {x.shape} and labels of shape {y.shape} do not match; "
            "pass X (samples, features) and y (samples,)"
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"feature matrix of shape {x.shape} is empty; nothing to select from")
    if np.unique(y).size < 2:
        raise DataError(
            f"labels hold a single class {np.unique(y).tolist()}; selection needs two or more"
        )
    return x, y


def relieff_scores(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_neighbors: int = 10,
    n_samples: int | None = None,
    seed: int | np.random.Generator,
) -> np.ndarray:
    """Relief-F feature weights (Kononenko 1994).

    Parameters
    ----------
    x
        (samples, features) finite values.
    y
        (samples,) class labels.
    n_neighbors
        k nearest hits and misses per class.
    n_samples
        Number of instances R drawn (without replacement); all by default.
    seed
        Seed or generator of the instance draw.

    Returns
    -------
    numpy.ndarray
        Weight per feature in [-1, 1]; higher = more relevant. A constant
        feature scores 0.

    Raises
    ------
    DataError
        If shapes mismatch, there is a single class, or ``x`` holds NaN.
    """
    x, y = _check_xy(x, y)
    if not np.isfinite(x).all():
        raise DataError("Relief-F needs finite features; impute NaN first (select_features does)")
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = hi - lo
    xs = np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.0)
    n, p = xs.shape
    rng = np.random.default_rng(seed)
    chosen = (
        np.arange(n)
        if n_samples is None or n_samples >= n
        else np.sort(rng.choice(n, n_samples, replace=False))
    )
    m = chosen.size
    classes, counts = np.unique(y, return_counts=True)
    prior = dict(zip(classes.tolist(), (counts / n).tolist(), strict=True))
    members = {c: np.flatnonzero(y == c) for c in classes.tolist()}
    finders = {c: NearestNeighbors(metric="manhattan").fit(xs[idx]) for c, idx in members.items()}
    weights = np.zeros(p)
    for c in classes.tolist():
        rows = chosen[y[chosen] == c]
        if rows.size == 0:
            continue
        r = xs[rows]
        k_hit = min(n_neighbors, members[c].size - 1)
        if k_hit > 0:
            _, nb = finders[c].kneighbors(r, n_neighbors=k_hit + 1)
            nb = members[c][nb]
            # drop each instance itself (not simply the first column: duplicates tie at 0)
            is_self = nb == rows[:, None]
            no_self = ~is_self.any(axis=1)
            is_self[no_self, -1] = True
            hits = nb[~is_self].reshape(rows.size, k_hit)
            weights -= np.abs(xs[hits] - r[:, None, :]).sum(axis=(0, 1)) / (m * k_hit)
        for other in classes.tolist():
            if other == c:
                continue
            k_miss = min(n_neighbors, members[other].size)
            _, nb = finders[other].kneighbors(r, n_neighbors=k_miss)
            misses = members[other][nb]
            factor = prior[other] / (1.0 - prior[c])
            weights += factor * np.abs(xs[misses] - r[:, None, :]).sum(axis=(0, 1)) / (m * k_miss)
    return weights


def rf_importance(
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    kind: str = "impurity",
    n_estimators: int = 200,
    n_jobs: int = 1,
) -> np.ndarray:
    """Random-forest feature importance.

    Parameters
    ----------
    x, y
        (samples, features) finite values and (samples,) labels.
    seed
        Seed of the forest (and of the held-out split for permutation).
    kind
        ``"impurity"`` (mean decrease in impurity) or ``"permutation"``
        (mean drop in accuracy on a stratified held-out 30 %, 5 repeats).
    n_estimators
        Trees.
    n_jobs
        Parallel jobs of the forest.

    Returns
    -------
    numpy.ndarray
        Importance per feature; higher = more relevant.

    Raises
    ------
    ConfigError
        If ``kind`` is unknown.
    DataError
        If shapes mismatch or there is a single class.
    """
    x, y = _check_xy(x, y)
    if kind not in ("impurity", "permutation"):
        raise ConfigError(f"RF importance kind={kind!r}; use 'impurity' or 'permutation'")
    forest = RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=n_jobs)
    if kind == "impurity":
        return forest.fit(x, y).feature_importances_
    x_fit, x_val, y_fit, y_val = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=seed
    )
    forest.fit(x_fit, y_fit)
    result = permutation_importance(
        forest, x_val, y_val, n_repeats=5, random_state=seed, n_jobs=n_jobs
    )
    return result.importances_mean


def combined_ranking(scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """Combine several score vectors by their mean normalised rank.

    Parameters
    ----------
    scores
        Score per feature for each method (higher = better).

    Returns
    -------
    numpy.ndarray
        ``1 - mean_m (rank_m - 1) / (p - 1)`` per feature, in [0, 1]; 1 = ranked
        first by every method.

    Raises
    ------
    DataError
        If no score is given or the vectors differ in length.

    Examples
    --------
    >>> combined_ranking({"a": np.array([3.0, 2.0, 1.0]), "b": np.array([0.1, 0.3, 0.2])})
    array([0.5 , 0.75, 0.25])
    """
    if not scores:
        raise DataError("combined_ranking got no score vector")
    arrays = [np.asarray(v, dtype=np.float64) for v in scores.values()]
    p = arrays[0].size
    if any(a.size != p for a in arrays):
        raise DataError(f"score vectors of lengths {[a.size for a in arrays]} differ")
    if p == 1:
        return np.ones(1)
    norm = [(rankdata(-a, method="average") - 1.0) / (p - 1.0) for a in arrays]
    return 1.0 - np.mean(norm, axis=0)


@dataclass(frozen=True)
class SelectionResult:
    """Outcome of :func:`select_features`.

    Attributes
    ----------
    method
        The selection method.
    names
        Selected feature names, best first (input order for ``"all"``).
    indices
        Their column indices in the input.
    scores
        Per-feature table (input order): the scores computed (``relieff``,
        ``rf``, ``combined``), the ``rank`` by the method (1 = best) and
        ``selected``.
    """

    method: str
    names: list[str]
    indices: np.ndarray
    scores: pd.DataFrame


def select_features(
    x: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    method: str,
    k: int | None = None,
    fraction: float | None = None,
    seed: int,
    n_neighbors: int = 10,
    n_estimators: int = 200,
    rf_kind: str = "impurity",
    relieff_samples: int | None = None,
    n_jobs: int = 1,
) -> SelectionResult:
    """Select features by Relief-F, random forest importance, both, or none.

    Parameters
    ----------
    x
        (samples, features); NaN are imputed by the column median.
    y
        (samples,) class labels.
    names
        Feature names (one per column).
    method
        ``"all"`` (keep every feature), ``"rf"``, ``"relieff"`` or ``"combined"``
        (mean normalised rank of both).
    k, fraction
        Number, or fraction of the features (rounded), to keep; exactly one
        unless ``method="all"``.
    seed
        Seed of the forest and of the Relief-F instance draw.
    n_neighbors
        Relief-F k.
    n_estimators
        Trees of the importance forest.
    rf_kind
        ``"impurity"`` or ``"permutation"`` (:func:`rf_importance`).
    relieff_samples
        Relief-F instances drawn; all by default.
    n_jobs
        Parallel jobs of the forest.

    Returns
    -------
    SelectionResult

    Raises
    ------
    DataError
        Shapes or names mismatch, a single class, or an empty selection
        (``k < 1`` or ``fraction`` rounding to no feature) or ``k`` beyond the
        number of features.
    ConfigError
        Unknown method, or not exactly one of ``k`` / ``fraction``.
    """
    if method not in METHODS:
        raise ConfigError(f"selection method {method!r} unknown; choose among {list(METHODS)}")
    x, y = _check_xy(x, y)
    names = [str(n) for n in names]
    p = x.shape[1]
    if len(names) != p:
        raise DataError(
            f"{len(names)} feature names for {p} feature columns; give one name per column"
        )
    if method == "all":
        table = pd.DataFrame({"rank": np.arange(1, p + 1), "selected": True}, index=names)
        return SelectionResult(method, names, np.arange(p), table)
    if (k is None) == (fraction is None):
        raise ConfigError(
            f"give exactly one of k={k} and fraction={fraction} for method {method!r}"
        )
    n_keep = int(k) if k is not None else int(round(float(fraction) * p))
    if n_keep < 1:
        raise DataError(
            f"selection keeps no feature (k={k}, fraction={fraction} of {p} features); "
            "raise k or fraction"
        )
    if n_keep > p:
        raise DataError(f"k={n_keep} exceeds the {p} features; lower k")
    filled = SimpleImputer(strategy="median", keep_empty_features=True).fit_transform(x)
    scores: dict[str, np.ndarray] = {}
    if method in ("relieff", "combined"):
        scores["relieff"] = relieff_scores(
            filled, y, n_neighbors=n_neighbors, n_samples=relieff_samples, seed=seed
        )
    if method in ("rf", "combined"):
        scores["rf"] = rf_importance(
            filled, y, seed=seed, kind=rf_kind, n_estimators=n_estimators, n_jobs=n_jobs
        )
    if method == "combined":
        scores["combined"] = combined_ranking({m: scores[m] for m in ("relieff", "rf")})
    key = scores[method]
    order = np.argsort(-key, kind="stable")
    rank = np.empty(p, dtype=int)
    rank[order] = np.arange(1, p + 1)
    chosen = order[:n_keep]
    table = pd.DataFrame(scores, index=names)
    table["rank"] = rank
    table["selected"] = np.isin(np.arange(p), chosen)
    return SelectionResult(method, [names[i] for i in chosen], chosen, table)
