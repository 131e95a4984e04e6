"""Transformer encoder over time (comparison model of the first seed).

Frame features from the CNN-LSTM's :class:`~coexplore.models.cnn_lstm.FrameCNN`
are concatenated with the external features, projected to ``d_model``, given
sinusoidal positional encodings, prefixed with a learned CLS token and read by
a Transformer encoder; the CLS output (or the mean over steps) feeds the heads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .cnn_lstm import FrameCNN, check_inputs


def sinusoidal_encoding(length: int, dim: int) -> torch.Tensor:
    """Sinusoidal positional encoding (Vaswani et al. 2017).

    ``PE[p, 2i] = sin(p / 10000^(2i/dim))``, ``PE[p, 2i+1] = cos(p / 10000^(2i/dim))``.

    Parameters
    ----------
    length
        Number of positions.
    dim
        Encoding size (even).

    Returns
    -------
    torch.Tensor
        ``(length, dim)`` float32.

    Raises
    ------
    ConfigError
        If ``dim`` is odd.
    """
    if dim % 2:
        raise ConfigError(f"d_model={dim} is odd; sinusoidal encodings need an even d_model")
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    inv_freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * inv_freq)
    pe[:, 1::2] = torch.cos(position * inv_freq)
    return pe.float()


class TemporalTransformer(nn.Module):
    """Frame CNN + Transformer encoder over time + heads.

    Parameters
    ----------
    in_channels
        Channels of a frame.
    n_external
        External features per time step.
    n_classes
        Land-use classes.
    conv_channels, feature_dim
        Frame CNN, as in the CNN-LSTM.
    d_model, n_heads, n_layers, ff_dim
        Encoder size.
    dropout
        Encoder and head dropout.
    pooling
        ``"cls"`` (learned token) or ``"mean"`` (average of the step outputs).
    max_steps
        Longest series the positional encoding covers.

    Examples
    --------
    >>> m = TemporalTransformer(4, n_external=8, d_model=16, n_heads=2, ff_dim=32)
    >>> tuple(m(torch.randn(2, 3, 4, 12, 12), torch.randn(2, 3, 8))[0].shape)
    (2, 6)
    """

    def __init__(
        self,
        in_channels: int,
        *,
        n_external: int = 32,
        n_classes: int = 6,
        conv_channels: Sequence[int] = (32, 64, 128),
        feature_dim: int = 256,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        ff_dim: int = 256,
        dropout: float = 0.1,
        pooling: str = "cls",
        max_steps: int = 512,
    ) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ConfigError(f"pooling={pooling!r} is unknown; use 'cls' or 'mean'")
        self.in_channels = in_channels
        self.n_external = n_external
        self.pooling = pooling
        self.cnn = FrameCNN(in_channels, conv_channels=conv_channels, feature_dim=feature_dim)
        self.input_proj = nn.Linear(feature_dim + n_external, d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
        nn.init.normal_(self.cls_token, std=0.02)
        self.register_buffer(
            "positions", sinusoidal_encoding(max_steps + 1, d_model), persistent=False
        )
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward=ff_dim, dropout=dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, n_classes)
        self.regressor = nn.Linear(d_model, 1)

    def forward(
        self, x: torch.Tensor, external: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Logits ``(N, K)``, regression ``(N,)`` and ``None`` (no additive attention)."""
        check_inputs(x, external, in_channels=self.in_channels, n_external=self.n_external)
        n, t = x.shape[:2]
        if t + 1 > self.positions.shape[0]:
            raise ConfigError(
                f"series of {t} steps is longer than max_steps={self.positions.shape[0] - 1}; "
                "build the model with a larger max_steps"
            )
        frames = self.cnn(x.flatten(0, 1)).view(n, t, -1)
        tokens = self.input_proj(torch.cat([frames, external.to(frames.dtype)], dim=-1))
        tokens = torch.cat([self.cls_token.expand(n, -1, -1).to(tokens.dtype), tokens], dim=1)
        encoded = self.encoder(tokens + self.positions[: t + 1].to(tokens.dtype))
        pooled = encoded[:, 0] if self.pooling == "cls" else encoded[:, 1:].mean(dim=1)
        pooled = self.dropout(pooled)
        return self.classifier(pooled), torch.sigmoid(self.regressor(pooled)).squeeze(-1), None
