"""Plain eager fp32 CNN-LSTM: the baseline of the throughput benchmark and an
independent check of the model's math.

It holds copies of a :class:`~coexplore.models.cnn_lstm.CNNLSTM`'s weights and
evaluates the same function the straightforward way a first research script
would: batch by batch, one time step at a time through the CNN (convolution,
ReLU, pooling written with ``torch.nn.functional``), the LSTM unrolled cell by
cell from its gate equations, then attention and heads, in float32 under
``torch.no_grad`` (no inference mode, no layout or precision tricks).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .cnn_lstm import CNNLSTM, check_inputs


class ReferenceCNNLSTM:
    """Unoptimised re-implementation of a trained :class:`CNNLSTM`.

    Parameters
    ----------
    model
        The model whose weights are copied (float32, CPU unless ``device``).
    device
        Where to keep the weights and compute.
    """

    def __init__(self, model: CNNLSTM, *, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        state = {
            k: v.detach().to(self.device, torch.float32).clone()
            for k, v in model.state_dict().items()
        }
        self.state = state
        self.n_conv = sum(
            1 for k in state if k.startswith("cnn.features.") and k.endswith(".weight")
        )
        self.pool_size = model.cnn.features[2].kernel_size
        self.lstm_layers = model.lstm.num_layers
        self.hidden = model.lstm.hidden_size
        self.in_channels = model.in_channels
        self.n_external = model.n_external

    def frame_features(self, frames: torch.Tensor) -> torch.Tensor:
        """Frame CNN on one time step ``(N, C, H, W)`` -> ``(N, D)``."""
        s = self.state
        h = frames
        for k in range(self.n_conv):
            idx = 3 * k  # Sequential: conv, relu, pool per layer
            h = F.conv2d(h, s[f"cnn.features.{idx}.weight"], s[f"cnn.features.{idx}.bias"])
            h = F.relu(h)
            h = F.max_pool2d(h, self.pool_size, stride=1)
        pooled = h.mean(dim=(-2, -1))
        return F.relu(F.linear(pooled, s["cnn.project.weight"], s["cnn.project.bias"]))

    def lstm(self, inputs: torch.Tensor) -> torch.Tensor:
        """Stacked LSTM unrolled over time from the gate equations; ``(N, T, I)`` -> ``(N, T, H)``."""
        s = self.state
        n, t = inputs.shape[:2]
        layer_in = inputs
        for layer in range(self.lstm_layers):
            w_ih, w_hh = s[f"lstm.weight_ih_l{layer}"], s[f"lstm.weight_hh_l{layer}"]
            bias = s[f"lstm.bias_ih_l{layer}"] + s[f"lstm.bias_hh_l{layer}"]
            h = torch.zeros(n, self.hidden, device=self.device)
            c = torch.zeros(n, self.hidden, device=self.device)
            outputs = []
            for step in range(t):
                gates = layer_in[:, step] @ w_ih.T + h @ w_hh.T + bias
                i, f, g, o = gates.chunk(4, dim=1)  # PyTorch's gate order
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
            layer_in = torch.stack(outputs, dim=1)
        return layer_in

    def forward(
        self, x: torch.Tensor, external: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits, regression and attention of one batch, like :meth:`CNNLSTM.forward`."""
        check_inputs(x, external, in_channels=self.in_channels, n_external=self.n_external)
        s = self.state
        with torch.no_grad():
            x = x.to(self.device, torch.float32)
            external = external.to(self.device, torch.float32)
            steps = [self.frame_features(x[:, t]) for t in range(x.shape[1])]
            h = self.lstm(torch.cat([torch.stack(steps, dim=1), external], dim=-1))
            scores = F.linear(
                torch.tanh(F.linear(h, s["attention.W.weight"], s["attention.W.bias"])),
                s["attention.v.weight"],
            ).squeeze(-1)
            weights = torch.softmax(scores, dim=1)
            context = (weights.unsqueeze(-1) * h).sum(dim=1)
            logits = F.linear(context, s["classifier.weight"], s["classifier.bias"])
            regression = torch.sigmoid(
                F.linear(context, s["regressor.weight"], s["regressor.bias"])
            ).squeeze(-1)
        return logits, regression, weights

    __call__ = forward

    def predict(
        self, x: torch.Tensor, external: torch.Tensor, *, batch_size: int = 64
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`forward` batch by batch over a whole set, outputs concatenated."""
        parts = [
            self.forward(x[i : i + batch_size], external[i : i + batch_size])
            for i in range(0, x.shape[0], batch_size)
        ]
        return tuple(torch.cat(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]
