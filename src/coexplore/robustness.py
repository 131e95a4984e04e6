"""Noise robustness of the deep models and its statistics (issue 5).

Experiment (:func:`run_noise_experiment`, one trained model and seed)
    The test split's image patch series ``x`` ``(N, T, C, P, P)`` is perturbed
    *before* normalisation, in the units of the cube (reflectance, dB, PCA
    scores): for every noise kind, SNR level and seeded draw, each channel
    receives noise at the target SNR with one signal power per channel over
    the whole split (:func:`perturb_channels`). The noisy inputs are then
    normalised with the training statistics of ``meta.json``, exactly as
    :class:`~coexplore.learn.samples.SampleDataset` does, and scored:
    accuracy and macro recall, precision and F1
    (:func:`~coexplore.learn.evaluate.classification_metrics`). A clean row
    (level ``"none"``) is scored the same way.

    The external series (meteorology and the image-derived mining-history
    features) is left clean by default, as in the first seed, which perturbed
    the remote-sensing inputs only; ``perturb_external=True`` adds noise of the
    same kind and SNR to it as well. Mind that the clean external series still
    carries statistics of the clean imagery (bare-soil fraction, NDVI, BSI),
    which a model can lean on when only the patches are noisy.

Summary (:func:`robustness_table`)
    Accuracy and recall at each level as mean and standard deviation over
    seeds and draws (per noise kind and pooled over kinds), beside the
    first seed's published CNN-LSTM row (:data:`PUBLISHED_TABLE5`).

Significance (:func:`significance_table`)
    Main model against every control: paired t-test and Wilcoxon signed-rank
    test across the training seeds on clean accuracy and F1 and at every noise
    level (the per-seed value averages the kinds and draws of that level),
    McNemar's test on the per-sample correctness of the clean test split of
    one seed, Holm's correction across the controls, effect sizes and 95 %
    confidence intervals. Tests a small number of seeds cannot support are
    reported as NaN with a note (see :func:`significance_table`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from .errors import ConfigError, DataError
from .learn.evaluate import CLASS_CODES, classification_metrics
from .learn.samples import SampleDataset
from .learn.train import resolve_device
from .noise import NOISE_KINDS, add_noise, measure_snr_db
from .stats import bootstrap_ci, holm, mcnemar_test, paired_ttest, wilcoxon_test

log = logging.getLogger(__name__)

#: level (and kind) name of the clean baseline rows
CLEAN = "none"
#: settings of the experiment and the statistics (keys of the ``robustness`` config block)
DEFAULTS: dict[str, Any] = {
    "kinds": list(NOISE_KINDS),
    "levels": {"low": 25.0, "medium": 15.0, "high": 5.0},
    "draws": 3,
    "seed_offset": 0,
    "batch_size": 256,
    "main_model": "cnn_lstm",
    "alpha": 0.05,
    "perturb_external": False,
    "bootstrap_resamples": 2000,
}
#: per-model metrics table written by :func:`run_noise_experiment`
RESULT_COLUMNS: tuple[str, ...] = (
    "model",
    "seed",
    "kind",
    "level",
    "target_snr_db",
    "achieved_snr_db",
    "draw",
    "accuracy",
    "recall",
    "precision",
    "f1",
    "n_samples",
    "perturbed",
    "achieved_snr_db_external",
    "note",
)
#: per-sample correctness table written by :func:`run_noise_experiment`
CORRECT_COLUMNS: tuple[str, ...] = (
    "model",
    "seed",
    "kind",
    "level",
    "draw",
    "sample",
    "true_class",
    "pred_class",
    "correct",
)
SIGNIFICANCE_COLUMNS: tuple[str, ...] = (
    "main",
    "control",
    "condition",
    "metric",
    "test",
    "n",
    "seeds",
    "statistic",
    "p_value",
    "p_holm",
    "significant",
    "effect_size",
    "effect_name",
    "mean_diff",
    "ci_low",
    "ci_high",
    "ci_method",
    "note",
)

#: where the published robustness figures come from
PUBLISHED_TABLE5_SOURCE = "first seed, Table 5"
#: Accuracy and recall (fractions) of the CNN-LSTM under low, medium and high
#: noise as published by the first seed (Table 5) on its own study area and
#: noise; not re-measured here.
PUBLISHED_TABLE5: dict[str, dict[str, dict[str, float]]] = {
    "cnn_lstm": {
        "low": {"accuracy": 0.815, "recall": 0.782},
        "medium": {"accuracy": 0.773, "recall": 0.740},
        "high": {"accuracy": 0.725, "recall": 0.691},
    }
}


# --------------------------------------------------------------------------- settings


def robustness_settings(cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``robustness`` config block with defaults filled in and checked.

    Parameters
    ----------
    cfg
        The block as read from the configuration (missing keys take
        :data:`DEFAULTS`).

    Returns
    -------
    dict
        Complete settings; ``levels`` values as float.

    Raises
    ------
    ConfigError
        If a key is unknown or a value out of range.

    Examples
    --------
    >>> robustness_settings({"draws": 2})["levels"]
    {'low': 25.0, 'medium': 15.0, 'high': 5.0}
    """
    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"robustness has unknown keys {unknown}; known keys: {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **cfg}
    kinds = list(out["kinds"])
    bad = [k for k in kinds if k not in NOISE_KINDS]
    if not kinds or bad or len(set(kinds)) != len(kinds):
        raise ConfigError(
            f"robustness.kinds={kinds!r}: give distinct kinds from {list(NOISE_KINDS)}"
        )
    levels = dict(out["levels"])
    if not levels:
        raise ConfigError("robustness.levels is empty; give e.g. {low: 25, medium: 15, high: 5}")
    for name, snr in levels.items():
        if name in (CLEAN, "clean") or not isinstance(snr, int | float) or not math.isfinite(snr):
            raise ConfigError(
                f"robustness.levels has {name!r}: {snr!r}; level names other than "
                f"{CLEAN!r}/'clean' with a finite SNR in dB are needed"
            )
    integers = ("draws", "seed_offset", "batch_size", "bootstrap_resamples")
    for key in integers:
        if isinstance(out[key], bool) or not isinstance(out[key], int):
            raise ConfigError(f"robustness.{key}={out[key]!r} must be an integer")
    checks = {
        "draws": out["draws"] >= 1,
        "seed_offset": out["seed_offset"] >= 0,
        "batch_size": out["batch_size"] >= 1,
        "alpha": 0.0 < out["alpha"] < 1.0,
        "bootstrap_resamples": out["bootstrap_resamples"] >= 100,
    }
    for key, ok in checks.items():
        if not ok:
            raise ConfigError(
                f"robustness.{key}={out[key]!r} is out of range: draws and batch_size >= 1, "
                "seed_offset >= 0, 0 < alpha < 1, bootstrap_resamples >= 100"
            )
    out["kinds"] = kinds
    out["levels"] = {str(k): float(v) for k, v in levels.items()}
    return out


