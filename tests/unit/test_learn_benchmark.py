"""Throughput benchmark: table contents and the agreement check (no timing assertions)."""

from __future__ import annotations

import pytest
import torch

from coexplore.errors import ConfigError
from coexplore.learn.benchmark import (
    PUBLISHED_THROUGHPUT,
    ResourceMonitor,
    agreement,
    benchmark_models,
    optimise_for_inference,
    synthetic_batches,
)
from coexplore.models import build_model
from coexplore.models.reference import ReferenceCNNLSTM

torch.set_num_threads(1)

SHAPE = {"n_steps": 2, "in_channels": 3, "patch_size": 10, "n_external": 4}
TINY = {
    "cnn_lstm": {"conv_channels": (4, 4, 4), "feature_dim": 8, "lstm_hidden": 8},
    "lstm": {"lstm_hidden": 4},
}


def test_table_has_every_model_size_and_the_reference() -> None:
    table = benchmark_models(
        ["cnn_lstm", "lstm"],
        sizes=(6, 9),
        repeats=2,
        batch_size=4,
        model_cfg=TINY,
        precisions=("fp32",),
        device="cpu",
        **SHAPE,
    )
    assert len(table) == (2 + 1) * 2
    ref = table[table["variant"] == "reference fp32"]
    assert set(ref["model"]) == {"cnn_lstm"} and sorted(ref["size"]) == [6, 9]
    opt = table[(table["model"] == "cnn_lstm") & (table["variant"] == "optimised fp32")]
    assert opt["agrees"].all() and (opt["class_agreement"] == 1.0).all()
    assert (opt["max_abs_prob_diff"] <= 1e-4).all()
    for _, row in opt.iterrows():
        rate = ref.loc[ref["size"] == row["size"], "images_per_s_median"].item()
        assert row["speedup_vs_reference"] == pytest.approx(row["images_per_s_median"] / rate)
    assert (table["images_per_s_mean"] > 0).all() and (table["peak_rss_mb"] > 0).all()
    # mean of rates >= size / mean of walls (Jensen), equal only for equal walls
    assert (table["images_per_s_mean"] >= table["size"] / table["wall_s_mean"] * (1 - 1e-9)).all()
    assert (table["gpu_source"] == "cpu run").all()
    assert table[table["model"] == "lstm"]["speedup_vs_reference"].isna().all()


def test_optimised_forward_agrees_with_the_reference() -> None:
    torch.manual_seed(0)
    model = build_model("cnn_lstm", in_channels=3, n_external=4, **TINY["cnn_lstm"]).eval()
    ((x, ext),) = synthetic_batches(n=5, batch_size=5, seed=1, **SHAPE)
    reference = ReferenceCNNLSTM(model)
    forward = optimise_for_inference(model, device=torch.device("cpu"))
    result = agreement(forward(x, ext), reference(x, ext))
    assert result["max_abs_prob_diff"] < 1e-5 and result["class_agreement"] == 1.0
    assert result["max_abs_regression_diff"] < 1e-5
    # the caller's model is left as it was
    assert not model.cnn.features[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_agreement_known_answer() -> None:
    ours = (torch.tensor([[0.0, 0.0], [2.0, 0.0]]), torch.tensor([0.5, 0.5]))
    ref = (torch.tensor([[0.0, 0.0], [0.0, 2.0]]), torch.tensor([0.5, 0.25]))
    result = agreement(ours, ref)
    p = torch.softmax(torch.tensor([2.0, 0.0]), 0)
    assert result["max_abs_prob_diff"] == pytest.approx(float(p[0] - p[1]))
    assert result["max_abs_regression_diff"] == pytest.approx(0.25)
    assert result["class_agreement"] == 0.5


def test_synthetic_batches_are_seeded() -> None:
    a = synthetic_batches(n=7, batch_size=3, seed=2, **SHAPE)
    b = synthetic_batches(n=7, batch_size=3, seed=2, **SHAPE)
    assert [len(x) for x, _ in a] == [3, 3, 1]
    assert all(
        torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(a, b, strict=True)
    )


def test_resource_monitor_reports_memory_and_cpu() -> None:
    monitor = ResourceMonitor(device=torch.device("cpu"), interval_s=0.001)
    with monitor.measure():
        torch.randn(200, 200) @ torch.randn(200, 200)
    assert monitor.peak_rss_mb > 0
    assert monitor.cpu_util_percent >= 0
    assert monitor.gpu_source == "cpu run"


def test_published_figure_and_errors() -> None:
    assert PUBLISHED_THROUGHPUT["images_per_s"] == 2.19
    with pytest.raises(ConfigError, match="all must be >= 1"):
        benchmark_models(["lstm"], sizes=(0,), device="cpu")
    with pytest.raises(ConfigError, match="precision 'fp16' is unknown"):
        benchmark_models(["lstm"], sizes=(2,), precisions=("fp16",), device="cpu")
    with pytest.raises(ConfigError, match="precision='int8' is unknown"):
        optimise_for_inference(
            build_model("lstm", in_channels=3), device=torch.device("cpu"), precision="int8"
        )
