"""Noise-robustness experiment: SNR known answers on real-shaped and real
samples, the clean row against evaluate(), noise lowering accuracy, the
external-series switch, Table 5 and the significance tests against scipy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import torch
import xarray as xr
from scipy import stats as st
from torch import nn

from coexplore.errors import ConfigError, DataError
from coexplore.io.landsat import read_mtl
from coexplore.learn.evaluate import evaluate
from coexplore.learn.samples import SampleDataset, build_samples
from coexplore.learn.splits import spatial_blocks
from coexplore.noise import measure_snr_db
from coexplore.robustness import (
    CLEAN,
    CORRECT_COLUMNS,
    PUBLISHED_TABLE5,
    PUBLISHED_TABLE5_SOURCE,
    RESULT_COLUMNS,
    SIGNIFICANCE_COLUMNS,
    min_wilcoxon_pairs,
    noise_generator,
    perturb_channels,
    robustness_settings,
    robustness_table,
    run_noise_experiment,
    significance_table,
)

torch.set_num_threads(1)

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
KINDS = ("gaussian", "salt_pepper", "uniform")
LEVELS = {"low": 25.0, "medium": 15.0, "high": 5.0}


# --------------------------------------------------------------------------- noise


def _real_shaped(seed: int = 0) -> np.ndarray:
    """(N, T, C, P, P) like the default samples: 3 PCA scores, Landsat blue,
    red, nir, swir1 reflectance, Sentinel-1 VV and VH in dB."""
    rng = np.random.default_rng(seed)
    n, t, p = 24, 12, 16
    pcs = rng.standard_normal((n, t, 3, p, p)) * np.array([2.0, 1.0, 0.5])[:, None, None]
    refl = rng.uniform(0.02, 0.45, (n, t, 4, p, p))
    db = np.stack(
        [rng.normal(-12.0, 3.0, (n, t, p, p)), rng.normal(-19.0, 3.0, (n, t, p, p))], axis=2
    )
    return np.concatenate([pcs, refl, db], axis=2).astype(np.float32)


def _channel_snr(clean: np.ndarray, noisy: np.ndarray, axis: int) -> np.ndarray:
    return np.array(
        [
            measure_snr_db(np.take(clean, c, axis=axis), np.take(noisy, c, axis=axis))
            for c in range(clean.shape[axis])
        ]
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("snr", [25.0, 15.0, 5.0])
def test_achieved_snr_meets_target_on_real_shaped_samples(kind: str, snr: float) -> None:
    x = _real_shaped()
    noisy, achieved, note = perturb_channels(
        x, kind=kind, snr_db=snr, rng=np.random.default_rng(1), channel_axis=2
    )
    assert noisy.dtype == np.float32 and noisy.shape == x.shape
    assert abs(achieved - snr) < 0.5
    assert achieved == pytest.approx(measure_snr_db(x, noisy))
    # every channel meets the target on its own (per-channel signal power)
    assert np.all(np.abs(_channel_snr(x, noisy, axis=2) - snr) < 0.5)
    assert note == ""
    assert not np.array_equal(noisy, x)


def _real_landsat_patches(root: Path) -> np.ndarray:
    """TOA reflectance patches (N, T, 4, 16, 16) of the real Landsat 8 crop:
    blue, red, nir, swir1 from the MTL rescaling; T = shifted windows."""
    mtl = read_mtl(root / "l8_MTL.txt")
    bands = []
    for b in (2, 4, 5, 6):
        with rasterio.open(root / f"l8_B{b}.tif") as src:
            dn = src.read(1).astype(np.float64)
        refl = dn * mtl.reflectance_mult[b] + mtl.reflectance_add[b]
        bands.append(np.where(dn > 0, refl, np.nan))
    stack = np.stack(bands)[:, :480, :480]
    patches = []
    for i in range(0, 480 - 32, 96):
        for j in range(0, 480 - 32, 96):
            steps = [stack[:, i + s : i + s + 16, j + s : j + s + 16] for s in (0, 8, 16)]
            patches.append(np.stack(steps))
    return np.stack(patches).astype(np.float32)


@pytest.mark.realdata
@pytest.mark.parametrize("kind", KINDS)
def test_achieved_snr_on_real_landsat_reflectance(kind: str) -> None:
    root = REALDATA / "landsat8_l1"
    if not root.is_dir():
        pytest.skip(f"real sample data not found at {root} (shared/ must sit beside the clone)")
    x = _real_landsat_patches(root)
    assert x.shape == (25, 3, 4, 16, 16)
    for snr in LEVELS.values():
        noisy, achieved, _ = perturb_channels(
            x, kind=kind, snr_db=snr, rng=np.random.default_rng(3), channel_axis=2
        )
        assert abs(achieved - snr) < 0.5
        np.testing.assert_array_equal(np.isnan(noisy), np.isnan(x))


def test_offset_channel_saturates_salt_pepper_and_is_recorded() -> None:
    rng = np.random.default_rng(0)
    # a brightness temperature: 300 K +- 5 K cannot lose 5 dB to min/max corruption
    x = np.stack([rng.uniform(0.02, 0.4, (6, 3, 8, 8)), rng.normal(300, 5, (6, 3, 8, 8))], axis=2)
    noisy, achieved, note = perturb_channels(
        x, kind="salt_pepper", snr_db=5.0, rng=np.random.default_rng(1), channel_axis=2,
        names=["red", "tir"],
    )  # fmt: skip
    assert "fully corrupted: ['tir']" in note and "red" not in note
    tir, tir_noisy = x[:, :, 1], noisy[:, :, 1]
    lo, hi = np.float32(tir.min()), np.float32(tir.max())
    assert np.all((tir_noisy == lo) | (tir_noisy == hi))
    assert achieved > 5.0 + 10.0  # the shortfall is recorded, not hidden
    # gaussian noise reaches the target on the same channel
    _, achieved_g, note_g = perturb_channels(
        x, kind="gaussian", snr_db=5.0, rng=np.random.default_rng(1), channel_axis=2
    )
    assert abs(achieved_g - 5.0) < 0.5 and note_g == ""


def test_zero_power_channel_is_left_clean() -> None:
    rng = np.random.default_rng(0)
    x = np.stack([rng.uniform(0.1, 0.3, (4, 2, 6, 6)), np.zeros((4, 2, 6, 6))], axis=2)
    noisy, achieved, note = perturb_channels(
        x, kind="uniform", snr_db=15.0, rng=rng, channel_axis=2, names=["red", "pad_0"]
    )
    np.testing.assert_array_equal(noisy[:, :, 1], 0.0)
    assert note == "zero power, left clean: ['pad_0']"
    assert abs(achieved - 15.0) < 0.5
    with pytest.raises(DataError, match="every channel of the array .* is zero"):
        perturb_channels(np.zeros((2, 3)), kind="gaussian", snr_db=5.0, rng=rng, channel_axis=1)
    with pytest.raises(DataError, match="unknown noise kind 'pink'"):
        perturb_channels(x, kind="pink", snr_db=5.0, rng=rng, channel_axis=2)


def test_noise_generator_is_seeded_and_independent_of_the_model() -> None:
    def draw(**kw: object) -> np.ndarray:
        args = {"seed_offset": 0, "seed": 1, "kind": "gaussian", "level": "low", "draw": 0}
        return noise_generator(**(args | kw)).random(4)

    np.testing.assert_array_equal(draw(), draw())
    for change in (
        {"draw": 1},
        {"seed": 2},
        {"level": "high"},
        {"kind": "uniform"},
        {"seed_offset": 5},
    ):
        assert not np.array_equal(draw(), draw(**change))
    with pytest.raises(ConfigError, match="noise seeds must be >= 0"):
        draw(seed=-1)


def test_settings_defaults_and_errors() -> None:
    s = robustness_settings(None)
    assert s["levels"] == LEVELS and s["kinds"] == list(KINDS) and s["draws"] == 3
    assert s["main_model"] == "cnn_lstm" and s["alpha"] == 0.05
    assert robustness_settings({"levels": {"a": 10}})["levels"] == {"a": 10.0}
    with pytest.raises(ConfigError, match=r"unknown keys \['snr'\]"):
        robustness_settings({"snr": 3})
    with pytest.raises(ConfigError, match="robustness.kinds=\\['speckle'\\]"):
        robustness_settings({"kinds": ["speckle"]})
    with pytest.raises(ConfigError, match="levels has 'none'"):
        robustness_settings({"levels": {"none": 10}})
    with pytest.raises(ConfigError, match="levels has 'low': nan"):
        robustness_settings({"levels": {"low": float("nan")}})
    with pytest.raises(ConfigError, match="robustness.draws=0 is out of range"):
        robustness_settings({"draws": 0})
    with pytest.raises(ConfigError, match="robustness.draws=2.5 must be an integer"):
        robustness_settings({"draws": 2.5})
    with pytest.raises(ConfigError, match="robustness.alpha=1.5"):
        robustness_settings({"alpha": 1.5})


# --------------------------------------------------------------------------- experiment

LUT = np.array([(0.05 * k, 0.06 * k, 0.3 - 0.03 * k, 0.07 * k) for k in range(1, 7)])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    times = pd.date_range("2020-01-01", "2020-12-01", freq="MS")
    lab = np.kron(rng.integers(1, 7, size=(6, 6)), np.ones((5, 5), dtype=int)).astype(np.uint8)
    optical = LUT[lab - 1].transpose(2, 0, 1)[None] + 0.01 * rng.standard_normal((12, 4, 30, 30))
    cube = xr.DataArray(
        optical.astype(np.float32),
        dims=("time", "band", "y", "x"),
        coords={"time": times, "band": ["blue", "red", "nir", "swir1"]},
    )
    meteo = xr.DataArray(
        rng.standard_normal((12, 1)).astype(np.float32),
        dims=("time", "band"),
        coords={"time": times, "band": ["temperature"]},
    )
    out = tmp_path_factory.mktemp("robust") / "samples"
    build_samples(
        cube,
        meteo,
        {2020: lab},
        spatial_blocks((30, 30), 10, seed=1),
        patch_size=5,
        n_steps=2,
        n_external=18,
        samples_per_split=30,
        seed=0,
        out_dir=out,
    )
    return out


class CentreCentroid(nn.Module):
    """Nearest class centroid of the centre pixel at the last step: a fixed,
    deterministic classifier that has learned the classes' spectra."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        meta = SampleDataset(data_dir, "train").meta["stats"]
        mean, std = np.asarray(meta["channel_mean"]), np.asarray(meta["channel_std"])
        self.register_buffer("centroids", torch.tensor((LUT - mean) / std, dtype=torch.float32))

    def forward(self, x: torch.Tensor, external: torch.Tensor):
        p = x.shape[-1] // 2
        centre = x[:, -1, :, p, p]
        logits = -(torch.cdist(centre, self.centroids) ** 2)
        return logits, torch.zeros(len(x)), None


