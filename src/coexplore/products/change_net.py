"""The learned change detector: a small siamese CNN with frequency-domain fusion.

:class:`SiameseFFTChangeNet` encodes both dates with shared weights and fuses
the bitemporal features in the spatial domain (``f1``, ``f2``, ``|f1 - f2|``)
and in the frequency domain (:class:`FrequencyFusion`: amplitude and phase of
``torch.fft.rfft2`` of the feature maps, in the spirit of ChangeFFT).
:class:`SiameseChangeDetector` trains it on tiles of annual composites with
the loss restricted to training-split pixels and predicts dense change
probabilities from overlapping tiles.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import DataError


@dataclass(frozen=True)
class ChangeNetConfig:
    """Size and training settings of the siamese change network.

    Parameters
    ----------
    width
        Feature channels of the encoder.
    depth
        Number of 3x3 conv blocks in the shared encoder.
    use_fft
        Whether to add the frequency-domain fusion branch.
    patch
        Tile edge in pixels (training and prediction).
    epochs
        Passes over the training tiles.
    batch_size
        Tiles per optimisation step.
    lr
        Adam learning rate.
    augment
        Random flips and 90-degree rotations of training tiles.
    device
        Torch device (``"cpu"`` or ``"cuda"``).
    """

    width: int = 16
    depth: int = 2
    use_fft: bool = True
    patch: int = 32
    epochs: int = 30
    batch_size: int = 16
    lr: float = 3e-3
    augment: bool = True
    device: str = "cpu"


class FrequencyFusion(nn.Module):
    """Fuse two feature maps in the frequency domain.

    Both maps go through ``torch.fft.rfft2``; their log-amplitudes (and
    absolute log-amplitude difference) are mixed by 1x1 convolutions into a
    new amplitude spectrum, and the phase difference (as cos and sin of
    phi2 - phi1) is mixed into a new phase; the recombined spectrum returns to
    the spatial domain with ``irfft2``. Amplitude and phase are computed with
    a small epsilon so the gradients stay finite where a spectrum is zero.
    """

    def __init__(self, channels: int, *, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.amplitude = nn.Sequential(
            nn.Conv2d(3 * channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, channels, 1)
        )
        self.phase = nn.Conv2d(2 * channels, 2 * channels, 1)

    def forward(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        h, w = f1.shape[-2:]
        z1 = torch.fft.rfft2(f1, norm="ortho")
        z2 = torch.fft.rfft2(f2, norm="ortho")
        a1 = torch.sqrt(z1.real**2 + z1.imag**2 + self.eps)
        a2 = torch.sqrt(z2.real**2 + z2.imag**2 + self.eps)
        la1, la2 = torch.log1p(a1), torch.log1p(a2)
        amp = F.softplus(self.amplitude(torch.cat([la1, la2, (la2 - la1).abs()], dim=1)))
        # unit phasors and their difference u2 * conj(u1)
        c1, s1 = z1.real / a1, z1.imag / a1
        c2, s2 = z2.real / a2, z2.imag / a2
        dcos, dsin = c1 * c2 + s1 * s2, s2 * c1 - c2 * s1
        pc, ps = self.phase(torch.cat([dcos, dsin], dim=1)).chunk(2, dim=1)
        norm = torch.sqrt(pc**2 + ps**2 + self.eps)
        spectrum = torch.complex(amp * pc / norm, amp * ps / norm)
        return torch.fft.irfft2(spectrum, s=(h, w), norm="ortho")


class SiameseFFTChangeNet(nn.Module):
    """Siamese CNN with spatial and frequency-domain fusion of bitemporal features.

    Parameters
    ----------
    in_channels
        Bands per date.
    width, depth
        Encoder channels and number of conv blocks (shared weights).
    use_fft
        Add the :class:`FrequencyFusion` branch.

    Notes
    -----
    Input: two tensors (N, in_channels, H, W); output: change logits
    (N, 1, H, W). The head sees ``f1``, ``f2``, ``|f1 - f2|`` and (with
    ``use_fft``) the frequency-fused map.
    """

    def __init__(self, in_channels: int, *, width: int = 16, depth: int = 2, use_fft: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_channels
        for _ in range(depth):
            layers += [nn.Conv2d(prev, width, 3, padding=1), nn.GroupNorm(1, width), nn.ReLU()]
            prev = width
        self.encoder = nn.Sequential(*layers)
        self.freq = FrequencyFusion(width) if use_fft else None
        n_in = width * (4 if use_fft else 3)
        self.head = nn.Sequential(
            nn.Conv2d(n_in, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 1, 1)
        )

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        f1, f2 = self.encoder(x1), self.encoder(x2)
        parts = [f1, f2, (f1 - f2).abs()]
        if self.freq is not None:
            parts.append(self.freq(f1, f2))
        return self.head(torch.cat(parts, dim=1))


def _tile_starts(n: int, patch: int, stride: int) -> list[int]:
    """Start offsets of tiles of ``patch`` along an axis of length ``n`` (n >= patch)."""
    starts = list(range(0, n - patch + 1, stride))
    if starts[-1] != n - patch:
        starts.append(n - patch)
    return starts


def _pad_to(arr: np.ndarray, size: int) -> np.ndarray:
    """Pad the trailing two axes with zeros up to at least ``size``."""
    h, w = arr.shape[-2:]
    ph, pw = max(size - h, 0), max(size - w, 0)
    if ph == 0 and pw == 0:
        return arr
    pad = [(0, 0)] * (arr.ndim - 2) + [(0, ph), (0, pw)]
    return np.pad(arr, pad)


class SiameseChangeDetector:
    """Train and apply :class:`SiameseFFTChangeNet` on (band, y, x) composites.

    Configuration is given at construction; :meth:`fit` sets the learned
    state ``model_``, ``mean_``, ``std_`` and ``history_`` (loss per epoch).

    Parameters
    ----------
    config
        Network size and training settings.
    seed
        Seed of weight initialisation, tile shuffling and augmentation.
    """

    def __init__(self, config: ChangeNetConfig | None = None, *, seed: int) -> None:
        self.config = config or ChangeNetConfig()
        self.seed = seed

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float32) - self.mean_[:, None, None]) / self.std_[:, None, None]
        return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)

    def fit(
        self,
        pairs: Sequence[tuple[np.ndarray, np.ndarray]],
        truths: Sequence[np.ndarray],
        train_masks: Sequence[np.ndarray],
    ) -> SiameseChangeDetector:
        """Train on bitemporal pairs, scoring the loss on training pixels only.

        Parameters
        ----------
        pairs
            (before, after) composites, each (band, y, x), one per pair.
        truths
            Boolean change maps (y, x), one per pair.
        train_masks
            Boolean maps of the pixels whose labels may be used (training
            split and valid truth), one per pair.

        Returns
        -------
        SiameseChangeDetector
            ``self``.

        Raises
        ------
        DataError
            If the lists differ in length, shapes are inconsistent or no
            training pixel is given.
        """
        cfg = self.config
        if not (len(pairs) == len(truths) == len(train_masks)) or not pairs:
            raise DataError(
                f"got {len(pairs)} pairs, {len(truths)} truths, {len(train_masks)} masks; "
                "give one truth and one training mask per bitemporal pair"
            )
        n_bands = pairs[0][0].shape[0]
        for (b, a), t, m in zip(pairs, truths, train_masks, strict=True):
            if (
                b.shape != a.shape
                or b.shape[0] != n_bands
                or t.shape != b.shape[1:]
                or m.shape != t.shape
            ):
                raise DataError(
                    f"inconsistent shapes: before {b.shape}, after {a.shape}, truth {t.shape}, "
                    f"mask {m.shape}; all pairs need the same bands on one grid"
                )
        n_train = int(sum(np.sum(m) for m in train_masks))
        if n_train == 0:
            raise DataError("no training pixel: the training split holds no valid truth")
        values = np.concatenate(
            [
                np.concatenate([b.reshape(n_bands, -1), a.reshape(n_bands, -1)], axis=1)
                for b, a in pairs
            ],
            axis=1,
        )
        with warnings.catch_warnings():  # an all-NaN band gets mean 0, std 1
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nan_to_num(np.nanmean(values, axis=1))
            std = np.nan_to_num(np.nanstd(values, axis=1))
        self.mean_ = mean.astype(np.float32)
        self.std_ = np.where(std > 0, std, 1.0).astype(np.float32)

        x1s, x2s, ys, ms = [], [], [], []
        stride = max(cfg.patch // 2, 1)
        for (b, a), t, m in zip(pairs, truths, train_masks, strict=True):
            nb, na = _pad_to(self._normalise(b), cfg.patch), _pad_to(self._normalise(a), cfg.patch)
            tt = _pad_to(np.asarray(t, np.float32), cfg.patch)
            mm = _pad_to(np.asarray(m, np.float32), cfg.patch)
            h, w = tt.shape
            for i in _tile_starts(h, cfg.patch, stride):
                for j in _tile_starts(w, cfg.patch, stride):
                    sl = (slice(i, i + cfg.patch), slice(j, j + cfg.patch))
                    if mm[sl].sum() == 0:
                        continue
                    x1s.append(nb[(slice(None), *sl)])
                    x2s.append(na[(slice(None), *sl)])
                    ys.append(tt[sl])
                    ms.append(mm[sl])
        x1 = np.stack(x1s)
        x2 = np.stack(x2s)
        y = np.stack(ys)[:, None]
        mask = np.stack(ms)[:, None]
        n_pos = float((y * mask).sum())
        n_neg = float(mask.sum()) - n_pos
        # class balance: weight positives by the negative/positive ratio (capped)
        pos_weight = float(np.clip(n_neg / n_pos, 1.0, 50.0)) if n_pos > 0 else 1.0

        rng = np.random.default_rng(self.seed)
        device = torch.device(cfg.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = SiameseFFTChangeNet(
                n_bands, width=cfg.width, depth=cfg.depth, use_fft=cfg.use_fft
            ).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        history = []
        model.train()
        for _ in range(cfg.epochs):
            order = rng.permutation(len(x1))
            total, count = 0.0, 0.0
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                b1, b2, by, bm = x1[idx], x2[idx], y[idx], mask[idx]
                if cfg.augment:
                    k = int(rng.integers(4))
                    flip = bool(rng.integers(2))
                    b1, b2, by, bm = (_augment(v, k, flip) for v in (b1, b2, by, bm))
                t1, t2, ty, tm = (
                    torch.from_numpy(np.ascontiguousarray(v)).to(device) for v in (b1, b2, by, bm)
                )
                logits = model(t1, t2)
                weight = tm * (1.0 + (pos_weight - 1.0) * ty)
                loss = F.binary_cross_entropy_with_logits(
                    logits, ty, weight=weight, reduction="sum"
                )
                loss = loss / weight.sum().clamp_min(1.0)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                count += len(idx)
            history.append(total / count)
        model.eval()
        self.model_ = model
        self.history_ = history
        self.pos_weight_ = pos_weight
        return self

    def predict_proba(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Change probability (y, x) for one pair, from overlapping tiles averaged.

        Parameters
        ----------
        before, after
            Composites (band, y, x) with the bands used in :meth:`fit`.

        Returns
        -------
        numpy.ndarray
            float32 probabilities in [0, 1].

        Raises
        ------
        DataError
            If the detector is not fitted or the band count differs.
        """
        if not hasattr(self, "model_"):
            raise DataError("the change detector is not fitted; call fit() first")
        if before.shape != after.shape or before.shape[0] != self.mean_.size:
            raise DataError(
                f"composites of shape {before.shape} / {after.shape}; the detector was trained on "
                f"{self.mean_.size} bands"
            )
        cfg = self.config
        h0, w0 = before.shape[1:]
        nb = _pad_to(self._normalise(before), cfg.patch)
        na = _pad_to(self._normalise(after), cfg.patch)
        h, w = nb.shape[1:]
        acc = np.zeros((h, w), np.float64)
        cnt = np.zeros((h, w), np.float64)
        device = torch.device(cfg.device)
        stride = max(cfg.patch // 2, 1)
        with torch.no_grad():
            for i in _tile_starts(h, cfg.patch, stride):
                tiles1, tiles2, js = [], [], _tile_starts(w, cfg.patch, stride)
                for j in js:
                    tiles1.append(nb[:, i : i + cfg.patch, j : j + cfg.patch])
                    tiles2.append(na[:, i : i + cfg.patch, j : j + cfg.patch])
                t1 = torch.from_numpy(np.stack(tiles1)).to(device)
                t2 = torch.from_numpy(np.stack(tiles2)).to(device)
                prob = torch.sigmoid(self.model_(t1, t2))[:, 0].cpu().numpy()
                for k, j in enumerate(js):
                    acc[i : i + cfg.patch, j : j + cfg.patch] += prob[k]
                    cnt[i : i + cfg.patch, j : j + cfg.patch] += 1.0
        return (acc / cnt)[:h0, :w0].astype(np.float32)


def _augment(v: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate a (N, C, H, W) batch by k*90 degrees and optionally flip it left-right."""
    out = np.rot90(v, k=k, axes=(-2, -1))
    return out[..., ::-1] if flip else out
