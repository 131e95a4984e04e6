"""Evaluation: metric known answers, predictions table, comparison table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from coexplore.errors import DataError
from coexplore.learn.evaluate import (
    PUBLISHED_FIRST_SEED,
    PUBLISHED_SOURCE,
    classification_metrics,
    comparison_table,
    evaluate,
    regression_metrics,
)
from coexplore.learn.samples import SampleDataset, build_samples
from coexplore.learn.splits import spatial_blocks
from coexplore.models import build_model

torch.set_num_threads(1)


def test_classification_metrics_known_answer() -> None:
    y_true = [1, 1, 1, 2, 2, 3]
    y_pred = [1, 1, 2, 2, 2, 1]
    m = classification_metrics(y_true, y_pred, labels=[1, 2, 3])
    assert m["accuracy"] == pytest.approx(4 / 6)
    # precision: class 1 2/3, class 2 2/3, class 3 0 -> macro 4/9
    assert m["precision"] == pytest.approx(4 / 9)
    # recall: 2/3, 1, 0 -> 5/9
    assert m["recall"] == pytest.approx(5 / 9)
    f1 = [2 * (2 / 3) * (2 / 3) / (4 / 3), 2 * (2 / 3) / (5 / 3), 0.0]
    assert m["f1"] == pytest.approx(np.mean(f1))
    # kappa: po = 4/6, pe = (3*3 + 2*3 + 1*0) / 36
    pe = (3 * 3 + 2 * 3 + 1 * 0) / 36
    assert m["kappa"] == pytest.approx((4 / 6 - pe) / (1 - pe))
    assert m["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert m["n"] == 6


def test_confusion_covers_all_land_use_classes() -> None:
    m = classification_metrics([5, 5], [5, 5])
    assert len(m["confusion"]) == 6 and m["confusion"][4][4] == 2
    assert m["accuracy"] == 1.0 and m["kappa"] == 1.0


def test_regression_metrics_known_answer() -> None:
    m = regression_metrics(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.5, 0.7]))
    assert m["mae"] == pytest.approx(0.1)
    assert m["rmse"] == pytest.approx(np.sqrt(0.09 / 3))
    assert m["r2"] == pytest.approx(1 - 0.09 / 0.5)


def test_metric_errors() -> None:
    with pytest.raises(DataError, match="cannot score 2 truths against 1 predictions"):
        classification_metrics([1, 2], [1])
    with pytest.raises(DataError, match="split is empty"):
        regression_metrics(np.array([]), np.array([]))


def test_comparison_table_labels_the_published_rows() -> None:
    t = comparison_table(
        {
            "cnn_lstm": {"accuracy": 0.9, "recall": 0.8, "kappa": 0.7},
            "mdnn": {"accuracy": 0.5, "recall": 0.4},
        }
    )
    assert PUBLISHED_SOURCE == "first seed, Fig. 6"
    seed_rows = t[t["source"] == PUBLISHED_SOURCE].set_index("model")
    assert seed_rows.loc["cnn_lstm", "accuracy"] == 0.856
    assert seed_rows.loc["transformer", "recall"] == 0.808
    assert np.isnan(seed_rows.loc["mdnn", "accuracy"])
    ours = t[t["source"] == "this run"].set_index("model")
    assert ours.loc["cnn_lstm", "kappa"] == 0.7
    assert np.isnan(ours.loc["lstm", "accuracy"])
    assert set(t["model"]) == {"cnn_lstm", "mdnn", *PUBLISHED_FIRST_SEED}


def test_evaluate_writes_per_sample_predictions(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    times = pd.date_range("2020-01-01", "2020-12-01", freq="MS")
    lab = np.kron(rng.integers(1, 7, size=(4, 4)), np.ones((5, 5), dtype=int)).astype(np.uint8)
    cube = xr.DataArray(
        rng.random((12, 4, 20, 20)).astype(np.float32),
        dims=("time", "band", "y", "x"),
        coords={"time": times, "band": ["blue", "red", "nir", "swir1"]},
    )
    meteo = xr.DataArray(
        rng.random((12, 1)).astype(np.float32),
        dims=("time", "band"),
        coords={"time": times, "band": ["temperature"]},
    )
    data = tmp_path / "samples"
    build_samples(
        cube,
        meteo,
        {2020: lab},
        spatial_blocks((20, 20), 10, seed=0),
        patch_size=4,
        n_steps=2,
        n_external=17,
        samples_per_split=10,
        seed=0,
        out_dir=data,
    )
    torch.manual_seed(0)
    model = build_model("lstm", in_channels=4, n_external=17, lstm_hidden=4)
    metrics, table = evaluate(
        model, data, split="test", device="cpu", predictions_path=tmp_path / "pred.csv"
    )
    ds = SampleDataset(data, "test")
    assert len(table) == len(ds)
    np.testing.assert_array_equal(table["true_class"], ds.labels)
    probs = table[[f"prob_{k}" for k in range(1, 7)]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(table["pred_class"], probs.argmax(axis=1) + 1)
    assert metrics["accuracy"] == pytest.approx(table["correct"].mean())
    assert {"rmse", "mae", "r2", "kappa", "confusion"} <= set(metrics)
    saved = pd.read_csv(tmp_path / "pred.csv")
    assert list(saved.columns) == list(table.columns) and len(saved) == len(table)
