"""CNN alone (control model): the CNN-LSTM's frame CNN without a temporal model.

Each frame goes through :class:`~coexplore.models.cnn_lstm.FrameCNN`; the
frame features are averaged over time, concatenated with the time-averaged
external features and passed to a small MLP and the two heads.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .cnn_lstm import FrameCNN, check_inputs


class CNNOnly(nn.Module):
    """Frame CNN, temporal mean, MLP, classification and regression heads.

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
    hidden
        Width of the MLP after fusion.
    dropout
        Dropout before the heads.

    Examples
    --------
    >>> m = CNNOnly(4, n_external=8)
    >>> [tuple(o.shape) if o is not None else None
    ...  for o in m(torch.randn(2, 3, 4, 12, 12), torch.randn(2, 3, 8))]
    [(2, 6), (2,), None]
    """

    def __init__(
        self,
        in_channels: int,
        *,
        n_external: int = 32,
        n_classes: int = 6,
        conv_channels: Sequence[int] = (32, 64, 128),
        feature_dim: int = 256,
        hidden: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.n_external = n_external
        self.cnn = FrameCNN(in_channels, conv_channels=conv_channels, feature_dim=feature_dim)
        self.mlp = nn.Sequential(
            nn.Linear(feature_dim + n_external, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)
        )
        self.classifier = nn.Linear(hidden, n_classes)
        self.regressor = nn.Linear(hidden, 1)

    def forward(
        self, x: torch.Tensor, external: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Logits ``(N, K)``, regression ``(N,)`` and ``None`` (no attention)."""
        check_inputs(x, external, in_channels=self.in_channels, n_external=self.n_external)
        n, t = x.shape[:2]
        frames = self.cnn(x.flatten(0, 1)).view(n, t, -1).mean(dim=1)
        z = self.mlp(torch.cat([frames, external.mean(dim=1).to(frames.dtype)], dim=-1))
        return self.classifier(z), torch.sigmoid(self.regressor(z)).squeeze(-1), None
