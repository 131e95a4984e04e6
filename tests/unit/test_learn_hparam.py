"""Hyperparameter search: trials, determinism, settings split, selection."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from coexplore.errors import ConfigError, DataError
from coexplore.learn.hparam import (
    SEED_SPACE,
    make_trials,
    run_search,
    select_best,
    trial_settings,
)
from coexplore.learn.samples import build_samples
from coexplore.learn.splits import spatial_blocks

torch.set_num_threads(1)


def test_seed_space_ranges() -> None:
    grid = make_trials(method="grid", seed=0)
    assert len(grid) == 3 * 4 * 3 * 4 * 3 * 3
    lrs = sorted({t["lr"] for t in grid})
    assert lrs == pytest.approx([1e-4, 1e-3, 1e-2])
    assert sorted({t["batch_size"] for t in grid}) == [16, 32, 64, 128]
    assert sorted({t["n_conv_layers"] for t in grid}) == [2, 3, 4]
    assert sorted({t["lstm_hidden"] for t in grid}) == [64, 128, 192, 256]
    assert sorted({t["momentum"] for t in grid}) == pytest.approx([0.5, 0.7, 0.9])


def test_random_trials_are_deterministic_and_in_range() -> None:
    a = make_trials(method="random", n_trials=50, seed=1)
    b = make_trials(method="random", n_trials=50, seed=1)
    c = make_trials(method="random", n_trials=50, seed=2)
    assert a == b and a != c
    for t in a:
        assert 1e-4 <= t["lr"] <= 1e-2
        assert 1e-4 <= t["weight_decay"] <= 1e-2
        assert 0.5 <= t["momentum"] <= 0.9
        assert t["batch_size"] in SEED_SPACE["batch_size"]["values"]
        assert t["lstm_hidden"] in (64, 128, 192, 256)
    # log-uniform: about half the draws below the geometric mean 1e-3
    below = sum(t["lr"] < 1e-3 for t in make_trials(method="random", n_trials=400, seed=3))
    assert 150 < below < 250


def test_grid_subsample_is_deterministic_and_ordered() -> None:
    full = make_trials(method="grid", seed=0)
    a = make_trials(method="grid", n_trials=10, seed=5)
    assert a == make_trials(method="grid", n_trials=10, seed=5)
    assert len(a) == 10 and all(t in full for t in a)
    positions = [full.index(t) for t in a]
    assert positions == sorted(positions)


def test_custom_space_known_grid() -> None:
    space = {
        "lr": {"type": "log", "low": 0.01, "high": 1.0, "n_grid": 3},
        "batch_size": {"type": "choice", "values": [8, 16]},
    }
    trials = make_trials(space, seed=0)
    assert [t["batch_size"] for t in trials] == [8, 16, 8, 16, 8, 16]
    assert [t["lr"] for t in trials[::2]] == pytest.approx([0.01, 0.1, 1.0])


def test_trial_settings_split() -> None:
    params = {
        "lr": 0.01,
        "batch_size": 32,
        "momentum": 0.8,
        "weight_decay": 1e-3,
        "n_conv_layers": 4,
        "lstm_hidden": 64,
    }
    model_cfg, train_kwargs = trial_settings(params, "cnn_lstm", base_model_cfg={"dropout": 0.1})
    assert model_cfg == {"dropout": 0.1, "conv_channels": [32, 64, 128, 256], "lstm_hidden": 64}
    assert train_kwargs == {"lr": 0.01, "batch_size": 32, "momentum": 0.8, "weight_decay": 1e-3}
    # the CNN alone has no LSTM: that setting is left out
    cnn_cfg, _ = trial_settings(params, "cnn")
    assert cnn_cfg == {"conv_channels": [32, 64, 128, 256]}
    with pytest.raises(ConfigError, match="neither an optimiser setting"):
        trial_settings({"learning_rate": 0.1}, "cnn")
    with pytest.raises(ConfigError, match="n_conv_layers=5 is outside"):
        trial_settings({"n_conv_layers": 5}, "cnn")


def test_select_best() -> None:
    results = [
        {"trial": 0, "val_loss": 0.4, "val_accuracy": 0.7},
        {"trial": 1, "val_loss": math.nan, "val_accuracy": 0.9},
        {"trial": 2, "val_loss": 0.3, "val_accuracy": 0.6},
        {"trial": 3, "val_loss": 0.3, "val_accuracy": 0.8},
    ]
    assert select_best(results)["trial"] == 2  # first on ties
    assert select_best(results, metric="val_accuracy", mode="max")["trial"] == 1
    with pytest.raises(DataError, match="no trial has a finite 'f1'"):
        select_best(results, metric="f1")
    with pytest.raises(ConfigError, match="mode='best'"):
        select_best(results, mode="best")


def test_make_trials_errors() -> None:
    with pytest.raises(ConfigError, match="needs n_trials"):
        make_trials(method="random", seed=0)
    with pytest.raises(ConfigError, match="method 'bayes' is unknown"):
        make_trials(method="bayes", seed=0)
    with pytest.raises(ConfigError, match="low > 0 for 'log'"):
        make_trials({"lr": {"type": "log", "low": 0.0, "high": 1.0}}, seed=0)
    with pytest.raises(ConfigError, match="has type 'normal'"):
        make_trials({"lr": {"type": "normal"}}, seed=0)
    with pytest.raises(ConfigError, match="non-empty 'values'"):
        make_trials({"b": {"type": "choice", "values": []}}, seed=0)


def test_run_search_trains_every_trial(tmp_path: Path) -> None:
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
    trials = make_trials(
        {
            "lr": {"type": "choice", "values": [0.1, 0.01]},
            "lstm_hidden": {"type": "choice", "values": [4]},
        },
        seed=0,
    )
    table = run_search(
        trials, data, tmp_path / "search", model_name="lstm", epochs=2, seed=0, device="cpu"
    )
    assert table["trial"].tolist() == [0, 1]
    assert table["lr"].tolist() == [0.1, 0.01]
    assert (tmp_path / "search" / "trial_001" / "best_model.pt").exists()
    best = select_best(table.to_dict("records"))
    assert best["val_loss"] == table["val_loss"].min()