class ExternalOnly(nn.Module):
    """Classifies from the external series alone (to see what is perturbed)."""

    def __init__(self, n_external: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1, 1, n_external * 6).reshape(n_external, 6))

    def forward(self, x: torch.Tensor, external: torch.Tensor):
        return external.mean(dim=1) @ self.w, torch.zeros(len(x)), None


def test_clean_row_equals_evaluate_and_noise_lowers_accuracy(data_dir: Path) -> None:
    model = CentreCentroid(data_dir)
    results, correct = run_noise_experiment(
        model, data_dir, model_name="centroid", seed=1, draws=2, device="cpu", batch_size=7
    )
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert list(correct.columns) == list(CORRECT_COLUMNS)
    assert len(results) == 1 + 3 * 3 * 2
    clean = results.iloc[0]
    assert (clean["kind"], clean["level"], clean["draw"]) == (CLEAN, CLEAN, 0)
    assert np.isinf(clean["target_snr_db"]) and np.isinf(clean["achieved_snr_db"])
    metrics, _ = evaluate(model, data_dir, split="test", device="cpu")
    for key in ("accuracy", "recall", "precision", "f1"):
        assert clean[key] == metrics[key]
    assert clean["accuracy"] > 0.9  # it has learned the classes
    noisy = results.iloc[1:]
    assert np.all(np.abs(noisy["achieved_snr_db"] - noisy["target_snr_db"]) < 0.5)
    assert set(noisy["perturbed"]) == {"x"}
    high = noisy[noisy["level"] == "high"]
    assert high["accuracy"].max() < clean["accuracy"] - 0.2
    assert noisy.groupby("level")["accuracy"].mean()["high"] < clean["accuracy"]
    # per-sample correctness reproduces each row's accuracy
    acc = correct.groupby(["kind", "level", "draw"], sort=False)["correct"].mean()
    merged = results.set_index(["kind", "level", "draw"])["accuracy"]
    np.testing.assert_allclose(acc.loc[merged.index].to_numpy(), merged.to_numpy())
    assert len(correct) == len(results) * int(clean["n_samples"])


