"""Report sections on the deep models (comparison with the first seed,
training curves, confusion, attention, throughput) and their robustness to
noise (curves, the first seed's Table 5, significance tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ._common import SectionInputs, figure, finish, table
from .blocks import Section
from .context import ReportContext
from .figures import bar_figure, confusion_figure, curves_figure, errorbar_figure
from .published import (
    FIG6_SOURCE,
    FIRST_SEED,
    FIRST_SEED_FIG6,
    FIRST_SEED_TABLE5,
    FIRST_SEED_THROUGHPUT,
    TABLE5_SOURCE,
    THROUGHPUT_SOURCE,
    model_name,
)
from .readers import read_table


def percent_scale(values: pd.Series | np.ndarray) -> float:
    """100 for scores given as fractions (every finite value within 0..1), else 1.

    The workflow writes scikit-learn scores (fractions); published figures are
    percentages. Deciding by range keeps tables that already hold percentages
    as they are.

    Examples
    --------
    >>> percent_scale(np.array([0.856, 0.5])), percent_scale(np.array([85.6, 0.5]))
    (100.0, 1.0)
    """
    arr = np.asarray(values, dtype="float64")
    finite = arr[np.isfinite(arr)]
    return 100.0 if finite.size and np.all((finite >= 0) & (finite <= 1)) else 1.0


def as_percent(values: pd.Series | np.ndarray) -> np.ndarray:
    """Scores in percent (see :func:`percent_scale`).

    Examples
    --------
    >>> as_percent(np.array([0.856, 0.5])).tolist(), as_percent(np.array([85.6])).tolist()
    ([85.6, 50.0], [85.6])
    """
    arr = np.asarray(values, dtype="float64")
    return np.round(arr * percent_scale(arr), 10)


def _metric_column(frame: pd.DataFrame, metric: str) -> tuple[str | None, str | None]:
    """The mean and std column of ``metric`` (``accuracy_mean``/``accuracy`` ...)."""
    mean = next((c for c in (f"{metric}_mean", metric) if c in frame), None)
    std = f"{metric}_std" if f"{metric}_std" in frame else None
    return mean, std


def our_rows(comparison: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``models/comparison.csv`` measured in this run (not the published ones)."""
    ours = comparison
    if "source" in ours:
        ours = ours[~ours["source"].astype(str).str.lower().str.startswith(FIRST_SEED)]
    return ours.drop_duplicates("model").set_index("model")


def deep_vs_published(comparison: pd.DataFrame) -> pd.DataFrame:
    """Our accuracy and recall (mean ± std over seeds, %) beside the first seed's
    Fig. 6, with the difference in percentage points.

    Parameters
    ----------
    comparison
        ``models/comparison.csv``: a ``model`` column and ``accuracy``/``recall``
        columns (or ``*_mean``/``*_std``); rows whose ``source`` starts with
        "first seed" are the published ones and are skipped.

    Returns
    -------
    pandas.DataFrame
        One row per model that both cover.

    Examples
    --------
    >>> c = pd.DataFrame({"model": ["cnn_lstm"], "accuracy_mean": [0.80],
    ...                   "accuracy_std": [0.01], "recall_mean": [0.75]})
    >>> deep_vs_published(c).round(2).iloc[0].tolist()
    [80.0, 1.0, 85.6, -5.6, 75.0, nan, 82.3, -7.3]
    """
    ours = our_rows(comparison)
    rows = {}
    for model in [m for m in ours.index if m in FIRST_SEED_FIG6.index]:
        row = {}
        for metric in ("accuracy", "recall"):
            mean_col, std_col = _metric_column(ours, metric)
            # a std over seeds is in the unit of its mean
            scale = percent_scale(ours[mean_col]) if mean_col else 1.0
            mean = float(ours.loc[model, mean_col]) * scale if mean_col else np.nan
            std = float(ours.loc[model, std_col]) * scale if std_col else np.nan
            published = float(FIRST_SEED_FIG6.loc[model, metric])
            row[f"{metric} (this run, %)"] = mean
            row[f"{metric} std over seeds"] = std
            row[f"{metric} ({FIG6_SOURCE}, %)"] = published
            row[f"{metric} difference (pp)"] = mean - published
        rows[model_name(model)] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "model"
    return out


