"""Every model can memorise a tiny batch (16 samples) in a few dozen steps."""

from __future__ import annotations

import pytest
import torch

from coexplore.models import build_model, joint_loss

torch.set_num_threads(1)

N, T, C, P, F_EXT = 16, 3, 4, 10, 6

TINY: dict[str, dict] = {
    "cnn_lstm": {"conv_channels": (8, 8, 8), "feature_dim": 16, "lstm_hidden": 16},
    "cnn": {"conv_channels": (8, 8), "feature_dim": 16, "hidden": 16},
    "lstm": {"lstm_hidden": 16},
    "transformer": {
        "conv_channels": (8,),
        "feature_dim": 16,
        "d_model": 16,
        "n_heads": 2,
        "ff_dim": 32,
        "dropout": 0.0,
    },
    "mdnn": {"n_steps": T, "groups": [[0, 1], [2, 3]], "hidden": (32, 16)},
    "resnet50": {"width": 4, "blocks": (1, 1, 1, 1)},
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_overfits_a_tiny_batch(name: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, T, C, P, P, generator=g)
    ext = torch.randn(N, T, F_EXT, generator=g)
    labels = torch.arange(N) % 6
    targets = torch.rand(N, generator=g)
    torch.manual_seed(0)
    model = build_model(name, in_channels=C, n_external=F_EXT, **TINY[name])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    with torch.no_grad():
        first = float(joint_loss(*model(x, ext)[:2], labels, targets))
    for _ in range(60):
        logits, regression, _ = model(x, ext)
        loss = joint_loss(logits, regression, labels, targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        logits, regression, _ = model(x, ext)
    accuracy = float((logits.argmax(1) == labels).float().mean())
    assert accuracy >= 0.9, f"{name} reached only {accuracy:.2f}"
    assert float(joint_loss(logits, regression, labels, targets)) < 0.5 * first