def test_experiment_is_seeded(data_dir: Path) -> None:
    model = CentreCentroid(data_dir)
    run = {"model_name": "m", "kinds": ["gaussian"], "levels": {"high": 5.0}, "device": "cpu"}
    a, _ = run_noise_experiment(model, data_dir, seed=3, draws=2, **run)
    b, _ = run_noise_experiment(model, data_dir, seed=3, draws=2, **run)
    pd.testing.assert_frame_equal(a, b)
    c, _ = run_noise_experiment(model, data_dir, seed=3, draws=2, seed_offset=9, **run)
    assert not np.array_equal(a["achieved_snr_db"].to_numpy(), c["achieved_snr_db"].to_numpy())
    # draws are independent realisations
    assert a["achieved_snr_db"].iloc[1] != a["achieved_snr_db"].iloc[2]


def test_external_series_is_clean_unless_asked(data_dir: Path) -> None:
    n_ext = len(SampleDataset(data_dir, "test").meta["external_features"])
    model = ExternalOnly(n_ext)
    run = {"model_name": "ext", "seed": 1, "kinds": ["gaussian"], "levels": {"high": 5.0}}
    kept, _ = run_noise_experiment(model, data_dir, device="cpu", **run)
    # only the patches are noisy: a model of the external series is unaffected
    assert (kept["accuracy"] == kept["accuracy"].iloc[0]).all()
    assert kept["achieved_snr_db_external"].isna().all()
    both, _ = run_noise_experiment(model, data_dir, device="cpu", perturb_external=True, **run)
    row = both.iloc[1]
    assert row["perturbed"] == "x+external"
    assert abs(row["achieved_snr_db_external"] - 5.0) < 0.5
    # one year: the monthly anomaly is zero; the padding feature is zero
    assert row["note"] == "external: zero power, left clean: ['temperature_anomaly', 'pad_0']"
    _, correct_kept = run_noise_experiment(model, data_dir, device="cpu", **run)
    _, correct_both = run_noise_experiment(
        model, data_dir, device="cpu", perturb_external=True, **run
    )
    noisy = correct_both["level"] == "high"
    assert not np.array_equal(
        correct_both.loc[noisy, "pred_class"], correct_kept.loc[noisy, "pred_class"]
    )


