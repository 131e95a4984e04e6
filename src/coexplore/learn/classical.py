"""Pixel sampling and the feature-selection experiment of the second seed study.

The seed study (land use of open-pit mining areas from multi-source
time-series features) reports, on Relief-F + RF selected features, OA
95.36 % / kappa 0.942 for ResNet50 against RF 94.08, KNN 92.92, SVM 91.52,
ANN 86.64 and naive Bayes 77.35 (its Table 3), and for ResNet50 all features
94.20, RF-selected 94.97, Relief-F-selected 95.10 and combined 95.36 (its
Table 5 / Fig. 7). :func:`run_selection_experiment` produces the same tables
for the classical classifiers on our cubes, with training and test pixels
from spatially separate blocks (:func:`coexplore.learn.splits.spatial_blocks`);
:data:`SEED_TABLE3` and :data:`SEED_TABLE5` hold the published figures to
place beside ours. The leaky random pixel split
(:func:`coexplore.learn.splits.random_pixel_split`) can be passed instead to
show how much neighbouring train/test pixels inflate the accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.metrics import accuracy_score, cohen_kappa_score

from ..errors import ConfigError, DataError
from ..features.selection import METHODS, select_features
from ..models.classical import CLASSIFIERS, make_classifier
from ..sensors import LandUse
from .splits import TEST, TRAIN, random_pixel_split, spatial_blocks

METHOD_LABELS: dict[str, str] = {
    "all": "All features",
    "rf": "RF",
    "relieff": "Relief-F",
    "combined": "Relief-F + RF",
}
"""Column labels of the selection methods (as in the seed's Table 5)."""

SEED_TABLE3 = pd.DataFrame(
    {
        "OA": [95.36, 94.08, 92.92, 91.52, 86.64, 77.35],
        "Kappa": [0.942, np.nan, np.nan, np.nan, np.nan, np.nan],
    },
    index=pd.Index(["ResNet50", "RF", "KNN", "SVM", "ANN", "NB"], name="classifier"),
)
"""Seed study, Table 3: OA (%) and kappa on Relief-F + RF selected features.
Only ResNet50's kappa is transcribed here; the other kappas are NaN (not
copied), not zero."""

SEED_TABLE5 = pd.DataFrame(
    {"OA": [94.20, 94.97, 95.10, 95.36]},
    index=pd.Index(["all", "rf", "relieff", "combined"], name="method"),
)
"""Seed study, Table 5 / Fig. 7: ResNet50 OA (%) by feature selection method."""


@dataclass(frozen=True)
class PixelSamples:
    """Training and test pixels drawn from a feature stack.

    Attributes
    ----------
    x_train, y_train, x_test, y_test
        Features (samples, features) and class codes.
    rows_train, cols_train, rows_test, cols_test
        Grid positions of the samples.
    feature_names
        Column names of the feature matrices.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    rows_train: np.ndarray
    cols_train: np.ndarray
    rows_test: np.ndarray
    cols_test: np.ndarray
    feature_names: list[str]


def make_splits(
    shape: tuple[int, int],
    *,
    scheme: str = "blocked",
    block_size: int = 32,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    seed: int,
) -> np.ndarray:
    """Split codes (0 train, 1 val, 2 test) of every pixel.

    Parameters
    ----------
    shape
        (height, width).
    scheme
        ``"blocked"`` (:func:`~coexplore.learn.splits.spatial_blocks`) or
        ``"random"`` (leaky pixel-wise split, for comparison).
    block_size
        Block edge in pixels (blocked scheme).
    fractions
        Train, val, test shares.
    seed
        Seed of the split.

    Returns
    -------
    numpy.ndarray
        int8 (height, width).

    Raises
    ------
    ConfigError
        If ``scheme`` is unknown.
    """
    if scheme == "blocked":
        return spatial_blocks(shape, block_size, fractions=fractions, seed=seed)
    if scheme == "random":
        return random_pixel_split(shape, fractions=fractions, seed=seed)
    raise ConfigError(f"split scheme {scheme!r} unknown; use 'blocked' or 'random'")


def _class_name(code: int) -> str:
    return f"{code} ({LandUse.codes.get(int(code), 'unknown')})"


def sample_pixels(
    features: xr.DataArray,
    labels: xr.DataArray | np.ndarray,
    splits: np.ndarray,
    *,
    per_class: int,
    seed: int | np.random.Generator,
    per_class_test: int | None = None,
    nodata: int = LandUse.nodata,
) -> PixelSamples:
    """Stratified sample of training and test pixels.

    For each class of the ground truth, up to ``per_class`` training pixels
    are drawn without replacement from the pixels of split ``TRAIN`` and up to
    ``per_class_test`` test pixels from split ``TEST``. With a spatially
    blocked split no test pixel shares a block with a training pixel.

    Parameters
    ----------
    features
        dims (feature, y, x).
    labels
        Ground-truth class codes (y, x); ``nodata`` = unlabelled.
    splits
        Split codes (y, x) from :func:`make_splits`.
    per_class
        Training pixels per class.
    seed
        Seed or generator of the draw.
    per_class_test
        Test pixels per class; ``per_class`` by default.
    nodata
        Label of unlabelled pixels.

    Returns
    -------
    PixelSamples

    Raises
    ------
    DataError
        Shapes differ; a class of the ground truth has no training pixel (the
        message names it); no test pixel; ``per_class < 1``.
    """
    if per_class < 1:
        raise DataError(f"per_class={per_class} draws no training pixel; use at least 1")
    features = features.transpose("feature", "y", "x")
    lab = np.asarray(labels.values if isinstance(labels, xr.DataArray) else labels)
    spl = np.asarray(splits)
    grid = features.shape[1:]
    if lab.shape != grid or spl.shape != grid:
        raise DataError(
            f"features grid {grid}, labels {lab.shape} and splits {spl.shape} differ; "
            "put them on the same grid"
        )
    values = np.asarray(features.values, dtype=np.float32)
    has_data = np.isfinite(values).any(axis=0)
    valid = (lab != nodata) & has_data
    classes = sorted(int(c) for c in np.unique(lab[valid]))
    if not classes:
        raise DataError(
            "the ground truth has no labelled pixel with features; check labels and stack"
        )
    rng = np.random.default_rng(seed)
    n_test = per_class if per_class_test is None else per_class_test

    def draw(code: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        picked = []
        for c in classes:
            cells = np.flatnonzero((valid & (spl == code) & (lab == c)).ravel())
            if cells.size:
                picked.append(rng.choice(cells, size=min(n, cells.size), replace=False))
        idx = np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=int)
        return np.unravel_index(idx, grid)

    r_tr, c_tr = draw(TRAIN, per_class)
    r_te, c_te = draw(TEST, n_test)
    y_tr, y_te = lab[r_tr, c_tr], lab[r_te, c_te]
    absent = [c for c in classes if c not in set(y_tr.tolist())]
    if absent:
        in_test = set(y_te.tolist())
        detail = ", ".join(
            f"{_class_name(c)}{' (present in the test split)' if c in in_test else ''}"
            for c in absent
        )
        raise DataError(
            f"class(es) {detail} of the ground truth have no training pixel; "
            "use smaller blocks, another split seed, or more training area"
        )
    if y_te.size == 0:
        raise DataError(
            "the test split holds no labelled pixel; use smaller blocks or another seed"
        )
    return PixelSamples(
        x_train=values[:, r_tr, c_tr].T,
        y_train=y_tr,
        x_test=values[:, r_te, c_te].T,
        y_test=y_te,
        rows_train=r_tr,
        cols_train=c_tr,
        rows_test=r_te,
        cols_test=c_te,
        feature_names=[str(f) for f in features["feature"].values],
    )


def run_selection_experiment(
    features: xr.DataArray,
    labels: xr.DataArray | np.ndarray,
    splits: np.ndarray,
    *,
    classifiers: Sequence[str] = tuple(CLASSIFIERS),
    methods: Sequence[str] = METHODS,
    k: int | None = None,
    fraction: float | None = 0.3,
    per_class: int = 200,
    per_class_test: int | None = None,
    seed: int,
    n_estimators_selection: int = 200,
) -> pd.DataFrame:
    """Accuracy of each classifier on all / RF / Relief-F / combined features.

    Features are selected on the training pixels only (never the test
    pixels), then every classifier is trained on the selected features and
    scored on the test pixels.

    Parameters
    ----------
    features
        Feature stack (feature, y, x).
    labels
        Ground truth (y, x), 0 = unlabelled.
    splits
        Split codes (y, x) (:func:`make_splits`).
    classifiers
        Keys of :data:`coexplore.models.classical.CLASSIFIERS`.
    methods
        Selection methods (:data:`coexplore.features.selection.METHODS`).
    k, fraction
        Features kept by the selecting methods (one of the two).
    per_class, per_class_test
        Pixels per class drawn for training and test.
    seed
        Seed of the sampling, the selection and the classifiers.
    n_estimators_selection
        Trees of the importance forest.

    Returns
    -------
    pandas.DataFrame
        Index classifier display name (RF, SVM, KNN, ANN, NB); columns
        MultiIndex (method, metric) with metric ``OA`` (%) and ``Kappa``.
        ``attrs`` hold the selected feature names per method and the sample
        sizes.

    Raises
    ------
    ConfigError
        An unknown classifier or method.
    DataError
        As :func:`sample_pixels` and :func:`coexplore.features.selection.select_features`.
    """
    unknown = [c for c in classifiers if c not in CLASSIFIERS]
    if unknown:
        raise ConfigError(f"unknown classifier(s) {unknown}; choose among {list(CLASSIFIERS)}")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ConfigError(f"unknown selection method(s) {bad}; choose among {list(METHODS)}")
    samples = sample_pixels(
        features, labels, splits, per_class=per_class, per_class_test=per_class_test, seed=seed
    )
    rows = {CLASSIFIERS[c]: {} for c in classifiers}
    selected: dict[str, list[str]] = {}
    for method in methods:
        sel = select_features(
            samples.x_train,
            samples.y_train,
            samples.feature_names,
            method=method,
            k=k if method != "all" else None,
            fraction=fraction if method != "all" and k is None else None,
            seed=seed,
            n_estimators=n_estimators_selection,
        )
        selected[method] = sel.names
        x_tr, x_te = samples.x_train[:, sel.indices], samples.x_test[:, sel.indices]
        for name in classifiers:
            params = {"probability": False} if name == "svm" else {}
            model = make_classifier(name, seed=seed, **params).fit(x_tr, samples.y_train)
            pred = model.predict(x_te)
            rows[CLASSIFIERS[name]][(method, "OA")] = 100.0 * accuracy_score(samples.y_test, pred)
            rows[CLASSIFIERS[name]][(method, "Kappa")] = cohen_kappa_score(samples.y_test, pred)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["method", "metric"])
    table.index.name = "classifier"
    table.attrs.update(
        {
            "selected": selected,
            "n_train": int(samples.y_train.size),
            "n_test": int(samples.y_test.size),
            "n_features": len(samples.feature_names),
        }
    )
    return table


def compare_with_seed(ours: pd.DataFrame, *, method: str = "combined") -> pd.DataFrame:
    """Our accuracies beside the seed study's Table 3.

    Parameters
    ----------
    ours
        From :func:`run_selection_experiment`.
    method
        Which of our selection methods to compare (the seed's Table 3 used
        Relief-F + RF selected features: ``"combined"``).

    Returns
    -------
    pandas.DataFrame
        Index classifier (seed's and ours); columns ``seed_OA``, ``seed_Kappa``,
        ``ours_OA``, ``ours_Kappa`` (NaN where a side has no such row).

    Raises
    ------
    DataError
        If ``ours`` has no column for ``method``.
    """
    if method not in ours.columns.get_level_values("method"):
        raise DataError(
            f"our table has no method {method!r}; it has {sorted(set(ours.columns.get_level_values('method')))}"
        )
    mine = ours[method].rename(columns={"OA": "ours_OA", "Kappa": "ours_Kappa"})
    seed = SEED_TABLE3.rename(columns={"OA": "seed_OA", "Kappa": "seed_Kappa"})
    out = seed.join(mine, how="outer")
    order = [c for c in SEED_TABLE3.index if c in out.index] + [
        c for c in out.index if c not in SEED_TABLE3.index
    ]
    return out.loc[order]


def compare_selection_with_seed(ours: pd.DataFrame) -> pd.DataFrame:
    """Our OA per selection method beside the seed's Table 5 (ResNet50).

    Parameters
    ----------
    ours
        From :func:`run_selection_experiment`.

    Returns
    -------
    pandas.DataFrame
        Index method; columns ``seed_ResNet50_OA`` and ``ours_<classifier>_OA``.
    """
    oa = ours.xs("OA", axis=1, level="metric").T
    oa.columns = [f"ours_{c}_OA" for c in oa.columns]
    seed = SEED_TABLE5.rename(columns={"OA": "seed_ResNet50_OA"})
    out = seed.join(oa, how="outer")
    return out.loc[[m for m in METHODS if m in out.index]].rename(index=METHOD_LABELS)
