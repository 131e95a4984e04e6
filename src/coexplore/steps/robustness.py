"""Steps of the noise-robustness experiment: one trained model and seed under
noise (rule evaluate_noise), then the summary table and the significance tests
(rule summarise_robustness)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, InputError
from ..io.atomic import atomic_path
from ..robustness import (
    CORRECT_COLUMNS,
    RESULT_COLUMNS,
    robustness_settings,
    robustness_table,
    run_noise_experiment,
    significance_table,
)

log = logging.getLogger(__name__)


def _write_csv(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def _read_tables(paths: Sequence[str | Path], columns: Sequence[str]) -> pd.DataFrame:
    frames = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputError(path, "table does not exist", "rerun rule evaluate_noise")
        try:
            frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(path, f"not a readable CSV ({exc})", "rerun evaluate_noise") from exc
        missing = sorted(set(columns) - set(frame.columns))
        if missing:
            raise InputError(
                path,
                f"lacks columns {missing}",
                "it was not written by evaluate_noise; rerun that rule",
            )
        frames.append(frame)
    if not frames:
        raise DataError("no noise table to summarise; list at least one model and seed")
    return pd.concat(frames, ignore_index=True)


def step_evaluate_noise(
    model_path: str | Path,
    samples_dir: str | Path,
    *,
    model: str,
    seed: int,
    cfg: Mapping[str, Any],
    device: str = "auto",
    threads: int = 1,
    out_table: str | Path,
    out_correct: str | Path,
) -> pd.DataFrame:
    """Score one trained model on the clean and noisy test split.

    Parameters
    ----------
    model_path
        ``best_model.pt`` of :func:`coexplore.learn.train.train`.
    samples_dir
        Sample folder the model was trained on.
    model, seed
        Model name and training seed (wildcards); ``model`` must match the file.
    cfg
        The ``robustness`` config block (see
        :func:`coexplore.robustness.robustness_settings`).
    device
        ``learn.device``.
    threads
        Torch CPU threads.
    out_table
        CSV of :data:`coexplore.robustness.RESULT_COLUMNS`.
    out_correct
        CSV of :data:`coexplore.robustness.CORRECT_COLUMNS` (per-sample correctness).

    Returns
    -------
    pandas.DataFrame
        The metrics table.

    Raises
    ------
    InputError
        If the model file is unreadable or holds another model.
    ConfigError
        If the settings are invalid.
    """
    import torch

    from ..learn.train import load_trained

    settings = robustness_settings(cfg)
    torch.set_num_threads(max(1, int(threads)))
    net, info = load_trained(model_path, device="cpu")
    if info.get("model_name") != model:
        raise InputError(
            model_path,
            f"holds a {info.get('model_name')!r} model, not {model!r}",
            "retrain the model (rule train_model) or fix the path",
        )
    results, correct = run_noise_experiment(
        net,
        samples_dir,
        model_name=model,
        seed=int(seed),
        kinds=settings["kinds"],
        levels=settings["levels"],
        draws=settings["draws"],
        seed_offset=settings["seed_offset"],
        batch_size=settings["batch_size"],
        perturb_external=settings["perturb_external"],
        device=device,
    )
    _write_csv(results, out_table)
    _write_csv(correct, out_correct)
    return results


def step_summarise_robustness(
    tables: Sequence[str | Path],
    correct: Sequence[str | Path],
    *,
    cfg: Mapping[str, Any],
    out_noise: str | Path,
    out_table5: str | Path,
    out_significance: str | Path,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Pool the noise tables; write Table 5 and the significance tests.

    Parameters
    ----------
    tables, correct
        Outputs of :func:`step_evaluate_noise` of every model and seed.
    cfg
        The ``robustness`` config block (levels, main model, alpha, bootstrap
        resamples, seed offset as the bootstrap seed).
    out_noise
        All metric rows (CSV).
    out_table5
        :func:`coexplore.robustness.robustness_table` (CSV).
    out_significance
        :func:`coexplore.robustness.significance_table` (CSV).

    Returns
    -------
    tuple of pandas.DataFrame
        The pooled rows, Table 5 and the significance table.

    Raises
    ------
    InputError
        If a table is missing or not written by :func:`step_evaluate_noise`.
    ConfigError
        If the main model was not evaluated.
    """
    settings = robustness_settings(cfg)
    results = _read_tables(tables, RESULT_COLUMNS)
    per_sample = _read_tables(correct, CORRECT_COLUMNS)
    levels = list(settings["levels"])
    table5 = robustness_table(results, levels=levels)
    significance = significance_table(
        results,
        per_sample,
        main=settings["main_model"],
        levels=levels,
        alpha=settings["alpha"],
        n_resamples=settings["bootstrap_resamples"],
        seed=settings["seed_offset"],
    )
    _write_csv(results, out_noise)
    _write_csv(table5, out_table5)
    _write_csv(significance, out_significance)
    n_sig = int(significance["significant"].sum()) if len(significance) else 0
    log.info(
        "%d rows from %d models; %d of %d tests significant after Holm",
        len(results),
        results["model"].nunique(),
        n_sig,
        len(significance),
    )
    return results, table5, significance