def test_experiment_errors(data_dir: Path, tmp_path: Path) -> None:
    model = CentreCentroid(data_dir)
    with pytest.raises(ConfigError, match="robustness.draws=0"):
        run_noise_experiment(model, data_dir, model_name="m", seed=1, draws=0)
    with pytest.raises(ConfigError, match="noise seeds must be >= 0"):
        run_noise_experiment(model, data_dir, model_name="m", seed=-2, device="cpu")
    with pytest.raises(Exception, match="no meta.json"):
        run_noise_experiment(model, tmp_path, model_name="m", seed=1)


# --------------------------------------------------------------------------- summary


def _results(seeds: list[int], acc: dict[str, list[float]], *, f1_shift: float = -0.05):
    """Constructed results: per model a clean accuracy per seed; noisy levels
    subtract fixed amounts, varied by kind and draw."""
    rows = []
    drop = {"low": 0.02, "medium": 0.06, "high": 0.12}
    snr = {"low": 25.0, "medium": 15.0, "high": 5.0}
    for model, values in acc.items():
        for seed, a in zip(seeds, values, strict=True):
            base = {"model": model, "seed": seed, "n_samples": 100}
            rows.append(base | {"kind": CLEAN, "level": CLEAN, "draw": 0, "accuracy": a})
            for k, kind in enumerate(KINDS):
                for level in drop:
                    for draw in range(2):
                        value = a - drop[level] - 0.01 * k + 0.004 * draw
                        rows.append(
                            base
                            | {
                                "kind": kind,
                                "level": level,
                                "target_snr_db": snr[level],
                                "draw": draw,
                                "accuracy": value,
                            }
                        )
    frame = pd.DataFrame(rows)
    frame["recall"] = frame["accuracy"] - 0.03
    frame["f1"] = frame["accuracy"] + f1_shift * frame["seed"] / 10
    return frame


SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]
ACC = {
    "cnn_lstm": [0.86, 0.85, 0.88, 0.84, 0.87, 0.86, 0.85, 0.89],
    "cnn": [0.80, 0.82, 0.79, 0.81, 0.78, 0.83, 0.80, 0.79],
    "lstm": [0.85, 0.86, 0.86, 0.83, 0.88, 0.84, 0.85, 0.88],
}


def test_table5_shape_values_and_published_row() -> None:
    results = _results(SEEDS, ACC)
    t = robustness_table(results)
    levels = ["clean", "low", "medium", "high"]
    value_cols = [
        f"{m}_{lv}_{s}" for m in ("accuracy", "recall") for lv in levels for s in ("mean", "std")
    ]
    assert list(t.columns) == ["model", "source", "kind", "n_seeds", "n_runs", *value_cols]
    assert t.shape == (3 * 4 + 1, 5 + 16)
    ours = t[t["source"] == "this run"].set_index(["model", "kind"])
    assert list(ours.loc["cnn_lstm"].index) == ["all", *KINDS]
    # pooled: mean over seeds, kinds and draws of (acc - 0.12 - 0.01 k + 0.004 d)
    a = np.array(ACC["cnn_lstm"])
    pooled = np.concatenate([a - 0.12 - 0.01 * k + 0.004 * d for k in range(3) for d in range(2)])
    row = ours.loc[("cnn_lstm", "all")]
    assert row["accuracy_high_mean"] == pytest.approx(pooled.mean())
    assert row["accuracy_high_std"] == pytest.approx(pooled.std(ddof=1))
    assert row["recall_high_mean"] == pytest.approx(pooled.mean() - 0.03)
    assert row["accuracy_clean_mean"] == pytest.approx(a.mean())
    assert (row["n_seeds"], row["n_runs"]) == (8, 8 * 3 * 2)
    per_kind = ours.loc[("cnn", "uniform")]
    c = np.concatenate([np.array(ACC["cnn"]) - 0.02 - 0.02 + 0.004 * d for d in range(2)])
    assert per_kind["accuracy_low_mean"] == pytest.approx(c.mean())
    pub = t[t["source"] == PUBLISHED_TABLE5_SOURCE].iloc[0]
    assert PUBLISHED_TABLE5_SOURCE == "first seed, Table 5"
    assert pub["model"] == "cnn_lstm"
    assert (pub["accuracy_low_mean"], pub["recall_low_mean"]) == (0.815, 0.782)
    assert (pub["accuracy_medium_mean"], pub["recall_medium_mean"]) == (0.773, 0.740)
    assert (pub["accuracy_high_mean"], pub["recall_high_mean"]) == (0.725, 0.691)
    assert np.isnan(pub["accuracy_high_std"]) and np.isnan(pub["accuracy_clean_mean"])
    assert PUBLISHED_TABLE5["cnn_lstm"]["high"]["accuracy"] == 0.725
    with pytest.raises(DataError, match=r"no rows at level\(s\) \['extreme'\]"):
        robustness_table(results, levels=["extreme"])
    with pytest.raises(DataError, match=r"lacks columns \['recall'\]"):
        robustness_table(results.drop(columns="recall"))


