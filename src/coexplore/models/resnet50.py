"""ResNet-50 (He et al. 2016) applied per frame, averaged over time.

The bottleneck architecture with [3, 4, 6, 3] blocks is written here in
plain torch because torchvision has no CPU build in this environment. Patches
are small (about 16 px), so the stem is a stride-1 3x3 convolution without
max pooling instead of ImageNet's 7x7 stride-2 stem; the stage strides are
1, 2, 2, 2. ``width`` scales every stage (64 gives the standard 2048-d
output; tests use a small width).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .cnn_lstm import check_inputs


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride) -> 1x1 bottleneck with batch norm and a residual."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, *, stride: int = 1) -> None:
        super().__init__()
        out = planes * self.expansion
        self.body = nn.Sequential(
            nn.Conv2d(in_planes, planes, 1, bias=False),
            nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True),
            nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True),
            nn.Conv2d(planes, out, 1, bias=False),
            nn.BatchNorm2d(out),
        )
        # the last batch norm starts at zero so each block starts as identity
        nn.init.zeros_(self.body[-1].weight)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet50(nn.Module):
    """ResNet-50 frame encoder, temporal mean, external mean, heads.

    Parameters
    ----------
    in_channels
        Channels of a frame.
    n_external
        External features per time step.
    n_classes
        Land-use classes.
    width
        Planes of the first stage (64 in ResNet-50).
    blocks
        Bottleneck blocks per stage ((3, 4, 6, 3) in ResNet-50).

    Examples
    --------
    >>> m = ResNet50(4, n_external=8, width=4, blocks=(1, 1, 1, 1))
    >>> tuple(m(torch.randn(2, 3, 4, 12, 12), torch.randn(2, 3, 8))[0].shape)
    (2, 6)
    """

    def __init__(
        self,
        in_channels: int,
        *,
        n_external: int = 32,
        n_classes: int = 6,
        width: int = 64,
        blocks: Sequence[int] = (3, 4, 6, 3),
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.n_external = n_external
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        stages: list[nn.Module] = []
        in_planes = width
        for k, n_blocks in enumerate(blocks):
            planes = width * 2**k
            for b in range(int(n_blocks)):
                stride = 2 if (k > 0 and b == 0) else 1
                stages.append(Bottleneck(in_planes, planes, stride=stride))
                in_planes = planes * Bottleneck.expansion
        self.stages = nn.Sequential(*stages)
        self.out_dim = in_planes
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        self.classifier = nn.Linear(in_planes + n_external, n_classes)
        self.regressor = nn.Linear(in_planes + n_external, 1)

    def forward(
        self, x: torch.Tensor, external: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Logits ``(N, K)``, regression ``(N,)`` and ``None`` (no attention)."""
        check_inputs(x, external, in_channels=self.in_channels, n_external=self.n_external)
        n, t = x.shape[:2]
        frames = self.stages(self.stem(x.flatten(0, 1))).mean(dim=(-2, -1))
        z = torch.cat(
            [frames.view(n, t, -1).mean(dim=1), external.mean(dim=1).to(frames.dtype)], -1
        )
        return self.classifier(z), torch.sigmoid(self.regressor(z)).squeeze(-1), None
