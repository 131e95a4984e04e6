"""Evaluation of the deep models: scikit-learn metrics, per-sample
predictions (kept for McNemar tests) and a comparison table that puts the
first seed's published figures beside ours."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
    r2_score,
)
from torch import nn
from torch.utils.data import DataLoader

from ..errors import DataError
from ..io.atomic import atomic_path
from ..sensors import LandUse
from .samples import SampleDataset
from .train import resolve_device

#: Where the published figures come from.
PUBLISHED_SOURCE = "first seed, Fig. 6"

#: Accuracy and recall (fractions) published by the first seed (Fig. 6) on its
#: own study area; not re-measured here. The seed gives no figures for the
#: multimodal DNN or ResNet-50.
PUBLISHED_FIRST_SEED: dict[str, dict[str, float]] = {
    "cnn_lstm": {"accuracy": 0.856, "recall": 0.823},
    "cnn": {"accuracy": 0.782, "recall": 0.754},
    "lstm": {"accuracy": 0.791, "recall": 0.770},
    "transformer": {"accuracy": 0.845, "recall": 0.808},
}

CLASS_CODES: tuple[int, ...] = tuple(sorted(LandUse.codes))


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    *,
    labels: Sequence[int] = CLASS_CODES,
) -> dict:
    """Accuracy, macro precision/recall/F1, Cohen's kappa and the confusion matrix.

    Macro averages run over the classes present in ``y_true`` or ``y_pred``
    (a class absent from both has no defined precision or recall); the
    confusion matrix always has one row and column per entry of ``labels``.

    Parameters
    ----------
    y_true, y_pred
        Class codes.
    labels
        Class codes of the confusion matrix rows/columns.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1``, ``kappa``, ``n``,
        ``confusion`` (nested list, rows = truth), ``labels``.

    Raises
    ------
    DataError
        If the inputs are empty or differ in length.

    Examples
    --------
    >>> m = classification_metrics([1, 1, 2, 2], [1, 2, 2, 2], labels=[1, 2])
    >>> m["accuracy"], m["recall"]
    (0.75, 0.75)
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.size == 0 or y_true.shape != y_pred.shape:
        raise DataError(
            f"cannot score {y_true.size} truths against {y_pred.size} predictions; "
            "give two non-empty arrays of one length"
        )
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=present, average="macro", zero_division=0
    )
    kappa = cohen_kappa_score(y_true, y_pred) if len(present) > 1 else 1.0
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "kappa": float(kappa),
        "n": int(y_true.size),
        "confusion": confusion_matrix(y_true, y_pred, labels=list(labels)).tolist(),
        "labels": list(labels),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """RMSE, MAE and R^2 of the disturbed-fraction regression.

    Raises
    ------
    DataError
        If the inputs are empty.

    Examples
    --------
    >>> regression_metrics(np.array([0.0, 1.0]), np.array([0.0, 0.5]))["mae"]
    0.25
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.size == 0:
        raise DataError("no regression target to score; the split is empty")
    r2 = float(r2_score(y_true, y_pred)) if y_true.size > 1 else float("nan")
    return {
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": r2,
    }


def predict(
    model: nn.Module,
    dataset: SampleDataset,
    *,
    batch_size: int = 256,
    device: str = "auto",
) -> pd.DataFrame:
    """Per-sample predictions of a split.

    Parameters
    ----------
    model
        A model returning ``(logits, regression, attention)``.
    dataset
        The split's samples.
    batch_size
        Samples per forward pass.
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"`` (bf16 autocast on CUDA).

    Returns
    -------
    pandas.DataFrame
        One row per sample: ``sample``, ``year``, ``row``, ``col``,
        ``true_class``, ``pred_class``, ``correct``, ``prob_<code>`` for each
        class, ``target``, ``pred_target``.

    Raises
    ------
    DataError
        If the split is empty.
    """
    if len(dataset) == 0:
        raise DataError(f"{dataset.data_dir}: split {dataset.split!r} has no sample to predict")
    dev = resolve_device(device)
    model = model.to(dev).eval()
    probs, regs = [], []
    cast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if dev.type == "cuda"
        else contextlib.nullcontext()
    )
    with torch.inference_mode(), cast:
        for x, ext, _, _ in DataLoader(dataset, batch_size=batch_size):
            logits, regression, _ = model(x.to(dev), ext.to(dev))
            probs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
            regs.append(regression.float().cpu().numpy())
    prob = np.concatenate(probs)
    codes = np.asarray(CLASS_CODES)
    pos = dataset.positions
    frame = pd.DataFrame(
        {
            "sample": np.arange(len(dataset)),
            "year": pos[:, 0],
            "row": pos[:, 1],
            "col": pos[:, 2],
            "true_class": dataset.labels.astype(int),
            "pred_class": codes[prob.argmax(axis=1)],
        }
    )
    frame["correct"] = frame["true_class"] == frame["pred_class"]
    for k, code in enumerate(codes):
        frame[f"prob_{code}"] = prob[:, k]
    frame["target"] = dataset.targets
    frame["pred_target"] = np.concatenate(regs)
    return frame


def evaluate(
    model: nn.Module,
    data_dir: str | Path,
    *,
    split: str = "test",
    batch_size: int = 256,
    device: str = "auto",
    predictions_path: str | Path | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Score a model on one split and optionally save its per-sample predictions.

    Parameters
    ----------
    model
        Trained model (e.g. from :func:`coexplore.learn.train.load_trained`).
    data_dir
        Sample folder.
    split
        Split to score.
    batch_size, device
        As in :func:`predict`.
    predictions_path
        CSV written atomically with :func:`predict`'s table.

    Returns
    -------
    tuple
        Metrics (classification metrics plus ``rmse``, ``mae``, ``r2`` of the
        regression) and the predictions table.

    Raises
    ------
    DataError
        If the split is empty.
    """
    dataset = SampleDataset(data_dir, split)
    frame = predict(model, dataset, batch_size=batch_size, device=device)
    metrics = classification_metrics(frame["true_class"], frame["pred_class"])
    metrics.update(regression_metrics(frame["target"], frame["pred_target"]))
    if predictions_path is not None:
        save_table(frame, predictions_path)
    return metrics, frame


def save_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a table atomically as CSV."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def comparison_table(
    ours: Mapping[str, Mapping[str, float]],
    *,
    published: Mapping[str, Mapping[str, float]] = PUBLISHED_FIRST_SEED,
) -> pd.DataFrame:
    """Our metrics per model beside the first seed's published ones.

    Parameters
    ----------
    ours
        Model name -> metrics (at least ``accuracy`` and ``recall``).
    published
        Model name -> published metrics (default: :data:`PUBLISHED_FIRST_SEED`).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``source`` (``"this run"`` or :data:`PUBLISHED_SOURCE`),
        ``accuracy``, ``recall``, ``precision``, ``f1``, ``kappa`` (NaN where a
        source has no figure); two rows per model that either source covers.

    Examples
    --------
    >>> t = comparison_table({"cnn_lstm": {"accuracy": 0.8, "recall": 0.7}})
    >>> t[t.model == "cnn_lstm"].source.tolist()
    ['this run', 'first seed, Fig. 6']
    """
    columns = ["accuracy", "recall", "precision", "f1", "kappa"]
    rows = []
    for name in list(dict.fromkeys([*ours, *published])):
        for source, table in (("this run", ours), (PUBLISHED_SOURCE, published)):
            values = table.get(name, {})
            rows.append(
                {"model": name, "source": source}
                | {c: float(values[c]) if c in values else np.nan for c in columns}
            )
    return pd.DataFrame(rows, columns=["model", "source", *columns])