def _correctness(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    main = rng.random(n) < 0.85
    cnn = rng.random(n) < 0.7
    lstm = main.copy()
    lstm[:6] = ~lstm[:6]  # 6 discordant samples: exact binomial test
    frames = []
    for model, c in (("cnn_lstm", main), ("cnn", cnn), ("lstm", lstm)):
        for s in (2, 1):
            frames.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "seed": s,
                        "level": CLEAN,
                        "sample": np.arange(n),
                        "correct": c,
                    }
                )
            )
    noisy = frames[0].assign(level="high", correct=~main)  # ignored by McNemar
    return pd.concat([*frames, noisy], ignore_index=True), main, cnn, lstm


def test_significance_matches_scipy() -> None:
    results = _results(SEEDS, ACC)
    correct, main, cnn, lstm = _correctness(200, 0)
    sig = significance_table(results, correct, seed=4)
    assert list(sig.columns) == list(SIGNIFICANCE_COLUMNS)
    conditions = ["clean", "low", "medium", "high"]
    assert list(dict.fromkeys(sig["condition"])) == conditions
    # (4 conditions x 2 metrics x 2 tests + McNemar) per control
    assert len(sig) == 2 * (4 * 2 * 2 + 1)
    a, b, c = (np.array(ACC[m]) for m in ("cnn_lstm", "cnn", "lstm"))
    at = sig.set_index(["condition", "metric", "test", "control"])
    t = at.loc[("clean", "accuracy", "paired_t", "cnn")]
    ref = st.ttest_rel(a, b)
    assert t["statistic"] == pytest.approx(ref.statistic)
    assert t["p_value"] == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (t["ci_low"], t["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    d = a - b
    assert t["effect_size"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert t["n"] == 8 and t["seeds"] == "1;2;3;4;5;6;7;8" and t["ci_method"] == "t"
    w = at.loc[("clean", "accuracy", "wilcoxon", "lstm")]
    ref_w = st.wilcoxon(a, c)
    assert w["statistic"] == pytest.approx(ref_w.statistic)
    assert w["p_value"] == pytest.approx(ref_w.pvalue)
    # at a level the per-seed value is the mean over kinds and draws
    noisy = results[results["level"] == "high"].groupby(["model", "seed"])["accuracy"].mean()
    t_high = at.loc[("high", "accuracy", "paired_t", "cnn")]
    ref_high = st.ttest_rel(noisy["cnn_lstm"], noisy["cnn"])
    assert t_high["statistic"] == pytest.approx(ref_high.statistic)
    f1 = results[results["level"] == CLEAN].pivot(index="seed", columns="model", values="f1")
    t_f1 = at.loc[("clean", "f1", "paired_t", "lstm")]
    assert t_f1["p_value"] == pytest.approx(st.ttest_rel(f1["cnn_lstm"], f1["lstm"]).pvalue)
    # Holm across the two controls, within each condition, metric and test
    p = [at.loc[("clean", "accuracy", "paired_t", k), "p_value"] for k in ("cnn", "lstm")]
    lo, hi = sorted(p)
    expected = {lo: min(1, 2 * lo), hi: max(min(1, 2 * lo), min(1, hi))}
    for k, pk in zip(("cnn", "lstm"), p, strict=True):
        assert at.loc[("clean", "accuracy", "paired_t", k), "p_holm"] == pytest.approx(expected[pk])
    assert sig["significant"].equals(sig["p_holm"] < 0.05)
    # McNemar on seed 1 (the smallest shared), clean rows only
    m = at.loc[("clean", "accuracy", "mcnemar", "lstm")]
    bb, cc = int(np.sum(main & ~lstm)), int(np.sum(~main & lstm))
    assert bb + cc == 6
    assert m["p_value"] == pytest.approx(st.binomtest(bb, 6, 0.5).pvalue)
    assert m["effect_size"] == pytest.approx((bb - cc) / 6)
    assert m["mean_diff"] == pytest.approx(main.mean() - lstm.mean())
    assert m["seeds"] == "1" and "seed 1 (smallest of 2 shared seeds)" in m["note"]
    assert m["ci_low"] <= m["mean_diff"] <= m["ci_high"]
    m2 = at.loc[("clean", "accuracy", "mcnemar", "cnn")]
    b2, c2 = int(np.sum(main & ~cnn)), int(np.sum(~main & cnn))
    chi2 = (abs(b2 - c2) - 1) ** 2 / (b2 + c2)
    assert m2["statistic"] == pytest.approx(chi2)
    assert m2["p_value"] == pytest.approx(st.chi2.sf(chi2, 1))
    # the bootstrap interval is seeded
    pd.testing.assert_frame_equal(sig, significance_table(results, correct, seed=4))


def test_two_seeds_give_nan_with_a_note() -> None:
    results = _results([1, 2], {m: v[:2] for m, v in ACC.items()})
    sig = significance_table(results)
    assert len(sig) == 2 * 4 * 2 * 2  # no McNemar without per-sample correctness
    wil = sig[sig["test"] == "wilcoxon"]
    assert wil["p_value"].isna().all() and wil["p_holm"].isna().all()
    assert not wil["significant"].any()
    assert wil["note"].str.contains(f"run >= {min_wilcoxon_pairs(0.05)} seeds").all()
    assert "smallest two-sided p is 0.5 > alpha=0.05" in wil["note"].iloc[0]
    t = sig[(sig["test"] == "paired_t") & (sig["control"] == "cnn")]
    assert t["p_value"].notna().all() and t["note"].str.contains("1 degree of freedom").all()
    # constant differences across seeds: t undefined -> NaN with a note
    const = _results([1, 2, 3], {"cnn_lstm": [0.8, 0.7, 0.9], "cnn": [0.75, 0.65, 0.85]})
    row = significance_table(const).iloc[0]
    assert (row["test"], row["condition"]) == ("paired_t", "clean")
    assert np.isnan(row["p_value"]) and np.isnan(row["statistic"])
    assert "all 3 seed differences equal 0.05" in row["note"]
    assert row["mean_diff"] == pytest.approx(0.05)
    # one shared seed
    one = _results([1], {"cnn_lstm": [0.8], "cnn": [0.7]})
    assert significance_table(one)["note"].str.contains("needs >= 2 shared seeds, got 1").all()
    assert min_wilcoxon_pairs(0.01) == 8


def test_significance_errors_and_no_control() -> None:
    results = _results([1, 2], {"cnn": [0.8, 0.7], "lstm": [0.7, 0.6]})
    with pytest.raises(ConfigError, match="main_model 'cnn_lstm' is not among"):
        significance_table(results)
    only = significance_table(results[results["model"] == "cnn"], main="cnn")
    assert only.empty and list(only.columns) == list(SIGNIFICANCE_COLUMNS)
    with pytest.raises(DataError, match=r"correct table lacks columns \['correct'\]"):
        significance_table(
            results, pd.DataFrame({"model": [], "seed": [], "level": [], "sample": []}), main="cnn"
        )
