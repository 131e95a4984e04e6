"""Training loop: determinism, kill-and-resume bit-identity, checkpoints,
early stopping and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from coexplore.errors import ConfigError, DataError, InputError
from coexplore.learn.samples import SampleDataset, build_samples, load_meta
from coexplore.learn.splits import spatial_blocks
from coexplore.learn.train import (
    BEST_MODEL,
    CHECKPOINT,
    HISTORY,
    data_dimensions,
    load_trained,
    resolve_device,
    train,
)

torch.set_num_threads(1)

CFG = {"conv_channels": [4, 4, 4], "feature_dim": 8, "lstm_hidden": 8, "dropout": 0.3}
FAST = {"batch_size": 16, "lr": 0.05, "seed": 7, "device": "cpu"}


def _inputs(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    times = pd.date_range("2019-01-01", "2020-12-01", freq="MS")
    lab = np.kron(rng.integers(1, 7, size=(6, 6)), np.ones((5, 5), dtype=int)).astype(np.uint8)
    lut = np.array(
        [(0, 0, 0, 0), *[(0.05 * k, 0.06 * k, 0.3 - 0.03 * k, 0.07 * k) for k in range(1, 7)]]
    )
    optical = lut[lab].transpose(2, 0, 1)[None] + 0.01 * rng.standard_normal(
        (len(times), 4, 30, 30)
    )
    cube = xr.DataArray(
        optical.astype(np.float32),
        dims=("time", "band", "y", "x"),
        coords={"time": times, "band": ["blue", "red", "nir", "swir1"]},
    )
    meteo = xr.DataArray(
        rng.standard_normal((len(times), 2)).astype(np.float32),
        dims=("time", "band"),
        coords={"time": times, "band": ["temperature", "wind_speed"]},
    )
    return {
        "cube": cube,
        "external": meteo,
        "labels": {2020: lab},
        "splits": spatial_blocks((30, 30), 10, seed=1),
    }


def _build(out: Path, samples_per_split: dict | int = 24) -> Path:
    inputs = _inputs()
    build_samples(
        inputs["cube"],
        inputs["external"],
        inputs["labels"],
        inputs["splits"],
        patch_size=10,
        n_steps=3,
        n_external=24,
        samples_per_split=samples_per_split,
        seed=0,
        out_dir=out,
    )
    return out


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("train") / "samples")


class Killed(Exception):
    """Stands in for a job killed after an epoch."""


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_after_kill_is_bit_identical(data_dir: Path, tmp_path: Path) -> None:
    full = train("cnn_lstm", CFG, data_dir, tmp_path / "full", epochs=4, **FAST)

    def kill_after_two(epoch: int, row: dict) -> None:
        if epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        train(
            "cnn_lstm",
            CFG,
            data_dir,
            tmp_path / "resumed",
            epochs=4,
            on_epoch_end=kill_after_two,
            **FAST,
        )
    assert not (tmp_path / "resumed" / BEST_MODEL).exists()
    assert len(pd.read_csv(tmp_path / "resumed" / HISTORY)) == 2
    resumed = train("cnn_lstm", CFG, data_dir, tmp_path / "resumed", epochs=4, **FAST)

    pd.testing.assert_frame_equal(full, resumed, check_exact=True)
    a = torch.load(tmp_path / "full" / BEST_MODEL, weights_only=True)
    b = torch.load(tmp_path / "resumed" / BEST_MODEL, weights_only=True)
    assert _states_equal(a["state_dict"], b["state_dict"])
    ca = torch.load(tmp_path / "full" / CHECKPOINT, weights_only=True)
    cb = torch.load(tmp_path / "resumed" / CHECKPOINT, weights_only=True)
    assert _states_equal(ca["model"], cb["model"])
    assert torch.equal(ca["rng_cpu"], cb["rng_cpu"])
    # the resumed run really resumed: a fresh run with another seed differs
    other = train("cnn_lstm", CFG, data_dir, tmp_path / "other", epochs=4, **{**FAST, "seed": 8})
    assert not full["train_loss"].equals(other["train_loss"])


def test_checkpoint_contents_and_weights_only(data_dir: Path, tmp_path: Path) -> None:
    history = train("lstm", {"lstm_hidden": 8}, data_dir, tmp_path, epochs=2, **FAST)
    ck = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert ck["epoch"] == 2 and ck["finished"] is True
    assert {"model", "optimizer", "best_state", "rng_cpu", "history", "config"} <= set(ck)
    assert ck["optimizer"]["param_groups"][0]["momentum"] == 0.9
    assert ck["config"]["weight_decay"] == 1e-3
    assert list(history.columns) == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_accuracy",
        "lr",
        "best",
    ]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / HISTORY), history, check_dtype=False)
    # training leaves torch's global determinism switch as it was
    assert not torch.are_deterministic_algorithms_enabled()


def test_best_model_reloads(data_dir: Path, tmp_path: Path) -> None:
    history = train("mdnn", {"hidden": [16, 8]}, data_dir, tmp_path, epochs=3, **FAST)
    model, info = load_trained(tmp_path / BEST_MODEL)
    assert info["best_epoch"] == int(history.loc[history["val_loss"].idxmin(), "epoch"])
    assert info["best_val_loss"] == pytest.approx(history["val_loss"].min())
    ds = SampleDataset(data_dir, "val")
    x, ext, _, _ = ds[0]
    with torch.no_grad():
        logits, _, _ = model(x[None], ext[None])
    assert logits.shape == (1, 6)


def test_early_stopping(data_dir: Path, tmp_path: Path) -> None:
    # a learning rate far below float32 resolution leaves the loss unchanged
    history = train(
        "cnn",
        {"conv_channels": [4], "feature_dim": 8, "hidden": 8},
        data_dir,
        tmp_path,
        epochs=10,
        patience=2,
        **{**FAST, "lr": 1e-30},
    )
    assert len(history) == 3
    assert history["best"].tolist() == [True, False, False]


def test_same_seed_same_history(data_dir: Path, tmp_path: Path) -> None:
    cfg = {"conv_channels": [4], "feature_dim": 8, "d_model": 8, "n_heads": 2, "ff_dim": 8}
    a = train("transformer", cfg, data_dir, tmp_path / "a", epochs=2, **FAST)
    b = train("transformer", cfg, data_dir, tmp_path / "b", epochs=2, **FAST)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_changed_settings_refuse_to_resume(data_dir: Path, tmp_path: Path) -> None:
    train("lstm", {"lstm_hidden": 8}, data_dir, tmp_path, epochs=1, **FAST)
    with pytest.raises(ConfigError, match=r"written with other settings \(\['epochs'\]\)"):
        train("lstm", {"lstm_hidden": 8}, data_dir, tmp_path, epochs=2, **FAST)
    history = train("lstm", {"lstm_hidden": 8}, data_dir, tmp_path, epochs=2, resume=False, **FAST)
    assert len(history) == 2


def test_errors(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="need lr > 0"):
        train("lstm", {}, data_dir, tmp_path, lr=0.0, seed=0)
    with pytest.raises(InputError, match="no meta.json"):
        train("lstm", {}, tmp_path / "nothing", tmp_path, seed=0)
    with pytest.raises(ConfigError, match="does not take"):
        train("lstm", {"conv_channels": [4]}, data_dir, tmp_path, seed=0, device="cpu")
    empty_val = _build(tmp_path / "no_val", {"train": 10, "val": 0, "test": 5})
    with pytest.raises(DataError, match="the val split has no sample"):
        train("lstm", {}, empty_val, tmp_path / "run", seed=0)
    with pytest.raises(InputError, match="model file does not exist"):
        load_trained(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pt"):
        load_trained(tmp_path / "junk.pt")
    (tmp_path / "run2").mkdir()
    (tmp_path / "run2" / CHECKPOINT).write_bytes(b"truncated")
    with pytest.raises(InputError, match="checkpoint is unreadable"):
        train("lstm", {}, data_dir, tmp_path / "run2", seed=0, device="cpu")


def test_data_dimensions(data_dir: Path) -> None:
    meta = load_meta(data_dir)
    assert data_dimensions("mdnn", meta) == {
        "in_channels": 4,
        "n_external": 24,
        "n_classes": 6,
        "n_steps": 3,
        "groups": [[0, 1, 2, 3]],
    }
    assert set(data_dimensions("cnn_lstm", meta)) == {"in_channels", "n_external", "n_classes"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_request_without_cuda() -> None:
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")
