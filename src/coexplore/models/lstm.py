"""LSTM alone (control model): no convolution, the patch's mean spectrum per
time step (plus the external features) read by a two-layer LSTM; the last
hidden state feeds the heads."""

from __future__ import annotations

import torch
from torch import nn

from .cnn_lstm import check_inputs


class LSTMOnly(nn.Module):
    """LSTM on per-patch mean spectra and external series.

    Parameters
    ----------
    in_channels
        Channels of a frame (the spectrum's length).
    n_external
        External features per time step.
    n_classes
        Land-use classes.
    lstm_hidden, lstm_layers
        LSTM size (as in the CNN-LSTM: 128, 2).
    dropout
        Dropout between LSTM layers and before the heads.

    Examples
    --------
    >>> m = LSTMOnly(4, n_external=8)
    >>> tuple(m(torch.randn(2, 3, 4, 5, 5), torch.randn(2, 3, 8))[0].shape)
    (2, 6)
    """

    def __init__(
        self,
        in_channels: int,
        *,
        n_external: int = 32,
        n_classes: int = 6,
        lstm_hidden: int = 128,
        lstm_layers: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.n_external = n_external
        self.lstm = nn.LSTM(
            in_channels + n_external,
            lstm_hidden,
            num_layers=lstm_layers,
            batch_first=True,
            dropout=dropout if lstm_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(lstm_hidden, n_classes)
        self.regressor = nn.Linear(lstm_hidden, 1)

    def forward(
        self, x: torch.Tensor, external: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Logits ``(N, K)``, regression ``(N,)`` and ``None`` (no attention)."""
        check_inputs(x, external, in_channels=self.in_channels, n_external=self.n_external)
        spectra = x.mean(dim=(-2, -1))
        h, _ = self.lstm(torch.cat([spectra, external.to(spectra.dtype)], dim=-1))
        last = self.dropout(h[:, -1])
        return self.classifier(last), torch.sigmoid(self.regressor(last)).squeeze(-1), None
