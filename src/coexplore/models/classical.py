"""Classical per-pixel classifiers as scikit-learn pipelines.

Every pipeline starts with a median imputer (features are NaN where a
source has no data, e.g. outside drone flights); distance- and
gradient-based models (SVM, KNN, MLP) standardise the features next. The
five models are those the second seed study compares with its ResNet50
(RF, KNN, SVM, ANN, naive Bayes); all randomness goes through ``seed``.

Examples
--------
>>> clf = make_classifier("rf", seed=0)
>>> [name for name, _ in clf.steps]
['impute', 'model']
"""

from __future__ import annotations

from typing import Any

from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..errors import ConfigError

CLASSIFIERS: dict[str, str] = {
    "rf": "RF",
    "svm": "SVM",
    "knn": "KNN",
    "ann": "ANN",
    "nb": "NB",
}
"""Classifier keys and the display names used in the tables (as in the seed study)."""


def _model(name: str, seed: int, params: dict[str, Any]) -> ClassifierMixin:
    if name == "rf":
        kw = {"n_estimators": 300, "n_jobs": 1, "random_state": seed}
        return RandomForestClassifier(**{**kw, **params})
    if name == "svm":
        probability = bool(params.pop("probability", True))
        kw = {"kernel": "rbf", "C": 10.0, "gamma": "scale", "random_state": seed}
        svc = SVC(**{**kw, **params})
        if not probability:
            return svc
        # Platt scaling by 5-fold cross-validation (what SVC(probability=True) did; that
        # option is deprecated since scikit-learn 1.9); unshuffled folds: deterministic
        return CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False)
    if name == "knn":
        kw = {"n_neighbors": 5, "weights": "distance"}
        return KNeighborsClassifier(**{**kw, **params})
    if name == "ann":
        kw = {"hidden_layer_sizes": (64, 32), "max_iter": 1000, "random_state": seed}
        return MLPClassifier(**{**kw, **params})
    if name == "nb":
        return GaussianNB(**params)
    raise ConfigError(f"unknown classifier {name!r}; choose among {list(CLASSIFIERS)}")


def make_classifier(name: str, *, seed: int, **params: Any) -> Pipeline:
    """A seeded classification pipeline (imputer [+ scaler] + model).

    Parameters
    ----------
    name
        ``"rf"`` (random forest, 300 trees), ``"svm"`` (RBF SVM, C=10,
        gamma="scale", wrapped in Platt calibration for probabilities unless
        ``probability=False``), ``"knn"`` (5 neighbours,
        distance-weighted), ``"ann"`` (MLP 64-32, Adam, up to 1000 epochs) or ``"nb"``
        (Gaussian naive Bayes).
    seed
        Random state of the model (forest, SVM probability calibration, MLP).
    **params
        Model parameters overriding the defaults above (e.g. ``probability=False``).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``impute`` (median), ``scale`` (standardisation; not for RF and
        NB, which are scale invariant) and ``model``.

    Raises
    ------
    ConfigError
        If ``name`` is unknown or a parameter is not accepted by the model.
    """
    try:
        model = _model(name, seed, dict(params))
    except TypeError as exc:
        raise ConfigError(
            f"classifier {name!r} does not accept parameters {params}: {exc}"
        ) from exc
    steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True))
    ]
    if name in ("svm", "knn", "ann"):
        steps.append(("scale", StandardScaler()))
    steps.append(("model", model))
    return Pipeline(steps)
