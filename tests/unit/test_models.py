"""Deep models: shapes on torch.randn, attention, joint loss, registry,
reference implementation and inference-time pooling."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from coexplore.errors import ConfigError, DataError
from coexplore.models import MODELS, build_model, joint_loss
from coexplore.models.cnn_lstm import (
    CNNLSTM,
    AdditiveAttention,
    FrameCNN,
    ShiftMaxPool2d,
    fast_pooling,
)
from coexplore.models.reference import ReferenceCNNLSTM
from coexplore.models.transformer import sinusoidal_encoding

torch.set_num_threads(1)

N, T, C, P, F_EXT = 3, 4, 5, 12, 7

#: small settings for every model (the defaults are the paper sizes)
TINY: dict[str, dict] = {
    "cnn_lstm": {"conv_channels": (4, 8, 8), "feature_dim": 16, "lstm_hidden": 8},
    "cnn": {"conv_channels": (4, 8), "feature_dim": 16, "hidden": 8},
    "lstm": {"lstm_hidden": 8},
    "transformer": {
        "conv_channels": (4,),
        "feature_dim": 16,
        "d_model": 8,
        "n_heads": 2,
        "ff_dim": 16,
    },
    "mdnn": {"n_steps": T, "groups": [[0, 1, 2], [3, 4]], "hidden": (16, 8)},
    "resnet50": {"width": 2, "blocks": (1, 1, 1, 1)},
}


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(N, T, C, P, P, generator=g), torch.randn(N, T, F_EXT, generator=g)


def test_every_registered_model_has_tiny_settings() -> None:
    assert set(TINY) == set(MODELS)


@pytest.mark.parametrize("name", sorted(TINY))
def test_shapes(name: str, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    torch.manual_seed(0)
    model = build_model(name, in_channels=C, n_external=F_EXT, n_classes=6, **TINY[name]).eval()
    logits, regression, attention = model(*batch)
    assert logits.shape == (N, 6)
    assert regression.shape == (N,)
    assert torch.all((regression >= 0) & (regression <= 1))
    if name == "cnn_lstm":
        assert attention.shape == (N, T)
    else:
        assert attention is None


def test_default_cnn_lstm_is_the_seed_architecture() -> None:
    m = CNNLSTM(C)
    convs = [layer for layer in m.cnn.features if isinstance(layer, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(layer, nn.MaxPool2d) for layer in m.cnn.features) == 3
    assert m.cnn.project.out_features == 256
    assert m.lstm.input_size == 256 + 32
    assert (m.lstm.hidden_size, m.lstm.num_layers) == (128, 2)
    assert m.classifier.out_features == 6 and m.regressor.out_features == 1


def test_attention_weights_sum_to_one(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    torch.manual_seed(1)
    model = build_model("cnn_lstm", in_channels=C, n_external=F_EXT, **TINY["cnn_lstm"])
    _, _, attention = model(*batch)
    assert torch.allclose(attention.sum(dim=1), torch.ones(N), atol=1e-6)
    assert torch.all(attention > 0)


def test_additive_attention_known_answer() -> None:
    att = AdditiveAttention(hidden=2, attention_dim=1)
    with torch.no_grad():
        att.W.weight.copy_(torch.tensor([[1.0, 0.0]]))
        att.W.bias.zero_()
        att.v.weight.fill_(1.0)
    h = torch.tensor([[[0.0, 1.0], [1.0, 3.0]]])
    context, weights = att(h)
    e = torch.tensor([math.tanh(0.0), math.tanh(1.0)])
    expected = torch.softmax(e, dim=0)
    assert torch.allclose(weights[0], expected)
    assert torch.allclose(context[0], expected[0] * h[0, 0] + expected[1] * h[0, 1])


def test_joint_loss_is_weighted_ce_plus_mse() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([0, 2])
    pred, target = torch.tensor([0.2, 0.5]), torch.tensor([0.0, 1.0])
    p0 = math.exp(2) / (math.exp(2) + 2)
    p1 = 1 / (math.e + 2)
    ce = -(math.log(p0) + math.log(p1)) / 2
    mse = (0.2**2 + 0.5**2) / 2
    assert float(joint_loss(logits, pred, labels, target)) == pytest.approx(0.4 * ce + 0.6 * mse)
    only_ce = joint_loss(logits, pred, labels, target, regression_weight=0.0)
    assert float(only_ce) == pytest.approx(0.4 * ce)


def test_frame_cnn_receptive_field_and_error() -> None:
    cnn = FrameCNN(2, conv_channels=(4, 4, 4))
    assert cnn.receptive_field == 10
    assert cnn.feature_maps(torch.randn(1, 2, 10, 10)).shape == (1, 4, 1, 1)
    with pytest.raises(DataError, match="smaller than the CNN's receptive field"):
        cnn(torch.randn(1, 2, 9, 9))


def test_frame_cnn_is_translation_equivariant() -> None:
    torch.manual_seed(0)
    cnn = FrameCNN(2, conv_channels=(4, 4)).eval()
    frame = torch.randn(1, 2, 20, 20)
    whole = cnn.feature_maps(frame)
    part = cnn.feature_maps(frame[:, :, 3:15, 5:17])
    r = cnn.receptive_field - 1
    assert torch.allclose(whole[:, :, 3 : 15 - r, 5 : 17 - r], part, atol=1e-6)


def test_shape_errors(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, ext = batch
    model = build_model("cnn_lstm", in_channels=C, n_external=F_EXT, **TINY["cnn_lstm"])
    with pytest.raises(DataError, match=r"expected \(N, T, 5, H, W\)"):
        model(x[:, :, :4], ext)
    with pytest.raises(DataError, match="one external vector per time step"):
        model(x, ext[:, :2])
    mdnn = build_model("mdnn", in_channels=C, n_external=F_EXT, **TINY["mdnn"])
    with pytest.raises(ConfigError, match="n_steps=4"):
        mdnn(x[:, :3], ext[:, :3])


def test_registry_errors() -> None:
    with pytest.raises(ConfigError, match="unknown; choose one of"):
        build_model("vgg", in_channels=3)
    with pytest.raises(ConfigError, match=r"does not take \['lstm_hidden'\]"):
        build_model("cnn", in_channels=3, lstm_hidden=4)
    with pytest.raises(ConfigError, match=r"needs \['n_steps'\]"):
        build_model("mdnn", in_channels=3)
    with pytest.raises(ConfigError, match="outside channels 0..2"):
        build_model("mdnn", in_channels=3, n_steps=2, groups=[[0, 3]])
    with pytest.raises(ConfigError, match="pooling='max' is unknown"):
        build_model("transformer", in_channels=3, pooling="max")


def test_sinusoidal_encoding_known_answer() -> None:
    pe = sinusoidal_encoding(3, 4)
    assert pe[0].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert float(pe[2, 0]) == pytest.approx(math.sin(2.0))
    assert float(pe[2, 3]) == pytest.approx(math.cos(2.0 / 100.0))
    with pytest.raises(ConfigError, match="odd"):
        sinusoidal_encoding(3, 5)


def test_resnet50_has_bottleneck_layout() -> None:
    m = build_model("resnet50", in_channels=C, width=2)
    assert len(m.stages) == 3 + 4 + 6 + 3
    assert m.out_dim == 2 * 8 * 4


def test_reference_computes_the_same_function(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    torch.manual_seed(2)
    model = build_model("cnn_lstm", in_channels=C, n_external=F_EXT, **TINY["cnn_lstm"]).eval()
    reference = ReferenceCNNLSTM(model)
    with torch.no_grad():
        ours = model(*batch)
    theirs = reference.predict(*batch, batch_size=2)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_shift_max_pool_equals_max_pool() -> None:
    x = torch.randn(2, 3, 7, 6).contiguous(memory_format=torch.channels_last)
    for k in (2, 3):
        assert torch.equal(ShiftMaxPool2d(k)(x), nn.functional.max_pool2d(x, k, stride=1))


def test_fast_pooling_keeps_values_and_leaves_the_original(
    batch: tuple[torch.Tensor, torch.Tensor],
) -> None:
    torch.manual_seed(3)
    model = build_model("cnn_lstm", in_channels=C, n_external=F_EXT, **TINY["cnn_lstm"]).eval()
    fast = fast_pooling(model).eval()
    assert any(isinstance(m, ShiftMaxPool2d) for m in fast.modules())
    assert not any(isinstance(m, ShiftMaxPool2d) for m in model.modules())
    # the ReLU now follows the pooling
    kinds = [type(m).__name__ for m in fast.cnn.features][:3]
    assert kinds == ["Conv2d", "ShiftMaxPool2d", "ReLU"]
    with torch.no_grad():
        for a, b in zip(model(*batch), fast(*batch), strict=True):
            assert torch.allclose(a, b, atol=1e-6)


def test_classical_branch_does_not_load_torch():
    """coexplore.models loads the deep models lazily: the feature, selection and
    classical-classifier jobs stay ~250 MB lighter without torch."""
    import subprocess
    import sys

    code = (
        "import sys, coexplore.steps.classical, coexplore.steps.fusion, coexplore.steps.spine; "
        "from coexplore.models.classical import make_classifier; "
        "assert 'torch' not in sys.modules, 'torch was imported'; "
        "from coexplore.models import CNNLSTM; assert 'torch' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        import coexplore.models

        coexplore.models.Nope  # noqa: B018
