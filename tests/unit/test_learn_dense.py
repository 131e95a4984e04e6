"""Dense CNN-LSTM maps agree with the patch-wise forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coexplore.errors import ConfigError, DataError
from coexplore.learn.dense import dense_predict
from coexplore.models import build_model

torch.set_num_threads(1)

T, C, F_EXT, H, W, P = 3, 4, 5, 23, 26, 11
CFG = {"conv_channels": (4, 8, 8), "feature_dim": 12, "lstm_hidden": 8}


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("cnn_lstm", in_channels=C, n_external=F_EXT, **CFG).eval()


def _patchwise(model: torch.nn.Module, frames: torch.Tensor, ext: torch.Tensor, y: int, x: int):
    h = P // 2
    patch = frames[None, :, :, y - h : y - h + P, x - h : x - h + P]
    e = ext[None] if ext.ndim == 2 else ext[None, :, :, y, x]
    with torch.no_grad():
        logits, _, attention = model(patch, e)
    return torch.softmax(logits, dim=1)[0].numpy(), attention[0].numpy()


@pytest.mark.parametrize("per_pixel_external", [False, True])
def test_interior_matches_patchwise(model: torch.nn.Module, per_pixel_external: bool) -> None:
    g = torch.Generator().manual_seed(1)
    frames = torch.randn(T, C, H, W, generator=g)
    ext = (
        torch.randn(T, F_EXT, H, W, generator=g)
        if per_pixel_external
        else torch.randn(T, F_EXT, generator=g)
    )
    # small tiles and batches so that tile and batch seams are crossed
    classes, prob, attention = dense_predict(model, frames, ext, patch_size=P, tile=7, batch=13)
    assert classes.shape == (H, W) and classes.dtype == np.uint8
    assert prob.shape == (6, H, W) and attention.shape == (T, H, W)
    h = P // 2
    for y in range(h, H - P + h + 1):
        for x in range(h, W - P + h + 1, 2):
            p, a = _patchwise(model, frames, ext, y, x)
            np.testing.assert_allclose(prob[:, y, x], p, atol=1e-5)
            np.testing.assert_allclose(attention[:, y, x], a, atol=1e-5)
            assert classes[y, x] == p.argmax() + 1
    np.testing.assert_allclose(prob.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(attention.sum(axis=0), 1.0, atol=1e-5)


def test_stats_normalise_like_the_samples(model: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(2)
    frames = torch.randn(T, C, 14, 14, generator=g)
    ext = torch.randn(T, F_EXT, generator=g)
    stats = {
        "channel_mean": [1.0, 2.0, 3.0, 4.0],
        "channel_std": [2.0, 2.0, 4.0, 4.0],
        "external_mean": [0.5] * F_EXT,
        "external_std": [3.0] * F_EXT,
    }
    raw = (
        frames * torch.tensor(stats["channel_std"])[:, None, None]
        + torch.tensor(stats["channel_mean"])[:, None, None]
    )
    raw_ext = ext * 3.0 + 0.5
    _, expected, _ = dense_predict(model, frames, ext, patch_size=P)
    _, got, _ = dense_predict(model, raw.numpy(), raw_ext.numpy(), patch_size=P, stats=stats)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_errors(model: torch.nn.Module) -> None:
    frames = torch.zeros(T, C, 12, 12)
    ext = torch.zeros(T, F_EXT)
    with pytest.raises(ConfigError, match="needs a CNNLSTM"):
        dense_predict(
            build_model("lstm", in_channels=C, n_external=F_EXT), frames, ext, patch_size=P
        )
    with pytest.raises(DataError, match=r"expected \(T, 4, H, W\)"):
        dense_predict(model, frames[:, :2], ext, patch_size=P)
    with pytest.raises(DataError, match="external has shape"):
        dense_predict(model, frames, torch.zeros(T, F_EXT, 5, 5), patch_size=P)
    with pytest.raises(DataError, match="smaller than the CNN's receptive field"):
        dense_predict(model, frames, ext, patch_size=8)
    with pytest.raises(DataError, match="use the samples' meta.json"):
        dense_predict(
            model,
            frames,
            ext,
            patch_size=P,
            stats={
                "channel_mean": [0.0],
                "channel_std": [1.0],
                "external_mean": [0.0],
                "external_std": [1.0],
            },
        )
    with pytest.raises(ConfigError, match="batch=0"):
        dense_predict(model, frames, ext, patch_size=P, batch=0)