def noise_generator(
    *, seed_offset: int, seed: int, kind: str, level: str, draw: int
) -> np.random.Generator:
    """Generator of one noise draw, independent of the model evaluated.

    Every model of one training seed sees the same noise realisation of a
    (kind, level, draw), so the models are compared on identical inputs.

    Parameters
    ----------
    seed_offset
        ``robustness.seed_offset``.
    seed
        Training seed of the model.
    kind, level
        Noise kind and level name (hashed with CRC-32, stable across runs).
    draw
        Draw number.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    ConfigError
        If a seed or the draw is negative.
    """
    if min(seed_offset, seed, draw) < 0:
        raise ConfigError(
            f"seed_offset={seed_offset}, seed={seed}, draw={draw}: noise seeds must be >= 0"
        )
    key = zlib.crc32(f"{kind}/{level}".encode())
    return np.random.default_rng(np.random.SeedSequence([seed_offset, seed, key, draw]))


# --------------------------------------------------------------------------- noise


def _saturate(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # The noise module raises when salt-and-pepper noise at the channel
    # min/max cannot reach the asked power (a channel far from zero relative
    # to its range, e.g. a brightness temperature in K). Its corruption then
    # stops at the limit of the same process: every finite sample set to the
    # min or max at random, the most salt-and-pepper noise can do; the
    # achieved SNR records the shortfall.
    out = values.copy()
    finite = np.isfinite(values)
    lo, hi = float(np.min(values[finite])), float(np.max(values[finite]))
    salt = rng.random(int(finite.sum())) < 0.5
    out[finite] = np.where(salt, hi, lo)
    return out


def perturb_channels(
    x: np.ndarray,
    *,
    kind: str,
    snr_db: float,
    rng: np.random.Generator,
    channel_axis: int,
    names: Sequence[str] | None = None,
) -> tuple[np.ndarray, float, str]:
    """Noise at ``snr_db`` in every channel, one signal power per channel.

    Each channel (all samples, steps and pixels of it) is perturbed by
    :func:`coexplore.noise.add_noise` on its own, so a dim band receives
    proportionally weaker noise than a bright one and every channel meets the
    target (the per-channel mode of the noise module, one channel at a time to
    bound memory). A channel with zero power (all zeros, e.g. a padding
    feature) is left clean: no noise power gives it a finite SNR. A channel
    that salt-and-pepper noise cannot bring down to the target is fully
    corrupted (every sample at its min or max) and named in the note.

    Parameters
    ----------
    x
        Clean array; NaN stays NaN.
    kind
        ``gaussian``, ``salt_pepper`` or ``uniform``.
    snr_db
        Target SNR in dB.
    rng
        Random generator of this draw.
    channel_axis
        Axis of the channels.
    names
        Channel names for the note (default: indices).

    Returns
    -------
    noisy : numpy.ndarray
        float32 array of ``x``'s shape.
    achieved_snr_db : float
        :func:`coexplore.noise.measure_snr_db` of the float32 result over the
        whole array.
    note : str
        Channels left clean or saturated; empty when every channel met the target.

    Raises
    ------
    DataError
        If ``kind`` or ``snr_db`` is invalid or no channel has signal.
    """
    arr = np.asarray(x, dtype=np.float32)
    noisy = arr.copy()
    n_channels = arr.shape[channel_axis]
    labels = list(names) if names is not None else [str(c) for c in range(n_channels)]
    zero, saturated = [], []
    for c in range(n_channels):
        clean = np.take(arr, c, axis=channel_axis).astype(np.float64)
        finite = np.isfinite(clean)
        if not np.any(clean[finite] != 0.0):
            zero.append(labels[c])
            continue
        try:
            out, _ = add_noise(clean, kind=kind, snr_db=snr_db, rng=rng)
        except DataError:
            if kind != "salt_pepper":
                raise
            out = _saturate(clean, rng)
            saturated.append(labels[c])
        index = [slice(None)] * arr.ndim
        index[channel_axis] = c
        noisy[tuple(index)] = out.astype(np.float32)
    if len(zero) == n_channels:
        raise DataError(
            f"every channel of the array of shape {arr.shape} is zero; there is no signal to perturb"
        )
    notes = []
    if saturated:
        notes.append(f"salt_pepper cannot reach {snr_db:g} dB, fully corrupted: {saturated}")
    if zero:
        notes.append(f"zero power, left clean: {zero}")
    return noisy, measure_snr_db(arr, noisy), "; ".join(notes)


# --------------------------------------------------------------------------- experiment


def _split_arrays(dataset: SampleDataset, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Un-normalised ``x`` and ``external`` of a whole split (through the dataset's API)."""
    xs, es = [], []
    for x, ext, _, _ in DataLoader(dataset, batch_size=batch_size):
        xs.append(x.numpy())
        es.append(ext.numpy())
    return np.concatenate(xs), np.concatenate(es)


def _predict_codes(
    model: nn.Module,
    x: np.ndarray,
    external: np.ndarray,
    *,
    stats: Mapping[str, Sequence[float]],
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """Class codes predicted for raw inputs, normalised with the training statistics.

    The normalisation and the forward pass mirror
    :class:`~coexplore.learn.samples.SampleDataset` and
    :func:`~coexplore.learn.evaluate.predict` (float32 arithmetic, softmax
    argmax, bf16 autocast on CUDA), so the clean inputs give their predictions.
    """
    x_mean = np.asarray(stats["channel_mean"], np.float32)[None, None, :, None, None]
    x_scale = 1.0 / np.asarray(stats["channel_std"], np.float32)[None, None, :, None, None]
    e_mean = np.asarray(stats["external_mean"], np.float32)[None, None, :]
    e_scale = 1.0 / np.asarray(stats["external_std"], np.float32)[None, None, :]
    cast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda"
        else contextlib.nullcontext()
    )
    codes = np.asarray(CLASS_CODES)
    out = []
    with torch.inference_mode(), cast:
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy((x[i : i + batch_size] - x_mean) * x_scale).to(device)
            eb = torch.from_numpy((external[i : i + batch_size] - e_mean) * e_scale).to(device)
            logits, _, _ = model(xb, eb)
            prob = torch.softmax(logits.float(), dim=1)
            out.append(prob.argmax(dim=1).cpu().numpy())
    return codes[np.concatenate(out)]


def run_noise_experiment(
    model: nn.Module,
    data_dir: str | Path,
    *,
    model_name: str,
    seed: int,
    kinds: Sequence[str] = NOISE_KINDS,
    levels: Mapping[str, float] = DEFAULTS["levels"],
    draws: int = 3,
    seed_offset: int = 0,
    batch_size: int = 256,
    perturb_external: bool = False,
    device: str = "auto",
    split: str = "test",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score one trained model on a clean and noisy split.

    Parameters
    ----------
    model
        Trained model called as ``model(x, external)``.
    data_dir
        Sample folder of :func:`~coexplore.learn.samples.build_samples`.
    model_name, seed
        Written into the tables; ``seed`` also seeds the noise (with
        ``seed_offset``, see :func:`noise_generator`).
    kinds
        Noise kinds.
    levels
        Level name -> target SNR in dB.
    draws
        Independent noise draws per kind and level.
    seed_offset
        Added entropy of the noise seeds.
    batch_size
        Samples per forward pass.
    perturb_external
        Also perturb the external series (see the module docstring).
    device
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    split
        Split scored.

    Returns
    -------
    results : pandas.DataFrame
        One row per condition (:data:`RESULT_COLUMNS`): the clean row (kind and
        level ``"none"``, SNRs ``inf``, draw 0), then every kind, level and draw.
        ``perturbed`` names what received noise (``x`` or ``x+external``);
        ``note`` lists channels left clean or saturated.
    correct : pandas.DataFrame
        Per-sample predictions of every condition (:data:`CORRECT_COLUMNS`),
        for McNemar's test.

    Raises
    ------
    ConfigError
        If an option is out of range.
    DataError
        If the split is empty.
    InputError
        If the sample folder is missing or incomplete.
    """
    settings = robustness_settings(
        {
            "kinds": list(kinds),
            "levels": dict(levels),
            "draws": draws,
            "seed_offset": seed_offset,
            "batch_size": batch_size,
        }
    )
    dataset = SampleDataset(data_dir, split, normalise=False)
    if len(dataset) == 0:
        raise DataError(f"{data_dir}: split {split!r} has no sample to perturb")
    dev = resolve_device(device)
    model = model.to(dev).eval()
    x, external = _split_arrays(dataset, batch_size)
    labels = dataset.labels.astype(int)
    stats = dataset.meta["stats"]
    channels = [str(c) for c in dataset.meta.get("channels", range(x.shape[2]))]
    features = [str(f) for f in dataset.meta.get("external_features", range(external.shape[2]))]
    perturbed = "x+external" if perturb_external else "x"

    rows: list[dict] = []
    correct: list[pd.DataFrame] = []

    def score(xi: np.ndarray, ei: np.ndarray, info: dict) -> None:
        pred = _predict_codes(model, xi, ei, stats=stats, batch_size=batch_size, device=dev)
        m = classification_metrics(labels, pred)
        rows.append(
            {"model": model_name, "seed": int(seed)}
            | info
            | {k: m[k] for k in ("accuracy", "recall", "precision", "f1")}
            | {"n_samples": int(len(labels))}
        )
        correct.append(
            pd.DataFrame(
                {
                    "model": model_name,
                    "seed": int(seed),
                    "kind": info["kind"],
                    "level": info["level"],
                    "draw": info["draw"],
                    "sample": np.arange(len(labels)),
                    "true_class": labels,
                    "pred_class": pred,
                    "correct": pred == labels,
                }
            )
        )

    clean = {
        "kind": CLEAN,
        "level": CLEAN,
        "target_snr_db": math.inf,
        "achieved_snr_db": math.inf,
        "draw": 0,
        "perturbed": "",
        "achieved_snr_db_external": math.nan,
        "note": "",
    }
    score(x, external, clean)
    for kind in settings["kinds"]:
        for level, snr in settings["levels"].items():
            for draw in range(settings["draws"]):
                rng = noise_generator(
                    seed_offset=settings["seed_offset"],
                    seed=seed,
                    kind=kind,
                    level=level,
                    draw=draw,
                )
                xn, achieved, note = perturb_channels(
                    x, kind=kind, snr_db=snr, rng=rng, channel_axis=2, names=channels
                )
                en, achieved_ext = external, math.nan
                if perturb_external:
                    en, achieved_ext, note_ext = perturb_channels(
                        external, kind=kind, snr_db=snr, rng=rng, channel_axis=2, names=features
                    )
                    if note_ext:
                        note = "; ".join(n for n in (note, f"external: {note_ext}") if n)
                score(
                    xn,
                    en,
                    {
                        "kind": kind,
                        "level": level,
                        "target_snr_db": snr,
                        "achieved_snr_db": achieved,
                        "draw": draw,
                        "perturbed": perturbed,
                        "achieved_snr_db_external": achieved_ext,
                        "note": note,
                    },
                )
                log.info(
                    "%s seed %d %s %s draw %d: SNR %.2f dB (target %.1f), accuracy %.3f",
                    model_name,
                    seed,
                    kind,
                    level,
                    draw,
                    achieved,
                    snr,
                    rows[-1]["accuracy"],
                )
    results = pd.DataFrame(rows)[list(RESULT_COLUMNS)]
    return results, pd.concat(correct, ignore_index=True)[list(CORRECT_COLUMNS)]


# --------------------------------------------------------------------------- summary


def _need_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise DataError(
            f"{what} lacks columns {missing}; give the tables written by run_noise_experiment"
        )


def _level_order(results: pd.DataFrame, levels: Sequence[str] | None) -> list[str]:
    if levels is not None:
        return list(levels)
    noisy = results.loc[results["level"] != CLEAN]
    order = noisy.sort_values("target_snr_db", ascending=False, kind="stable")["level"]
    return list(dict.fromkeys(order.astype(str)))


def robustness_table(
    results: pd.DataFrame,
    *,
    levels: Sequence[str] | None = None,
    metrics: Sequence[str] = ("accuracy", "recall"),
    published: Mapping[str, Mapping[str, Mapping[str, float]]] = PUBLISHED_TABLE5,
) -> pd.DataFrame:
    """Table 5: metrics per model and noise level, mean and SD over seeds and draws.

    Parameters
    ----------
    results
        Rows of :func:`run_noise_experiment` of any number of models and seeds.
    levels
        Level names in column order (default: by decreasing target SNR).
    metrics
        Metrics tabulated.
    published
        Model -> level -> metric of the first seed (default :data:`PUBLISHED_TABLE5`).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``source`` (``"this run"`` or
        :data:`PUBLISHED_TABLE5_SOURCE`), ``kind`` (each noise kind and
        ``"all"``, pooled over kinds; empty for published rows), ``n_seeds``,
        ``n_runs`` (values per level), then ``{metric}_clean_mean`` /
        ``_std`` and ``{metric}_{level}_mean`` / ``_std`` for every level
        (fractions; SD with ddof=1, NaN from a single value). One row per
        model and kind, then one per published model.

    Raises
    ------
    DataError
        If columns are missing or a level is not in the results.

    Examples
    --------
    >>> r = pd.DataFrame({"model": "m", "seed": [1, 2], "kind": "gaussian",
    ...                   "level": "low", "target_snr_db": 25.0, "draw": 0,
    ...                   "accuracy": [0.8, 0.6], "recall": [0.7, 0.5]})
    >>> round(robustness_table(r, published={}).loc[0, "accuracy_low_mean"], 3)
    0.7
    """
    _need_columns(results, ["model", "seed", "kind", "level", *metrics], "results table")
    levels = _level_order(results, levels)
    absent = sorted(set(levels) - set(results["level"].astype(str)))
    if absent:
        raise DataError(f"results have no rows at level(s) {absent}; evaluate those levels first")
    rows = []
    for model, sub in results.groupby("model", sort=False):
        clean = sub[sub["level"] == CLEAN]
        noisy = sub[sub["level"] != CLEAN]
        kinds = ["all", *dict.fromkeys(noisy["kind"].astype(str))]
        for kind in kinds:
            part = noisy if kind == "all" else noisy[noisy["kind"] == kind]
            row: dict[str, Any] = {
                "model": model,
                "source": "this run",
                "kind": kind,
                "n_seeds": int(sub["seed"].nunique()),
                "n_runs": int((part["level"] == levels[0]).sum()) if levels else 0,
            }
            for metric in metrics:
                for level, frame in (("clean", clean), *((lv, part) for lv in levels)):
                    values = frame.loc[frame["level"] == (CLEAN if level == "clean" else level)]
                    v = values[metric].to_numpy(dtype=np.float64)
                    row[f"{metric}_{level}_mean"] = float(v.mean()) if v.size else np.nan
                    row[f"{metric}_{level}_std"] = float(v.std(ddof=1)) if v.size > 1 else np.nan
            rows.append(row)
    for model, by_level in published.items():
        row = {"model": model, "source": PUBLISHED_TABLE5_SOURCE, "kind": ""}
        row |= {"n_seeds": np.nan, "n_runs": np.nan}
        for metric in metrics:
            for level in ("clean", *levels):
                value = by_level.get(level, {}).get(metric, np.nan)
                row[f"{metric}_{level}_mean"] = float(value)
                row[f"{metric}_{level}_std"] = np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- significance


def _per_seed(results: pd.DataFrame, condition: str, metric: str) -> pd.DataFrame:
    """Seed x model table of a metric at a condition (mean over kinds and draws)."""
    sub = results[results["level"] == condition]
    return sub.pivot_table(index="seed", columns="model", values=metric, aggfunc="mean")


def _nan_row(test: str, n: int, effect_name: str, note: str, mean_diff: float = np.nan) -> dict:
    return {
        "test": test,
        "n": n,
        "statistic": np.nan,
        "p_value": np.nan,
        "effect_size": np.nan,
        "effect_name": effect_name,
        "mean_diff": mean_diff,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "ci_method": "",
        "note": note,
    }


def _ttest_row(a: np.ndarray, b: np.ndarray, *, confidence: float) -> dict:
    n = a.size
    if n < 2:
        return _nan_row("paired_t", n, "cohens_dz", f"needs >= 2 shared seeds, got {n}")
    d = a - b
    if np.allclose(d, d[0], rtol=1e-12, atol=0.0):
        return _nan_row(
            "paired_t",
            n,
            "cohens_dz",
            f"t undefined: all {n} seed differences equal {d[0]:.6g} (zero variance)",
            mean_diff=float(d.mean()),
        )
    t = paired_ttest(a, b, confidence=confidence)
    note = "only 2 seeds: t has 1 degree of freedom, the CI is very wide" if n == 2 else ""
    return {
        "test": "paired_t",
        "n": n,
        "statistic": t["statistic"],
        "p_value": t["p_value"],
        "effect_size": t["cohens_dz"],
        "effect_name": "cohens_dz",
        "mean_diff": t["mean_diff"],
        "ci_low": t["ci_low"],
        "ci_high": t["ci_high"],
        "ci_method": "t",
        "note": note,
    }


def min_wilcoxon_pairs(alpha: float) -> int:
    """Fewest non-zero paired differences at which the two-sided exact
    Wilcoxon signed-rank test can reach ``alpha`` (its smallest p is ``2 / 2**n``).

    Examples
    --------
    >>> min_wilcoxon_pairs(0.05)
    6
    """
    return max(1, math.ceil(math.log2(2.0 / alpha)))


def _wilcoxon_row(a: np.ndarray, b: np.ndarray, *, alpha: float) -> dict:
    n = a.size
    d = a - b
    mean_diff = float(d.mean()) if n else np.nan
    if n < 2:
        return _nan_row("wilcoxon", n, "rank_biserial", f"needs >= 2 shared seeds, got {n}")
    n_nonzero = int(np.count_nonzero(d))
    if n_nonzero == 0:
        return _nan_row(
            "wilcoxon", 0, "rank_biserial", f"all {n} seed differences are zero", mean_diff
        )
    need = min_wilcoxon_pairs(alpha)
    if n_nonzero < need:
        return _nan_row(
            "wilcoxon",
            n_nonzero,
            "rank_biserial",
            f"degenerate: with {n_nonzero} non-zero differences the smallest two-sided p is "
            f"{2.0 / 2**n_nonzero:.3g} > alpha={alpha:g}; run >= {need} seeds",
            mean_diff,
        )
    w = wilcoxon_test(a, b)
    return {
        "test": "wilcoxon",
        "n": w["n"],
        "statistic": w["statistic"],
        "p_value": w["p_value"],
        "effect_size": w["rank_biserial"],
        "effect_name": "rank_biserial",
        "mean_diff": mean_diff,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "ci_method": "",
        "note": "",
    }


def _mcnemar_row(
    correct: pd.DataFrame,
    main: str,
    control: str,
    *,
    confidence: float,
    n_resamples: int,
    seed: int,
) -> dict:
    clean = correct[correct["level"] == CLEAN]
    seeds_main = set(clean.loc[clean["model"] == main, "seed"])
    seeds_ctrl = set(clean.loc[clean["model"] == control, "seed"])
    shared = sorted(seeds_main & seeds_ctrl)
    if not shared:
        row = _nan_row("mcnemar", 0, "discordant_difference", "no seed with both predictions")
        return row | {"seeds": ""}
    first = shared[0]
    at = clean[clean["seed"] == first]
    a = at[at["model"] == main].set_index("sample")["correct"].astype(bool)
    b = at[at["model"] == control].set_index("sample")["correct"].astype(bool)
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
    if joined.empty:
        row = _nan_row("mcnemar", 0, "discordant_difference", f"seed {first}: no shared sample")
        return row | {"seeds": str(first)}
    m = mcnemar_test(joined["a"].to_numpy(bool), joined["b"].to_numpy(bool))
    diff = joined["a"].to_numpy(np.float64) - joined["b"].to_numpy(np.float64)
    n_disc = m["b"] + m["c"]
    note = (
        f"clean test split of seed {first} (smallest of {len(shared)} shared seeds); {m['method']}"
    )
    if np.all(diff == diff[0]):
        ci = (float(diff[0]), float(diff[0]))
        note += "; every sample has the same difference, the CI is a point"
    else:
        ci = bootstrap_ci(diff, confidence=confidence, n_resamples=n_resamples, seed=seed)
    if n_disc == 0:
        note += "; no discordant sample"
    return {
        "test": "mcnemar",
        "n": int(m["n"]),
        "seeds": str(first),
        "statistic": m["statistic"],
        "p_value": m["p_value"],
        # (b - c) / (b + c): bounded in [-1, 1], unlike the odds ratio b / c
        "effect_size": (m["b"] - m["c"]) / n_disc if n_disc else 0.0,
        "effect_name": "discordant_difference",
        "mean_diff": float(diff.mean()),
        "ci_low": ci[0],
        "ci_high": ci[1],
        "ci_method": "bootstrap_percentile",
        "note": note,
    }


def significance_table(
    results: pd.DataFrame,
    correct: pd.DataFrame | None = None,
    *,
    main: str = "cnn_lstm",
    metrics: Sequence[str] = ("accuracy", "f1"),
    levels: Sequence[str] | None = None,
    alpha: float = 0.05,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Main model against every control: paired tests across seeds, McNemar, Holm.

    For each condition (``clean`` and every noise level), metric and control:

    * ``paired_t``: :func:`coexplore.stats.paired_ttest` over the seeds both
      models share (a level's per-seed value is the mean over its kinds and
      draws); effect Cohen's d_z, 95 % t interval of the mean difference.
    * ``wilcoxon``: :func:`coexplore.stats.wilcoxon_test`; effect the
      rank-biserial correlation.
    * ``mcnemar`` (clean, accuracy): :func:`coexplore.stats.mcnemar_test` on
      the per-sample correctness of the clean test split of *one* seed, the
      smallest both models share (the same samples under several seeds are not
      independent, so seeds are not pooled); effect ``(b - c) / (b + c)``,
      percentile bootstrap interval of the accuracy difference over samples.

    ``p_holm`` is Holm's adjustment across the controls within each
    (condition, metric, test). Degenerate cases give NaN with a ``note``
    instead of an error: fewer than 2 shared seeds; a t-test whose seed
    differences are all equal (zero variance: t undefined); a Wilcoxon test
    with fewer non-zero differences than it needs to ever reach ``alpha``
    (:func:`min_wilcoxon_pairs`, 6 for 0.05; always the case with 2 seeds).

    Parameters
    ----------
    results
        Rows of :func:`run_noise_experiment` of all models and seeds.
    correct
        Per-sample correctness of :func:`run_noise_experiment` (McNemar rows
        are left out when None).
    main
        The model under test.
    metrics
        Metrics of the seed-paired tests.
    levels
        Noise levels tested (default: all, by decreasing target SNR).
    alpha
        Significance level; intervals are ``1 - alpha``.
    n_resamples
        Bootstrap resamples of the McNemar interval.
    seed
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        :data:`SIGNIFICANCE_COLUMNS`; ``seeds`` lists the seeds used
        (``;``-separated); ``significant`` is ``p_holm < alpha`` (False for NaN).
        Empty when there is no control model.

    Raises
    ------
    ConfigError
        If ``main`` is not among the models of ``results``.
    DataError
        If columns are missing.
    """
    _need_columns(results, ["model", "seed", "level", *metrics], "results table")
    models = list(dict.fromkeys(results["model"].astype(str)))
    if main not in models:
        raise ConfigError(
            f"robustness.main_model {main!r} is not among the evaluated models {models}; "
            "add it to learn.models or name one of them"
        )
    controls = [m for m in models if m != main]
    if not controls:
        log.warning("only %r was evaluated: no control model to test against", main)
        return pd.DataFrame(columns=list(SIGNIFICANCE_COLUMNS))
    if correct is not None:
        _need_columns(correct, ["model", "seed", "level", "sample", "correct"], "correct table")
    confidence = 1.0 - alpha
    rows: list[dict] = []
    for condition in ["clean", *_level_order(results, levels)]:
        level = CLEAN if condition == "clean" else condition
        for metric in metrics:
            wide = _per_seed(results, level, metric)
            for ctrl in controls:
                if main in wide and ctrl in wide:
                    pair = wide[[main, ctrl]].dropna()
                else:
                    pair = pd.DataFrame(columns=[main, ctrl], dtype=float)
                a, b = pair[main].to_numpy(np.float64), pair[ctrl].to_numpy(np.float64)
                seeds = ";".join(str(int(s)) for s in pair.index)
                head = {"main": main, "control": ctrl, "condition": condition, "metric": metric}
                rows.append(head | {"seeds": seeds} | _ttest_row(a, b, confidence=confidence))
                rows.append(head | {"seeds": seeds} | _wilcoxon_row(a, b, alpha=alpha))
    if correct is not None:
        for ctrl in controls:
            head = {"main": main, "control": ctrl, "condition": "clean", "metric": "accuracy"}
            rows.append(
                head
                | _mcnemar_row(
                    correct,
                    main,
                    ctrl,
                    confidence=confidence,
                    n_resamples=n_resamples,
                    seed=seed,
                )
            )
    table = pd.DataFrame(rows)
    table["p_holm"] = np.nan
    for _, idx in table.groupby(["condition", "metric", "test"], sort=False).groups.items():
        table.loc[idx, "p_holm"] = holm(table.loc[idx, "p_value"].to_numpy(np.float64))
    table["significant"] = table["p_holm"] < alpha  # NaN compares False
    return table[list(SIGNIFICANCE_COLUMNS)]
