"""Multimodal deep neural network (comparison model): one MLP branch per
modality group of channels plus one for the external series, combined by
late (decision-level) fusion.

Each image branch reads, for its channels, the patch mean and the patch
standard deviation at every time step (``2 * n_channels * T`` values); the
external branch reads the whole external series (``F * T``). Every branch
ends in its own classification and regression heads; the fused output is
the average of the branch outputs weighted by learned softmax weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .cnn_lstm import check_inputs


def _mlp(n_in: int, hidden: Sequence[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, int(width)), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        n_in = int(width)
    return nn.Sequential(*layers)


class MultimodalDNN(nn.Module):
    """Per-modality MLP branches with late fusion.

    Parameters
    ----------
    in_channels
        Channels of a frame.
    n_external
        External features per time step.
    n_classes
        Land-use classes.
    n_steps
        Time steps of a series (the branch inputs are flattened over time).
    groups
        Channel indices of each modality (e.g. Landsat bands, Sentinel-1,
        drone); default: one group with all channels.
    hidden
        Widths of each branch's hidden layers.
    dropout
        Dropout after each hidden layer.

    Raises
    ------
    ConfigError
        If a group is empty or names a channel outside ``0..in_channels-1``.

    Examples
    --------
    >>> m = MultimodalDNN(4, n_external=8, n_steps=3, groups=[[0, 1], [2, 3]])
    >>> tuple(m(torch.randn(2, 3, 4, 5, 5), torch.randn(2, 3, 8))[1].shape)
    (2,)
    """

    def __init__(
        self,
        in_channels: int,
        *,
        n_external: int = 32,
        n_classes: int = 6,
        n_steps: int,
        groups: Sequence[Sequence[int]] | None = None,
        hidden: Sequence[int] = (128, 64),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        groups = [list(range(in_channels))] if groups is None else [list(g) for g in groups]
        for g in groups:
            if not g or min(g) < 0 or max(g) >= in_channels:
                raise ConfigError(
                    f"modality group {g} is empty or outside channels 0..{in_channels - 1}; "
                    "give non-empty lists of channel indices"
                )
        self.in_channels = in_channels
        self.n_external = n_external
        self.n_steps = n_steps
        for k, g in enumerate(groups):
            self.register_buffer(f"group_{k}", torch.tensor(g, dtype=torch.long), persistent=False)
        self.n_groups = len(groups)
        n_inputs = [2 * len(g) * n_steps for g in groups] + [n_external * n_steps]
        self.branches = nn.ModuleList(_mlp(n, hidden, dropout) for n in n_inputs)
        self.classifiers = nn.ModuleList(nn.Linear(hidden[-1], n_classes) for _ in n_inputs)
        self.regressors = nn.ModuleList(nn.Linear(hidden[-1], 1) for _ in n_inputs)
        self.fusion = nn.Parameter(torch.zeros(len(n_inputs)))

    def forward(
        self, x: torch.Tensor, external: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Fused logits ``(N, K)``, regression ``(N,)`` and ``None`` (no attention)."""
        check_inputs(x, external, in_channels=self.in_channels, n_external=self.n_external)
        if x.shape[1] != self.n_steps:
            raise ConfigError(
                f"series has {x.shape[1]} steps but the model was built for n_steps={self.n_steps}; "
                "build it with the samples' n_steps"
            )
        mean = x.mean(dim=(-2, -1))
        std = x.std(dim=(-2, -1), unbiased=False)
        inputs = [
            torch.cat(
                [mean[:, :, getattr(self, f"group_{k}")], std[:, :, getattr(self, f"group_{k}")]],
                -1,
            ).flatten(1)
            for k in range(self.n_groups)
        ]
        inputs.append(external.to(x.dtype).flatten(1))
        weights = torch.softmax(self.fusion, dim=0)
        logits = 0.0
        regression = 0.0
        for k, (branch, inp) in enumerate(zip(self.branches, inputs, strict=True)):
            z = branch(inp)
            logits = logits + weights[k] * self.classifiers[k](z)
            regression = regression + weights[k] * torch.sigmoid(self.regressors[k](z)).squeeze(-1)
        return logits, regression, None