def _runs(inp: SectionInputs, name: str) -> dict[str, dict[int, Path]]:
    """``models/{model}/seed{seed}/{name}`` files by model and seed."""
    runs: dict[str, dict[int, Path]] = {}
    for path in inp.glob(f"models/*/seed*/{name}"):
        seed_dir = path.parent.name
        try:
            seed = int(seed_dir.removeprefix("seed"))
        except ValueError as exc:
            raise InputError(
                path, f"folder {seed_dir!r} is not seed<N>", "name run folders seed<integer>"
            ) from exc
        runs.setdefault(path.parent.parent.name, {})[seed] = path
    return dict(sorted(runs.items()))


def _history_panels(
    runs: dict[str, dict[int, Path]], columns: Sequence[str]
) -> list[tuple[str, list]]:
    panels = []
    for model, seeds in runs.items():
        lines = []
        for seed, path in sorted(seeds.items()):
            hist = read_table(path, required=["epoch", *columns])
            for col in columns:
                label = (
                    f"seed {seed} {col.replace('_', ' ')}" if len(columns) > 1 else f"seed {seed}"
                )
                lines.append((label, hist["epoch"].to_numpy(), hist[col].to_numpy(dtype=float)))
        panels.append((model_name(model), lines))
    return panels


def deep_section(ctx: ReportContext) -> Section:
    """Deep models: our scores beside the first seed's Fig. 6, training curves,
    confusion matrices, CNN-LSTM attention over time, throughput.

    Parameters
    ----------
    ctx
        The report context.

    Returns
    -------
    Section

    Raises
    ------
    InputError
        If a table lacks the columns the section shows.
    """
    sec = Section(
        "deep",
        "Deep models",
        "CNN-LSTM with temporal attention and its control models, trained with several "
        "seeds on patch time series from the spatially blocked split.",
    )
    inp = SectionInputs(ctx)
    if p := inp.get("models", "comparison.csv"):
        comparison = read_table(p, required=["model"])
        sec.add(
            table(
                ctx,
                "tab-deep-comparison",
                "Test scores per model, mean and standard deviation over seeds, with the "
                f"{FIG6_SOURCE} rows where the file holds them (models/comparison.csv).",
                comparison.set_index("model"),
            )
        )
        vs = deep_vs_published(comparison)
        if not vs.empty:
            sec.add(
                table(
                    ctx,
                    "tab-deep-vs-first-seed",
                    f"Accuracy and recall of this run (models/comparison.csv) beside the "
                    f"{FIG6_SOURCE} figures measured on its own study area; difference "
                    "= this run − published, in percentage points.",
                    vs,
                )
            )
            bars = pd.DataFrame(
                {
                    "accuracy, this run": vs["accuracy (this run, %)"],
                    f"accuracy, {FIRST_SEED}": vs[f"accuracy ({FIG6_SOURCE}, %)"],
                    "recall, this run": vs["recall (this run, %)"],
                    f"recall, {FIRST_SEED}": vs[f"recall ({FIG6_SOURCE}, %)"],
                }
            )
            errors = pd.DataFrame(
                {
                    "accuracy, this run": vs["accuracy std over seeds"].fillna(0),
                    "recall, this run": vs["recall std over seeds"].fillna(0),
                }
            )
            sec.add(
                figure(
                    ctx,
                    bar_figure(bars, ylabel="%", errors=errors),
                    "Deep models beside the first seed",
                    "Error bars: standard deviation over seeds.",
                )
            )
    history = _runs(inp, "history.csv")
    if history:
        sec.add(
            figure(
                ctx,
                curves_figure(
                    _history_panels(history, ["train_loss", "val_loss"]),
                    xlabel="epoch",
                    ylabel="loss",
                ),
                "Training curves",
                "Training and validation loss per epoch and seed "
                "(models/{model}/seed{seed}/history.csv).",
            )
        )
        if all(
            "val_accuracy" in read_table(p).columns for s in history.values() for p in s.values()
        ):
            sec.add(
                figure(
                    ctx,
                    curves_figure(
                        _history_panels(history, ["val_accuracy"]),
                        xlabel="epoch",
                        ylabel="validation accuracy",
                    ),
                    "Validation accuracy",
                    "Validation accuracy per epoch and seed.",
                )
            )
    confusions = _runs(inp, "confusion.csv")
    if confusions:
        matrices = []
        for model, seeds in confusions.items():
            seed = min(seeds)
            matrices.append(
                (f"{model_name(model)}, seed {seed}", read_table(seeds[seed], index_col=0))
            )
        sec.add(
            figure(
                ctx,
                confusion_figure(matrices),
                "Deep-model confusion matrices",
                "Test confusion matrices of the first seed of each model, rows reference, "
                "columns predicted (models/{model}/seed{seed}/confusion.csv).",
            )
        )
    attention = {m: s for m, s in _runs(inp, "attention.csv").items() if m == "cnn_lstm"}
    if attention:
        lines = []
        for seed, path in sorted(attention["cnn_lstm"].items()):
            att = read_table(path, required=["step", "weight"])
            lines.append((f"seed {seed}", att["step"].to_numpy(), att["weight"].to_numpy(float)))
        sec.add(
            figure(
                ctx,
                curves_figure([("CNN-LSTM", lines)], xlabel="time step", ylabel="mean attention"),
                "Attention over time",
                "Mean attention weight of the CNN-LSTM per time step of the input series "
                "(models/cnn_lstm/seed{seed}/attention.csv).",
            )
        )
    if p := inp.get("models", "benchmark.csv"):
        bench = read_table(p, required=["model"])
        sec.add(
            table(
                ctx,
                "tab-deep-benchmark",
                "Inference throughput (images/s = patch time series per second), wall time, "
                "peak memory, CPU/GPU utilisation and device, and the speed ratio against "
                "the plain fp32 reference implementation (models/benchmark.csv).",
                bench,
                long=True,
            )
        )
        rate, rate_std = _metric_column(bench, "images_per_s")
        if rate:
            keys = [c for c in ("model", "variant", "size", "n_sequences") if c in bench]
            shown = bench.head(ctx.options.max_table_rows)
            labels = shown[keys].astype(str).agg(" ".join, axis=1)
            bars = pd.DataFrame({"this run": shown[rate].to_numpy(float)}, index=labels)
            errors = (
                pd.DataFrame({"this run": shown[rate_std].to_numpy(float)}, index=labels)
                if rate_std
                else None
            )
            published = float(FIRST_SEED_THROUGHPUT["value"].iloc[0])
            sec.add(
                figure(
                    ctx,
                    bar_figure(
                        bars,
                        ylabel="images/s",
                        horizontal=True,
                        errors=errors,
                        reference=published,
                        reference_label=f"{FIRST_SEED}: {published:g} images/s (GTX 1080 Ti)",
                    ),
                    "Throughput",
                    "Images per second (error bars: standard deviation over repeats) and "
                    "the first seed's published CNN-LSTM throughput.",
                )
            )
        sec.add(
            table(
                ctx,
                "tab-throughput-published",
                f"Published reference figures ({THROUGHPUT_SOURCE}), not re-measured.",
                FIRST_SEED_THROUGHPUT,
            )
        )
    return finish(sec, inp, "No deep-model results")


