"""Multimodal CNN-LSTM with additive temporal attention (the first seed's model).

A patch time series ``x`` of shape ``(N, T, C, H, W)`` goes frame by frame
through a small CNN (three 3x3 convolutions with 32/64/128 kernels, ReLU,
max pooling, a global average and a linear layer to a 256-d frame feature);
each frame feature is concatenated with the step's 32 external features
(288 values), read by a two-layer LSTM (hidden 128), summarised by additive
attention over time and fed to a classification head (land-use class) and a
regression head (next year's disturbed-land fraction of the patch).

The frame CNN uses unpadded ("valid") convolutions and stride-1 pooling, so
it is translation-equivariant and a patch's feature depends only on the
pixels of that patch. Run on a whole frame, its last feature map holds every
patch's map side by side; the patch's global average is then a box-filter
average of that map, which is how :func:`coexplore.learn.dense.dense_predict`
makes per-pixel maps without running the CNN once per overlapping window.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DataError

#: Weights of the joint loss (first seed): 0.4 x cross-entropy + 0.6 x MSE.
CLASSIFICATION_WEIGHT = 0.4
REGRESSION_WEIGHT = 0.6


def check_inputs(
    x: torch.Tensor, external: torch.Tensor, *, in_channels: int, n_external: int
) -> None:
    """Check the shapes of a batch of patch time series and external series.

    Parameters
    ----------
    x
        Patch time series ``(N, T, C, H, W)``.
    external
        External series ``(N, T, F)``.
    in_channels, n_external
        The ``C`` and ``F`` the model was built for.

    Raises
    ------
    DataError
        If a shape does not fit.
    """
    if x.ndim != 5 or x.shape[2] != in_channels:
        raise DataError(
            f"patch batch has shape {tuple(x.shape)}; expected (N, T, {in_channels}, H, W): "
            "build the model with in_channels equal to the samples' channel count"
        )
    if external.ndim != 3 or external.shape[:2] != x.shape[:2] or external.shape[2] != n_external:
        raise DataError(
            f"external batch has shape {tuple(external.shape)}; expected "
            f"({x.shape[0]}, {x.shape[1]}, {n_external}): give one external vector per time step"
        )


class FrameCNN(nn.Module):
    """Per-frame CNN: valid 3x3 convolutions, ReLU, stride-1 max pooling,
    global average, linear projection and ReLU.

    Parameters
    ----------
    in_channels
        Channels of one frame.
    conv_channels
        Kernels of each convolution layer (seed: 32, 64, 128).
    feature_dim
        Size of the frame feature (seed: 256).
    kernel_size
        Convolution kernel edge.
    pool_size
        Max-pooling window edge (stride 1, see the module docstring).
    """

    def __init__(
        self,
        in_channels: int,
        *,
        conv_channels: Sequence[int] = (32, 64, 128),
        feature_dim: int = 256,
        kernel_size: int = 3,
        pool_size: int = 2,
    ) -> None:
        super().__init__()
        if not conv_channels:
            raise ConfigError("conv_channels is empty; give at least one convolution layer")
        layers: list[nn.Module] = []
        previous = in_channels
        for width in conv_channels:
            layers += [
                nn.Conv2d(previous, int(width), kernel_size),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(pool_size, stride=1),
            ]
            previous = int(width)
        self.features = nn.Sequential(*layers)
        self.project = nn.Linear(previous, feature_dim)
        self.out_channels = previous
        self.feature_dim = feature_dim
        #: smallest patch edge that gives a 1x1 feature map
        self.receptive_field = 1 + len(conv_channels) * (kernel_size - 1 + pool_size - 1)

    def feature_maps(self, frames: torch.Tensor) -> torch.Tensor:
        """Fully convolutional part: ``(B, C, H, W)`` to ``(B, C', H - r + 1, W - r + 1)``.

        Raises
        ------
        DataError
            If the frame is smaller than the receptive field ``r``.
        """
        if min(frames.shape[-2:]) < self.receptive_field:
            raise DataError(
                f"frames of {tuple(frames.shape[-2:])} px are smaller than the CNN's receptive "
                f"field ({self.receptive_field} px); use a larger patch_size or fewer conv layers"
            )
        # a model moved to channels_last (``model.to(memory_format=...)``) gets
        # channels_last frames too, otherwise every conv would convert back
        if self.features[0].weight.is_contiguous(memory_format=torch.channels_last):
            frames = frames.contiguous(memory_format=torch.channels_last)
        return self.features(frames)

    def embed(self, pooled: torch.Tensor) -> torch.Tensor:
        """Projection of an averaged feature map ``(..., C')`` to the frame feature ``(..., D)``."""
        return F.relu(self.project(pooled))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Frame features ``(B, D)`` of frames ``(B, C, H, W)``."""
        return self.embed(self.feature_maps(frames).mean(dim=(-2, -1)))


class ShiftMaxPool2d(nn.Module):
    """Stride-1 max pooling as elementwise maxima of shifted views (inference).

    Gives exactly ``nn.MaxPool2d(kernel_size, stride=1)``'s values without
    computing argmax indices: the window maximum is taken separably, first
    over ``kernel_size`` row shifts, then over column shifts, on a
    channels-last (NHWC) view so each maximum runs over contiguous channels.
    On CPU it is several times faster than ``max_pool2d`` at this stride. Its
    gradient splits ties, unlike ``MaxPool2d``; it is meant for inference.

    Parameters
    ----------
    kernel_size
        Window edge.
    """

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = int(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size
        v = x.permute(0, 2, 3, 1)  # NHWC view; a copy-free view of channels_last tensors
        h, w = v.shape[1] - k + 1, v.shape[2] - k + 1
        rows = v[:, :h]
        for i in range(1, k):
            rows = torch.maximum(rows, v[:, i : i + h])
        out = rows[:, :, :w]
        for j in range(1, k):
            out = torch.maximum(out, rows[:, :, j : j + w])
        return out.permute(0, 3, 1, 2)


def fast_pooling(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose stride-1 max-pooling layers run as
    :class:`ShiftMaxPool2d`, each moved before the
    ReLU that precedes it (ReLU and max commute exactly: ``relu(max(a, b)) =
    max(relu(a), relu(b))``, so the ReLU then touches the smaller map). The
    copy computes the same values; it is for inference only."""
    model = copy.deepcopy(model)
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        layers = list(module)
        for i, layer in enumerate(layers):
            if (
                isinstance(layer, nn.MaxPool2d)
                and layer.stride in (1, (1, 1))
                and layer.padding in (0, (0, 0))
                and layer.dilation in (1, (1, 1))
                and isinstance(layer.kernel_size, int)
                and not layer.ceil_mode
            ):
                layers[i] = ShiftMaxPool2d(layer.kernel_size)
                if i > 0 and isinstance(layers[i - 1], nn.ReLU):
                    layers[i - 1], layers[i] = layers[i], nn.ReLU(inplace=True)
        for i, layer in enumerate(layers):
            module[i] = layer
    return model


class AdditiveAttention(nn.Module):
    """Additive attention over time: ``e_t = v^T tanh(W h_t + b)``, ``a = softmax_t(e)``.

    Parameters
    ----------
    hidden
        Size of ``h_t``.
    attention_dim
        Rows of ``W`` (size of the tanh layer).
    """

    def __init__(self, hidden: int, attention_dim: int) -> None:
        super().__init__()
        self.W = nn.Linear(hidden, attention_dim)
        self.v = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Context ``(N, hidden)`` and weights ``(N, T)`` of states ``h`` ``(N, T, hidden)``."""
        scores = self.v(torch.tanh(self.W(h))).squeeze(-1)
        weights = torch.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), h).squeeze(1)
        return context, weights


class CNNLSTM(nn.Module):
    """Multimodal CNN-LSTM with additive attention and two heads.

    Parameters
    ----------
    in_channels
        Channels of a frame (all sources stacked).
    n_external
        External features per time step (seed: 32).
    n_classes
        Land-use classes (6).
    conv_channels, feature_dim
        Frame CNN, see :class:`FrameCNN` (seed: (32, 64, 128), 256).
    lstm_hidden, lstm_layers
        LSTM size (seed: 128, 2).
    attention_dim
        Size of the attention's tanh layer; defaults to ``lstm_hidden``.
    dropout
        Dropout between LSTM layers and before the heads.

    Examples
    --------
    >>> m = CNNLSTM(4, n_external=32)
    >>> logits, reg, att = m(torch.randn(2, 5, 4, 12, 12), torch.randn(2, 5, 32))
    >>> tuple(logits.shape), tuple(reg.shape), tuple(att.shape)
    ((2, 6), (2,), (2, 5))
    """

    def __init__(
        self,
        in_channels: int,
        *,
        n_external: int = 32,
        n_classes: int = 6,
        conv_channels: Sequence[int] = (32, 64, 128),
        feature_dim: int = 256,
        lstm_hidden: int = 128,
        lstm_layers: int = 2,
        attention_dim: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.n_external = n_external
        self.n_classes = n_classes
        self.cnn = FrameCNN(in_channels, conv_channels=conv_channels, feature_dim=feature_dim)
        self.lstm = nn.LSTM(
            feature_dim + n_external,
            lstm_hidden,
            num_layers=lstm_layers,
            batch_first=True,
            dropout=dropout if lstm_layers > 1 else 0.0,
        )
        self.attention = AdditiveAttention(lstm_hidden, attention_dim or lstm_hidden)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(lstm_hidden, n_classes)
        self.regressor = nn.Linear(lstm_hidden, 1)

    def temporal(
        self, frame_features: torch.Tensor, external: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """LSTM, attention and heads on frame features ``(N, T, D)`` and external ``(N, T, F)``.

        Returns
        -------
        tuple of torch.Tensor
            Logits ``(N, K)``, regression in [0, 1] ``(N,)``, attention ``(N, T)``.
        """
        h, _ = self.lstm(torch.cat([frame_features, external.to(frame_features.dtype)], dim=-1))
        context, weights = self.attention(h)
        context = self.dropout(context)
        regression = torch.sigmoid(self.regressor(context)).squeeze(-1)
        return self.classifier(context), regression, weights

    def forward(
        self, x: torch.Tensor, external: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits ``(N, K)``, regression ``(N,)`` and attention weights ``(N, T)``.

        Time is folded into the batch for the CNN: one call over ``N * T`` frames.
        """
        check_inputs(x, external, in_channels=self.in_channels, n_external=self.n_external)
        n, t = x.shape[:2]
        features = self.cnn(x.flatten(0, 1)).view(n, t, -1)
        return self.temporal(features, external)


def joint_loss(
    logits: torch.Tensor,
    regression: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor,
    *,
    classification_weight: float = CLASSIFICATION_WEIGHT,
    regression_weight: float = REGRESSION_WEIGHT,
) -> torch.Tensor:
    """Joint loss ``0.4 * cross_entropy + 0.6 * MSE`` (first seed).

    Parameters
    ----------
    logits
        Class scores ``(N, K)``.
    regression
        Predicted disturbed fraction ``(N,)``.
    labels
        Class indices ``(N,)`` (0-based, int64).
    targets
        True disturbed fraction ``(N,)``.
    classification_weight, regression_weight
        Weights of the two terms.

    Returns
    -------
    torch.Tensor
        Scalar loss (batch means of both terms).

    Examples
    --------
    >>> logits = torch.zeros(2, 2); labels = torch.tensor([0, 1])
    >>> float(joint_loss(logits, torch.zeros(2), labels, torch.ones(2)))  # 0.4 ln 2 + 0.6
    0.8772588968276978
    """
    ce = F.cross_entropy(logits.float(), labels)
    mse = F.mse_loss(regression.float(), targets.float())
    return classification_weight * ce + regression_weight * mse
