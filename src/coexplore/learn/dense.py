"""Dense (per-pixel) maps from the CNN-LSTM without a CNN pass per window.

The frame CNN is fully convolutional up to its global average
(:class:`~coexplore.models.cnn_lstm.FrameCNN`), so it runs once per frame
over a whole tile; the average over each patch window of its last feature
map is a box filter (``avg_pool2d`` with stride 1), and the projection,
LSTM, attention and heads then run per position in batches. A position's
result equals the patch-wise forward of the patch centred on it (up to
floating-point summation order). Frames are mirrored at the image border so
that border pixels get a (mirrored) patch too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError
from ..models.cnn_lstm import CNNLSTM, fast_pooling


def _as_tensor(a: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a).float()


def _normalise(
    frames: torch.Tensor, external: torch.Tensor, stats: Mapping[str, list] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the samples' training statistics; missing values become the
    training mean (0 after normalisation), as in the samples."""
    if stats is not None:
        cm = torch.tensor(stats["channel_mean"], dtype=torch.float32)
        cs = torch.tensor(stats["channel_std"], dtype=torch.float32)
        em = torch.tensor(stats["external_mean"], dtype=torch.float32)
        es = torch.tensor(stats["external_std"], dtype=torch.float32)
        if cm.numel() != frames.shape[1] or em.numel() != external.shape[1]:
            raise DataError(
                f"stats have {cm.numel()} channels and {em.numel()} features but the inputs "
                f"have {frames.shape[1]} and {external.shape[1]}; use the samples' meta.json"
            )
        frames = (frames - cm[None, :, None, None]) / cs[None, :, None, None]
        shape = (1, -1) + (1,) * (external.ndim - 2)
        external = (external - em.view(shape)) / es.view(shape)
    return torch.nan_to_num(frames, nan=0.0), torch.nan_to_num(external, nan=0.0)


def dense_predict(
    model: CNNLSTM,
    frames: np.ndarray | torch.Tensor,
    external: np.ndarray | torch.Tensor,
    *,
    patch_size: int,
    batch: int = 4096,
    stats: Mapping[str, list] | None = None,
    tile: int = 128,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel class, class probabilities and attention of a CNN-LSTM.

    Parameters
    ----------
    model
        A trained :class:`~coexplore.models.cnn_lstm.CNNLSTM`.
    frames
        ``(T, C, H, W)`` image series (the sample window of one year).
    external
        ``(T, F)`` (same for every pixel) or ``(T, F, H, W)`` external features.
    patch_size
        The patch edge the model was trained on.
    batch
        Positions per LSTM batch.
    stats
        ``meta["stats"]`` of the samples: inputs are normalised with it;
        ``None`` when the inputs are normalised already.
    tile
        Edge of the output tiles the CNN runs on (memory bound).
    device
        Where to compute.

    Returns
    -------
    tuple of numpy.ndarray
        Class map ``(H, W)`` uint8 (codes 1..K), probabilities ``(K, H, W)``
        float32 and attention weights ``(T, H, W)`` float32.

    Raises
    ------
    ConfigError
        If the model is not a CNN-LSTM or ``batch``/``tile`` < 1.
    DataError
        If the shapes disagree or the patch is smaller than the CNN's
        receptive field.

    Examples
    --------
    >>> classes, prob, att = dense_predict(model, frames, ext, patch_size=16)  # doctest: +SKIP
    """
    if not isinstance(model, CNNLSTM):
        raise ConfigError(
            f"dense_predict needs a CNNLSTM (got {type(model).__name__}); the other models have "
            "no shareable frame features: predict them patch by patch"
        )
    if batch < 1 or tile < 1:
        raise ConfigError(f"batch={batch}, tile={tile}: both must be >= 1")
    frames, external = _as_tensor(frames), _as_tensor(external)
    if frames.ndim != 4 or frames.shape[1] != model.in_channels:
        raise DataError(
            f"frames have shape {tuple(frames.shape)}; expected (T, {model.in_channels}, H, W)"
        )
    t, _, height, width = frames.shape
    if (
        external.ndim not in (2, 4)
        or external.shape[:2] != (t, model.n_external)
        or (external.ndim == 4 and external.shape[2:] != (height, width))
    ):
        raise DataError(
            f"external has shape {tuple(external.shape)}; expected ({t}, {model.n_external}) or "
            f"({t}, {model.n_external}, {height}, {width})"
        )
    window = patch_size - model.cnn.receptive_field + 1
    if window < 1:
        raise DataError(
            f"patch_size={patch_size} is smaller than the CNN's receptive field "
            f"({model.cnn.receptive_field} px); use the patch size the model was trained on"
        )
    frames, external = _normalise(frames, external, stats)
    dev = torch.device(device)
    # an inference copy with index-free pooling (same values, faster)
    model = fast_pooling(model).to(dev).eval()
    top, left = patch_size // 2, patch_size // 2
    pad = (left, patch_size - 1 - left, top, patch_size - 1 - top)
    mode = "reflect" if max(pad) < min(height, width) else "replicate"
    padded = F.pad(frames, pad, mode=mode)
    n_classes = model.classifier.out_features
    prob = np.empty((n_classes, height, width), dtype=np.float32)
    attention = np.empty((t, height, width), dtype=np.float32)
    with torch.inference_mode():
        for r0 in range(0, height, tile):
            rows = min(tile, height - r0)
            for c0 in range(0, width, tile):
                cols = min(tile, width - c0)
                piece = padded[
                    :, :, r0 : r0 + rows + patch_size - 1, c0 : c0 + cols + patch_size - 1
                ]
                fmap = model.cnn.feature_maps(piece.to(dev))
                pooled = F.avg_pool2d(fmap, window, stride=1)  # (T, C', rows, cols)
                feats = model.cnn.embed(pooled.permute(2, 3, 0, 1).reshape(rows * cols, t, -1))
                if external.ndim == 2:
                    ext = external.to(dev).expand(rows * cols, -1, -1)
                else:
                    ext = external[:, :, r0 : r0 + rows, c0 : c0 + cols].to(dev)
                    ext = ext.permute(2, 3, 0, 1).reshape(rows * cols, t, -1)
                p_parts, a_parts = [], []
                for i in range(0, rows * cols, batch):
                    logits, _, weights = model.temporal(feats[i : i + batch], ext[i : i + batch])
                    p_parts.append(torch.softmax(logits.float(), dim=1))
                    a_parts.append(weights.float())
                p = torch.cat(p_parts).cpu().numpy().reshape(rows, cols, n_classes)
                a = torch.cat(a_parts).cpu().numpy().reshape(rows, cols, t)
                prob[:, r0 : r0 + rows, c0 : c0 + cols] = p.transpose(2, 0, 1)
                attention[:, r0 : r0 + rows, c0 : c0 + cols] = a.transpose(2, 0, 1)
    # class index k is land-use code k + 1 (as in the samples)
    return (prob.argmax(axis=0) + 1).astype(np.uint8), prob, attention