def noise_summary(noise: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of the scores per model, noise kind and level
    (over seeds and noise draws), scores in percent.

    Parameters
    ----------
    noise
        ``robustness/noise.csv``: ``model``, ``kind``, ``level``, ``accuracy`` and
        optionally ``target_snr_db``, ``achieved_snr_db``, ``recall``, ``seed``.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> n = pd.DataFrame({"model": ["m"] * 2, "kind": ["gaussian"] * 2,
    ...                   "level": ["low"] * 2, "accuracy": [0.8, 0.9]})
    >>> noise_summary(n)[["accuracy_mean", "accuracy_std", "n"]].round(3).values.tolist()
    [[85.0, 7.071, 2.0]]
    """
    keys = ["model", "kind", "level"]
    work = noise.copy()
    metrics = [m for m in ("accuracy", "recall", "precision", "f1") if m in work]
    for m in metrics:
        work[m] = as_percent(work[m])
    agg: dict[str, tuple[str, str]] = {}
    for m in metrics:
        agg[f"{m}_mean"] = (m, "mean")
        agg[f"{m}_std"] = (m, "std")
    for col in ("target_snr_db", "achieved_snr_db"):
        if col in work:
            agg[f"{col}_mean"] = (col, "mean")
    agg["n"] = (metrics[0], "count")
    out = work.groupby(keys, sort=False).agg(**agg).reset_index()
    out["n"] = out["n"].astype(float)
    return out


def robustness_section(ctx: ReportContext) -> Section:
    """Noise curves per kind, the first seed's Table 5 beside ours, significance tests.

    Parameters
    ----------
    ctx
        The report context.

    Returns
    -------
    Section

    Raises
    ------
    InputError
        If a table lacks the columns the section shows.
    """
    sec = Section(
        "robustness",
        "Robustness to noise",
        "Test inputs degraded with noise at target signal-to-noise ratios; scores over "
        "seeds and noise draws, and paired significance tests between models.",
    )
    inp = SectionInputs(ctx)
    if p := inp.get("robustness", "noise.csv"):
        noise = read_table(p, required=["model", "kind", "level", "accuracy"])
        summary = noise_summary(noise)
        if "target_snr_db_mean" in summary and summary["target_snr_db_mean"].notna().all():
            x, xlabel = "target_snr_db_mean", "target SNR (dB)"
        else:
            order = {lvl: i for i, lvl in enumerate(dict.fromkeys(summary["level"]))}
            summary["level_index"] = summary["level"].map(order)
            x, xlabel = "level_index", "noise level (index)"
        plot = summary.assign(model=summary["model"].map(model_name))
        sec.add(
            figure(
                ctx,
                errorbar_figure(
                    plot,
                    panel="kind",
                    series="model",
                    x=x,
                    y="accuracy_mean",
                    yerr="accuracy_std",
                    xlabel=xlabel,
                    ylabel="accuracy (%)",
                ),
                "Accuracy under noise",
                "Mean accuracy with one standard deviation over seeds and draws, per noise "
                "kind (robustness/noise.csv).",
            )
        )
        sec.add(
            table(
                ctx,
                "tab-noise-summary",
                "Scores (%) under noise per model, kind and level: mean and standard "
                "deviation over seeds and draws, target and achieved SNR "
                "(robustness/noise.csv).",
                summary.drop(columns=[c for c in ("level_index",) if c in summary]),
                long=True,
            )
        )
    if p := inp.get("robustness", "table5.csv"):
        t5 = read_table(p)
        sec.add(
            table(
                ctx,
                "tab-robustness-table5",
                "This run shaped like the first seed's Table 5 (robustness/table5.csv).",
                t5,
            )
        )
        sec.add(
            table(
                ctx,
                "tab-robustness-published",
                f"CNN-LSTM accuracy and recall (%) under noise, {TABLE5_SOURCE}; not re-measured.",
                FIRST_SEED_TABLE5,
            )
        )
    if p := inp.get("robustness", "significance.csv"):
        sec.add(
            table(
                ctx,
                "tab-robustness-significance",
                "Significance tests between models: paired t, McNemar and Wilcoxon tests "
                "with Holm-adjusted p-values, effect sizes and confidence intervals "
                "(robustness/significance.csv).",
                read_table(p),
                long=True,
            )
        )
    return finish(sec, inp, "No robustness results")
